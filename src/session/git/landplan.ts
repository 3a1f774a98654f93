/**
 * `session land`'s pure decisions: which way the current branch moves (up to date, fast-forward, merge,
 * rebase), what happens to each path the move changes given what the working tree holds, and which
 * committed symlinks from the pod are refused.
 *
 * A path the move changes is **kept** when the working tree already holds the target's version (the
 * sync brought it: only the index and HEAD move), **written** when it holds the old HEAD's version (or,
 * for a merge, the session's version: a committed version, so nothing of the user's is lost), and
 * **refused** otherwise: the working tree holds a local change the landing would overwrite.
 *
 * The pod's commits are untrusted (docs/security.md, "a pod"): every path they change is held to the
 * rules of sync's local writes (src/session/sync/safety.ts) and every link they make to safewrite's
 * (src/base/fs/safewrite.ts) before a landing writes, hashes or moves anything.
 */
import { targetProblem } from "../../base/fs/safewrite.ts";
import { hostPlatform, isDotGit, type Platform } from "../../base/platform.ts";
import { pulledPathProblem } from "../sync/safety.ts";

/** A tree entry as git stores it: mode (`100644`, `100755`, `120000`, `160000`) and object id. */
export interface GitEntry {
  mode: string;
  oid: string;
}

export type LandKind = "up-to-date" | "fast-forward" | "merge" | "rebase";

/** How the current branch takes the session's tip. */
export function landKind(r: { tipInHead: boolean; headInTip: boolean }, rebase = false): LandKind {
  if (r.tipInHead) return "up-to-date";
  if (r.headInTip) return "fast-forward";
  return rebase ? "rebase" : "merge";
}

export const sameEntry = (a: GitEntry | undefined, b: GitEntry | undefined): boolean =>
  !a || !b ? a === b : a.mode === b.mode && a.oid === b.oid;

export type PathFate = "keep" | "write" | "refuse";

/**
 * One changed path: `wt` is the working tree's file as git would store it (undefined: absent; "other":
 * a directory or something git cannot take), `also` the other committed versions that may be overwritten
 * (the session's, when merging).
 */
export function pathFate(
  old: GitEntry | undefined,
  target: GitEntry | undefined,
  wt: GitEntry | undefined | "other",
  also: (GitEntry | undefined)[] = [],
): PathFate {
  if (wt === "other") return "refuse";
  if (sameEntry(wt, target)) return "keep";
  if (sameEntry(wt, old) || also.some((x) => sameEntry(wt, x))) return "write";
  return "refuse";
}

/** A committed symlink and where it points. */
export interface TreeLink {
  path: string;
  target: string;
}

export interface BadLink extends TreeLink {
  why: string;
}

/** Is this path component git's own directory (in any spelling a file system reads as `.git`)? */
const isGitDir = isDotGit;

/**
 * The links of one commit's tree that lead out of the tree or into `.git`: each target resolved from its
 * own directory, following links of the same tree (chains) on the way; absolute targets, `..` above the
 * root, a `.git` component anywhere and loops are refused, and so is a `..` after a name (safewrite's
 * rule: `d/up/../x` climbs out of whatever `d/up` is on disk). Pure.
 */
export function badLinks(links: TreeLink[]): BadLink[] {
  const byPath = new Map(links.map((l) => [l.path, l.target]));
  const bad: BadLink[] = [];
  for (const l of links) {
    const why = resolveLink(l.path, l.target, byPath);
    if (why) bad.push({ ...l, why });
  }
  return bad;
}

function resolveLink(path: string, target: string, links: Map<string, string>): string | undefined {
  if (path.split("/").some(isGitDir)) return "it is inside .git";
  if (target.startsWith("/") || /^[a-zA-Z]:[\\/]/.test(target) || target.startsWith("\\")) {
    return "its target is an absolute path";
  }
  const stack = path.split("/").slice(0, -1);
  let rest = target.split(/[\\/]/);
  for (let hops = 0; rest.length;) {
    const c = rest.shift()!;
    if (c === "" || c === ".") continue;
    if (c === "..") {
      if (!stack.length) return "it leads out of the tree";
      stack.pop();
      continue;
    }
    if (isGitDir(c)) return "it leads into .git";
    stack.push(c);
    const next = links.get(stack.join("/"));
    if (next !== undefined) {
      if (++hops > 40) return "its chain of links does not end";
      if (next.startsWith("/") || /^[a-zA-Z]:[\\/]/.test(next)) return "it leads to an absolute path";
      stack.pop();
      rest = [...next.split(/[\\/]/), ...rest];
    }
  }
  return targetProblem(target);
}

/** A path a landing will not touch, and why (a sentence fragment); `link`: the target of a link. */
export interface Refusal {
  path: string;
  why: string;
  link?: string;
}

/** The paths whose names sync would not write here either (`..`, `.git`, a name this OS cannot hold). */
export function namesRefused(paths: Iterable<string>, p: Platform = hostPlatform()): Refusal[] {
  const bad: Refusal[] = [];
  for (const path of paths) {
    const why = pulledPathProblem(path, p);
    if (why) bad.push({ path, why });
  }
  return bad;
}

/** The links a move makes: each changed path whose new entry is a symlink, with its blob. */
export function linksMade(diff: Map<string, [GitEntry?, GitEntry?]>): { path: string; oid: string }[] {
  return [...diff].filter(([, [, to]]) => to?.mode === "120000").map(([path, [, to]]) => ({
    path,
    oid: to!.oid,
  }));
}

/** One line naming the first refusals: `x -> t (why); y (why), and N more`. */
export function refusalLine(bad: Refusal[], max = 3): string {
  const one = (r: Refusal) => `${r.path}${r.link === undefined ? "" : ` -> ${r.link}`} (${r.why})`;
  const more = bad.length > max ? `, and ${bad.length - max} more` : "";
  return bad.slice(0, max).map(one).join("; ") + more;
}
