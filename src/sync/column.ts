/**
 * What `list` shows in its SYNC column, read from this machine's sync status file (sync runs per
 * machine): Active while the background sync runs, Error when it reports an error or died without
 * saying so, Inactive otherwise. Light on purpose: `list` loads it.
 */
import { isAlive } from "../pods/pf_state.ts";
import { paths, type SyncConfig, type SyncStatus } from "./store.ts";

/** Is the background process of this status running? */
export function running(s: SyncStatus | undefined): boolean {
  return !!s?.pid && s.state !== "stopped" && isAlive({ pid: s.pid, procStart: s.procStart } as never);
}

/** Active / Inactive / Error for a status (pure but for the process check). */
export function columnOf(s: SyncStatus | undefined): "Active" | "Inactive" | "Error" {
  if (!s || s.state === "stopped") return "Inactive";
  if (!running(s)) return "Error"; // it died without saying so
  return s.state === "error" ? "Error" : "Active";
}

export function syncColumn(name: string, namespace: string): "Active" | "Inactive" | "Error" {
  try {
    const p = paths(name);
    const c = JSON.parse(Deno.readTextFileSync(p.config)) as SyncConfig;
    if (c.namespace !== namespace) return "Inactive";
    return columnOf(JSON.parse(Deno.readTextFileSync(p.status)) as SyncStatus);
  } catch {
    return "Inactive";
  }
}
