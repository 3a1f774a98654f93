/**
 * Tests that run side by side, each one a step of a single test: for a family whose tests mostly wait on
 * the clock (an idle stop's idle time and grace, a watcher's rounds), which one after another held one of
 * the run's test slots for minutes at a few percent of a core. Each test keeps what it had alone (its
 * own cluster, temp dirs, names); a failing one fails its step and the family. Deno runs steps at once
 * only with the sanitizers off. Against a real cluster (KODAMA_TEST_KUBECONFIG) they run one after
 * another, as separate tests did: there they share one cluster, whose node five session starts at once
 * overran ("container not found" on exec into just-started pods).
 *
 *   const family = new SideBySide("idle watchdog (side by side)");
 *   family.test("no sync connected, it stops without waiting", async (t) => { … });
 */
import { TIMEOUT } from "./_timeout.ts";

/** tests/cluster/harness.ts's onRealCluster (not imported: unit tests use this file without a cluster) */
const REAL_CLUSTER = !!Deno.env.get("KODAMA_TEST_KUBECONFIG");

export const NO_SANITIZERS = { sanitizeOps: false, sanitizeResources: false, sanitizeExit: false };

interface Member {
  name: string;
  ignore?: boolean;
  fn: (t: Deno.TestContext) => Promise<void>;
}

export class SideBySide {
  readonly #tests: Member[] = [];
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
        const step = ({ name, ignore, fn }: Member) => t.step({ name, ignore, ...NO_SANITIZERS, fn });
        if (!REAL_CLUSTER) await Promise.all(this.#tests.map(step));
        else for (const x of this.#tests) await step(x);
      },
    });
  }
}
