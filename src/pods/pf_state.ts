/**
 * Running port-forwards on this machine: each kodama port-forward (foreground or --detach) keeps
 * `$KODAMA_HOME/port-forwards/ID.json` up to date (figures every second, written atomically) and removes
 * it when it ends; a background one logs to `ID.log` beside it. `list` reads them, skipping (and
 * removing) the files of processes that are gone; `stop` signals the process and waits for it to end.
 */
import { join } from "node:path";
import { kodamaHome } from "../config/paths.ts";
import { atomicWrite } from "../config/atomic.ts";
import type { ForwardRecord } from "./pf_stats.ts";

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
 * Field 22 of /proc/PID/stat (start time in clock ticks): with the pid it names one process for good.
 * Undefined when there is no such process, or only its zombie (a background forward whose parent is
 * gone waits for init to reap it; it is not running).
 */
export function procStartTime(pid: number): string | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // the command name (field 2) may hold spaces and parentheses: count fields after its last ')'
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[0] === "Z" || fields[0] === "X") return undefined;
    return fields[19];
  } catch {
    return undefined;
  }
}

/** Is the process that wrote `r` still running (and not a new process that reuses its pid)? */
export function isAlive(r: Pick<ForwardRecord, "pid" | "procStart">): boolean {
  if (Deno.build.os === "linux") {
    const now = procStartTime(r.pid);
    return now !== undefined && (!r.procStart || now === r.procStart);
  }
  try {
    Deno.kill(r.pid, "SIGCONT"); // no signal 0 in Deno; SIGCONT is harmless to a running process
    return true;
  } catch {
    return false;
  }
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
  for (const e of entries) {
    if (!e.isFile || !e.name.endsWith(".json")) continue;
    let r: ForwardRecord;
    try {
      r = JSON.parse(await Deno.readTextFile(join(dir, e.name)));
    } catch {
      continue; // being replaced right now, or not ours
    }
    if (typeof r?.pid !== "number" || typeof r.id !== "string") continue;
    if (!isAlive(r)) {
      await removeRecord(r.id, { log: true, home });
      continue;
    }
    out.push(r);
  }
  return out.sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.id.localeCompare(b.id));
}
