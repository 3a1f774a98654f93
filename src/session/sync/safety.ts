/**
 * What a pod sends back is untrusted (docs/security.md): the names, kinds and modes of the paths sync
 * writes locally come from the pod. These rules hold for every local write sync makes (`sync pull`, the
 * two-way sync):
 *
 *  - a name must be one this OS can hold under the root (`pulledNameProblem`: no `..`, no absolute path,
 *    no NUL; on Windows no drive, stream, reserved device or trailing dot);
 *  - nothing is ever written inside `.git` (a pod-made `.git/config` or hook would run code at the next
 *    local `git status`), at any depth and in any letter case;
 *  - nothing is written through a local symlink (a parent that is a link could point anywhere);
 *  - setuid, setgid and sticky bits and world-writable permissions never come down.
 */
import { join } from "node:path";
import { hostPlatform, localMode, type Platform, pulledNameProblem } from "../../platform.ts";

/** Is `rel` (a '/'-separated relative path) `.git` or inside a `.git` directory, at any depth? */
export function inGitDir(rel: string): boolean {
  return rel.split("/").some((s) => s.toLowerCase() === ".git");
}

/** Why a pod's path may not be written locally, or undefined when it may. */
export function pulledPathProblem(rel: string, p: Platform = hostPlatform()): string | undefined {
  const name = pulledNameProblem(rel, p);
  if (name) return name;
  if (inGitDir(rel)) return "it is inside .git, which sync never writes";
  return undefined;
}

/** The permission bits a pulled path gets locally (undefined: this OS keeps none). */
export function pulledMode(podBits: number, p: Platform = hostPlatform()): number | undefined {
  const m = localMode(podBits, p);
  return m === undefined ? undefined : m & ~0o002;
}

/** True when a parent of `rel` under `root` is a symlink or not a directory (writing there would escape). */
export function throughLink(root: string, rel: string): boolean {
  const parts = rel.split("/");
  let cur = root;
  for (let i = 0; i < parts.length - 1; i++) {
    cur = join(cur, parts[i]);
    try {
      const st = Deno.lstatSync(cur);
      if (st.isSymlink || !st.isDirectory) return true;
    } catch {
      return false; // missing from here on: made as directories
    }
  }
  return false;
}
