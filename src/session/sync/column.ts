/**
 * What `list` shows in its SYNC column, read from this machine's sync status file (sync runs per
 * machine): Active while the background sync runs, Paused while it waits for a session that stopped
 * itself (idle stop) to run again, Error when it reports an error or died without saying so, Inactive
 * otherwise. Light on purpose: `list` and the web UI's session list load it.
 */
import { join } from "../../base/fs/fspath.ts";
import { kodamaHome } from "../../config/paths.ts";
import { isHeld } from "../../base/proc/liveness.ts";
import { paths, repoOf, type SyncConfig, type SyncStatus, unitsOf } from "./store.ts";
import { onAbort } from "../../base/proc/timer.ts";

/** The name the background sync claims in its directory (src/base/proc/liveness.ts: `daemon.lock`). */
export const DAEMON_CLAIM = "daemon";

/**
 * Is the background sync of session `name` running? Exactly when it holds its lock (src/base/proc/liveness.ts):
 * never a pid check, which a reused pid fools (macOS, Windows).
 */
export function running(name: string, home?: string): boolean {
  return isHeld(paths(name, home).dir, DAEMON_CLAIM);
}

/** Active / Paused / Inactive / Error for a status and whether its process runs. */
export function columnOf(
  s: SyncStatus | undefined,
  alive: boolean,
): "Active" | "Paused" | "Inactive" | "Error" {
  if (!s || s.state === "stopped") return "Inactive";
  if (!alive) return "Error"; // it died without saying so
  return s.state === "error" ? "Error" : s.state === "paused" ? "Paused" : "Active";
}

/**
 * The SYNC column: Active / Paused / Inactive / Error, with the number of conflicts when there are any. A
 * session that syncs each repository on its own (`NAME@REPO`, store.ts): each one's, the same word once
 * ("Active"), else each repository's ("api Active, web Error").
 */
export function syncColumn(name: string, namespace: string): string {
  const keys = unitsOf(name, undefined, true).filter((k) => k !== name);
  if (!keys.length) return unitColumn(name, namespace);
  const cols = keys.map((k) => ({ repo: repoOf(k)!, col: unitColumn(k, namespace) }));
  const words = new Set(cols.map((c) => c.col));
  if (words.size === 1) return cols[0].col;
  return cols.map((c) => `${c.repo} ${c.col}`).join(", ");
}

function unitColumn(name: string, namespace: string): string {
  try {
    const p = paths(name);
    const c = JSON.parse(Deno.readTextFileSync(p.config)) as SyncConfig;
    if (c.namespace !== namespace) return "Inactive";
    const s = JSON.parse(Deno.readTextFileSync(p.status)) as SyncStatus;
    const n = s.conflicts?.length ?? 0;
    return columnOf(s, running(name)) + (n ? ` (${n} conflict${n === 1 ? "" : "s"})` : "");
  } catch {
    return "Inactive";
  }
}

/** `get`'s Sync detail: mode, the last change's direction, pending each way, conflicts (each repository's). */
export function syncDetail(name: string, namespace: string): string | undefined {
  const keys = unitsOf(name, undefined, true).filter((k) => k !== name);
  if (!keys.length) return unitDetail(name, namespace);
  const each = keys.flatMap((k) => {
    const d = unitDetail(k, namespace);
    return d ? [`${repoOf(k)}: ${d}`] : [];
  });
  return each.length ? each.join("; ") : undefined;
}

function unitDetail(name: string, namespace: string): string | undefined {
  try {
    const p = paths(name);
    const c = JSON.parse(Deno.readTextFileSync(p.config)) as SyncConfig;
    if (c.namespace !== namespace) return undefined;
    const s = JSON.parse(Deno.readTextFileSync(p.status)) as SyncStatus;
    return `${c.mode ?? "two-way"}, last change ${s.lastDirection ?? "none"}, pending ${
      s.pendingToPod ?? s.pending ?? 0
    } to the pod / ${s.pendingToLocal ?? 0} back, ${s.conflicts?.length ?? 0} conflict(s)`;
  } catch {
    return undefined;
  }
}

/**
 * Call `onChange` whenever a sync status file of this machine changes (conflicts found or resolved, an
 * error, the daemon starting or stopping), until `signal` aborts: file events, not polling.
 */
export async function watchSyncStatus(onChange: () => void, signal: AbortSignal): Promise<void> {
  const dir = join(kodamaHome(), "sync");
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 }).catch(() => {});
  let w: Deno.FsWatcher;
  try {
    w = Deno.watchFs(dir, { recursive: true });
  } catch {
    return; // no file events here: the list still follows the cluster
  }
  onAbort(signal, () => w.close()); // also when it aborted while the directory was made
  try {
    for await (const ev of w) {
      if (ev.paths.some((p) => /status\.json$|daemon/.test(p))) onChange();
    }
  } catch { /* closed */ }
}
