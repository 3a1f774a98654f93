/**
 * Writes below a directory kodama pinned, none of them through a link planted at any moment (docs/security.md,
 * "Door git": every write through `.git` is checked at the moment of the write). Door git's locks, renames,
 * reflog lines and objects (src/session/git/doorgit.ts) all go through here.
 *
 * Deno has no `openat`/`O_NOFOLLOW`, so each write is an lstat walk right before its syscall and a check of
 * what it did right after:
 *
 * - the root is pinned when the call starts (its real path and its identity, dev/ino); each write lstats the
 *   root (the same directory, not a link) and every directory component below it (a directory, never a
 *   link), making a missing one with a plain `mkdir` (which never follows a final link) and lstat'ing it;
 * - a file is created with `createNew` (`O_CREAT|O_EXCL`: a final link is never followed, an existing name
 *   refuses); an existing file is appended to only when lstat shows a regular file with one name (nlink 1),
 *   and the opened file's own stat must be that file (dev/ino): a swap between the lstat and the open is
 *   seen;
 * - a rename stays within one checked directory (rename replaces a final link, never follows it);
 * - after each syscall the walk is made again (the same identities) and the name must hold the very file
 *   kodama holds open (dev/ino, nlink 1).
 *
 * What remains: a directory component swapped for a link and back within the microseconds between the
 * walk and the syscall. The check after the syscall catches a swap still in place then; a result that
 * landed elsewhere is undone as far as a path allows — a file kodama created there is removed, an append is
 * truncated back to its size before (through the open file, wherever it is), a directory kodama made there
 * is removed when empty — and the write is refused. A rename that landed elsewhere replaced a file of the
 * same name there (a ref's name: `main`); kodama removes its own file and refuses. Where the platform has no
 * inode numbers (dev/ino null) the identity checks compare nothing and the link checks remain.
 */
import { ExitCode, KodamaError } from "../errors.ts";
import { join } from "./fspath.ts";

/** A directory pinned when a call starts: where it is (real path) and which directory it is. */
export interface Pinned {
  real: string;
  dev: number;
  ino: number | null;
}

type Id = { dev: number; ino: number | null };
const idOf = (st: Deno.FileInfo): Id => ({ dev: st.dev, ino: st.ino });
const same = (a: Id, b: Id) => a.dev === b.dev && a.ino === b.ino;

/** A write refused (exit 4), naming the path once. */
export function refusedWrite(path: string, why: string): KodamaError {
  return new KodamaError(
    `kodama does not write ${path}: ${why}`,
    ExitCode.FORBIDDEN,
    "nothing was written there; remove the link (or what replaced the directory) and run it again",
  );
}

const lstatOr = (p: string) =>
  Deno.lstat(p).catch((e) => {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return undefined;
    throw e;
  });

/** Pin `dir` (its real path and identity) for the writes of a call. */
export async function pinDir(dir: string): Promise<Pinned> {
  const real = await Deno.realPath(dir);
  const st = await Deno.lstat(real);
  if (!st.isDirectory) throw refusedWrite(dir, "it is not a directory");
  return { real, ...idOf(st) };
}

/** `rel` ("refs/heads/x") as names; `..`, `.` and empty names are a caller's bug. */
function names(rel: string): string[] {
  const segs = rel.split("/");
  if (segs.some((s) => !s || s === "." || s === ".." || /[\\\0]/.test(s))) {
    throw new Error(`not a path below a pinned directory: ${JSON.stringify(rel)}`);
  }
  return segs;
}

/** Directories one write made (to remove again, when empty, if the write is refused). */
type Made = { path: string; id: Id }[];

/**
 * lstat the pinned root and each of `dirs` below it: the identities, or a refusal. With `made`, a missing
 * directory is made (plain mkdir) and recorded; without, a missing one ends the walk (undefined).
 */
async function walk(pin: Pinned, dirs: string[], made?: Made): Promise<Id[] | undefined> {
  const root = await lstatOr(pin.real);
  if (!root || root.isSymlink || !root.isDirectory || !same(idOf(root), pin)) {
    throw refusedWrite(pin.real, "it is no longer the directory kodama checked when the call started");
  }
  const ids: Id[] = [];
  let cur = pin.real;
  for (const s of dirs) {
    cur = join(cur, s);
    let st = await lstatOr(cur);
    if (!st && made) {
      try {
        await Deno.mkdir(cur);
        st = await Deno.lstat(cur);
        if (st.isDirectory && !st.isSymlink) made.push({ path: cur, id: idOf(st) });
      } catch (e) {
        if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
        st = await Deno.lstat(cur);
      }
    }
    if (!st) return undefined;
    if (st.isSymlink) throw refusedWrite(cur, "it is a symlink");
    if (!st.isDirectory) throw refusedWrite(cur, "it is not a directory");
    ids.push(idOf(st));
  }
  return ids;
}

/** The walk again: the same directories (identities), or a refusal naming where it changed. */
async function rewalk(pin: Pinned, dirs: string[], ids: Id[]): Promise<void> {
  const now = await walk(pin, dirs);
  const at = now ? ids.findIndex((id, i) => !same(id, now[i])) : 0;
  if (!now || at >= 0) {
    throw refusedWrite(
      join(pin.real, ...dirs.slice(0, Math.max(at, 0) + 1)),
      "it was replaced during the write",
    );
  }
}

/** Does `path` name exactly the file `id` (a regular file with one name)? */
async function holds(path: string, id: Id): Promise<boolean> {
  const st = await lstatOr(path);
  return !!st && st.isFile && !st.isSymlink && same(idOf(st), id) && (st.nlink ?? 1) === 1;
}

