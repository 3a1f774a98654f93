/**
 * The real Codex CLI (npm @openai/codex, pinned in .ci/run) driven through kodama against a local stand-in
 * for the OpenAI Responses API (tests/agents/_standin.ts), as a custom model provider: the agent writes a
 * file with apply_patch and commits it with a shell command in the session's pod; kodama reports what it
 * did and `session fetch` brings the commit back. Skipped on a real cluster and without the CLI.
 *
 * `--continue` for Codex is `codex exec resume --last` (arguments in the middle of the command): that
 * needs the codex preset (src/agent/presets/presets.ts), not a custom agent.command.
 */
import { assert, assertEquals, assertMatch } from "@kodama/test-assert";
import { join } from "node:path";
import { onRealCluster } from "../cluster/harness.ts";
import { gitIn, makeTestRepo } from "./_git_server.ts";
import { purge, SESSION_IMAGE, withSessionWorld } from "./_session.ts";
import { commitScript, startStandIn } from "../agents/_standin.ts";
import { CODEX, codexCommand, missing, yamlList } from "../agents/_clis.ts";

const dec = new TextDecoder();

withSessionWorld(
  "real Codex: start --prompt-file commits on the session branch, kodama reports it, fetch brings it back",
  { ignore: onRealCluster || missing("codex", CODEX), timeoutMs: 6 * 60_000 },
  async (t, w) => {
    const api = await startStandIn(commitScript());
    const repo = await makeTestRepo(await Deno.makeTempDir({ prefix: "kodama-repo-" }));
    const task = join(w.cwd, "task.txt");
    const env = { OPENAI_API_KEY: "sk-standin-0815" };
    try {
      await Deno.writeTextFile(
        join(w.home, "config.yaml"),
        `agent:\n  command: ${yamlList(codexCommand(api.url))}\n  authEnv: [OPENAI_API_KEY]\n`,
      );
      await Deno.writeTextFile(task, "Add hello.txt and commit it.\n");

      await t.step(
        "start NAME --repo . --prompt-file, then logs -f: a line per message and tool call",
        async () => {
          const r = await w.k(
            ["start", "x1", "--repo", ".", "--image", SESSION_IMAGE, "--prompt-file", task],
            { cwd: repo.work, env },
          );
          assertEquals(r.code, 0, r.stderr);
          const out = await w.spawn(["agent", "logs", "x1", "-f"], { env }).output();
          const stdout = dec.decode(out.stdout), stderr = dec.decode(out.stderr);
          assertEquals(out.code, 0, stdout + stderr);
          assertMatch(stdout, /^== codex$/m);
          assertMatch(stdout, /^-> patch add \/.*\/hello\.txt$/m);
          assertMatch(stdout, /^-> shell git add -A && git .*commit -q -m 'agent: add hello'$/m);
          assertMatch(stdout, /^Wrote hello\.txt and committed it\.$/m);
          assertMatch(stderr, /agent run 1 succeeded\n/);
          // Codex asked the Responses stand-in, with the key from the env Secret
          assert(api.mainRequests().length >= 3);
        },
      );

      await t.step("agent status: turns, tool calls, tokens and the commit", async () => {
        const r = await w.k(["agent", "status", "x1", "-o", "json"]);
        assertEquals(r.code, 0, r.stderr);
        const [run] = JSON.parse(r.stdout).items;
        assertEquals(run.outcome.text, "succeeded");
        assertEquals(run.truth.agent, "codex");
        assertEquals(run.truth.toolCalls, 2);
        assertEquals(run.truth.denied, 0);
        assertEquals(run.truth.commits, 1);
        assert(run.truth.inputTokens > 0);
        assertEquals(run.truth.final, "Wrote hello.txt and committed it.");
      });

      await t.step("session fetch: the agent's commit comes back", async () => {
        const r = await w.k(["session", "fetch", "x1"], { cwd: repo.work });
        assertEquals(r.code, 0, r.stderr);
        assertEquals(await gitIn(["log", "-1", "--format=%s", "kodama/x1"], repo.work), "agent: add hello");
        assertEquals(await gitIn(["show", "kodama/x1:hello.txt"], repo.work), "hello from the agent");
      });

      await t.step(
        "an unreachable model API (Codex retries forever): the watchdog ends it, failed",
        async () => {
          // nothing listens on port 1; Codex would wait for the network for ever
          await Deno.writeTextFile(
            join(w.home, "config.yaml"),
            `agent:\n  command: ${
              yamlList(codexCommand("http://127.0.0.1:1"))
            }\n  authEnv: [OPENAI_API_KEY]\n` +
              `  stallTimeout: 15s\n`,
          );
          // a session of its own: a session keeps the command it was started with
          const r = await w.k(["start", "x2", "--image", SESSION_IMAGE, "--no-sync", "--prompt-file", task], {
            env,
          });
          assertEquals(r.code, 0, r.stderr);
          const out = await w.spawn(["agent", "logs", "x2", "-f"], { env }).output();
          const stdout = dec.decode(out.stdout), stderr = dec.decode(out.stderr);
          assertEquals(out.code, 1, stdout + stderr);
          assertMatch(
            stdout,
            /^kodama: the agent (made no progress for 15s|only retried its model API for 15s)/m,
          );
          const [run] = JSON.parse((await w.k(["agent", "status", "x2", "-o", "json"])).stdout).items;
          assertEquals(run.state, "failed");
          assert(["stalled", "unreachable"].includes(run.truth.endedBy), JSON.stringify(run.truth));
          assertEquals(run.notes.length, 1);
        },
      );
    } finally {
      await purge(w, "x1");
      await purge(w, "x2");
      await api.close();
      await Deno.remove(repo.dir, { recursive: true }).catch(() => {});
    }
  },
);
