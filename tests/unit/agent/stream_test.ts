// The parsers, the run summary and the log renderer on REAL output of the real CLIs (Claude Code 2.1.332,
// Codex 0.169.0) captured against tests/agents/_standin.ts: tests/fixtures/agents/*.jsonl.
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { createParser, parseStream, unwrapShell } from "../../../src/agent/outcome/stream.ts";
import {
  formatTokens,
  outcomeWord,
  parseTruth,
  truthNotes,
  truthOfLog,
} from "../../../src/agent/outcome/truth.ts";
import { createRenderer, renderLog } from "../../../src/agent/outcome/render.ts";

const fixture = (name: string) =>
  Deno.readTextFileSync(new URL(`../../fixtures/agents/${name}.jsonl`, import.meta.url));

Deno.test("claude stream-json: a run that wrote a file and committed it", () => {
  const t = truthOfLog(fixture("claude-commit"), { commits: 1, filesChanged: 1 });
  assertEquals(t.agent, "claude");
  assertEquals(t.turns, 3);
  assertEquals(t.toolCalls, 2);
  assertEquals(t.denied, 0);
  assertEquals(t.commits, 1);
  assertEquals(t.final, "Wrote hello.txt and committed it.");
  assertEquals([t.inputTokens, t.outputTokens, t.costUsd], [377, 37, 0.002248]);
  assertEquals(t.error, undefined);
  assertEquals(outcomeWord("succeeded", t), "succeeded");
  assertEquals(truthNotes(t), []);
  assertEquals(formatTokens(t), "414 $0.0022");
});

Deno.test("claude stream-json: plain `claude -p` denies Write and Bash, exits 0, changes nothing", () => {
  const t = truthOfLog(fixture("claude-denied"), { commits: 0, filesChanged: 0 });
  assertEquals(t.denied, 2);
  assertEquals(t.toolCalls, 2);
  assertStringIncludes(t.deniedUses![0], "Write: Claude requested permissions to write to");
  assertStringIncludes(t.deniedUses![1], "Bash: ");
  assertEquals(outcomeWord("succeeded", t), "succeeded (no changes)");
  assertEquals(truthNotes(t), ["denied: 2 tool uses"]);
  // not a no-change run once git says it committed
  assertEquals(outcomeWord("succeeded", { ...t, commits: 1 }), "succeeded");
  // the state of a failed run is never softened
  assertEquals(outcomeWord("failed", t), "failed");
});

Deno.test("claude stream-json: an unreachable API is the agent's own error, after its retries", () => {
  const t = truthOfLog(fixture("claude-unreachable"));
  assertStringIncludes(t.error!, "ECONNREFUSED");
  assertEquals(t.retries, 2);
  assertEquals(t.final, undefined);
});

Deno.test("codex --json: file_change and command_execution are tool calls; usage from turn.completed", () => {
  const t = truthOfLog(fixture("codex-commit"));
  assertEquals(t.agent, "codex");
  assertEquals(t.toolCalls, 2);
  assertEquals(t.turns, 1);
  assertEquals([t.inputTokens, t.outputTokens, t.costUsd], [419, 45, undefined]);
  assertEquals(t.final, "Wrote hello.txt and committed it.");
  const ev = parseStream(fixture("codex-commit"));
  const tools = ev.filter((e) => e.kind === "tool").map((e) =>
    e.kind === "tool" ? `${e.name} ${e.detail}` : ""
  );
  assertEquals(tools.length, 2);
  assert(tools[0].startsWith("patch add /") && tools[0].endsWith("/hello.txt"), tools[0]);
  assertEquals(tools[1], "shell git add -A && git commit -q -m 'agent: add hello'");
});

Deno.test("codex --json: a patch its sandbox rejected (said on stderr only) is a denied tool use", () => {
  const t = truthOfLog(fixture("codex-denied"), { commits: 0, filesChanged: 0 });
  assertEquals(t.denied, 1);
  assertStringIncludes(t.deniedUses![0], "read-only sandbox");
  assertEquals(outcomeWord("succeeded", t), "succeeded (no changes)");
});

Deno.test("codex --json: an unreachable API is retries, never a result", () => {
  const t = truthOfLog(fixture("codex-unreachable"));
  assertEquals(t.retries, 2);
  assertEquals(t.error, undefined);
  assertEquals(t.turns, undefined);
});

Deno.test("a custom command's plain output is text: no agent, no counts", () => {
  const t = truthOfLog("hello\nworld\n");
  assertEquals(t, { toolCalls: 0, denied: 0 });
  assertEquals(renderLog("hello\nworld\n"), "hello\nworld\n");
});

