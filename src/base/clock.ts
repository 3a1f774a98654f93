/**
 * Time as a parameter: what a feature's timers, back-offs, polls and deadlines read, so a test can run them
 * on a manual clock (`tests/_clock.ts`: `advance(ms)` fires what is due) instead of waiting real time.
 *
 * The default, `realClock`, is `Date.now` and the timers of `src/base/proc/timer.ts` (Deno's own `AbortSignal.timeout`,
 * not the global timers that load Deno's Node layer): no extra cost on any path. A feature takes
 * `clock: Clock = realClock` in its options and never reads `Date.now`/`setTimeout` itself.
 */
import { after } from "./proc/timer.ts";

export interface Clock {
  /** milliseconds since the epoch, as `Date.now()` */
  now(): number;
  /** call `fn` after `ms` (`every`: every `ms`) until the returned function is called */
  after(ms: number, fn: () => void, every?: boolean): () => void;
  /** resolves after `ms`, or at once when `signal` aborts (never rejects) */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** `sleep` on any clock's `after`: ends early, without rejecting, when `signal` aborts. */
export function sleepOn(
  arm: (ms: number, fn: () => void) => () => void,
  ms: number,
  signal?: AbortSignal,
): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      cancel();
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const cancel = arm(ms, done);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** Wall-clock time and Deno's own timers. */
export const realClock: Clock = {
  now: () => Date.now(),
  after,
  sleep: (ms, signal) => sleepOn(after, ms, signal),
};

/**
 * The wait before retry `n` (0 for the first): `first`, doubling, at most `cap`. The one back-off curve of
 * the reconnecting readers (sync's loop, `agent logs -f`, the UI server's reads). Pure.
 */
export function doubling(n: number, first: number, cap: number): number {
  return Math.min(cap, first * 2 ** Math.max(0, n));
}
