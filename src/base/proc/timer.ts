/**
 * Clearing a timer that may not have been set. The first touch of Deno's global timer functions loads
 * its node:timers module (and Node's errors, inspect and async_hooks with it): ~8 ms of CPU that the
 * everyday commands, which set no timer unless asked (--timeout, --request-timeout), never need. So a
 * timer is cleared only when there is one.
 */
export function clearTimer(timer: Parameters<typeof clearTimeout>[0]): void {
  if (timer !== undefined) clearTimeout(timer);
}

/**
 * `p`'s value, or `undefined` when `ms` pass first (`p` is left to settle on its own). The deadline is an
 * `AbortSignal.timeout`, whose timer is Deno's own: the global timers would load Deno's Node layer (~8 ms of
 * CPU), and shell completion bounds its cluster lookups with this on every Tab press. It is listened to
 * through `AbortSignal.any`: a listener on the timeout signal itself keeps the process alive until it fires,
 * even once removed (Deno 2.9); one on a signal that follows it does not.
 */
export async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  const deadline = AbortSignal.any([AbortSignal.timeout(ms)]);
  let onTimeout = () => {};
  try {
    return await Promise.race([
      p,
      new Promise<undefined>((r) => {
        onTimeout = () => r(undefined);
        deadline.addEventListener("abort", onTimeout, { once: true });
      }),
    ]);
  } finally {
    deadline.removeEventListener("abort", onTimeout);
  }
}

/**
 * Call `fn` after `ms` (`every`: every `ms`) until the returned function is called — on Deno's own timer
 * (`AbortSignal.timeout`), not the global ones, which load Deno's Node layer (~8 ms of CPU): a session's
 * start waits with these. Listened to through `AbortSignal.any`, which does not keep the process alive
 * once cancelled (see `within`).
 */
export function after(ms: number, fn: () => void, every = false): () => void {
  let cancelled = false;
  let signal: AbortSignal;
  const arm = () => {
    signal = AbortSignal.any([AbortSignal.timeout(ms)]);
    signal.addEventListener("abort", fire, { once: true });
  };
  const fire = () => {
    if (cancelled) return;
    if (every) arm();
    fn();
  };
  arm();
  return () => {
    cancelled = true;
    signal.removeEventListener("abort", fire);
  };
}

/**
 * Call `fn` once `signal` aborts, or at once when it already has: a listener added after an `await` misses
 * an abort that came during it (Ctrl-C just as `pods -w` connected left the watch running until the server
 * ended it, 5 minutes later). Returns the listener's removal.
 */
export function onAbort(signal: AbortSignal, fn: () => void): () => void {
  if (signal.aborted) {
    fn();
    return () => {};
  }
  signal.addEventListener("abort", fn, { once: true });
  return () => signal.removeEventListener("abort", fn);
}
