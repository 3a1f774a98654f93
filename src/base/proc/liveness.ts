/**
 * Is a background process of kodama's (a sync, a port-forward) still running — without trusting pids.
 *
 * A pid alone names a process only until it exits: on macOS and Windows there is no /proc start time to
 * tell a reused pid from ours, and Windows cannot even probe one (`Deno.kill(pid, "SIGCONT")` throws).
 * So each background process **claims** its name: it holds an exclusive lock on `STEM.lock` for as long
 * as it lives, and another on `STEM.PID.lock`, a file whose name carries its pid. The OS drops both
 * locks when the process ends, however it ends (SIGKILL, a crash, TerminateProcess), so:
 *
 * - it is alive exactly when `STEM.lock` is held (probed with a shared, non-blocking lock);
 * - its pid is the one in the name of a `STEM.PID.lock` that is held — made under a temporary name,
 *   locked, then renamed, so a name never appears unlocked while its process lives;
 * - it is signalled only while that lock is held: a pid that a dead holder left behind, now another
 *   program's, is never signalled.
 *
 * Stopping: SIGTERM where that lets a process clean up; on Windows (where SIGTERM is TerminateProcess)
 * a `STEM.stop` file the holder polls for, then SIGKILL after a grace period in both cases.
 * Deno's FsFile.lock is flock(2) on Unix and LockFileEx on Windows.
 */
import { hostPlatform, type Platform, signals } from "../platform.ts";

export interface Claim {
  /** aborted when another process asks this one to stop (the stop file), or after release() */
  readonly stopRequested: AbortSignal;
  /** drop the locks and remove the files (also happens, without the removal, when the process ends) */
  release(): void;
}

const STOP_POLL_MS = 250;

function join(dir: string, name: string): string {
  return dir.endsWith("/") || dir.endsWith("\\") ? dir + name : `${dir}/${name}`;
}

/** Take an exclusive lock, retrying briefly: a reader's shared probe holds it for a moment. */
async function lockSoon(f: Deno.FsFile, tries = 40): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (await f.tryLock(true)) return true;
    await new Promise((r) => setTimeout(r, 5));
  }
  return false;
}

/**
 * Claim `dir/stem` for this process. Undefined when another live process holds it (one sync per
 * session, one process per forward id).
 */
export async function claim(dir: string, stem: string, pid: number = Deno.pid): Promise<Claim | undefined> {
  Deno.mkdirSync(dir, { recursive: true });
  const mainPath = join(dir, `${stem}.lock`);
  let main: Deno.FsFile | undefined;
  // the lock counts only on the file that is `STEM.lock` now: a holder's release() (or forgetClaim) may
  // have removed the one we opened while we waited for its lock; then open the new one again
  for (let tries = 0; !main; tries++) {
    const f = Deno.openSync(mainPath, { read: true, write: true, create: true });
    if (!(await lockSoon(f))) {
      f.close();
      return undefined;
    }
    if (sameFile(f, mainPath) !== false || tries >= 20) main = f;
    else f.close();
  }
  // the holder's pid, in a name that is only ever seen locked
  for (const e of Deno.readDirSync(dir)) {
    if (e.name.startsWith(`${stem}.`) && /^\.\d+\.lock(\.tmp)?$/.test(e.name.slice(stem.length))) {
      try {
        Deno.removeSync(join(dir, e.name)); // earlier holders' (we hold the main lock: they are gone)
      } catch { /* Windows: still open by a reader for a moment; harmless, it is not locked */ }
    }
  }
  const tmp = join(dir, `${stem}.${pid}.lock.tmp`);
  const named = join(dir, `${stem}.${pid}.lock`);
  const pidFile = Deno.openSync(tmp, { read: true, write: true, create: true });
  pidFile.lockSync(true);
  Deno.renameSync(tmp, named);
  try {
    Deno.removeSync(join(dir, `${stem}.stop`));
  } catch { /* none */ }
  const ctrl = new AbortController();
  const stopFile = join(dir, `${stem}.stop`);
  const poll = setInterval(() => {
    try {
      Deno.statSync(stopFile);
      ctrl.abort();
    } catch { /* not asked */ }
  }, STOP_POLL_MS);
  Deno.unrefTimer(poll);
  let released = false;
  return {
    stopRequested: ctrl.signal,
    release() {
      if (released) return;
      released = true;
      clearInterval(poll);
      ctrl.abort();
      // the main lock file goes too, while still locked and only when it is still ours (a later claim
      // that opened it meanwhile sees it gone and opens a new one); where that cannot be told, it stays
      const ownMain = sameFile(main, mainPath) === true ? mainPath : undefined;
      for (const [f, path] of [[pidFile, named], [main, ownMain]] as const) {
        if (path) {
          try {
            Deno.removeSync(path);
          } catch { /* gone */ }
        }
        try {
          f.close(); // closing drops the lock
        } catch { /* closed */ }
      }
      try {
        Deno.removeSync(stopFile);
      } catch { /* none */ }
    },
  };
}

