/**
 * A session's start and resume speak to the API server over Deno's own client alone (no node:https, so
 * no Node layer and no TLS connection of its own per watch): their creates, their patches and their
 * waits are `nativeCall` requests and `native` watches (src/kube/transport.ts), counted by the client.
 */
import { assert, assertEquals } from "@kodama/test-assert";
import { Kube } from "../../src/kube/client.ts";
import { configSchema } from "../../src/config/schema.ts";
import { memorySink } from "../../src/base/sink.ts";
import { startSession } from "../../src/session/lifecycle/start.ts";
import { deleteSession, resumeSession, stopSession } from "../../src/session/lifecycle/lifecycle.ts";
import { clusterTest } from "../cluster/fixture.ts";
import { onRealCluster } from "../cluster/harness.ts";
import { SESSION_IMAGE } from "../cli/_session.ts";
import { lockEnv } from "../_env_lock.ts";

clusterTest(
  "start and resume: every request and wait over Deno's client, none over node:https",
  // the counts are this process's client's; on a real cluster its proxy or CA may send it the node way
  { seed: "sessions", ignore: onRealCluster, timeoutMs: 120_000 },
  async (_t, c) => {
    const home = await Deno.makeTempDir({ prefix: "kodama-transport-home-" });
    const unlock = await lockEnv(["KODAMA_HOME"]);
    Deno.env.set("KODAMA_HOME", home);
    const cfg = configSchema.parse({});
    const io = () => ({ out: memorySink(), err: memorySink(), tty: false, cwd: home, repoRoot: home });
    const connect = () => Kube.connect({ kubeconfig: c.kubeconfig, context: "dev" });
    const name = "tr1";
    const admin = await connect();
    try {
      const k1 = await connect();
      const s = io();
      const code = await startSession(
        k1,
        {
          name,
          namespace: "dev",
          image: SESSION_IMAGE,
          cpu: "0.5",
          noSync: true,
          envFiles: [],
          envExclude: [],
        },
        cfg,
        s,
      );
      assertEquals(code, 0, s.err.text());
      assert(s.out.text().includes(`session/${name} ready`), s.out.text());
      // the secret, both volumes, the pod, their watches: all counted on the native side
      assertEquals(k1.requestsBy.node, 0, JSON.stringify(k1.requestsBy));
      assert(k1.requestsBy.native >= 6, JSON.stringify(k1.requestsBy));

      assertEquals(
        await stopSession(admin, "dev", name, { wait: true, out: memorySink(), err: memorySink() }),
        0,
      );
      const k2 = await connect();
      const r = io();
      assertEquals(await resumeSession(k2, "dev", name, {}, cfg, r), 0, r.err.text());
      assert(r.out.text().includes(`session/${name} ready`), r.out.text());
      assertEquals(k2.requestsBy.node, 0, JSON.stringify(k2.requestsBy));
      assert(k2.requestsBy.native >= 4, JSON.stringify(k2.requestsBy));
    } finally {
      await deleteSession(admin, "dev", name, {
        force: true,
        purge: true,
        interactive: false,
        confirm: () => Promise.resolve(true),
        out: memorySink(),
        err: memorySink(),
      }).catch(() => {});
      unlock();
      await Deno.remove(home, { recursive: true }).catch(() => {});
    }
  },
);
