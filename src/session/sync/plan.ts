/**
 * The three-way sync plan (pure): given the common ancestor — the last state both sides agreed on — and
 * what the local tree and the pod's tree hold now, decide per path what to do. Mutagen's `two-way-safe`
 * rules:
 *
 *   - a change on one side goes to the other (create, modify, chmod, symlink target, delete, a rename as
 *     a delete plus a create, a directory replaced by a file or the other way round);
 *   - the same change on both sides (both deleted, both made the same content) is agreement;
 *   - different changes on both sides are a **conflict**: both sides stay as they are, nothing is written;
 *   - a deletion never wins against a modification: the modified version is copied back;
 *   - a directory one side deleted while the other created or changed something in it (or the directory
 *     itself) comes back whole, unchanged siblings included (`keepDeletedDirs`); otherwise a directory is
 *     removed from a side only when every path below it on that side is removed by the same plan (a
 *     dir -> file change that would take a changed file with it is a conflict).
 *
 * The one-way modes make one side the source (`one-way-local`: the pod follows the local tree,
 * `one-way-pod`: the local tree follows the pod), but a change the other side made since the ancestor is
 * first kept as a copy (`keep: true`): never destroyed silently.
 *
 * Content is compared by hash, so an mtime-only change (a `touch`, a checkout) is no change.
 */

export type Kind = "file" | "dir" | "symlink";
export type Side = "local" | "pod";
export type SyncMode = "two-way" | "one-way-local" | "one-way-pod";
export const SYNC_MODES: SyncMode[] = ["two-way", "one-way-local", "one-way-pod"];

/** What sync compares of one path: type, permission bits, size, content hash, link target. */
export interface Snap {
  kind: Kind;
  /** permission bits (0o7777) */
  mode: number;
  size: number;
  /** content hash of a file (md5, hex: what `md5sum` prints in the pod) */
  hash?: string;
  /** a symlink's target */
  link?: string;
}

/** '/'-separated path relative to the root -> its state; absent = no such path. */
export type SnapTree = Map<string, Snap>;

export type Action =
  /** make `to` hold what `from` holds (create, modify, chmod, relink, kind change) */
  | { op: "copy"; path: string; from: Side; to: Side; entry: Snap; keep?: boolean; restore?: boolean }
  /** remove the path on `on` (a directory only once it is empty) */
  | { op: "delete"; path: string; on: Side; keep?: boolean }
  /** both sides agree already: record `entry` (undefined = gone on both) as the new ancestor */
  | { op: "agree"; path: string; entry?: Snap }
  /** both sides changed differently: nothing is done; both versions stay */
  | { op: "conflict"; path: string; local?: Snap; pod?: Snap; ancestor?: Snap; why: string };

export const other = (s: Side): Side => (s === "local" ? "pod" : "local");

/** Same content and metadata, as sync compares them (no timestamps). */
export function sameSnap(a: Snap | undefined, b: Snap | undefined): boolean {
  if (!a || !b) return a === b;
  if (a.kind !== b.kind) return false;
  if (a.kind === "symlink") return a.link === b.link;
  if ((a.mode & 0o7777) !== (b.mode & 0o7777)) return false;
  if (a.kind === "dir") return true;
  return a.size === b.size && a.hash !== undefined && a.hash === b.hash;
}

/** Is `p` strictly below `dir`? */
export function isBelow(p: string, dir: string): boolean {
  return p.length > dir.length && p.startsWith(dir) && p[dir.length] === "/";
}

const depth = (p: string) => p.split("/").length;

function why(l: Snap | undefined, p: Snap | undefined, a: Snap | undefined): string {
  const d = (s: Snap | undefined, side: string) =>
    !s
      ? `deleted ${side}`
      : !a
      ? `created ${side}`
      : a.kind !== s.kind
      ? `${a.kind} -> ${s.kind} ${side}`
      : s.kind === "file" && s.size === a.size && s.hash === a.hash
      ? `chmod ${side}`
      : `modified ${side}`;
  return `${d(l, "here")}, ${d(p, "in the pod")}`;
}

