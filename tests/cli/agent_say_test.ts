/**
 * Issue 65: talking to a running agent. The real Claude Code (the default preset, stream-json in) takes a
 * message said mid-run into the same conversation (the stand-in holds the first turn open until the
 * message is in; the next request's history has it); while it waits on that answer the message is said
 * queued, not delivered, and shows in agent status until a request carries it (issue 84); `agent interrupt` ends the turn as interrupted and the
 * next `agent say` continues the same conversation; `agent wait` exits with the outcome (0, 1, 5). The real
 * Codex takes no input while it runs: the message is queued and becomes the next turn's prompt in the same
 * conversation. Bad input: a clear line and its exit code. Skipped on a real cluster and without the CLIs.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { onRealCluster } from "../cluster/harness.ts";
import { makeTestRepo } from "./_git_server.ts";
import { purge, type SessionWorld, withSessionWorld } from "./_session.ts";
import { type StandIn, startStandIn } from "../agents/_standin.ts";
import { CLAUDE, CODEX, missing } from "../agents/_clis.ts";
import { startMcp } from "./_mcp.ts";
import { NO_SANITIZERS, SideBySide } from "../_side_by_side.ts";

/**
 * The three conversations mostly wait (a turn held open by the stand-in, `agent wait`'s timeout, the CLIs'
 * turns): they run side by side, each with its own cluster, stand-in and sessions (issue #63).
 */
const family = new SideBySide("agent say, interrupt and wait (side by side)", 10 * 60_000);

/** A step of one of them: without sanitizers, as the family's other tests run beside it. */
const step = (t: Deno.TestContext, name: string, fn: () => Promise<void>) =>
  t.step({ name, ...NO_SANITIZERS, fn });

async function startHeld(
  w: SessionWorld,
  api: StandIn,
  name: string,
  env: Record<string, string>,
  agent?: string,
) {
  const repo = await makeTestRepo(await Deno.makeTempDir({ prefix: "kodama-repo-" }));
  const task = join(w.cwd, `${name}-task.txt`);
  await Deno.writeTextFile(task, "Write the parser.\n");
  const release = api.hold();
  const r = await w.k(
    ["start", name, "--repo", ".", "--prompt-file", task, ...(agent ? ["--agent", agent] : [])],
    { cwd: repo.work, env },
  );
  assertEquals(r.code, 0, r.stderr);
  await api.waitFor(() => api.held() > 0);
  return { release, repo };
}

const texts = (api: StandIn) => api.mainRequests().map((r) => r.text);

