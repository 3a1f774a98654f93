/**
 * Where a path really is: the real path (every symlink followed) of its longest existing prefix, plus the
 * rest as written. The one helper every "is this inside that?" check on this machine compares with, on
 * both sides of the comparison (a link on either side does not hide a place): safewrite's link checks,
 * the workflow sandbox's grants and pins, sync's protected places (docs/security.md).
 */
import { dirname, isAbsolute, join, resolve } from "./fspath.ts";

/** The most links one resolution follows through dangling links (Linux's own limit is 40). */
const MAX_HOPS = 40;

/**
 * The real path of `p`'s longest existing prefix, plus the rest (absolute). A dangling link on the way is
 * followed too (its target may be made later: writing through the link makes it there), at most 40 hops;
 * `p` as resolved when nothing exists.
 */
export async function realLanding(p: string): Promise<string> {
  return await landing(p, async (h) => await Deno.realPath(h), async (h) => {
    try {
      return await Deno.readLink(h);
    } catch {
      return undefined;
    }
  });
}

async function landing(
  p: string,
  real: (h: string) => Promise<string>,
  readLink: (h: string) => Promise<string | undefined>,
): Promise<string> {
  let head = resolve(p);
  let tail: string[] = [];
  for (let hops = 0;;) {
    try {
      const r = await real(head);
      return tail.length ? join(r, ...[...tail].reverse()) : r;
    } catch {
      const target = hops < MAX_HOPS ? await readLink(head) : undefined;
      if (target !== undefined) {
        // a dangling link: go on from where it points
        hops++;
        head = resolve(dirname(head), target);
        continue;
      }
      const parent = dirname(head);
      if (parent === head) return resolve(p);
      tail = [...tail, head.slice(parent.length).replace(/^[\\/]+/, "")];
      head = parent;
    }
  }
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
