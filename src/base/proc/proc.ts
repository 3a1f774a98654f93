/**
 * Processes, kodama's own and the tools it runs, in one place:
 *
 * - `selfCommand()`: how to re-invoke kodama (tmux panes, the background sync and port-forward).
 * - `withInterrupt(fn)`: run `fn` with an AbortSignal that Ctrl-C (SIGINT) aborts; the listener goes
 *   when `fn` ends. Every command that cancels on Ctrl-C wires it this way.
 * - `spawnTool(bin, args, hint)`: start a local tool (fzf, tmux, git); a missing one is exit 2 naming it.
 *
 * Whether a background process still runs is src/base/proc/liveness.ts (a held lock, never a pid).
 * Loads no npm package and no `node:` module: the everyday path (`exec`) imports it up front.
 */
import { ExitCode, KodamaError } from "../errors.ts";
import { fileUrlToPath, hostPlatform, ownCommandLine, runtimeFlags } from "../platform.ts";

/**
 * The runtime flags the installed shims run kodama with (scripts/install.ts), beside `-A --no-prompt`.
 * `--no-lazy`: V8 compiles every function of a module when it compiles the module, so the code cache
 * Deno keeps holds them all; by default it holds only the top level, and every function a run calls is
 * compiled again in every process. Counted (bench/README.md, the everyday path): 10–17 ms less CPU for
 * `run kwekash`, 5–15 ms for `exec`, 3–6 ms for `pods` and `__complete`; a run without a cache entry
 * (the first after an upgrade) pays 2–6 ms more. V8 rejects a cache made under other flags and Deno writes
 * it again, so every process that runs kodama's modules should run with the same flags: the processes
 * kodama starts itself get its own (selfCommand).
 */
export const RUNTIME_FLAGS = ["--v8-flags=--no-lazy"];

/**
 * argv that re-invokes kodama. A compiled binary is its own executable; under `deno run` (and `deno
 * install` shims, which are `deno run` underneath) it is `deno run -A [--config deno.json] <main module>`.
 */
export function selfCommand(): string[] {
  const exe = Deno.execPath();
  const base = exe.split(/[\\/]/).pop() ?? "";
  if (!/^deno(\.exe)?$/.test(base)) return [exe];
  const main = Deno.mainModule;
  if (!main.startsWith("file:")) return [exe, "run", "-A", "--no-prompt", main];
  const p = hostPlatform();
  const path = fileUrlToPath(main, p);
  const out = [exe, "run", "-A", "--no-prompt", "--quiet", ...ownV8Flags(main)];
  // the project's deno.json (import map, unstable flags) is found from the main module's directory
  for (let d = p.path.dirname(path), i = 0; i < 4; d = p.path.dirname(d), i++) {
    const cfg = p.path.join(d, "deno.json");
    if (isFile(cfg)) {
      out.push("--config", cfg);
      break;
    }
    if (p.path.dirname(d) === d) break;
  }
  out.push(path);
  return out;
}

/**
 * The `--v8-flags` this process runs with, for the processes it starts (their code cache is then the
 * same): read from the command line on Linux; elsewhere reading it costs a process (ps, PowerShell), so
 * the shims' RUNTIME_FLAGS are assumed.
 */
function ownV8Flags(mainModule: string): string[] {
  const p = hostPlatform();
  const own = p.os === "linux" ? ownCommandLine(p) : undefined;
  return own ? v8FlagsIn(own, mainModule) : RUNTIME_FLAGS;
}

/** The `--v8-flags=…` words given to the runtime (before the main module) in a command line. Pure. */
export function v8FlagsIn(argv: string[], mainModule: string): string[] {
  return runtimeFlags(argv, mainModule).filter((a) => a.startsWith("--v8-flags="));
}

function isFile(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** What `fn` of `withInterrupt` is given besides the signal. */
export interface Interrupt {
  readonly signal: AbortSignal;
  /** one of the signals arrived (not: the outer signal aborted, or `abort()` was called) */
  readonly interrupted: boolean;
  /** abort from inside (`fn`'s own reasons to stop) */
  abort(reason?: unknown): void;
}

export interface InterruptOptions {
  /** the signals that abort (default ["SIGINT"]); [] listens to none (e.g. exec with a TTY: Ctrl-C is a byte) */
  signals?: Deno.Signal[];
  /** an outer signal (a test's, a caller's): it aborts too */
  signal?: AbortSignal;
  /** the abort reason when a signal arrives (default: the AbortSignal's own) */
  reason?: () => unknown;
  /** called once, on the first signal, before aborting (e.g. "interrupted: cleaning up…") */
  onSignal?: () => void;
  /** another trigger (e.g. `onStdoutClosed`): called with `abort`, returns what unsubscribes it */
  also?: (abort: (reason?: unknown) => void) => () => void;
}

/**
 * Run `fn` with an AbortSignal that SIGINT (or `o.signals`) aborts; the listeners are removed when `fn`
 * settles. `it.interrupted` tells a signal from other aborts (a command ends 130 on Ctrl-C).
 */
export async function withInterrupt<R>(
  fn: (signal: AbortSignal, it: Interrupt) => Promise<R>,
  o: InterruptOptions = {},
): Promise<R> {
  const ctrl = new AbortController();
  let interrupted = false;
  const onSignal = () => {
    if (!interrupted) o.onSignal?.();
    interrupted = true;
    ctrl.abort(o.reason?.());
  };
  const signals = o.signals ?? ["SIGINT"];
  const listening: Deno.Signal[] = [];
  for (const s of signals) {
    try {
      Deno.addSignalListener(s, onSignal);
      listening.push(s);
    } catch { /* a signal this OS does not have (SIGTERM, SIGHUP on Windows) */ }
  }
  const onOuter = () => ctrl.abort();
  if (o.signal?.aborted) onOuter();
  else o.signal?.addEventListener("abort", onOuter, { once: true });
  const off = o.also?.((reason?: unknown) => ctrl.abort(reason));
  const it: Interrupt = {
    signal: ctrl.signal,
    get interrupted() {
      return interrupted;
    },
    abort: (reason?: unknown) => ctrl.abort(reason),
  };
  try {
    return await fn(ctrl.signal, it);
  } finally {
    for (const s of listening) Deno.removeSignalListener(s, onSignal);
    o.signal?.removeEventListener("abort", onOuter);
    off?.();
  }
}

/**
 * Start a local tool kodama needs for one feature (fzf, tmux, git). A missing one is exit 2:
 * `tmux is not installed` with `hint` (what needs it, how to install it or do without).
 */
export function spawnTool(
  bin: string,
  args: string[],
  hint: string,
  o: Deno.CommandOptions = {},
): Deno.ChildProcess {
  try {
    return new Deno.Command(bin, { ...o, args }).spawn();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new KodamaError(`${bin} is not installed`, ExitCode.USAGE, hint);
    }
    throw e;
  }
}
