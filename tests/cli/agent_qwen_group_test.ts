/**
 * The qwen preset beside the others, black-box: `agent check --agent qwen` sends the request Qwen Code
 * would (Chat Completions at OPENAI_BASE_URL, streaming, usage asked for) and a refused key is exit 4 with
 * the OpenAI key hint; a best-of-N group mixes it with Claude Code (`--agent-variant 2=qwen`), each replica
 * running its own real CLI against one stand-in that serves both APIs. Skipped without the CLIs.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { onRealCluster } from "../cluster/harness.ts";
import { makeTestRepo } from "./_git_server.ts";
import { purge, withSessionWorld } from "./_session.ts";
import { startStandIn } from "../agents/_standin.ts";
import { CLAUDE, missing, QWEN } from "../agents/_clis.ts";

const GOOD = "sk-standin-qwen-good-7373";
const BAD = "sk-standin-qwen-bad-0000";
const dec = new TextDecoder();

withSessionWorld(
  "agent check --agent qwen: Chat Completions, 401 → exit 4; a best-of-N group mixes qwen with claude",
  { ignore: onRealCluster || missing("qwen", QWEN) || missing("claude", CLAUDE), timeoutMs: 8 * 60_000 },
  async (t, w) => {
    const api = await startStandIn([], {
      gate: { keys: [GOOD, "sk-ant-standin-mixed-1"] },
      // each replica's every request answered with one line: the two CLIs ask at once
      turnFor: (
        _text,
        body,
      ) => [{ text: Array.isArray(body.messages) && !body.system ? "qwen done." : "claude done." }],
    });
    const env = { OPENAI_API_KEY: GOOD, OPENAI_BASE_URL: `${api.url}/v1`, KODAMA_KEYS_STORE: "file" };
    try {
      await t.step(
        "agent check --agent qwen: the key accepted; the request Qwen Code would make",
        async () => {
          const ok = await w.k(["agent", "check", "--agent", "qwen", "--model", "qwen3-coder-plus"], { env });
          assertEquals(ok.code, 0, ok.stderr);
          assertMatch(ok.stdout, /^RESULT\s+ok: the key was accepted/m);
          assertMatch(ok.stdout, /^KEY\s+OPENAI_API_KEY …7373 \(from this environment\)$/m);
          assert(!ok.stdout.includes(GOOD) && !ok.stderr.includes(GOOD));
          const sent = api.requests.at(-1)!;
          const body = sent.body as {
            model: string;
            max_tokens: number;
            stream: boolean;
            stream_options: unknown;
          };
          assertEquals([sent.path, body.model, body.max_tokens, body.stream], [
            "/v1/chat/completions",
            "qwen3-coder-plus",
            1,
            true,
          ]);
          assertEquals(body.stream_options, { include_usage: true });
          assertEquals(sent.headers?.authorization, `Bearer ${GOOD}`);
        },
      );

      await t.step("agent check --agent qwen with a refused key: exit 4, the OpenAI key's hint", async () => {
        const r = await w.k(["agent", "check", "--agent", "qwen"], { env: { ...env, OPENAI_API_KEY: BAD } });
        assertEquals(r.code, 4, r.stderr);
        assertMatch(
          r.stderr,
          /^error: qwen check \(model qwen3-coder-plus, this machine\): the key was refused \(401\)/m,
        );
        assertStringIncludes(r.stderr, "kodama agent keys set openai");
        assert(!r.stderr.includes(BAD) && !r.stderr.includes("    at "), r.stderr);
      });

      await t.step(
        "start --replicas 2 --agent-variant 2=qwen: replica 1 is Claude Code, replica 2 Qwen Code",
        async () => {
          const repo = await makeTestRepo(await Deno.makeTempDir({ prefix: "kodama-repo-" }));
          const both = { ...env, ANTHROPIC_API_KEY: "sk-ant-standin-mixed-1", ANTHROPIC_BASE_URL: api.url };
          const s = await w.k(
            [
              "start",
              "mx",
              "--repo",
              ".",
              "--replicas",
              "2",
              "--agent-variant",
              "2=qwen",
              "--prompt",
              "Say done.",
            ],
            { cwd: repo.work, env: both },
          );
          assertEquals(s.code, 0, s.stderr);
          for (
            const [name, agent, line] of [["mx-1", "claude", "claude done."], ["mx-2", "qwen", "qwen done."]]
          ) {
            const out = await w.spawn(["agent", "logs", name, "-f"], { env: both }).output();
            assertEquals(out.code, 0, dec.decode(out.stdout) + dec.decode(out.stderr));
            assertStringIncludes(dec.decode(out.stdout), line);
            const [run] = JSON.parse((await w.k(["agent", "status", name, "-o", "json"])).stdout).items;
            assertEquals([run.truth.agent, run.outcome.class], [agent, "no-changes"]);
          }
          const chat = api.requests.filter((r) => r.path === "/v1/chat/completions" && r.turn !== undefined);
          assert(chat.some((r) => r.text.includes("Say done.")), "qwen's prompt reached the stand-in");
          await Deno.remove(repo.dir, { recursive: true }).catch(() => {});
        },
      );
    } finally {
      await purge(w, "mx-1").catch(() => {});
      await purge(w, "mx-2").catch(() => {});
      await api.close();
    }
  },
);
