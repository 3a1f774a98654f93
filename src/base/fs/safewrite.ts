/**
 * The one way kodama writes a file, a directory or a symlink under a destination root whose content
 * comes from elsewhere (a pod's files in sync, a `cp` archive). docs/security.md "Links kodama writes":
 *
 *  - a symlink is made only when its target, resolved against the real file system as it is at that
 *    moment (every link on the way read with lstat/readlink, at most MAX_HOPS), lands inside the
 *    root and not in or through a `.git` directory; its target is relative, and a `..` may only lead
 *    it (`../../lib/x`, never `a/../..`): a `..` after a name climbs out of whatever that name becomes
 *    later, so a link made now could be turned outward by a link made after it (the chain
 *    `d/a -> ..`, `d/b -> a/..`);
 *  - nothing is written through a link: every existing component between the root and the parent of
 *    what is written is a real directory (lstat), checked again just before the final rename;
 *  - a file or a link is written under a temporary name in its real parent, then renamed into place:
 *    a link planted at the name meanwhile is replaced, never followed.
 *
 * Refusals are thrown as `Refused` (the caller reports them: a sync log line, a cp warning).
 */
import { dirname, isAbsolute, join, resolve } from "./fspath.ts";
import { isDotGit } from "../platform.ts";
import { realLanding } from "./realpath.ts";

/** The most links one resolution follows (Linux's own limit is 40). */
export const MAX_HOPS = 40;

/** A write kodama will not make, and why (a sentence fragment: "it is a symlink out of the tree"). */
export class Refused extends Error {}

const SEP = /[\\/]+/;
const parts = (p: string) => p.split(SEP).filter((s) => s !== "" && s !== ".");

/** `path` relative to `root` as segments, or undefined when it is not inside. */
function below(root: string, path: string): string[] | undefined {
  if (path === root) return [];
  const r = root.endsWith("/") || root.endsWith("\\") ? root : root + (root.includes("\\") ? "\\" : "/");
  return path.startsWith(r) ? parts(path.slice(r.length)) : undefined;
}

/**
 * Follow `target` from the real directory `from` on the real file system: each existing component is
 * lstat'ed and a link read and followed (at most MAX_HOPS). A missing component ends the walk: the rest
 * is taken as written, and a `..` in that rest cannot be known, so it is an error.
 */
export async function resolveReal(from: string, target: string): Promise<string> {
  let cur = from;
  const queue = parts(target);
  if (isAbsolute(target)) cur = resolve("/");
  let hops = 0;
  while (queue.length) {
    const c = queue.shift()!;
    if (c === "..") {
      cur = dirname(cur);
      continue;
    }
    const next = join(cur, c);
    let st: Deno.FileInfo;
    try {
      st = await Deno.lstat(next);
    } catch {
      if (queue.includes("..")) throw new Refused(`its target climbs out of ${next}, which does not exist`);
      return join(next, ...queue);
    }
    if (!st.isSymlink) {
      cur = next;
      continue;
    }
    if (++hops > MAX_HOPS) throw new Refused(`its target goes through more than ${MAX_HOPS} links`);
    const t = await Deno.readLink(next);
    if (isAbsolute(t)) cur = resolve(t.match(/^[A-Za-z]:/) ? t.slice(0, 3) : "/");
    queue.unshift(...parts(t));
  }
  return cur;
}

/** Is any segment of `rel` a `.git` (in any spelling a file system reads as `.git`)? */
const hasGit = (segs: string[]) => segs.some(isDotGit);

/**
 * Why a symlink target is refused by its text alone, before the disk is looked at: empty, absolute (or a
 * drive), a `..` after a name, a `.git` segment. Pure; linkProblem starts with it.
 */
export function targetProblem(target: string): string | undefined {
  if (target === "") return "it is a symlink to nothing";
  if (isAbsolute(target) || /^[A-Za-z]:/.test(target) || target.startsWith("\\")) {
    return `it is a symlink out of the tree (to ${target})`;
  }
  const segs = parts(target);
  const firstName = segs.findIndex((s) => s !== "..");
  if (firstName >= 0 && segs.slice(firstName).includes("..")) {
    return `its target ${target} climbs back with .. after a name (a later link could turn it outward)`;
  }
  if (hasGit(segs)) return `it is a symlink into .git (to ${target})`;
  return undefined;
}