withSessionWorld(
  "agent say/interrupt/wait with the real Claude Code: live input, an interrupt keeps the conversation",
  { ignore: onRealCluster || missing("claude", CLAUDE), family },
  async (t, w) => {
    const api = await startStandIn();
    const env = { ANTHROPIC_API_KEY: "sk-ant-standin-6565", ANTHROPIC_BASE_URL: api.url };
    let repoDir = "";
    try {
      const { release, repo } = await startHeld(w, api, "s1", env);
      repoDir = repo.dir;

      await step(t, "agent wait --timeout: exit 5 while the turn is held, the run goes on", async () => {
        const r = await w.k(["agent", "wait", "s1", "--timeout", "2s"]);
        assertEquals(r.code, 5, r.stdout + r.stderr);
        assertStringIncludes(r.stderr, "did not end within 2s");
      });

      await step(t, "agent say while the agent waits on its first answer: queued, never lost", async () => {
        // issue 84: this said `sent to the running conversation`, and the model never got the message
        const r = await w.k(["agent", "say", "s1", "also cover the error path"]);
        assertEquals(r.code, 0, r.stderr);
        assertEquals(
          r.stdout,
          "run 1: queued: not in the conversation yet; the agent's next turn takes it, else the next run " +
            "carries it (agent status shows it until then)\n",
        );
        const [run] = JSON.parse((await w.k(["agent", "status", "s1", "-o", "json"])).stdout).items;
        assertEquals(run.undelivered, 1);
        assertStringIncludes(run.notes.join("\n"), "queued: 1 message said, not yet in the conversation");
        assert(
          !texts(api).some((x) => x.includes("also cover the error path")),
          "not sent before the answer",
        );
        release();
      });

      await step(t, "agent wait: exit 0; the model saw the message in the same conversation", async () => {
        const r = await w.k(["agent", "wait", "s1", "-o", "json"]);
        assertEquals(r.code, 0, r.stdout + r.stderr);
        const [item] = JSON.parse(r.stdout).items;
        assertEquals([item.session, item.run, item.state, item.outcome], [
          "s1",
          "1",
          "succeeded",
          "no-changes",
        ]);
        const last = texts(api).at(-1)!;
        assertStringIncludes(last, "Write the parser.");
        assertStringIncludes(last, "also cover the error path");
        // carried once (not duplicated): in run 1's conversation, not a run of its own, and no longer queued
        assertEquals(last.split("also cover the error path").length, 2);
        const runs = JSON.parse((await w.k(["agent", "status", "s1", "-o", "json"])).stdout).items;
        assertEquals(runs.length, 1);
        assertEquals(runs[0].undelivered, undefined);
      });

      await step(t, "agent say after the run ended: a --continue run with it as the prompt", async () => {
        const rel = api.hold();
        const r = await w.k(["agent", "say", "s1", "now start the long job"]);
        assertEquals(r.code, 0, r.stderr);
        assertMatch(r.stdout, /^run 1 had ended: started run 2 with the message/);
        await api.waitFor(() => api.held() > 0);
        const i = await w.k(["agent", "interrupt", "s1"]);
        assertEquals(i.code, 0, i.stderr);
        assertStringIncludes(i.stdout, "s1: run 2 interrupted (its conversation is kept");
        const wr = await w.k(["agent", "wait", "s1"]);
        assertEquals(wr.code, 1, wr.stdout + wr.stderr);
        assertStringIncludes(wr.stdout, "run 2\tinterrupted");
        rel();
        const [, run2] = JSON.parse((await w.k(["agent", "status", "s1", "-o", "json"])).stdout).items;
        assertEquals([run2.state, run2.outcome.class], ["interrupted", "interrupted"]);
      });

      await step(t, "the next say continues the interrupted conversation", async () => {
        const before = api.mainRequests().length;
        const r = await w.k(["agent", "say", "s1", "go on with it"]);
        assertEquals(r.code, 0, r.stderr);
        assertMatch(r.stdout, /started run 3/);
        assertEquals((await w.k(["agent", "wait", "s1"])).code, 0);
        const next = texts(api).slice(before).at(-1)!;
        for (
          const s of [
            "Write the parser.",
            "also cover the error path",
            "now start the long job",
            "go on with it",
          ]
        ) {
          assertStringIncludes(next, s);
        }
      });

      await step(t, "MCP agent_say, agent_interrupt, agent_wait through the SDK client", async () => {
        const m = await startMcp(w.c.kubeconfig, ["--context", "dev"], { env: { KODAMA_HOME: w.home } });
        try {
          const rel = api.hold();
          const said = await m.call("agent_say", { name: "s1", message: "mcp says hi" });
          assert(!said.isError, said.text);
          assertEquals([said.data.results[0].how, said.data.results[0].run], ["started", "4"]);
          await api.waitFor(() => api.held() > 0);
          const early = await m.call("agent_wait", { name: "s1", timeout: "1s" });
          assert(early.isError, early.text);
          assertStringIncludes(early.text, "did not end within 1s");
          const i = await m.call("agent_interrupt", { name: "s1" });
          assertEquals(i.data.results, [{ session: "s1", run: "4", interrupted: true }]);
          rel();
          const w4 = await m.call("agent_wait", { name: "s1" });
          assertEquals([w4.data.ok, w4.data.results[0].outcome], [false, "interrupted"]);
          const big = await m.call("agent_say", { name: "s1", message: "y".repeat(70_000) });
          assert(big.isError, big.text);
          assertStringIncludes(big.text, "at most 65536");
          const before = api.mainRequests().length;
          const again = await m.call("agent_say", { name: "s1", message: "mcp goes on" });
          assertEquals(again.data.results[0].how, "started");
          const w5 = await m.call("agent_wait", { name: "s1" });
          assertEquals(w5.data.ok, true, w5.text);
          const next = texts(api).slice(before).at(-1)!;
          assertStringIncludes(next, "mcp says hi");
          assertStringIncludes(next, "mcp goes on");
        } finally {
          await m.close();
        }
      });

      await step(t, "bad input: empty, too long, no such session; one line each", async () => {
        const empty = await w.k(["agent", "say", "s1", "  "]);
        assertEquals([empty.code, empty.stderr.trim().split("\n")[0]], [2, "error: the message is empty"]);
        const big = await w.k(["agent", "say", "s1", "-"], { stdin: "x".repeat(70_000) });
        assertEquals(big.code, 2, big.stderr);
        assertStringIncludes(big.stderr, "at most 65536");
        const none = await w.k(["agent", "wait", "nosuch"]);
        assertEquals(none.code, 3, none.stderr);
        const neither = await w.k(["agent", "say", "s1"]);
        assertEquals(neither.code, 2, neither.stderr);
        for (const r of [empty, big, none, neither]) assert(!r.stderr.includes("    at "), r.stderr);
      });
    } finally {
      await purge(w, "s1");
      await api.close();
      if (repoDir) await Deno.remove(repoDir, { recursive: true }).catch(() => {});
    }
  },
);

