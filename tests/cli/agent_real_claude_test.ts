/**
 * The real Claude Code (npm @anthropic-ai/claude-code, pinned in .ci/run) driven through kodama against a
 * local stand-in for the Anthropic Messages API (tests/agents/_standin.ts): the agent writes a file and
 * commits it in the session's pod; kodama reports what it did, `session fetch` brings the commit back,
 * `--continue` sends the earlier conversation, denied tool uses and an unreachable API are reported.
 *
 * The command is the verified headless line (tests/agents/_clis.ts) set as agent.command; the stand-in's
 * URL reaches the pod through agent.authEnv in the user's own config (the env Secret). The test server's
 * pods are local processes: 127.0.0.1 is this machine. Skipped on a real cluster and without the CLI.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { onRealCluster } from "../cluster/harness.ts";
import { gitIn, makeTestRepo } from "./_git_server.ts";
import { purge, SESSION_IMAGE, type SessionWorld, withSessionWorld } from "./_session.ts";
import { commitScript, type StandIn, startStandIn } from "../agents/_standin.ts";
import { CLAUDE, claudeCommand, missing, yamlList } from "../agents/_clis.ts";

const KEY = "sk-ant-standin-4711";

async function userConfig(w: SessionWorld, command: string[]): Promise<void> {
  // only the user's own config may send local variables to the pod (agent.authEnv)
  await Deno.writeTextFile(
    join(w.home, "config.yaml"),
    `agent:\n  command: ${yamlList(command)}\n  authEnv: [ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL]\n`,
  );
}

const dec = new TextDecoder();

async function follow(w: SessionWorld, name: string, env: Record<string, string>, run?: string) {
  const out = await w.spawn(["agent", "logs", name, ...(run ? [run] : []), "-f"], { env }).output();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function status(w: SessionWorld, name: string) {
  const r = await w.k(["agent", "status", name, "-o", "json"]);
  assertEquals(r.code, 0, r.stderr);
  return JSON.parse(r.stdout).items;
}

withSessionWorld(
  "real Claude Code: start --prompt-file commits on the session branch, fetch brings it back, --continue has the history",
  { ignore: onRealCluster || missing("claude", CLAUDE), timeoutMs: 8 * 60_000 },
  async (t, w) => {
    const api: StandIn = await startStandIn(commitScript());
    const repo = await makeTestRepo(await Deno.makeTempDir({ prefix: "kodama-repo-" }));
    const task = join(w.cwd, "task.txt");
    const env = { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url };
    try {
      await userConfig(w, claudeCommand());
      await Deno.writeTextFile(task, "Add hello.txt and commit it.\n");

      await t.step("start NAME --repo . --prompt-file: the agent runs", async () => {
        const r = await w.k(
          ["start", "c1", "--repo", ".", "--image", SESSION_IMAGE, "--prompt-file", task],
          { cwd: repo.work, env },
        );
        assertEquals(r.code, 0, r.stderr);
        assertMatch(r.stdout, /session\/c1 ready\n1\n/);
        assert(!r.stderr.includes(KEY) && !r.stdout.includes(KEY));
      });

      await t.step("agent logs -f: a line per message and tool call, exit 0 with the run", async () => {
        const r = await follow(w, "c1", env);
        assertEquals(r.code, 0, r.stdout + r.stderr);
        assertMatch(r.stdout, /^== claude 2\.\d+\.\d+/m);
        assertMatch(r.stdout, /^-> Write \/.*\/hello\.txt$/m);
        assertMatch(r.stdout, /^-> Bash git add -A && git .*commit -q -m 'agent: add hello'$/m);
        assertMatch(r.stdout, /^Wrote hello\.txt and committed it\.$/m);
        assertMatch(r.stdout, /^== done \(3 turns, /m);
        assertMatch(r.stderr, /agent run 1 succeeded\n/);
        // the stand-in was asked with the key from the env Secret
        assert(api.mainRequests().length >= 3);
      });

      await t.step("agent status: what the agent did, from its stream and git", async () => {
        const [run] = await status(w, "c1");
        assertEquals(run.state, "succeeded");
        assertEquals(run.outcome.text, "succeeded");
        assertEquals(run.truth.agent, "claude");
        assertEquals(run.truth.turns, 3);
        assertEquals(run.truth.toolCalls, 2);
        assertEquals(run.truth.denied, 0);
        assertEquals(run.truth.commits, 1);
        assert(run.truth.filesChanged >= 1);
        assert(run.truth.inputTokens > 0 && run.truth.outputTokens > 0);
        assertEquals(run.truth.final, "Wrote hello.txt and committed it.");
        const list = await w.k(["list", "-o", "json"]);
        const c1 = JSON.parse(list.stdout).items.find((i: { metadata: { name: string } }) =>
          i.metadata.name === "c1"
        );
        assertEquals(c1.status.agentOutcome, "succeeded");
        const table = await w.k(["agent", "status", "c1"]);
        assertMatch(
          table.stdout,
          /^RUN\s+STATE\s+EXIT\s+STARTED\s+DURATION\s+TURNS\s+TOOLS\s+DENIED\s+COMMITS\s+TOKENS/m,
        );
        assertMatch(table.stdout, /^1\s+succeeded\s+0\s+.*\s3\s+2\s+0\s+1\s+/m);
      });

      await t.step("agent logs --raw is the stream itself; -o json one parsed event per line", async () => {
        const raw = await w.k(["agent", "logs", "c1", "1", "--raw"]);
        assertEquals(raw.code, 0, raw.stderr);
        const first = JSON.parse(raw.stdout.split("\n")[0]);
        assertEquals([first.type, first.subtype], ["system", "init"]);
        assertMatch(raw.stdout, /"type":"result"/);
        const j = await w.k(["agent", "logs", "c1", "1", "-o", "json"]);
        assertEquals(j.code, 0, j.stderr);
        const events = j.stdout.trim().split("\n").map((l) => JSON.parse(l));
        assertEquals(events.filter((e) => e.kind === "tool").map((e) => e.name), ["Write", "Bash"]);
        assertEquals(events.at(-1).kind, "result");
      });

      await t.step("session fetch: the agent's commit comes back on kodama/c1", async () => {
        const r = await w.k(["session", "fetch", "c1"], { cwd: repo.work });
        assertEquals(r.code, 0, r.stderr);
        assertEquals(await gitIn(["log", "-1", "--format=%s", "kodama/c1"], repo.work), "agent: add hello");
        assertEquals(await gitIn(["show", "kodama/c1:hello.txt"], repo.work), "hello from the agent");
      });

      await t.step("agent run --continue: the stand-in sees the earlier conversation", async () => {
        api.push([{ text: "banana" }]);
        const before = api.mainRequests().length;
        const r = await w.k(["agent", "run", "c1", "--continue", "--prompt", "Now say banana."], { env });
        assertEquals(r.code, 0, r.stderr);
        const f = await follow(w, "c1", env, "2");
        assertEquals(f.code, 0, f.stdout + f.stderr);
        assertMatch(f.stdout, /^banana$/m);
        const req = api.mainRequests()[before];
        assert(req, "the continued run asked the model");
        // the first request of run 2 carries run 1's prompt, tool uses and results
        assertStringIncludes(req.text, "Add hello.txt and commit it.");
        assertStringIncludes(req.text, "toolu_standin_1_1");
        assertStringIncludes(req.text, "Now say banana.");
        const runs = await status(w, "c1");
        assertEquals(runs[1].continues, "1");
        assertEquals(runs[1].outcome.text, "succeeded (no changes)");
        assertEquals(runs[1].truth.commits, 0);
      });
    } finally {
      await purge(w, "c1");
      await api.close();
      await Deno.remove(repo.dir, { recursive: true }).catch(() => {});
    }
  },
);

withSessionWorld(
  "real Claude Code: denied tool uses are reported; an unreachable API is a failed run within seconds",
  { ignore: onRealCluster || missing("claude", CLAUDE), timeoutMs: 8 * 60_000 },
  async (t, w) => {
    const api = await startStandIn(commitScript());
    const repo = await makeTestRepo(await Deno.makeTempDir({ prefix: "kodama-repo-" }));
    const task = join(w.cwd, "task.txt");
    try {
      await Deno.writeTextFile(task, "Add hello.txt and commit it.\n");

      await t.step("plain `claude -p` (no permission flags): denied uses, no changes, exit 0", async () => {
        await userConfig(w, claudeCommand(CLAUDE, { skipPermissions: false }));
        const env = { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url };
        const r = await w.k(
          ["start", "d1", "--repo", ".", "--image", SESSION_IMAGE, "--prompt-file", task],
          { cwd: repo.work, env },
        );
        assertEquals(r.code, 0, r.stderr);
        const f = await follow(w, "d1", env);
        assertEquals(f.code, 0, f.stdout + f.stderr);
        assertMatch(f.stdout, /^!! denied Write: Claude requested permissions to write to /m);
        assertMatch(f.stderr, /agent run 1 succeeded \(no changes\); denied: 2 tool uses\n/);
        const [run] = await status(w, "d1");
        assertEquals(run.outcome.text, "succeeded (no changes)");
        assertEquals(run.notes, ["denied: 2 tool uses"]);
        assertEquals(run.truth.denied, 2);
        assertEquals([run.truth.commits, run.truth.filesChanged], [0, 0]);
        // list says it too, from what was recorded on the workspace volume (no pod read)
        const list = await w.k(["list"]);
        assertMatch(list.stdout, /^d1\s.*\srun 1 succeeded \(no changes\); denied: 2 tool uses\s+\S+$/m);
        const table = await w.k(["agent", "status", "d1"]);
        assertMatch(table.stdout, /^1\s+succeeded \(no changes\)\s+0\s.*denied: 2 tool uses$/m);
      });

      await t.step("an unreachable model API: failed, with the agent's own error", async () => {
        await userConfig(w, claudeCommand());
        // nothing listens on port 1
        const env = { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: "http://127.0.0.1:1" };
        const r = await w.k(
          ["start", "u1", "--repo", ".", "--no-sync", "--image", SESSION_IMAGE, "--prompt-file", task],
          { cwd: repo.work, env },
        );
        assertEquals(r.code, 0, r.stderr);
        const f = await follow(w, "u1", env);
        assertEquals(f.code, 1, f.stdout + f.stderr);
        assertMatch(f.stdout, /^\.\. model API retry 1\/2/m);
        // the outcome names the cause (issue 62), the agent's own error follows
        assertMatch(
          f.stderr,
          /agent run 1 failed: model API unreachable \(retryable\); API Error: Connection refused.*ECONNREFUSED/,
        );
        const [run] = await status(w, "u1");
        assertEquals(run.state, "failed");
        assertEquals([run.outcome.class, run.outcome.retryable], ["unreachable", true]);
        assertEquals(run.truth.retries, 2);
        assertMatch(run.truth.error, /ECONNREFUSED/);
      });
    } finally {
      await purge(w, "d1");
      await purge(w, "u1");
      await api.close();
      await Deno.remove(repo.dir, { recursive: true }).catch(() => {});
    }
  },
);
