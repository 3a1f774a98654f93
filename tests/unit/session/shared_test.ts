import { assertEquals, assertRejects } from "@kodama/test-assert";
import { once, Shared } from "../../../src/session/lifecycle/shared.ts";

Deno.test("a group's shared work: once per key for every replica, each time without a group", async () => {
  const s = new Shared();
  let calls = 0;
  const work = () => Promise.resolve(++calls);
  const got = await Promise.all(Array.from({ length: 8 }, () => once(s, "bundle", work)));
  assertEquals(got, [1, 1, 1, 1, 1, 1, 1, 1]);
  assertEquals(await once(s, "other", work), 2);
  assertEquals(await once(undefined, "bundle", work), 3);
  assertEquals(await once(undefined, "bundle", work), 4);
  // a failure is every replica's (they all asked for the same thing)
  const failing = () => Promise.reject(new Error("no repository"));
  const first = await assertRejects(() => once(s, "bad", failing));
  const again = await assertRejects(() => once(s, "bad", () => Promise.resolve(0)));
  assertEquals([(first as Error).message, again], ["no repository", first]);
});

Deno.test("a group's periodic reads: one answer per period, a new one after it", async () => {
  const s = new Shared();
  let calls = 0;
  const read = () => Promise.resolve(++calls);
  assertEquals(await Promise.all([s.recent("events", 60_000, read), s.recent("events", 60_000, read)]), [
    1,
    1,
  ]);
  assertEquals(await s.recent("events", 60_000, read), 1);
  assertEquals(await s.recent("events", 0, read), 2); // the period is over
});

Deno.test("a group's cleanups run once, when every replica is done, and a failing one does not stop the rest", async () => {
  const s = new Shared();
  const ran: string[] = [];
  s.onClose(() => Promise.reject(new Error("gone")));
  s.onClose(() => Promise.resolve(void ran.push("bundle removed")));
  await s.close();
  await s.close();
  assertEquals(ran, ["bundle removed"]);
});
