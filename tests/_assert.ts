// Minimal assertion helpers (JSR's @std/assert is not reachable from our machines; node:assert is built in).
import nodeAssert from "node:assert/strict";

export function assert(cond: unknown, msg?: string): asserts cond {
  msg === undefined ? nodeAssert.ok(cond) : nodeAssert.ok(cond, msg);
}
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  msg === undefined
    ? nodeAssert.deepStrictEqual(actual, expected)
    : nodeAssert.deepStrictEqual(actual, expected, msg);
}
export function assertNotEquals<T>(actual: T, expected: T, msg?: string): void {
  msg === undefined
    ? nodeAssert.notDeepStrictEqual(actual, expected)
    : nodeAssert.notDeepStrictEqual(actual, expected, msg);
}
export function assertStringIncludes(actual: string, expected: string, msg?: string): void {
  if (!actual.includes(expected)) {
    throw new nodeAssert.AssertionError({
      message: msg ?? `expected string to include ${JSON.stringify(expected)}\n--- actual ---\n${actual}`,
    });
  }
}
export function assertMatch(actual: string, re: RegExp, msg?: string): void {
  msg === undefined ? nodeAssert.match(actual, re) : nodeAssert.match(actual, re, msg);
}
export function assertNotMatch(actual: string, re: RegExp, msg?: string): void {
  msg === undefined ? nodeAssert.doesNotMatch(actual, re) : nodeAssert.doesNotMatch(actual, re, msg);
}
export function assertThrows(fn: () => unknown, msgIncludes?: string): Error {
  try {
    fn();
  } catch (e) {
    if (msgIncludes && !String((e as Error)?.message ?? e).includes(msgIncludes)) {
      throw new nodeAssert.AssertionError({ message: `error ${String(e)} does not include ${msgIncludes}` });
    }
    return e as Error;
  }
  throw new nodeAssert.AssertionError({ message: "expected function to throw" });
}
export async function assertRejects(fn: () => Promise<unknown>, msgIncludes?: string): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    if (msgIncludes && !String((e as Error)?.message ?? e).includes(msgIncludes)) {
      throw new nodeAssert.AssertionError({ message: `error ${String(e)} does not include ${msgIncludes}` });
    }
    return e as Error;
  }
  throw new nodeAssert.AssertionError({ message: "expected promise to reject" });
}
