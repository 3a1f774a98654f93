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
 * `AbortSignal.timeout`, whose timer is Deno's own: no global timer, so no Node layer (shell completion
 * bounds every cluster lookup with it, on every Tab press).
 */
export async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  const deadline = AbortSignal.timeout(ms);
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
