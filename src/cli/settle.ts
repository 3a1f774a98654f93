/**
 * How a command line ends: the exit code a command set, or the error it threw (or nobody caught) printed the
 * one way every command shares — `error: …`, an indented hint, its documented exit code, no stack trace.
 */
import { ExitCode, formatError, KodamaError } from "../base/errors.ts";
import { COMPLETE } from "./invoked.ts";

/** `--log-level debug` on the line: errors add their stack. */
export function debugEnabled(args: string[]): boolean {
  const i = args.indexOf("--log-level");
  return (i >= 0 && args[i + 1] === "debug") || args.includes("--log-level=debug");
}

/**
 * Run a parsed command line to its exit code: the code a command set, or the error it threw, printed the
 * one way every command shares. `known` turns a reader's own errors (commander's) into a code first.
 */
export async function settle(
  args: string[],
  go: () => Promise<unknown>,
  known: (e: unknown) => number | undefined = () => undefined,
): Promise<number> {
  const { takeExitCode } = await import("./exit.ts");
  try {
    await go();
    return takeExitCode();
  } catch (e) {
    const code = known(e);
    if (code !== undefined) return code;
    if (e instanceof Deno.errors.BrokenPipe) return ExitCode.OK; // `kodama pods | head`: the reader is done
    // Ctrl-C, Esc in the picker: the user stopped it and knows; end quietly with 130, as fzf and kubectl do —
    // unless the interruption has more to say (`interrupted: removed pod …; kept PVCs …` plus a hint)
    if (
      e instanceof KodamaError && e.code === ExitCode.INTERRUPTED && !e.hint && !e.message.includes(":") &&
      !debugEnabled(args)
    ) {
      return ExitCode.INTERRUPTED;
    }
    // a local file or directory that is missing, unreadable or of the wrong kind: one line and its own code
    const local = e instanceof KodamaError ? undefined : await localProblem(e);
    console.error(`error: ${formatError(local ?? e)}`);
    if (debugEnabled(args) && e instanceof Error && e.stack) console.error(e.stack);
    return local ? local.code : e instanceof KodamaError ? e.code : ExitCode.FAILED;
  }
}

/**
 * A local file-system error nobody caught (src/base/fs/localfs.ts) in kodama's words, with its exit code (3 not
 * found, 4 permission denied, 2 the wrong kind); under kodama's config directory, the hint names the
 * variable that chose it.
 */
async function localProblem(e: unknown): Promise<KodamaError | undefined> {
  const { localFsError } = await import("../base/fs/localfs.ts");
  const first = localFsError(e);
  if (!first) return undefined;
  const dirVar = ["KODAMA_CONFIG_DIR", "KODAMA_HOME"].find((v) => Deno.env.get(v));
  const dir = dirVar && Deno.env.get(dirVar)!.replace(/\/+$/, "");
  return dir && first.message.includes(` ${dir}/`)
    ? localFsError(
      e,
      undefined,
      `kodama's config directory is ${dirVar}=${dir}: point it at a directory you can write`,
    )
    : first;
}

/**
 * What nothing else caught — a rejected promise nobody awaited, an exception thrown in a timer or an event
 * callback — ends the process in kodama's style (`error: …`, an indented hint, its exit code), never in
 * Deno's (`error: Uncaught (in promise) Error: …` and a stack trace).
 */
export function lastWords(argv: string[], args: string[]): void {
  const end = (reason: unknown): never => {
    if (COMPLETE.includes(argv[0])) Deno.exit(ExitCode.OK); // completion never prints an error
    if (reason instanceof Deno.errors.BrokenPipe) Deno.exit(ExitCode.OK);
    console.error(`error: ${formatError(reason)}`);
    if (debugEnabled(args) && reason instanceof Error) console.error(reason.stack);
    Deno.exit(reason instanceof KodamaError ? reason.code : ExitCode.FAILED);
  };
  globalThis.addEventListener("unhandledrejection", (ev) => {
    ev.preventDefault();
    end(ev.reason);
  });
  globalThis.addEventListener("error", (ev) => {
    ev.preventDefault();
    end(ev.error ?? ev.message);
  });
}
