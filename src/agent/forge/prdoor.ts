/**
 * The rules of `session pr` through a door (the MCP tool `session_pr`, the web UI's "Open pull request";
 * doorpr.ts calls it), and its session check, beside pr.ts.
 *
 * A door's caller (a coding agent over MCP, a page holding the UI's token) names only the session, draft or
 * ready, and a title; the token, the remote, the forge's host and its API are the user's. The remote is read
 * from the repository's config, which such a caller may be able to write (an agent editing files in the
 * project): so through a door the forge must be one the user named in `forge.hosts` of ~/.kodama/config.yaml
 * — a host's name alone (`github.example`) is not enough there — and its API is what the user's entry says.
 * Anything else is refused (exit 4) before a token is read or a request is made.
 */
import type { V1Pod } from "@kubernetes/client-node";
import type { KubeIdentity, KubeObjects } from "../../kube/seam.ts";
import { ExitCode, KodamaError } from "../../base/errors.ts";
import { notAttachable } from "../../session/access/attach.ts";
import { requireSession } from "../../session/state/cluster.ts";
import type { ForgeHostConfig, ForgeRepo } from "./forgeurl.ts";

/** The longest title a door may give (GitHub allows 256). */
export const DOOR_TITLE_MAX = 200;

/**
 * A door's title as a line: control characters (C0, DEL, C1), bidirectional overrides and line or paragraph
 * separators become spaces, runs of spaces one, cut at DOOR_TITLE_MAX characters (whole code points); empty
 * is undefined (the default title). Pure.
 */
export function doorTitle(t: unknown): string | undefined {
  if (typeof t !== "string") return undefined;
  // deno-lint-ignore no-control-regex
  const line = t.replace(/[\x00-\x1f\x7f-\x9f\u200e\u200f\u2028-\u202e\u2066-\u2069]/g, " ")
    .replace(/\s+/g, " ").trim();
  const cut = [...line].slice(0, DOOR_TITLE_MAX).join("").trim();
  return cut || undefined;
}

/**
 * Through a door, the forge of the remote must be a host of the user's `forge.hosts` (the same key forgeOf
 * matched: `host:port` or `host`), and its API https unless the user's entry names the API: exit 4 otherwise,
 * naming the host and where the user names it.
 */
export function checkDoorForge(f: ForgeRepo, hosts: Record<string, ForgeHostConfig> = {}): void {
  const bare = f.host.replace(/:\d+$/, "");
  const entry = Object.hasOwn(hosts, f.host)
    ? hosts[f.host]
    : Object.hasOwn(hosts, bare)
    ? hosts[bare]
    : undefined;
  if (entry) {
    // an http:// remote would send the token in clear to the API it implies: only where the user chose that API
    if (f.apiUrl.startsWith("https://") || entry.apiUrl) return;
    throw new KodamaError(
      `session pr: the remote names ${f.host} over http://: through MCP or the web UI the token goes only over ` +
        `https, or to the apiUrl you gave in forge.hosts; nothing was pushed`,
      ExitCode.FORBIDDEN,
      `check the remote (git remote -v); an API on http is yours to name: forge: {hosts: {"${f.host}": ` +
        `{type: ${f.type}, apiUrl: http://…}}}, or run kodama session pr in a terminal`,
    );
  }
  throw new KodamaError(
    `session pr: ${f.host} is not a forge you named in forge.hosts: through MCP or the web UI a pull request ` +
      `goes only to those (the repository's remote is not yours alone to choose there); nothing was pushed`,
    ExitCode.FORBIDDEN,
    `check the remote (git remote -v): if it is yours, name its host in ~/.kodama/config.yaml: ` +
      `forge: {hosts: {"${f.host}": {type: ${f.type}}}}, or run kodama session pr in a terminal`,
  );
}

/**
 * The session's running pod for `session pr`. A stopped session's branch is on its workspace volume, which
 * only its pod reads (session fetch reads it the same way): exit 1 naming the command to run first.
 */
export async function prPod(
  kube: KubeObjects & KubeIdentity,
  namespace: string,
  name: string,
): Promise<V1Pod> {
  const v = await requireSession(kube, namespace, name);
  if (v.status === "Stopped" && !v.restart) {
    throw new KodamaError(
      `session pr: session ${name} is stopped: its branch is on its workspace, read through its pod; nothing was pushed`,
      ExitCode.FAILED,
      `resume it first: kodama resume ${name} && kodama session pr ${name}`,
    );
  }
  const why = notAttachable(v);
  if (why) throw why;
  return v.pod!;
}
