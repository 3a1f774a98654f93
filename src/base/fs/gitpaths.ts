/**
 * Every place git reads a repository from or writes it to, for a check at a door (docs/security.md, "One
 * rule, every door"). A directory's work tree is not where its history lives:
 *
 * - a `.git` FILE (`gitdir: /elsewhere/.git`) puts the git directory anywhere (`core.worktree` is config,
 *   which door git never reads: the work tree is where `.git` is);
 * - a linked work tree keeps its branches and objects in its main repository (`--git-common-dir`);
 * - `objects/info/alternates` borrows another repository's objects (each borrowed directory may borrow
 *   again);
 * - a symlink inside a git directory (`refs -> ~/.password-store/.git/refs`, a pack, the object directory)
 *   is read and written through.
 *
 * `passRepo` hands each of these to a check — a door's (src/config/doors.ts), a workflow's confinement —
 * that returns the real path or throws, and descends into a linked directory only once the check let it
 * through. Nothing is read but directory listings, `.git` and `commondir` files and the alternates files;
 * git never runs here.
 */
import { ExitCode, KodamaError } from "../errors.ts";
import { readTextBounded } from "./boundedread.ts";
import { dirname, isAbsolute, join, resolve } from "./fspath.ts";

/** What a grant would have to name for a path a check refused, and why that path is needed. */
export interface Grant {
  dir: string;
  why: string;
}

/** A check of one local path: its real path when let through, else it throws (exit 4). */
export type PassPath = (path: string, what: string, grant?: Grant) => Promise<string>;

/** Where git keeps a repository found from a directory. */
export interface GitLocations {
  /** the work tree's root (none for a bare repository, or from inside a git directory) */
  workTree?: string;
  /** the git directory (`.git`, or what a `.git` file names; a linked work tree's own) */
  gitDir: string;
  /** where branches, objects and config live (a linked work tree's main repository's git directory) */
  commonDir: string;
  /** the object directory */
  objects: string;
}

/** A walk of the git directories that finds more entries than this is refused rather than half-checked. */
export const MAX_GIT_ENTRIES = 1_000_000;
/** git follows alternates of alternates this deep (sha1-file.c); a deeper one it ignores. */
const MAX_ALTERNATE_DEPTH = 5;

/** A `.git` file's `gitdir: PATH` (relative to the directory holding it), or undefined. Pure. */
export function parseGitFile(text: string): string | undefined {
  const m = /^gitdir: ?(.+?)\r?$/m.exec(text);
  return m ? m[1] : undefined;
}

const isFile = (p: string) => Deno.stat(p).then((s) => s.isFile, () => false);
const isDir = (p: string) => Deno.stat(p).then((s) => s.isDirectory, () => false);

async function readOr(p: string, what: string): Promise<string | undefined> {
  try {
    return await readTextBounded(p, { what, kind: "repoFile", exitCode: ExitCode.FORBIDDEN });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return undefined;
    throw e;
  }
}

/**
 * Where git keeps the repository found from `dir`, or undefined when `dir` is in none: found by reading
 * git's files as git's discovery does (a `.git` directory or `gitdir:` file up the tree, a `commondir`
 * file, a bare repository's own layout), never by running git there — the repository's config (a
 * `core.worktree`, a hostile include) is not read, as door git reads none (src/session/git/doorgit.ts).
 */
export async function gitLocations(dir: string): Promise<GitLocations | undefined> {
  for (let d = resolve(dir);; d = dirname(d)) {
    const dot = join(d, ".git");
    let gitDir: string | undefined;
    let workTree: string | undefined = d;
    if (await isDir(dot)) gitDir = dot;
    else if (await isFile(dot)) {
      const to = parseGitFile((await readOr(dot, "a .git file")) ?? "");
      if (to) gitDir = isAbsolute(to) ? resolve(to) : resolve(d, to);
    } else if (
      await isFile(join(d, "HEAD")) && await isDir(join(d, "objects")) && await isDir(join(d, "refs"))
    ) {
      gitDir = d; // a bare repository, or a directory inside .git: no work tree
      workTree = undefined;
    }
    if (gitDir) {
      const common = (await readOr(join(gitDir, "commondir"), "commondir"))?.trim();
      const commonDir = common ? (isAbsolute(common) ? resolve(common) : resolve(gitDir, common)) : gitDir;
      return { ...(workTree ? { workTree } : {}), gitDir, commonDir, objects: join(commonDir, "objects") };
    }
    if (dirname(d) === d) return undefined;
  }
}

