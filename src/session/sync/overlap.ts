/**
 * One directory, one two-way session (issue 66.1): two sessions that both write into overlapping local
 * trees (the same directory, a parent or a child, compared as real paths) pass each other's agents' edits
 * back and forth — one session's edit lands in the other's workspace and is committed there. A start or
 * `sync start` whose directory overlaps another live session's two-way sync on this machine is refused
 * (exit 2) naming that session and the ways out. "Writes locally" is two-way and one-way-pod (the local
 * tree follows the pod); one-way-local never writes locally, so it may share a tree. The rule is pure
 * (`overlapOf`); `refuseOverlap` reads this machine's syncs ($KODAMA_HOME/sync/NAME/sync.json, live while
 * their daemon holds its claim).
 */
import { isWithin } from "../../config/confine.ts";
import { kodamaHome } from "../../config/paths.ts";
import { usageError } from "../../base/errors.ts";
import { join } from "../../base/fs/fspath.ts";
import type { SyncMode } from "./plan.ts";

export interface SyncedTree {
  name: string;
  namespace: string;
  /** the local root, as a real path */
  root: string;
  mode: SyncMode;
  /** its background sync is running (holds its claim) */
  live: boolean;
}

/** A mode that writes into the local tree. */
export const writesLocally = (mode: SyncMode | undefined) => (mode ?? "two-way") !== "one-way-local";

/** Case-folded on a file system that folds case (macOS, Windows): `fold` says so. */
function overlaps(a: string, b: string, fold: boolean): boolean {
  const [x, y] = fold ? [a.toLowerCase(), b.toLowerCase()] : [a, b];
  return isWithin(x, y) || isWithin(y, x);
}

/**
 * The other live session whose tree overlaps `root` when both write into it, else undefined. `self` (the
 * session being started or synced) never conflicts with itself.
 */
export function overlapOf(
  root: string,
  mode: SyncMode,
  self: { name: string; namespace: string },
  others: SyncedTree[],
  fold = false,
): SyncedTree | undefined {
  if (!writesLocally(mode)) return undefined;
  return others.find((o) =>
    o.live && writesLocally(o.mode) && !(o.name === self.name && o.namespace === self.namespace) &&
    overlaps(root, o.root, fold)
  );
}

/** This machine's recorded syncs (their roots as real paths; a root that is gone is left out). */
export async function syncedTrees(home = kodamaHome()): Promise<SyncedTree[]> {
  const { loadConfig } = await import("./store.ts");
  const { running } = await import("./column.ts");
  const out: SyncedTree[] = [];
  let entries: Deno.DirEntry[] = [];
  try {
    entries = [...Deno.readDirSync(join(home, "sync"))];
  } catch { /* no sync yet */ }
  for (const e of entries) {
    if (!e.isDirectory) continue;
    const c = await loadConfig(e.name, home);
    if (!c?.root) continue;
    const root = await Deno.realPath(c.root).catch(() => undefined);
    if (!root) continue;
    out.push({
      name: c.name,
      namespace: c.namespace,
      root,
      mode: c.mode ?? "two-way",
      live: running(c.name, home),
    });
  }
  return out;
}

/**
 * Refuse (exit 2) to sync `dir` two-way while another live session does: name it, and the ways out.
 * `allow` (`--allow-overlap`) lets it through.
 */
export async function refuseOverlap(
  dir: string,
  mode: SyncMode,
  self: { name: string; namespace: string },
  allow = false,
): Promise<void> {
  if (allow || !writesLocally(mode)) return;
  const root = await Deno.realPath(dir).catch(() => dir);
  const { hostPlatform } = await import("../../base/platform.ts");
  const fold = hostPlatform().os !== "linux";
  const other = overlapOf(root, mode, self, await syncedTrees(), fold);
  if (!other) return;
  const how = other.root === root ? "is" : isWithin(other.root, root) ? "is inside" : "holds";
  // a repository's sync (`SESSION@REPO`): named as it is typed
  const [session, repo] = other.name.split("@");
  const who = repo ? `session ${session} (repository ${repo})` : `session ${session}`;
  const stop = repo ? `kodama sync stop ${session} --repo ${repo}` : `kodama sync stop ${session}`;
  throw usageError(
    `${dir} ${how} the directory ${who} syncs ${other.mode} (${other.root}): both would write the same files`,
    `use --sync-mode one-way-local (the pod follows this tree), --no-sync, stop the other (${stop}), or --allow-overlap`,
  );
}
