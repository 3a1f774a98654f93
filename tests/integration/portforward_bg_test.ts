/**
 * Background port-forwards and their figures: `--detach` prints an id and the mapping and outlives the
 * command; `list -o json` shows the traffic; deleting the serving pod moves a svc/ forward to the other
 * api pod while a request loop keeps getting answers; `stop --all` frees the port; `--stats-json` writes
 * the figures; Ctrl-C ends a foreground forward quietly with exit 0.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import * as http from "node:http";
import YAML from "yaml";
import { deleteObjects, tempNamespace } from "../cluster/harness.ts";
import { httpPod } from "./_helpers.ts";
import { runKodama, spawnKodama } from "../cli/_run.ts";
import { Kube } from "../../src/kube/client.ts";
import { waitForPods } from "../../src/pods/wait.ts";
import type { ForwardRecord } from "../../src/pods/pf_stats.ts";
import { clusterTest } from "../cluster/fixture.ts";

/** One GET on a fresh connection: the body, or the error's text. */
function get(port: number): Promise<string> {
  return new Promise((resolve) => {
    const req = http.get({ host: "127.0.0.1", port, path: "/", agent: false, timeout: 5000 }, (res) => {
      let body = "";
      res.on("data", (c) => body += c);
      res.on("end", () => resolve(body.trim()));
      res.on("error", (e) => resolve(`error: ${e.message}`));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (e) => resolve(`error: ${e.message}`));
  });
}

async function until<T>(what: string, f: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 300; i++) {
    const v = await f();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`never: ${what}`);
}

