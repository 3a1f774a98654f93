// The Gemini CLI's `--output-format stream-json` (0.61.0), captured from the real CLI against the Gemini
// stand-in of tests/agents/_standin.ts (tests/fixtures/agents/gemini-*.jsonl: its stderr, then its stdout,
// as a run's log holds them), into the same RunTruth and `agent logs` lines as Claude's and Codex's.
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { parseStream } from "../../../src/agent/outcome/stream.ts";
import { outcomeWord, parseTruth, truthOfLog } from "../../../src/agent/outcome/truth.ts";
import { createRenderer, renderLog } from "../../../src/agent/outcome/render.ts";
import { ENVLOAD_ARGV, PRESETS, resolveAgent, runArgv } from "../../../src/agent/presets/presets.ts";

const GEMINI_WRAP = PRESETS.gemini.wrap!;
import { configSchema } from "../../../src/config/schema.ts";

const fixture = (name: string) =>
  Deno.readTextFileSync(new URL(`../../fixtures/agents/${name}.jsonl`, import.meta.url));

Deno.test("gemini stream-json: a run that wrote a file and committed it", () => {
  const t = truthOfLog(fixture("gemini-commit"), { commits: 1, filesChanged: 1 });
  assertEquals(t.agent, "gemini");
  assertEquals([t.toolCalls, t.turns, t.denied], [2, 3, 0]);
  assertEquals([t.inputTokens, t.outputTokens], [372, 52]);
  assertEquals(t.final, "Wrote hello.txt and committed it.");
  assertEquals(t.error, undefined);
  assertEquals(outcomeWord("succeeded", t), "succeeded");
  assertEquals(parseTruth(JSON.stringify(t)), t);
  const tools = parseStream(fixture("gemini-commit")).flatMap((e) =>
    e.kind === "tool" ? [`${e.name} ${e.detail}`] : []
  );
  assertEquals(tools, [
    "write_file hello.txt",
    "run_shell_command git add -A && git -c user.name=Agent -c user.email=agent@example.com commit -q -m 'agent: add hello'",
  ]);
});

Deno.test("gemini render: one line per message and tool call, the same from chunks cut anywhere", () => {
  const log = fixture("gemini-commit");
  const r = createRenderer();
  const lines: string[] = [];
  for (let i = 0; i < log.length; i += 61) lines.push(...r.push(log.slice(i, i + 61)));
  lines.push(...r.end());
  assertEquals(lines.join("\n") + "\n", renderLog(log));
  assertEquals(lines.slice(-6), [
    "== gemini (model auto)",
    "I'll write hello.txt.",
    "-> write_file hello.txt",
    "-> run_shell_command git add -A && git -c user.name=Agent -c user.email=agent@example.com commit -q -m 'agent: add hello'",
    "Wrote hello.txt and committed it.",
    "== done (424 tokens)",
  ]);
  // its stderr notes stay lines of their own
  assertStringIncludes(lines[0], "Warning: 256-color support not detected");
});

Deno.test("gemini stream-json: the model's text in delta pieces is one message; a failed tool, an error result", () => {
  const ev = (o: Record<string, unknown>) => JSON.stringify({ timestamp: "2026-11-25T15:51:18.370Z", ...o });
  const log = [
    ev({ type: "init", session_id: "s", model: "gemini-2.5-pro" }),
    ev({ type: "message", role: "user", content: "do it" }),
    ev({ type: "message", role: "assistant", content: "Let me ", delta: true }),
    ev({ type: "message", role: "assistant", content: "look.", delta: true }),
    ev({ type: "tool_use", tool_name: "read_file", tool_id: "t1", parameters: { file_path: "a.txt" } }),
    ev({
      type: "tool_result",
      tool_id: "t1",
      status: "error",
      error: { type: "file_not_found", message: "File not found: a.txt" },
    }),
    ev({ type: "error", severity: "warning", message: "Loop detected" }),
    ev({
      type: "result",
      status: "error",
      error: { type: "FatalTurnLimitedError", message: "Reached max session turns" },
      stats: { total_tokens: 30, input_tokens: 20, output_tokens: 10 },
    }),
  ].join("\n");
  const t = truthOfLog(log);
  assertEquals([t.agent, t.toolCalls, t.turns, t.final], ["gemini", 1, 1, "Let me look."]);
  assertEquals(t.error, "Reached max session turns");
  assertEquals(renderLog(log).split("\n").filter(Boolean), [
    "== gemini (model gemini-2.5-pro)",
    "Let me look.",
    "-> read_file a.txt",
    "   failed: File not found: a.txt",
    "warning: Loop detected",
    "== failed: Reached max session turns (30 tokens)",
  ]);
});

