/**
 * src/base/proc/timer.ts: `within` bounds a wait without Deno's global timers, whose first use loads the Node layer
 * (node:timers, ~8 ms of CPU) — every Tab press (`__complete`) bounds its cluster lookups with it — and
 * leaves nothing behind that keeps a process alive once the wait is over.
 */
import { assert, assertEquals } from "@kodama/test-assert";
import { clearTimer, within } from "../../../../src/base/proc/timer.ts";

/** Run `fn` with the global setTimeout/clearTimeout replaced by functions that count their calls. */
async function countingTimers(fn: () => Promise<void>): Promise<number> {
  const g = globalThis as unknown as Record<string, unknown>;
  const saved = [g.setTimeout, g.clearTimeout];
  let calls = 0;
  g.setTimeout = (...a: unknown[]) => (calls++, (saved[0] as (...x: unknown[]) => unknown)(...a));
  g.clearTimeout = (...a: unknown[]) => (calls++, (saved[1] as (...x: unknown[]) => unknown)(...a));
  try {
    await fn();
  } finally {
    [g.setTimeout, g.clearTimeout] = saved;
  }
  return calls;
}

Deno.test("within: the value when it comes first, undefined at the deadline; no global timer either way", async () => {
  const calls = await countingTimers(async () => {
    assertEquals(await within(Promise.resolve(7), 1000), 7);
    const never = new Promise<number>(() => {});
    const t0 = performance.now();
    assertEquals(await within(never, 30), undefined);
    const waited = performance.now() - t0;
    assert(waited >= 25, `gave up after ${waited} ms`);
    clearTimer(undefined);
  });
  assertEquals(calls, 0);
});

Deno.test("within: a rejection comes through", async () => {
  let caught: unknown;
  try {
    await within(Promise.reject(new Error("boom")), 1000);
  } catch (e) {
    caught = e;
  }
  assertEquals((caught as Error).message, "boom");
});

Deno.test("within: once the value is there, its deadline does not keep the process alive", async () => {
  // a 10-minute deadline: a process held by it would still be running when the test gives up on it
  const code = `import { within } from ${
    JSON.stringify(new URL("../../../../src/base/proc/timer.ts", import.meta.url).href)
  };
console.log(await within(Promise.resolve("done"), 600_000));`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const killer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const out = await child.output();
  clearTimeout(killer);
  assertEquals(new TextDecoder().decode(out.stdout).trim(), "done");
  assertEquals(out.code, 0, "the process was still waiting for the deadline");
});
