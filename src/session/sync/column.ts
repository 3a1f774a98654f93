/**
 * What `list` shows in its SYNC column, read from this machine's sync status file (sync runs per
 * machine): Active while the background sync runs, Error when it reports an error or died without
 * saying so, Inactive otherwise. Light on purpose: `list` loads it.
 */
import { isHeld } from "../../liveness.ts";
import { paths, type SyncConfig, type SyncStatus } from "./store.ts";

/** The name the background sync claims in its directory (src/liveness.ts: `daemon.lock`). */
export const DAEMON_CLAIM = "daemon";

/**
 * Is the background sync of session `name` running? Exactly when it holds its lock (src/liveness.ts):
 * never a pid check, which a reused pid fools (macOS, Windows).
 */
export function running(name: string, home?: string): boolean {
  return isHeld(paths(name, home).dir, DAEMON_CLAIM);
}

/** Active / Inactive / Error for a status and whether its process runs. */
export function columnOf(s: SyncStatus | undefined, alive: boolean): "Active" | "Inactive" | "Error" {
  if (!s || s.state === "stopped") return "Inactive";
  if (!alive) return "Error"; // it died without saying so
  return s.state === "error" ? "Error" : "Active";
}

export function syncColumn(name: string, namespace: string): "Active" | "Inactive" | "Error" {
  try {
    const p = paths(name);
    const c = JSON.parse(Deno.readTextFileSync(p.config)) as SyncConfig;
    if (c.namespace !== namespace) return "Inactive";
    return columnOf(JSON.parse(Deno.readTextFileSync(p.status)) as SyncStatus, running(name));
  } catch {
    return "Inactive";
  }
}
