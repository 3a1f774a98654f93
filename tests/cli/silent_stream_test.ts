/**
 * Watch and log streams against a server that never finishes the TLS handshake (#26 robustness): their
 * answer may take as long as it likes (a watch's headers may come with its first event, a quiet
 * container's log with its first line), but the dial and the handshake are bounded all the same — the
 * default answer timeout (30 s) or --request-timeout — and the error names the server, exit 5. Like a
 * server that went away, a stream that cannot connect is retried until --reconnect-timeout (1 s here), and a
 * retry's dial gets only what is left of that window.
 *
 * The relay in front of the test server passes every connection that offers HTTP/2 in its TLS
 * ClientHello (Deno's own client: the pod list and lookups before the stream) and holds every other one
 * silent (node:https, which opens the watch and the log stream): so the list before the watch succeeds
 * and only the stream's handshake hangs.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { hasStackTrace, runKodama } from "./_run.ts";
import { clusterTest } from "../cluster/fixture.ts";
import { relayedKubeconfig } from "./_relay.ts";
import { DEMO } from "../cluster/seed.ts";

const NS = ["-n", DEMO.wekaNamespace];
const POD = DEMO.wekaPods[0];

clusterTest(
  "a watch and a followed log whose TLS handshake never finishes give up naming the server (exit 5)",
  { seed: "demo", timeoutMs: 240_000 },
  async (_t, c) => {
    const dir = await Deno.makeTempDir({ prefix: "kodama-silent-stream-" });
    const { kc, relay: r } = await relayedKubeconfig(c.kubeconfig, dir);
    try {
      const env = { KODAMA_HOME: dir };
      // the lookups before each stream pass: a plain GET through the relay answers
      const ok = await runKodama(["--kubeconfig", kc, "pods", ...NS], { timeoutMs: 90_000, env });
      assertEquals(ok.code, 0, ok.stderr);
      assertStringIncludes(ok.stdout, POD);
      const t0 = Date.now();
      const [watch, logs, quick] = await Promise.all([
        runKodama(["--kubeconfig", kc, "pods", "-w", "--reconnect-timeout", "1s", ...NS], {
          timeoutMs: 150_000,
          env,
        }),
        runKodama(["--kubeconfig", kc, "logs", "-f", "--reconnect-timeout", "1s", ...NS, POD], {
          timeoutMs: 150_000,
          env,
        }),
        runKodama([
          "--kubeconfig",
          kc,
          "--request-timeout",
          "2s",
          "logs",
          "-f",
          "--reconnect-timeout",
          "1s",
          ...NS,
          POD,
        ], {
          timeoutMs: 150_000,
          env,
        }),
      ]);
      const took = Date.now() - t0;
      const named = new RegExp(
        `no answer from https://127\\.0\\.0\\.1:${r.port} \\(context \\w+\\) within 30s`,
      );
      assertEquals(watch.code, 5, watch.stderr);
      assertStringIncludes(watch.stdout, POD); // the list before the watch was shown
      assertMatch(watch.stderr, named);
      assertEquals(logs.code, 5, logs.stderr);
      assertMatch(logs.stderr, named);
      // it names the request that hung: the log stream, or the watch for the target's pods that `logs -f`
      // opens beside it (both go over node:https, which the relay holds; whichever asked first is named)
      assertMatch(logs.stderr, new RegExp(`GET /api/v1/namespaces/[^/]+/pods(/${POD}/log)?[;)]`));
      // the retry after the first 30 s is cut where the 1 s window closes, not given another 30 s
      const cut = /within [\d.]+m?s \(a retry, bounded by --reconnect-timeout\)/;
      assertMatch(watch.stderr, cut);
      assertMatch(logs.stderr, cut);
      assertEquals(quick.code, 5, quick.stderr);
      assertMatch(quick.stderr, /within 2s \(--request-timeout\)/);
      for (const x of [watch, logs, quick]) {
        assert(!hasStackTrace(x.stderr), x.stderr);
        assert(x.stderr.trim().split("\n").length <= 4, x.stderr);
      }
      // bounded by the default, not for ever (the runs share a busy machine)
      assert(took < 120_000, `took ${took} ms`);
    } finally {
      r.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
);
