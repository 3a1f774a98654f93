/**
 * A per-test time limit for the suites that talk to a cluster: a hang fails that test with a message
 * instead of blocking the whole run. Imported for its effect by tests/cluster/harness.ts and
 * tests/cli/_run.ts, it wraps `Deno.test` so every test registered after it races a timer
 * (default 5 minutes; `KODAMA_TEST_TIMEOUT_MS` changes it, a test's own `timeoutMs` — passed with
 * `Deno.test({ ..., [TIMEOUT]: ms })` — overrides it). On expiry the test fails naming its limit,
 * and the processes it spawned through `trackChild` are killed so nothing keeps running, and what it
 * registered with `onTimeout` is run (a test's `finally` does not run when it hangs).
 */

/** Option key for a test's own limit in ms: `Deno.test({ name, fn, [TIMEOUT]: 60_000 })`. */
export const TIMEOUT = "kodamaTimeoutMs";

const DEFAULT_MS = Number(Deno.env.get("KODAMA_TEST_TIMEOUT_MS")) || 5 * 60_000;

/** Child processes started for the test that is running (killed when it times out). */
const children = new Set<Deno.ChildProcess>();

/** Register a child process so a timed-out test kills it; it is forgotten once it exits. */
export function trackChild(child: Deno.ChildProcess): Deno.ChildProcess {
  children.add(child);
  child.status.finally(() => children.delete(child)).catch(() => {});
  return child;
}

/** What the running test asked to be done if it times out (its `finally` never runs then). */
const atExpiry = new Set<() => void>();

/**
 * Run `fn` (synchronous, best effort) if the running test times out: for what `trackChild` cannot reach,
 * such as a detached background process the test started through kodama. Forgotten when the test ends;
 * returns its removal for a test that needs it gone sooner.
 */
export function onTimeout(fn: () => void): () => void {
  atExpiry.add(fn);
  return () => atExpiry.delete(fn);
}

type TestFn = (t: Deno.TestContext) => void | Promise<void>;

function withLimit(name: string, fn: TestFn, ms: number): TestFn {
  return async (t) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        for (const c of children) {
          try {
            c.kill("SIGKILL");
          } catch { /* gone */ }
        }
        for (const f of atExpiry) {
          try {
            f();
          } catch { /* best effort */ }
        }
        reject(
          new Error(
            `test "${name}" did not finish within ${ms / 1000} s (a hang?); ` +
              `its processes were killed. KODAMA_TEST_TIMEOUT_MS changes the limit`,
          ),
        );
      }, ms);
    });
    try {
      await Promise.race([Promise.resolve(fn(t)), limit]);
    } finally {
      clearTimeout(timer);
      // a test's hooks are its own: the next test starts with none
      atExpiry.clear();
    }
  };
}

const MARK = Symbol.for("kodama.testTimeout");
// deno-lint-ignore no-explicit-any
const D = Deno as any;
if (!D.test[MARK]) {
  const original = D.test.bind(Deno);
  // deno-lint-ignore no-explicit-any
  const wrapped = (...args: any[]) => {
    // the forms of Deno.test: (fn), (name, fn), (options), (name, options, fn), (options, fn)
    let opts: Record<string, unknown>;
    if (typeof args[0] === "function") opts = { name: args[0].name, fn: args[0] };
    else if (typeof args[0] === "string") {
      opts = typeof args[1] === "function"
        ? { name: args[0], fn: args[1] }
        : { ...args[1], name: args[0], fn: args[2] };
    } else opts = typeof args[1] === "function" ? { ...args[0], fn: args[1] } : { ...args[0] };
    const ms = Number(opts[TIMEOUT]) || DEFAULT_MS;
    delete opts[TIMEOUT];
    if (typeof opts.fn === "function") opts.fn = withLimit(String(opts.name), opts.fn as TestFn, ms);
    return original(opts);
  };
  // deno-lint-ignore no-explicit-any
  const w = wrapped as any;
  for (const k of ["ignore", "only"]) if (D.test[k]) w[k] = D.test[k].bind(Deno.test);
  w[MARK] = true;
  D.test = wrapped;
}
