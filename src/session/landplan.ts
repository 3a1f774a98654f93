/**
 * `session land`'s pure decisions: which way the current branch moves (up to date, fast-forward, merge,
 * rebase), what happens to each path the move changes given what the working tree holds, and which
 * committed symlinks from the pod are refused.
 *
 * A path the move changes is **kept** when the working tree already holds the target's version (the
 * sync brought it: only the index and HEAD move), **written** when it holds the old HEAD's version (or,
 * for a merge, the session's version: a committed version, so nothing of the user's is lost), and
 * **refused** otherwise: the working tree holds a local change the landing would overwrite.
 */

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

/** Is this path component git's own directory (any letter case, as a case-folding disk reads it)? */
const isGitDir = (c: string) => /^\.git[. ]*$/i.test(c);

/**
 * The links of one commit's tree that lead out of the tree or into `.git`: each target resolved from its
 * own directory, following links of the same tree (chains) on the way; absolute targets, `..` above the
 * root, a `.git` component anywhere and loops are refused. Pure.
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
  return undefined;
}