/** One path's decision, before the directory rules. */
function decide(
  path: string,
  a: Snap | undefined,
  l: Snap | undefined,
  p: Snap | undefined,
  mode: SyncMode,
): Action | undefined {
  const lc = !sameSnap(a, l), pc = !sameSnap(a, p);
  if (!lc && !pc) return undefined;
  if (sameSnap(l, p)) return { op: "agree", path, entry: l };
  if (mode !== "two-way") {
    const from: Side = mode === "one-way-local" ? "local" : "pod";
    const to = other(from);
    const src = from === "local" ? l : p;
    const dstChanged = to === "local" ? lc : pc;
    const dst = to === "local" ? l : p;
    // a copy is kept of what the follower changed itself (files and links: a directory's paths are kept one by one)
    const keep = dstChanged && dst !== undefined && dst.kind !== "dir";
    if (!src) return { op: "delete", path, on: to, ...(keep ? { keep } : {}) };
    return { op: "copy", path, from, to, entry: src, ...(keep ? { keep } : {}) };
  }
  if (lc && !pc) {
    return l ? { op: "copy", path, from: "local", to: "pod", entry: l } : { op: "delete", path, on: "pod" };
  }
  if (pc && !lc) {
    return p ? { op: "copy", path, from: "pod", to: "local", entry: p } : { op: "delete", path, on: "local" };
  }
  // both changed, differently
  if (!l) return { op: "copy", path, from: "pod", to: "local", entry: p!, restore: true };
  if (!p) return { op: "copy", path, from: "local", to: "pod", entry: l, restore: true };
  if (l.kind === "dir" && p.kind === "dir") {
    // two different chmods of one directory: its paths still sync; the bits wait for `sync resolve`
    return { op: "conflict", path, local: l, pod: p, ancestor: a, why: why(l, p, a) };
  }
  return { op: "conflict", path, local: l, pod: p, ancestor: a, why: why(l, p, a) };
}

/** Does this action take away a directory that `side` holds now? */
function removesDir(x: Action, side: Side, cur: Snap | undefined): boolean {
  if (cur?.kind !== "dir") return false;
  if (x.op === "delete") return x.on === side;
  if (x.op === "copy") return x.to === side && x.entry.kind !== "dir";
  return false;
}

/**
 * The plan: actions in the order to apply them (deletes deepest first, then copies parents first, then
 * agreements and conflicts), every path of the three trees decided.
 */
export function planSync(
  ancestor: SnapTree,
  local: SnapTree,
  pod: SnapTree,
  mode: SyncMode = "two-way",
): Action[] {
  const paths = new Set<string>([...ancestor.keys(), ...local.keys(), ...pod.keys()]);
  const acts = new Map<string, Action>();
  for (const path of paths) {
    const x = decide(path, ancestor.get(path), local.get(path), pod.get(path), mode);
    if (x) acts.set(path, x);
  }
  const tree = (s: Side) => (s === "local" ? local : pod);
  if (mode === "two-way") keepDeletedDirs(ancestor, local, pod, acts);
  // the directory rules, deepest first: a removed directory takes only what the plan removes with it
  const byDepth = [...acts.keys()].sort((a, b) => depth(b) - depth(a));
  for (const path of byDepth) {
    const x = acts.get(path);
    if (!x) continue;
    for (const side of ["local", "pod"] as Side[]) {
      if (!removesDir(x, side, tree(side).get(path))) continue;
      const kept: string[] = [];
      for (const d of tree(side).keys()) {
        if (!isBelow(d, path)) continue;
        const dx = acts.get(d);
        if (dx?.op === "delete" && dx.on === side) continue;
        if (dx?.op === "agree" && dx.entry === undefined) continue;
        kept.push(d);
      }
      if (!kept.length) continue;
      if (x.op === "delete" && mode === "two-way") {
        // the other side deleted the directory, this side still has (changed) paths in it: it comes back
        const cur = tree(side).get(path)!;
        acts.set(path, { op: "copy", path, from: side, to: other(side), entry: cur, restore: true });
      } else if (mode === "two-way" || x.op === "copy") {
        // a file replaces a directory that holds what the plan keeps: a conflict; nothing below moves
        acts.set(path, {
          op: "conflict",
          path,
          local: local.get(path),
          pod: pod.get(path),
          ancestor: ancestor.get(path),
          why: `${
            why(local.get(path), pod.get(path), ancestor.get(path))
          }; the directory still holds ${kept.length} changed path(s)`,
        });
        for (const [d, dx] of acts) if (isBelow(d, path) && dx.op !== "conflict") acts.delete(d);
      }
    }
  }
  // nothing moves below a path whose two sides are of different kinds and in conflict
  const blocked = [...acts.values()].filter((x) => x.op === "conflict" && x.local?.kind !== x.pod?.kind).map((
    x,
  ) => x.path);
  if (blocked.length) {
    for (const [d, dx] of acts) {
      if (dx.op !== "conflict" && blocked.some((b) => isBelow(d, b))) acts.delete(d);
    }
  }
  return orderActions([...acts.values()]);
}

