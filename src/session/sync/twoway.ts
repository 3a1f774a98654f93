/**
 * One two-way sync cycle, and the loop that runs cycles (the background process's body).
 *
 *   local scan (+ md5 of what moved)     pod state (watcher rounds, + md5 of what moved)
 *                 \                        /
 *                  planSync(ancestor, local, pod, mode)        (plan.ts, pure)
 *                 /                        \
 *   pod-bound ops: one batch, each op          local-bound ops: fetched with tar, each path checked
 *   checked against the pod state the plan     against the local state the plan saw, written to a
 *   saw, renamed into place per file           temporary name and renamed
 *                  \                        /
 *          new ancestor = old + what was done on both sides, written atomically
 *
 * A path changed on either side after the plan was made is skipped by the check and planned again next
 * cycle, so a race never overwrites a version. Conflicts are left alone and reported (status, log).
 */
import { escapeControl, quote } from "../../escape.ts";
import { dirname, isAbsolute, join, relative, sep } from "node:path";
import type { Kube } from "../../kube/client.ts";
import { execInPod } from "../../kube/exec.ts";
import { concatBytes } from "../../bytes.ts";
import { ExitCode, KodamaError } from "../../errors.ts";
import { TarParser } from "../../pods/tarformat.ts";
import {
  type Ancestor,
  type AncestorEntry,
  hashBytes,
  hashFileSized,
  loadAncestor,
  saveAncestor,
} from "./ancestor.ts";
import { IgnoreRules } from "./ignore.ts";
import {
  type Action,
  foldConflicts,
  orderActions,
  planScope,
  planSync,
  type Snap,
  type SnapTree,
  type SyncMode,
} from "./plan.ts";
import {
  type Folding,
  foldName,
  hasUnixModes,
  hostPlatform,
  type Platform,
  podMode,
  probeFolding,
} from "../../platform.ts";
import {
  APPLY2_SCRIPT,
  applyBytes,
  applyStream,
  keyOf,
  mergeRound,
  parseApplyOutput,
  parseRound,
  type PodEntry,
  podHashes,
  type PodOp,
  type StagedFile,
  watcherCommand,
} from "./podside.ts";
import { rulesFor, targetOf } from "./push.ts";
import { BatchChannel, execWatched, SyncConnectionError } from "./remote.ts";
import { APPLY_JS } from "./podapply.ts";
import { streamOf } from "./batch.ts";
import {
  localWriteProblem,
  type ProtectedPlaces,
  pulledLinkProblem,
  pulledMode,
  pulledPathProblem,
  throughLink,
} from "./safety.ts";
import { mkdirUnder, Refused, symlinkUnder, writeUnder } from "../../safewrite.ts";
import { protectedPlaces } from "./protect.ts";
import { type Entry, gitExecutables, scanTree, scanTreeSync, type Tree, updateTree } from "./scan.ts";
import { paths, type SyncConfig, type SyncStatus } from "./store.ts";
import FETCH from "./pod/fetch.sh" with { type: "text" };
import TAR from "./pod/tar.sh" with { type: "text" };
import ACK from "./pod/ack.sh" with { type: "text" };

/**
 * A pulled file is written under `.kodama-pull-SESSION.RANDOM` in its directory, then renamed into place.
 * One left by a process killed between the two is removed by the session's next cycle: only one process
 * at a time writes a session's (the daemon's claim; resume and resolve stop it first).
 */
export const TMP_PREFIX = ".kodama-pull-";
const TRACE = !!Deno.env.get("KODAMA_SYNC_TRACE");
/**
 * KODAMA_SYNC_HALT_AT=POINT, for tests: the cycle stops for good the first time it reaches POINT, after
 * saying so in the log, so that a test can SIGKILL the process exactly there. POINT is `scan` (a file
 * hashed, the rest of the local tree not yet), `applied` (the pod's side of the plan applied, the local
 * side not), `placing` (a pulled file written under its temporary name, not yet renamed into place) or
 * `ancestor` (both sides applied, the new ancestor not yet kept).
 */
const HALT_AT = Deno.env.get("KODAMA_SYNC_HALT_AT");
export type HaltPoint = "scan" | "applied" | "placing" | "ancestor";
async function haltAt(point: HaltPoint, log?: (line: string) => void): Promise<void> {
  if (HALT_AT !== point) return;
  log?.(`halted at ${point} (KODAMA_SYNC_HALT_AT): waiting to be killed`);
  await new Promise(() => setInterval(() => {}, 3_600_000));
}
/** files hashed by the snapshots of the running cycle (the trace says how many) */
const hashed = { local: 0, pod: 0 };

export interface Conflict {
  path: string;
  why: string;
  local?: { kind: string; size: number; mtime?: string };
  pod?: { kind: string; size: number; mtime?: string };
}

export interface CycleResult {
  toPod: number;
  toLocal: number;
  /** the bytes of the files sent to the pod */
  bytesToPod?: number;
  skipped: number;
  conflicts: Conflict[];
  kept: string[];
  /** the paths the plan moved or deleted, either way (done or not): a kept local tree looks at them again */
  paths: string[];
}

/** What one cycle needs besides the trees. */
export interface CycleContext {
  kube: Kube;
  c: SyncConfig;
  rules: IgnoreRules;
  mode: SyncMode;
  home?: string;
  /** the pod's state (from the watcher or a listing) */
  pod: Map<string, PodEntry>;
  /** local md5 memo: rel -> [statKey, hash] */
  memo: Map<string, [string, string]>;
  channel?: () => Promise<BatchChannel>;
  /** a kept-open channel running FETCH_SCRIPT, for small fetches */
  fetchChannel?: () => Promise<BatchChannel>;
  log?: (line: string) => void;
  /** resolve: take this side for these paths whatever the plan says */
  force?: { paths: Set<string> | "all"; keep: "local" | "pod"; strict?: boolean };
  /** `sync pull`: only bring changes back (nothing is sent), only below this path ("" = all) */
  pullOnly?: { under: string };
  /** paths changed in the pod -> when the change was done (the loop's watcher discounts older rounds) */
  touched?: Map<string, number>;
  /** `sync pull --force`: a local directory a pulled file replaces loses what is not ignored */
  clearDirs?: boolean;
  /** how the local disk folds names (probeFolding of the root): names that fold together conflict */
  folding?: Folding;
  /** the local tree now (the loop keeps one up to date from its file watcher); default: a full scan */
  localTree?: () => Tree;
  /** the ancestor as the caller holds it (default: read from disk) */
  ancestor?: Ancestor;
  /** keep the new ancestor (default: written to disk before the cycle ends) */
  storeAncestor?: (a: Ancestor) => void;
  /** a pulled file or link was just written here, with this `selfKey` (the loop's watcher will report it) */
  wroteLocal?: (rel: string, key: string) => void;
  /**
   * plan only these paths (with `localTree`): every other path is taken as unchanged on both sides since
   * the last cycle (the loop names what its file watcher and pod rounds saw: `planScope`). The conflicts
   * returned are then those in the scope only.
   */
  only?: Set<string>;
  /** the plan as made (for `sync pull --dry-run`): nothing is applied when this returns false */
  onPlan?: (plan: Action[], anc: Ancestor, local: SnapTree, pod: SnapTree) => boolean;
}

const lkey = (e: Entry) => `${e.size}:${e.mtime}`;
/**
 * What a local path's lstat says of it, as a rename keeps it: a later write (mtime), chmod (mode) or a
 * replacement by another kind changes it.
 */
const selfKey = (st: Deno.FileInfo) =>
  `${st.isSymlink ? "l" : st.isFile ? "f" : "d"}:${st.size}:${st.mtime?.getTime()}:${st.mode}`;
const pkey = (e: PodEntry) => e.key;

