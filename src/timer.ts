/**
 * Clearing a timer that may not have been set. The first touch of Deno's global timer functions loads
 * its node:timers module (and Node's errors, inspect and async_hooks with it): ~8 ms of CPU that the
 * everyday commands, which set no timer unless asked (--timeout, --request-timeout), never need. So a
 * timer is cleared only when there is one.
 */
export function clearTimer(timer: Parameters<typeof clearTimeout>[0]): void {
  if (timer !== undefined) clearTimeout(timer);
}

/** `p`'s value, or `undefined` when `ms` pass first (`p` is left to settle on its own). */
export async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