clusterTest(
  "port-forward --detach, list, stop; it follows svc/api to the other pod; --stats-json; quiet Ctrl-C",
  { seed: "demo" },
  async (t, c) => {
    const home = await Deno.makeTempDir();
    const env = { KODAMA_HOME: home };
    const k = (args: string[]) => runKodama(["--kubeconfig", c.kubeconfig, ...args], { env });
    const list = async () =>
      JSON.parse((await k(["port-forward", "list", "-o", "json"])).stdout) as ForwardRecord[];
    // its own api pods and Service (it deletes one): on a real cluster the demo world's would come back
    // under a new name and break the tests that run after it
    const space = await tempNamespace(c, "podsplus-pf");
    const NS = space.name;
    const kube = await Kube.connect({ kubeconfig: c.kubeconfig, namespace: NS });
    try {
      for (const name of ["api-one", "api-two"]) {
        await kube.createObject("pods", NS, httpPod(name, { app: "api" }));
      }
      await kube.request(
        { verb: "create", resource: "services", namespace: NS },
        "POST",
        `/api/v1/namespaces/${NS}/services`,
        {
          body: {
            metadata: { name: "api" },
            spec: {
              selector: { app: "api" },
              ports: [{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }],
            },
          },
        },
      );
      await waitForPods(kube, { namespace: NS, selector: "app=api" }, {
        for: "ready",
        timeoutMs: 60_000,
      });

      let port = 0;
      let id = "";
      await t.step("--detach prints the id and the mapping; traffic shows in list -o json", async () => {
        const r = await k(["port-forward", "-n", NS, "svc/api", ":80", "--detach"]);
        assertEquals(r.code, 0, r.stderr);
        const lines = r.stdout.trim().split("\n");
        assertMatch(lines[0], /^[a-z2-9]{6}$/);
        id = lines[0];
        const m = /^Forwarding from 127\.0\.0\.1:(\d+) -> pod\/(api-\S+):8080$/.exec(lines[1]);
        assert(m, r.stdout);
        port = Number(m[1]);
        assertStringIncludes(r.stderr, `kodama port-forward stop ${id}`);
        // the command has returned; the forward answers
        assertEquals(await get(port), m[2]);
        const rec = await until("bytes in list", async () => {
          const l = await list();
          return l.find((x) => x.id === id && x.totals.bytesIn > 0);
        });
        assertEquals(rec.target, "svc/api");
        assertEquals(rec.detached, true);
        assertEquals(rec.pod, m[2]);
        assertEquals(rec.ports[0].local, port);
        assertEquals(rec.ports[0].remote, 8080);
        assert(rec.totals.connections >= 1 && rec.totals.bytesOut > 0, JSON.stringify(rec));
        const table = await k(["port-forward", "list"]);
        assertMatch(table.stdout, /^ID\s+TARGET\s+PORTS\s+POD\s+UPTIME\s+CONNS\s+IN\s+OUT\s+RECONNECTS\n/);
        assertStringIncludes(table.stdout, `127.0.0.1:${port}->8080`);
      });

      await t.step(
        "deleting the serving pod moves the forward to the other api pod; the loop keeps answers",
        async () => {
          const before = (await list()).find((x) => x.id === id)!.pod;
          const answers: string[] = [];
          let stop = false;
          const loop = (async () => {
            while (!stop) answers.push(await get(port));
          })();
          await until("a few answers", () => Promise.resolve(answers.length >= 5 ? true : undefined));
          await kube.deleteObject("pods", NS, before);
          const moved = await until("the forward on the other pod", async () => {
            const rec = (await list()).find((x) => x.id === id);
            return rec && rec.pod !== before ? rec : undefined;
          });
          const after = answers.length;
          await until(
            "answers from the new pod",
            () => Promise.resolve(answers.length >= after + 5 ? true : undefined),
          );
          stop = true;
          await loop;
          assertEquals(moved.reconnects, 1);
          assertEquals(answers.at(-1), moved.pod);
          const failed = answers.filter((a) => a.startsWith("error"));
          assert(failed.length <= 1, `requests failed during the move: ${failed.join("; ")}`);
          assert(
            answers.every((a) => a === before || a === moved.pod || a.startsWith("error")),
            answers.join(","),
          );
        },
      );

      await t.step("stop --all ends it and frees the port; list is empty", async () => {
        const r = await k(["port-forward", "stop", "--all"]);
        assertEquals(r.code, 0, r.stderr);
        assertEquals(r.stdout, `stopped ${id} (svc/api :${port})\n`);
        assertStringIncludes(await get(port), "ECONNREFUSED");
        const l = Deno.listen({ hostname: "127.0.0.1", port }); // the port is free again
        l.close();
        assertEquals(await list(), []);
        assertEquals((await k(["port-forward", "stop", id])).code, 3);
      });

      await t.step(
        "--token reaches a background forward through its environment, not its arguments",
        async () => {
          if (c.real) return; // the dev user's token is the test server's
          // deno-lint-ignore no-explicit-any
          const kc: any = YAML.parse(await Deno.readTextFile(c.kubeconfig));
          const token: string = kc.users.find((u: { name: string }) => u.name === "dev").user.token;
          await kube.createObject("pods", "dev", httpPod("echo"));
          await waitForPods(kube, { namespace: "dev", pod: "echo" }, { for: "ready", timeoutMs: 30_000 });
          // the token alone authenticates (it replaces the kubeconfig's admin certificate)
          const r = await k(["port-forward", "--token", token, "-n", "dev", "pod/echo", ":8080", "--detach"]);
          assertEquals(r.code, 0, r.stderr);
          const [bgId, line] = r.stdout.trim().split("\n");
          assertEquals(await get(Number(/:(\d+) ->/.exec(line)![1])), "echo");
          const rec = (await list()).find((x) => x.id === bgId)!;
          // its arguments as any user of the machine sees them (ps works on Linux and macOS, without /proc
          // access of this process's own: the OS-matrix harness denies it)
          const ps = await new Deno.Command("ps", {
            args: ["-ww", "-o", "args=", "-p", String(rec.pid)],
            stdout: "piped",
          })
            .output();
          const cmdline = new TextDecoder().decode(ps.stdout);
          assert(!cmdline.includes(token), "the token is not in the process's arguments");
          assert(cmdline.includes(`--daemon ${bgId}`), cmdline);
          assert(!(await Deno.readTextFile(rec.log!)).includes(token), "nor in its log");
          assert(!JSON.stringify(rec).includes(token), "nor in its state");
          assertEquals((await k(["port-forward", "stop", bgId])).code, 0);
        },
      );

      await t.step(
        "a background forward that cannot start: its error, exit 3, nothing left running",
        async () => {
          const r = await k(["port-forward", "-n", NS, "svc/nope", ":80", "--detach"]);
          assertEquals(r.code, 3, r.stderr);
          assertStringIncludes(r.stderr, `services "nope" not found`);
          assertEquals(await list(), []);
        },
      );

      await t.step(
        "foreground: --stats-json writes the figures; Ctrl-C ends quietly with exit 0",
        async () => {
          const stats = `${home}/stats.json`;
          const child = spawnKodama(
            [
              "--kubeconfig",
              c.kubeconfig,
              "port-forward",
              "-n",
              "prod",
              "deploy/api",
              ":8080",
              "--stats-json",
              stats,
            ],
            { env },
          );
          const stderr = new Response(child.stderr).text();
          const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
          let out = "";
          while (!/Forwarding from 127\.0\.0\.1:(\d+)/.test(out)) {
            const { value, done } = await reader.read();
            if (done) throw new Error(`ended: ${out} ${await stderr}`);
            out += value;
          }
          const p = Number(/127\.0\.0\.1:(\d+)/.exec(out)![1]);
          const body = await get(p);
          const rec = await until("figures in --stats-json", async () => {
            try {
              const r = JSON.parse(await Deno.readTextFile(stats)) as ForwardRecord;
              return r.totals.bytesIn > 0 ? r : undefined;
            } catch {
              return undefined;
            }
          });
          assertEquals(rec.pod, body);
          assertEquals(rec.target, "deploy/api");
          assertEquals(rec.detached, false);
          // a foreground forward is listed too
          assertEquals((await list()).map((x) => x.target), ["deploy/api"]);
          child.kill("SIGINT");
          const status = await child.status;
          reader.releaseLock();
          await child.stdout.cancel().catch(() => {});
          const err = await stderr;
          assertEquals(status.code, 0, err);
          assertMatch(err, /^port-forward: 1 connection, \d+ B in, \d+ B out\n$/);
          assertEquals(await list(), []);
        },
      );
    } finally {
      await k(["port-forward", "stop", "--all"]);
      await deleteObjects(c, "dev", "pod/echo");
      await space.remove();
      kube.close();
      await Deno.remove(home, { recursive: true });
    }
  },
);
