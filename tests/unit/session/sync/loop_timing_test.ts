/**
 * The sync loop's timing decisions (src/session/sync/loop.ts), pure: the quiet window before a cycle
 * (longer in a burst, never past the cap however long events keep coming) and the back-off after
 * failures. The loop itself is driven end to end by tests/cli/sync_*_test.ts.
 */
import { assertEquals } from "@kodama/test-assert";
import {
  BACKOFF_MAX_MS,
  BACKOFF_MIN_MS,
  backoffMs,
  BURST_QUIET_MS,
  MAX_WAIT_MS,
  QUIET_MS,
  quietDelay,
} from "../../../../src/session/sync/loop.ts";

Deno.test("loop: a quiet window after an event; a longer one in a burst; an immediate poke stays immediate", () => {
  assertEquals(quietDelay(QUIET_MS, false, 1_000, 1_000), QUIET_MS);
  assertEquals(quietDelay(QUIET_MS, true, 1_000, 1_000), BURST_QUIET_MS);
  assertEquals(quietDelay(0, true, 1_000, 1_000), 0); // a pod round that changed something
  assertEquals(quietDelay(300, false, 1_000, 1_000), 300); // planned again after a skipped step
});

Deno.test("loop: events that keep coming never put a cycle off past the cap from the window's start", () => {
  const start = 5_000;
  // each event restarts the quiet window, but what is left of the cap bounds it
  assertEquals(quietDelay(QUIET_MS, true, start, start + MAX_WAIT_MS - 100), 100);
  assertEquals(quietDelay(QUIET_MS, false, start, start + MAX_WAIT_MS - 5), 5);
  assertEquals(quietDelay(QUIET_MS, true, start, start + MAX_WAIT_MS), 0);
  assertEquals(quietDelay(QUIET_MS, true, start, start + MAX_WAIT_MS + 10_000), 0);
});

Deno.test("loop: the back-off doubles from its floor to its ceiling and stays there", () => {
  const waits = [1, 2, 3, 4, 5, 6, 7, 20].map(backoffMs);
  assertEquals(waits[0], BACKOFF_MIN_MS);
  assertEquals(waits[1], 2 * BACKOFF_MIN_MS);
  assertEquals(waits[2], 4 * BACKOFF_MIN_MS);
  for (let i = 1; i < waits.length; i++) assertEquals(waits[i] >= waits[i - 1], true);
  assertEquals(waits.at(-1), BACKOFF_MAX_MS);
  assertEquals(Math.max(...waits), BACKOFF_MAX_MS);
});
