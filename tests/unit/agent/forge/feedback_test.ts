/**
 * The pure parts of `agent run --from-pr` (src/agent/forge/feedback.ts, frompr.ts parseBudget): the budget's
 * spellings and bounds, GitHub's REST rule for a settled thread, the tail of a log cut at a line, and
 * kodama's reply, whose subject (the agent's words) cannot mention anyone or close an issue.
 */
import { assert, assertEquals, assertThrows } from "@kodama/test-assert";
import { addressedReply, githubOpen, headBytes, tailBytes } from "../../../../src/agent/forge/feedback.ts";
import { parseBudget } from "../../../../src/agent/forge/frompr.ts";
import { ExitCode, type KodamaError } from "../../../../src/base/errors.ts";

Deno.test("--from-pr-budget: bytes or K/KiB/M/MiB, 4 KiB to 1 MiB, else exit 2", () => {
  assertEquals(parseBudget(undefined), 32 * 1024);
  assertEquals(parseBudget("8192"), 8192);
  assertEquals(parseBudget("64KiB"), 65536);
  assertEquals(parseBudget("64k"), 65536);
  assertEquals(parseBudget("1M"), 1048576);
  for (const bad of ["1", "4095", "2MiB", "-8k", "8 GB", "1e6", "", "0x2000"]) {
    const e = assertThrows(() => parseBudget(bad)) as KodamaError;
    assertEquals(e.code, ExitCode.USAGE, bad);
  }
});

Deno.test("GitHub's REST rule: a thread is settled only by its latest reply's first words", () => {
  assert(githubOpen([]));
  assert(githubOpen([{ body: "+1" }]));
  for (
    const settled of ["Done", "done.", "Fixed in the next commit", "Resolved", "Addressed in 0123abc: `x`"]
  ) {
    assert(!githubOpen([{ body: "why?" }, { body: settled }]), settled);
  }
  // a reviewer answering after it opens it again; words later in a line do not count
  assert(githubOpen([{ body: "Done" }, { body: "not quite" }]));
  assert(githubOpen([{ body: "this is not done" }]));
  assert(githubOpen([{ body: "Addressed in nothing" }]));
});

Deno.test("a log's tail starts at a line; a head never splits a character", () => {
  const t = tailBytes("first line\n" + "x".repeat(50) + "\nlast line\n", 30);
  assert(t.startsWith("[… "), t);
  assert(t.endsWith("last line\n"), t);
  assert(!t.includes("first"), t);
  const h = headBytes("ééééé", 5);
  assert(h.startsWith("éé") && !h.includes("\uFFFD"), h);
});

Deno.test("the reply: the commit, its subject in inline code (no mention, no closing keyword takes effect)", () => {
  assertEquals(
    addressedReply("0123456789abcdef0123456789abcdef01234567", "Fix @alice's `bug`, fixes #1\x1b[31m\nmore"),
    "Addressed in 0123456789ab: ``Fix @alice's `bug`, fixes #1 more``",
  );
  assertEquals(addressedReply("a".repeat(40), ""), `Addressed in ${"a".repeat(12)}: \`(no message)\``);
});
