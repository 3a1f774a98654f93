/**
 * The local side of a sync (SyncEndpoint): the tree under the root, scanned (or kept by the loop from its
 * file watcher), hashed only where it moved; pulled files written the one safe way (src/base/fs/safewrite.ts),
 * each checked against what the scan saw just before it is written.
 */
import { escapeControl, quote } from "../../base/text/escape.ts";
import { dirname, join } from "node:path";
import { type Ancestor, hashBytes, hashFileSized } from "./ancestor.ts";
import type { IgnoreRules } from "./ignore.ts";
import type { Snap, SnapTree } from "./plan.ts";
import { hasUnixModes, hostPlatform, type Platform, podMode } from "../../base/platform.ts";
import {
  localWriteProblem,
  type ProtectedPlaces,
  pulledLinkProblem,
  pulledMode,
  throughLink,
} from "./safety.ts";
import { mkdirUnder, Refused, symlinkUnder, writeUnder } from "../../base/fs/safewrite.ts";
import { protectedPlaces } from "./protect.ts";
import { type Entry, gitExecutables, scanTree, type Tree } from "./scan.ts";
import type { SyncConfig } from "./store.ts";
import type {
  Applied,
  Fetched,
  FetchedFile,
  HaltPoint,
  KeepCopy,
  Move,
  Snapshot,
  SyncEndpoint,
} from "./endpoint.ts";
import { pick } from "./endpoint.ts";
import type { StagedFile } from "./podside.ts";

/**
 * A pulled file is written under `.kodama-pull-SESSION.RANDOM` in its directory, then renamed into place.
 * One left by a process killed between the two is removed by the session's next cycle: only one process
 * at a time writes a session's (the daemon's claim; resume and resolve stop it first).
 */
export const TMP_PREFIX = ".kodama-pull-";

export const lkey = (e: Entry) => `${e.size}:${e.mtime}`;
/**
 * What a local path's lstat says of it, as a rename keeps it: a later write (mtime), chmod (mode) or a
 * replacement by another kind changes it.
 */
export const selfKey = (st: Deno.FileInfo) =>
  `${st.isSymlink ? "l" : st.isFile ? "f" : "d"}:${st.size}:${st.mtime?.getTime()}:${st.mode}`;

