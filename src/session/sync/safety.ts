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
import { hostPlatform, isDotGit, localMode, type Platform, pulledNameProblem } from "../../platform.ts";

/**
 * Is `rel` (a '/'-separated relative path) `.git` or inside a `.git` directory, at any depth, in any
 * spelling a file system reads as `.git` (platform.ts isDotGit: `.GIT`, `.git.`, `git~1`, `.g\u200cit`)?
 */
export function inGitDir(rel: string): boolean {
  return rel.split("/").some(isDotGit);
}

/**
 * Why a symlink the pod made at `rel` may not be made locally: its target leads outside the sync root
 * (absolute, a drive, or `..` past the root). A local editor or tool writing through such a link would
 * write wherever the pod chose (`notes.md -> ~/.ssh/authorized_keys`). Links inside the tree are kept.
 */
export function pulledLinkProblem(rel: string, link: string | undefined): string | undefined {
  if (link === undefined) return undefined;
  if (link === "") return "it is a symlink to nothing";
  if (/^[\\/]/.test(link) || /^[A-Za-z]:/.test(link)) return `it is a symlink out of the tree (to ${link})`;
  const at = rel.split("/").slice(0, -1);
  for (const s of link.split(/[\\/]/)) {
    if (s === "..") {
      if (!at.length) return `it is a symlink out of the tree (to ${link})`;
      at.pop();
    } else if (s !== "." && s !== "") at.push(s);
  }
  return undefined;
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
