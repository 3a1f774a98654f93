/**
 * `agent check --agent pi`, black-box against the Anthropic stand-in: pi's key is ANTHROPIC_API_KEY at
 * ANTHROPIC_BASE_URL (the request pi's runs make); a refused key is exit 4 naming pi, and the other
 * Anthropic credentials (which pi does not read) are not what it checks.
 */
import { assert, assertEquals, assertMatch } from "@kodama/test-assert";
import { startStandIn } from "../agents/_standin.ts";
import { withSessionWorld } from "./_session.ts";

const GOOD = "sk-ant-standin-good-pi-4242";
const BAD = "sk-ant-standin-bad-pi-0000";
const MODEL = "claude-standin-1";

withSessionWorld(
  "agent check --agent pi: pi's own key and endpoint",
  { timeoutMs: 3 * 60_000 },
  async (t, w) => {
    const api = await startStandIn([], { gate: { keys: [GOOD], models: [MODEL] } });
    const base = { ANTHROPIC_BASE_URL: api.url, KODAMA_KEYS_STORE: "file" };
    try {
      await t.step("a good key: ok, the Messages request at ANTHROPIC_BASE_URL", async () => {
        const ok = await w.k(["agent", "check", "--agent", "pi", "--model", MODEL], {
          env: { ...base, ANTHROPIC_API_KEY: GOOD },
        });
        assertEquals(ok.code, 0, ok.stderr);
        assertMatch(ok.stdout, /^KEY\s+ANTHROPIC_API_KEY …4242 \(from this environment\)$/m);
        assert(!ok.stdout.includes(GOOD) && !ok.stderr.includes(GOOD));
        assertEquals(api.requests.at(-1)?.path, "/v1/messages");
      });
      await t.step("a refused key: exit 4 naming pi; a token pi does not read is not checked", async () => {
        const r = await w.k(["agent", "check", "--agent", "pi", "--model", MODEL], {
          env: { ...base, ANTHROPIC_API_KEY: BAD },
        });
        assertEquals(r.code, 4, r.stderr);
        assertMatch(
          r.stderr,
          /^error: pi check \(model claude-standin-1, this machine\): the key was refused \(401\)/m,
        );
        const none = await w.k(["agent", "check", "--agent", "pi", "--model", MODEL], {
          env: { ...base, ANTHROPIC_AUTH_TOKEN: GOOD },
        });
        assertEquals(none.code, 4, none.stdout + none.stderr);
      });
    } finally {
      await api.close();
    }
  },
);
