/**
 * Clearing a timer that may not have been set. The first touch of Deno's global timer functions loads
 * its node:timers module (and Node's errors, inspect and async_hooks with it): ~8 ms of CPU that the
 * everyday commands, which set no timer unless asked (--timeout, --request-timeout), never need. So a
 * timer is cleared only when there is one.
 */
export function clearTimer(timer: Parameters<typeof clearTimeout>[0]): void {
  if (timer !== undefined) clearTimeout(timer);
}
