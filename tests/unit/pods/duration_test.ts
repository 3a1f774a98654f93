import { assertEquals, assertThrows } from "@kodama/test-assert";
import { durationValueMs, formatDuration, MAX_TIMER_MS, parseDuration } from "../../../src/base/duration.ts";

Deno.test("parseDuration: Go-style durations", () => {
  assertEquals(parseDuration("30s"), 30_000);
  assertEquals(parseDuration("5m"), 300_000);
  assertEquals(parseDuration("1h30m"), 5_400_000);
  assertEquals(parseDuration("500ms"), 500);
  assertEquals(parseDuration("1.5s"), 1500);
  assertEquals(parseDuration("2"), 2000);
  assertEquals(parseDuration("1m30s250ms"), 90_250);
});

Deno.test("parseDuration: bad input is a usage error naming the flag", () => {
  const e = assertThrows(() => parseDuration("5 minutes", "--since"), "--since") as Error & { code: number };
  assertEquals(e.code, 2);
  assertThrows(() => parseDuration("", "--timeout"));
  assertThrows(() => parseDuration("10x"));
});

Deno.test("formatDuration", () => {
  assertEquals(formatDuration(850), "850ms");
  assertEquals(formatDuration(1234), "1.2s");
  assertEquals(formatDuration(12_400), "12s");
  assertEquals(formatDuration(125_000), "2m5s");
  assertEquals(formatDuration(3_720_000), "1h2m");
});

Deno.test("timer durations are clamped to the longest timer delay; others are not", () => {
  // 1000h is over 2^31 ms: a timer that long fires at once, so `--timeout 1000h` timed out immediately
  assertEquals(parseDuration("1000h", "--timeout", { timer: true }), MAX_TIMER_MS);
  assertEquals(parseDuration("1000h", "--since"), 3_600_000_000);
  assertEquals(parseDuration("24h", "--timeout", { timer: true }), 86_400_000);
  assertEquals(durationValueMs(3_600_000, "timeout", { timer: true }), MAX_TIMER_MS);
  assertEquals(formatDuration(MAX_TIMER_MS), "24d20h31m");
});
