/**
 * The description of a session's pull request (src/agent/forge/body.ts), pure: what a reviewer needs of the
 * latest run (prompt's first lines, outcome, agent, turns, tokens and cost, changes, the check and its result,
 * the final message); the prompt and the agent's words fenced so nothing in them renders, pings or closes;
 * bounded whatever the texts' size; the forge's token and key-shaped strings masked; a session without runs.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import {
  BODY_MAX,
  defaultTitle,
  fenced,
  firstLines,
  inlineCode,
  maskSecrets,
  prBody,
  type RunFacts,
} from "../../../../src/agent/forge/body.ts";

const RUN: RunFacts = {
  id: "3",
  outcome: "succeeded",
  agent: "claude",
  models: ["claude-sonnet-5"],
  turns: 7,
  inputTokens: 1200,
  outputTokens: 340,
  costUsd: 0.0421,
  commits: 2,
  filesChanged: 3,
  durationSeconds: 95.4,
  check: "passed",
  checkCommand: "deno task test",
  prompt: "Fix the flaky login test\n\nIt fails one time in ten on CI.",
  final: "Fixed: the test waited on a timer; it now waits on the event.",
};

Deno.test("body: the run's facts, each where a reviewer looks", () => {
  const b = prBody({ session: "fix-login", branch: "kodama/fix-login", run: RUN });
  for (
    const want of [
      "kodama session **fix-login**, branch `kodama/fix-login`",
      "### Run 3",
      "- **Outcome:** succeeded",
      "- **Agent:** claude, claude-sonnet-5",
      "- **Usage:** 7 turns, 1200 tokens in, 340 out, $0.0421, 95 s",
      "- **Changes:** 2 commits, 3 files changed",
      "- **Check:** passed — `deno task test`",
      "### Prompt\n\n```text\nFix the flaky login test\n\nIt fails one time in ten on CI.\n```",
      "### The agent's final message\n\n```text\nFixed: the test waited on a timer; it now waits on the event.\n```",
      "`kodama session pr fix-login`",
    ]
  ) assertStringIncludes(b, want);
  // a failed check says its exit code; a run without a check says none
  assertStringIncludes(
    prBody({ session: "s", branch: "b", run: { ...RUN, check: "failed (2)" } }),
    "**Check:** failed \\(2\\)",
  );
  assert(
    !prBody({ session: "s", branch: "b", run: { ...RUN, check: undefined, checkCommand: undefined } })
      .includes("Check"),
  );
});

Deno.test("body: a session without a run says so", () => {
  const b = prBody({ session: "s", branch: "kodama/s" });
  assertStringIncludes(b, "has no agent run");
  assert(!b.includes("### Prompt"));
});

Deno.test("body: the prompt and the agent's words cannot render, mention or close anything", () => {
  const hostile = "````\n</details><img src=x onerror=alert(1)>\n@octocat fixes #1\n```";
  const b = prBody({ session: "s", branch: "b", run: { ...RUN, prompt: hostile, final: hostile } });
  // each is inside a fence longer than any backtick run in it
  assertEquals(b.split("`````text\n").length - 1, 2);
  assertMatch(fenced("a ``` b"), /^````text\na ``` b\n````$/);
  assertEquals(inlineCode("x `y` z"), "``x `y` z``");
  assertEquals(inlineCode("`a`"), "`` `a` ``");
  // the fence closes only after the text: nothing of it is outside a fence
  const outside = b.split(/`````text\n[\s\S]*?\n`````/).join("");
  assert(!outside.includes("@octocat") && !outside.includes("<img"), outside);
});

Deno.test("body: bounded whatever the size of the prompt and the final message", () => {
  const huge = Array.from({ length: 5000 }, (_, i) => `line ${i} ${"x".repeat(80)}`).join("\n");
  const b = prBody({
    session: "s",
    branch: "b",
    run: { ...RUN, prompt: huge, final: huge, checkCommand: huge },
  });
  assert(b.length <= BODY_MAX, String(b.length));
  const prompt = b.split("### Prompt")[1].split("### The agent's")[0];
  assertStringIncludes(prompt, "line 19 ");
  assert(!prompt.includes("line 20 x"), prompt);
  assertStringIncludes(b, "(5000 lines,");
  assertEquals(firstLines("a\nb\nc", 2, 100), "a\nb\n… (3 lines, 5 characters in all)");
  assertEquals(firstLines("abc", 5, 2), "ab\n… (1 lines, 3 characters in all)");
});

Deno.test("body: the forge's token and key-shaped strings are masked", () => {
  const token = "glpat-not-a-real-token-0123456789";
  const b = prBody({
    session: "s",
    branch: "b",
    secrets: ["plain-token-value"],
    run: {
      ...RUN,
      prompt: `use plain-token-value and ${token} and ghp_${"a".repeat(36)}`,
      final: `export ANTHROPIC_API_KEY=sk-ant-api03-${"b".repeat(40)}; AKIAABCDEFGHIJKLMNOP`,
      checkCommand: "GH_TOKEN=github_pat_11ABCDEFG0123456789_abcdefghijkl make test",
    },
  });
  for (const leak of ["plain-token-value", token, "ghp_a", "sk-ant-", "AKIAABCD", "github_pat_"]) {
    assert(!b.includes(leak), `${leak} leaked:\n${b}`);
  }
  assertEquals(maskSecrets("a sk-abcdefghijklmnopqrstuvwxyz b"), "a *** b");
});

Deno.test("body: the default title is the prompt's first line, short; else the session", () => {
  assertEquals(defaultTitle("s", "\n  Fix the flaky login test \nmore"), "Fix the flaky login test");
  assertEquals(defaultTitle("s", `${"word ".repeat(30)}`).length, 72);
  assertEquals(defaultTitle("s", undefined), "kodama session s");
  assertEquals(defaultTitle("s", "\u001b[31mred\u0007"), "[31mred");
});

Deno.test("body: a replica's group side by side, this one marked, bounded", () => {
  const replicas = [
    {
      name: "fix-1",
      outcome: "succeeded",
      check: "passed",
      commits: 2,
      files: 3,
      insertions: 10,
      deletions: 2,
      tokens: "1.2k/340",
      costUsd: 0.05,
    },
    { name: "fix-2", outcome: "failed: overloaded (retryable)", check: "failed (1)", commits: 0, files: 0 },
    { name: "fix-3|x", outcome: "running" },
  ];
  const b = prBody({ session: "fix-1", branch: "kodama/fix-1", run: RUN, group: { name: "fix", replicas } });
  for (
    const want of [
      "### Its group: best of 3 (fix)",
      "| replica | outcome | check | commits | files | tokens | cost |",
      "| **fix-1** (this one) | succeeded | passed | 2 | 3 (+10/-2) | 1.2k/340 | $0.0500 |",
      "| fix-2 | failed: overloaded \\(retryable\\) | failed \\(1\\) | 0 | 0 | - | - |",
      // a cell cannot end the table's cell early
      "| fix-3\\|x | running | - | - | - | - | - |",
    ]
  ) assertStringIncludes(b, want);
  const many = Array.from({ length: 20 }, (_, i) => ({ name: `g-${i + 1}`, outcome: "succeeded" }));
  const c = prBody({ session: "g-1", branch: "b", group: { name: "g", replicas: many } });
  assertStringIncludes(c, "| g-16 |");
  assert(!c.includes("| g-17 |"));
  assertStringIncludes(c, "… and 4 more");
  assert(!prBody({ session: "s", branch: "b", run: RUN }).includes("Its group"));
});
