/**
 * Moving a local branch to a commit that came from a session (`session fetch`, `adopt`): one rule for every
 * caller and every door (docs/sessions.md, "Getting the work back").
 *
 * - A branch checked out in any work tree of the repository — its HEAD, or a rebase or bisect in progress
 *   there — is never moved: that work tree's index and files would no longer match its branch, and a
 *   commit made there would be lost from it. Not even with force.
 * - An existing branch moves only forward (its commit is an ancestor of the new one), unless the person at
 *   the keyboard forces it (a CLI flag; no MCP tool or page can), or its commit is where this same move last
 *   put it (its newest reflog entry is ours, at that commit): then nothing on it is anyone else's — the
 *   session rewrote its history (an amend, a rebase) and its branch follows.
 * - The move is a compare-and-swap (`git update-ref REF NEW OLD`, with a reflog line): a commit made on
 *   the branch between the check and the move makes the move fail instead of dropping it.
 *
 * `planMove` is the decision (pure); `moveBranch` reads the repository, decides, and moves or refuses.
 */
import { ExitCode, KodamaError, usageError } from "../../base/errors.ts";
import { localGit, updateRef } from "./gitrun.ts";
import { type DoorGit, doorGit, lastReflogOf, worktreesOf } from "./doorgit.ts";
import { join } from "../../base/fs/fspath.ts";

/** One work tree, as `git worktree list --porcelain -z` describes it. */
export interface Worktree {
  path: string;
  /** the branch checked out (refs/heads/…), absent when detached or bare */
  branch?: string;
  detached?: boolean;
  bare?: boolean;
}

/** `git worktree list --porcelain -z`: records of NUL-ended lines, each record ended by an empty one. */
export function parseWorktrees(text: string): Worktree[] {
  const out: Worktree[] = [];
  let cur: Worktree | undefined;
  for (const line of text.split("\0")) {
    if (line === "") {
      if (cur) out.push(cur);
      cur = undefined;
      continue;
    }
    const sp = line.indexOf(" ");
    const [key, value] = sp < 0 ? [line, ""] : [line.slice(0, sp), line.slice(sp + 1)];
    if (key === "worktree") {
      if (cur) out.push(cur);
      cur = { path: value };
    } else if (cur && key === "branch") cur.branch = value;
    else if (cur && key === "detached") cur.detached = true;
    else if (cur && key === "bare") cur.bare = true;
  }
  if (cur) out.push(cur);
  return out;
}

/** What to do with a branch (`old` its commit, absent when it does not exist) asked to point at `to`. */
export type MovePlan =
  | { kind: "same" | "create" | "forward" | "forced" | "followed" }
  | { kind: "checked-out"; where: string }
  | { kind: "behind" };

export function planMove(s: {
  old?: string;
  to: string;
  /** the work tree where the branch is checked out (or being rebased or bisected), if any */
  checkedOutIn?: string;
  /** is `old` an ancestor of `to`? */
  forward: boolean;
  force?: boolean;
  /** `old` is where this same move last put the branch (its newest reflog entry is ours, at `old`) */
  ours?: boolean;
}): MovePlan {
  if (s.old === s.to) return { kind: "same" };
  if (s.checkedOutIn !== undefined) return { kind: "checked-out", where: s.checkedOutIn };
  if (!s.old) return { kind: "create" };
  if (s.forward) return { kind: "forward" };
  if (s.ours) return { kind: "followed" };
  return s.force ? { kind: "forced" } : { kind: "behind" };
}

/** Is the newest reflog entry of `ref` this move's own (`reflog`), leaving it at `old`? */
async function lastMovedBy(root: string, ref: string, old: string, reflog: string): Promise<boolean> {
  const d = doorGit();
  if (d) {
    const last = await lastReflogOf(d, ref);
    return last?.oid === old && last.message === reflog;
  }
  const r = await localGit(["reflog", "show", "-n", "1", "--format=%H %gs", "--end-of-options", ref], root);
  return r.ok && r.out === `${old} ${reflog}`;
}

/** A rebase's or bisect's branch, from the files git keeps in a work tree's git directory. */
async function busyBranches(worktree: string): Promise<string[]> {
  const r = await localGit(
    [
      "rev-parse",
      "--path-format=absolute",
      "--git-path",
      "rebase-merge/head-name",
      "--git-path",
      "rebase-apply/head-name",
      "--git-path",
      "BISECT_START",
    ],
    worktree,
  );
  if (!r.ok) return [];
  const out: string[] = [];
  for (const file of r.out.split("\n")) {
    const text = (await Deno.readTextFile(file).catch(() => "")).trim();
    if (!text) continue;
    // head-name holds refs/heads/X; BISECT_START the branch's short name (or a commit when detached)
    out.push(text.startsWith("refs/") ? text : `refs/heads/${text}`);
  }
  return out;
}

/**
 * Where each branch is checked out: refs/heads/X -> the work tree's path, over every work tree of the
 * repository at `root` — its HEAD, and the branch of a rebase or bisect in progress there (HEAD is then
 * detached, but finishing it writes the branch).
 */
