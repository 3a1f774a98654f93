// agent say's checks of a message (every door: CLI, MCP, web) and agent wait's exit code, pure.
import { assertEquals } from "@kodama/test-assert";
import { checkMessage, MAX_MESSAGE_BYTES, waitExitCode, type WaitResult } from "../../../src/agent/say.ts";
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
