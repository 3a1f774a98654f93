/**
 * Issue 84 point 4, black-box: the real Claude Code through a real gateway whose upstream (the stand-in)
 * answers one 429 with `retry-after` 20 s. The gateway waits it out; while it does, `list` shows the run
 * `running (gateway: 429, …)`, `agent status` the same, and after it the run succeeds with the 429 counted
 * once (`1 rate limit retried`), never three times.
 */
import { assert, assertEquals, assertMatch } from "@kodama/test-assert";
import { onRealCluster, waitUntil } from "../cluster/harness.ts";
import { purge, withSessionWorld } from "./_session.ts";
import { startStandIn } from "../agents/_standin.ts";
import { CLAUDE, missing } from "../agents/_clis.ts";

const KEY = "sk-ant-api03-realkey-waits-through-the-gateway-3131";
const dec = new TextDecoder();

withSessionWorld(
  "gateway: a 429 the gateway waits out is the run's wait in list and agent status, counted once",
  { ignore: onRealCluster || missing("claude", CLAUDE), timeoutMs: 6 * 60_000 },
  async (t, w) => {
    const api = await startStandIn([[{ text: "hello after the wait" }]], {
      gate: { keys: [KEY] },
      faults: [{ status: 429, times: 1, retryAfterMs: 20_000 }],
    });
    const env = { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url };
    try {
      assertEquals((await w.k(["gateway", "ensure", "--timeout", "90s"], { env })).code, 0);
      const r = await w.k(["start", "gww", "--no-sync", "--prompt", "Say hello."], { env });
      assertEquals(r.code, 0, r.stderr);

      await t.step("while the gateway waits: list and agent status say so", async () => {
        let seen = "";
        await waitUntil(
          async () => {
            const l = await w.k(["list"]);
            seen = l.stdout;
            return /running \(gateway: 429, retr/.test(l.stdout);
          },
          60_000,
          "list showing the gateway's wait",
        ).catch((e) => {
          throw new Error(`${e.message}\n${seen}`);
        });
        const st = await w.k(["agent", "status", "gww"]);
        assertEquals(st.code, 0, st.stderr);
        assertMatch(st.stdout, /running \(gateway: 429, retr/);
      });

      await t.step("after it: succeeded, the 429 counted once", async () => {
        const out = await w.spawn(["agent", "logs", "gww", "-f"], { env }).output();
        assertEquals(out.code, 0, dec.decode(out.stdout) + dec.decode(out.stderr));
        assertEquals(api.answered(429), 1);
        const st = await w.k(["agent", "status", "gww"]);
        assertMatch(st.stderr, /; 1 rate limit retried/);
        assert(!/after [2-9] rate limits/.test(st.stdout), st.stdout);
        const l = await w.k(["list"]);
        assert(!/gateway: 429/.test(l.stdout), l.stdout);
      });
    } finally {
      await purge(w, "gww");
      await w.k(["gateway", "delete"]);
      await api.close();
    }
  },
);
