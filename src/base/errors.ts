import { escapeControl } from "./text/escape.ts";
/**
 * The one error type every layer throws for conditions a user can act on.
 * `main.ts` prints `message` (and `hint` on a second line) and exits with `code`;
 * a stack trace is shown only with `--log-level debug`.
 */
export const ExitCode = {
  OK: 0,
  /** a command failed remotely (fan-out: any pod failed) */
  FAILED: 1,
  /** usage error: bad flag, bad input file, ambiguous choice without a TTY */
  USAGE: 2,
  /** not found / nothing matched */
  NOT_FOUND: 3,
  /** forbidden or authentication failure */
  FORBIDDEN: 4,
  /** timeout */
  TIMEOUT: 5,
  /** interrupted (Ctrl-C) */
  INTERRUPTED: 130,
} as const;
export type ExitCode = typeof ExitCode[keyof typeof ExitCode];

export class KodamaError extends Error {
  override name = "KodamaError";
  constructor(
    message: string,
    public readonly code: number = ExitCode.FAILED,
    public readonly hint?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A config file whose value breaks its key's rule (exit 2): the config commands that show or make the fix
 * (`kodama config set KEY VALUE`) still run; any other problem with the file (unreadable, a directory, bad
 * YAML) stops them too.
 */
export class InvalidConfigValue extends KodamaError {
  override name = "InvalidConfigValue";
}

/**
 * An answer, not a cut stream: bad input, nothing there, or refused (RBAC, a bad credential). A follow that
 * reconnects (`kodama logs -f`, `agent logs -f`) ends on one of these and tries again after anything else.
 */
export function isRefusal(e: unknown): boolean {
  if (!(e instanceof KodamaError)) return false;
  return e.code === ExitCode.USAGE || e.code === ExitCode.NOT_FOUND || e.code === ExitCode.FORBIDDEN;
}

export function usageError(message: string, hint?: string): KodamaError {
  return new KodamaError(message, ExitCode.USAGE, hint);
}
export function notFound(message: string, hint?: string): KodamaError {
  return new KodamaError(message, ExitCode.NOT_FOUND, hint);
}
export function timeoutError(message: string, hint?: string): KodamaError {
  return new KodamaError(message, ExitCode.TIMEOUT, hint);
}
export function interrupted(message = "interrupted"): KodamaError {
  return new KodamaError(message, ExitCode.INTERRUPTED);
}

/** Format a caught value for a person: KodamaError message + hint, or the first line of anything else. */
/**
 * An error as kodama prints it: its message (and hint), with control characters made visible
 * (escape.ts): a workflow name, a pod's output or a file name inside a message cannot rewrite the
 * terminal.
 */
export function formatError(e: unknown): string {
  const safe = (s: string) => escapeControl(s, { newlines: true });
  if (e instanceof KodamaError) return e.hint ? `${safe(e.message)}\n  ${safe(e.hint)}` : safe(e.message);
  if (e instanceof Error) return escapeControl(e.message.split("\n")[0]);
  return escapeControl(String(e));
}
