/**
 * A repository is untrusted input: a path it names (in `.kodama.yaml`, or a file inside it that is a
 * committed symlink) may only lead to a file inside the repository, checked after resolving every
 * symlink. `whereTo` answers where a path really leads; `readRepoFile` reads a repo file only when it
 * stays inside. The rule and its reasons are in docs/security.md ("What a repo's config may name").
 */
import { ExitCode, KodamaError } from "../base/errors.ts";
import { type BoundedReadOptions, readTextBounded } from "../base/fs/boundedread.ts";
import { isAbsolute, resolve } from "../base/fs/fspath.ts";
import { landingOf } from "../base/fs/realpath.ts";

/** Is `path` the directory `root` or inside it? Both absolute and normalized; case as given. */
export function isWithin(root: string, path: string): boolean {
  const sep = root.includes("\\") && !root.includes("/") ? "\\" : "/";
  const r = root.endsWith(sep) ? root : root + sep;
  return path === root || path.startsWith(r);
}

async function realOrUndefined(path: string): Promise<string | undefined> {
  try {
    return await Deno.realPath(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return undefined;
    throw e;
  }
}

/**
 * Where `path` really leads: its real path when it exists; for a path that does not exist, the real path
 * of its nearest existing ancestor plus the rest. `dangling` is set when a symlink on the way points at
 * nothing or into a loop (it could be made to point anywhere later: callers treat it as leading out); then
 * `real` is the path as resolved. The walk is realpath.ts landingOf, the one kodama has.
 */
export async function whereTo(path: string): Promise<{ real: string; dangling: boolean }> {
  const l = await landingOf(path);
  return l.dangling ? { real: resolve(path), dangling: true } : l;
}

export interface Confined {
  /** the path as resolved against the root (not following links) */
  path: string;
  /** where it really leads */
  real: string;
  /** undefined when inside; else why not, for messages ("leads to /home/me/.ssh/id_rsa") */
  outside?: string;
}

/** Resolve `p` (relative to `root`) and say whether it stays inside `root` after every symlink. */
export async function confine(root: string, p: string): Promise<Confined> {
  const path = isAbsolute(p) ? resolve(p) : resolve(root, p);
  const realRoot = (await realOrUndefined(root)) ?? resolve(root);
  const to = await whereTo(path);
  if (to.dangling) return { path, real: to.real, outside: "is a symlink that points at nothing" };
  if (!isWithin(realRoot, to.real)) {
    return { path, real: to.real, outside: `leads to ${to.real}, outside the repository ${realRoot}` };
  }
  return { path, real: to.real };
}

/**
 * Read a file of the repository (exit 4 when it leads outside it, by a symlink or `..`): the real path
 * is what is read, so the check and the read see the same file. NotFound passes through for callers
 * that skip missing files.
 */
export async function readRepoFile(
  root: string,
  p: string,
  o: BoundedReadOptions,
): Promise<string> {
  const c = await confine(root, p);
  if (c.outside) {
    throw new KodamaError(
      `refusing to read ${o.what} ${o.display ?? p}: it ${c.outside}`,
      ExitCode.FORBIDDEN,
      "a repository may only name files inside it; name files elsewhere in ~/.kodama/config.yaml or by a flag",
    );
  }
  return await readTextBounded(c.real, { ...o, display: o.display ?? p });
}