Deno.test("gemini preset: its command, --resume latest at the end, the wrap and its settings", async () => {
  const a = resolveAgent([{ preset: "gemini" }], configSchema.parse({}));
  const { argv, continues } = runArgv(a, true);
  assert(continues);
  assertEquals(argv.slice(0, 3), ["env", "GEMINI_CLI_NO_RELAUNCH=true", "GEMINI_TELEMETRY_ENABLED=false"]);
  assertEquals(argv.slice(3, 7), ENVLOAD_ARGV);
  assertEquals(argv.slice(7, 10), ["sh", "-c", GEMINI_WRAP]);
  assertEquals(argv.slice(10), [...PRESETS.gemini.command, "--resume", "latest"]);

  // the wrap, run by sh (its node -e as in the pod): a chosen auth type only when a base URL is given,
  // the user's own keys kept, a settings file that is not plain JSON left alone
  const home = await Deno.makeTempDir();
  try {
    const run = async (env: Record<string, string>) => {
      const out = await new Deno.Command("sh", {
        args: ["-c", GEMINI_WRAP, "echo", "ran"],
        env: { HOME: home, ...env },
        stdout: "piped",
      }).output();
      assertEquals(new TextDecoder().decode(out.stdout), "ran\n");
    };
    const settings = `${home}/.gemini/settings.json`;
    await run({});
    assertEquals(JSON.parse(await Deno.readTextFile(settings)), {
      privacy: { usageStatisticsEnabled: false },
    });
    await Deno.writeTextFile(
      settings,
      JSON.stringify({ privacy: { usageStatisticsEnabled: true }, ui: { x: 1 } }),
    );
    await run({ GOOGLE_GEMINI_BASE_URL: "http://127.0.0.1:1" });
    assertEquals(JSON.parse(await Deno.readTextFile(settings)), {
      privacy: { usageStatisticsEnabled: true },
      ui: { x: 1 },
      security: { auth: { selectedType: "gemini-api-key" } },
    });
    await Deno.writeTextFile(settings, "// mine\n{}");
    await run({ GOOGLE_GEMINI_BASE_URL: "http://127.0.0.1:1" });
    assertEquals(await Deno.readTextFile(settings), "// mine\n{}");
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("gemini stream-json: without --yolo it takes its write and shell tools away: denied uses, no changes", () => {
  const t = truthOfLog(fixture("gemini-denied"), { commits: 0, filesChanged: 0 });
  assertEquals([t.agent, t.toolCalls, t.denied], ["gemini", 2, 2]);
  assertStringIncludes(t.deniedUses![0], 'write_file: Tool "write_file" not found');
  assertEquals(outcomeWord("succeeded", t), "succeeded (no changes)");
  assertStringIncludes(renderLog(fixture("gemini-denied")), "!! denied run_shell_command: Tool");
});

Deno.test("gemini stream-json: a --resume latest run is the same session, one turn of text", () => {
  const [init] = parseStream(fixture("gemini-continue")).filter((e) => e.kind === "init");
  assertEquals(init.kind === "init" && init.session, "576e4ae0-c5a5-493e-9e58-ee04c3810b55");
  const t = truthOfLog(fixture("gemini-continue"));
  assertEquals([t.turns, t.toolCalls, t.final], [1, 0, "banana"]);
});

Deno.test("gemini stream-json: an unreachable API is retries on stderr, then an error result (exit 1)", () => {
  const t = truthOfLog(fixture("gemini-unreachable"));
  assertEquals(t.retries, 6);
  assertEquals(t.error, "[API Error: exception TypeError: fetch failed sending request]");
  assertEquals(t.final, undefined);
  const lines = renderLog(fixture("gemini-unreachable")).split("\n");
  assert(
    lines.includes(
      ".. Attempt 1 failed. Retrying with backoff... Error: exception TypeError: fetch failed sending request",
    ),
  );
  assertStringIncludes(
    lines.at(-2)!,
    "== failed: [API Error: exception TypeError: fetch failed sending request]",
  );
});
