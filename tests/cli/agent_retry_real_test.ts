/**
 * Issue 62: agent runs outlast the model API. The real Claude Code (the claude preset, no agent
 * configuration) and the real Codex, driven through kodama against the stand-ins' failure modes
 * (tests/agents/_standin.ts): an overload storm longer than the CLI's own retries is waited out in the pod
 * and the same conversation continued (its commit, the history the stand-in receives); a 429 wait is shown
 * in `agent status -o json` while it happens; a 401 is said at once and never retried; a budget ends the
 * run. Each assertion is on what a user sees: status, logs, the commit. Skipped on a real cluster and
 * without the CLIs.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { onRealCluster } from "../cluster/harness.ts";
import { makeTestRepo } from "./_git_server.ts";
import { purge, type SessionWorld, withSessionWorld } from "./_session.ts";
import { commitScript, type StandIn, startStandIn } from "../agents/_standin.ts";
import { CLAUDE, CODEX, missing } from "../agents/_clis.ts";
import { NO_SANITIZERS, SideBySide } from "../_side_by_side.ts";

const KEY = "sk-ant-standin-4711";
const dec = new TextDecoder();

/**
 * The four runs mostly wait on the clock (a stand-in's retry-after, the runner's wait before it continues,
 * a model's slow answers): they run side by side, each with its own cluster, stand-in and session names.
 */
const family = new SideBySide("agent runs outlast the model API (side by side)", 10 * 60_000);

async function status(w: SessionWorld, name: string) {
  const r = await w.k(["agent", "status", name, "-o", "json"]);
  assertEquals(r.code, 0, r.stderr);
  return JSON.parse(r.stdout).items;
}

