/**
 * Which local paths sync leaves out, decided the way git decides for `.gitignore`:
 *
 *  - every directory's `.gitignore` applies to the paths below it, relative to that directory; deeper
 *    files override shallower ones and, inside one file, the last matching pattern wins (`!` re-includes);
 *  - a path inside an ignored directory is ignored whatever a deeper rule says (git never looks inside);
 *  - `.git/info/exclude` counts like a root `.gitignore`, and so does git's global excludes file
 *    (`core.excludesFile`, default `$XDG_CONFIG_HOME/git/ignore`), below both;
 *  - `.kodamaignore` files (same syntax, any level) are read after the `.gitignore` of their directory, so
 *    they can exclude more or re-include (`!build/`) what git ignores;
 *  - `sync.excludePatterns` are root-level patterns applied last;
 *  - the workspace's `.kodama/` directory is always left out, and `.git/` unless `syncGit`; so are
 *    kodama's own files anywhere (`isKodamaOwn`: its lock files, a clone's bundle), in both directions;
 *  - so are the session's env files (`secretFiles`): their values reach the pod as a Secret, never as a file.
 *
 * `useGitignore: false` turns off `.gitignore`, `.git/info/exclude` and the global excludes file only. Matching is done by the
 * `ignore` package (the gitignore specification's semantics, also used by eslint and prettier).
 */
import { readTextBoundedSync } from "../../base/fs/boundedread.ts";
import { KodamaError } from "../../base/errors.ts";
import { defaultFolding, hostPlatform } from "../../base/platform.ts";
import ignore, { type Ignore } from "ignore";
import { join } from "node:path";

export interface IgnoreOptions {
  useGitignore: boolean;
  /** sync.excludePatterns */
  excludePatterns: string[];
  /** send `.git/` too (sync.syncGit resolved for this session) */
  syncGit: boolean;
  /** root-relative paths never sent, whatever the rules say: the session's env files */
  secretFiles?: string[];
  /** git's global excludes file (`globalExcludesFile()`), read with the root's patterns */
  globalExcludes?: string;
  /**
   * Match patterns without regard to letter case, as git does with core.ignoreCase — which git sets on
   * case-insensitive disks (APFS, NTFS) and leaves off elsewhere. Default: this OS's usual disk.
   */
  ignoreCase?: boolean;
}

/**
 * git's global excludes file, as git finds it: `core.excludesFile` from git's config (with `~` expanded),
 * else `$XDG_CONFIG_HOME/git/ignore` (`~/.config/git/ignore`). `env` is given to git (tests point
 * GIT_CONFIG_GLOBAL and XDG_CONFIG_HOME elsewhere). Undefined when there is none to read.
 */