/**
 * Mutagen's two-way-safe rule for a directory one side deleted whole while the other side created or
 * modified something in it (a rename of the directory is a delete plus a create): the deletion loses, and
 * the **whole** directory as the other side holds it — the changed paths and their unchanged siblings —
 * is copied back, so the changed file keeps its context. Deletions the other side made inside stay
 * deleted. No conflict: nothing is overwritten, and deleting the directory again finishes the job.
 * (Mutagen, pkg/synchronization/core/reconcile.go: "we'll repropagate the entire directory".)
 */
function keepDeletedDirs(ancestor: SnapTree, local: SnapTree, pod: SnapTree, acts: Map<string, Action>) {
  for (const side of ["local", "pod"] as Side[]) {
    const gone = side === "local" ? local : pod, kept = side === "local" ? pod : local;
    // the directories to bring back: for each path the keeping side changed or made, the shallowest
    // directory above it (or itself) that both had and this side deleted whole (one pass per side)
    const roots = new Set<string>();
    for (const [p, e] of kept) {
      if (sameSnap(ancestor.get(p), e)) continue;
      const parts = p.split("/");
      for (let n = 1; n <= parts.length; n++) {
        const d = parts.slice(0, n).join("/");
        if (ancestor.get(d)?.kind === "dir" && !gone.has(d) && kept.get(d)?.kind === "dir") {
          roots.add(d);
          break;
        }
      }
    }
    if (!roots.size) continue;
    for (const [p, e] of kept) {
      const parts = p.split("/");
      let hit = false;
      for (let n = 1; n <= parts.length && !hit; n++) hit = roots.has(parts.slice(0, n).join("/"));
      if (hit) acts.set(p, { op: "copy", path: p, from: other(side), to: side, entry: e, restore: true });
    }
  }
}

