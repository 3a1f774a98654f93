import { assertEquals } from "@kodama/test-assert";
import { pollPause, waitUntil } from "../../cluster/harness.ts";

Deno.test("pollPause: a cheap check every 50 ms; a slow one pauses as long as it took, growing to 1 s", () => {
  assertEquals(pollPause(3, 0), 50);
  assertEquals(pollPause(3, 800), 50);
  assertEquals(pollPause(300, 0), 300);
  assertEquals(pollPause(300, 300), 450);
  assertEquals(pollPause(300, 450), 675);
  assertEquals(pollPause(300, 900), 1_000);
  assertEquals(pollPause(4_000, 0), 1_000);
});

Deno.test("waitUntil: a slow check is not run back to back", async () => {
  const at: number[] = [];
  let n = 0;
  await waitUntil(
    async () => {
      at.push(Date.now());
      // fixed: a slow check is what is tested (its own duration), not a wait
      await new Promise((r) => setTimeout(r, 150));
      return ++n === 4;
    },
    10_000,
    "four checks",
  );
  // three pauses of at least 150, 225 and 337 ms, besides the checks' own 150 ms each
  const gaps = at.slice(1).map((t, i) => t - at[i]);
  assertEquals(gaps.length, 3);
  for (const [i, min] of [300, 375, 487].entries()) {
    if (gaps[i] < min - 20) throw new Error(`gap ${i} was ${gaps[i]} ms, at least ${min} expected`);
  }
});
