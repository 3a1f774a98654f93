/**
 * Sync's local state, per session, in `$KODAMA_HOME/sync/NAME/` (directory 0700, files 0600, written
 * atomically):
 *
 *   sync.json       what to sync where: the local root, the pod, its workdir, the connection flags
 *   manifest.json   every path the pod was sent, as it was locally when sent (kind, mode, size, mtime,
 *                   inode): what `resume` and reconnects diff against, what `pull` finds conflicts with
 *   status.json     the background process: pid, state, last sync, files and bytes sent, pending, errors
 *   sync.log        the background process's log
 *
 * No secret is written here: the connection is named by kubeconfig flags, never a token.
 */
import { join } from "../../base/fs/fspath.ts";
import { acquireLock, atomicWrite } from "../../config/atomic.ts";
import { kodamaHome } from "../../config/paths.ts";
import type { Entry, Tree } from "./scan.ts";
import type { SyncMode } from "./plan.ts";
import type { Conflict } from "./cycleplan.ts";

export interface SyncConfig {
  name: string;
  namespace: string;
  /** absolute local directory */
  root: string;
  /** the pod's directory that mirrors it */
  workdir: string;
  pod: string;
  container: string;
  /** send .git/ too */
  syncGit: boolean;
  useGitignore: boolean;
  excludePatterns: string[];
  /** root-relative paths never sent: the session's env files (their values are in its Secret) */
  secretFiles?: string[];
  /** global flags a background process needs to reach the same cluster as the same user */
  connection: string[];
  /** two-way (default), one-way-local (the pod follows), one-way-pod (the local tree follows) */
  mode?: SyncMode;
}

/** `paused`: the session stopped by itself (idle stop); the sync waits for it to run again */
export type SyncStateName = "starting" | "watching" | "syncing" | "paused" | "error" | "stopped";

export interface SyncStatus {
  state: SyncStateName;
  pid?: number;
  /** written by older versions (a /proc start time); ignored: liveness is the daemon's lock (src/base/proc/liveness.ts) */
  procStart?: string;
  startedAt?: string;
  lastSync?: string;
  filesSent: number;
  bytesSent: number;
  batches: number;
  pending: number;
  lastError?: string;
  lastErrorAt?: string;
  reconnects: number;
  lastReconnect?: string;
  updatedAt?: string;
  /** changes brought back from the pod */
  filesReceived?: number;
  /** the last change's direction: to pod, from pod, both */
  lastDirection?: string;
  pendingToPod?: number;
  pendingToLocal?: number;
  /** paths changed differently on both sides: left alone until `sync resolve` */
  conflicts?: Conflict[];
  /** paused: why the session stopped (`idle`, `exited`) and since when */
  pausedReason?: string;
  pausedSince?: string;
}

/** A status with nothing sent yet. */
export function emptyStatus(state: SyncStateName = "stopped"): SyncStatus {
  return { state, filesSent: 0, bytesSent: 0, batches: 0, pending: 0, reconnects: 0 };
}

/** A status with a one-off cycle's changes added to its totals (they add up across restarts). */
export function addCycle(
  s: SyncStatus,
  r: { toPod: number; toLocal: number; bytesToPod?: number },
): SyncStatus {
  if (!r.toPod && !r.toLocal) return s;
  return {
    ...s,
    filesSent: s.filesSent + r.toPod,
    bytesSent: s.bytesSent + (r.bytesToPod ?? 0),
    filesReceived: (s.filesReceived ?? 0) + r.toLocal,
    batches: s.batches + 1,
    lastSync: new Date().toISOString(),
  };
}

/**
 * A session with several repositories syncs each one it writes on its own (issue 81.2): one sync per
 * repository, keyed `NAME@REPO` (a session's name never holds `@`, nor a repository's directory name), with
 * its own directory, settings, manifest, status, log and background process. A session with one
 * repository (or none) is keyed by its name, as before. Every function here takes a key.
 */
export const unitKey = (session: string, repo?: string): string => repo ? `${session}@${repo}` : session;
/** The session a sync key belongs to. */
export const sessionOf = (key: string): string => key.split("@")[0];
/** The repository a sync key names, or undefined for a session's own sync. */
export const repoOf = (key: string): string | undefined => key.includes("@") ? key.split("@")[1] : undefined;

/** The command that starts a sync again, for messages. */
export const startAgain = (key: string): string =>
  `kodama sync start ${sessionOf(key)}${repoOf(key) ? ` --repo ${repoOf(key)}` : ""}`;

/**
 * Every sync this machine keeps of the session: its own, and one per repository (sorted). `cached`: the
 * listing may be the last one read while the directory's mtime is the same (`list`'s column, never what
 * stops or removes a sync).
 */
export function unitsOf(session: string, home = kodamaHome(), cached = false): string[] {
  const names = syncNames(join(home, "sync"), cached);
  return names.filter((n) => n === session || n.startsWith(`${session}@`)).sort();
}

/**
 * The names in the sync directory, read again only when it changed (its mtime: a sync's directory made or
 * removed): `list` asks once per session, and 200 sessions would read it 200 times.
 */
