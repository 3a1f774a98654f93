/**
 * `session pr NAME` for a door (the MCP tool `session_pr`, the web UI's "Open pull request"): what a caller
 * may give, the rest the user's (prdoor.ts has the rules).
 */
import type { KubeSessions } from "../../kube/seam.ts";
import type { Sink } from "../../base/sink.ts";
import { safeLine } from "../../ui/color.ts";
import type { ForgeHostConfig } from "./forgeurl.ts";
import { prCommand, type PrResult } from "./pr.ts";
import { doorTitle } from "./prdoor.ts";
import type { RepoPrResult } from "./prrepos.ts";
import type { PathDoor } from "../../session/lifecycle/startio.ts";

/** What a door's caller may say: nothing else reaches `session pr` from there. */
export interface DoorPrInput {
  draft?: boolean;
  ready?: boolean;
  title?: unknown;
}

/**
 * `session pr NAME` for a door: the caller's draft/ready and title (doorTitle), the rest the user's — the
 * repository at `cwd` (already through the door: repoThroughDoor) or a session's recorded repositories (each
 * through the door), the user's `forge.hosts` (checkDoorForge), tokens from the server's environment or
 * `agent keys`. Its result (several repositories: each request in `requests`), or the feature's error.
 */
export async function doorPr(
  kube: KubeSessions,
  name: string,
  a: DoorPrInput,
  o: {
    cwd: string;
    hosts?: Record<string, ForgeHostConfig>;
    err: Sink;
    /** the caller's door: a session's recorded repositories must pass it too */
    door: PathDoor;
  },
): Promise<PrResult> {
  const [{ memorySink }, keys] = await Promise.all([
    import("../../base/sink.ts"),
    import("../credentials/keys.ts"),
  ]);
  const out = memorySink();
  await prCommand(kube, name, {
    draft: a.draft === true,
    ready: a.ready === true,
    title: doorTitle(a.title),
    output: "json",
    cwd: o.cwd,
    out,
    err: o.err,
    hosts: o.hosts,
    door: o.door,
    storedGithub: async () => await keys.getKey(await keys.defaultDeps(), "github"),
  });
  const r: PrResult | RepoPrResult[] = JSON.parse(out.text());
  if (!Array.isArray(r)) return { ...r, url: safeLine(r.url) };
  // several repositories: each request (the forge's URLs as lines: a page or a client shows them)
  const requests = r.map((x) => ({ ...x, url: safeLine(x.url) }));
  return { ...requests[0], requests };
}

/** What a door says of its result: its request; of several repositories, a line per repository. */
export const prLines = (r: PrResult): string =>
  r.requests
    ? r.requests.map((x) => `${x.repository}: ${x.url} (${x.action})\n`).join("")
    : `pull request #${r.number}: ${r.url} (${r.action})\n`;
