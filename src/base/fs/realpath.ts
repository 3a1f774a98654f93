/**
 * Where a path really is: the real path (every symlink followed) of its longest existing prefix, plus the
 * rest as written. The one helper every "is this inside that?" check on this machine compares with, on
 * both sides of the comparison (a link on either side does not hide a place): safewrite's link checks,
 * the workflow sandbox's grants and pins, sync's protected places (docs/security.md).
 */
import { isAbsolute } from "./fspath.ts";
import { hostPlatform, type Platform } from "../platform.ts";

/** The most links one resolution follows through dangling links (Linux's own limit is 40). */
const MAX_HOPS = 40;

/** Where a path lands: `real`, and whether a link on the way points at nothing or into a loop. */
export interface Landing {
  /** the real path of the longest existing prefix plus the rest as written (absolute) */
  real: string;
  /**
   * a symlink on the way points at nothing (it may be made to point anywhere later) or into a loop: a
   * check that must not be fooled treats the path as leading out (config/confine.ts whereTo)
   */
  dangling: boolean;
}

/** What the walk asks of the file system (the real one by default; tests give another OS's). */
export interface LandingFs {
  /** the real path; throws Deno.errors.NotFound or NotADirectory when it does not exist */
  realPath(p: string): Promise<string>;
  /** a symlink's target, undefined when `p` is not a link */
  readLink(p: string): Promise<string | undefined>;
}

const hostFs: LandingFs = {
  realPath: (p) => Deno.realPath(p),
  readLink: async (p) => {
    try {
      return await Deno.readLink(p);
    } catch {
      return undefined;
    }
  },
};

/** Is `e` "there is nothing at that path" (then the walk goes up to the parent)? */
function missing(e: unknown): boolean {
  return e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory;
}

/**
 * Where `p` really is — the one walk kodama has for it: the real path of its longest existing prefix, plus
 * the rest as written. A dangling link on the way is followed (its target may be made later: writing
 * through the link makes it there), at most 40 hops, and reported as `dangling`; so is a link loop (then
 * `real` is `p` as resolved). Only "not there" makes the walk go up: any other error (permission denied)
 * is thrown, never taken for a missing path behind which a link could hide. Paths are the platform's
 * (a drive letter or a UNC share on Windows).
 */
export async function landingOf(
  p: string,
  o: { platform?: Platform; fs?: LandingFs } = {},
): Promise<Landing> {
  const { dirname, join, resolve } = (o.platform ?? hostPlatform()).path;
  const fs = o.fs ?? hostFs;
  let head = resolve(p);
  let tail: string[] = [];
  let dangling = false;
  for (let hops = 0;;) {
    try {
      const r = await fs.realPath(head);
      return { real: tail.length ? join(r, ...[...tail].reverse()) : r, dangling };
    } catch (e) {
      if (e instanceof Deno.errors.FilesystemLoop) return { real: resolve(p), dangling: true };
      if (!missing(e)) throw e;
    }
    const target = await fs.readLink(head);
    if (target !== undefined) {
      // a dangling link: go on from where it points
      dangling = true;
      if (++hops > MAX_HOPS) return { real: resolve(p), dangling: true };
      head = resolve(dirname(head), target);
      continue;
    }
    const parent = dirname(head);
    if (parent === head) return { real: resolve(p), dangling };
    tail = [...tail, head.slice(parent.length).replace(/^[\\/]+/, "")];
    head = parent;
  }
}

/** `landingOf(p).real`: where writing to `p` would land (safewrite, the sandbox's grants, sync's places). */
export async function realLanding(p: string): Promise<string> {
  return (await landingOf(p)).real;
}

/**
 * `path` relative to the directory `dir` with `/` separators ("." for `dir` itself), or undefined when it
 * is not inside. Both absolute and normalized, compared as written (callers pass real paths).
 */
export function relativeInside(dir: string, path: string): string | undefined {
  if (!isAbsolute(dir) || !isAbsolute(path)) return undefined;
  const d = dir.replace(/[\\/]+$/, "");
  if (path === d || path === d + "/" || path === d + "\\") return ".";
  const withSep = d + (d.includes("\\") && !d.includes("/") ? "\\" : "/");
  if (!path.startsWith(withSep)) return undefined;
  return path.slice(withSep.length).replaceAll("\\", "/").replace(/\/+$/, "");
}
