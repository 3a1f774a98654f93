/**
 * SPDY upgrades (port-forward's default transport, exec's fallback when a server lacks v5) against a
 * server that accepts TCP and never answers (#26 robustness): the dial, the TLS handshake and the wait
 * for the 101 answer are bounded like the WebSocket streams' — 30 s, or --request-timeout — and the
 * socket is closed then; the error names the server (kubectl's "no answer ... within" words, exit 5).
 *
 * The relay in front of the test server passes every connection that offers HTTP/2 in its TLS
 * ClientHello (Deno's own client: the pod lookup before the forward) and holds every other one silent
 * (node:https, which opens the SPDY upgrade): so the lookup succeeds and only the upgrade's handshake
 * hangs.
 */
import { assert, assertEquals, assertRejects } from "@kodama/test-assert";
import { hasStackTrace, spawnKodama } from "./_run.ts";
import { clusterTest } from "../cluster/fixture.ts";
import { relayedKubeconfig } from "./_relay.ts";
import { DEMO } from "../cluster/seed.ts";
import { spdyUpgrade } from "../../src/kube/spdy_frames.ts";

const NS = ["-n", DEMO.wekaNamespace];
const POD = DEMO.wekaPods[0];

/** A TCP server that accepts and reads, never writes; resolves `closed` when the client hangs up. */
function silentServer(): { port: number; closed: Promise<void>; close(): void } {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  const closed = (async () => {
    const c = await l.accept();
    conns.push(c);
    const buf = new Uint8Array(4096);
    // read (the ClientHello, or the HTTP request) until the client closes its end
    while ((await c.read(buf).catch(() => null)) !== null) { /* swallow */ }
  })();
  return {
    port: (l.addr as Deno.NetAddr).port,
    closed,
    close() {
      l.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* gone */ }
      }
    },
  };
}

for (const scheme of ["https", "http"] as const) {
  Deno.test(
    `spdyUpgrade: ${
      scheme === "https" ? "a TLS handshake" : "an upgrade answer"
    } that never comes fails with the limit's error and closes the socket`,
    async () => {
      const s = silentServer();
      try {
        const mine = new Error("no answer in time");
        const t0 = Date.now();
        const e = await assertRejects(() =>
          spdyUpgrade(
            `${scheme}://127.0.0.1:${s.port}/api/v1/namespaces/x/pods/y/portforward`,
            {
              rejectUnauthorized: false,
            },
            "portforward.k8s.io",
            undefined,
            { ms: 300, error: () => mine },
          )
        );
        assertEquals(e, mine);
        assert(Date.now() - t0 >= 250, "not before the limit");
        await s.closed; // the server sees the connection end (else this test times out)
      } finally {
        s.close();
      }
    },
  );
}

Deno.test("spdyUpgrade: without a limit, a cancel still ends a silent upgrade", async () => {
  const s = silentServer();
  try {
    const ac = new AbortController();
    const p = spdyUpgrade(`http://127.0.0.1:${s.port}/x`, {}, "portforward.k8s.io", ac.signal);
    setTimeout(() => ac.abort(), 100);
    const e = await assertRejects(() => p);
    assertEquals((e as Error).message, "cancelled");
    await s.closed;
  } finally {
    s.close();
  }
});

async function readStreamUntil(
  stream: ReadableStream<Uint8Array>,
  re: RegExp,
  ms: number,
): Promise<{ match: RegExpMatchArray | null; text: () => string }> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const deadline = Date.now() + ms;
  let match: RegExpMatchArray | null = null;
  while (!match && Date.now() < deadline) {
    const timer = new Promise<null>((r) => setTimeout(() => r(null), Math.max(1, deadline - Date.now())));
    const next = await Promise.race([reader.read(), timer]);
    if (next === null || next.done) break;
    text += next.value;
    match = text.match(re);
  }
  // keep draining in the background so the child never blocks on a full pipe
  (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
      }
    } catch { /* closed */ }
  })();
  return { match, text: () => text };
}

clusterTest(
  "port-forward over SPDY whose upgrade handshake never finishes: the connection gives up naming the server",
  { seed: "demo", timeoutMs: 180_000 },
  async (_t, c) => {
    const dir = await Deno.makeTempDir({ prefix: "kodama-silent-spdy-" });
    const { kc, relay: r } = await relayedKubeconfig(c.kubeconfig, dir);
    try {
      const child = spawnKodama(
        ["--kubeconfig", kc, "--request-timeout", "2s", "port-forward", ...NS, `pod/${POD}`, ":8080"],
        { env: { KODAMA_HOME: dir } },
      );
      try {
        const out = await readStreamUntil(child.stdout, /Forwarding from 127\.0\.0\.1:(\d+) -> /, 90_000);
        assert(out.match, `no Forwarding line: ${out.text()}`);
        const errs = readStreamUntil(
          child.stderr,
          new RegExp(
            `error forwarding port \\d+ to pod ${POD}:8080: timeout: no answer from https://127\\.0\\.0\\.1:${r.port} ` +
              `\\(context \\w+\\) within 2s \\(--request-timeout\\): POST /api/v1/namespaces/[^/]+/pods/${POD}/portforward`,
          ),
          90_000,
        );
        // a local connection: its upgrade is held by the relay, so it must be given up on and closed
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(out.match[1]) });
        try {
          const n = await conn.read(new Uint8Array(64)).catch(() => null);
          assertEquals(n, null, "the local connection is closed, nothing forwarded");
        } finally {
          try {
            conn.close();
          } catch { /* closed */ }
        }
        const e = await errs;
        assert(e.match, `no timeout error on stderr: ${e.text()}`);
        assert(!hasStackTrace(e.text()), e.text());
        assert(r.held >= 1, "the upgrade went through the relay and was held");
      } finally {
        try {
          child.kill("SIGINT");
        } catch { /* gone */ }
        const st = await child.status;
        assertEquals(st.code, 0, "Ctrl-C ends the port-forward quietly");
      }
    } finally {
      r.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
);
