/** Bounded concurrency shared by every layer (like errors.ts and bytes.ts, this module imports nothing). */

/**
 * Run `fn(0..count-1)` with at most `limit` (at least 1) calls in flight; calls start in index order.
 * Resolves when every call has finished. If a call throws, no further calls start; the promise then
 * rejects with the first error once the calls already in flight have settled.
 */
export async function forEachLimited(
  count: number,
  limit: number,
  fn: (index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed: { error: unknown } | undefined;
  const worker = async () => {
    while (next < count && !failed) {
      try {
        await fn(next++);
      } catch (error) {
        failed ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, count || 1)) }, worker));
  if (failed) throw failed.error;
}
