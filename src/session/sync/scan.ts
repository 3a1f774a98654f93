/**
 * The local side of sync: a walk of the tree under the ignore rules, and what one path is now.
 * Symlinks are recorded as links (their target text), never followed, wherever they point.
 */
import { join, sep } from "node:path";
import type { IgnoreRules } from "./ignore.ts";
import { type Folding, hasUnixModes, hostPlatform, type Platform, podMode } from "../../base/platform.ts";

/**
 * What a scan reads of the local file system (Deno's own functions by default). Tests put a
 * case-folding in-memory file system behind it (tests/unit/platform/folding_fs.ts).
 */
export interface ScanFs {
  readDirSync(path: string): Iterable<{ name: string }>;
  lstatSync(path: string): Deno.FileInfo;
  readLinkSync(path: string): string;
}

export type Kind = "file" | "dir" | "symlink";

/** One path as sync knows it (also the manifest's record of what the pod was sent). */
export interface Entry {
  kind: Kind;
  /** permission bits (0o7777) */
  mode: number;
  size: number;
  /** modification time, milliseconds */
  mtime: number;
  /** inode and device: a rename keeps them, hard links share them */
  ino: number;
  dev: number;
  nlink: number;
  /** symlink target */
  link?: string;
}

/** '/'-separated path relative to the root -> entry. */
export type Tree = Map<string, Entry>;

export function entryOf(st: Deno.FileInfo, link?: string, p: Platform = hostPlatform()): Entry | undefined {
  const kind: Kind | undefined = st.isSymlink
    ? "symlink"
    : st.isDirectory
    ? "dir"
    : st.isFile
    ? "file"
    : undefined;
  if (!kind) return undefined; // sockets, fifos, devices are not synced
  return {
    kind,
    // Windows reports 0o666 or 0o444, which must never reach the pod: adoptModes picks the real ones
    mode: hasUnixModes(p) ? (st.mode ?? 0o644) & 0o7777 : podMode({ local: null, isDir: kind === "dir" }, p),
    size: kind === "file" ? st.size : 0,
    mtime: st.mtime?.getTime() ?? 0,
    ino: st.ino ?? 0,
    dev: st.dev ?? 0,
    nlink: st.nlink ?? 1,
    ...(link !== undefined ? { link } : {}),
  };
}

let lastRoot: string | undefined, lastBase = "";

/**
 * `root` joined with a tree path: node's `join`, without its normalizing pass over the whole path for the
 * paths a walk makes, which are normalized already (~7 us a call, 5,000 in a walk and again in a push).
 * Any other `rel` (a `..`, a `.`, an empty segment) goes through `join`.
 */
export function inRoot(root: string, rel: string): string {
  if (!rel || rel[0] === "/" || rel.endsWith("/") || rel.includes("//") || DOTS.test(rel)) {
    return join(root, rel);
  }
  if (root !== lastRoot) {
    lastRoot = root;
    lastBase = join(root);
  }
  const r = sep === "/" ? rel : rel.replaceAll("/", sep);
  if (lastBase === ".") return r;
  return lastBase.endsWith(sep) ? lastBase + r : lastBase + sep + r;
}

const DOTS = /(^|\/)\.\.?(\/|$)/;

/**
 * lstat one path; undefined when it is gone (or of a kind sync skips). Synchronous: many small calls
 * are several times cheaper than async ones, and a walk does nothing else meanwhile. On a disk that
 * folds names (`folding`), lstat finds `Foo.ts` after a rename to `foo.ts`: the name counts only when
 * its directory lists it spelled exactly so.
 */
export function statPathSync(
  root: string,
  rel: string,
  fs: ScanFs = Deno,
  folding?: Folding,
): Entry | undefined {
  const abs = inRoot(root, rel);
  let st: Deno.FileInfo;
  try {
    st = fs.lstatSync(abs);
  } catch {
    return undefined;
  }
  if (folding && (folding.caseInsensitive || folding.normalizing) && !listedExactly(root, rel, fs)) {
    return undefined;
  }
  let link: string | undefined;
  if (st.isSymlink) {
    try {
      link = fs.readLinkSync(abs);
    } catch {
      return undefined;
    }
  }
  return entryOf(st, link);
}

/** Does each directory on the way list the next name of `rel` spelled exactly as `rel` spells it? */
function listedExactly(root: string, rel: string, fs: ScanFs): boolean {
  const parts = rel.split("/");
  for (let i = 0; i < parts.length; i++) {
    try {
      const names = [...fs.readDirSync(join(root, ...parts.slice(0, i)))].map((d) => d.name);
      if (!names.includes(parts[i])) return false;
    } catch {
      return false;
    }
  }
  return true;
}

export function statPath(
  root: string,
  rel: string,
  fs?: ScanFs,
  folding?: Folding,
): Promise<Entry | undefined> {
  return Promise.resolve(statPathSync(root, rel, fs, folding));
}

