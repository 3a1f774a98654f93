// agent say's checks of a message (every door: CLI, MCP, web) and agent wait's exit code, pure.
import { assertEquals } from "@kodama/test-assert";
import {
  checkMessage,
  MAX_MESSAGE_BYTES,
  sayAnswer,
  waitExitCode,
  type WaitResult,
} from "../../../src/agent/runs/say.ts";
import { runNotes } from "../../../src/agent/outcome/runtruth.ts";
import { parseRunState } from "../../../src/agent/runs/agent.ts";
import { KodamaError } from "../../../src/base/errors.ts";

Deno.test("agent say: a message is text, not empty, at most 64 KiB of UTF-8, no NUL", () => {
  assertEquals(checkMessage("also cover the error path"), "also cover the error path");
  assertEquals(checkMessage("x".repeat(MAX_MESSAGE_BYTES)).length, MAX_MESSAGE_BYTES);
  for (
    const bad of [
      "",
      "  \n",
      "x".repeat(MAX_MESSAGE_BYTES + 1),
      "é".repeat(MAX_MESSAGE_BYTES / 2 + 1),
      "a\0b",
      42,
    ]
  ) {
    let code = 0;
    try {
      checkMessage(bad);
    } catch (e) {
      code = e instanceof KodamaError ? e.code : -1;
    }
    assertEquals(code, 2, String(bad).slice(0, 20));
  }
  // a shell word is just text: it is never a command's argument
  assertEquals(checkMessage("$(rm -rf /); `id`"), "$(rm -rf /); `id`");
});

Deno.test("agent wait: 0 only when every run succeeded", () => {
  const r = (state: WaitResult["state"], outcome: string): WaitResult => ({
    session: "s",
    run: "1",
    state,
    outcome,
    text: outcome,
  });
  assertEquals(waitExitCode([r("succeeded", "succeeded"), r("succeeded", "no-changes")]), 0);
  assertEquals(waitExitCode([r("succeeded", "succeeded"), r("failed", "auth")]), 1);
  assertEquals(waitExitCode([r("interrupted", "interrupted")]), 1);
  assertEquals(waitExitCode([r("stopped", "interrupted")]), 1);
});

Deno.test("agent say: the pod's pending and kept answers are read; agent status words a queued message", () => {
  assertEquals(sayAnswer("pending 3 claude\n"), { how: "pending", run: "3", agent: "claude" });
  assertEquals(sayAnswer("kept 12\n"), { how: "kept", run: "12", agent: undefined });
  assertEquals(
    runNotes({ state: "running", undelivered: 1 }),
    ["queued: 1 message said, not yet in the conversation (its next turn or the next run carries it)"],
  );
  assertEquals(
    runNotes({ state: "succeeded", exitCode: 0, undelivered: 2 }),
    ["queued: 2 messages said, not yet in the conversation (the next run carries them)"],
  );
  assertEquals(parseRunState('{"undelivered":2}').undelivered, 2);
  assertEquals(parseRunState('{"undelivered":"2"}').undelivered, undefined);
});
