/** #81: every agent run of a session with several repositories starts with the line naming them, once. */
import { assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { withReposPreface } from "../../../src/agent/runs/agentrun.ts";

Deno.test("every run's prompt of a multi-repo session starts with the repositories line, never twice", () => {
  const spec = { workdir: "/workspace", repos: [{ name: "api" }, { name: "docs", readOnly: true }] };
  const once = withReposPreface("fix the bug", spec as never);
  assertEquals(once.split("\n\n").at(-1), "fix the bug");
  assertStringIncludes(
    once.split("\n")[0],
    "holds 2 git repositories, each in its own directory: api/, docs/",
  );
  assertStringIncludes(once.split("\n")[0], "Do not change docs");
  // a retry or a continuation given the prompt that already has it
  assertEquals(withReposPreface(once, spec as never), once);
  // one repository: the prompt as it is
  assertEquals(withReposPreface("fix the bug", { workdir: "/workspace" } as never), "fix the bug");
  assertEquals(withReposPreface("fix the bug", undefined), "fix the bug");
});
