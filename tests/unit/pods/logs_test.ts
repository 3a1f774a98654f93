import { assertEquals } from "@std/assert";
import { splitTimestamp, tsAfter } from "../../../src/pods/logs.ts";

Deno.test("log timestamps: split and compare RFC3339Nano", () => {
  assertEquals(splitTimestamp("2026-11-21T08:00:00.123456789Z hello\n"), {
    ts: "2026-11-21T08:00:00.123456789Z",
    rest: "hello\n",
  });
  assertEquals(splitTimestamp("no timestamp\n"), { rest: "no timestamp\n" });
  assertEquals(tsAfter("2026-11-21T08:00:00.5Z", "2026-11-21T08:00:00.123Z"), true);
  assertEquals(tsAfter("2026-11-21T08:00:00.12Z", "2026-11-21T08:00:00.123Z"), false);
  assertEquals(tsAfter("2026-11-21T08:00:01Z", "2026-11-21T08:00:00.999Z"), true);
  assertEquals(tsAfter("2026-11-21T08:00:00.1Z", "2026-11-21T08:00:00.1Z"), false);
});
