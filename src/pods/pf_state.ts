/**
 * Running port-forwards on this machine: each kodama port-forward (foreground or --detach) keeps
 * `$KODAMA_HOME/port-forwards/ID.json` up to date (figures every second, written atomically) and removes
 * it when it ends; a background one logs to `ID.log` beside it. `list` reads them, skipping (and
 * removing) the files of processes that are gone; `stop` signals the process and waits for it to end.
 * A forward is alive exactly while it holds `ID.lock` there (src/base/proc/liveness.ts).
 */
import { join } from "node:path";
import { kodamaHome } from "../config/paths.ts";
import { atomicWrite } from "../config/atomic.ts";
import type { ForwardRecord } from "./pf_stats.ts";
import { forgetClaim, isHeld, sweepClaims } from "../base/proc/liveness.ts";

export function forwardsDir(home = kodamaHome()): string {
  return join(home, "port-forwards");
}

const ID_CHARS = "abcdefghijkmnpqrstuvwxyz23456789";

/** A short id that reads aloud: 6 characters without look-alikes (`k3m9xq`). */
export function newForwardId(): string {
  const b = crypto.getRandomValues(new Uint8Array(6));
  return [...b].map((x) => ID_CHARS[x % ID_CHARS.length]).join("");
}

/**
 * Is the forward that wrote `r` still running? Exactly while it holds its claim on its id in
 * forwardsDir (src/base/proc/liveness.ts): a pid alone is fooled by reuse, and Windows cannot probe one.
 */
export function isAlive(r: Pick<ForwardRecord, "id">, home?: string): boolean {
  return isHeld(forwardsDir(home), r.id);
}

export function recordPath(id: string, home?: string): string {
  return join(forwardsDir(home), `${id}.json`);
}

export function logPath(id: string, home?: string): string {
  return join(forwardsDir(home), `${id}.log`);
}

export async function writeRecord(r: ForwardRecord, home?: string): Promise<void> {
  await atomicWrite(recordPath(r.id, home), JSON.stringify(r, null, 2) + "\n");
}

export async function removeRecord(id: string, o: { log?: boolean; home?: string } = {}): Promise<void> {
  await Deno.remove(recordPath(id, o.home)).catch(() => {});
  forgetClaim(forwardsDir(o.home), id); // a dead forward's lock files (nothing while it runs)
  if (o.log) await Deno.remove(logPath(id, o.home)).catch(() => {});
}

/** The records of running forwards, oldest first; files of processes that are gone are removed. */
export async function readRecords(home?: string): Promise<ForwardRecord[]> {
  const dir = forwardsDir(home);
  const out: ForwardRecord[] = [];
  let entries: Deno.DirEntry[] = [];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  sweepClaims(dir); // lock files of forwards that crashed before they wrote a record
  for (const e of entries) {
    if (!e.isFile || !e.name.endsWith(".json")) continue;
    let r: ForwardRecord;
    try {
      r = JSON.parse(await Deno.readTextFile(join(dir, e.name)));
    } catch {
      continue; // being replaced right now, or not ours
    }
    if (typeof r?.pid !== "number" || typeof r.id !== "string") continue;
    if (!isAlive(r, home)) {
      await removeRecord(r.id, { log: true, home });
      continue;
    }
    out.push(r);
  }
  return out.sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.id.localeCompare(b.id));
}
