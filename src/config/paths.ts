/**
 * Where config lives. Cheap: no zod, no yaml — only env lookups and a few stat calls.
 *
 * - global: `$KODAMA_CONFIG_DIR/config.yaml` (alias `$KODAMA_HOME`), default `~/.kodama/config.yaml`
 * - repo:   the nearest `.kodama.yaml` walking up from the cwd, stopping at the git root
 *           (the first directory containing `.git`) or at the filesystem root.
 */
import { dirname, join, resolve } from "../base/fs/fspath.ts";
import { homeDir as platformHome, hostPlatform } from "../base/platform.ts";

export const GLOBAL_CONFIG_FILE = "config.yaml";
export const REPO_CONFIG_FILE = ".kodama.yaml";

/** The user's home (src/base/platform.ts: HOME on Unix; USERPROFILE first on Windows, so Git Bash — which sets
 * HOME — and cmd or PowerShell share one ~/.kodama). */
function homeDir(): string {
  return platformHome(hostPlatform()) ?? Deno.cwd();
}

/**
 * kodama's config directory (config, sessions, all state): `$KODAMA_CONFIG_DIR` (the contract's name), else
 * its alias `$KODAMA_HOME`, else `~/.kodama`.
 */
export function kodamaHome(): string {
  const h = Deno.env.get("KODAMA_CONFIG_DIR") || Deno.env.get("KODAMA_HOME");
  return h ? resolve(h) : join(homeDir(), ".kodama");
}

/** `<home>/config.yaml`; `home` defaults to kodamaHome(). */
export function globalConfigPath(home: string = kodamaHome()): string {
  return join(home, GLOBAL_CONFIG_FILE);
}

/**
 * A local name lookup, synchronous on purpose: an async one costs a round trip through Deno's thread
 * pool (~0.2 ms, several under load) and a missing name an error object built for JS (~6x the CPU of the
 * sync miss); findRepo makes up to two a directory, on every command's way to the cluster.
 */
function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return false;
    if (e instanceof Deno.errors.PermissionDenied) return false;
    throw e;
  }
}

export interface RepoLocation {
  /** the nearest `.kodama.yaml` at or below the git root, if one exists */
  configFile?: string;
  /** the git root (directory containing `.git`), if the cwd is inside a repository */
  gitRoot?: string;
}

/**
 * The home directory and every directory that holds it (`/home`, `/`), as written and by real path:
 * never a repository root, whatever `.git` or `.kodama.yaml` they hold (a dotfiles repository at `~`
 * must not make the whole home "the repository" of a project below it; docs/security.md).
 */
export function homeAndAbove(): string[] {
  const home = platformHome(hostPlatform());
  if (!home) return [];
  const out = new Set<string>();
  for (const h of [resolve(home), realOr(resolve(home))]) {
    for (let d = h;; d = dirname(d)) {
      out.add(d);
      if (dirname(d) === d) break;
    }
  }
  return [...out];
}

function realOr(p: string): string {
  try {
    return Deno.realPathSync(p);
  } catch {
    return p;
  }
}

/**
 * Walk up from `cwd` looking for `.kodama.yaml`; stop at the git root or the filesystem root, and
 * before the home directory or any directory that holds it (homeAndAbove: never a root).
 */
// deno-lint-ignore require-await
export async function findRepo(cwd: string = Deno.cwd()): Promise<RepoLocation> {
  let dir = resolve(cwd);
  const out: RepoLocation = {};
  const stops = new Set(homeAndAbove());
  for (;;) {
    if (stops.has(dir)) return out;
    const config = !out.configFile && exists(join(dir, REPO_CONFIG_FILE));
    const git = exists(join(dir, ".git"));
    if (config) out.configFile = join(dir, REPO_CONFIG_FILE);
    if (git) {
      out.gitRoot = dir;
      return out;
    }
    const parent = dirname(dir);
    if (parent === dir) return out;
    dir = parent;
  }
}

/** A path for people: `~` for the home directory. */
export function displayPath(path: string): string {
  const home = homeDir();
  return home && home !== "/" &&
      (path === home || path.startsWith(home + "/") || path.startsWith(home + "\\"))
    ? "~" + path.slice(home.length)
    : path;
}
