/**
 * The newest modification time among some of kodama's own source files: what a cache of work those files
 * did (the workflow checker's verdicts, the resolved configuration) is keyed by, so that a changed source
 * misses. Plain paths: a URL argument costs each stat a URL-to-path conversion (~1 ms for twenty files).
 */
import { join } from "./fs/fspath.ts";
import { fileUrlToPath, hostPlatform } from "./platform.ts";

/**
 * The newest mtime (ms) of `files` (paths relative to `src`), or 0 when there are no sources to stat: a
 * compiled binary or a bundle (`src` not a file: URL, or the files absent), or no permission to read them.
 */
export function newestSourceMtime(src: URL, files: readonly string[]): number {
  if (src.protocol !== "file:") return 0;
  let newest = 0;
  try {
    const root = fileUrlToPath(src, hostPlatform());
    for (const f of files) newest = Math.max(newest, Deno.statSync(join(root, f)).mtime?.getTime() ?? 0);
  } catch {
    return 0;
  }
  return newest;
}
