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
 *  - the files that decide what kodama does here are never written or deleted (`localRule`): kodama's
 *    configuration and the ignore rules that decide what sync sends;
 *  - setuid, setgid and sticky bits and world-writable permissions never come down.
 */
import { join } from "node:path";
import {
  foldedSegment,
  hostPlatform,
  isDotGit,
  localMode,
  type Platform,
  pulledNameProblem,
} from "../../base/platform.ts";

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

/** NTFS short names of `.kodama`, `.kodama.yaml`, `.kodamaignore` and `.gitignore` (`KODAMA~1.YAM`). */
const SHORT_RULE_NAME = /^(kodama|gitign)~\d+(\.[a-z0-9]{1,3})?$/;

/** Protected places under a sync root, root-relative ("." the root): see localRule. */
export interface ProtectedPlaces {
  workflows: readonly string[];
  state: readonly string[];
}

/**
 * Why `rel` decides what kodama does on this machine, or undefined: kodama's configuration (a
 * `.kodama.yaml`, anything in a `.kodama/` directory: workflows and templates, at any depth, since the
 * nearest counts from a subdirectory) or a rule of what sync sends (`.gitignore`, `.kodamaignore`). A pod
 * that wrote one would plant a workflow that runs with your cluster rights, or un-ignore a secret that the
 * next push sends it. The pod's change stays in the pod and comes home with its commits (`session fetch`,
 * `session land`), where you see it. Any spelling a file system reads as one of these names counts.
 * `places` are the protected places under the root (src/session/sync/protect.ts, root-relative, real and
 * as written): its `workflows` directories (`workflows.paths`) count as `.kodama/workflows` does, its
 * `state` directories (`$KODAMA_HOME`, the real place of a `.kodama` link) hold nothing the pod may write;
 * a plain list is `workflows` directories. `placesFile` is false for a directory the pod makes or a path
 * it deletes.
 */
export function localRule(
  rel: string,
  places: readonly string[] | ProtectedPlaces = [],
  placesFile = true,
): string | undefined {
  const { workflows, state } = Array.isArray(places)
    ? { workflows: places as readonly string[], state: [] as readonly string[] }
    : places as ProtectedPlaces;
  const parts = rel.split("/").map(foldedSegment);
  const last = parts[parts.length - 1];
  const segs = (d: string) => d === "." ? [] : d.split("/").map(foldedSegment);
  const under = (dir: string[], n: number) => dir.slice(0, n).every((s, i) => s === parts[i]);
  for (const d of state) {
    // anything in it, or a file or link put in its place or the place of a directory holding it
    const dir = segs(d);
    if (
      (parts.length > dir.length && under(dir, dir.length)) ||
      (placesFile && parts.length <= dir.length && under(dir, parts.length))
    ) {
      return `it is in kodama's own directory here (${d}), which sync never writes`;
    }
  }
  for (const d of workflows) {
    // a workflow file in it (discovery reads DIR/*.yaml|yml), or a file or link put in the place of the
    // directory or one holding it (a link would lead discovery into a directory the pod fills)
    const dir = segs(d);
    if (
      (parts.length === dir.length + 1 && under(dir, dir.length) && /\.ya?ml$/.test(last)) ||
      (placesFile && parts.length <= dir.length && under(dir, parts.length))
    ) {
      return `it is in a workflows directory (workflows.paths: ${d}), which only your own edits or git change here`;
    }
  }
  if (parts.some((s, i) => s === ".kodama" || (i < parts.length - 1 && SHORT_RULE_NAME.test(s)))) {
    return "it is kodama's configuration (.kodama/), which only your own edits or git change here";
  }
  if (last === ".kodama.yaml") {
    return "it is kodama's configuration (.kodama.yaml), which only your own edits or git change here";
  }
  if (last === ".gitignore" || last === ".kodamaignore" || SHORT_RULE_NAME.test(last)) {
    return `it is an ignore file (${last}): what leaves this machine is decided by yours, not the pod's`;
  }
  return undefined;
}

/** Why a pod's path may not be written locally (its name), or undefined when it may. */
export function pulledPathProblem(rel: string, p: Platform = hostPlatform()): string | undefined {
  const name = pulledNameProblem(rel, p);
  if (name) return name;
  if (inGitDir(rel)) return "it is inside .git, which sync never writes";
  return undefined;
}

/**
 * Why the pod's change to `rel` may not be made here — written or deleted — or undefined: its name
 * (pulledPathProblem), or it is one of the files that decide what kodama does here (localRule). Unlike a
 * name no local file may have, such a path is still compared (it syncs from here to the pod).
 */
export function localWriteProblem(
  rel: string,
  p: Platform = hostPlatform(),
  places: readonly string[] | ProtectedPlaces = [],
  placesFile = true,
): string | undefined {
  return pulledPathProblem(rel, p) ?? localRule(rel, places, placesFile);
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
