/** The injected clock: the real one sleeps on Deno's own timers and ends early on abort; the manual one fires due timers in order. */
import { assert, assertEquals } from "@kodama/test-assert";
import { doubling, realClock } from "../../../src/base/clock.ts";
import { ManualClock } from "../../_clock.ts";

Deno.test("realClock: sleep ends at once when its signal aborts, and resolves (never rejects)", async () => {
  const ac = new AbortController();
  const slept = realClock.sleep(60_000, ac.signal);
  ac.abort();
  await slept; // now, not in a minute
  const already = AbortSignal.abort();
  await realClock.sleep(60_000, already);
  assert(Math.abs(realClock.now() - Date.now()) < 1000);
});

Deno.test("ManualClock: advance fires what is due in time order, repeats, and lets each timer's work run", async () => {
  const clock = new ManualClock(0);
  const seen: string[] = [];
  clock.after(300, () => seen.push(`once@${clock.now()}`));
  const stop = clock.after(100, () => seen.push(`every@${clock.now()}`), true);
  // a sleeper that, woken, sets a timer of its own: it must fire within the same advance
  (async () => {
    await clock.sleep(150);
    seen.push(`woke@${clock.now()}`);
    await clock.sleep(100);
    seen.push(`again@${clock.now()}`);
  })();
  await clock.whenArmed(3);
  await clock.advance(299);
  assertEquals(seen, ["every@100", "woke@150", "every@200", "again@250"]);
  assertEquals(clock.now(), 299);
  stop();
  await clock.advance(1000);
  assertEquals(seen.slice(4), ["once@300"]);
  assertEquals(clock.armed, 0);
});

Deno.test("ManualClock: a sleep ends when its signal aborts, and its timer is gone", async () => {
  const clock = new ManualClock(0);
  const ac = new AbortController();
  const slept = clock.sleep(1000, ac.signal);
  assertEquals(clock.armed, 1);
  ac.abort();
  await slept;
  assertEquals(clock.armed, 0);
});

Deno.test("doubling: first, doubled per retry, held at the cap; a negative retry is the first", () => {
  assertEquals([0, 1, 2, 3, 4, 5].map((n) => doubling(n, 1000, 10_000)), [
    1000,
    2000,
    4000,
    8000,
    10_000,
    10_000,
  ]);
  assertEquals(doubling(-1, 500, 15_000), 500);
  assertEquals(doubling(60, 500, 15_000), 15_000);
});