/** The local tree as the planner compares it (hashing only what moved since it was last hashed). */
export async function localSnaps(
  root: string,
  rules: IgnoreRules,
  anc: Ancestor,
  memo: Map<string, [string, string]>,
  plat: Platform = hostPlatform(),
  scanned?: Tree,
  halt?: (point: HaltPoint) => Promise<void>,
  /** counts the files hashed */
  count?: { n: number },
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
        if (count) count.n++;
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

/** protectedPlaces for a cycle: the symlinks of the local tree with a `.kodama` part lead to kodama's own. */
export function placesNow(c: SyncConfig, tree: Map<string, Entry>, home?: string): Promise<ProtectedPlaces> {
  const links: string[] = [];
  for (const [p, e] of tree) if (e.kind === "symlink" && /(^|\/)\.kodama(\/|$)/i.test(p)) links.push(p);
  return protectedPlaces(c.root, links, home);
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
 * Write one pulled file or link the one safe way (src/base/fs/safewrite.ts): temp name in the same real
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
export const tmpPrefix = (c: SyncConfig) => `${TMP_PREFIX}${c.name}.`;

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

/** What the local endpoint needs: the session, and what the loop keeps between cycles. */
export interface LocalOptions {
  c: SyncConfig;
  rules: IgnoreRules;
  home?: string;
  /** md5 memo: rel -> [statKey, hash] */
  memo: Map<string, [string, string]>;
  /** the tree now (the loop keeps one up to date from its file watcher); default: a full scan */
  tree?: Tree;
  /** the refusals already logged (session and path -> why and the pod's version): each is said once */
  refusals: Map<string, string>;
  /** `sync pull --force`: a local directory a pulled file replaces loses what is not ignored */
  clearDirs?: boolean;
  /** a pulled file or link was just written here, with this `selfKey` (the loop's watcher will report it) */
  wroteLocal?: (rel: string, key: string) => void;
  halt?: (point: HaltPoint) => Promise<void>;
  log?: (line: string) => void;
}

export class LocalEndpoint implements SyncEndpoint {
  readonly side = "local";
  #entries = new Map<string, Entry>();
  #count = { n: 0 };

  constructor(private o: LocalOptions) {}

  async snapshot(anc: Ancestor, scope?: Set<string>): Promise<Snapshot> {
    const { c, rules, tree } = this.o;
    const { snaps, entries, leftovers } = await localSnaps(
      c.root,
      rules,
      anc,
      this.o.memo,
      hostPlatform(),
      tree && (scope ? pick(tree, scope) : tree),
      this.o.halt,
      this.#count,
    );
    this.#entries = entries;
    // gone from the loop's kept tree too: its next full cycle does not look for them again
    for (const p of await removeLeftovers(c, leftovers, this.o.log)) tree?.delete(p);
    return { snaps, unknown: new Set() };
  }

  async fetch(rels: string[]): Promise<Fetched> {
    const got: Fetched = new Map();
    for (const rel of rels) {
      const abs = join(this.o.c.root, rel);
      try {
        const st = await Deno.lstat(abs);
        const mtime = (st.mtime?.getTime() ?? 0) / 1000;
        if (st.isSymlink) {
          got.set(rel, { kind: "symlink", link: await Deno.readLink(abs), mode: 0o777, mtime });
        } else if (st.isFile) {
          got.set(rel, {
            kind: "file",
            data: await Deno.readFile(abs),
            mode: (st.mode ?? 0o644) & 0o7777,
            mtime,
          });
        }
      } catch { /* gone meanwhile: left out */ }
    }
    return got;
  }

  stage(path: string, snap: Snap): StagedFile {
    const mtimeMs = this.#entries.get(path)?.mtime ?? Date.now();
    if (snap.kind === "symlink") return { path, kind: "symlink", mode: 0o777, link: snap.link, mtimeMs };
    // read while the archive streams; a file that changed since the scan is dropped there (`X`)
    return {
      path,
      kind: "file",
      mode: snap.mode,
      abs: join(this.o.c.root, path),
      size: snap.size,
      hash: snap.hash,
      mtimeMs,
    };
  }

  token(path: string): string | undefined {
    const e = this.#entries.get(path);
    return e && lkey(e);
  }

  mtimeMs(path: string): number | undefined {
    return this.#entries.get(path)?.mtime;
  }

  takeHashed(): number {
    const n = this.#count.n;
    this.#count.n = 0;
    return n;
  }

  /** Said once per path and version: a refusal stays refused every cycle until the pod's version changes. */
  #say(path: string, version: string, line: string): void {
    const key = `${this.o.c.name}\0${path}`;
    const r = this.o.refusals;
    if (r.get(key) === version) return;
    if (r.size > 10_000) r.clear();
    r.set(key, version);
    this.o.log?.(line);
  }

  /**
   * Why a pod's path is not written here: a name no local file may have, one of kodama's rules (its
   * configuration, an ignore file), a parent that is a link, a symlink whose target leads out of the tree.
   * The protected places are as they are now: the config and the links it names are read again for every
   * batch that writes here (a directory added to the config, or named through a link, counts at once).
   */
  async #problems(moves: Move[]): Promise<(a: Move) => string | undefined> {
    const { c, home } = this.o;
    const places = moves.length
      ? await placesNow(c, this.o.tree ?? this.#entries, home)
      : { workflows: [], state: [] };
    return (a) =>
      localWriteProblem(a.path, undefined, places, a.op === "copy" && a.entry.kind !== "dir") ??
        (throughLink(c.root, a.path) ? "it goes through a symlink" : undefined) ??
        (a.op === "copy" && a.entry.kind === "symlink" ? pulledLinkProblem(a.path, a.entry.link) : undefined);
  }

  async apply(moves: Move[], from: SyncEndpoint, keep: KeepCopy): Promise<Applied> {
    const problem = await this.#problems(moves);
    const want = moves.filter((a) => a.op === "copy" && a.entry.kind !== "dir" && !problem(a)).map((a) =>
      a.path
    );
    const fetched = want.length ? await from.fetch(want) : new Map();
    const out: Applied = { done: new Set(), tokens: new Map(), hashes: new Map(), sizes: new Map() };
    for (const a of moves) {
      const why = problem(a);
      const version = (line: string) => `${line}\0${a.op === "copy" ? from.token(a.path) : "deleted"}`;
      if (why) {
        this.#say(a.path, version(why), `not writing ${quote(a.path)} locally: ${why}`);
        continue;
      }
      const seen = this.#entries.get(a.path);
      if (!localStill(this.o.c.root, a.path, seen)) continue; // changed since the scan: next cycle
      try {
        if (await this.#applyOne(a, seen, fetched.get(a.path), keep, out, version)) out.done.add(a);
      } catch (e) {
        // said once per version of the pod's path and reason, as a refusal above: every cycle tries again
        const line = e instanceof Refused
          ? `not writing ${quote(a.path)} locally: ${e.message}`
          : `could not apply ${a.op} ${a.path} locally: ${(e as Error).message}`;
        this.#say(a.path, version(line), line);
      }
    }
    return out;
  }

  /** One step, the path still as the scan saw it; false when it is left for a later cycle. */
  async #applyOne(
    a: Move,
    seen: Entry | undefined,
    f: FetchedFile | undefined,
    keep: KeepCopy,
    out: Applied,
    version: (line: string) => string,
  ): Promise<boolean> {
    const { c, rules } = this.o;
    const abs = join(c.root, a.path);
    if (a.keep && seen && seen.kind !== "dir") {
      await keep(a.path, seen.kind === "symlink" ? seen.link ?? "" : await Deno.readFile(abs));
    }
    if (a.op === "delete") {
      await Deno.remove(abs); // a directory only when empty (ignored files keep it)
    } else if (a.entry.kind === "dir") {
      if (seen && seen.kind !== "dir") await Deno.remove(abs);
      if (!(await Deno.lstat(dirname(abs)).then((st) => st.isDirectory, () => false))) {
        throw new Error("its directory is gone here");
      }
      await mkdirUnder(c.root, abs); // never through a link planted meanwhile
      const m = pulledMode(a.entry.mode);
      if (m !== undefined) await Deno.chmod(abs, m);
    } else {
      if (!f) return false; // gone in the pod meanwhile
      if (
        seen?.kind === "dir" &&
        !(await makeRoom(c.root, a.path, rules, !!this.o.clearDirs, (l) => this.#say(a.path, version(l), l)))
      ) return false;
      await writeLocal(c.root, a.path, f, tmpPrefix(c), async (st) => {
        await this.o.halt?.("placing");
        this.o.wroteLocal?.(a.path, selfKey(st));
      });
      if (f.kind === "file") {
        out.hashes.set(a.path, await hashBytes(f.data!));
        out.sizes!.set(a.path, f.data!.length);
      }
      const st = Deno.lstatSync(abs);
      out.tokens.set(a.path, `${st.size}:${st.mtime?.getTime() ?? 0}`);
    }
    return true;
  }
}