async function undoMade(made: Made): Promise<void> {
  for (const m of made.reverse()) {
    const st = await lstatOr(m.path);
    if (st?.isDirectory && same(idOf(st), m.id)) await Deno.remove(m.path).catch(() => {});
  }
}

/** A file created exclusively below a pinned directory: written through its descriptor, renamed in place. */
export interface NewFile {
  path: string;
  write(b: Uint8Array): Promise<void>;
  /** close it where it is (checked again) */
  close(): Promise<void>;
  /** rename it to `name` in its own directory (checked before and after), closing it */
  renameTo(name: string): Promise<void>;
  /** close and remove it (when the name still holds it) */
  discard(): Promise<void>;
}

/** walk(), its directories made along the way removed again when it refuses. */
async function walkOrUndo(pin: Pinned, dirs: string[]): Promise<{ ids: Id[]; made: Made }> {
  const made: Made = [];
  try {
    return { ids: (await walk(pin, dirs, made))!, made };
  } catch (e) {
    await undoMade(made);
    throw e;
  }
}

/**
 * Create `rel` below `pin` exclusively (its missing directories made, none through a link). An existing
 * name throws Deno.errors.AlreadyExists (a lock held); a link anywhere on the way is refused (exit 4).
 */
export async function createNew(pin: Pinned, rel: string, mode = 0o644): Promise<NewFile> {
  const segs = names(rel);
  const dirs = segs.slice(0, -1);
  const { ids, made } = await walkOrUndo(pin, dirs);
  const dir = join(pin.real, ...dirs);
  const path = join(dir, segs[segs.length - 1]);
  let f: Deno.FsFile;
  try {
    f = await Deno.open(path, { write: true, createNew: true, mode });
  } catch (e) {
    await undoMade(made);
    throw e;
  }
  const id = idOf(await f.stat());
  let open = true, at = path;
  const close = () => {
    if (open) f.close();
    open = false;
  };
  const gone = async () => {
    // ours, wherever it is now: emptied through the descriptor, removed where the name still holds it
    if (open) await f.truncate(0).catch(() => {});
    close();
    if (await holds(at, id)) await Deno.remove(at).catch(() => {});
    await undoMade(made);
  };
  const verify = async () => {
    try {
      await rewalk(pin, dirs, ids);
      if (!(await holds(at, id))) throw refusedWrite(at, "it was replaced during the write");
    } catch (e) {
      await gone();
      throw e;
    }
  };
  await verify();
  return {
    path,
    async write(b) {
      for (let off = 0; off < b.length;) off += await f.write(b.subarray(off));
      await verify();
    },
    async close() {
      await verify();
      close();
    },
    async renameTo(name) {
      names(name);
      if (name.includes("/")) throw new Error(`renameTo takes a name in the same directory: ${name}`);
      const to = join(dir, name);
      await verify(); // still open: a lock found elsewhere is emptied through its descriptor
      close();
      const prev = await lstatOr(to);
      if (prev?.isDirectory) {
        await gone();
        throw refusedWrite(to, "it is a directory");
      }
      await Deno.rename(at, to);
      at = to;
      // where did it land? Through an unchanged walk at the name: done. Found through a walk that changed
      // (a link swapped in before the rename): elsewhere, and removed. Else it is in place and a directory
      // was swapped after it: refused, the file left where it is.
      const walked = await rewalk(pin, dirs, ids).then(() => true, () => false);
      if (walked && await holds(to, id)) return;
      if (!walked && await holds(to, id)) await Deno.remove(to).catch(() => {});
      throw refusedWrite(to, "a directory on its way was replaced during the write");
    },
    discard: gone,
  };
}

/**
 * Append `data` to the regular file `rel` below `pin` (made, exclusively, when missing), none of it through a
 * link: refused (exit 4) when the file is a link, not a regular file, has another name, or changed between
 * its lstat and its opening; an append that the check after it finds elsewhere is truncated back.
 */
export async function appendTo(pin: Pinned, rel: string, data: Uint8Array): Promise<void> {
  const segs = names(rel);
  const dirs = segs.slice(0, -1);
  const path = join(pin.real, ...segs);
  const { ids } = await walkOrUndo(pin, dirs);
  const st = await lstatOr(path);
  if (!st) {
    const nf = await createNew(pin, rel).catch((e) => {
      throw e instanceof Deno.errors.AlreadyExists ? refusedWrite(path, "it appeared during the write") : e;
    });
    try {
      await nf.write(data);
      await nf.close();
    } catch (e) {
      await nf.discard();
      throw e;
    }
    return;
  }
  if (st.isSymlink) throw refusedWrite(path, "it is a symlink");
  if (!st.isFile) throw refusedWrite(path, "it is not a regular file");
  if ((st.nlink ?? 1) !== 1) throw refusedWrite(path, "it has another name (a hard link)");
  const f = await Deno.open(path, { write: true, append: true });
  try {
    const fst = await f.stat();
    const id = idOf(fst);
    if (!same(id, idOf(st))) throw refusedWrite(path, "it was replaced while kodama opened it");
    const size = fst.size;
    const check = async () => {
      await rewalk(pin, dirs, ids);
      if (!(await holds(path, id))) throw refusedWrite(path, "it was replaced during the write");
    };
    await check();
    for (let off = 0; off < data.length;) off += await f.write(data.subarray(off));
    try {
      await check();
    } catch (e) {
      await f.truncate(size).catch(() => {});
      throw e;
    }
  } finally {
    f.close();
  }
}

/** Does `rel` exist below `pin` (lstat: a link counts, and is refused by the write that follows)? */
export async function existsBelow(pin: Pinned, rel: string): Promise<boolean> {
  const segs = names(rel);
  if (!(await walk(pin, segs.slice(0, -1)))) return false;
  return !!(await lstatOr(join(pin.real, ...segs)));
}