export async function checkedOutBranches(root: string): Promise<Map<string, string>> {
  const d = doorGit();
  if (d) return await checkedOutFromFiles(d);
  const r = await localGit(["worktree", "list", "--porcelain", "-z"], root);
  if (!r.ok) {
    throw new KodamaError(`cannot list the work trees of ${root}: ${r.err.split("\n")[0]}`, ExitCode.FAILED);
  }
  const at = new Map<string, string>();
  // localGit trims: the record separator at the end is put back
  for (const wt of parseWorktrees(`${r.out}\0\0`)) {
    if (wt.bare) continue;
    if (wt.branch) at.set(wt.branch, wt.path);
    // a work tree whose directory is gone (prunable) still holds its branch, as git sees it
    if (!(await Deno.stat(wt.path).then((st) => st.isDirectory, () => false))) continue;
    for (const b of await busyBranches(wt.path)) if (!at.has(b)) at.set(b, wt.path);
  }
  return at;
}

/** checkedOutBranches through a door: git's files of every work tree, read by kodama (doorgit.ts). */
async function checkedOutFromFiles(d: DoorGit): Promise<Map<string, string>> {
  const at = new Map<string, string>();
  for (const wt of await worktreesOf(d)) {
    if (wt.branch) at.set(wt.branch, wt.path);
    for (const f of ["rebase-merge/head-name", "rebase-apply/head-name", "BISECT_START"]) {
      const text = (await Deno.readTextFile(join(wt.gitDir, f)).catch(() => "")).trim();
      const b = !text ? undefined : text.startsWith("refs/") ? text : `refs/heads/${text}`;
      if (b && !at.has(b)) at.set(b, wt.path);
    }
  }
  return at;
}

export interface MoveOptions {
  /** who moves it, at the start of a refusal: "session fetch", "adopt" */
  verb: string;
  /** what the new commit is, for messages: "session fix's branch" */
  source: string;
  /** move it even when it has commits `source` lacks (never a checked-out branch) */
  force?: boolean;
  /** how to keep both instead, in a refusal's hint: "fetch into another branch (--branch NEW)" */
  elsewhere: string;
  /** the command that forces it, when the caller offers one ("kodama session fetch fix --force") */
  forceWith?: string;
  /** the reflog line */
  reflog: string;
}

const tip = async (root: string, ref: string) =>
  (await localGit(["rev-parse", "--verify", "-q", "--end-of-options", `${ref}^{commit}`], root)).out ||
  undefined;

function refusal(plan: MovePlan, branch: string, old: string | undefined, o: MoveOptions): KodamaError {
  if (plan.kind === "checked-out") {
    return usageError(
      `${o.verb}: ${branch} is checked out in ${plan.where}: not moved (its files would no longer match it)`,
      `switch ${plan.where} to another branch first, or ${o.elsewhere}`,
    );
  }
  return usageError(
    `${o.verb}: ${branch} has commits that ${o.source} lacks (${old?.slice(0, 12)}): not moved`,
    `${o.elsewhere}${
      o.forceWith ? `, or move it anyway with ${o.forceWith} (its commits stay in git reflog ${branch})` : ""
    }`,
  );
}

/**
 * Before anything is written into the repository: refuse (exit 2) when `branch` is checked out in a work
 * tree and is not at `to` already. The other checks need `to` in the repository (moveBranch).
 */
export async function refuseCheckedOut(
  root: string,
  branch: string,
  to: string,
  o: MoveOptions,
): Promise<void> {
  const ref = `refs/heads/${branch}`;
  const old = await tip(root, ref);
  if (old === to) return;
  const where = (await checkedOutBranches(root)).get(ref);
  if (where !== undefined) throw refusal({ kind: "checked-out", where }, branch, old, o);
}

/**
 * Point branch `branch` of the repository at `root` at commit `to` (which must be there), by the rule at the
 * top of this file. Exit 2 naming the branch and what to do when the rule refuses; exit 1 when the branch
 * changed meanwhile.
 */
export async function moveBranch(
  root: string,
  branch: string,
  to: string,
  o: MoveOptions,
): Promise<MovePlan> {
  const ref = `refs/heads/${branch}`;
  const old = await tip(root, ref);
  const checkedOutIn = old === to ? undefined : (await checkedOutBranches(root)).get(ref);
  const forward = !!old && old !== to && checkedOutIn === undefined &&
    (await localGit(["merge-base", "--is-ancestor", "--end-of-options", old, to], root)).ok;
  const ours = !!old && !forward && checkedOutIn === undefined && await lastMovedBy(root, ref, old, o.reflog);
  const plan = planMove({ old, to, checkedOutIn, forward, force: o.force, ours });
  if (plan.kind === "same") return plan;
  if (plan.kind === "checked-out" || plan.kind === "behind") throw refusal(plan, branch, old, o);
  // compare-and-swap: the old commit, or (creating it) that the branch does not exist yet
  const u = await updateRef(root, ref, to, old ?? "", o.reflog);
  if (!u.ok) {
    throw new KodamaError(
      `${o.verb}: ${branch} changed while it was being moved: not moved (${u.err.split("\n").pop()})`,
      ExitCode.FAILED,
      "run it again",
    );
  }
  return plan;
}
