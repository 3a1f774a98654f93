/**
 * `kodama session land NAME`: the session's commits onto the current branch in one step.
 *
 *   1. checks: a branch checked out, git not mid-merge/rebase, no agent run active in the session;
 *   2. quiesces the background sync (one full three-way cycle, then it is held: nothing in flight);
 *   3. fetches the session's HEAD into kodama/NAME (src/session/git/fetch.ts; an unrelated repository is
 *      refused there) and refuses committed symlinks that lead out of the tree or into .git;
 *   4. moves the branch: fast-forward, or a merge (`--rebase`: a rebase). Each path the move changes is
 *      taken from what the working tree holds (src/session/git/landplan.ts): the synced version stays as it is
 *      (only the index and HEAD move), an old committed version is written over, a local change refuses
 *      the whole landing before anything moved. A merge or rebase that conflicts changes nothing: git's
 *      is aborted (from a terminal) or was only ever computed in door git's scratch (through a door,
 *      src/session/git/doorgit.ts), and the error names the paths and git's CONFLICT lines (exit 1);
 *   5. when the landed commit is not the pod's (a merge, a rebase), sends it to the pod's clone (a bundle
 *      over exec) and moves the pod's branch and index to it (its working tree is the sync's);
 *   6. starts the background sync again.
 */
import type { PathDoor } from "../lifecycle/startio.ts";
import type { Kube } from "../../kube/client.ts";
import type { KubeObjects, KubeStreams } from "../../kube/seam.ts";
import type { V1Pod } from "@kubernetes/client-node";
import { ExitCode, KodamaError, usageError } from "../../base/errors.ts";
import type { Sink } from "../../base/sink.ts";
import { safeLine } from "../../ui/color.ts";
import { fetchInto, localRoot, refuseSeveral } from "./fetch.ts";
import { inRepo, reposOf } from "./repos.ts";
import {
  changed,
  git,
  indexInfo,
  indexOf,
  mergeTree,
  ok,
  refuseLinks,
  refuseUnsafe,
  worktree,
} from "./landgit.ts";
import { runningPod } from "../access/podexec.ts";
import { type GitEntry, type LandKind, landKind, pathFate } from "./landplan.ts";
import { type Aside, dropAside, putBack, setAside } from "./landaside.ts";
import { clearHold, gitInProgress, hasHold, setHold } from "../sync/hold.ts";
import LAND from "../pod/land.sh" with { type: "text" };
import { doorGit, withIndexLock } from "./doorgit.ts";
import { updateRef } from "./gitrun.ts";
import { rebaseInScratch } from "./landrebase.ts";

export interface LandOptions {
  cwd: string;
  rebase?: boolean;
  dryRun?: boolean;
  /** land into a repository that shares no commit with the session */
  force?: boolean;
  json?: boolean;
  out: Sink;
  err: Sink;
  /** the active agent run of the session's pod, if any (the agent floor answers; session cannot ask it) */
  activeRun?: (pod: V1Pod) => Promise<string | undefined>;
  /** several repositories: land this one only (`--only NAME`) */
  only?: string;
  /** the door this call came through: each recorded repository of several must pass it (fetchrepos.ts) */
  door?: PathDoor;
}

export interface LandResult {
  name: string;
  kind: LandKind | "conflict";
  branch: string;
  from: string;
  to: string;
  session: string;
  dryRun: boolean;
  /** paths whose synced content was already in the working tree / written by the landing */
  kept: number;
  written: number;
  sentToPod: boolean;
  sync: "resumed" | "paused" | "not running";
  message: string;
}

