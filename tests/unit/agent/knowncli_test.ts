/**
 * A custom command whose program is a preset's CLI (agent/presets/knowncli.ts, issue 84.3): `start` warns, with the
 * agent.authEnv to add, when none of that preset's keys is forwarded; another program, or a key listed, is
 * not warned about.
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { knownCliOf, knownCliWarning } from "../../../src/agent/presets/knowncli.ts";
import { NETWORK_ENV } from "../../../src/agent/presets/presets.ts";

Deno.test("known cli: each spelling of a preset's CLI is known", () => {
  const cases: [string[], string | undefined][] = [
    [["claude", "-p", "--output-format", "json"], "claude"],
    [["/usr/local/bin/claude", "-p"], "claude"],
    [["npx", "@anthropic-ai/claude-code", "-p"], "claude"],
    [["npx", "-y", "@anthropic-ai/claude-code@2.1.0", "-p"], "claude"],
    [["env", "IS_SANDBOX=1", "claude", "-p"], "claude"],
    [["sh", "-c", "claude -p 'fix it'"], "claude"],
    [["codex", "exec", "--json"], "codex"],
    [["bash", "-lc", "exec codex exec"], "codex"],
    [["npx", "@openai/codex", "exec"], "codex"],
    [["gemini", "--yolo"], "gemini"],
    [["pnpm", "dlx", "@google/gemini-cli"], "gemini"],
    [["my-agent", "--yes"], undefined],
    [["sh", "-c", "env > /tmp/stolen"], undefined],
    [["aider", "--message", "claude"], undefined],
    [["python3", "agent.py"], undefined],
  ];
  for (const [c, want] of cases) assertEquals(knownCliOf(c), want, c.join(" "));
});

Deno.test("known cli: warned with the authEnv to add unless one of the preset's keys is forwarded", () => {
  const w = knownCliWarning(["claude", "-p"], [...NETWORK_ENV]);
  assert(w);
  assertStringIncludes(w, "agent.authEnv: [ANTHROPIC_API_KEY]");
  assertStringIncludes(w, "Not logged in");
  assertEquals(w.split("\n").length, 2, "one line");
  assertStringIncludes(knownCliWarning(["codex", "exec"], [])!, "agent.authEnv: [OPENAI_API_KEY]");
  assertStringIncludes(knownCliWarning(["npx", "@google/gemini-cli"], [])!, "[GEMINI_API_KEY]");
  assertEquals(knownCliWarning(["claude", "-p"], ["CLAUDE_CODE_OAUTH_TOKEN", ...NETWORK_ENV]), undefined);
  assertEquals(knownCliWarning(["my-agent"], []), undefined);
  // the command's other words (a key passed as an argument) are never repeated
  assert(!knownCliWarning(["claude", "--api-key", "sk-ant-secret-1"], [])!.includes("sk-ant-secret-1"));
});