Deno.test("render: one line per message and tool call, in order, from chunks cut anywhere", () => {
  const log = fixture("claude-commit");
  const whole = renderLog(log);
  const r = createRenderer();
  const lines: string[] = [];
  for (let i = 0; i < log.length; i += 97) lines.push(...r.push(log.slice(i, i + 97)));
  lines.push(...r.end());
  assertEquals(lines.join("\n") + "\n", whole);
  assertEquals(lines, [
    "== claude 2.1.332 (model claude-opus-5-5)",
    "I'll write hello.txt.",
    "-> Write /tmp/si/ws/hello.txt",
    "-> Bash git add -A && git commit -q -m 'agent: add hello'",
    "Wrote hello.txt and committed it.",
    "== done (3 turns, 414 tokens, $0.0022)",
  ]);
  const denied = renderLog(fixture("claude-denied"));
  assertStringIncludes(denied, "!! denied Write: Claude requested permissions");
});

Deno.test("render: control characters from the pod never reach the terminal", () => {
  const line = JSON.stringify({
    type: "assistant",
    message: { id: "m", content: [{ type: "text", text: "hi\x1b[31m red\x07" }] },
  });
  const out = renderLog(line + "\n" + "raw \x1b]0;title\x07 line\n");
  // deno-lint-ignore no-control-regex
  assert(!/[\x00-\x08\x0b-\x1f\x7f]/.test(out), JSON.stringify(out));
});

Deno.test("a stored truth is read back with the right types only", () => {
  const t = truthOfLog(fixture("claude-denied"), { commits: 0, filesChanged: 0 });
  assertEquals(parseTruth(JSON.stringify(t)), t);
  assertEquals(parseTruth("not json"), undefined);
  assertEquals(parseTruth(JSON.stringify({ toolCalls: "3", denied: 2, final: 7, agent: "x" })), {
    toolCalls: 0,
    denied: 2,
  });
});

Deno.test("unwrapShell: Codex's login-shell wrapping is taken off", () => {
  assertEquals(unwrapShell(`/bin/bash -lc "git commit -m \\"x\\""`), `git commit -m "x"`);
  assertEquals(unwrapShell("ls -la"), "ls -la");
  // a parser is per stream: Codex item ids seen as started are not counted twice
  const p = createParser();
  const started = p(
    JSON.stringify({ type: "item.started", item: { id: "i", type: "command_execution", command: "ls" } }),
  );
  const done = p(
    JSON.stringify({ type: "item.completed", item: { id: "i", type: "command_execution", exit_code: 0 } }),
  );
  assertEquals(started.map((e) => e.kind), ["tool"]);
  assertEquals(done.map((e) => e.kind), ["tool-result"]);
});

Deno.test("compare: per replica the agent, its turns, tool calls, denied uses, tokens; --wait fails on a failed check", async () => {
  const { renderComparison, failedReplicas } = await import("../../../src/agent/group/compare.ts");
  const claude = truthOfLog(fixture("claude-commit"), { commits: 1, filesChanged: 1 });
  const denied = truthOfLog(fixture("claude-denied"), { commits: 0, filesChanged: 0 });
  const codex = truthOfLog(fixture("codex-commit"), { commits: 1, filesChanged: 1 });
  const ok = { state: "succeeded", exitCode: 0, durationSeconds: 9 };
  const rows = [
    { name: "f-1", replica: 1, status: "Running", agent: { run: "1", ...ok }, truth: claude, commits: 1 },
    { name: "f-2", replica: 2, status: "Running", agent: { run: "1", ...ok }, truth: denied, commits: 0 },
    {
      name: "f-3",
      replica: 3,
      status: "Running",
      agent: { run: "1", ...ok },
      truth: codex,
      commits: 1,
      check: { state: "failed", exitCode: 2 },
    },
  ];
  const t = renderComparison(rows).split("\n");
  assertEquals(t[0].split(/\s+/).slice(0, 8), [
    "REPLICA",
    "AGENT",
    "STATE",
    "DURATION",
    "TURNS",
    "TOOLS",
    "DENIED",
    "TOKENS",
  ]);
  assert(/^f-1\s+claude\s+succeeded\s+9s\s+3\s+2\s+0\s+414 \$0\.0022\s+1\s/.test(t[1]), t[1]);
  assert(/^f-2\s+claude\s+succeeded \(no changes\)\s+9s\s+3\s+2\s+2\s+/.test(t[2]), t[2]);
  assert(/^f-3\s+codex\s+succeeded\s+9s\s+1\s+2\s+0\s+464\s+1\s.*failed \(2\)/.test(t[3]), t[3]);
  const err: string[] = [];
  assertEquals(failedReplicas(rows, { write: (s) => void err.push(String(s)) }), 1);
  assertEquals(err.join(""), "1 of 3 replicas failed: f-3 (check failed (2))\n");
  assertEquals(failedReplicas(rows.slice(0, 2), { write: () => {} }), 0);
});

Deno.test("claude stream-json: an interrupted turn (agent interrupt's control request) reads as interrupted", () => {
  // the real CLI's output, stdin stream-json, interrupted while its first request was held by the stand-in
  const text = fixture("claude-interrupt");
  const end = parseStream(text).find((e) => e.kind === "result");
  assertEquals(end && end.kind === "result" && [end.ok, end.error], [
    false,
    "interrupted: the turn was aborted",
  ]);
  assertStringIncludes(renderLog(text), "interrupted: the turn was aborted");
});