/** The local tree as the planner compares it (hashing only what moved since it was last hashed). */
export async function localSnaps(
  root: string,
  rules: IgnoreRules,
  anc: Ancestor,
  memo: Map<string, [string, string]>,
  plat: Platform = hostPlatform(),
  scanned?: Tree,
  halt?: (point: HaltPoint) => Promise<void>,
): Promise<{ snaps: SnapTree; entries: Map<string, Entry>; leftovers: string[] }> {
  const tree = scanned ?? await scanTree(root, rules);
  // Windows keeps no modes: a path's mode is the ancestor's (what both sides last agreed on), else git's
  // executable bit, else 0644/0755 — so the OS's 0666 never reads as a chmod, nor reaches the pod
  const unix = hasUnixModes(plat);
  const gitExec = unix ? undefined : await gitExecutables(root);
  const modeOf = (p: string, e: Entry) => {
    if (unix) return e.mode;
    const a = anc.get(p);
    return podMode({
      local: null,
      isDir: e.kind === "dir",
      ancestor: a?.kind === e.kind ? a.mode : undefined,
      gitExecutable: gitExec?.has(p),
    }, plat);
  };
  const snaps: SnapTree = new Map();
  const entries = new Map<string, Entry>();
  const leftovers: string[] = [];
  let hashedHere = 0;
  for (const [p, e] of tree) {
    const base = p.slice(p.lastIndexOf("/") + 1);
    if (base.startsWith(TMP_PREFIX)) {
      if (e.kind !== "dir") leftovers.push(p);
      continue;
    }
    entries.set(p, e);
    if (e.kind === "file") {
      const k = lkey(e);
      const m = memo.get(p);
      const a = anc.get(p);
      let hash = m && m[0] === k ? m[1] : a?.lk === k ? a.hash : undefined;
      let size = e.size;
      let key = k;
      if (!hash) {
        const got = await hashFileSized(join(root, p));
        hashed.local++;
        if (halt && hashedHere++ === 0) await halt("scan");
        if (!got) continue; // gone meanwhile
        hash = got.hash;
        // written while it was read: the snapshot is the bytes that were hashed (their size, never the
        // stat's), and the memo's key matches no stat, so the next scan hashes it again
        if (got.size !== e.size) [size, key] = [got.size, `~${k}`];
      }
      memo.set(p, [key, hash]);
      snaps.set(p, { kind: "file", mode: modeOf(p, e), size, hash });
    } else if (e.kind === "symlink") snaps.set(p, { kind: "symlink", mode: 0o777, size: 0, link: e.link });
    else snaps.set(p, { kind: "dir", mode: modeOf(p, e), size: 0 });
  }
  return { snaps, entries, leftovers };
}

/** The entries of `t` at these keys (a cycle's scope). */
function pick<T>(t: Map<string, T>, keys: Set<string>): Map<string, T> {
  const m = new Map<string, T>();
  for (const k of keys) {
    const v = t.get(k);
    if (v !== undefined) m.set(k, v);
  }
  return m;
}

/** protectedPlaces for a cycle: the symlinks of the local tree with a `.kodama` part lead to kodama's own. */
export function placesNow(c: SyncConfig, tree: Map<string, Entry>, home?: string): Promise<ProtectedPlaces> {
  const links: string[] = [];
  for (const [p, e] of tree) if (e.kind === "symlink" && /(^|\/)\.kodama(\/|$)/i.test(p)) links.push(p);
  return protectedPlaces(c.root, links, home);
}

/** The refusals a sync has logged (session and path -> why and the pod's version): each is said once. */
const refusals = new Map<string, string>();
function sayOnce(path: string, version: string): boolean {
  if (refusals.get(path) === version) return false;
  if (refusals.size > 10_000) refusals.clear();
  refusals.set(path, version);
  return true;
}

/** pulledPathProblem's verdicts (a pure function of the name on this OS): each cycle asks for every pod path. */
const namesOk = new Map<string, boolean>();
function nameOk(p: string): boolean {
  let v = namesOk.get(p);
  if (v === undefined) {
    if (namesOk.size > 200_000) namesOk.clear();
    namesOk.set(p, v = !pulledPathProblem(p));
  }
  return v;
}

/** The pod tree as the planner compares it; files whose hash is unknown are hashed in the pod. */
export async function podSnaps(
  kube: Kube,
  c: SyncConfig,
  rules: IgnoreRules,
  podIn: Map<string, PodEntry>,
  anc: Ancestor,
  unknown: Set<string> = new Set(),
): Promise<SnapTree> {
  // a copy: the watcher may replace entries while this waits for hashes
  const pod = new Map(podIn);
  const want: string[] = [];
  const usable = (p: string, e: PodEntry) =>
    !rules.ignoredPath(p, e.kind === "dir") && nameOk(p) &&
    !p.slice(p.lastIndexOf("/") + 1).startsWith(TMP_PREFIX);
  for (const [p, e] of pod) {
    if (e.kind !== "file" || e.hash || !usable(p, e)) continue;
    const a = anc.get(p);
    if (a?.pk === e.key && a.hash) e.hash = a.hash;
    else want.push(p);
  }
  if (want.length) {
    hashed.pod += want.length;
    const got = await podHashes(kube, targetOf(c), want);
    for (const [p, h] of got) {
      const e = pod.get(p);
      if (e) {
        pod.set(p, { ...e, hash: h });
        const live = podIn.get(p);
        if (live && live.key === e.key) live.hash = h;
      }
    }
  }
  const snaps: SnapTree = new Map();
  for (const [p, e] of pod) {
    if (!usable(p, e)) continue;
    if (e.kind === "file") {
      if (!e.hash) {
        // not hashed (it vanished meanwhile, or md5sum failed): unknown — never taken for a deletion
        unknown.add(p);
        continue;
      }
      snaps.set(p, { kind: "file", mode: e.mode, size: e.size, hash: e.hash });
    } else if (e.kind === "symlink") snaps.set(p, { kind: "symlink", mode: 0o777, size: 0, link: e.link });
    else snaps.set(p, { kind: "dir", mode: e.mode, size: 0 });
  }
  return snaps;
}

/** The pod's whole workspace in one exec (the watcher's full round, once). */
export async function listPod(
  kube: Kube,
  c: SyncConfig,
  signal?: AbortSignal,
): Promise<Map<string, PodEntry>> {
  const t = targetOf(c);
  const parts: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  const res = await execWatched(
    kube,
    t,
    watcherCommand(t.workdir, { full: 1, tick: "once", git: c.syncGit }),
    {
      stdout: (b) => void parts.push(b.slice()),
      stderr: (b) => void err.push(b.slice()),
      signal,
    },
  );
  if (res.error) throw new SyncConnectionError(`cannot list ${t.pod}:${t.workdir}: ${res.error}`);
  if (res.exitCode === 97) return new Map(); // no workdir yet
  const lines = new TextDecoder().decode(concatBytes(parts)).split("\n");
  const state = new Map<string, PodEntry>();
  mergeRound(state, parseRound(lines, true));
  return state;
}

function info(s: Snap | undefined, mtime?: number): Conflict["local"] {
  return s
    ? { kind: s.kind, size: s.size, ...(mtime ? { mtime: new Date(mtime).toISOString() } : {}) }
    : undefined;
}

/** Fetch files and links from the pod (tar, one exec per 200). */
async function fetchPod(
  kube: Kube,
  c: SyncConfig,
  rels: string[],
  channel?: () => Promise<BatchChannel>,
): Promise<
  Map<string, { kind: "file" | "symlink"; data?: Uint8Array; link?: string; mode: number; mtime: number }>
> {
  const t = targetOf(c);
  const got = new Map<
    string,
    { kind: "file" | "symlink"; data?: Uint8Array; link?: string; mode: number; mtime: number }
  >();
  // a few small files (a save in the pod) come over the kept-open channel: no new exec per fetch
  if (channel && rels.length <= 200 && !rels.some((r) => r.includes("\n"))) {
    const lines = await (await channel()).apply(enc.encode(rels.map((r) => `./${r}\n`).join("")), c.pod);
    const parser = fetchParser(new Set(rels), got);
    await parser.push(base64Decode(lines.join("")));
    await parser.idle();
    return got;
  }
  for (let i = 0; i < rels.length; i += 200) {
    const group = new Set(rels.slice(i, i + 200));
    const parser = fetchParser(group, got);
    const res = await execWatched(
      kube,
      t,
      // a path gone meanwhile makes tar complain and go on: that path is then simply not fetched
      ["sh", "-c", TAR, "sh", t.workdir, ...[...group].map((g) => `./${g}`)],
      {
        backpressure: true,
        stdout: async (chunk) => await parser.push(chunk),
      },
    );
    await parser.idle();
    if (res.error) throw new SyncConnectionError(`cannot fetch from ${t.pod}: ${res.error}`);
  }
  return got;
}

const enc = new TextEncoder();
const NEWLINE = enc.encode("\n");

