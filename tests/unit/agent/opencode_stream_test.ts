// OpenCode's `run --format json` (1.18.33), captured from the real CLI (tests/fixtures/agents/opencode-*.jsonl):
// commit and continue against the Anthropic stand-in of tests/agents/_standin.ts, a refused key (401), a
// rate limit it gave up on (429, after its own retries) and an API that was not there, into the same
// RunTruth, `agent logs` lines and outcome classes as the other presets'.
import { assertEquals } from "@kodama/test-assert";
import { parseStream } from "../../../src/agent/outcome/stream.ts";
import { outcomeWord, parseTruth, truthOfLog } from "../../../src/agent/outcome/truth.ts";
import { renderLog } from "../../../src/agent/outcome/render.ts";
import { classify, factsOf } from "../../../src/agent/pod/outcome.js";
import { PRESETS, resolveAgent, runArgv } from "../../../src/agent/presets/presets.ts";

const OPENCODE_WRAP = PRESETS.opencode.wrap!;
import { settingsArgs, settingsEnv } from "../../../src/agent/presets/settings.ts";
import { configSchema } from "../../../src/config/schema.ts";

const fixture = (name: string) =>
  Deno.readTextFileSync(new URL(`../../fixtures/agents/opencode-${name}.jsonl`, import.meta.url));

const outcome = (name: string, exitCode: number) =>
  classify(factsOf(fixture(name)), { state: exitCode === 0 ? "succeeded" : "failed", exitCode });

Deno.test("opencode json: a run that wrote a file and committed it: tools, turns, tokens, cost", () => {
  const t = truthOfLog(fixture("commit"), { commits: 1, filesChanged: 1 });
  assertEquals(t.agent, "opencode");
  assertEquals([t.toolCalls, t.turns, t.denied], [2, 3, 0]);
  assertEquals([t.inputTokens, t.outputTokens, t.costUsd], [231, 37, 0.001248]);
  assertEquals(t.final, "Wrote hello.txt and committed it.");
  assertEquals(t.error, undefined);
  assertEquals(outcomeWord("succeeded", t), "succeeded");
  assertEquals(parseTruth(JSON.stringify(t)), t);
  const tools = parseStream(fixture("commit")).flatMap((e) =>
    e.kind === "tool" ? [`${e.name} ${e.detail}`] : []
  );
  assertEquals(tools, [
    "write /tmp/octry/f/repo/hello.txt",
    "bash git add -A && git -c user.name=Agent -c user.email=agent@example.com commit -q -m 'agent: add hello'",
  ]);
  assertEquals(outcome("commit", 0).class, "succeeded");
});

Deno.test("opencode render: the banner, one line per message and tool call, the usage at the end", () => {
  const lines = renderLog(fixture("commit")).trimEnd().split("\n");
  assertEquals(lines[0], "== opencode");
  assertEquals(lines.at(-1), "== done (3 turns, 268 tokens, $0.0012)");
  assertEquals(renderLog(fixture("continue")).trimEnd().split("\n"), [
    "== opencode",
    "done.",
    "== done (1 turn, 89 tokens, $0.0004)",
  ]);
});

Deno.test("opencode errors: a refused key is auth (not retried), a 429 and no API are waited out", () => {
  assertEquals(outcome("auth", 1), { class: "auth", retryable: false, message: "invalid x-api-key" });
  const rl = outcome("ratelimit", 1);
  assertEquals([rl.class, rl.retryable], ["rate-limited", true]);
  // the wait is the API's: its answer's `retry-after: 2`, from the error line's time (1795914797680)
  assertEquals(rl.retryAt, new Date(1795914797680 + 2000).toISOString());
  const un = outcome("unreachable", 1);
  assertEquals([un.class, un.retryable], ["unreachable", true]);
  // retry-after-ms before retry-after; an HTTP date; none: the runner's own backoff
  const said = (headers: Record<string, string>) => {
    const line = JSON.stringify({
      type: "error",
      timestamp: 1_000_000,
      sessionID: "s",
      error: {
        name: "APIError",
        data: { message: "rate limited", statusCode: 429, responseHeaders: headers },
      },
    });
    return classify(factsOf(line + "\n"), { state: "failed", exitCode: 1 }).retryAt;
  };
  assertEquals(said({ "retry-after": "1", "Retry-After-Ms": "300" }), new Date(1_000_300).toISOString());
  assertEquals(said({ "retry-after": "Sun, 29 Nov 2026 01:13:19 GMT" }), "2026-11-29T01:13:19.000Z");
  assertEquals(said({ "content-type": "application/json" }), undefined);
  const t = truthOfLog(fixture("auth"), {});
  assertEquals([t.agent, t.error], ["opencode", "invalid x-api-key (HTTP 401)"]);
  // each error is its own run's end: a continued run that then succeeds is a success
  const log = fixture("ratelimit") + fixture("continue");
  assertEquals(classify(factsOf(log), { state: "succeeded", exitCode: 0 }).class, "succeeded");
});

Deno.test("opencode preset: its wrap, its variables, --continue, a bare model is Anthropic's", () => {
  const cfg = configSchema.parse({});
  const a = resolveAgent([{ preset: "opencode" }], cfg);
  assertEquals(a.wrap, OPENCODE_WRAP);
  const { argv } = runArgv(a, true);
  const at = argv.indexOf(OPENCODE_WRAP);
  assertEquals(argv.slice(at + 1), ["opencode", "run", "--format", "json", "--auto", "--continue"]);
  for (
    const v of [
      "OPENCODE_DISABLE_PROJECT_CONFIG=1",
      "OPENCODE_DISABLE_AUTOUPDATE=1",
      "OPENCODE_DISABLE_MODELS_FETCH=1",
    ]
  ) {
    assertEquals(argv.includes(v), true, v);
  }
  assertEquals(PRESETS.opencode.install, {
    package: "opencode-ai",
    version: "1.18.33",
    bin: "opencode",
    node: 18,
  });
  assertEquals(settingsArgs("opencode", a.command, { models: ["claude-haiku-4-5"] }), [
    "-m",
    "anthropic/claude-haiku-4-5",
  ]);
  assertEquals(settingsArgs("opencode", a.command, { models: ["openrouter/x"] }), ["-m", "openrouter/x"]);
  // the runner's switch after an overload: OpenCode's flag and names
  assertEquals(settingsEnv("opencode", { models: ["claude-sonnet-4-5", "openrouter/y"] }), {
    KODAMA_MODELS: "anthropic/claude-sonnet-4-5,openrouter/y",
    KODAMA_MODEL_FLAG: "-m",
  });
});

Deno.test("opencode wrap: the /v1 its Anthropic SDK wants is added to a base URL without it, once", async () => {
  const base = async (v?: string) => {
    const env: Record<string, string> = { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" };
    if (v !== undefined) env.ANTHROPIC_BASE_URL = v;
    const out = await new Deno.Command("sh", {
      args: ["-c", OPENCODE_WRAP, "sh", "-c", 'printf %s "${ANTHROPIC_BASE_URL-unset}"'],
      env,
      clearEnv: true,
    }).output();
    return new TextDecoder().decode(out.stdout);
  };
  assertEquals(await base("http://gw:8080"), "http://gw:8080/v1");
  assertEquals(await base("http://gw:8080/p/anthropic/"), "http://gw:8080/p/anthropic/v1");
  assertEquals(await base("https://api.anthropic.com/v1"), "https://api.anthropic.com/v1");
  assertEquals(await base(), "unset");
});
