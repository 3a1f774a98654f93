/**
 * Issue 84 point 4, black-box: the real Claude Code through a real gateway whose upstream is a closed port.
 * The gateway tries it 3 times and answers 502 `kodama-gateway: upstream 127.0.0.1 unreachable
 * (ECONNREFUSED)`; Claude Code then retries the 502 itself. That retry is named in `list` and `agent status`:
 * `running (gateway cannot reach 127.0.0.1 (502), retry 2/10 in 4s)`, not a bare `running (502, …)`.
 */
import { assertEquals, assertMatch } from "@kodama/test-assert";
import { onRealCluster, waitUntil } from "../cluster/harness.ts";
import { purge, withSessionWorld } from "./_session.ts";
import { CLAUDE, missing } from "../agents/_clis.ts";

const KEY = "sk-ant-api03-realkey-unreachable-upstream-4242";

withSessionWorld(
  "gateway: an upstream the gateway cannot reach is named in the run's wait (list, agent status)",
  { ignore: onRealCluster || missing("claude", CLAUDE), timeoutMs: 5 * 60_000 },
  async (_t, w) => {
    // a port nothing listens on (taken, then freed)
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (l.addr as Deno.NetAddr).port;
    l.close();
    const env = { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: `http://127.0.0.1:${port}` };
    try {
      assertEquals((await w.k(["gateway", "ensure", "--timeout", "90s"], { env })).code, 0);
      const r = await w.k(["start", "gwu", "--no-sync", "--prompt", "Say hello."], { env });
      assertEquals(r.code, 0, r.stderr);
      // the agent's own retry (its `n/of` count), named by the gateway's last answer
      const named = /running \(gateway cannot reach 127\.0\.0\.1 \(502\), retr\w* \d+\/\d+/;
      let seen = "";
      await waitUntil(
        async () => {
          seen = (await w.k(["list"])).stdout;
          return named.test(seen);
        },
        120_000,
        "list naming the unreachable upstream",
      ).catch((e) => {
        throw new Error(`${e.message}\n${seen}`);
      });
      let st = "";
      await waitUntil(
        async () => {
          st = (await w.k(["agent", "status", "gwu"])).stdout;
          return named.test(st);
        },
        60_000,
        "agent status naming the unreachable upstream",
      ).catch((e) => {
        throw new Error(`${e.message}\n${st}`);
      });
      assertMatch(st, named);
    } finally {
      await purge(w, "gwu");
      await w.k(["gateway", "delete"]);
    }
  },
);
