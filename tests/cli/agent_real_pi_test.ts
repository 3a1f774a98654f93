/**
 * The real pi (npm @mariozechner/pi-coding-agent, pinned in .ci/run) as the `pi` preset, driven through kodama
 * against the Anthropic stand-in (tests/agents/_standin.ts): only the user's shell environment is set
 * (ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL), which src/agent/adapters/pi/pod/wrap.sh puts into pi's models.json. pi writes a file
 * and commits it; `agent status` shows its tokens and cost; `--continue` gives it its conversation; a 429 is
 * waited out; a refused key is `auth` (pi itself exits 0 then: the class is read from its JSON events); a
 * repository's .pi/ folder refuses the run. Skipped on a real cluster and without the CLI.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { onRealCluster } from "../cluster/harness.ts";
import { gitIn, makeTestRepo } from "./_git_server.ts";
import { purge, type SessionWorld, withSessionWorld } from "./_session.ts";
import { commitScript, type StandIn, startStandIn } from "../agents/_standin.ts";
import { missing, PI } from "../agents/_clis.ts";

const dec = new TextDecoder();
const KEY = "sk-ant-standin-pi-5772";

async function status(w: SessionWorld, name: string) {
  const r = await w.k(["agent", "status", name, "-o", "json"]);
  assertEquals(r.code, 0, r.stderr);
  return JSON.parse(r.stdout).items;
}

async function follow(w: SessionWorld, name: string, env: Record<string, string>, run?: string) {
  const out = await w.spawn(["agent", "logs", name, ...(run ? [run] : []), "-f"], { env }).output();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function startPi(
  w: SessionWorld,
  name: string,
  api: StandIn,
  o: { key?: string; repoFiles?: string[] } = {},
) {
  const repo = await makeTestRepo(await Deno.makeTempDir({ prefix: "kodama-repo-" }));
  const task = join(w.cwd, "task.txt");
  await Deno.writeTextFile(task, "Add hello.txt and commit it.\n");
  const env = { ANTHROPIC_API_KEY: o.key ?? KEY, ANTHROPIC_BASE_URL: api.url };
  const r = await w.k(["start", name, "--repo", ".", "--prompt-file", task, "--agent", "pi"], {
    cwd: repo.work,
    env,
  });
  return { r, env, repo };
}

withSessionWorld(
  "real pi: --agent pi commits, usage shown, --continue carries the conversation, a 429 waited out, a refused key is auth",
  { ignore: onRealCluster || missing("pi", PI), timeoutMs: 10 * 60_000 },
  async (t, w) => {
    const api = await startStandIn(commitScript());
    const repos: string[] = [];
    try {
      await t.step("start --agent pi: pi writes and commits; logs and status say what it did", async () => {
        const { r, env, repo } = await startPi(w, "pi1", api);
        repos.push(repo.dir);
        assertEquals(r.code, 0, r.stderr);
        assert(!r.stdout.includes(KEY) && !r.stderr.includes(KEY), "the key was printed");
        const f = await follow(w, "pi1", env);
        assertEquals(f.code, 0, f.stdout + f.stderr);
        assertMatch(f.stdout, /^== pi$/m);
        assertMatch(f.stdout, /^-> write \/.*\/hello\.txt$/m);
        assertMatch(f.stdout, /^-> bash git add -A && git .*commit -q -m 'agent: add hello'$/m);
        assertMatch(f.stderr, /agent run 1 succeeded\n/);
        // the prompt reached the stand-in, with the key from the env Secret
        const first = api.mainRequests()[0];
        assertStringIncludes(first.text, "Add hello.txt and commit it.");
        assertEquals(first.headers?.["x-api-key"], KEY);
        const [run] = await status(w, "pi1");
        assertEquals(run.truth.agent, "pi");
        assertEquals([run.outcome.text, run.truth.commits, run.truth.toolCalls], ["succeeded", 1, 2]);
        assert(run.truth.inputTokens > 0 && run.truth.outputTokens > 0, JSON.stringify(run.truth));
        assert(run.truth.costUsd > 0, JSON.stringify(run.truth));
        assertEquals(run.truth.final, "Wrote hello.txt and committed it.");
        const fetched = await w.k(["session", "fetch", "pi1"], { cwd: repo.work });
        assertEquals(fetched.code, 0, fetched.stderr);
        assertEquals(await gitIn(["show", "kodama/pi1:hello.txt"], repo.work), "hello from the agent");
      });

      await t.step("agent run --continue: pi --continue sends the earlier conversation", async () => {
        api.push([{ text: "banana" }]);
        const env = { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url };
        const before = api.mainRequests().length;
        const r = await w.k(["agent", "run", "pi1", "--continue", "--prompt", "Now say banana."], { env });
        assertEquals(r.code, 0, r.stderr);
        const f = await follow(w, "pi1", env, "2");
        assertEquals(f.code, 0, f.stdout + f.stderr);
        assertMatch(f.stdout, /^banana$/m);
        const req = api.mainRequests()[before];
        assert(req, "the continued run asked the model");
        assertStringIncludes(req.text, "Add hello.txt and commit it.");
        assertStringIncludes(req.text, "toolu_standin_1_1");
        assertStringIncludes(req.text, "Now say banana.");
        const runs = await status(w, "pi1");
        assertEquals(runs[1].continues, "1");
        assertEquals(runs[1].truth.agent, "pi");
      });

      await t.step("a 429 with retry-after: waited out, the run succeeds", async () => {
        api.push(...commitScript());
        api.fault({ status: 429, times: 1, retryAfterMs: 2000 });
        const limited = api.answered(429);
        const { r, env, repo } = await startPi(w, "pi2", api);
        repos.push(repo.dir);
        assertEquals(r.code, 0, r.stderr);
        const f = await follow(w, "pi2", env);
        assertEquals(f.code, 0, f.stdout + f.stderr);
        assertEquals(api.answered(429), limited + 1);
        const [run] = await status(w, "pi2");
        assertEquals([run.outcome.class, run.truth.commits], ["succeeded", 1]);
      });

      await t.step(
        "a refused key (401): failed, class auth, not continued; the key never in the log",
        async () => {
          api.fault({ status: 401 });
          const { r, env, repo } = await startPi(w, "pi3", api, { key: "sk-ant-wrong-pi" });
          repos.push(repo.dir);
          assertEquals(r.code, 0, r.stderr);
          const f = await follow(w, "pi3", env);
          assertEquals(f.code, 1, f.stdout + f.stderr);
          const [run] = await status(w, "pi3");
          assertEquals([run.outcome.class, run.outcome.retryable, run.continuations], ["auth", false, 0]);
          const raw = await w.k(["agent", "logs", "pi3", "--raw"]);
          assert(!raw.stdout.includes("sk-ant-wrong-pi"));
        },
      );
    } finally {
      for (const n of ["pi1", "pi2", "pi3"]) await purge(w, n).catch(() => {});
      await api.close();
      for (const d of repos) await Deno.remove(d, { recursive: true }).catch(() => {});
    }
  },
);