let listed: { dir: string; mtime: number; names: string[] } | undefined;
function syncNames(dir: string, cached: boolean): string[] {
  let mtime: number;
  try {
    mtime = Deno.statSync(dir).mtime?.getTime() ?? NaN;
  } catch {
    return [];
  }
  if (cached && listed?.dir === dir && listed.mtime === mtime && !Number.isNaN(mtime)) return listed.names;
  const names: string[] = [];
  try {
    for (const e of Deno.readDirSync(dir)) if (e.isDirectory) names.push(e.name);
  } catch {
    return [];
  }
  listed = { dir, mtime, names };
  return names;
}

export function syncDir(name: string, home = kodamaHome()): string {
  return join(home, "sync", name);
}

export const paths = (name: string, home?: string) => {
  const d = syncDir(name, home);
  return {
    dir: d,
    config: join(d, "sync.json"),
    manifest: join(d, "manifest.json"),
    status: join(d, "status.json"),
    log: join(d, "sync.log"),
  };
};

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(path)) as T;
  } catch {
    return undefined;
  }
}

async function ensureDir(name: string, home?: string): Promise<void> {
  await Deno.mkdir(syncDir(name, home), { recursive: true, mode: 0o700 });
}

export const loadConfig = (name: string, home?: string) => readJson<SyncConfig>(paths(name, home).config);

export async function saveConfig(c: SyncConfig, home?: string): Promise<void> {
  await ensureDir(c.name, home);
  await atomicWrite(paths(c.name, home).config, JSON.stringify(c, null, 2) + "\n");
  await recordSync(c, true, home);
}

/** The session file's `sync` (enabled, localPath, mode) follows this machine's sync of the session. */
export async function recordSync(c: SyncConfig, enabled: boolean, home?: string): Promise<void> {
  const { loadState, updateState } = await import("../state/state.ts");
  const session = sessionOf(c.name);
  const cur = await loadState(session, home).catch(() => undefined);
  if (!cur || cur.namespace !== c.namespace) return;
  // a repository's sync: its directory is the repository's own (the state's repos), not one sync root
  const sync = repoOf(c.name)
    ? { enabled, mode: c.mode ?? "two-way" }
    : { enabled, localPath: c.root, mode: c.mode ?? "two-way" };
  await updateState(session, { sync }, home).catch(() => {});
}

export const loadStatus = (name: string, home?: string) => readJson<SyncStatus>(paths(name, home).status);

export async function saveStatus(name: string, s: SyncStatus, home?: string): Promise<void> {
  await ensureDir(name, home);
  await atomicWrite(
    paths(name, home).status,
    JSON.stringify({ ...s, updatedAt: new Date().toISOString() }, null, 2) + "\n",
  );
}

interface ManifestFile {
  v: 1;
  root: string;
  workdir: string;
  entries: Record<string, Entry>;
}

/** The manifest's tree (empty when there is none, or it was made for another root or workdir). */
export async function loadManifest(
  name: string,
  where: { root: string; workdir: string },
  home?: string,
): Promise<Tree> {
  const m = await readJson<ManifestFile>(paths(name, home).manifest);
  if (!m || m.v !== 1 || m.root !== where.root || m.workdir !== where.workdir) return new Map();
  return new Map(Object.entries(m.entries));
}

/** The manifest file's modification time (ms), to notice another process's update. */
export async function manifestStamp(name: string, home?: string): Promise<number> {
  try {
    return (await Deno.stat(paths(name, home).manifest)).mtime?.getTime() ?? 0;
  } catch {
    return 0;
  }
}

export async function saveManifest(
  name: string,
  where: { root: string; workdir: string },
  tree: Tree,
  home?: string,
): Promise<void> {
  await ensureDir(name, home);
  const file: ManifestFile = { v: 1, ...where, entries: Object.fromEntries(tree) };
  await atomicWrite(paths(name, home).manifest, JSON.stringify(file));
}

/**
 * Change the manifest under its lock: read the newest file, let `fn` change the tree, write it back.
 * Several processes (the background sync, `sync push`, `sync pull`) may do this one after the other.
 */
export async function updateManifest(
  name: string,
  where: { root: string; workdir: string },
  fn: (t: Tree) => void,
  home?: string,
  /** start from an empty tree instead of reading the file (a full push replaces it all) */
  fresh = false,
): Promise<Tree> {
  await ensureDir(name, home);
  const release = await acquireLock(paths(name, home).manifest);
  try {
    const t = fresh ? new Map() as Tree : await loadManifest(name, where, home);
    fn(t);
    await saveManifest(name, where, t, home);
    return t;
  } finally {
    await release();
  }
}

/** Forget a session's sync state (delete, or a new session of the same name): its own and its repositories'. */
export async function removeSyncState(name: string, home?: string): Promise<void> {
  const keys = repoOf(name) ? [name] : [...new Set([name, ...unitsOf(name, home)])];
  for (const k of keys) await Deno.remove(syncDir(k, home), { recursive: true }).catch(() => {});
}

/** Record what a batch sent: its deletes (and everything below them) are gone, its sends are as sent. */
export function recordBatch(t: Tree, deletes: string[], sends: [string, Entry][]): void {
  if (deletes.length) {
    const del = new Set(deletes);
    for (const k of [...t.keys()]) {
      if (del.has(k)) {
        t.delete(k);
        continue;
      }
      for (let i = k.indexOf("/"); i >= 0; i = k.indexOf("/", i + 1)) {
        if (del.has(k.slice(0, i))) {
          t.delete(k);
          break;
        }
      }
    }
  }
  for (const [p, e] of sends) t.set(p, e);
}