/**
 * Why a symlink at `linkAbs` (a path under `root`) pointing at `target` may not be made, or undefined.
 * Checked against the file system as it is now: call it right before making the link.
 */
export async function linkProblem(
  root: string,
  linkAbs: string,
  target: string,
): Promise<string | undefined> {
  const text = targetProblem(target);
  if (text) return text;
  const out = `it is a symlink out of the tree (to ${target})`;
  const realRoot = await realLanding(root);
  const parent = await realLanding(dirname(resolve(linkAbs)));
  if (!below(realRoot, parent)) return "its directory is outside the tree";
  let to: string;
  try {
    to = await resolveReal(parent, target);
  } catch (e) {
    if (e instanceof Refused) return e.message;
    return `its target cannot be resolved (${(e as Error).message})`;
  }
  const rel = below(realRoot, to);
  if (!rel) return `${out}, resolving to ${to}`;
  if (hasGit(rel)) return `it is a symlink into .git (to ${target})`;
  return undefined;
}

/**
 * Why writing at `abs` would go through a link: an existing component between `root` and `abs`'s
 * parent that is a symlink or not a directory, or a `.git`. `abs` itself may be anything (it is
 * replaced by a rename). Undefined when all is well. Missing components are fine (made by mkdirUnder).
 * `self`: for a read, `abs` itself is checked too — a symlink there is `it is a symlink (NAME)`.
 * With `filesEnd`, a component that is a file ends the walk as a missing one does: a writer that
 * replaces files by directories (git's checkout) cannot go through it.
 */
export async function parentProblem(
  root: string,
  abs: string,
  o: { self?: boolean; filesEnd?: boolean } = {},
): Promise<string | undefined> {
  const r = resolve(root);
  const segs = below(r, resolve(abs));
  if (!segs) return "it is outside the tree";
  if (hasGit(segs)) return "it is inside .git";
  let cur = r;
  const last = segs.length - 1;
  for (const [i, s] of (o.self ? segs : segs.slice(0, -1)).entries()) {
    cur = join(cur, s);
    let st: Deno.FileInfo;
    try {
      st = await Deno.lstat(cur);
    } catch {
      return undefined;
    }
    if (st.isSymlink) return i === last ? `it is a symlink (${s})` : `its path goes through a symlink (${s})`;
    if (!st.isDirectory && i !== last) return o.filesEnd ? undefined : `its path goes through a file (${s})`;
  }
  return undefined;
}

async function checkParents(root: string, abs: string): Promise<void> {
  const why = await parentProblem(root, abs);
  if (why) throw new Refused(why);
}

/** Make `abs` and its missing parents under `root`, one at a time, never through a link. */
export async function mkdirUnder(root: string, abs: string, mode?: number): Promise<void> {
  const r = resolve(root);
  const segs = below(r, resolve(abs));
  if (!segs) throw new Refused("it is outside the tree");
  if (hasGit(segs)) throw new Refused("it is inside .git");
  await Deno.mkdir(r, { recursive: true }); // the root is the caller's choice
  let cur = r;
  for (const s of segs) {
    cur = join(cur, s);
    try {
      await Deno.mkdir(cur, mode === undefined ? {} : { mode });
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    }
    const st = await Deno.lstat(cur);
    if (st.isSymlink) throw new Refused(`its path goes through a symlink (${s})`);
    if (!st.isDirectory) throw new Refused(`its path goes through a file (${s})`);
  }
}

const tmpName = (abs: string, prefix: string) =>
  join(dirname(abs), `${prefix}${crypto.randomUUID().slice(0, 8)}`);

/**
 * Real paths a granted workflow step is reading right now (a file, or a directory and all below it), with a
 * count of holders: nothing kodama writes lands on one until it is released (holdAgainstWrites). A trusted
 * step so reads the content its pins were checked against, whatever a parallel step brings from a pod.
 */
const held = new Map<string, number>();

