/**
 * The real Qwen Code (npm @qwen-code/qwen-code, pinned in .ci/run) driven through kodama as the qwen preset
 * against a local stand-in for the OpenAI Chat Completions API (tests/agents/_standin.ts): no agent
 * configuration, only the user's OPENAI_API_KEY and OPENAI_BASE_URL. The agent writes a file and commits it
 * in the session's pod, kodama reports it (turns, tokens), `session fetch` brings the commit back,
 * `agent run --continue` gives it its earlier conversation (`qwen --continue`: the stand-in receives both
 * prompts), a 429 with retry-after is waited out by the CLI, and a refused key is `failed: not
 * authenticated`, never continued. Skipped on a real cluster and without the CLI.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { onRealCluster } from "../cluster/harness.ts";
import { gitIn, makeTestRepo } from "./_git_server.ts";
import { purge, type SessionWorld, withSessionWorld } from "./_session.ts";
import { commitScript, startStandIn } from "../agents/_standin.ts";
import { missing, QWEN } from "../agents/_clis.ts";

const dec = new TextDecoder();
const KEY = "sk-standin-qwen-2024";

async function status(w: SessionWorld, name: string) {
  const r = await w.k(["agent", "status", name, "-o", "json"]);
  assertEquals(r.code, 0, r.stderr);
  return JSON.parse(r.stdout).items;
}

async function follow(w: SessionWorld, name: string, env: Record<string, string>, run?: string) {
  const out = await w.spawn(["agent", "logs", name, ...(run ? [run] : []), "-f"], { env }).output();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

withSessionWorld(
  "real Qwen Code (--agent qwen): commits, reports usage, fetch brings it back, --continue carries the conversation, a 429 is waited out",
  { ignore: onRealCluster || missing("qwen", QWEN), timeoutMs: 8 * 60_000 },
  async (t, w) => {
    const api = await startStandIn(commitScript());
    const repo = await makeTestRepo(await Deno.makeTempDir({ prefix: "kodama-repo-" }));
    const task = join(w.cwd, "task.txt");
    const env = { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: `${api.url}/v1` };
    try {
      await Deno.writeTextFile(task, "Add hello.txt and commit it.\n");
      await t.step(
        "start --agent qwen --prompt-file: the agent's tool calls, its commit, its usage",
        async () => {
          const r = await w.k(
            ["start", "q1", "--repo", ".", "--prompt-file", task, "--agent", "qwen"],
            { cwd: repo.work, env },
          );
          assertEquals(r.code, 0, r.stderr);
          assert(!r.stdout.includes(KEY) && !r.stderr.includes(KEY), "the key was printed");
          const out = await follow(w, "q1", env);
          assertEquals(out.code, 0, out.stdout + out.stderr);
          assertMatch(out.stdout, /^== qwen 0\.24\.4 \(model /m);
          assertMatch(out.stdout, /^-> write_file \/.*\/hello\.txt$/m);
          assertMatch(
            out.stdout,
            /^-> run_shell_command git add -A && git .*commit -q -m 'agent: add hello'$/m,
          );
          assertMatch(out.stdout, /^Wrote hello\.txt and committed it\.$/m);
          assertMatch(out.stderr, /agent run 1 succeeded\n/);
          // the prompt reached the stand-in, with the key from the env Secret, on the Chat Completions path
          const [first] = api.mainRequests();
          assertEquals(first.path, "/v1/chat/completions");
          assertStringIncludes(first.text, "Add hello.txt and commit it.");
          assertEquals(first.headers?.authorization, `Bearer ${KEY}`);
          const [run] = await status(w, "q1");
          assertEquals(run.truth.agent, "qwen");
          assertEquals([run.outcome.text, run.truth.commits, run.truth.denied], ["succeeded", 1, 0]);
          assertEquals(run.truth.turns, 3);
          assertEquals(run.truth.toolCalls, 2);
          // its usage as its result line says it (the stand-in's usage chunks, summed by the CLI)
          assert(run.truth.inputTokens > 0 && run.truth.outputTokens > 0, JSON.stringify(run.truth));
          assertEquals(run.truth.final, "Wrote hello.txt and committed it.");
        },
      );

      await t.step("session fetch: the agent's commit comes back", async () => {
        const r = await w.k(["session", "fetch", "q1"], { cwd: repo.work });
        assertEquals(r.code, 0, r.stderr);
        assertEquals(await gitIn(["log", "-1", "--format=%s", "kodama/q1"], repo.work), "agent: add hello");
        assertEquals(await gitIn(["show", "kodama/q1:hello.txt"], repo.work), "hello from the agent");
      });

      await t.step(
        "agent run --continue: qwen --continue gives the model the earlier conversation",
        async () => {
          api.push([{ text: "banana" }]);
          const before = api.mainRequests().length;
          const r = await w.k(["agent", "run", "q1", "--continue", "--prompt", "Now say banana."], { env });
          assertEquals(r.code, 0, r.stderr);
          const out = await follow(w, "q1", env, "2");
          assertEquals(out.code, 0, out.stdout + out.stderr);
          const req = api.mainRequests()[before];
          assert(req, "the continued run asked the model");
          assertStringIncludes(req.text, "Add hello.txt and commit it.");
          assertStringIncludes(req.text, "Now say banana.");
          const runs = await status(w, "q1");
          assertEquals(runs[1].continues, "1");
          // it answered and changed nothing
          assertEquals([runs[1].truth.agent, runs[1].outcome.text], ["qwen", "succeeded (no changes)"]);
        },
      );

      await t.step("a 429 with retry-after: the CLI waits it out itself; the run succeeds", async () => {
        api.fault({ status: 429, times: 1, retryAfterMs: 2000 });
        api.push([{ text: "after the wait" }]);
        const r = await w.k(["agent", "run", "q1", "--continue", "--prompt", "Once more."], { env });
        assertEquals(r.code, 0, r.stderr);
        const out = await follow(w, "q1", env, "3");
        assertEquals(out.code, 0, out.stdout + out.stderr);
        assertEquals(api.answered(429), 1);
        const runs = await status(w, "q1");
        assertEquals([runs[2].outcome.class, runs[2].truth.final], ["no-changes", "after the wait"]);
      });
    } finally {
      await purge(w, "q1").catch(() => {});
      await api.close();
      await Deno.remove(repo.dir, { recursive: true }).catch(() => {});
    }
  },
);

withSessionWorld(
  "real Qwen Code: a refused key is failed: not authenticated, said at once and never continued",
  { ignore: onRealCluster || missing("qwen", QWEN), timeoutMs: 6 * 60_000 },
  async (_t, w) => {
    const api = await startStandIn([[{ text: "never" }]], { faults: [{ status: 401 }] });
    const repo = await makeTestRepo(await Deno.makeTempDir({ prefix: "kodama-repo-" }));
    const env = { OPENAI_API_KEY: "sk-standin-wrong-1", OPENAI_BASE_URL: `${api.url}/v1` };
    try {
      const r = await w.k(
        ["start", "q2", "--repo", ".", "--prompt", "Say hello.", "--agent", "qwen"],
        { cwd: repo.work, env },
      );
      assertEquals(r.code, 0, r.stderr);
      const out = await follow(w, "q2", env);
      assertEquals(out.code, 1, out.stdout + out.stderr);
      const [run] = await status(w, "q2");
      assertEquals([run.outcome.class, run.outcome.retryable, run.continuations], ["auth", false, 0]);
      assertMatch(run.outcome.message, /401 Incorrect API key/);
      assert(api.answered(401) >= 1);
      const raw = await w.k(["agent", "logs", "q2", "--raw"]);
      assert(!raw.stdout.includes(`"event":"continue"`), raw.stdout);
      assert(!raw.stdout.includes("sk-standin-wrong-1"));
    } finally {
      await purge(w, "q2").catch(() => {});
      await api.close();
      await Deno.remove(repo.dir, { recursive: true }).catch(() => {});
    }
  },
);
