// pi's `--mode json` (0.73.1), captured from the real CLI against the Anthropic stand-in of
// tests/agents/_standin.ts (tests/fixtures/agents/pi-*.jsonl), into the same RunTruth, outcome classes and
// `agent logs` lines as the other presets'. pi exits 0 when the API refused it: its events say the failure.
import { assert, assertEquals, assertMatch } from "@kodama/test-assert";
import { parseStream } from "../../../src/agent/outcome/stream.ts";
import { truthOfLog } from "../../../src/agent/outcome/truth.ts";
import { renderLog } from "../../../src/agent/outcome/render.ts";
import { classify, factsOf } from "../../../src/agent/outcome/outcome.ts";
import {
  ENVLOAD_ARGV,
  parseAgentSpec,
  PRESETS,
  resolveAgent,
  runArgv,
} from "../../../src/agent/presets/presets.ts";

const PI_WRAP = PRESETS.pi.wrap!;
import { checkPlan } from "../../../src/agent/credentials/check.ts";
import { configSchema } from "../../../src/config/schema.ts";

const fixture = (name: string) =>
  Deno.readTextFileSync(new URL(`../../fixtures/agents/${name}.jsonl`, import.meta.url));

Deno.test("pi json: a run that wrote a file and committed it: tools, tokens, cost, its last words", () => {
  const t = truthOfLog(fixture("pi-commit"), { commits: 1, filesChanged: 1 });
  assertEquals(t.agent, "pi");
  assertEquals([t.toolCalls, t.turns, t.denied], [2, 3, 0]);
  assertEquals([t.inputTokens, t.outputTokens], [45, 37]); // the three answers' usage, summed
  assert(t.costUsd! > 0.001 && t.costUsd! < 0.002, String(t.costUsd));
  assertEquals(t.final, "Wrote hello.txt and committed it.");
  assertEquals(t.error, undefined);
  const tools = parseStream(fixture("pi-commit")).flatMap((e) => e.kind === "tool" ? [e.name] : []);
  assertEquals(tools, ["write", "bash"]);
  const lines = renderLog(fixture("pi-commit")).split("\n");
  assertEquals(lines[0], "== pi");
  assertMatch(lines.join("\n"), /^-> bash git add -A && git .*commit -q -m 'agent: add hello'$/m);
  const f = factsOf(fixture("pi-commit"));
  assertEquals([f.agent, f.models, f.turns], ["pi", ["claude-opus-4-7"], 3]);
  assertEquals(classify(f, { state: "succeeded", exitCode: 0 }).class, "succeeded");
});

Deno.test("pi json: a refused key (401) is auth although pi exits 0; not retried", () => {
  const log = fixture("pi-auth");
  const o = classify(factsOf(log), { state: "succeeded", exitCode: 0 });
  assertEquals([o.class, o.retryable], ["auth", false]);
  assertMatch(o.message, /^401 .*invalid x-api-key/);
  const t = truthOfLog(log, { commits: 0, filesChanged: 0 });
  assertMatch(t.error!, /^401 /);
});

Deno.test("pi json: an overload past its own retries is overloaded (kodama continues it); each retry a wait", () => {
  const log = fixture("pi-overload");
  const f = factsOf(log);
  assertEquals([f.apiRetries, f.overloads], [3, 3]);
  const o = classify(f, { state: "succeeded", exitCode: 0 });
  assertEquals([o.class, o.retryable], ["overloaded", true]);
  // a retry announced, not yet answered: the run is waiting on a 529
  const cut = log.split("\n").filter((l) => l.trim());
  const upTo = cut.findIndex((l) => l.includes(`"auto_retry_start"`));
  const w = factsOf(cut.slice(0, upTo + 1).join("\n"), Date.parse("2026-01-01T00:00:00Z")).waiting;
  assertEquals([w?.reason, w?.attempt, w?.of, w?.until], ["529", 1, 3, "2026-01-01T00:00:02.000Z"]);
  assertEquals(parseStream(log).filter((e) => e.kind === "retry").length, 3);
});

Deno.test("pi json: a continued run has its own session line and answer", () => {
  const t = truthOfLog(fixture("pi-continue"), { commits: 0, filesChanged: 0 });
  assertEquals([t.agent, t.final, t.error], ["pi", "banana", undefined]);
});

Deno.test("pi preset: the run's argv (its wrap puts ANTHROPIC_BASE_URL into models.json), --continue at its end", () => {
  const a = resolveAgent([{ preset: "pi" }], configSchema.parse({}));
  const { argv } = runArgv(a, true);
  assertEquals(argv, [
    "env",
    "PI_OFFLINE=1",
    "PI_SKIP_VERSION_CHECK=1",
    "PI_TELEMETRY=0",
    ...ENVLOAD_ARGV,
    "sh",
    "-c",
    PI_WRAP,
    "pi",
    "-p",
    "--mode",
    "json",
    "--provider",
    "anthropic",
    "--continue",
  ]);
});

Deno.test("pi wrap: ANTHROPIC_BASE_URL becomes models.json's anthropic baseUrl, other keys kept; unset, taken out", async () => {
  const home = await Deno.makeTempDir({ prefix: "kodama-piwrap-" });
  const run = async (env: Record<string, string>) => {
    const out = await new Deno.Command("sh", {
      args: ["-c", PI_WRAP, "true"],
      env: { HOME: home, PATH: Deno.env.get("PATH") ?? "", ...env },
      clearEnv: true,
    }).output();
    assertEquals(out.code, 0);
    return JSON.parse(await Deno.readTextFile(`${home}/.pi/agent/models.json`));
  };
  try {
    await Deno.mkdir(`${home}/.pi/agent`, { recursive: true });
    await Deno.writeTextFile(
      `${home}/.pi/agent/models.json`,
      `{"providers":{"ollama":{"baseUrl":"http://o"}}}`,
    );
    const m = await run({ ANTHROPIC_BASE_URL: "http://gw:8080/p/anthropic" });
    assertEquals(m.providers, {
      ollama: { baseUrl: "http://o" },
      anthropic: { baseUrl: "http://gw:8080/p/anthropic" },
    });
    assertEquals((await run({})).providers.anthropic, {});
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("pi: agent check is Anthropic's request with ANTHROPIC_API_KEY only; a variant SPEC `pi --model M` is the preset", () => {
  const p = checkPlan("pi", "claude-opus-4-7");
  assertEquals([p.preset, p.baseVar, p.path], ["pi", "ANTHROPIC_BASE_URL", "/v1/messages"]);
  assertEquals(p.keys.map((k) => k.variable), ["ANTHROPIC_API_KEY"]);
  assertEquals(parseAgentSpec("pi --model claude-haiku-4-5"), {
    preset: "pi",
    args: ["--model", "claude-haiku-4-5"],
  });
});

Deno.test("pi json: 429s past its SDK's and its own retries: rate-limited (kodama waits and continues), each retry a 429 wait", () => {
  const f = factsOf(fixture("pi-ratelimit"));
  assertEquals([f.apiRetries, f.rateLimits, f.overloads], [3, 3, 0]);
  const o = classify(f, { state: "succeeded", exitCode: 0 });
  assertEquals([o.class, o.retryable], ["rate-limited", true]);
  assertMatch(o.message, /^429 .*rate_limit_error/);
});
