/**
 * Process groups of pod processes. Every process the runtime starts is spawned `detached`
 * (setsid: its own session and process group), so signalling `-pgid` reaches the whole tree,
 * including background children. PTY children (own session) are registered as extra groups.
 */
import { type ChildProcess, spawn, type SpawnOptions } from "node:child_process";
import fs from "node:fs";

const groups = new Set<number>();

// Safety net: if the server process exits without stopAll(), take every pod process with it.
globalThis.addEventListener("unload", () => {
  for (const g of groups) {
    try {
      process.kill(-g, "SIGKILL");
    } catch { /* gone */ }
  }
});

/** Spawn `file args` in a new session/process group and remember the group. */
export function spawnGroup(file: string, args: string[], opts: SpawnOptions): ChildProcess {
  const child = spawn(file, args, { ...opts, detached: true });
  if (child.pid) groups.add(child.pid);
  return child;
}

/** Track an extra process group (e.g. the child a PTY helper forked into its own session). */
export function trackGroup(pgid: number): void {
  groups.add(pgid);
}

export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch { /* gone */ }
}

/** True while any non-zombie process of the group exists. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  // kill(0) also succeeds for zombies nobody reaped (PID 1 here may not reap); confirm via /proc.
  return liveProcs().some((p) => p.pgrp === pgid || p.sid === pgid);
}

interface ProcInfo {
  pid: number;
  ppid: number;
  pgrp: number;
  sid: number;
}

function liveProcs(): ProcInfo[] {
  const out: ProcInfo[] = [];
  let names: string[];
  try {
    names = fs.readdirSync("/proc");
  } catch {
    return out;
  }
  for (const n of names) {
    if (!/^\d+$/.test(n)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${n}/stat`, "utf8");
    } catch {
      continue;
    }
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (rest[0] === "Z" || rest[0] === "X") continue;
    out.push({ pid: Number(n), ppid: Number(rest[1]), pgrp: Number(rest[2]), sid: Number(rest[3]) });
  }
  return out;
}

/** PIDs of every live process in a tracked group/session (or descended from one). Prunes empty groups. */
export function livePids(only?: Iterable<number>): number[] {
  const want = new Set(only ?? groups);
  const procs = liveProcs();
  const found = new Set<number>();
  const seen = new Set<number>();
  for (const p of procs) {
    if (want.has(p.pgrp) || want.has(p.sid)) {
      found.add(p.pid);
      seen.add(p.pgrp);
      seen.add(p.sid);
    }
  }
  // descendants that moved to another group (e.g. `setsid` inside a pod)
  let grew = true;
  while (grew) {
    grew = false;
    for (const p of procs) {
      if (!found.has(p.pid) && found.has(p.ppid)) {
        found.add(p.pid);
        grew = true;
      }
    }
  }
  if (!only) for (const g of groups) if (!seen.has(g)) groups.delete(g);
  return [...found].sort((a, b) => a - b);
}

export function allGroups(): number[] {
  return [...groups];
}

export function forgetGroup(pgid: number): void {
  groups.delete(pgid);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * SIGTERM the groups, SIGKILL whatever is left after `graceMs`, resolve when none is left
 * (processes that escaped their group but descend from it are killed too).
 */
export async function terminateGroups(pgids: number[], graceMs: number): Promise<void> {
  if (pgids.length === 0) return;
  const alive = () => {
    const maybe = pgids.filter((g) => quickAlive(g));
    return maybe.length === 0 ? maybe : livePids(maybe);
  };
  if (graceMs > 0) {
    for (const g of pgids) signalGroup(g, "SIGTERM");
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && alive().length > 0) await sleep(Math.min(50, graceMs));
  }
  for (let i = 0; i < 40; i++) {
    const rest = livePids(pgids);
    if (rest.length === 0) break;
    for (const g of pgids) signalGroup(g, "SIGKILL");
    for (const pid of rest) {
      try {
        process.kill(pid, "SIGKILL");
      } catch { /* gone */ }
    }
    await sleep(i < 5 ? 10 : 50);
  }
  for (const g of pgids) groups.delete(g);
}

function quickAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}
