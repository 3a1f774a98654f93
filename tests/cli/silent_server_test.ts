/**
 * A server that accepts TCP but never answers (#26 robustness): `pods`, `version` and `exec` must not hang.
 * Without --request-timeout, every call is bounded until the server answers (DEFAULT_ANSWER_TIMEOUT_MS:
 * dial, TLS handshake and the response headers), and the error names the server that did not answer, as
 * kubectl's "Unable to connect to the server: ... timeout" does; a body that stalls after the headers is given
 * up on after the same time without a byte. The silent servers listen on loopback;
 * the kubeconfig is the test server's own (its CA and client certificate), pointed at it.
 */
import { assert, assertEquals, assertMatch } from "@kodama/test-assert";
import { hasStackTrace, runKodama } from "./_run.ts";
import { clusterTest } from "../cluster/fixture.ts";

/** Accept connections and hold them open, never writing a byte; `close()` ends them all. */
function silentServer(): { port: number; close(): void } {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  (async () => {
    try {
      for await (const c of l) held.push(c);
    } catch { /* closed */ }
  })();
  return {
    port: (l.addr as Deno.NetAddr).port,
    close() {
      l.close();
      for (const c of held) {
        try {
          c.close();
        } catch { /* gone */ }
      }
    },
  };
}

/** Answer every request with headers and the start of a body, then say nothing more. */
function stallingServer(): { port: number; close(): void } {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  (async () => {
    try {
      for await (const c of l) {
        held.push(c);
        (async () => {
          await c.read(new Uint8Array(65536)).catch(() => null);
          const head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4096\r\n\r\n";
          await c.write(new TextEncoder().encode(head + '{"kind":"PodList","items":[')).catch(() => {});
        })();
      }
    } catch { /* closed */ }
  })();
  return {
    port: (l.addr as Deno.NetAddr).port,
    close() {
      l.close();
      for (const c of held) {
        try {
          c.close();
        } catch { /* gone */ }
      }
    },
  };
}

clusterTest(
  "a server that accepts TCP but never answers: pods, version and exec give up naming it (exit 5)",
  { seed: "sessions" },
  async (_t, c) => {
    const silent = silentServer();
    const stalling = stallingServer();
    const dir = await Deno.makeTempDir({ prefix: "kodama-silent-" });
    try {
      const kc = `${dir}/kubeconfig`;
      const text = await Deno.readTextFile(c.kubeconfig);
      await Deno.writeTextFile(kc, text.replace(/server: *\S+/g, `server: https://127.0.0.1:${silent.port}`));
      const server = `https://127.0.0.1:${silent.port}`;
      const stallKc = `${dir}/stall-kubeconfig`;
      await Deno.writeTextFile(
        stallKc,
        `apiVersion: v1\nkind: Config\nclusters: [{ name: s, cluster: { server: "http://127.0.0.1:${stalling.port}" } }]\n` +
          `users: [{ name: u, user: { token: abc } }]\ncontexts: [{ name: stall, context: { cluster: s, user: u } }]\ncurrent-context: stall\n`,
      );
      const t0 = Date.now();
      // headers, then a body that stops: the same bound, while the other runs wait
      const stalled = runKodama(["--kubeconfig", stallKc, "pods"], {
        timeoutMs: 90_000,
        env: { KODAMA_HOME: dir },
      });
      const runs = await Promise.all(
        [["pods"], ["version"], ["exec", "web-1", "--", "true"], ["--insecure-skip-tls-verify", "pods"]].map((
          a,
        ) => runKodama(["--kubeconfig", kc, ...a], { timeoutMs: 90_000, env: { KODAMA_HOME: dir } })),
      );
      const took = Date.now() - t0;
      const st = await stalled;
      assertEquals(st.code, 5, st.stderr);
      assertMatch(st.stderr, /no answer from http:\/\/127\.0\.0\.1:\d+ \(context stall\) within 30s/);
      for (const r of runs) {
        assertEquals(r.code, 5, r.stderr);
        assertMatch(
          r.stderr,
          new RegExp(`no answer from ${server.replace(/\./g, "\\.")} \\(context admin\\) within 30s`),
        );
        assert(!hasStackTrace(r.stderr), r.stderr);
        assert(r.stderr.trim().split("\n").length <= 2, r.stderr);
      }
      // bounded: the default, not forever (the parallel runs share a busy machine)
      assert(took < 80_000, `took ${took} ms`);
      // a user's own --request-timeout still wins
      const quick = await runKodama(["--kubeconfig", kc, "--request-timeout", "1s", "pods"], {
        timeoutMs: 30_000,
        env: { KODAMA_HOME: dir },
      });
      assertEquals(quick.code, 5, quick.stderr);
      assertMatch(quick.stderr, /within 1s \(--request-timeout\)/);
    } finally {
      silent.close();
      stalling.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
);