withSessionWorld(
  "agent say with the real Codex: queued, it becomes the next turn's prompt in the same conversation",
  { ignore: onRealCluster || missing("codex", CODEX), family },
  async (t, w) => {
    const api = await startStandIn();
    const env = { OPENAI_API_KEY: "sk-standin-6566", OPENAI_BASE_URL: `${api.url}/v1` };
    let repoDir = "";
    try {
      const { release, repo } = await startHeld(w, api, "x1", env, "codex");
      repoDir = repo.dir;
      await step(t, "agent say mid-run: queued for the next turn", async () => {
        const r = await w.k(["agent", "say", "x1", "and add a changelog entry"]);
        assertEquals(r.code, 0, r.stderr);
        assertMatch(r.stdout, /^run 1: queued for the next turn: codex exec takes no input while it runs/);
        release();
      });
      await step(
        t,
        "the queued message is the next turn's prompt, after the first conversation",
        async () => {
          const r = await w.k(["agent", "wait", "x1"]);
          assertEquals(r.code, 0, r.stdout + r.stderr);
          const all = texts(api);
          const first = all.findIndex((x) => x.includes("and add a changelog entry"));
          assert(first > 0, "a later request carried the message");
          assertStringIncludes(all[first], "Write the parser.");
        },
      );
    } finally {
      await purge(w, "x1");
      await api.close();
      if (repoDir) await Deno.remove(repoDir, { recursive: true }).catch(() => {});
    }
  },
);

withSessionWorld(
  "agent say/wait/interrupt GROUP with the real Claude Code: every running replica",
  { ignore: onRealCluster || missing("claude", CLAUDE), family },
  async (t, w) => {
    const api = await startStandIn();
    const env = { ANTHROPIC_API_KEY: "sk-ant-standin-6568", ANTHROPIC_BASE_URL: api.url };
    const repo = await makeTestRepo(await Deno.makeTempDir({ prefix: "kodama-repo-" }));
    const task = join(w.cwd, "g-task.txt");
    await Deno.writeTextFile(task, "Write the lexer.\n");
    const release = api.hold();
    try {
      await step(t, "a group of 2, both turns held: agent say GROUP reaches both conversations", async () => {
        const r = await w.k(["start", "sg", "--repo", ".", "--replicas", "2", "--prompt-file", task], {
          cwd: repo.work,
          env,
        });
        assertEquals(r.code, 0, r.stderr);
        await api.waitFor(() => api.held() >= 2);
        const s = await w.k(["agent", "say", "sg", "both of you: add tests"]);
        assertEquals(s.code, 0, s.stderr);
        // both wait on their first answer: queued in each, and each conversation carries it (issue 84)
        assertEquals(
          s.stdout.match(/^sg-\d: run 1: queued: not in the conversation yet;/gm)?.length,
          2,
          s.stdout,
        );
        release();
        const wr = await w.k(["agent", "wait", "sg", "-o", "json"]);
        assertEquals(wr.code, 0, wr.stdout + wr.stderr);
        const items = JSON.parse(wr.stdout).items;
        assertEquals(items.map((i: { session: string }) => i.session), ["sg-1", "sg-2"]);
        assertEquals(texts(api).filter((x) => x.includes("both of you: add tests")).length >= 2, true);
      });
      await step(t, "nothing running: say GROUP is exit 3, interrupt GROUP says it had ended", async () => {
        const s = await w.k(["agent", "say", "sg", "anyone?"]);
        assertEquals(s.code, 3, s.stderr);
        assertStringIncludes(s.stderr, "group sg: no replica has a running run");
        const i = await w.k(["agent", "interrupt", "sg"]);
        assertEquals(i.code, 0, i.stderr);
        assertStringIncludes(i.stderr, "sg-1: run 1 had already ended: nothing to interrupt");
      });
    } finally {
      release();
      await purge(w, "sg-1");
      await purge(w, "sg-2");
      await api.close();
      await Deno.remove(repo.dir, { recursive: true }).catch(() => {});
    }
  },
);
