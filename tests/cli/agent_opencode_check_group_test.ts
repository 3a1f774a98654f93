/**
 * The opencode preset beside the others, black-box: `agent check --agent opencode` asks the Anthropic API
 * as OpenCode would (its key from ANTHROPIC_API_KEY, the model given; a refused key is exit 4, an unknown
 * model exit 3), and best of N mixes it with Claude Code (`--agent-variant 2=opencode`): each replica runs
 * its own real CLI against the same stand-in and records which agent ran. Skipped on a real cluster and
 * without the CLIs (the check needs none).
 */
import { assert, assertEquals, assertMatch } from "@kodama/test-assert";
import { onRealCluster } from "../cluster/harness.ts";
import { purge, withSessionWorld } from "./_session.ts";
import { startStandIn } from "../agents/_standin.ts";
import { CLAUDE, missing, OPENCODE } from "../agents/_clis.ts";

const GOOD = "sk-ant-standin-good-opencode-8080";
const BAD = "sk-ant-standin-bad-opencode-0000";
const MODEL = "claude-standin-1";
const dec = new TextDecoder();

withSessionWorld("agent check --agent opencode: the key OpenCode sends, 401 → 4, unknown model → 3", {
  timeoutMs: 3 * 60_000,
}, async (_t, w) => {
  const api = await startStandIn([], { gate: { keys: [GOOD], models: [MODEL] } });
  const base = { ANTHROPIC_BASE_URL: api.url, KODAMA_KEYS_STORE: "file" };
  try {
    const ok = await w.k(["agent", "check", "--agent", "opencode", "--model", MODEL], {
      env: { ...base, ANTHROPIC_API_KEY: GOOD },
    });
    assertEquals(ok.code, 0, ok.stderr);
    assertMatch(ok.stdout, /^RESULT\s+ok: the key was accepted/m);
    assertMatch(ok.stdout, /^KEY\s+ANTHROPIC_API_KEY …8080 \(from this environment\)$/m);
    assert(!ok.stdout.includes(GOOD) && !ok.stderr.includes(GOOD));
    const sent = api.requests.at(-1)!;
    assertEquals([sent.path, sent.headers?.["x-api-key"]], ["/v1/messages", GOOD]);
    const bad = await w.k(["agent", "check", "--agent", "opencode", "--model", MODEL], {
      env: { ...base, ANTHROPIC_API_KEY: BAD },
    });
    assertEquals(bad.code, 4, bad.stderr);
    assertMatch(
      bad.stderr,
      /^error: opencode check \(model claude-standin-1, this machine\): the key was refused \(401\)/m,
    );
    assert(!bad.stderr.includes(BAD));
    const nope = await w.k(["agent", "check", "--agent", "opencode", "--model", "claude-nope"], {
      env: { ...base, ANTHROPIC_API_KEY: GOOD },
    });
    assertEquals(nope.code, 3, nope.stderr);
  } finally {
    await api.close();
  }
});

withSessionWorld(
  "best of N: --agent-variant 2=opencode runs OpenCode beside Claude Code, each replica records its agent",
  {
    ignore: onRealCluster || missing("opencode", OPENCODE) || missing("claude", CLAUDE),
    timeoutMs: 8 * 60_000,
  },
  async (_t, w) => {
    // no script: every main request is answered "done." (two conversations share the stand-in)
    const api = await startStandIn([]);
    const env = { ANTHROPIC_API_KEY: "sk-ant-standin-group-1234", ANTHROPIC_BASE_URL: api.url };
    try {
      const r = await w.k(
        [
          "start",
          "mx",
          "--no-sync",
          "--replicas",
          "2",
          "--agent-variant",
          "2=opencode",
          "--prompt",
          "Say done.",
        ],
        { env },
      );
      assertEquals(r.code, 0, r.stderr);
      for (
        const [name, agent, banner] of [["mx-1", "claude", /^== claude /m], [
          "mx-2",
          "opencode",
          /^== opencode$/m,
        ]] as const
      ) {
        const out = await w.spawn(["agent", "logs", name, "-f"], { env }).output();
        const stdout = dec.decode(out.stdout);
        assertEquals(out.code, 0, stdout + dec.decode(out.stderr));
        assertMatch(stdout, banner);
        const [run] = JSON.parse((await w.k(["agent", "status", name, "-o", "json"])).stdout).items;
        assertEquals(run.truth.agent, agent);
        // it said "done." (a session without sync has no git baseline: succeeded, else no changes)
        assert(["succeeded", "no-changes"].includes(run.outcome.class), JSON.stringify(run.outcome));
      }
      const ua = api.mainRequests().map((q) => q.headers?.["user-agent"] ?? "");
      assert(ua.some((u) => u.startsWith("opencode/1.18.33")), ua.join("\n"));
      assert(ua.some((u) => /claude-cli|claude-code/i.test(u)), ua.join("\n"));
    } finally {
      await purge(w, "mx-1");
      await purge(w, "mx-2");
      await api.close();
    }
  },
);