export async function landSession(kube: Kube, ns: string, name: string, o: LandOptions): Promise<number> {
  // several repositories: every one or none (src/session/git/landrepos.ts)
  const repos = await reposOf(name, ns);
  if (repos) return await (await import("./landrepos.ts")).landRepos(kube, ns, name, repos, o);
  if (o.only !== undefined) throw usageError(`session land --only: session ${name} has one repository`);
  const root = await localRoot(o.cwd, "session land");
  const branchRef = (await git(root, "symbolic-ref", "-q", "HEAD")).out;
  if (!branchRef.startsWith("refs/heads/")) {
    throw usageError(
      "session land moves the current branch, but HEAD is detached",
      "check out a branch first",
    );
  }
  const branch = branchRef.slice("refs/heads/".length);
  if (branch === `kodama/${name}`) {
    throw usageError(`session land: ${branch} mirrors the session`, "check out the branch to land it on");
  }
  const busy = await gitInProgress(root);
  if (busy) {
    throw usageError(
      `session land: ${busy} is in progress in ${root}`,
      "finish it (git commit) or abort it (git merge --abort / git rebase --abort), then land again",
    );
  }
  // an earlier landing that stopped on conflicts paused the sync: this one starts it again
  const held = !o.dryRun && await hasHold(name);
  const pod = await runningPod(kube, ns, name);
  refuseSeveral(pod, name);
  const run = await o.activeRun?.(pod);
  if (run) {
    throw new KodamaError(
      `session land: agent run ${run} is still running in ${name}`,
      ExitCode.FAILED,
      `wait for it (kodama agent logs ${name} ${run} -f) or stop it (kodama agent stop ${name})`,
    );
  }
  const sync = await import("../sync/commands.ts");
  const wasSyncing = held || (!o.dryRun && await sync.syncRunning(name, ns));
  let resume = wasSyncing;
  try {
    if (wasSyncing) await sync.quiesce(kube, name, o.err);
    const r = await landLocked(kube, ns, name, pod, { ...o, root, branch, branchRef });
    if (r.kind === "conflict") {
      resume = false;
      if (wasSyncing) await setHold(name, root);
    }
    r.sync = r.kind === "conflict" && wasSyncing ? "paused" : wasSyncing ? "resumed" : "not running";
    report(r, o);
    return r.kind === "conflict" ? ExitCode.FAILED : ExitCode.OK;
  } finally {
    if (resume) {
      await clearHold(name);
      await sync.resumeSync(kube, name, ns);
    }
  }
}

function report(r: LandResult, o: LandOptions): void {
  if (o.json) {
    o.out.write(JSON.stringify(r, null, 2) + "\n");
    return;
  }
  o.err.write(r.message + "\n");
  if (r.sync === "resumed") o.err.write(`the sync of ${r.name} goes on\n`);
  if (r.sync === "paused") {
    o.err.write(
      `the sync of ${r.name} stays paused until the merge or rebase is finished (nothing syncs into it)\n`,
    );
  }
}

interface Ctx extends LandOptions {
  root: string;
  branch: string;
  branchRef: string;
}

