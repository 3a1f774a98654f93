/** What a start or resume writes to and where it runs: shared by start, ready and lifecycle. */
import type { Sink } from "../../base/sink.ts";
import type { Grant } from "../../base/fs/gitpaths.ts";

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
  /**
   * A door (src/config/doors.ts) when the values come from an MCP client or a web page, not the person:
   * the env files, the sync root (given or the default) and a local repository to send must pass it.
   */
  door?: PathDoor;
}

/**
 * What a door checks a local path with: where it really leads, or a refusal (exit 4); `grant` names the
 * directory a refusal should say to grant, and why (src/base/fs/gitpaths.ts).
 */
export interface PathDoor {
  /** who is behind the door, for messages: "an MCP client", "the web UI" */
  readonly who?: string;
  path(p: string, what: string, base?: string, grant?: Grant): Promise<string>;
}