/** Deletes deepest first, then copies parents first, then agreements and conflicts. Pure. */
export function orderActions(all: Action[]): Action[] {
  const dels = all.filter((x) => x.op === "delete").sort((a, b) =>
    depth(b.path) - depth(a.path) || cmp(a.path, b.path)
  );
  const copies = all.filter((x) => x.op === "copy").sort((a, b) =>
    depth(a.path) - depth(b.path) || cmp(a.path, b.path)
  );
  const rest = all.filter((x) => x.op === "agree" || x.op === "conflict").sort((a, b) => cmp(a.path, b.path));
  return [...dels, ...copies, ...rest];
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The ancestor after a plan was applied in full: what each side now agrees on. Pure. */
export function nextAncestor(
  ancestor: SnapTree,
  actions: Action[],
  done: (x: Action) => boolean = () => true,
): SnapTree {
  const next = new Map(ancestor);
  for (const x of actions) {
    if (!done(x)) continue;
    if (x.op === "copy") next.set(x.path, x.entry);
    else if (x.op === "delete" || (x.op === "agree" && !x.entry)) next.delete(x.path);
    else if (x.op === "agree") next.set(x.path, x.entry!);
  }
  return next;
}

/** Counts for status lines: what goes each way, what agrees, what conflicts. */
export function summarize(actions: Action[]): { toPod: number; toLocal: number; conflicts: number } {
  let toPod = 0, toLocal = 0, conflicts = 0;
  for (const x of actions) {
    if (x.op === "conflict") conflicts++;
    else if ((x.op === "copy" && x.to === "pod") || (x.op === "delete" && x.on === "pod")) toPod++;
    else if (x.op === "copy" || x.op === "delete") toLocal++;
  }
  return { toPod, toLocal, conflicts };
}

/**
 * On a local disk that folds names (APFS, NTFS: `Foo` and `foo` are one file; APFS: NFC and NFD too), a
 * pod -> local copy is a **conflict**, never an overwrite, when its path or one of its directories would
 * land on a local name spelled differently (one the plan does not remove first), or when another pod name
 * folds onto the same local name. A case-only rename in the pod (a local delete, then the copy) still
 * goes through. `fold` is src/base/platform.ts foldName with the disk's rules. Pure.
 */
export function foldConflicts(
  plan: Action[],
  local: SnapTree,
  pod: SnapTree,
  ancestor: SnapTree,
  fold: (name: string) => string,
): Action[] {
  const goneHere = new Set(plan.filter((x) => x.op === "delete" && x.on === "local").map((x) => x.path));
  const goneThere = new Set(plan.filter((x) => x.op === "delete" && x.on === "pod").map((x) => x.path));
  const localBy = new Map<string, string>();
  for (const name of local.keys()) if (!goneHere.has(name)) localBy.set(fold(name), name);
  const podBy = new Map<string, string[]>();
  for (const [name, s] of pod) {
    if (s.kind === "dir" || goneThere.has(name)) continue;
    const k = fold(name);
    (podBy.get(k) ?? podBy.set(k, []).get(k)!).push(name);
  }
  return plan.map((x) => {
    if (x.op !== "copy" || x.to !== "local") return x;
    const parts = x.path.split("/");
    let onto: string | undefined;
    for (let n = 1; n <= parts.length && onto === undefined; n++) {
      const prefix = parts.slice(0, n).join("/");
      if (local.has(prefix) && !goneHere.has(prefix)) continue;
      const q = localBy.get(fold(prefix));
      if (q !== undefined && q !== prefix) onto = q;
    }
    if (onto === undefined && x.entry.kind !== "dir") {
      onto = (podBy.get(fold(x.path)) ?? []).find((t) => t !== x.path);
    }
    if (onto === undefined) return x;
    return {
      op: "conflict",
      path: x.path,
      local: local.get(x.path),
      pod: pod.get(x.path),
      ancestor: ancestor.get(x.path),
      why: `this disk stores it as the same file as ${onto}`,
    };
  });
}

/**
 * The paths an incremental cycle plans when only `dirty` can have changed on either side since the last
 * cycle (the loop's file watcher and pod rounds name them): each dirty path, its parent directories (a
 * file made in a new directory needs it first) and, for a dirty path that is a directory in any of the
 * trees, everything below it in any of them (the directory rules weigh what a removed directory holds).
 * Every other path is taken as unchanged on both sides, so its decision is "nothing to do". Pure.
 */
export function planScope(dirty: Iterable<string>, trees: Map<string, { kind: Kind }>[]): Set<string> {
  const scope = new Set<string>();
  const dirs = new Set<string>();
  for (const p of dirty) {
    if (!p || scope.has(p)) continue;
    scope.add(p);
    if (trees.some((t) => t.get(p)?.kind === "dir")) dirs.add(p);
    for (let i = p.lastIndexOf("/"); i > 0; i = p.lastIndexOf("/", i - 1)) scope.add(p.slice(0, i));
  }
  if (dirs.size) {
    for (const t of trees) {
      for (const k of t.keys()) {
        if (scope.has(k)) continue;
        for (let i = k.lastIndexOf("/"); i > 0; i = k.lastIndexOf("/", i - 1)) {
          if (dirs.has(k.slice(0, i))) {
            scope.add(k);
            break;
          }
        }
      }
    }
  }
  return scope;
}
