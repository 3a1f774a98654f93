/**
 * The demo's scripted agent (tests/cluster/demo_agents.ts): stateless steps read from the conversation a
 * request carries (so best-of-N conversations run at once), the task taken from the user's words only
 * (never the CLIs' context blocks), and nothing of it can break the shell line it goes into.
 */
import { assert, assertEquals, assertMatch } from "@kodama/test-assert";
import { demoConfig, demoTurn, taskOf } from "../../cluster/demo_agents.ts";

const claudeBody = (task: string) => ({
  messages: [{
    role: "user",
    content: [{ type: "text", text: "<system-reminder>context</system-reminder>" }, {
      type: "text",
      text: task,
    }],
  }],
});
const codexBody = (task: string) => ({
  input: [
    { role: "user", content: [{ type: "input_text", text: "# AGENTS.md instructions" }] },
    { role: "user", content: [{ type: "input_text", text: "<environment_context>x</environment_context>" }] },
    { role: "user", content: [{ type: "input_text", text: task }] },
  ],
});

Deno.test("demo agent: the task is the user's words, for Claude's Messages and Codex's Responses", () => {
  assertEquals(taskOf(claudeBody("Make hello.sh greet (by name)\n")), "Make hello.sh greet by name");
  assertEquals(taskOf(codexBody("Fix the bug")), "Fix the bug");
  assertEquals(taskOf({}), "the task");
  // quotes, $, backticks and ; never reach the shell line
  assertMatch(taskOf(claudeBody(`x"; rm -rf / $(id) \`id\``)), /^[A-Za-z0-9 ,.:_-]*$/);
  assert(taskOf(claudeBody("a".repeat(200))).length <= 75);
});

Deno.test("demo agent: edit, then commit, then say so, from the conversation alone", () => {
  const body = claudeBody("Add a flag");
  const [say, edit] = demoTurn("", body);
  assertEquals(say, { text: "I'll work on: Add a flag" });
  assert("shell" in edit && edit.shell.includes(">> AGENT_NOTES.md # demo-step-1"));
  const [commit] = demoTurn(`... ${"shell" in edit ? edit.shell : ""} ...`, body);
  assert(
    "shell" in commit &&
      /git add AGENT_NOTES\.md && git .* commit -q -m "agent: Add a flag" # demo-step-2$/.test(commit.shell),
  );
  assertEquals(demoTurn("demo-step-1 ... demo-step-2", body).length, 1);
  // each conversation picks its own answer: best-of-N replicas differ
  const ids = new Set(Array.from({ length: 5 }, () => JSON.stringify(demoTurn("", body)[1])));
  assert(ids.size > 1);
});

Deno.test("demo agent: the config names the env file and the image with the CLIs", () => {
  const c = demoConfig("/tmp/state/kodama-home/demo-agents.env");
  assertMatch(c, /^ {2}image: ghcr\.io\/illumination-k\/kodama-claude:latest$/m);
  assertMatch(c, /^ {2}dotenvFiles: \["\/tmp\/state\/kodama-home\/demo-agents\.env"\]$/m);
});
