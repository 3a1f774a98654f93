/**
 * A manual clock for tests (the `Clock` of src/base/clock.ts): time moves only when the test says
 * `advance(ms)`, which fires every timer due by then in time order and lets the work each one starts run
 * before the next. `whenArmed(n)` resolves once the code under test has set `n` timers — the event a test
 * waits on instead of sleeping ("the wait has started its timeout").
 */
import { type Clock, sleepOn } from "../src/base/clock.ts";

interface Timer {
  id: number;
  at: number;
  fn: () => void;
  every?: number;
}

export class ManualClock implements Clock {
  #now: number;
  #next = 1;
  #timers: Timer[] = [];
  #armedWaiters: { n: number; resolve: () => void }[] = [];

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  after(ms: number, fn: () => void, every = false): () => void {
    const t: Timer = { id: this.#next++, at: this.#now + Math.max(0, ms), fn, every: every ? ms : undefined };
    this.#timers.push(t);
    this.#wake();
    return () => {
      this.#timers = this.#timers.filter((x) => x !== t);
    };
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepOn((m, f) => this.after(m, f), ms, signal);
  }

  /** timers armed now */
  get armed(): number {
    return this.#timers.length;
  }

  /** Resolves once at least `n` timers are armed (at once when they already are). */
  whenArmed(n = 1): Promise<void> {
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#armedWaiters.push({ n, resolve });
    this.#wake();
    return promise;
  }

  #wake() {
    const ready = this.#armedWaiters.filter((w) => this.#timers.length >= w.n);
    this.#armedWaiters = this.#armedWaiters.filter((w) => this.#timers.length < w.n);
    for (const w of ready) w.resolve();
  }

  /**
   * Move time on by `ms`: each timer due by then fires in time order (a repeating one again as often as it
   * falls due), with the clock set to its time, and what it started (promises, I/O already done) runs to
   * its next wait before the next timer fires.
   */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    await settle();
    for (;;) {
      const due = this.#timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.#now = Math.max(this.#now, due.at);
      if (due.every !== undefined) due.at += Math.max(1, due.every);
      else this.#timers = this.#timers.filter((t) => t !== due);
      due.fn();
      await settle();
    }
    this.#now = end;
  }
}

/** Let every pending microtask and already-finished I/O callback run (one turn of the event loop). */
export function settle(): Promise<void> {
  return new Promise((r) => setTimeout(r, 0));
}