export function globalExcludesFile(cwd: string, env: Record<string, string> = {}): string | undefined {
  const get = (k: string) => env[k] ?? Deno.env.get(k);
  try {
    const out = new Deno.Command("git", {
      args: ["config", "--path", "--get", "core.excludesFile"],
      cwd,
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).outputSync();
    const path = new TextDecoder().decode(out.stdout).trim();
    if (out.success && path) return path;
  } catch { /* no git: its default place still counts */ }
  const base = get("XDG_CONFIG_HOME") || (get("HOME") ? `${get("HOME")}/.config` : undefined);
  return base ? `${base}/git/ignore` : undefined;
}

/** The patterns found in one directory (relative paths below it are matched). */
interface Level {
  dir: string; // relative to the root, "" for the root
  ig: Ignore;
}

export const KODAMAIGNORE = ".kodamaignore";

/**
 * kodama's own files, never synced: the lock it takes beside a file it writes (`.kodama.yaml.lock`, any
 * `.kodama*.lock`), the bundle `start --repo .` sends (`.kodama-clone.bundle`, `.part`). (Run
 * directories and prompt files are under `.kodama/`; pulled temporaries, `.kodama-pull-*`, are kept out
 * by the sync loop itself.)
 */
export function isKodamaOwn(base: string): boolean {
  return /^\.kodama[^/]*\.lock$/.test(base) || /^\.kodama-clone\.bundle(\.part)?$/.test(base);
}

/**
 * Read a file's text, or undefined when it does not exist or is not a regular file (a FIFO would block, a
 * device never end). One over the size limit is an error: ignoring its patterns would sync what it hides.
 */
function readText(path: string): string | undefined {
  try {
    if (!Deno.statSync(path).isFile) return undefined;
    return readTextBoundedSync(path, { what: "ignore file", kind: "envFile" });
  } catch (e) {
    if (e instanceof KodamaError) throw e;
    return undefined;
  }
}

export class IgnoreRules {
  readonly #root: string;
  readonly #o: IgnoreOptions;
  /** per directory (relative path): its level, or null when it has no pattern files */
  readonly #levels = new Map<string, Level | null>();
  /** sync.excludePatterns, or undefined when there are none (most trees: no matcher to ask per path) */
  readonly #final: Ignore | undefined;
  readonly #ignorecase: boolean;
  /** directories whose listing the walk saw: which pattern files they hold (no failed reads for the rest) */
  readonly #listed = new Map<string, { gitignore: boolean; kodamaignore: boolean }>();
  /** ignoredPath's answers (`d:` or `f:` + path) until a pattern file changes: a sync cycle asks again for every path */
  readonly #answers = new Map<string, boolean>();

  constructor(root: string, o: IgnoreOptions) {
    this.#root = root;
    this.#o = o;
    this.#ignorecase = o.ignoreCase ?? defaultFolding(hostPlatform()).caseInsensitive;
    this.#final = o.excludePatterns.length
      ? ignore({ ignorecase: this.#ignorecase }).add(o.excludePatterns)
      : undefined;
  }

  /** The patterns of one directory, read once (call `forget(dir)` when a pattern file there changed). */
  #level(dir: string): Level | null {
    const hit = this.#levels.get(dir);
    if (hit !== undefined) return hit;
    const abs = join(this.#root, dir);
    const texts: string[] = [];
    const has = this.#listed.get(dir);
    if (this.#o.useGitignore) {
      if (dir === "") {
        const global = this.#o.globalExcludes && readText(this.#o.globalExcludes);
        if (global) texts.push(global);
        const exclude = readText(join(abs, ".git", "info", "exclude"));
        if (exclude) texts.push(exclude);
      }
      const gi = has && !has.gitignore ? undefined : readText(join(abs, ".gitignore"));
      if (gi) texts.push(gi);
    }
    const ki = has && !has.kodamaignore ? undefined : readText(join(abs, KODAMAIGNORE));
    if (ki) texts.push(ki);
    const level = texts.length
      ? { dir, ig: ignore({ ignorecase: this.#ignorecase }).add(texts.join("\n")) }
      : null;
    this.#levels.set(dir, level);
    return level;
  }

  /** The walk read this directory: only the pattern files among `names` need reading. */
  listed(dir: string, names: string[]): void {
    if (this.#levels.has(dir)) return;
    this.#listed.set(dir, {
      gitignore: names.includes(".gitignore"),
      kodamaignore: names.includes(KODAMAIGNORE),
    });
  }

  /** Drop the cached patterns of a directory (its .gitignore or .kodamaignore changed). */
  forget(dir: string): void {
    this.#levels.delete(dir);
    this.#listed.delete(dir);
    this.#answers.clear();
  }

  /** Forget every cached pattern file. */
  reset(): void {
    this.#levels.clear();
    this.#listed.clear();
    this.#answers.clear();
  }

  /** Is a pattern file (one whose change alters the rules)? */
  static isPatternFile(rel: string): boolean {
    const base = rel.slice(rel.lastIndexOf("/") + 1);
    return base === ".gitignore" || base === KODAMAIGNORE || rel === ".git/info/exclude";
  }

  /**
   * Is `rel` (a '/'-separated path relative to the root) left out by its own rules? The caller walks
   * from the root and never asks about paths inside an ignored directory (`ignoredPath` does both).
   */
  ignoredHere(rel: string, isDir: boolean): boolean {
    const top = rel.split("/", 1)[0];
    if (top === ".kodama") return true;
    if (top === ".git" && !this.#o.syncGit) return true;
    if (!isDir && isKodamaOwn(rel.slice(rel.lastIndexOf("/") + 1))) return true;
    if (!isDir && this.#o.secretFiles?.includes(rel)) return true;
    let ignored = false;
    // each directory from the root down to rel's own, with the path below it (the walk asks for 50,000
    // paths at a time: no arrays rebuilt per level)
    for (let end = -1; end < rel.length;) {
      const dir = end < 0 ? "" : rel.slice(0, end);
      const level = this.#level(dir);
      if (level) {
        const r = level.ig.test(rel.slice(end + 1) + (isDir ? "/" : ""));
        if (r.ignored) ignored = true;
        else if (r.unignored) ignored = false;
      }
      const next = rel.indexOf("/", end + 1);
      end = next < 0 ? rel.length : next;
    }
    const r = this.#final?.test(rel + (isDir ? "/" : ""));
    if (r?.ignored) ignored = true;
    else if (r?.unignored) ignored = false;
    return ignored;
  }

  /** Is `rel` left out, itself or through an ignored parent directory? */
  ignoredPath(rel: string, isDir: boolean): boolean {
    const k = (isDir ? "d:" : "f:") + rel;
    const hit = this.#answers.get(k);
    if (hit !== undefined) return hit;
    const slash = rel.lastIndexOf("/");
    const v = (slash > 0 && this.ignoredPath(rel.slice(0, slash), true)) || this.ignoredHere(rel, isDir);
    if (this.#answers.size > 200_000) this.#answers.clear();
    this.#answers.set(k, v);
    return v;
  }
}