async function follow(w: SessionWorld, name: string, env: Record<string, string>) {
  const out = await w.spawn(["agent", "logs", name, "-f"], { env }).output();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function startClaude(
  w: SessionWorld,
  name: string,
  api: StandIn,
  o: { envFile?: string; key?: string } = {},
) {
  const repo = await makeTestRepo(await Deno.makeTempDir({ prefix: "kodama-repo-" }));
  const task = join(w.cwd, "task.txt");
  await Deno.writeTextFile(task, "Add hello.txt and commit it.\n");
  const env = { ANTHROPIC_API_KEY: o.key ?? KEY, ANTHROPIC_BASE_URL: api.url };
  const r = await w.k(
    ["start", name, "--repo", ".", "--prompt-file", task, ...(o.envFile ? ["--env-file", o.envFile] : [])],
    { cwd: repo.work, env },
  );
  assertEquals(r.code, 0, r.stderr);
  return env;
}

withSessionWorld(
  "real Claude Code, overloaded longer than its own retries: waited out in the pod, the conversation continued, committed",
  { ignore: onRealCluster || missing("claude", CLAUDE), family },
  async (_t, w) => {
    // every attempt Claude Code makes meets a 529: its own retries shrunk for the test with its documented
    // knob (the preset leaves them uncapped: ten, minutes of backoff), in the session's env file
    const api = await startStandIn(commitScript(), { faults: [{ status: 529, times: 3 }] });
    const envFile = join(w.cwd, "retries.env");
    await Deno.writeTextFile(envFile, "CLAUDE_CODE_MAX_RETRIES=2\n");
    try {
      const env = await startClaude(w, "o1", api, { envFile });
      const r = await follow(w, "o1", env);
      assertEquals(r.code, 0, r.stdout + r.stderr);
      assertMatch(r.stdout, /^\.\. waiting \d+s: overloaded, then continuing \(1\/6\)$/m);
      assertMatch(r.stdout, /^\.\. continued \(overloaded, 1\/6\)$/m);
      assertMatch(r.stderr, /agent run 1 succeeded \(after \d+ overloads\)/);
      const [run] = await status(w, "o1");
      assertEquals(run.outcome.class, "succeeded");
      assertEquals(run.continuations, 1);
      assertEquals(run.apiRetries, 2);
      assertEquals(run.truth.commits, 1);
      // the continuation gave the model the earlier conversation, and said why it continues
      const after = api.mainRequests();
      assertStringIncludes(after[0].text, "Add hello.txt and commit it.");
      assertStringIncludes(after[0].text, "The model API failed before you finished (overloaded)");
      assertEquals(api.answered(529), 3);
    } finally {
      await purge(w, "o1").catch(() => {});
      await api.close();
    }
  },
);

withSessionWorld(
  "real Claude Code: a 429 wait is in agent status while it happens; a 401 is said at once and never retried",
  { ignore: onRealCluster || missing("claude", CLAUDE), family },
  async (t, w) => {
    // two waits of 8 s: 16 s in which `agent status` must show the wait (four held the family's slot 16 s longer)
    const api = await startStandIn(commitScript(), {
      faults: [{ status: 429, times: 2, retryAfterMs: 8000 }],
    });
    try {
      // steps without sanitizers: the family's other tests run beside them (tests/_side_by_side.ts)
      await t.step({
        name: "429 with retry-after: running (429, retry N/10 in Ns) while it waits",
        ...NO_SANITIZERS,
        fn: async () => {
          const env = await startClaude(w, "r1", api);
          await api.waitFor(() => api.answered(429) >= 1);
          let run:
            | { state: string; waiting?: { reason: string; attempt: number }; outcome: { text: string } }
            | undefined;
          // the runner's state file says the wait as soon as the agent announces it (a status read each time)
          for (let i = 0; i < 40 && !run?.waiting; i++) [run] = await status(w, "r1");
          assertEquals(run?.state, "running");
          assertEquals(run?.waiting?.reason, "429");
          assert((run?.waiting?.attempt ?? 0) >= 1);
          assertMatch(run!.outcome.text, /^running \(429, (retry \d+\/10 in \d+s|retrying \d+\/10)\)$/);
          const table = await w.k(["agent", "status", "r1"]);
          assertMatch(table.stdout, /running \(429, (retry \d+\/10 in \d+s|retrying \d+\/10)\)|succeeded/);
          const r = await follow(w, "r1", env);
          assertEquals(r.code, 0, r.stdout + r.stderr);
          const [done] = await status(w, "r1");
          assertEquals([done.outcome.class, done.waiting, done.continuations], ["succeeded", undefined, 0]);
        },
      });
      await t.step({
        name: "401: failed: invalid API key, not retried",
        ...NO_SANITIZERS,
        fn: async () => {
          api.fault({ status: 401 });
          const env = await startClaude(w, "k1", api, { key: "sk-ant-wrong" });
          const r = await follow(w, "k1", env);
          assertEquals(r.code, 1);
          const [run] = await status(w, "k1");
          assertEquals([run.outcome.class, run.outcome.retryable, run.continuations], ["auth", false, 0]);
          assertEquals(run.outcome.text, "failed: invalid API key");
          const raw = await w.k(["agent", "logs", "k1", "--raw"]);
          assert(!raw.stdout.includes(`"event":"continue"`), raw.stdout);
          assert(!raw.stdout.includes("sk-ant-wrong"));
        },
      });
    } finally {
      await purge(w, "r1").catch(() => {});
      await purge(w, "k1").catch(() => {});
      await api.close();
    }
  },
);

withSessionWorld(
  "real Claude Code: KODAMA_MAX_TURNS ends the run, outcome budget, not continued",
  { ignore: onRealCluster || missing("claude", CLAUDE), family },
  async (_t, w) => {
    // turns that never end: each one a tool call, a turn apart
    const turns = Array.from({ length: 8 }, (_, i) => [{ text: `step ${i}` }, { shell: `echo ${i}` }]);
    // each answer a second and a half in coming, as a model's: the runner ends the agent after its second
    // turn, long before an instant stand-in would have served all eight
    const api = await startStandIn(turns, { firstByteMs: 1500 });
    const envFile = join(w.cwd, "budget.env");
    await Deno.writeTextFile(envFile, "KODAMA_MAX_TURNS=2\n");
    try {
      const env = await startClaude(w, "b1", api, { envFile });
      const r = await follow(w, "b1", env);
      assertEquals(r.code, 1, r.stdout + r.stderr);
      const [run] = await status(w, "b1");
      assertEquals([run.outcome.class, run.outcome.retryable, run.continuations], ["budget", false, 0]);
      assertStringIncludes(run.outcome.message, "KODAMA_MAX_TURNS");
      assert(api.mainRequests().length < 8, `${api.mainRequests().length} turns`);
    } finally {
      await purge(w, "b1").catch(() => {});
      await api.close();
    }
  },
);

withSessionWorld(
  "real Codex: a rate limit past its own retries is rate-limited, continued with exec resume --last",
  { ignore: onRealCluster || missing("codex", CODEX), family },
  async (_t, w) => {
    const api = await startStandIn(commitScript(), { faults: [{ status: 429, times: 6, retryAfterMs: 50 }] });
    const repo = await makeTestRepo(await Deno.makeTempDir({ prefix: "kodama-repo-" }));
    const task = join(w.cwd, "task.txt");
    await Deno.writeTextFile(task, "Add hello.txt and commit it.\n");
    const env = { OPENAI_API_KEY: "sk-standin-codex", OPENAI_BASE_URL: `${api.url}/v1` };
    try {
      const s = await w.k(["start", "x1", "--repo", ".", "--prompt-file", task, "--agent", "codex"], {
        cwd: repo.work,
        env,
      });
      assertEquals(s.code, 0, s.stderr);
      const r = await follow(w, "x1", env);
      assertEquals(r.code, 0, r.stdout + r.stderr);
      const [run] = await status(w, "x1");
      assertEquals(run.outcome.class, "succeeded");
      assert(run.continuations >= 1, JSON.stringify(run));
      assertEquals(run.truth.commits, 1);
      const raw = await w.k(["agent", "logs", "x1", "--raw"]);
      assertMatch(raw.stdout, /"event":"continue","reason":"rate-limited"/);
    } finally {
      await purge(w, "x1").catch(() => {});
      await api.close();
    }
  },
);
