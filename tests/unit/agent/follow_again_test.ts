/**
 * againOnCut (src/agent/runs/follow.ts), on a manual clock: what `agent logs -f` and the UI's log panes do when a
 * stream is cut — the waits between tries, when it gives up, what ends it at once, what it says.
 */
import { assertEquals, assertRejects } from "@kodama/test-assert";
import { againOnCut, FOLLOW_GIVE_UP_MS, isCut } from "../../../src/agent/runs/follow.ts";
import { ExitCode, isRefusal, KodamaError } from "../../../src/base/errors.ts";
import { memorySink } from "../../../src/base/sink.ts";
import { ManualClock } from "../../_clock.ts";
import type { ReachEvent } from "../../../src/kube/reach.ts";

/** Runs `againOnCut` on a manual clock, moving time on whenever it waits, until it settles. */
async function drive<T>(fn: () => Promise<T>, clock: ManualClock, progress?: () => number) {
  const err = memorySink();
  const ac = new AbortController();
  let settled = false;
  const p = againOnCut("the log stream", fn, { err, signal: ac.signal, clock, progress })
    .finally(() => (settled = true));
  while (!settled) {
    await Promise.race([clock.whenArmed(1), p.catch(() => {})]);
    if (!settled) await clock.advance(60_000);
  }
  return { p, err };
}

Deno.test("isCut / isRefusal: bad input, nothing there, refused and Ctrl-C end a follow; anything else is a cut", () => {
  for (const code of [ExitCode.USAGE, ExitCode.NOT_FOUND, ExitCode.FORBIDDEN]) {
    assertEquals([isRefusal(new KodamaError("x", code)), isCut(new KodamaError("x", code))], [true, false]);
  }
  assertEquals(isCut(new KodamaError("interrupted", ExitCode.INTERRUPTED)), false);
  for (
    const e of [
      new KodamaError("x", ExitCode.FAILED),
      new KodamaError("x", ExitCode.TIMEOUT),
      new Error("reset"),
    ]
  ) {
    assertEquals([isRefusal(e), isCut(e)], [false, true]);
  }
});

Deno.test("againOnCut: tries again after 1, 2, 4, 8, then 10 s, and says each cause once", async () => {
  const clock = new ManualClock();
  const at: number[] = [];
  const t0 = clock.now();
  const { p, err } = await drive(() => {
    at.push(clock.now() - t0);
    if (at.length <= 6) return Promise.reject(new Error(at.length <= 3 ? "connection reset" : "EOF"));
    return Promise.resolve("done");
  }, clock);
  assertEquals(await p, "done");
  const gaps = at.slice(1).map((t, i) => t - at[i]);
  // the manual clock fires each timer at its own time, however far one advance goes
  assertEquals(gaps, [1000, 2000, 4000, 8000, 10_000, 10_000]);
  const lines = err.text().trim().split("\n");
  assertEquals(lines, [
    "kodama: the log stream was cut (connection reset); trying again for up to 2 minutes",
    "kodama: the log stream was cut (EOF); trying again for up to 2 minutes",
  ]);
});

Deno.test("againOnCut: a refusal ends it at once, without a wait or a word", async () => {
  const clock = new ManualClock();
  let tries = 0;
  const { p, err } = await drive(() => {
    tries++;
    return Promise.reject(new KodamaError("forbidden", ExitCode.FORBIDDEN));
  }, clock);
  const e = await assertRejects(() => p, "forbidden");
  assertEquals([(e as KodamaError).code, tries, err.text()], [ExitCode.FORBIDDEN, 1, ""]);
});

Deno.test("againOnCut: gives the last cut back after two minutes of them in a row; progress starts them again", async () => {
  const clock = new ManualClock();
  let tries = 0;
  const t0 = clock.now();
  const { p } = await drive(() => {
    tries++;
    return Promise.reject(new Error(`cut ${tries}`));
  }, clock);
  const e = await assertRejects(() => p, "cut");
  assertEquals(clock.now() - t0 >= FOLLOW_GIVE_UP_MS, true);
  assertEquals(e.message, `cut ${tries}`);

  // a failure after something arrived counts from there: lines kept coming, so it never gives up
  const clock2 = new ManualClock();
  let lines = 0, tries2 = 0, lastTry = 0;
  const { p: p2 } = await drive(
    () => {
      tries2++;
      lastTry = clock2.now();
      lines++; // each try read a line before it was cut
      return tries2 < 200 ? Promise.reject(new Error("cut")) : Promise.resolve("ended");
    },
    clock2,
    () => lines,
  );
  assertEquals(await p2, "ended");
  // 199 cuts a second apart (each after a line: the wait starts again at 1 s), well past two minutes
  assertEquals(lastTry - t0, 199_000);
});

Deno.test("againOnCut: a wait ends the moment the API server is back (another stream reached it first)", async () => {
  const clock = new ManualClock();
  const listeners = new Set<(e: ReachEvent) => void>();
  const reach = {
    down: true,
    describe: () => "unreachable",
    subscribe: (fn: (e: ReachEvent) => void) => (listeners.add(fn), () => listeners.delete(fn)),
    gaveUp: () => undefined,
  };
  const at: number[] = [];
  const ac = new AbortController();
  const p = againOnCut("the log stream", () => {
    at.push(clock.now());
    return at.length < 3 ? Promise.reject(new Error("connection refused")) : Promise.resolve("read");
  }, { err: memorySink(), signal: ac.signal, clock, reach });
  await clock.whenArmed(1); // waiting 1 s after the first cut
  for (const l of listeners) l({ type: "back", downMs: 30_000 });
  await clock.whenArmed(1); // the second try ran at once, was cut, and waits 2 s
  assertEquals(at.length, 2);
  assertEquals(at[1] - at[0], 0);
  await clock.advance(2000);
  assertEquals(await p, "read");
  assertEquals(listeners.size, 0); // no listener left behind
});
