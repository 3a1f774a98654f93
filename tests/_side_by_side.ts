/**
 * Tests that run side by side, each one a step of a single test: for a family whose tests mostly wait on
 * the clock (an idle stop's idle time and grace, a watcher's rounds), which one after another held one of
 * the run's test slots for minutes at a few percent of a core. Each test keeps what it had alone (its
 * own cluster, temp dirs, names); a failing one fails its step and the family. Deno runs steps at once
 * only with the sanitizers off.
 *
 *   const family = new SideBySide("idle watchdog (side by side)");
 *   family.test("no sync connected, it stops without waiting", async (t) => { … });
 */
import { TIMEOUT } from "./_timeout.ts";

export const NO_SANITIZERS = { sanitizeOps: false, sanitizeResources: false, sanitizeExit: false };

export class SideBySide {
  readonly #tests: { name: string; ignore?: boolean; fn: (t: Deno.TestContext) => Promise<void> }[] = [];
  #registered = false;
  /** `timeoutMs`: the family's limit (its longest test's, plus what running beside the others costs) */
  constructor(readonly name: string, readonly timeoutMs?: number) {}

  test(name: string, fn: (t: Deno.TestContext) => Promise<void>, o: { ignore?: boolean } = {}): void {
    this.#tests.push({ name, fn, ignore: o.ignore });
    if (this.#registered) return;
    this.#registered = true;
    Deno.test({
      name: this.name,
      ...(this.timeoutMs ? { [TIMEOUT]: this.timeoutMs } : {}),
      ...NO_SANITIZERS,
      fn: async (t) => {
        await Promise.all(
          this.#tests.map(({ name, ignore, fn }) => t.step({ name, ignore, ...NO_SANITIZERS, fn })),
        );
      },
    });
  }
}