/** Hold these real paths against every write made through this module; call the result to release. */
export function holdAgainstWrites(realPaths: readonly string[]): () => void {
  const mine = [...new Set(realPaths)];
  for (const p of mine) held.set(p, (held.get(p) ?? 0) + 1);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    for (const p of mine) {
      const n = (held.get(p) ?? 1) - 1;
      if (n > 0) held.set(p, n);
      else held.delete(p);
    }
  };
}

async function heldProblem(abs: string): Promise<string | undefined> {
  if (!held.size) return undefined;
  const real = await realLanding(abs);
  for (const h of held.keys()) {
    if (real === h || below(h, real)) {
      return "a granted step of the workflow is reading it now (its pinned content)";
    }
  }
  return undefined;
}

/** Rename `tmp` onto `abs` once the parents are checked again; the temporary goes on a refusal. */
async function place(root: string, tmp: string, abs: string): Promise<void> {
  try {
    await checkParents(root, abs);
    const busy = await heldProblem(abs);
    if (busy) throw new Refused(busy);
    const cur = await Deno.lstat(abs).catch(() => undefined);
    if (cur?.isDirectory) await Deno.remove(abs); // an empty one only
    await Deno.rename(tmp, abs);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

export interface WriteOptions {
  /** the start of the temporary name (default `.kodama-tmp.`) */
  prefix?: string;
  /** permission bits (default 0o644 less the umask) */
  mode?: number;
  /** modification time, seconds */
  mtime?: number;
  /** told the temporary file's lstat just before it is renamed into place */
  placing?: (st: Deno.FileInfo) => Promise<void>;
}

/** A file being written under `root` at `abs`: chunks go to a temporary name, `close` renames it in. */
export interface SafeFile {
  write(b: Uint8Array): Promise<void>;
  close(): Promise<void>;
  abort(): Promise<void>;
}

/** Open `abs` (under `root`) for writing the safe way. The parent must exist. */
export async function openUnder(root: string, abs: string, o: WriteOptions = {}): Promise<SafeFile> {
  await checkParents(root, abs);
  const tmp = tmpName(abs, o.prefix ?? ".kodama-tmp.");
  const f = await Deno.open(tmp, { write: true, createNew: true, mode: o.mode ?? 0o644 });
  let open = true;
  return {
    async write(b) {
      let off = 0;
      while (off < b.length) off += await f.write(b.subarray(off));
    },
    async close() {
      if (open) f.close();
      open = false;
      if (o.mode !== undefined) await Deno.chmod(tmp, o.mode);
      if (o.mtime !== undefined) {
        const mt = new Date(o.mtime * 1000);
        await Deno.utime(tmp, mt, mt);
      }
      await o.placing?.(await Deno.lstat(tmp));
      await place(root, tmp, abs);
    },
    async abort() {
      if (open) f.close();
      open = false;
      await Deno.remove(tmp).catch(() => {});
    },
  };
}

/** Write `data` at `abs` (under `root`) the safe way. */
export async function writeUnder(
  root: string,
  abs: string,
  data: Uint8Array,
  o: WriteOptions = {},
): Promise<void> {
  const f = await openUnder(root, abs, o);
  try {
    await f.write(data);
  } catch (e) {
    await f.abort();
    throw e;
  }
  await f.close();
}

/** Make the symlink `abs -> target` under `root` when linkProblem allows it (else Refused). */
export async function symlinkUnder(
  root: string,
  abs: string,
  target: string,
  o: Pick<WriteOptions, "prefix" | "placing"> = {},
): Promise<void> {
  await checkParents(root, abs);
  const why = await linkProblem(root, abs, target);
  if (why) throw new Refused(why);
  const tmp = tmpName(abs, o.prefix ?? ".kodama-tmp.");
  await Deno.symlink(target, tmp);
  await o.placing?.(await Deno.lstat(tmp));
  await place(root, tmp, abs);
}

/** A second name `abs` for the regular file `existing`, both under `root`, neither through a link. */
export async function hardLinkUnder(root: string, existing: string, abs: string): Promise<void> {
  await checkParents(root, existing);
  await checkParents(root, abs);
  const st = await Deno.lstat(existing);
  if (!st.isFile) throw new Refused("its target is not a regular file");
  const tmp = tmpName(abs, ".kodama-tmp.");
  await Deno.link(existing, tmp);
  await place(root, tmp, abs);
}
