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

/** What a door's caller may say: nothing else reaches `session pr` from there. */
export interface DoorPrInput {
  draft?: boolean;
  ready?: boolean;
  title?: unknown;
}

/**
 * `session pr NAME` for a door: the caller's draft/ready and title (doorTitle), the rest the user's — the
 * repository at `cwd` (already through the door: repoThroughDoor), the user's `forge.hosts` (checkDoorForge),
 * tokens from the server's environment or `agent keys`. Its result, or the feature's error.
 */
export async function doorPr(
  kube: KubeSessions,
  name: string,
  a: DoorPrInput,
  o: {
    cwd: string;
    hosts?: Record<string, ForgeHostConfig>;
    err: Sink;
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
    door: true,
    storedGithub: async () => await keys.getKey(await keys.defaultDeps(), "github"),
  });
  const r: PrResult = JSON.parse(out.text());
  // the forge's URL as a line (a page or a client shows it)
  return { ...r, url: safeLine(r.url) };
}