/** Is the open file `f` the one at `path` now? Undefined where the platform cannot tell (no inode numbers). */
function sameFile(f: Deno.FsFile, path: string): boolean | undefined {
  let at: Deno.FileInfo;
  try {
    at = Deno.statSync(path);
  } catch {
    return false; // removed
  }
  const own = f.statSync();
  if (own.ino == null || at.ino == null) return undefined;
  return own.ino === at.ino && own.dev === at.dev;
}

/** Is `path` locked by some process? (A shared probe: readers never block each other.) */
function held(path: string): boolean {
  let f: Deno.FsFile;
  try {
    f = Deno.openSync(path, { read: true });
  } catch {
    return false; // no such file: nobody holds it
  }
  try {
    if (f.tryLockSync(false)) {
      f.unlockSync();
      return false;
    }
    return true;
  } finally {
    f.close();
  }
}

/** Does a live process hold `dir/stem`? */
export function isHeld(dir: string, stem: string): boolean {
  return held(join(dir, `${stem}.lock`));
}

/** The pid of the live process holding `dir/stem`, or undefined (none, or just starting). */
export function holderPid(dir: string, stem: string): number | undefined {
  if (!isHeld(dir, stem)) return undefined;
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch {
    return undefined;
  }
  for (const e of entries) {
    const m = e.name.startsWith(`${stem}.`) ? /^\.(\d+)\.lock$/.exec(e.name.slice(stem.length)) : null;
    if (m && held(join(dir, e.name))) return Number(m[1]);
  }
  return undefined;
}

/**
 * Send `signal` to the holder of `dir/stem`, only while it holds its lock; true when sent. The pid
 * comes from the held lock's own name, never from a record a dead process left behind.
 */
export function signalHolder(dir: string, stem: string, signal: "SIGTERM" | "SIGKILL"): boolean {
  const pid = holderPid(dir, stem);
  if (pid === undefined) return false;
  try {
    Deno.kill(pid, signal);
    return true;
  } catch {
    return false; // ended meanwhile
  }
}

/**
 * Ask the holder of `dir/stem` to stop and wait until it has: SIGTERM where that lets it clean up (and the
 * stop file everywhere), SIGKILL after `graceMs`. Returns "none" when nothing held it, "stopped" when it
 * ended by itself, "killed" when it had to be forced.
 */
export async function stopHolder(
  dir: string,
  stem: string,
  o: { graceMs?: number; platform?: Platform } = {},
): Promise<"none" | "stopped" | "killed"> {
  if (!isHeld(dir, stem)) return "none";
  const p = o.platform ?? hostPlatform();
  const sig = signals(p);
  try {
    Deno.writeTextFileSync(join(dir, `${stem}.stop`), "");
  } catch { /* the directory went away: it is stopping anyway */ }
  if (sig.graceful) signalHolder(dir, stem, sig.stop);
  const until = Date.now() + (o.graceMs ?? 10_000);
  while (isHeld(dir, stem) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  if (!isHeld(dir, stem)) return "stopped";
  signalHolder(dir, stem, sig.kill);
  for (let i = 0; i < 100 && isHeld(dir, stem); i++) await new Promise((r) => setTimeout(r, 50));
  return "killed";
}

/** Remove what a dead holder of `dir/stem` left (its lock files, a stop request); nothing while one holds it. */
export function forgetClaim(dir: string, stem: string): void {
  if (isHeld(dir, stem)) return;
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch {
    return;
  }
  for (const e of entries) {
    const rest = e.name.startsWith(`${stem}.`) ? e.name.slice(stem.length) : "";
    if (/^\.(\d+\.)?lock(\.tmp)?$|^\.stop$/.test(rest)) {
      const path = join(dir, e.name);
      if (isHeld(dir, stem)) return; // claimed again meanwhile
      if (rest !== ".lock" && rest !== ".stop" && held(path)) continue; // a claim being made right now
      try {
        Deno.removeSync(path);
      } catch { /* gone, or open on Windows for a moment */ }
    }
  }
}

/**
 * forgetClaim for every name claimed in `dir` whose holder is gone (crashed, killed): what a dead process
 * left behind does not pile up. Names are the part before the first dot (`k3m9xq.lock`, `k3m9xq.123.lock`).
 */
export function sweepClaims(dir: string): void {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch {
    return;
  }
  const stems = new Set<string>();
  for (const e of entries) {
    const m = /^([^.]+)\.(?:(?:\d+\.)?lock(?:\.tmp)?|stop)$/.exec(e.name);
    if (m) stems.add(m[1]);
  }
  for (const stem of stems) forgetClaim(dir, stem);
}
