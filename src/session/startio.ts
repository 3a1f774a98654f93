/** What a start or resume writes to and where it runs: shared by start, ready and lifecycle. */
import type { Sink } from "../base/sink.ts";

export interface StartIO {
  out: Sink;
  err: Sink;
  /** stderr is a terminal: animated phases instead of one line per phase */
  tty: boolean;
  /** where relative paths and the repo are found (default: the current directory) */
  cwd?: string;
  /** the repository root for env.dotenvFiles and editor.configDir (default: the git root, else cwd) */
  repoRoot?: string;
  /** a caller's cancellation (the MCP server's): it ends the start as Ctrl-C does, cleaning up */
  signal?: AbortSignal;
}