/** The directories an alternates file names: relative ones from the object directory, quoted ones unquoted. */
export function parseAlternates(text: string, objects: string): string[] {
  const out: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\r$/, "");
    if (!line || line.startsWith("#")) continue;
    let p = line;
    if (line.startsWith('"')) {
      // git's C quoting (\\, \", \t, \n, octal): anything else is not a path kodama can be sure of
      const m = /^"((?:[^"\\]|\\[\\"abtnvfr]|\\[0-7]{3})*)"$/.exec(line);
      if (!m) {
        throw new KodamaError(
          `an alternates entry kodama cannot read: ${JSON.stringify(line)}`,
          ExitCode.FORBIDDEN,
        );
      }
      const esc: Record<string, string> = { a: "\x07", b: "\b", t: "\t", n: "\n", v: "\v", f: "\f", r: "\r" };
      const bytes: number[] = [];
      const enc = new TextEncoder();
      m[1].replace(/\\([0-7]{3})|\\(.)|([^\\]+)/gs, (_all, oct?: string, ch?: string, plain?: string) => {
        if (oct) bytes.push(parseInt(oct, 8));
        else if (ch) bytes.push(...enc.encode(esc[ch] ?? ch));
        else bytes.push(...enc.encode(plain!));
        return "";
      });
      p = new TextDecoder().decode(new Uint8Array(bytes));
    }
    out.push(isAbsolute(p) ? resolve(p) : resolve(objects, p));
  }
  return out;
}

/**
 * Hand every place git would read or write for the repository found from `dir` to `pass` (see the top of
 * this file). `label` names the repository in messages ("the repository at cwd"). Returns the locations,
 * or undefined when `dir` is in no repository (callers say that their own way).
 */
export async function passRepo(
  dir: string,
  label: string,
  pass: PassPath,
): Promise<GitLocations | undefined> {
  const at = await gitLocations(dir);
  if (!at) return undefined;
  if (at.workTree) await pass(at.workTree, `the work tree of ${label}`);
  // a linked work tree: its git directory is in its main repository, whose work tree (else, bare, the git
  // directory itself) is what to grant
  const linked = at.gitDir !== at.commonDir;
  const grant = linked
    ? {
      dir: /[\\/]\.git$/.test(at.commonDir) ? dirname(at.commonDir) : at.commonDir,
      why: "a linked work tree keeps its branches and objects in its main repository",
    }
    : undefined;
  await pass(at.gitDir, `the git directory of ${label}`, grant);
  if (linked) await pass(at.commonDir, `the main repository of ${label}`, grant);
  await pass(at.objects, `the object directory of ${label}`);
  const seen = new Set<string>();
  const count = { n: 0 };
  const walk = async (d: string): Promise<void> => {
    let real: string;
    try {
      real = await Deno.realPath(d);
    } catch {
      return;
    }
    if (seen.has(real)) return;
    seen.add(real);
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(real));
    } catch {
      return;
    }
    for (const e of entries) {
      if (++count.n > MAX_GIT_ENTRIES) {
        throw new KodamaError(
          `${label}: its git directories hold more than ${MAX_GIT_ENTRIES} entries; kodama does not let it through unchecked`,
          ExitCode.FORBIDDEN,
          "run git gc there, or run the command yourself in a terminal",
        );
      }
      const p = join(real, e.name);
      if (e.isSymlink) {
        const to = await pass(p, `a link in the git directory of ${label}`);
        const st = await Deno.stat(to).catch(() => undefined);
        if (st?.isDirectory) await walk(to);
      } else if (e.isDirectory) await walk(p);
    }
  };
  await walk(at.gitDir);
  await walk(at.commonDir);
  await walk(at.objects);
  // borrowed objects: each directory passes, is walked, and may borrow again
  let round = [at.objects];
  for (let depth = 0; depth <= MAX_ALTERNATE_DEPTH && round.length; depth++) {
    const next: string[] = [];
    for (const objects of round) {
      const real = await Deno.realPath(objects).catch(() => undefined);
      if (!real) continue;
      const file = join(real, "info", "alternates");
      const text = await readTextBounded(file, {
        what: `the alternates file of ${label}`,
        kind: "repoFile",
        exitCode: ExitCode.FORBIDDEN,
      }).catch((e) => {
        if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return "";
        throw e;
      });
      for (const alt of parseAlternates(text, real)) {
        const to = await pass(alt, `an object directory ${label} borrows (objects/info/alternates)`);
        if (seen.has(to)) continue;
        await walk(to);
        next.push(to);
      }
    }
    round = next;
  }
  return at;
}