async function landLocked(kube: Kube, ns: string, name: string, pod: V1Pod, o: Ctx): Promise<LandResult> {
  const { root, branch } = o;
  const f = await fetchInto(kube, ns, name, {
    root,
    local: `kodama/${name}`,
    force: o.force,
    // kodama/NAME moves only forward, and never while checked out (src/session/git/branchmove.ts)
    move: {
      elsewhere: `rename it (git branch -m kodama/${name} NEW) and land again`,
      forceWith: `kodama session fetch ${name} --force`,
    },
  });
  const tip = f.h.head;
  const from = await ok(root, "rev-parse", "--verify", "HEAD^{commit}");
  await refuseLinks(root, tip, from);
  const isAnc = async (a: string, b: string) =>
    (await git(root, "merge-base", "--is-ancestor", "--end-of-options", a, b)).ok;
  const kind = landKind({ tipInHead: await isAnc(tip, from), headInTip: await isAnc(from, tip) }, o.rebase);
  const base: LandResult = {
    name,
    kind,
    branch,
    from,
    to: from,
    session: tip,
    dryRun: !!o.dryRun,
    kept: 0,
    written: 0,
    sentToPod: false,
    sync: "not running",
    message: "",
  };
  const short = (s: string) => s.slice(0, 12);
  if (kind === "up-to-date") {
    const sent = !o.dryRun && from !== tip ? await sendToPod(kube, pod, root, tip, f.h.branch) : false;
    return {
      ...base,
      sentToPod: sent,
      message: `${branch} already has session ${name}'s commit ${short(tip)}${
        sent ? `; the pod's branch moved to ${short(from)}` : ""
      }${o.dryRun && from !== tip ? `; would move the pod's branch to ${short(from)}` : ""}`,
    };
  }
  if (kind === "rebase" || kind === "merge") {
    const clean = kind === "merge" ? await mergeTree(root, from, tip) : undefined;
    if (!clean) {
      if (o.dryRun) {
        return {
          ...base,
          message: `would ${kind} session ${name} (${short(tip)}) into ${branch}: ${
            kind === "merge"
              ? "it conflicts, and would stop for you to resolve it"
              : "git rebase " + short(tip)
          }`,
        };
      }
      // through a door, the merge or rebase is computed in door git's scratch (nothing here changes on a
      // conflict); from a terminal, git does it here, and a conflict is undone
      const m = doorGit() ? await scratchLand(root, name, base, o) : await gitMerge(root, name, base, o);
      const sent = await sendToPod(kube, pod, root, tip, f.h.branch);
      return {
        ...m,
        sentToPod: sent,
        message: m.message + (sent ? "; sent to the pod, its branch moved there" : ""),
      };
    }
    const msg = `Merge session ${name} (${safeLine(f.h.branch ?? tip.slice(0, 12))}) into ${branch}`;
    const commit = o.dryRun
      ? "(merge)"
      : await ok(root, "commit-tree", clean, "-p", from, "-p", tip, "-m", msg);
    const moved = await moveBranch(root, from, o.dryRun ? clean : commit, tip, o);
    const sent = !o.dryRun ? await sendToPod(kube, pod, root, tip, f.h.branch) : false;
    return {
      ...base,
      ...moved,
      to: commit,
      sentToPod: sent,
      message: `${o.dryRun ? "would merge" : "merged"} session ${name} (${short(tip)}) into ${branch}` +
        `${
          o.dryRun ? "" : `: ${short(commit)}`
        } (${moved.kept} path(s) already here, ${moved.written} written)` +
        (sent ? `; sent to the pod, its branch moved to ${short(commit)}` : ""),
    };
  }
  const moved = await moveBranch(root, from, tip, undefined, o);
  return {
    ...base,
    ...moved,
    to: tip,
    message: `${o.dryRun ? "would fast-forward" : "fast-forwarded"} ${branch} to session ${name}'s ${
      safeLine((await git(root, "log", "-1", "--format=%h %s", "--end-of-options", tip)).out)
    } (${moved.kept} path(s) already here, ${moved.written} written)`,
  };
}

/**
 * Move HEAD (its branch), the index and the working tree from `from` to the commit (or, dry, the tree)
 * `to`, keeping what the working tree already holds of `to`. Refuses (exit 2, nothing changed) when a
 * path holds a local change the move would overwrite.
 */
async function moveBranch(
  root: string,
  from: string,
  to: string,
  tip: string | undefined,
  o: Ctx,
): Promise<{ kept: number; written: number }> {
  const diff = await changed(root, from, to);
  await refuseUnsafe(root, diff);
  const side = tip ? await changed(root, from, tip) : new Map();
  const paths = [...diff.keys()];
  const wt = await worktree(root, paths);
  const idx = await indexOf(root, paths);
  const keep: string[] = [], refuse: string[] = [];
  let written = 0;
  for (const p of paths) {
    const [old, target] = diff.get(p)!;
    const fate = pathFate(old, target, wt.get(p), [side.get(p)?.[1]]);
    const staged = idx.get(p);
    const stagedOk = !staged ? !old || fate === "keep" : pathFate(old, target, staged) !== "refuse";
    if (fate === "refuse" || !stagedOk) refuse.push(p);
    else if (fate === "keep") keep.push(p);
    else written++;
  }
  if (refuse.length) {
    throw new KodamaError(
      `session land: local changes would be overwritten: ${refuse.slice(0, 8).join(", ")}${
        refuse.length > 8 ? `, ... (${refuse.length})` : ""
      }`,
      ExitCode.USAGE,
      "commit or stash them (git stash), then land again; nothing was changed",
    );
  }
  if (o.dryRun) return { kept: keep.length, written };
  const d = doorGit();
  const write = () => writeMove(root, from, to, keep, diff, o);
  await (d ? withIndexLock(d, write) : write());
  return { kept: keep.length, written };
}

/** The move itself: index entries of the kept paths, git's read-tree for the rest, the branch (CAS). */
export async function writeMove(
  root: string,
  from: string,
  to: string,
  keep: string[],
  diff: Map<string, [GitEntry?, GitEntry?]>,
  o: Pick<Ctx, "branch" | "branchRef">,
): Promise<void> {
  // the index takes the kept paths' new entries (the working tree already holds them), then git moves
  // the rest: read-tree -m -u writes only what still equals the old HEAD, and stops on anything else
  const info = keep.map((p) => {
    const t = diff.get(p)![1];
    return t ? `${t.mode} ${t.oid}\t${p}` : `0 ${"0".repeat(40)}\t${p}`;
  });
  if (info.length) await indexInfo(root, info);
  const rt = await git(root, "read-tree", "-m", "-u", from, to);
  if (!rt.ok) {
    throw new KodamaError(
      `session land: git read-tree refused: ${safeLine(rt.err.split("\n")[0])}`,
      ExitCode.FAILED,
      "a file changed while landing; nothing was moved: land again",
    );
  }
  await git(root, "update-index", "-q", "--refresh");
  const u = await updateRef(root, o.branchRef, to, from, `kodama land: ${o.branch}`);
  if (!u.ok) {
    throw new KodamaError(
      `session land: ${o.branch} changed while landing: ${safeLine(u.err)}`,
      ExitCode.FAILED,
    );
  }
}

/**
 * A merge that conflicts, or a rebase: git does it in the working tree. First, paths the session changed
 * whose working-tree content is the session's (synced) are moved aside (landaside.ts) and the tracked
 * ones get the old HEAD's version (a committed one), so git sees a clean tree there; a local change on
 * such a path refuses before anything. If git does not start, they are put back and the landing fails.
 */
async function gitMerge(root: string, name: string, base: LandResult, o: Ctx): Promise<LandResult> {
  const tip = base.session;
  const side = await changed(root, base.from, tip);
  await refuseUnsafe(root, side);
  const { back, gone } = await inGitsWay(root, side);
  const aside = await setAside(root, name, [...back, ...gone]);
  if (back.length) await ok(root, "checkout-index", "-f", "--", ...back);
  const msg = `Merge session ${name} into ${o.branch}`;
  const r = base.kind === "rebase"
    ? await git(root, "rebase", "--autostash", "--end-of-options", tip)
    : await git(root, "merge", "--no-ff", "--no-edit", "-m", msg, "--end-of-options", tip);
  if (!r.ok && !(await gitInProgress(root))) await didNotStart(root, aside, back, base.kind, r.err);
  if (!r.ok) {
    // stopped on conflicts: git's own lines say where; then everything goes back as it was
    const names = (await git(root, "diff", "--name-only", "--diff-filter=U", "-z")).out.split("\0").filter(
      Boolean,
    );
    const lines = `${r.out}\n${r.err}`.split(/[\r\n]+/);
    const said = lines.filter((l) => /^CONFLICT/.test(l));
    if (!said.length) said.push(...lines.filter((l) => /^(error|fatal): /.test(l)).slice(0, 2));
    await git(root, base.kind === "rebase" ? "rebase" : "merge", "--abort");
    const left = await putBack(root, aside, new Set(back));
    throw conflictError(base, name, o.branch, names, said, left.length ? aside.dir : undefined);
  }
  await dropAside(aside);
  const to = (await git(root, "rev-parse", "HEAD")).out;
  return {
    ...base,
    to,
    written: back.length + gone.length,
    message: `${base.kind === "rebase" ? "rebased" : "merged"} ${o.branch} onto session ${name}'s ${
      tip.slice(0, 12)
    }: ${to.slice(0, 12)}`,
  };
}

/** A landing that conflicts: exit 1 naming the paths and git's lines; nothing was changed. */
function conflictError(
  base: LandResult,
  name: string,
  branch: string,
  paths: string[],
  said: string[],
  copies?: string,
): KodamaError {
  const list = paths.length
    ? `: ${safeLine(paths.slice(0, 8).join(", "))}${paths.length > 8 ? `, ... (${paths.length})` : ""}`
    : "";
  return new KodamaError(
    `session land: the ${base.kind} of session ${name} (${
      base.session.slice(0, 12)
    }) into ${branch} conflicts${list}` +
      (said.length ? `\n${said.slice(0, 8).map((l) => `  ${safeLine(l)}`).join("\n")}` : ""),
    ExitCode.FAILED,
    (copies ? `copies of the synced files are in ${copies}; ` : "nothing was changed here; ") +
      `resolve it in the session (kodama attach ${name}), or ${base.kind} kodama/${name} yourself, then land again`,
  );
}

/**
 * Through a door: the merge (git merge-tree) or the rebase (git rebase in a scratch work tree) is done in
 * door git's scratch; only a clean result moves the branch here (moveBranch). A conflict changes nothing.
 */
async function scratchLand(root: string, name: string, base: LandResult, o: Ctx): Promise<LandResult> {
  const tip = base.session, from = base.from;
  let to: string;
  if (base.kind === "merge") {
    const r = await git(root, "merge-tree", "--write-tree", "--name-only", "--end-of-options", from, tip);
    const [tree, ...rest] = r.out.split("\n");
    const blank = rest.indexOf("");
    const names = blank < 0 ? rest : rest.slice(0, blank);
    if (!r.ok) throw conflictError(base, name, o.branch, names, rest.filter((l) => /^CONFLICT/.test(l)));
    to = await ok(
      root,
      "commit-tree",
      tree,
      "-p",
      from,
      "-p",
      tip,
      "-m",
      `Merge session ${name} into ${o.branch}`,
    );
  } else to = await scratchRebase(name, base, o);
  const moved = await moveBranch(root, from, to, tip, o);
  return {
    ...base,
    ...moved,
    to,
    message: `${base.kind === "rebase" ? "rebased" : "merged"} ${o.branch} onto session ${name}'s ${
      tip.slice(0, 12)
    }: ${to.slice(0, 12)} (${moved.kept} path(s) already here, ${moved.written} written)`,
  };
}

/** `git rebase TIP` of the commit `from`, in door git's scratch (landrebase.ts): the rebased commit. */
async function scratchRebase(name: string, base: LandResult, o: Ctx): Promise<string> {
  const r = await rebaseInScratch(base.from, base.session);
  if ("commit" in r) return r.commit;
  throw conflictError(base, name, o.branch, r.paths, r.said);
}

/**
 * The paths the session changed that hold its (synced) version here: `back` (tracked: the old HEAD's
 * version goes there) and `gone` (new: git writes them). A local change on any refuses (exit 2).
 */
async function inGitsWay(
  root: string,
  side: Map<string, [GitEntry?, GitEntry?]>,
): Promise<{ back: string[]; gone: string[] }> {
  const wt = await worktree(root, [...side.keys()]);
  const back: string[] = [], gone: string[] = [], refuse: string[] = [];
  for (const [p, [old, theirs]] of side) {
    const fate = pathFate(theirs, old, wt.get(p));
    if (fate === "refuse") refuse.push(p);
    else if (fate === "write") (old ? back : gone).push(p);
  }
  if (refuse.length) {
    throw new KodamaError(
      `session land: local changes would be overwritten: ${safeLine(refuse.slice(0, 8).join(", "))}`,
      ExitCode.USAGE,
      "commit or stash them (git stash), then land again; nothing was changed",
    );
  }
  return { back, gone };
}

/** git refused to start the merge or rebase: the files go back as they were, and the landing fails. */
async function didNotStart(
  root: string,
  a: Aside,
  back: string[],
  kind: string,
  err: string,
): Promise<never> {
  const left = await putBack(root, a, new Set(back));
  const why = err.split("\n").find((l) => l.trim()) ?? "no reason given";
  throw new KodamaError(
    `session land: git ${kind === "rebase" ? "rebase" : "merge"} did not start: ${safeLine(why)}`,
    ExitCode.FAILED,
    left.length
      ? `nothing was landed; copies of ${left.length} file(s) are in ${a.dir}`
      : "nothing was landed, your files are as they were; fix what git says, then land again",
  );
}

/** `sh -c MOVE kodama-land SIZE NEW OLD`: a bundle of SIZE bytes on stdin; the pod's branch OLD -> NEW. */
export const MOVE_SCRIPT: string = LAND; // pod/land.sh

/**
 * The landed HEAD to the pod's clone, and the pod's branch moved to it (from `podTip`); `repo`: one repository
 * of several (its directory in the workspace).
 */
export async function sendToPod(
  kube: KubeObjects & KubeStreams,
  pod: V1Pod,
  root: string,
  podTip: string,
  branch?: string,
  repo?: string,
): Promise<boolean> {
  const head = await ok(root, "rev-parse", "HEAD");
  if (head === podTip) return false;
  if (!(await git(root, "merge-base", "--is-ancestor", podTip, head)).ok) return false;
  const file = await Deno.makeTempFile({ prefix: "kodama-land-" });
  try {
    const made = await git(root, "bundle", "create", file, "HEAD", `^${podTip}`);
    const size = made.ok ? (await Deno.stat(file)).size : 0;
    const { execCapture } = await import("../access/podexec.ts");
    const cmd = ["sh", "-c", MOVE_SCRIPT, "kodama-land", String(size), head, podTip];
    const r = await execCapture(kube, pod, repo === undefined ? cmd : inRepo(repo, cmd), {
      stdin: size ? await Deno.readFile(file) : undefined,
    });
    if (r.code !== 0) {
      throw new KodamaError(
        `session land: landed here, but the pod's branch${branch ? ` ${safeLine(branch)}` : ""}${
          repo === undefined ? "" : ` of ${repo}`
        } was not moved: ${safeLine(r.stderr.trim().replace(/^kodama: /, "")) || `exit code ${r.code}`}`,
        ExitCode.FAILED,
        "land again to retry",
      );
    }
    return true;
  } finally {
    await Deno.remove(file).catch(() => {});
  }
}
