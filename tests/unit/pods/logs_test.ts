import { assertEquals } from "@kodama/test-assert";
import { splitTimestamp } from "../../../src/pods/logs.ts";

Deno.test("log timestamps: split off the RFC3339Nano prefix", () => {
  assertEquals(splitTimestamp("2026-11-21T08:00:00.123456789Z hello\n"), {
    ts: "2026-11-21T08:00:00.123456789Z",
    rest: "hello\n",
  });
  assertEquals(splitTimestamp("no timestamp\n"), { rest: "no timestamp\n" });
});
