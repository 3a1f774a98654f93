/**
 * The synced files a merge or rebase of `session land` needs out of git's way (land.ts gitMerge): each
 * holds the session's committed version, which git writes again. They are never deleted: they are moved
 * aside to the session's sync directory (`kept/STAMP/PATH`, where the sync keeps the versions it
 * replaces), put back when git did not start (a refused merge, a lock), and dropped once it did.
 */
import { dirname, join } from "../../base/fs/fspath.ts";
import { ExitCode, KodamaError } from "../../base/errors.ts";
import { safeLine } from "../../ui/color.ts";
import { paths as syncPaths } from "../sync/store.ts";

/** What was moved aside: the directory, and the root-relative paths in it. */
export interface Aside {
  dir: string;
  paths: string[];
}

/** Rename `from` to `to` (a new name); across file systems, copy (a link as a link) and remove. */
async function move(from: string, to: string): Promise<void> {
  try {
    await Deno.rename(from, to);
    return;
  } catch (e) {
    if (!(e instanceof Error) || !/cross-device|EXDEV|os error 18/i.test(e.message)) throw e;
  }
  const st = await Deno.lstat(from);
  await Deno.remove(to).catch(() => {}); // never copied through what holds the name
  if (st.isSymlink) await Deno.symlink(await Deno.readLink(from), to);
  else await Deno.copyFile(from, to);
  await Deno.remove(from);
}

/** Move `rels` (files or links under `root`, parents already checked) aside; all or none. */
export async function setAside(root: string, name: string, rels: string[], home?: string): Promise<Aside> {
  const stamp = new Date().toISOString().replaceAll(":", "-");
  const a: Aside = { dir: join(syncPaths(name, home).dir, "kept", `${stamp}-land`), paths: [] };
  try {
    for (const p of rels) {
      await Deno.mkdir(dirname(join(a.dir, p)), { recursive: true, mode: 0o700 });
      await move(join(root, p), join(a.dir, p));
      a.paths.push(p);
    }
  } catch (e) {
    const left = await putBack(root, a);
    throw new KodamaError(
      `session land: could not move ${safeLine(rels[a.paths.length] ?? "")} out of git's way: ${
        (e as Error).message
      }`,
      ExitCode.FAILED,
      left.length ? `nothing was landed; copies are in ${a.dir}` : "nothing was landed or lost",
    );
  }
  return a;
}

/**
 * Each path moved aside goes back where it was (git did not start) when nothing holds that place now or
 * what does is in `replace` (a committed version written there meanwhile); returns the paths left in
 * `dir` (something else is there: the copy stays).
 */
export async function putBack(root: string, a: Aside, replace = new Set<string>()): Promise<string[]> {
  const left: string[] = [];
  for (const p of a.paths) {
    const taken = !replace.has(p) && await Deno.lstat(join(root, p)).then(() => true, () => false);
    if (taken) left.push(p);
    else await move(join(a.dir, p), join(root, p)).catch(() => left.push(p));
  }
  if (!left.length) await dropAside(a);
  return left;
}

/** git started and wrote the session's versions again: the copies go. */
export async function dropAside(a: Aside): Promise<void> {
  await Deno.remove(a.dir, { recursive: true }).catch(() => {});
}