/**
 * The mode to send for a local entry where the OS keeps no Unix modes (Windows): the ancestor's (what
 * the pod was last sent, or pulled from it), else 0755 for a file git marks executable, else 0644 /
 * 0755 — never world-writable (src/base/platform.ts podMode). Elsewhere the entry is left as it is.
 */
export function adoptMode(
  rel: string,
  e: Entry,
  ancestor: Entry | undefined,
  p: Platform = hostPlatform(),
  gitExecutable?: Set<string>,
): Entry {
  if (hasUnixModes(p) || e.kind === "symlink") return e;
  const mode = podMode({
    local: null,
    isDir: e.kind === "dir",
    ancestor: ancestor?.kind === e.kind ? ancestor.mode : undefined,
    gitExecutable: gitExecutable?.has(rel),
  }, p);
  return mode === e.mode ? e : { ...e, mode };
}

/** adoptMode for every entry of `now`, against the manifest `then` (in place; returns it). */
export function adoptModes(
  now: Tree,
  then: Tree,
  p: Platform = hostPlatform(),
  gitExecutable?: Set<string>,
): Tree {
  if (hasUnixModes(p)) return now;
  for (const [rel, e] of now) now.set(rel, adoptMode(rel, e, then.get(rel), p, gitExecutable));
  return now;
}

/**
 * The files git records as executable (mode 100755) under `root`, as root-relative paths; empty when
 * `root` is not in a git work tree. Windows loses the bit on disk; git keeps it. Read from git's index file
 * (gitindex.ts): `git ls-files` would run the repository's core.fsmonitor program.
 */
export async function gitExecutables(root: string): Promise<Set<string>> {
  return await (await import("./gitindex.ts")).gitExecutablesOf(root);
}

export interface ScanOptions {
  /** only below this directory (relative; "" = all) */
  under?: string;
  /** the file system to read (default Deno's) */
  fs?: ScanFs;
}

/**
 * Walk `root` (or one directory below it), leaving out what `rules` ignore. Directories come before
 * their contents; the map's order is the walk's order.
 */
export function scanTree(root: string, rules: IgnoreRules, o: ScanOptions = {}): Promise<Tree> {
  return Promise.resolve(scanTreeSync(root, rules, o));
}

/** scanTree, synchronously. */
export function scanTreeSync(root: string, rules: IgnoreRules, o: ScanOptions = {}): Tree {
  const out: Tree = new Map();
  const start = o.under ?? "";
  const fs = o.fs ?? Deno;
  if (start) {
    if (rules.ignoredPath(start, true)) return out;
    const e = statPathSync(root, start, fs);
    if (!e) return out;
    out.set(start, e);
    if (e.kind !== "dir") return out;
  }
  const walk = (dir: string): void => {
    const names: string[] = [];
    try {
      for (const d of fs.readDirSync(inRoot(root, dir))) names.push(d.name);
    } catch {
      return; // removed meanwhile, or unreadable
    }
    names.sort();
    rules.listed(dir, names);
    const subdirs: string[] = [];
    for (const n of names) {
      const rel = dir ? `${dir}/${n}` : n;
      const e = statPathSync(root, rel, fs);
      if (!e || rules.ignoredHere(rel, e.kind === "dir")) continue;
      out.set(rel, e);
      if (e.kind === "dir") subdirs.push(rel);
    }
    for (const s of subdirs) walk(s);
  };
  walk(start);
  return out;
}

/**
 * Bring a scanned `tree` up to date for the paths a file watcher named (root-relative), without walking
 * the rest: each path is looked at again from the nearest directory the tree holds. A path now absent or
 * ignored leaves the tree with everything below it; a directory that is new there (or another one, by
 * inode, after a rename) is walked; one that stays is only re-stat-ed (its children have events of their
 * own). A file with more than one name brings its other names along (an edit through one changes them all,
 * and the watcher names only the one written). Returns how many paths were looked at. In place.
 */
