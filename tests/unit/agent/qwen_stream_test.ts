// Qwen Code's `--output-format stream-json` (0.24.4: Claude Code's format, its init naming
// `qwen_code_version`), captured from the real CLI against the Chat Completions stand-in of
// tests/agents/_standin.ts (tests/fixtures/agents/qwen-*.jsonl: its stderr, then its stdout, as a run's log
// holds them): the same RunTruth, `agent logs` lines and outcome classes as the other presets'. Its model
// API errors are the model's text (`[API Error: 401 …]`) and the result's `error.message`.
import { assert, assertEquals, assertMatch } from "@kodama/test-assert";
import { parseStream } from "../../../src/agent/outcome/stream.ts";
import { parseTruth, truthOfLog } from "../../../src/agent/outcome/truth.ts";
import { renderLog } from "../../../src/agent/outcome/render.ts";
import { classify, factsOf, outcomeText } from "../../../src/agent/pod/outcome.js";
import { ENVLOAD_ARGV, PRESETS, resolveAgent, runArgv } from "../../../src/agent/presets/presets.ts";

const QWEN_WRAP = PRESETS.qwen.wrap!;
import { checkPlan, sseFacts } from "../../../src/agent/credentials/check.ts";
import { configSchema } from "../../../src/config/schema.ts";

const fixture = (name: string) =>
  Deno.readTextFileSync(new URL(`../../fixtures/agents/${name}.jsonl`, import.meta.url));

Deno.test("qwen stream-json: a run that wrote a file and committed it: its agent, turns, tools, usage", () => {
  const log = fixture("qwen-commit");
  const t = truthOfLog(log, { commits: 1, filesChanged: 1 });
  assertEquals(t.agent, "qwen");
  assertEquals([t.toolCalls, t.turns, t.denied], [2, 3, 0]);
  assertEquals([t.inputTokens, t.outputTokens], [552, 45]);
  assertEquals(t.final, "Wrote hello.txt and committed it.");
  assertEquals(t.error, undefined);
  assertEquals(parseTruth(JSON.stringify(t)), t);
  assertEquals(renderLog(log).trim().split("\n").slice(-6), [
    "== qwen 0.24.4 (model qwen3.7-max)",
    "I'll write hello.txt.",
    "-> write_file /tmp/qrepo/hello.txt",
    "-> run_shell_command git add -A && git -c user.name=Agent -c user.email=agent@example.com commit -q -m 'agent: add hello'",
    "Wrote hello.txt and committed it.",
    "== done (3 turns, 597 tokens)",
  ]);
  const f = factsOf(log);
  assertEquals([f.agent, f.models], ["qwen", ["qwen3.7-max"]]);
  assertEquals(classify(f, { state: "succeeded", exitCode: 0 }).class, "succeeded");
});

Deno.test("qwen stream-json: a refused key is auth (not retried), an overload retryable, a 429 it waited out succeeded", () => {
  const auth = factsOf(fixture("qwen-auth"));
  assertEquals(auth.agent, "qwen");
  const a = classify(auth, { state: "failed", exitCode: 1 });
  assertEquals([a.class, a.retryable], ["auth", false]);
  assertMatch(a.message, /^\[API Error: 401 Incorrect API key provided/);
  assertEquals(outcomeText(a, auth), "failed: not authenticated");
  // the same words as an error event in the logs, not as the model's message
  const ev = parseStream(fixture("qwen-auth"));
  assert(ev.some((e) => e.kind === "error" && e.message.startsWith("[API Error: 401")));
  assert(!ev.some((e) => e.kind === "message"));
  assertEquals(
    truthOfLog(fixture("qwen-auth"), { commits: 0, filesChanged: 0 }).error?.slice(0, 16),
    "[API Error: 401 ",
  );

  const over = factsOf(fixture("qwen-overloaded"));
  const o = classify(over, { state: "failed", exitCode: 1 });
  assertEquals([o.class, o.retryable], ["overloaded", true]);
  assertEquals(outcomeText(o, over), "failed: overloaded (retryable)");

  // its own retries of a 429 say nothing on its stream: the run just succeeds
  const rate = factsOf(fixture("qwen-ratelimited"));
  assertEquals(classify(rate, { state: "succeeded", exitCode: 0 }).class, "succeeded");
});

Deno.test("qwen stream-json: --continue's run is its own conversation's next turn", () => {
  const t = truthOfLog(fixture("qwen-continue"), { commits: 0, filesChanged: 0 });
  assertEquals([t.agent, t.turns, t.inputTokens], ["qwen", 1, 739]);
});

Deno.test("qwen preset: headless with --yolo, OpenAI auth, its wrap; --continue; check speaks Chat Completions", () => {
  const cfg = configSchema.parse({});
  const a = resolveAgent([{ preset: "qwen" }], cfg);
  const { argv, continues } = runArgv(a, true);
  assertEquals(continues, true);
  assertEquals(argv, [
    "env",
    "QWEN_TELEMETRY_ENABLED=false",
    "QWEN_USAGE_STATISTICS_ENABLED=false",
    "QWEN_CODE_SUPPRESS_YOLO_WARNING=1",
    ...ENVLOAD_ARGV,
    "sh",
    "-c",
    QWEN_WRAP,
    "qwen",
    "--yolo",
    "--auth-type",
    "openai",
    "--output-format",
    "stream-json",
    "--continue",
  ]);
  assertEquals(PRESETS.qwen.install, {
    package: "@qwen-code/qwen-code",
    version: "0.24.4",
    bin: "qwen",
    node: 22,
  });
  const plan = checkPlan("qwen", "qwen3-coder-plus");
  assertEquals([plan.baseVar, plan.path], ["OPENAI_BASE_URL", "/chat/completions"]);
  assertEquals((plan.body as { stream_options: unknown }).stream_options, { include_usage: true });
  // a Chat Completions stream: text in a delta, the usage in the last chunk
  assertEquals(sseFacts('data: {"choices":[{"index":0,"delta":{"content":"ok"}}]}'), { content: true });
  assertEquals(
    sseFacts('data: {"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10}}'),
    { outputTokens: 1 },
  );
});
