/**
 * The runtime's process table. Every pod process is started in its own session/process group
 * (`setsid`), so a group signal reaches background children too, and carries the runtime's
 * token in its environment (`KODAMA_TEST_RUNTIME`), inherited by everything it starts. Ownership
 * is decided by that token, never by a remembered pid alone: pids are reused, and several test
 * servers share this machine (and, under `deno test --parallel`, this OS process). Pids here are this
 * machine's: a container in a PID namespace of its own (podns.ts) has other numbers for its processes
 * inside, but the table sees, groups and signals them from outside like any other.
 */
import { type ChildProcess, spawn, type SpawnOptions } from "node:child_process";
import fs from "node:fs";
import { hostPython } from "./python.ts";

export const TOKEN_ENV = "KODAMA_TEST_RUNTIME";

/** util-linux `setsid`, if this machine has it (execs in place: same pid, a new session and group) */
export const SETSID = ["/usr/bin/setsid", "/bin/setsid"].find((p) => fs.existsSync(p));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface ProcInfo {
  pid: number;
  ppid: number;
  pgrp: number;
  sid: number;
}

/** Non-zombie processes from /proc. */
function scan(): ProcInfo[] {
  const out: ProcInfo[] = [];
  let names: string[];
  try {
    names = fs.readdirSync("/proc");
  } catch {
    return out;
  }
  for (const n of names) {
    const c = n.charCodeAt(0);
    if (c < 48 || c > 57) continue;
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

function hasToken(pid: number, needle: string): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/environ`, "latin1").includes(needle);
  } catch {
    return false;
  }
}

// Safety net: if the isolate ends without stopAll(), take its live pod process groups with it.
const allLeaders = new Set<ChildProcess>();
globalThis.addEventListener("unload", () => {
  for (const c of allLeaders) {
    try {
      if (c.pid && c.exitCode === null && c.signalCode === null) process.kill(-c.pid, "SIGKILL");
    } catch { /* gone */ }
  }
});

/**
 * The watchdog: a small Python process, in its own session and deaf to SIGINT/SIGTERM/SIGHUP,
 * that blocks on a pipe from this process. When the pipe closes — normal stop or the server being
 * SIGKILLed — it kills every process that carries the runtime's token. Pod processes therefore
 * never outlive the server, however it ends.
 */
const WATCHDOG = `
import os, signal, sys
for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    signal.signal(s, signal.SIG_IGN)
needle = ("${TOKEN_ENV}=" + sys.argv[1] + "\\0").encode()
sys.stdin.buffer.read()
me = os.getpid()
for _ in range(5):
    found = 0
    for n in os.listdir("/proc"):
        if not n.isdigit() or int(n) == me:
            continue
        try:
            with open("/proc/%s/environ" % n, "rb") as f:
                if needle in f.read():
                    os.kill(int(n), signal.SIGKILL)
                    found += 1
        except Exception:
            pass
    if not found:
        break
`;

export class ProcessTable {
  readonly token = crypto.randomUUID();
  private watchdog?: ChildProcess;
  private readonly needle = `${TOKEN_ENV}=${this.token}\0`;
  /** our processes that are runtime plumbing, not pod processes (the pods' namespace holders) */
  readonly infra = new Set<number>();
  /** group leaders that are our (unreaped) children: their ids cannot have been reused */
  private leaders = new Map<number, ChildProcess>();
  /** process groups we created (leaders we spawned, PTY children's sessions) */
  private groups = new GroupSet({ keep: (g) => this.leaders.has(g) });

  /** The environment for a pod process: `env` plus the ownership token. */
  env(env: Record<string, string>): Record<string, string> {
    return { ...env, [TOKEN_ENV]: this.token };
  }

  /**
   * Spawn `file args` as a new session/process group leader. `setsid(1)` execs in place (same pid):
   * much cheaper than `detached: true`, which makes Deno fork the whole runtime instead of using
   * posix_spawn (100 concurrent spawns: ~270 ms vs ~490 ms).
   */
  spawn(file: string, args: string[], opts: SpawnOptions & { env: Record<string, string> }): ChildProcess {
    this.startWatchdog();
    const o = { ...opts, env: this.env(opts.env) };
    const child = SETSID ? spawn(SETSID, [file, ...args], o) : spawn(file, args, { ...o, detached: true });
    const pid = child.pid;
    if (pid) {
      this.groups.add(pid);
      this.leaders.set(pid, child);
      allLeaders.add(child);
      child.on("exit", () => {
        this.leaders.delete(pid);
        allLeaders.delete(child);
      });
    }
    return child;
  }

  private startWatchdog(): void {
    if (this.watchdog) return;
    const python = hostPython();
    if (!python) return;
    const args = ["-c", WATCHDOG, this.token];
    const w = SETSID
      ? spawn(SETSID, [python, ...args], { stdio: ["pipe", "ignore", "ignore"] })
      : spawn(python, args, { stdio: ["pipe", "ignore", "ignore"], detached: true });
    w.on("error", () => {});
    w.stdin?.on("error", () => {});
    w.unref();
    (w.stdin as unknown as { unref?: () => void })?.unref?.();
    this.watchdog = w;
  }

  /** Let the watchdog sweep and exit (after a stop, when nothing of ours should be left). */
  releaseWatchdog(): void {
    this.watchdog?.stdin?.end();
    this.watchdog = undefined;
  }

  /** A group we did not spawn ourselves (the session a PTY helper's child leads). */
  track(pgid: number): void {
    this.groups.add(pgid);
  }

  /** Our live processes, optionally only those in (or descended from) the given groups. */
  owned(only?: Iterable<number>): number[] {
    const want = only ? new Set(only) : undefined;
    const procs = scan();
    const found = new Set<number>();
    for (const p of procs) {
      if (want && !want.has(p.pgrp) && !want.has(p.sid)) continue;
      if (hasToken(p.pid, this.needle)) found.add(p.pid);
    }
    if (want) {
      // descendants that left the group (e.g. `setsid` inside a pod) but still carry our token
      for (let grew = true; grew;) {
        grew = false;
        for (const p of procs) {
          if (!found.has(p.pid) && found.has(p.ppid) && hasToken(p.pid, this.needle)) {
            found.add(p.pid);
            grew = true;
          }
        }
      }
    }
    return [...found].sort((a, b) => a - b);
  }

  /** Signal groups: by group id while we hold the leader, otherwise pid by pid after an ownership check. */
  signal(pgids: Iterable<number>, sig: NodeJS.Signals): void {
    const rest: number[] = [];
    for (const g of pgids) {
      if (this.leaders.has(g)) {
        try {
          process.kill(-g, sig);
        } catch { /* gone */ }
      } else rest.push(g);
    }
    if (rest.length) { for (const pid of this.owned(rest)) this.kill(pid, sig); }
  }

  /** Signal single processes of ours (checked by their token: a remembered pid may have been reused). */
  signalPids(pids: Iterable<number>, sig: NodeJS.Signals): void {
    for (const pid of pids) if (hasToken(pid, this.needle)) this.kill(pid, sig);
  }

  private kill(pid: number, sig: NodeJS.Signals): void {
    try {
      process.kill(pid, sig);
    } catch { /* gone */ }
  }

  /**
   * SIGTERM the groups (or only `termOnly`), SIGKILL what is left after `graceMs` (0 = at once); resolves
   * when none of their processes (nor escaped descendants) is left.
   */
  async terminate(pgids: number[], graceMs: number, o: { termOnly?: number[] } = {}): Promise<void> {
    if (pgids.length === 0) return;
    if (graceMs > 0) {
      // `termOnly`: the TERM goes to these processes alone (a kubelet signals a container's PID 1 only)
      if (o.termOnly) this.signalPids(o.termOnly, "SIGTERM");
      else this.signal(pgids, "SIGTERM");
      const deadline = Date.now() + graceMs;
      while (Date.now() < deadline && this.anyAlive(pgids)) await sleep(Math.min(50, graceMs));
    }
    for (let i = 0; i < 40; i++) {
      this.signal(pgids, "SIGKILL");
      await sleep(i < 5 ? 5 : 50);
      const rest = this.owned(pgids);
      if (rest.length === 0) break;
      for (const pid of rest) this.kill(pid, "SIGKILL");
    }
    for (const g of pgids) if (!this.leaders.has(g)) this.groups.delete(g);
  }

  private anyAlive(pgids: number[]): boolean {
    if (pgids.some((g) => this.leaders.has(g))) return true;
    return this.owned(pgids).length > 0;
  }

  /** Kill every process of this runtime. */
  async killAll(): Promise<void> {
    for (let i = 0; i < 40; i++) {
      this.signal([...this.leaders.keys()], "SIGKILL");
      const rest = this.owned();
      if (rest.length === 0 && this.leaders.size === 0) break;
      for (const pid of rest) this.kill(pid, "SIGKILL");
      await sleep(i < 5 ? 5 : 50);
    }
    this.groups.clear();
    this.releaseWatchdog();
  }
}

/**
 * A set of process-group ids that forgets the dead ones as it grows: `add` scans /proc (via
 * `liveGroupIds`) only once the set has doubled since the last scan, so adding stays O(1) amortized
 * (a scan on every add made exec O(n) in live groups). Ids for which `keep` is true are never
 * forgotten (e.g. leaders we have not reaped: their ids cannot have been reused).
 */
export class GroupSet {
  private ids = new Set<number>();
  private pruneAt: number;
  private readonly min: number;
  private readonly keep: (pgid: number) => boolean;
  private readonly live: () => Set<number>;

  constructor(
    o: { keep?: (pgid: number) => boolean; liveGroupIds?: () => Set<number>; min?: number } = {},
  ) {
    this.min = o.min ?? 256;
    this.pruneAt = this.min;
    this.keep = o.keep ?? (() => false);
    this.live = o.liveGroupIds ?? liveGroupIds;
  }

  get size(): number {
    return this.ids.size;
  }

  add(pgid: number): void {
    this.prune();
    this.ids.add(pgid);
  }

  delete(pgid: number): boolean {
    return this.ids.delete(pgid);
  }

  has(pgid: number): boolean {
    return this.ids.has(pgid);
  }

  values(): IterableIterator<number> {
    return this.ids.values();
  }

  [Symbol.iterator](): IterableIterator<number> {
    return this.ids.values();
  }

  clear(): void {
    this.ids.clear();
  }

  /** Forget groups whose processes are all gone, once the set has doubled since the last scan. */
  private prune(): void {
    if (this.ids.size < this.pruneAt) return;
    const live = this.live();
    for (const g of this.ids) if (!live.has(g) && !this.keep(g)) this.ids.delete(g);
    this.pruneAt = Math.max(this.min, 2 * this.ids.size);
  }
}

/** Ids of every process group and session that still has a live process. */
export function liveGroupIds(): Set<number> {
  return new Set(scan().flatMap((p) => [p.pgrp, p.sid]));
}