export function updateTree(
  tree: Tree,
  root: string,
  rules: IgnoreRules,
  rels: Iterable<string>,
  fs: ScanFs = Deno,
  changed?: Set<string>,
): number {
  const put = (p: string, e: Entry) => {
    tree.set(p, e);
    changed?.add(p);
  };
  const del = (p: string) => {
    if (tree.delete(p)) changed?.add(p);
  };
  const drop = (p: string) => {
    const was = tree.get(p);
    del(p);
    if (was?.kind !== "dir") return;
    const pre = p + "/";
    for (const q of tree.keys()) if (q.startsWith(pre)) del(q);
  };
  // shallow first: a directory walked covers the events below it
  const list = [...new Set(rels)].filter((r) => r && !r.startsWith("..")).sort((a, b) =>
    a.split("/").length - b.split("/").length
  );
  const walked: string[] = [];
  /** inodes with more than one name that changed: the other names changed too, without an event */
  const linked = new Set<string>();
  const noteLinks = (e: Entry | undefined) => {
    if (e?.kind === "file" && e.nlink > 1) linked.add(`${e.dev}:${e.ino}`);
  };
  let looked = 0;
  for (const rel of list) {
    if (walked.some((w) => rel === w || rel.startsWith(w + "/"))) continue;
    // from the nearest directory the tree knows: a path below a directory it does not know yet is that
    // directory's walk
    const parts = rel.split("/");
    let i = parts.length - 1;
    while (i > 0 && tree.get(parts.slice(0, i).join("/"))?.kind !== "dir") i--;
    const p = parts.slice(0, i + 1).join("/");
    if (walked.some((w) => p === w || p.startsWith(w + "/"))) continue;
    looked++;
    const e = statPathSync(root, p, fs);
    if (!e || rules.ignoredPath(p, e.kind === "dir")) {
      noteLinks(tree.get(p));
      drop(p);
      continue;
    }
    const old = tree.get(p);
    if (e.kind !== "dir") {
      if (old?.kind === "dir") drop(p);
      put(p, e);
      noteLinks(e);
      continue;
    }
    if (old?.kind === "dir" && old.ino === e.ino && old.dev === e.dev && p === rel) {
      put(p, e);
      continue;
    }
    drop(p);
    for (const [q, qe] of scanTreeSync(root, rules, { under: p, fs })) put(q, qe);
    walked.push(p);
  }
  if (linked.size) {
    for (const [q, qe] of tree) {
      if (qe.kind !== "file" || !linked.has(`${qe.dev}:${qe.ino}`)) continue;
      const now = statPathSync(root, q, fs);
      if (now) put(q, now);
      else del(q);
      looked++;
    }
  }
  return looked;
}

/** Same content as far as sync can tell without reading it (size, mtime, mode, kind, link). */
export function sameEntry(a: Entry, b: Entry): boolean {
  if (a.kind !== b.kind || a.mode !== b.mode) return false;
  if (a.kind === "file") return a.size === b.size && a.mtime === b.mtime;
  if (a.kind === "symlink") return a.link === b.link;
  return true;
}

export interface TreeDiff {
  /** new or changed paths (directories included), in walk order */
  changed: string[];
  /** paths the manifest had that are gone locally (or changed kind) */
  deleted: string[];
}

/**
 * What to send so the pod matches `now`, given what it was sent before (`then`). Only paths the
 * manifest knows are deleted: files the pod made itself are left alone. A hard-linked file that
 * changed brings its other names along (rewriting one name in the pod would split the link).
 */
export function diffTrees(then: Tree, now: Tree): TreeDiff {
  const changed: string[] = [];
  const deleted: string[] = [];
  for (const [p, e] of then) {
    const n = now.get(p);
    if (!n || n.kind !== e.kind) deleted.push(p);
  }
  const seen = new Set<string>();
  for (const [p, e] of now) {
    const t = then.get(p);
    if (!t || !sameEntry(t, e) || (e.kind === "file" && e.nlink > 1 && t.ino !== e.ino)) {
      changed.push(p);
      seen.add(p);
    }
  }
  // hard links: every name of a changed multi-link inode is sent again
  const byInode = new Map<string, string[]>();
  for (const [p, e] of now) {
    if (e.kind === "file" && e.nlink > 1) {
      const k = `${e.dev}:${e.ino}`;
      (byInode.get(k) ?? byInode.set(k, []).get(k)!).push(p);
    }
  }
  for (const names of byInode.values()) {
    if (names.some((n) => seen.has(n))) {
      for (const n of names) {
        if (!seen.has(n)) {
          seen.add(n);
          changed.push(n);
        }
      }
    }
  }
  return { changed: sortWalk(changed), deleted: pruneNested(deleted) };
}

/** Parents before children ('/' sorts before any name character that matters here). */
export function sortWalk(paths: string[]): string[] {
  return [...paths].sort(walkOrder);
}

/**
 * Component by component, each compared as strings are: the same as comparing the whole paths with `/`
 * below every other code unit (a name that is a prefix of another ends first either way), without
 * splitting (a sort of 5,000 paths made ~120,000 arrays).
 */
export function walkOrder(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i), y = b.charCodeAt(i);
    if (x === y) continue;
    if (x === SLASH) return -1;
    if (y === SLASH) return 1;
    return x - y;
  }
  return a.length - b.length;
}

const SLASH = 0x2f;

/** Drop paths inside another path of the list (removing the directory removes them). */
export function pruneNested(paths: string[]): string[] {
  const kept = new Set<string>();
  const out: string[] = [];
  for (const p of sortWalk(paths)) {
    const parts = p.split("/");
    let inside = false;
    for (let i = 1; i < parts.length && !inside; i++) inside = kept.has(parts.slice(0, i).join("/"));
    if (inside) continue;
    out.push(p);
    kept.add(p);
  }
  return out;
}