function base64Decode(text: string): Uint8Array {
  const bin = atob(text.replace(/\s+/g, ""));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * The pod's side of a fetch over the kept-open channel: stdin is one `./PATH` a line; the tar of those
 * paths comes back base64-encoded (busybox `base64`), before the channel's `done` line. A path gone
 * meanwhile is left out. Reading is not activity for a session's idle stop (session/lifetime.ts): what
 * the sync fetches, hashes or lists is marked `kodama-idle-ignore`; what it sends into the pod counts.
 */
export const FETCH_SCRIPT: string = FETCH; // pod/fetch.sh

type Fetched = Map<
  string,
  { kind: "file" | "symlink"; data?: Uint8Array; link?: string; mode: number; mtime: number }
>;

/** A tar reader that keeps the files and links of `group` in `got`. */
function fetchParser(group: Set<string>, got: Fetched): TarParser {
  return new TarParser((e) => {
    const rel = e.name.replace(/^\.\//, "");
    if (!group.has(rel)) return Promise.resolve(undefined);
    if (e.type === "symlink") {
      got.set(rel, { kind: "symlink", link: e.linkname ?? "", mode: 0o777, mtime: e.mtime });
      return Promise.resolve(undefined);
    }
    if (e.type === "hardlink") {
      // tar sends a second name of one inode as a link to the first (always earlier in this archive):
      // it is a file of its own here (the pod's hard link is not made locally)
      const first = got.get((e.linkname ?? "").replace(/^\.\//, ""));
      if (first?.kind === "file") got.set(rel, { ...first, mode: e.mode & 0o7777 || first.mode });
      return Promise.resolve(undefined);
    }
    if (e.type !== "file") return Promise.resolve(undefined);
    const parts: Uint8Array[] = [];
    return Promise.resolve({
      write(b: Uint8Array) {
        parts.push(b.slice());
        return Promise.resolve();
      },
      close() {
        got.set(rel, { kind: "file", data: concatBytes(parts), mode: e.mode & 0o7777, mtime: e.mtime });
        return Promise.resolve();
      },
    });
  });
}

/** Keep a copy of a version a one-way mode replaces: `$KODAMA_HOME/sync/NAME/kept/STAMP/PATH`. */
async function keepCopy(
  c: SyncConfig,
  home: string | undefined,
  stamp: string,
  rel: string,
  data: Uint8Array | string,
): Promise<string> {
  const top = join(paths(c.name, home).dir, "kept", stamp);
  const to = join(top, rel);
  await Deno.mkdir(dirname(to), { recursive: true, mode: 0o700 });
  // a kept link that would lead out of its copy (or into .git) is kept as a file holding its target
  const link = typeof data === "string"
    ? await symlinkUnder(top, to, data).then(() => true, () => false)
    : false;
  if (!link) {
    await Deno.writeFile(to, typeof data === "string" ? new TextEncoder().encode(data) : data, {
      mode: 0o600,
    });
  }
  return to;
}

/** Is the local path still what the plan saw? */
function localStill(root: string, rel: string, seen: Entry | undefined): boolean {
  let st: Deno.FileInfo;
  try {
    st = Deno.lstatSync(join(root, rel));
  } catch {
    return seen === undefined;
  }
  if (!seen) return false;
  const kind = st.isSymlink ? "symlink" : st.isDirectory ? "dir" : "file";
  if (kind !== seen.kind) return false;
  if (kind === "file") return st.size === seen.size && (st.mtime?.getTime() ?? 0) === seen.mtime;
  return true;
}

/**
 * A pulled file where a local directory is: without `clear`, only an empty directory makes room; with it
 * (`sync pull --force`) what the rules do not ignore goes, and ignored files keep the directory.
 */
async function makeRoom(
  root: string,
  rel: string,
  rules: IgnoreRules,
  clear: boolean,
  log?: (line: string) => void,
): Promise<boolean> {
  if (clear) {
    const below = [...(await scanTree(root, rules, { under: rel })).keys()].filter((p) => p !== rel);
    for (const p of below.sort().reverse()) await Deno.remove(join(root, p)).catch(() => {});
  }
  try {
    await Deno.remove(join(root, rel));
    return true;
  } catch {
    log?.(
      clear
        ? `not pulling ${escapeControl(rel)}: the directory here holds ignored files, which are kept`
        : `not pulling ${
          escapeControl(rel)
        }: it is a directory here and a file in the pod (--force replaces it)`,
    );
    return false;
  }
}

/**
 * Write one pulled file or link the one safe way (src/safewrite.ts): temp name in the same real
 * directory, mode, mtime, rename; never through a link; a link only when, resolved against the disk as
 * it is now, it stays in the tree and out of .git (else `Refused`, reported by the caller).
 */
async function writeLocal(
  root: string,
  rel: string,
  f: { kind: "file" | "symlink"; data?: Uint8Array; link?: string; mode: number; mtime: number },
  prefix: string,
  /** told the new file's lstat just before it is renamed into place (a rename keeps what selfKey reads) */
  placing?: (st: Deno.FileInfo) => Promise<void>,
): Promise<void> {
  const target = join(root, rel);
  // the parent must be there: a directory removed here meanwhile (an `rm -r` in progress) is never made
  // again behind the user's back; a new one is made by its own, earlier step of the plan
  if (!(await Deno.lstat(dirname(target)).then((st) => st.isDirectory, () => false))) {
    throw new Error("its directory is gone here");
  }
  if (f.kind === "symlink") {
    await symlinkUnder(root, target, f.link ?? "", { prefix, placing });
  } else {
    await writeUnder(root, target, f.data!, { prefix, mode: pulledMode(f.mode), mtime: f.mtime, placing });
  }
}

/** The start of this session's temporary names (TMP_PREFIX). */
const tmpPrefix = (c: SyncConfig) => `${TMP_PREFIX}${c.name}.`;

/**
 * Remove this session's temporary files a killed process left (see TMP_PREFIX); others' are not touched.
 * Returns the paths that are no longer there.
 */
async function removeLeftovers(
  c: SyncConfig,
  found: string[],
  log?: (line: string) => void,
): Promise<string[]> {
  const mine = tmpPrefix(c);
  const gone: string[] = [];
  for (const p of found) {
    if (!p.slice(p.lastIndexOf("/") + 1).startsWith(mine)) continue;
    try {
      await Deno.remove(join(c.root, p));
      log?.(
        `removed ${p}: a pulled file an interrupted sync did not finish writing (its pod version is pulled again)`,
      );
      gone.push(p);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) gone.push(p);
      else log?.(`could not remove ${p}: ${(e as Error).message}`);
    }
  }
  return gone;
}

/**
 * One cycle: plan and apply both ways, write the new ancestor. The ancestor is written last: a crash
 * before that leaves both sides with what was applied, which the next cycle finds in agreement.
 */
export async function runCycle(x: CycleContext): Promise<CycleResult> {
  const { c, rules, kube } = x;
  const where = { root: c.root, workdir: c.workdir };
  const anc = x.ancestor ?? await loadAncestor(c.name, where, x.home);
  const unknown = new Set<string>();
  // KODAMA_SYNC_TRACE=1: each cycle's phases (ms since its start) go to the sync log
  const t0 = performance.now();
  const tr: string[] = [];
  const mark = (w: string) => tr.push(`${w} ${(performance.now() - t0).toFixed(0)}`);
  const scanned = x.localTree?.();
  const scope = scanned ? x.only : undefined;
  const sub = <T>(t: Map<string, T>) => scope ? pick(t, scope) : t;
  const halt = (point: HaltPoint) => haltAt(point, x.log);
  const [{ snaps: local, entries, leftovers }, pod] = await Promise.all([
    localSnaps(c.root, rules, anc, x.memo, hostPlatform(), scanned && sub(scanned), halt),
    podSnaps(kube, c, rules, sub(x.pod), anc, unknown),
  ]);
  // gone from the loop's kept tree too: its next full cycle does not look for them again
  for (const p of await removeLeftovers(c, leftovers, x.log)) scanned?.delete(p);
  // a pod file whose content is not known this cycle is left out of the plan on every side
  const known = <T>(t: Map<string, T>) => unknown.size ? new Map([...t].filter(([p]) => !unknown.has(p))) : t;
  mark(
    TRACE && (hashed.local || hashed.pod)
      ? `snaps (hashed ${hashed.local} here, ${hashed.pod} in the pod)`
      : "snaps",
  );
  hashed.local = hashed.pod = 0;
  let plan = planSync(known(sub(anc)), known(local), pod, x.mode);
  mark("plan");
  const f = x.folding;
  if (f && (f.caseInsensitive || f.normalizing)) {
    plan = orderActions(foldConflicts(plan, known(local), pod, known(anc), (n) => foldName(n, f)));
  }
  if (x.force) {
    const force = x.force;
    const hit = (p: string) =>
      force.paths === "all" || force.paths.has(p) || [...force.paths].some((q) => p.startsWith(q + "/"));
    const forced = planSync(new Map(), local, pod, force.keep === "local" ? "one-way-local" : "one-way-pod");
    const conflicted = plan.filter((a) => a.op === "conflict" && hit(a.path)).map((a) => a.path);
    if (force.paths !== "all" && force.strict) {
      // a named path must be (in, or hold) a conflict: taking a side there would overwrite a version
      const all = plan.filter((a) => a.op === "conflict").map((a) => a.path);
      const none = [...force.paths].filter((p) =>
        !all.some((q) => q === p || q.startsWith(p + "/") || p.startsWith(q + "/"))
      );
      if (none.length) {
        throw new KodamaError(
          `${none.map((p) => JSON.stringify(p)).join(", ")} ${
            none.length === 1 ? "is" : "are"
          } not in conflict${
            all.length ? ` (in conflict: ${all.slice(0, 5).join(", ")}${all.length > 5 ? ", ..." : ""})` : ""
          }; nothing was changed`,
          ExitCode.NOT_FOUND,
        );
      }
    }
    const within = (p: string) => conflicted.some((q) => p === q || p.startsWith(q + "/"));
    plan = orderActions([
      ...plan.filter((a) => !within(a.path)),
      ...forced.filter((a) => within(a.path)).map((a) => ({ ...a, keep: false }) as Action),
    ]);
  }
  if (x.pullOnly) {
    const u = x.pullOnly.under;
    plan = plan.filter((a) =>
      (!u || a.path === u || a.path.startsWith(u + "/")) &&
      !((a.op === "copy" && a.to === "pod") || (a.op === "delete" && a.on === "pod"))
    );
  }
  if (x.onPlan && !x.onPlan(plan, anc, local, pod)) {
    return { toPod: 0, toLocal: 0, skipped: 0, conflicts: [], kept: [], paths: [] };
  }
  const done = new Set<Action>();
  const stamp = new Date().toISOString().replaceAll(":", "-");
  const kept: string[] = [];
  // ---- the pod's side
  const podActs = plan.filter((a) =>
    (a.op === "copy" && a.to === "pod") || (a.op === "delete" && a.on === "pod")
  );
  const podKeep = podActs.filter((a) => (a as { keep?: boolean }).keep && x.pod.get(a.path)?.kind !== "dir")
    .map((a) => a.path);
  if (podKeep.length) {
    for (const [p, f] of await fetchPod(kube, c, podKeep)) {
      kept.push(await keepCopy(c, x.home, stamp, p, f.data ?? f.link ?? ""));
    }
  }
  if (podActs.length) {
    const ops: PodOp[] = [];
    const files: StagedFile[] = [];
    const byPath = new Map<string, Action>();
    for (const a of podActs) {
      const cur = x.pod.get(a.path);
      byPath.set(a.path, a);
      if (a.op === "delete") {
        ops.push({ op: "R", path: a.path, expect: cur?.kind === "dir" ? "*" : keyOf(cur) });
        continue;
      }
      if (a.op !== "copy") continue;
      const expect = cur?.kind === "dir" && a.entry.kind === "dir" ? "*" : keyOf(cur);
      if (a.entry.kind === "dir") {
        ops.push({ op: "D", path: a.path, expect, mode: a.entry.mode });
        continue;
      }
      const le = entries.get(a.path);
      if (a.entry.kind === "symlink") {
        files.push({
          path: a.path,
          kind: "symlink",
          mode: 0o777,
          link: a.entry.link,
          mtimeMs: le?.mtime ?? Date.now(),
        });
      } else {
        // read while the archive streams; a file that changed since the scan is dropped there (`X`)
        files.push({
          path: a.path,
          kind: "file",
          mode: a.entry.mode,
          abs: join(c.root, a.path),
          size: a.entry.size,
          hash: a.entry.hash,
          mtimeMs: le?.mtime ?? Date.now(),
        });
      }
      ops.push({ op: "F", path: a.path, expect });
    }
    const stream = applyStream(ops, files);
    let out: string;
    if (x.channel && stream.length < 256 * 1024) {
      out = (await (await x.channel()).apply(await applyBytes(stream), c.pod)).join("\n");
    } else {
      const t = targetOf(c);
      const parts: Uint8Array[] = [];
      const err: Uint8Array[] = [];
      const res = await execWatched(
        kube,
        t,
        ["sh", "-c", APPLY2_SCRIPT, "sh", t.workdir],
        {
          stdin: streamOf(stream.chunks),
          stdout: (b) => void parts.push(b.slice()),
          stderr: (b) => void err.push(b.slice()),
        },
        ops.length,
        stream.length,
      );
      if (res.errorKind === "dropped") throw new SyncConnectionError(`stream to ${t.pod} dropped mid-batch`);
      if (res.error || res.exitCode !== 0) {
        throw new KodamaError(
          `sync into ${t.pod}:${t.workdir} failed: ${
            new TextDecoder().decode(concatBytes(err)).trim().split("\n").slice(-2).join("; ") || res.error ||
            `exit ${res.exitCode}`
          }`,
        );
      }
      out = new TextDecoder().decode(concatBytes(parts));
    }
    mark("applied");
    await halt("applied");
    const skipped = parseApplyOutput(out);
    for (const p of stream.dropped) skipped.add(p);
    const sent = new Set(ops.map((o) => o.path));
    for (const a of podActs) if (sent.has(a.path) && !skipped.has(a.path)) done.add(a);
    // the pod state is the watcher's last round: make it say what was just done there, so the next cycle
    // (before the watcher's next round) does not take a path just deleted in the pod for one it made
    const at = Date.now();
    for (const a of podActs) {
      if (!done.has(a)) continue;
      x.touched?.set(a.path, at);
      if (a.op === "delete") {
        // a file: its own key (a scan of the whole state per delete made a 10,000-file removal quadratic)
        if (x.pod.get(a.path)?.kind !== "dir") x.pod.delete(a.path);
        else {for (const p of [...x.pod.keys()]) {
            if (p === a.path || p.startsWith(a.path + "/")) x.pod.delete(p);
          }}
      } else if (a.op === "copy") {
        const e = a.entry;
        x.pod.set(a.path, {
          kind: e.kind,
          mode: e.mode,
          size: e.size,
          mtime: 0,
          link: e.link,
          hash: e.hash,
          key: "?",
        });
      }
    }
  }
  // ---- the local side
  const localActs = plan.filter((a) =>
    (a.op === "copy" && a.to === "local") || (a.op === "delete" && a.on === "local")
  );
  // why a pod's path is not written here: a name no local file may have, one of kodama's rules (its
  // configuration, an ignore file), a parent that is a link, a symlink whose target leads out of the tree
  // the protected places as they are now: the config and the links it names are read again for every
  // batch that writes here (a directory added to the config, or named through a link, counts at once)
  const places = localActs.length
    ? await placesNow(c, scanned ?? entries, x.home)
    : { workflows: [], state: [] };
  const problem = (a: (typeof localActs)[number]) =>
    localWriteProblem(a.path, undefined, places, a.op === "copy" && a.entry.kind !== "dir") ??
      (throughLink(c.root, a.path) ? "it goes through a symlink" : undefined) ??
      (a.op === "copy" && a.entry.kind === "symlink" ? pulledLinkProblem(a.path, a.entry.link) : undefined);
  const want = localActs.filter((a) => a.op === "copy" && a.entry.kind !== "dir" && !problem(a)).map((a) =>
    a.path
  );
  // small enough for the kept-open channel: a save in the pod, not a checkout
  const small = x.fetchChannel && want.reduce((n, p) => n + (x.pod.get(p)?.size ?? 0), 0) < 256 * 1024;
  const fetched = want.length ? await fetchPod(kube, c, want, small ? x.fetchChannel : undefined) : new Map();
  const writtenKeys = new Map<string, string>();
  const writtenHash = new Map<string, string>();
  for (const a of localActs) {
    const why = problem(a);
    if (why) {
      // said once per version of the pod's path: it stays refused every cycle until that changes
      const version = `${why}\0${a.op === "copy" ? x.pod.get(a.path)?.key : "deleted"}`;
      if (sayOnce(`${c.name}\0${a.path}`, version)) {
        x.log?.(`not writing ${quote(a.path)} locally: ${why}`);
      }
      continue;
    }
    const seen = entries.get(a.path);
    if (!localStill(c.root, a.path, seen)) continue; // changed since the scan: next cycle
    const abs = join(c.root, a.path);
    try {
      if ((a as { keep?: boolean }).keep && seen && seen.kind !== "dir") {
        kept.push(
          await keepCopy(
            c,
            x.home,
            stamp,
            a.path,
            seen.kind === "symlink" ? seen.link ?? "" : await Deno.readFile(abs),
          ),
        );
      }
      if (a.op === "delete") {
        await Deno.remove(abs); // a directory only when empty (ignored files keep it)
      } else if (a.op === "copy" && a.entry.kind === "dir") {
        if (seen && seen.kind !== "dir") await Deno.remove(abs);
        if (!(await Deno.lstat(dirname(abs)).then((st) => st.isDirectory, () => false))) {
          throw new Error("its directory is gone here");
        }
        await mkdirUnder(c.root, abs); // never through a link planted meanwhile
        const m = pulledMode(a.entry.mode);
        if (m !== undefined) await Deno.chmod(abs, m);
      } else if (a.op === "copy") {
        const f = fetched.get(a.path);
        if (!f) continue; // gone in the pod meanwhile
        if (
          seen?.kind === "dir" && !(await makeRoom(c.root, a.path, rules, !!x.clearDirs, (l) => {
            if (sayOnce(`${c.name}\0${a.path}`, `${l}\0${x.pod.get(a.path)?.key}`)) x.log?.(l);
          }))
        ) continue;
        await writeLocal(c.root, a.path, f, tmpPrefix(c), async (st) => {
          await halt("placing");
          x.wroteLocal?.(a.path, selfKey(st));
        });
        if (f.kind === "file") writtenHash.set(a.path, await hashBytes(f.data!));
        const st = Deno.lstatSync(abs);
        writtenKeys.set(a.path, `${st.size}:${st.mtime?.getTime() ?? 0}`);
      }
      done.add(a);
    } catch (e) {
      // said once per version of the pod's path and reason, as a refusal above: every cycle tries again
      const line = e instanceof Refused
        ? `not writing ${quote(a.path)} locally: ${e.message}`
        : `could not apply ${a.op} ${a.path} locally: ${(e as Error).message}`;
      const version = `${line}\0${a.op === "copy" ? x.pod.get(a.path)?.key : "deleted"}`;
      if (sayOnce(`${c.name}\0${a.path}`, version)) x.log?.(line);
    }
  }
  // ---- the new ancestor: what both sides now agree on
  const next: Ancestor = new Map(anc);
  for (const a of plan) {
    if (a.op === "conflict") continue;
    if ((a.op === "copy" || a.op === "delete") && !done.has(a)) continue;
    if (a.op === "delete" || (a.op === "agree" && !a.entry)) {
      next.delete(a.path);
      continue;
    }
    const entry = a.op === "copy" ? a.entry : a.entry!;
    const le = entries.get(a.path), pe = x.pod.get(a.path);
    const rec: AncestorEntry = { ...entry };
    if (a.op === "copy" && a.to === "local") {
      if (writtenHash.has(a.path)) rec.hash = writtenHash.get(a.path);
      rec.lk = writtenKeys.get(a.path);
      if (pe) rec.pk = pkey(pe);
    } else if (a.op === "copy") {
      if (le) rec.lk = lkey(le);
    } else {
      if (le) rec.lk = lkey(le);
      if (pe) rec.pk = pkey(pe);
    }
    next.set(a.path, rec);
  }
  // an unchanged path keeps its record; a record for a path now gone on both sides is dropped
  const planned = new Set(plan.map((a) => a.path));
  for (const p of scope ? [...scope] : [...next.keys()]) {
    if (next.has(p) && !unknown.has(p) && !local.has(p) && !pod.has(p) && !planned.has(p)) next.delete(p);
  }
  mark("local");
  await halt("ancestor");
  if (x.storeAncestor) x.storeAncestor(next);
  else await saveAncestor(c.name, where, next, x.home);
  mark("anc");
  if (TRACE) {
    const planned = scope ? ` (${scope.size} path(s) planned)` : "";
    x.log?.(`trace ${plan.filter((a) => a.op !== "agree").length}${planned}: ${tr.join(", ")}`);
  }
  const conflicts: Conflict[] = plan.filter((a) => a.op === "conflict").map((a) => {
    const k = a as Extract<Action, { op: "conflict" }>;
    return {
      path: k.path,
      why: k.why,
      local: info(k.local, entries.get(k.path)?.mtime),
      pod: info(k.pod, (x.pod.get(k.path)?.mtime ?? 0) * 1000),
    };
  });
  let toPod = 0, toLocal = 0, bytesToPod = 0;
  const moved: string[] = [];
  for (const a of done) {
    if ((a.op === "copy" && a.to === "pod") || (a.op === "delete" && a.on === "pod")) {
      toPod++;
      if (a.op === "copy" && a.entry.kind === "file") bytesToPod += a.entry.size;
    } else toLocal++;
    if (moved.length < 5) {
      moved.push(`${a.op === "delete" ? "-" : a.op === "copy" && a.to === "pod" ? ">" : "<"}${a.path}`);
    }
  }
  if (moved.length) {
    x.log?.(
      `applied: ${moved.join(" ")}${done.size > moved.length ? ` (+${done.size - moved.length})` : ""}`,
    );
  }
  const moving = plan.filter((a) => a.op === "copy" || a.op === "delete");
  return {
    toPod,
    toLocal,
    bytesToPod,
    skipped: moving.length - done.size + unknown.size,
    conflicts,
    kept,
    paths: moving.map((a) => a.path),
  };
}

// ---------------------------------------------------------------------------------------------------
// the loop

export const QUIET_MS = 15;
/** after a cycle that moved this many paths, the next one waits for BURST_QUIET_MS of quiet */
const BURST_PATHS = 50;
const BURST_QUIET_MS = 250;
/** a cycle is never put off longer than this by events that keep coming */
const MAX_WAIT_MS = 2_000;
/** the loop walks the whole local tree again when its last walk is older than this (a lost event's backstop) */
export const LOCAL_RESCAN_MS = 60_000;
/** how long the file watcher's report of a file this process pulled is taken for that write */
const SELF_WRITE_MS = 5_000;
/** the pod watcher's round period: the loop writes its stdin a line this long after each round's end */
export const TICK_S = 0.5;
/**
 * After ACTIVE_MS with nothing changing on either side, the watcher's rounds are IDLE_TICK_S apart: a
 * round walks the whole tree (on 5,000 files about 15-30 ms of the pod's CPU), so fewer rounds when idle
 * is most of the idle CPU. A change on either side makes them TICK_S apart again at once.
 */
export const IDLE_TICK_S = 0.8;
export const ACTIVE_MS = 30_000;
/** KODAMA_SYNC_IDLE_TICK_S / KODAMA_SYNC_ACTIVE_MS (the bench measures a save after idle without waiting 30 s) */
function envNumber(name: string, dflt: number): number {
  const v = Number(Deno.env.get(name));
  return Number.isFinite(v) && v > 0 ? v : dflt;
}
/**
 * The pod's change notifier (podside.ts EVENTS_JS, where the image has `node`): on unless
 * KODAMA_SYNC_POD_EVENTS=0 (bench/podwatch.ts and the tests measure the watcher with and without it).
 */
function podEvents(): boolean {
  return Deno.env.get("KODAMA_SYNC_POD_EVENTS") !== "0";
}
/**
 * The kept-open apply channel runs podapply.ts's APPLY_JS where the image has `node` (no process a batch):
 * on unless KODAMA_SYNC_POD_APPLY=sh (the bench measures both; the tests run the shell loop too).
 */
function podApplyJs(): string | undefined {
  return Deno.env.get("KODAMA_SYNC_POD_APPLY") === "sh" ? undefined : APPLY_JS;
}
/** a full listing every this many ticks (catches a chmod or an mtime-preserving copy in the pod) */
export const FULL_EVERY = 20;
/** FULL_EVERY, or KODAMA_SYNC_FULL_EVERY (tests push the full listing out of reach) */
function fullEvery(): number {
  const v = Number(Deno.env.get("KODAMA_SYNC_FULL_EVERY"));
  return Number.isInteger(v) && v > 0 ? v : FULL_EVERY;
}
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 15_000;

export interface LoopHooks {
  status: SyncStatus;
  save(): Promise<void>;
  log(line: string): void;
  home?: string;
  /** throws when the pod cannot be synced with; SessionStopped when it ended by itself (idle stop) */
  checkPod?(): Promise<void>;
  /**
   * The session stopped by itself: resolves once its pod runs again (resumed, here or elsewhere) with
   * undefined, or with a reason to give up; returns at once when `signal` aborts.
   */
  waitBack?(signal: AbortSignal): Promise<string | undefined>;
  /**
   * After a failure, with how long the sync has been failing (a gap of more than 5 min between two
   * attempts — a laptop asleep — starts the count again): a reason to give up, or undefined to retry.
   */
  giveUp?(e: Error, downMs: number): Promise<string | undefined>;
}

/** A longer pause than this between two attempts is a machine that slept: the failing time starts again. */
const ASLEEP_MS = 5 * 60_000;

/** The session's pod ended by itself (idle stop): the sync pauses until it runs again. */
export class SessionStopped extends KodamaError {
  constructor(readonly session: string, readonly reason: string, readonly since?: string) {
    super(`session ${session} stopped (${reason})${since ? ` since ${since}` : ""}`, ExitCode.FAILED);
  }
}

/**
 * The sync's acknowledgement of an announced idle stop (session/lifetime.ts): one line, the deadline it
 * read, appended by a process that is not activity.
 */
export const ACK_SCRIPT: string = ACK; // pod/ack.sh

/**
 * A watcher's absolute path as a root-relative `/` path ("" for the root, `..…` when outside). FSEvents
 * (macOS) reports canonical paths, so a root reached through a symlink (`/tmp` is `/private/tmp`,
 * `/var/folders`, the user's own links) is matched by its real path too. Pure.
 */
export function eventPath(abs: string, root: string, realRoot?: string): string {
  const rel = relative(root, abs);
  const outside = rel.startsWith("..") || isAbsolute(rel);
  const r = outside && realRoot ? relative(realRoot, abs) : rel;
  return r.split(sep).join("/");
}

export class TwoWayLoop {
  #realRoot?: string;
  #folding?: Folding;
  #dirty = true;
  #wake?: () => void;
  #timer?: ReturnType<typeof setTimeout>;
  #pod = new Map<string, PodEntry>();
  #podReady = false;
  #memo = new Map<string, [string, string]>();
  #channel?: BatchChannel;
  #pokedAt = 0;
  #bursting = false;
  #fetchChannel?: BatchChannel;
  #known = new Set<string>();
  /** files this process pulled (written here), with their selfKey, for a few seconds */
  #wrote = new Map<string, { key: string; at: number }>();
  /** when either side last changed (a local event, a pod round that changed something, a cycle that moved) */
  #activeAt = Date.now();
  readonly #idleTickMs = envNumber("KODAMA_SYNC_IDLE_TICK_S", IDLE_TICK_S) * 1000;
  readonly #activeMs = envNumber("KODAMA_SYNC_ACTIVE_MS", ACTIVE_MS);
  /** paths this process changed in the pod, and when: a watcher round begun before that is stale for them */
  #touched = new Map<string, number>();
  /**
   * The local tree, kept up to date from the file watcher: a cycle looks again only at the paths named by
   * events since the last one (and those the last cycle moved), and walks everything at the start, after
   * a failure, when an ignore file changed, when the watcher asks for it, and at most every
   * LOCAL_RESCAN_MS.
   */
  #tree?: Tree;
  #events = new Set<string>();
  #rescan = true;
  /** the last #localTree() walked the whole tree (it did not only look again at the named paths) */
  #walked = false;
  /**
   * Paths the pod rounds changed since the last cycle began. With the local events they are all that can
   * have changed on either side, so a cycle plans only them (`planScope`); it plans everything when the
   * local tree was walked again, after a failure, a skipped operation, the pod watcher's first round, and
   * on a case-folding disk.
   */
  #podDirty = new Set<string>();
  /** paths the last #localTree() set or removed besides those named (a hard link's other names, a new directory's walk) */
  #treeChanged = new Set<string>();
  #planAll = true;
  #scannedAt = 0;
  /**
   * The ancestor: read once, then kept here; each cycle's is written in the background, in order (the
   * newest replaces one not yet written). One on disk older than what was applied is the state of a
   * process killed between a batch and its ancestor write: the next run finds both sides agreeing.
   */
  #anc?: Ancestor;
  /** the idle stop announced in the pod (its deadline) that the next cycle flushes for, and the last acked */
  #flushFor?: string;
  #acked?: string;
  /** paused (the session stopped by itself): local changes since, for `sync status` */
  #paused = false;
  #waiting = new Set<string>();
  #ancDirty = false;
  #ancWriting?: Promise<void>;
  readonly #rules: IgnoreRules;

  constructor(private kube: Kube, private c: SyncConfig, private h: LoopHooks) {
    // .git went to the pod once, at start: after that it is the pod's, and the local one is this machine's
    this.c = { ...c, syncGit: false };
    this.#rules = rulesFor(this.c);
  }

  get pending(): number {
    return this.#dirty ? 1 : 0;
  }

  #poke(delay = QUIET_MS): void {
    this.#dirty = true;
    const now = Date.now();
    if (this.#timer) clearTimeout(this.#timer);
    else this.#pokedAt = now;
    // in a burst (the last cycle moved many paths) changes are gathered for longer, so 10,000 new files
    // go in a few batches, not one per scheduling gap; a steady stream of events never waits past a cap
    if (delay === QUIET_MS && this.#bursting) delay = BURST_QUIET_MS;
    delay = Math.max(0, Math.min(delay, this.#pokedAt + MAX_WAIT_MS - now));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#wake?.();
    }, delay);
  }

  #noteLocal(abs: string): void {
    const rel = eventPath(abs, this.c.root, this.#realRoot);
    if (rel === "" || rel.startsWith("..")) return;
    const top = rel.split("/", 1)[0];
    if (top === ".kodama") return;
    if (rel.slice(rel.lastIndexOf("/") + 1).startsWith(TMP_PREFIX)) return;
    if (IgnoreRules.isPatternFile(rel)) {
      this.#rules.reset();
      this.#rescan = true;
    }
    if (top === ".git" && rel !== ".git/info/exclude") return;
    // the file watcher reporting a file this process just pulled, still as it was written: the tree
    // looks at it again, but it needs no cycle (its ancestor records it already)
    const w = this.#wrote.get(rel);
    if (w) {
      let now: string | undefined;
      try {
        now = selfKey(Deno.lstatSync(abs));
      } catch { /* gone */ }
      if (now === w.key && Date.now() - w.at < SELF_WRITE_MS && !IgnoreRules.isPatternFile(rel)) {
        if (TRACE) this.h.log(`event ${rel} (this process's own write)`);
        this.#events.add(rel);
        return;
      }
      this.#wrote.delete(rel);
    }
    if (TRACE) this.h.log(`event ${rel}`);
    this.#activeAt = Date.now();
    this.#events.add(rel);
    if (this.#paused && !this.#rules.ignoredPath(rel, false) && !this.#waiting.has(rel)) {
      this.#waiting.add(rel);
      this.h.status.pendingToPod = this.#waiting.size;
      void this.h.save();
    }
    this.#poke();
  }

  #localTree(): Tree {
    if (
      !this.#tree || this.#rescan || Date.now() - this.#scannedAt > LOCAL_RESCAN_MS ||
      this.#events.size > this.#tree.size
    ) {
      this.#rescan = false;
      this.#walked = true;
      this.#events.clear();
      this.#tree = scanTreeSync(this.c.root, this.#rules);
      this.#scannedAt = Date.now();
    } else if (this.#events.size) {
      this.#walked = false;
      const paths = [...this.#events];
      this.#events.clear();
      updateTree(this.#tree, this.c.root, this.#rules, paths, undefined, this.#treeChanged);
    }
    return this.#tree;
  }

  #storeAncestor(a: Ancestor): void {
    this.#anc = a;
    this.#ancDirty = true;
    this.#ancWriting ??= (async () => {
      try {
        while (this.#ancDirty) {
          this.#ancDirty = false;
          // never made again once the session's sync directory is gone (deleted here)
          if (!(await Deno.lstat(paths(this.c.name, this.h.home).dir).then(() => true, () => false))) break;
          await saveAncestor(
            this.c.name,
            { root: this.c.root, workdir: this.c.workdir },
            this.#anc!,
            this.h.home,
          );
        }
      } catch (e) {
        this.h.log(`could not write the ancestor: ${(e as Error).message}`);
      } finally {
        this.#ancWriting = undefined;
      }
    })();
  }

  /** The pod watcher: one exec printing rounds; returns when it ends. */
  async #watchPod(signal: AbortSignal): Promise<void> {
    const t = targetOf(this.c);
    let buf = "";
    let lines: string[] = [];
    let full = false;
    let began = 0;
    let stopping: string | undefined;
    /** the round said `@events`: the pod's notifier is up (podside.ts), an idle round costs it nothing */
    let events = false;
    const dec = new TextDecoder();
    // the rounds are paced from here: a line on the watcher's stdin starts the next one (a `read` in the
    // pod, where a `sleep` would be a process a round)
    let ctrl: ReadableStreamDefaultController<Uint8Array> | undefined;
    let tick: ReturnType<typeof setTimeout> | undefined;
    const stdin = new ReadableStream<Uint8Array>({ start: (c) => void (ctrl = c) });
    const next = () => {
      tick = undefined;
      try {
        ctrl?.enqueue(NEWLINE);
      } catch { /* the stream is closed: the watcher ended */ }
    };
    const res = await execInPod(
      this.kube,
      t.namespace,
      t.pod,
      t.container,
      watcherCommand(t.workdir, {
        full: fullEvery(),
        tick: TICK_S,
        git: this.c.syncGit,
        events: podEvents(),
      }),
      {
        signal,
        stdin,
        stdout: (chunk) => {
          buf += dec.decode(chunk, { stream: true });
          let nl;
          while ((nl = buf.indexOf("\n")) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            if (line === "@full" || line === "@since") {
              full = line === "@full";
              began = Date.now();
              lines = [];
              stopping = undefined;
              events = false;
            } else if (line === "@events") {
              events = true;
            } else if (line.startsWith("@stopping ")) {
              stopping = line.slice(10).trim();
            } else if (line === "@end") {
              const since = began;
              for (const [p, at] of this.#touched) if (at < since - 10_000) this.#touched.delete(p);
              const stale = (p: string) => (this.#touched.get(p) ?? 0) >= since;
              const changed = mergeRound(this.#pod, parseRound(lines, full), stale);
              if (TRACE && changed.length) {
                this.h.log(
                  `pod round (${full ? "full" : "since"}): ${changed.length} changed, ${
                    Date.now() - since
                  } ms`,
                );
              }
              const first = !this.#podReady;
              this.#podReady = true;
              if (first) this.#planAll = true;
              for (const p of changed) this.#podDirty.add(p);
              if (stopping && stopping !== this.#acked && stopping !== this.#flushFor) {
                // the pod is about to stop (idle): one last cycle both ways, from a full local walk
                this.#flushFor = stopping;
                this.#rescan = true;
                this.h.log("the session is about to stop (idle): flushing both ways first");
                this.#poke(0);
              } else if (
                first || changed.some((p) => !this.#rules.ignoredPath(p, this.#pod.get(p)?.kind === "dir"))
              ) {
                this.#activeAt = Date.now();
                this.#poke(0);
              }
              // a pod whose notifier answered this round (`@events`) pays nothing for an idle round
              const idle = !events && Date.now() - this.#activeAt >= this.#activeMs;
              if (!tick && !signal.aborted) tick = setTimeout(next, idle ? this.#idleTickMs : TICK_S * 1000);
            } else lines.push(line);
          }
        },
      },
    );
    if (tick) clearTimeout(tick);
    try {
      ctrl?.close();
    } catch { /* closed */ }
    if (!signal.aborted) {
      throw new SyncConnectionError(
        `the pod watcher on ${t.pod} ended: ${res.error ?? `exit ${res.exitCode}`}`,
      );
    }
  }

  async #cycle(): Promise<void> {
    const s = this.h.status;
    this.#dirty = false;
    const flushing = this.#flushFor;
    this.#anc ??= await loadAncestor(
      this.c.name,
      { root: this.c.root, workdir: this.c.workdir },
      this.h.home,
    );
    // what can have changed since the last cycle: the paths the file watcher and the pod rounds named
    const dirty = [...this.#events, ...this.#podDirty];
    this.#podDirty.clear();
    this.#walked = false;
    this.#treeChanged.clear();
    const tree = this.#localTree();
    for (const p of this.#treeChanged) dirty.push(p);
    const f = this.#folding;
    const all = this.#planAll || this.#walked || !!(f && (f.caseInsensitive || f.normalizing));
    // a cycle that fails, or leaves something undone, is followed by one that plans everything
    this.#planAll = true;
    const only = all ? undefined : planScope(dirty, [tree, this.#pod, this.#anc]);
    const r = await runCycle({
      kube: this.kube,
      c: this.c,
      rules: this.#rules,
      mode: this.c.mode ?? "two-way",
      home: this.h.home,
      pod: this.#pod,
      memo: this.#memo,
      log: this.h.log,
      touched: this.#touched,
      folding: this.#folding,
      localTree: () => tree,
      only,
      ancestor: this.#anc,
      storeAncestor: (a) => this.#storeAncestor(a),
      wroteLocal: (rel, key) => void this.#wrote.set(rel, { key, at: Date.now() }),
      channel: async () => {
        if (!this.#channel || this.#channel.closed) {
          this.#channel = await BatchChannel.open(this.kube, targetOf(this.c), APPLY2_SCRIPT, podApplyJs());
          this.h.log(`saves are applied in the pod by ${this.#channel.node ? "node (podapply.ts)" : "sh"}`);
        }
        return this.#channel;
      },
      fetchChannel: async () => {
        if (!this.#fetchChannel || this.#fetchChannel.closed) {
          this.#fetchChannel = await BatchChannel.open(this.kube, targetOf(this.c), FETCH_SCRIPT);
        }
        return this.#fetchChannel;
      },
    });
    for (const p of r.paths) this.#events.add(p);
    const old = Date.now() - SELF_WRITE_MS;
    for (const [p, w] of this.#wrote) if (w.at < old) this.#wrote.delete(p);
    this.#bursting = r.paths.length >= BURST_PATHS;
    if (r.toPod || r.toLocal) this.#activeAt = Date.now();
    if (r.toPod || r.toLocal) {
      s.lastSync = new Date().toISOString();
      s.batches++;
      s.filesSent += r.toPod;
      s.bytesSent += r.bytesToPod ?? 0;
      s.filesReceived = (s.filesReceived ?? 0) + r.toLocal;
      s.lastDirection = r.toPod && r.toLocal ? "both" : r.toPod ? "to pod" : "from pod";
      this.h.log(`sent ${r.toPod} change(s) to the pod, brought ${r.toLocal} back`);
    }
    for (const k of r.kept) {
      this.h.log(`kept a copy of an unsynced edit the ${this.c.mode} mode replaced: ${k}`);
    }
    // a cycle with a scope found the conflicts in it: the others stand as the last cycles found them
    const conflicts = only
      ? [...(s.conflicts ?? []).filter((k) => !only.has(k.path)), ...r.conflicts].sort((a, b) =>
        a.path < b.path ? -1 : a.path > b.path ? 1 : 0
      )
      : r.conflicts;
    s.conflicts = conflicts;
    const now = new Set(conflicts.map((k) => k.path));
    for (const k of conflicts) {
      if (!this.#known.has(k.path)) this.h.log(`conflict: ${k.path} (${k.why}); both versions kept`);
    }
    this.#known = now;
    s.pendingToPod = 0;
    s.pendingToLocal = 0;
    if (!r.skipped) this.#planAll = false;
    if (r.skipped) {
      s.pendingToPod = r.skipped;
      this.#poke(300); // changed under us: plan again once the watcher saw it
    } else if (flushing && !this.#dirty && this.#flushFor === flushing) {
      // both sides agree as of the announcement: the pod may stop (a change made here from now on waits
      // for the session to run again; one the flush sent is activity, and the watchdog does not stop)
      await this.#ack(flushing, r);
    }
  }

  async #ack(deadline: string, r: CycleResult): Promise<void> {
    this.#flushFor = undefined;
    this.#acked = deadline;
    const t = targetOf(this.c);
    const res = await execWatched(this.kube, t, ["sh", "-c", ACK_SCRIPT, "sh", deadline], {}).catch((e) => ({
      error: (e as Error).message,
      exitCode: undefined,
    }));
    if (res.error || res.exitCode) {
      this.h.log(`could not acknowledge the idle stop: ${res.error ?? `exit ${res.exitCode}`}`);
    } else {
      this.h.log(
        `flushed before the idle stop (${r.toPod} change(s) sent, ${r.toLocal} brought back${
          r.conflicts.length ? `, ${r.conflicts.length} conflict(s) kept on both sides` : ""
        }); told the pod it may stop`,
      );
    }
  }

  /**
   * The session's pod ended by itself: say so (status, log), drop the streams, and wait for it to run
   * again without retrying (the hook watches the pod). True when the loop is to end (a reason to give up).
   */
  async #pause(e: SessionStopped, signal: AbortSignal): Promise<boolean> {
    const s = this.h.status;
    this.#paused = true;
    this.#waiting.clear();
    for (const p of this.#events) if (!this.#rules.ignoredPath(p, false)) this.#waiting.add(p);
    s.state = "paused";
    s.pausedReason = e.reason;
    s.pausedSince = e.since ?? new Date().toISOString();
    s.pendingToPod = this.#waiting.size;
    s.pendingToLocal = 0;
    s.lastError = undefined;
    s.lastErrorAt = undefined;
    await this.h.save();
    this.h.log(
      `paused: session ${this.c.name} stopped (${e.reason}) since ${s.pausedSince}; changes made here wait ` +
        `until it runs again (\`kodama resume ${this.c.name}\`), then both sides are reconciled`,
    );
    this.#channel?.close();
    this.#channel = undefined;
    this.#fetchChannel?.close();
    this.#fetchChannel = undefined;
    this.#flushFor = undefined;
    const why = await (this.h.waitBack?.(signal) ?? Promise.resolve(undefined)).catch((x) =>
      `cannot watch pod ${this.c.pod}: ${(x as Error).message}`
    );
    this.#paused = false;
    this.#waiting.clear();
    s.pausedReason = undefined;
    s.pausedSince = undefined;
    if (signal.aborted) return true;
    if (why) {
      s.state = "stopped";
      s.lastError = `gave up: ${why}`;
      s.lastErrorAt = new Date().toISOString();
      await this.h.save();
      this.h.log(`giving up: ${why}`);
      return true;
    }
    this.h.log(`session ${this.c.name} runs again: reconciling both sides`);
    s.state = "syncing";
    await this.h.save();
    this.#rescan = true;
    this.#dirty = true;
    return false;
  }

  /** The pod ended by itself (so the loop pauses), judged from the error or, failing that, the pod. */
  async #stopped(e: Error): Promise<SessionStopped | undefined> {
    if (e instanceof SessionStopped) return e;
    try {
      await this.h.checkPod?.();
    } catch (x) {
      if (x instanceof SessionStopped) return x;
    }
    return undefined;
  }

  async run(signal: AbortSignal): Promise<void> {
    const s = this.h.status;
    this.#realRoot = await Deno.realPath(this.c.root).catch(() => undefined);
    this.#folding = await probeFolding(this.c.root, hostPlatform());
    const watcher = Deno.watchFs(this.c.root, { recursive: true });
    const events = (async () => {
      try {
        for await (const ev of watcher) {
          if (ev.flag === "rescan") {
            this.#rescan = true;
            this.#poke();
          }
          for (const p of ev.paths) this.#noteLocal(p);
        }
      } catch (e) {
        if (!signal.aborted) this.h.log(`watcher ended: ${(e as Error).message}`);
      }
    })();
    const onAbort = () => {
      watcher.close();
      this.#wake?.();
    };
    signal.addEventListener("abort", onAbort, { once: true });
    let failures = 0;
    let downSince = 0, lastTry = 0;
    /** the failure is recorded; true when the loop is to end for good */
    const fail = async (e: Error): Promise<boolean> => {
      const now = Date.now();
      if (failures === 0 || now - lastTry > ASLEEP_MS) downSince = now;
      lastTry = now;
      failures++;
      const why = await this.h.giveUp?.(e, now - downSince).catch(() => undefined);
      if (why) {
        s.state = "stopped";
        s.lastError = `gave up: ${why}`;
        s.lastErrorAt = new Date().toISOString();
        await this.h.save();
        this.h.log(`giving up: ${why} (last error: ${e.message})`);
        return true;
      }
      await this.#failed(e, failures, signal);
      return false;
    };
    let podCtrl: AbortController | undefined;
    let podDone: Promise<void> | undefined;
    let podError: Error | undefined;
    const startPod = () => {
      podCtrl = new AbortController();
      this.#podReady = false;
      podError = undefined;
      podDone = this.#watchPod(AbortSignal.any([signal, podCtrl.signal])).catch((e) => {
        podError = e as Error;
        this.#wake?.();
      });
    };
    try {
      startPod();
      while (!signal.aborted) {
        if (podError) {
          const e = podError;
          podError = undefined;
          // the pod stopped itself (idle): no retries, wait for it to run again
          const stopped = await this.#stopped(e);
          if (stopped) {
            podCtrl?.abort();
            await podDone;
            if (await this.#pause(stopped, signal)) break;
            failures = 0;
            startPod();
            continue;
          }
          if (await fail(e)) break;
          if (signal.aborted) break;
          try {
            await this.h.checkPod?.();
          } catch (e2) {
            this.h.log(`pod check: ${(e2 as Error).message}`);
            podError = e2 as Error;
            continue;
          }
          startPod();
          continue;
        }
        if (!this.#dirty || !this.#podReady || this.#timer) {
          if (s.state !== "watching" && failures === 0 && this.#podReady) {
            s.state = "watching";
            await this.h.save();
            continue;
          }
          await new Promise<void>((r) => (this.#wake = r));
          this.#wake = undefined;
          continue;
        }
        try {
          // the status file is for `sync status`: written in the background (in order), never waited for
          s.state = "syncing";
          s.pending = 1;
          void this.h.save();
          await this.#cycle();
          if (failures > 0) {
            s.reconnects++;
            s.lastReconnect = new Date().toISOString();
            this.h.log(`reconnected after ${failures} failed attempt(s); reconciled both sides`);
            failures = 0;
          }
          s.state = "watching";
          void this.h.save();
        } catch (e) {
          if (signal.aborted) break;
          this.#channel?.close();
          this.#channel = undefined;
          this.#fetchChannel?.close();
          this.#fetchChannel = undefined;
          this.#rescan = true;
          if (await fail(e as Error)) break;
          this.#dirty = true;
        }
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
      try {
        watcher.close();
      } catch { /* closed */ }
      if (this.#timer) clearTimeout(this.#timer);
      podCtrl?.abort();
      this.#channel?.close();
      this.#fetchChannel?.close();
      await events;
      await podDone;
      await this.#ancWriting;
    }
  }

  async #failed(e: Error, failures: number, signal: AbortSignal): Promise<void> {
    const s = this.h.status;
    s.state = "error";
    s.lastError = e.message;
    s.lastErrorAt = new Date().toISOString();
    await this.h.save();
    const wait = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** (failures - 1));
    this.h.log(
      `${e instanceof SyncConnectionError ? "connection lost" : "cycle failed"}: ${e.message}; retry in ${
        (wait / 1000).toFixed(1)
      } s`,
    );
    await new Promise<void>((r) => {
      const t = setTimeout(r, wait);
      signal.addEventListener("abort", () => {
        clearTimeout(t);
        r();
      }, { once: true });
    });
  }
}

/** Record the local tree as the ancestor after a full push (start): both sides hold it now. */
export async function recordPushed(
  c: SyncConfig,
  home?: string,
  sent?: { tree: Tree; hashes: Map<string, string> },
): Promise<void> {
  const rules = rulesFor({ ...c, syncGit: false });
  const memo = new Map<string, [string, string]>();
  let scanned: Tree | undefined;
  if (sent) {
    // what was sent, hashed as it was read: no second walk or read, and a file edited during the push is
    // recorded as the pod got it (its newer local version is then a local change, sent by the next cycle)
    scanned = new Map();
    for (const [p, e] of sent.tree) {
      if (rules.ignoredPath(p, e.kind === "dir")) continue;
      const h = sent.hashes.get(p);
      if (e.kind === "file" && !h) continue; // not sent (gone meanwhile): the next cycle looks again
      scanned.set(p, e);
      if (h) memo.set(p, [lkey(e), h]);
    }
  }
  const { snaps, entries } = await localSnaps(c.root, rules, new Map(), memo, hostPlatform(), scanned);
  const a: Ancestor = new Map();
  for (const [p, s] of snaps) {
    const e = entries.get(p)!;
    // the pod's stat key as tar left it (size, the mtime and mode sent): the watcher's first round finds
    // it unchanged and takes the hash from here instead of an md5sum of the whole tree in the pod; a key
    // that differs (an edit there since, a tar that kept no mtime) only costs that file's md5sum
    const pk = sent && e.kind === "file"
      ? `${e.size} ${Math.floor(e.mtime / 1000)} ${podRawMode(e.mode)}`
      : undefined;
    a.set(p, { ...s, ...(e.kind === "file" ? { lk: lkey(e), ...(pk ? { pk } : {}) } : {}) });
  }
  await saveAncestor(c.name, { root: c.root, workdir: c.workdir }, a, home);
}

/** A regular file's raw mode as the pod's `stat -c %f` prints it (hex, no leading zeros). */
export function podRawMode(mode: number): string {
  return (0o100000 | (mode & 0o7777)).toString(16);
}

/**
 * One cycle now, without the background process (resume, `sync resolve`): the pod listed in one exec,
 * then planned and applied like the loop does.
 */
export async function reconcileOnce(
  kube: Kube,
  c: SyncConfig,
  o: { home?: string; force?: CycleContext["force"]; log?: (line: string) => void } = {},
): Promise<CycleResult> {
  const cc = { ...c, syncGit: false };
  const pod = await listPod(kube, cc);
  return await runCycle({
    kube,
    c: cc,
    rules: rulesFor(cc),
    mode: c.mode ?? "two-way",
    home: o.home,
    pod,
    memo: new Map(),
    force: o.force,
    log: o.log,
    folding: await probeFolding(c.root, hostPlatform()),
  });
}
