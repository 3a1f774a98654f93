/**
 * The real OpenCode CLI (npm opencode-ai 1.18.33, pinned in .ci/run) driven through kodama with the opencode
 * preset and no other agent configuration, against the Anthropic stand-in (tests/agents/_standin.ts: it
 * answers OpenCode's `write`/`bash` tools). Only the user's shell variables are set: ANTHROPIC_API_KEY and
 * ANTHROPIC_BASE_URL (without /v1, as Claude Code's: the preset's wrap adds it). The agent writes a file and
 * commits it; kodama reports its turns, tools, tokens and cost; `agent run --continue` gives it its earlier
 * conversation (`opencode run --continue`); a 429 longer than OpenCode's own retries is waited out and the
 * run continued; a refused key (401) is `auth`, never retried. Skipped on a real cluster and without the CLI.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { onRealCluster } from "../cluster/harness.ts";
import { gitIn, makeTestRepo } from "./_git_server.ts";
import { purge, type SessionWorld, withSessionWorld } from "./_session.ts";
import { commitScript, startStandIn } from "../agents/_standin.ts";
import { missing, OPENCODE } from "../agents/_clis.ts";

const dec = new TextDecoder();
const KEY = "sk-ant-standin-opencode-1729";

async function follow(w: SessionWorld, name: string, env: Record<string, string>, run?: string) {
  const out = await w.spawn(["agent", "logs", name, ...(run ? [run] : []), "-f"], { env }).output();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function runs(w: SessionWorld, name: string) {
  const r = await w.k(["agent", "status", name, "-o", "json"]);
  assertEquals(r.code, 0, r.stderr);
  return JSON.parse(r.stdout).items;
}

withSessionWorld(
  "real OpenCode (--agent opencode): commits, reports usage, --continue carries the conversation, a 429 is waited out, a 401 is auth",
  { ignore: onRealCluster || missing("opencode", OPENCODE), timeoutMs: 10 * 60_000 },
  async (t, w) => {
    const api = await startStandIn(commitScript());
    const repo = await makeTestRepo(await Deno.makeTempDir({ prefix: "kodama-repo-" }));
    const task = join(w.cwd, "task.txt");
    const env = { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url };
    try {
      await Deno.writeTextFile(task, "Add hello.txt and commit it.\n");

      await t.step("start --agent opencode --prompt-file: it writes, commits, and says so", async () => {
        const r = await w.k(["start", "o1", "--repo", ".", "--prompt-file", task, "--agent", "opencode"], {
          cwd: repo.work,
          env,
        });
        assertEquals(r.code, 0, r.stderr);
        assert(!r.stdout.includes(KEY) && !r.stderr.includes(KEY), "the key was printed");
        const f = await follow(w, "o1", env);
        assertEquals(f.code, 0, f.stdout + f.stderr);
        assertMatch(f.stdout, /^== opencode$/m);
        assertMatch(f.stdout, /^-> write \/.*\/hello\.txt$/m);
        assertMatch(f.stdout, /^-> bash git add -A && git .*commit -q -m 'agent: add hello'$/m);
        assertMatch(f.stdout, /^Wrote hello\.txt and committed it\.$/m);
        // the usage OpenCode reported: its turns, tokens and cost
        assertMatch(f.stdout, /^== done \(3 turns, \d+ tokens, \$\d+\.\d{4}\)$/m);
        assertMatch(f.stderr, /agent run 1 succeeded\n/);
        // the prompt reached the stand-in, with the key from the env Secret, at /v1/messages
        const first = api.mainRequests()[0];
        assertStringIncludes(first.text, "Add hello.txt and commit it.");
        assertEquals(first.path, "/v1/messages");
        assertEquals(first.headers?.["x-api-key"], KEY);
        const [run] = await runs(w, "o1");
        assertEquals(run.outcome.text, "succeeded");
        assertEquals(run.truth.agent, "opencode");
        assertEquals([run.truth.toolCalls, run.truth.turns, run.truth.commits, run.truth.denied], [
          2,
          3,
          1,
          0,
        ]);
        assert(run.truth.inputTokens > 0 && run.truth.outputTokens > 0, JSON.stringify(run.truth));
        assert(run.truth.costUsd > 0, JSON.stringify(run.truth));
        assertEquals(run.truth.final, "Wrote hello.txt and committed it.");
      });

      await t.step("session fetch: the agent's commit comes back", async () => {
        const r = await w.k(["session", "fetch", "o1"], { cwd: repo.work });
        assertEquals(r.code, 0, r.stderr);
        assertEquals(await gitIn(["log", "-1", "--format=%s", "kodama/o1"], repo.work), "agent: add hello");
        assertEquals(await gitIn(["show", "kodama/o1:hello.txt"], repo.work), "hello from the agent");
      });

      await t.step(
        "agent run --continue: opencode run --continue sends the earlier conversation",
        async () => {
          api.push([{ text: "banana" }]);
          const before = api.mainRequests().length;
          const r = await w.k(["agent", "run", "o1", "--continue", "--prompt", "Now say banana."], { env });
          assertEquals(r.code, 0, r.stderr);
          const f = await follow(w, "o1", env, "2");
          assertEquals(f.code, 0, f.stdout + f.stderr);
          assertMatch(f.stdout, /^banana$/m);
          const req = api.mainRequests()[before];
          assert(req, "the continued run asked the model");
          assertStringIncludes(req.text, "Add hello.txt and commit it.");
          assertStringIncludes(req.text, "Now say banana.");
          const all = await runs(w, "o1");
          assertEquals([all[1].continues, all[1].truth.agent, all[1].outcome.text], [
            "1",
            "opencode",
            "succeeded (no changes)",
          ]);
        },
      );

      await t.step(
        "429 longer than OpenCode's own retries: the runner waits and continues, it succeeds",
        async () => {
          api.push([{ text: "after the rate limit" }]);
          // one 429 more than OpenCode's own attempts (it gives up after 5 or 6 of them: 12 made it give up
          // twice, each time after ~15 s of its own backoff): the runner continues it once
          api.fault({ status: 429, times: 7, retryAfterMs: 300 });
          const r = await w.k(["agent", "run", "o1", "--continue", "--prompt", "Say it after the limit."], {
            env,
          });
          assertEquals(r.code, 0, r.stderr);
          const f = await follow(w, "o1", env, "3");
          assertEquals(f.code, 0, f.stdout + f.stderr);
          assertMatch(f.stdout, /^after the rate limit$/m);
          assert(api.answered(429) >= 7, `429s answered: ${api.answered(429)}`);
          const [, , run] = await runs(w, "o1");
          // it answered and changed nothing: a success that says so
          assertEquals(run.outcome.class, "no-changes", JSON.stringify(run));
          assert(run.continuations >= 1, JSON.stringify(run));
          assertMatch(f.stderr, /agent run 3 succeeded\b.*\d+ rate limit/, f.stderr);
          // each wait was the API's own (its retry-after-ms of 300, long past once OpenCode gave up: the
          // runner's floor of 1 s), read from OpenCode's error line, not the runner's backoff (2.5 s and up)
          const raw = await w.k(["agent", "logs", "o1", "3", "--raw"]);
          const waits = raw.stdout.split("\n").filter((l) => l.includes('"event":"wait"')).map((l) =>
            JSON.parse(l).ms
          );
          assert(waits.length >= 1, raw.stdout);
          assertEquals(waits, waits.map(() => 1000), raw.stdout);
        },
      );

      await t.step("401: failed, auth, not retried; the key is in no log", async () => {
        api.fault({ status: 401 });
        const r = await w.k(["agent", "run", "o1", "--prompt", "Anything."], { env });
        assertEquals(r.code, 0, r.stderr);
        const f = await follow(w, "o1", env, "4");
        assertEquals(f.code, 1, f.stdout + f.stderr);
        const [, , , run] = await runs(w, "o1");
        assertEquals([run.outcome.class, run.outcome.retryable, run.continuations], ["auth", false, 0]);
        assertEquals(run.outcome.text, "failed: invalid API key");
        const raw = await w.k(["agent", "logs", "o1", "4", "--raw"]);
        assert(!raw.stdout.includes(`"event":"continue"`), raw.stdout);
        assert(!raw.stdout.includes(KEY), "the key is in the log");
      });
    } finally {
      await purge(w, "o1").catch(() => {});
      await api.close();
      await Deno.remove(repo.dir, { recursive: true }).catch(() => {});
    }
  },
);
