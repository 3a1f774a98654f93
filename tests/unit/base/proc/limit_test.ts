import { assert, assertEquals, assertRejects } from "@kodama/test-assert";
import { forEachLimited } from "../../../../src/base/proc/limit.ts";

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

Deno.test("forEachLimited: every index once, in start order, never more than `limit` in flight", async () => {
  const started: number[] = [];
  const finished: number[] = [];
  let inFlight = 0;
  let peak = 0;
  await forEachLimited(10, 3, async (i) => {
    started.push(i);
    peak = Math.max(peak, ++inFlight);
    // uneven durations, counted in microtask turns rather than timer milliseconds (a loaded machine fires
    // late timers together, in start order): finishing order differs from starting order, every run
    for (let turn = 0; turn < ((i * 7) % 5) * 2; turn++) await Promise.resolve();
    inFlight--;
    finished.push(i);
  });
  assertEquals(started, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assertEquals([...finished].sort((a, b) => a - b), started);
  assert(finished.join() !== started.join(), `finished in start order: ${finished}`);
  assertEquals(peak, 3);
});

Deno.test("forEachLimited: results written by index keep the input order", async () => {
  const input = [50, 10, 30, 0, 20];
  const out: string[] = new Array(input.length);
  await forEachLimited(input.length, 2, async (i) => {
    // uneven durations in microtask turns (not timer milliseconds): they finish out of order, every run
    for (let turn = 0; turn < input[i]; turn++) await Promise.resolve();
    out[i] = `item ${i}`;
  });
  assertEquals(out, ["item 0", "item 1", "item 2", "item 3", "item 4"]);
});

Deno.test("forEachLimited: a limit above the count, below 1, or no items at all", async () => {
  let peak = 0;
  let inFlight = 0;
  const fn = async () => {
    peak = Math.max(peak, ++inFlight);
    await tick();
    inFlight--;
  };
  await forEachLimited(4, 100, fn);
  assertEquals(peak, 4);
  peak = 0;
  await forEachLimited(4, 0, fn);
  assertEquals(peak, 1);
  let called = 0;
  await forEachLimited(0, 5, () => {
    called++;
    return Promise.resolve();
  });
  assertEquals(called, 0);
});

Deno.test("forEachLimited: an error stops new calls and rejects after the ones in flight settle", async () => {
  const started: number[] = [];
  const finished: number[] = [];
  await assertRejects(
    () =>
      forEachLimited(10, 2, async (i) => {
        started.push(i);
        if (i === 2) throw new Error("boom at 2");
        // in microtask turns: 0 ends first and 2 starts and throws while 1 is still in flight
        for (let turn = 0; turn < (i === 1 ? 40 : 2); turn++) await Promise.resolve();
        finished.push(i);
      }),
    "boom at 2",
  );
  // 0 and 1 start; 2 is started when the first of them ends and throws at once; only the call
  // still in flight (the other of 0/1, or 3 started beside 2) finishes, and nothing after it starts
  assert(started.length <= 4, `started ${started}`);
  assertEquals(started.slice(0, 3), [0, 1, 2]);
  assertEquals(finished.sort(), started.filter((i) => i !== 2).sort());
});
