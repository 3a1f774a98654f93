/**
 * `kodama session land NAME` of a session with several repositories (src/session/git/repos.ts): every written
 * repository lands, or none does. One transaction over all of them:
 *
 *   1. checks, in every local repository (the paths given to `start`): a branch checked out, git not
 *      mid-merge or rebase; no agent run active in the session;
 *   2. fetches each one's session branch into its kodama/NAME (fetchrepos.ts; all or none);
 *   3. prepares each move without writing a branch, the index or a file: fast-forward, or a merge computed
 *      by `git merge-tree` (its commit made, no ref pointing at it). A merge that conflicts, a symlink
 *      refused, a local change in the way (landplan.ts pathFate, as for one repository) stops here: no
 *      repository's branch moved, and the error names the repository and its paths;
 *   4. applies the moves one repository after another (land.ts writeMove: the index, git read-tree, the
 *      branch by compare-and-swap), having recorded for each what it overwrites: the index file, every
 *      file it writes (its committed version, or that there was none) and the branch's commit. When a write
 *      fails midway, the repositories already written are put back from that record, newest first: the
 *      files, the index, the branch; and each kodama/NAME goes back to where it was;
 *   5. sends each merge to the pod's clone of that repository, whose branch moves to it, as for one.
 *
 * A read-only repository is never fetched or landed. `--only NAME` lands one repository (the same steps).
 * `--rebase`: in step 3 each repository's rebase is computed aside (landrebase.ts), then moved to as a merge
 * is. Through a door (an MCP client, a page, the editor, a workflow step) every repository's recorded path
 * passes the door before anything, and each one's git is door git of its own (fetchrepos.ts withRepoGits):
 * its config and hooks are never read, each index is changed under its index.lock.
 * Each repository synced from here (`kodama sync start NAME`: one sync per repository, sync/units.ts) is
 * paused with both sides agreeing before anything is checked, and goes on after, however the landing ends
 * (nothing is ever left mid-merge here, so no hold is needed).
 */
import type { KubeSessions } from "../../kube/seam.ts";
import type { Kube } from "../../kube/client.ts";
import { dirname, join } from "../../base/fs/fspath.ts";
import { ExitCode, KodamaError, usageError } from "../../base/errors.ts";
import { safeLine } from "../../ui/color.ts";
import { runningPod } from "../access/podexec.ts";
import { gitInProgress } from "../sync/hold.ts";
import { repoOf, unitKey } from "../sync/store.ts";
import type { StateRepo } from "../state/state.ts";
import {
  fetchAll,
  type InRepo,
  inRepoError,
  type RepoFetched,
  repoRoot,
  restoreBranches,
  withRepoGits,
} from "./fetchrepos.ts";
import { doorGit, withIndexLock } from "./doorgit.ts";
import { type LandOptions, sendToPod, writeMove } from "./land.ts";
import { blobBytes, changed, git, indexOf, ok, refuseLinks, refuseUnsafe, worktree } from "./landgit.ts";
import { type GitEntry, type LandKind, landKind, pathFate } from "./landplan.ts";
import { updateRef } from "./gitrun.ts";
import { writableRepos } from "./repos.ts";
import { rebaseAside } from "./landrebase.ts";

export interface LandReposOptions extends LandOptions {
  /**
   * a test seam: called after each repository's write, before the next one's; whatever it throws fails the
   * landing there (tests plant a failure between two writes)
   */
  afterWrite?: (repo: string) => Promise<void> | void;
}

/** One repository's move, prepared: nothing of it is written yet. */
export interface Plan {
  repo: StateRepo;
  root: string;
  branch: string;
  branchRef: string;
  from: string;
  /** the session's commit */
  tip: string;
  podBranch?: string;
  kind: LandKind;
  /** the branch's new commit (a dry run's merge: its tree) */
  to: string;
  keep: string[];
  diff: Map<string, [GitEntry?, GitEntry?]>;
  /** each path the move writes, and what the working tree held there (undefined: nothing) */
  prior: Map<string, GitEntry | undefined>;
  /** the directories the move would create (none of them there before): removed again by an undo */
  newDirs: string[];
}

/** A local repository of the session, on the branch it lands on. */
export interface Head {
  repo: StateRepo;
  root: string;
  branch: string;
  branchRef: string;
}

export async function landRepos(
  kube: Kube,
  ns: string,
  name: string,
  repos: StateRepo[],
  o: LandReposOptions,
): Promise<number> {
  const todo = chosen(repos, name, o.only);
  // through a door: every repository passes it before anything (a sync's last cycle included), then each
  // one's git is door git of its own
  return await withRepoGits(todo, "session land", o.door, async (roots, at) => {
    const sync = await import("../sync/commands.ts");
    const synced: string[] = [];
    for (const r of o.dryRun ? [] : todo) {
      const key = unitKey(name, r.name);
      if (await sync.syncRunning(key, ns)) synced.push(key);
    }
    try {
      for (const key of synced) await sync.quiesce(kube, key, o.err);
      return await landAll(kube, ns, name, repos, todo, { ...o, at, roots });
    } finally {
      for (const key of synced) await sync.resumeSync(kube, key, ns);
      if (synced.length) o.err.write(`the sync of ${synced.map(repoOf).join(", ")} goes on\n`);
    }
  });
}

async function landAll(
  kube: KubeSessions,
  ns: string,
  name: string,
  repos: StateRepo[],
  todo: StateRepo[],
  o: LandReposOptions & { at: InRepo; roots: Map<string, string> },
): Promise<number> {
  const { at } = o;
  const heads: Head[] = [];
  for (const r of todo) heads.push(await at(o.roots.get(r.name)!, () => headOf(r, name)));
  const pod = await runningPod(kube, ns, name);
  const run = await o.activeRun?.(pod);
  if (run) {
    throw new KodamaError(
      `session land: agent run ${run} is still running in ${name}`,
      ExitCode.FAILED,
      `wait for it (kodama agent logs ${name} ${run} -f) or stop it (kodama agent stop ${name})`,
    );
  }
  const local = `kodama/${name}`;
  const fetched = await fetchAll(kube, ns, name, todo, { local, force: o.force, verb: "session land" }, o);
  const plans = await landLocal(heads, fetched, name, o);
  // the pod's clone of each merged repository takes the landed commit, as for one repository
  const sent = new Set<string>(), failed: string[] = [];
  for (const p of o.dryRun ? [] : plans) {
    if (p.kind !== "merge" && p.kind !== "rebase" && !(p.kind === "up-to-date" && p.from !== p.tip)) continue;
    try {
      if (await at(p.root, () => sendToPod(kube, pod, p.root, p.tip, p.podBranch, p.repo.name))) {
        sent.add(p.repo.name);
      }
    } catch (e) {
      failed.push(`${p.repo.name}: ${(e as Error).message.replace(/^session land: /, "")}`);
    }
  }
  report(plans, repos, name, sent, o);
  if (failed.length) {
    throw new KodamaError(`session land: ${failed.join("; ")}`, ExitCode.FAILED, "land again to retry");
  }
  return ExitCode.OK;
}

/**
 * The local half, once every repository's session branch is fetched (`fetched[i]` is `heads[i]`'s): each move
 * prepared, then (unless a dry run) all applied, or none — on any failure every repository written is put
 * back, and so is every `kodama/NAME` the fetch moved. No cluster is involved from here.
 */
export async function landLocal(
  heads: Head[],
  fetched: RepoFetched[],
  name: string,
  o: Pick<LandReposOptions, "dryRun" | "afterWrite" | "rebase"> & { at?: InRepo },
): Promise<Plan[]> {
  const local = `kodama/${name}`;
  const at: InRepo = o.at ?? ((_root, fn) => fn());
  const plans: Plan[] = [];
  try {
    for (const [i, h] of heads.entries()) {
      try {
        plans.push(await at(h.root, () => prepare(h, fetched[i], name, !!o.dryRun, !!o.rebase)));
      } catch (e) {
        throw inRepoError(e, h.repo.name);
      }
    }
  } catch (e) {
    await restoreBranches([...fetched], local, at);
    throw e;
  }
  if (!o.dryRun) await applyAll(plans, fetched, local, { ...o, at });
  return plans;
}

/** The repositories to land: the written ones, or the one `--only` names. */
function chosen(repos: StateRepo[], name: string, only?: string): StateRepo[] {
  if (only !== undefined) {
    const r = repos.find((x) => x.name === only);
    if (!r) {
      throw new KodamaError(
        `session land --only ${safeLine(only)}: session ${name} has no repository of that name`,
        ExitCode.NOT_FOUND,
        `its repositories: ${repos.map((x) => x.name).join(", ")}`,
      );
    }
    if (r.readOnly) throw usageError(`session land --only ${only}: ${only} is read-only: it is never landed`);
    return [r];
  }
  const todo = writableRepos(repos);
  if (!todo.length) throw usageError(`session ${name}: its repositories are all read-only: nothing to land`);
  return todo;
}

/** A repository's current branch, or exit 2 (detached, kodama/NAME itself, git mid-merge) naming it. */
export async function headOf(r: StateRepo, name: string): Promise<Head> {
  const root = await repoRoot(r, "session land");
  const branchRef = (await git(root, "symbolic-ref", "-q", "HEAD")).out;
  const at = `repository ${r.name} (${root})`;
  if (!branchRef.startsWith("refs/heads/")) {
    throw usageError(
      `session land: ${at} has a detached HEAD`,
      "check out a branch there; nothing was changed",
    );
  }
  const branch = branchRef.slice("refs/heads/".length);
  if (branch === `kodama/${name}`) {
    throw usageError(`session land: ${at} has ${branch} checked out, which mirrors the session`);
  }
  const busy = await gitInProgress(root);
  if (busy) {
    throw usageError(
      `session land: ${busy} is in progress in ${at}`,
      "finish it (git commit) or abort it (git merge --abort / git rebase --abort), then land again",
    );
  }
  return { repo: r, root, branch, branchRef };
}

/** One repository's move, computed and checked; it writes no ref, index entry or file (a merge's commit only). */
async function prepare(h: Head, f: RepoFetched, name: string, dry: boolean, rebase = false): Promise<Plan> {
  const { root } = h;
  const tip = f.f.h.head;
  const from = await ok(root, "rev-parse", "--verify", "HEAD^{commit}");
  await refuseLinks(root, tip, from);
  const isAnc = async (a: string, b: string) =>
    (await git(root, "merge-base", "--is-ancestor", "--end-of-options", a, b)).ok;
  const kind = landKind({ tipInHead: await isAnc(tip, from), headInTip: await isAnc(from, tip) }, rebase);
  const plan: Plan = {
    ...h,
    from,
    tip,
    ...(f.f.h.branch ? { podBranch: f.f.h.branch } : {}),
    kind,
    to: kind === "fast-forward" ? tip : from,
    keep: [],
    diff: new Map(),
    prior: new Map(),
    newDirs: [],
  };
  if (kind === "up-to-date") return plan;
  if (kind === "merge") {
    const r = await git(root, "merge-tree", "--write-tree", "--name-only", "--end-of-options", from, tip);
    const [tree, ...rest] = r.out.split("\n");
    if (!r.ok) {
      const blank = rest.indexOf("");
      const paths = blank < 0 ? rest : rest.slice(0, blank);
      const said = rest.filter((l) => /^CONFLICT/.test(l));
      throw new KodamaError(
        `session land: the merge of session ${name} (${tip.slice(0, 12)}) into ${h.branch} conflicts: ${
          safeLine(paths.slice(0, 8).join(", "))
        }${paths.length > 8 ? `, ... (${paths.length})` : ""}` +
          (said.length ? `\n${said.slice(0, 8).map((l) => `  ${safeLine(l)}`).join("\n")}` : ""),
        ExitCode.FAILED,
        `resolve it in the session (kodama attach ${name}, in /workspace/${h.repo.name}), then land again`,
      );
    }
    const msg = `Merge session ${name} (${safeLine(f.f.h.branch ?? tip.slice(0, 12))}) into ${h.branch}`;
    plan.to = dry ? tree : await ok(root, "commit-tree", tree, "-p", from, "-p", tip, "-m", msg);
  }
  // --rebase: the local commits replayed onto the session's, computed aside (landrebase.ts)
  if (kind === "rebase") {
    plan.to = await rebaseAside(root, from, tip, { session: name, branch: h.branch, repo: h.repo.name });
  }
  // each path: kept (the working tree holds the target), written (it holds a committed version), or refused
  const diff = await changed(root, from, plan.to);
  await refuseUnsafe(root, diff);
  const side = kind === "merge" || kind === "rebase"
    ? await changed(root, from, tip)
    : new Map<string, [GitEntry?, GitEntry?]>();
  const paths = [...diff.keys()];
  const wt = await worktree(root, paths);
  const idx = await indexOf(root, paths);
  const refuse: string[] = [];
  for (const p of paths) {
    const [old, target] = diff.get(p)!;
    const held = wt.get(p);
    const fate = pathFate(old, target, held, [side.get(p)?.[1]]);
    const staged = idx.get(p);
    const stagedOk = !staged ? !old || fate === "keep" : pathFate(old, target, staged) !== "refuse";
    if (fate === "refuse" || !stagedOk || held === "other") refuse.push(p);
    else if (fate === "keep") plan.keep.push(p);
    else plan.prior.set(p, held);
  }
  if (refuse.length) {
    throw usageError(
      `session land: local changes would be overwritten: ${safeLine(refuse.slice(0, 8).join(", "))}${
        refuse.length > 8 ? `, ... (${refuse.length})` : ""
      }`,
      "commit or stash them (git stash), then land again",
    );
  }
  plan.diff = diff;
  // the directories a new path needs that are not there now
  const dirs = new Set<string>();
  for (const [p, was] of plan.prior) {
    if (was) continue;
    for (let d = dirname(p); d !== "." && d !== "" && d !== "/"; d = dirname(d)) dirs.add(d);
  }
  for (const d of dirs) {
    if (!(await Deno.lstat(join(root, d)).then(() => true, () => false))) plan.newDirs.push(d);
  }
  return plan;
}

/** What a repository's write overwrites, recorded before it: its index file (a copy) and the plan's `prior`. */
interface Applied {
  p: Plan;
  index: string;
  backup?: string;
}

/** Every prepared move, one repository after another; on a failure, every one written is put back. */
async function applyAll(
  plans: Plan[],
  fetched: RepoFetched[],
  local: string,
  o: Pick<LandReposOptions, "afterWrite"> & { at: InRepo },
): Promise<void> {
  const applied: Applied[] = [];
  let cur = "";
  try {
    for (const p of plans) {
      cur = p.repo.name;
      if (p.kind === "up-to-date") continue;
      await o.at(p.root, () =>
        underIndexLock(async () => {
          // through a door: the scratch's copy of the index, taken under the repository's index.lock
          const index = await ok(p.root, "rev-parse", "--path-format=absolute", "--git-path", "index");
          const backup = `${index}.kodama-land`;
          const had = await Deno.copyFile(index, backup).then(() => true, () => false);
          applied.push({ p, index, ...(had ? { backup } : {}) });
          await writeMove(p.root, p.from, p.to, p.keep, p.diff, p);
        }));
      await o.afterWrite?.(p.repo.name);
    }
  } catch (e) {
    const left = await undo(applied, o.at);
    const back = await restoreBranches([...fetched], local, o.at);
    const why = e instanceof Error ? e.message.replace(/^session land: /, "") : String(e);
    throw new KodamaError(
      `session land: repository ${cur}: ${safeLine(why.split("\n")[0])}`,
      e instanceof KodamaError ? e.code : ExitCode.FAILED,
      left.length || back.length
        ? `could not put back: ${[...left, ...back].join(", ")}`
        : "no repository's branch moved: every file, index and branch written is as it was; land again",
    );
  } finally {
    for (const a of applied) if (a.backup) await Deno.remove(a.backup).catch(() => {});
  }
}

/** Put back the repositories written (newest first): each file written, the index, the branch. */
async function undo(applied: Applied[], at: InRepo): Promise<string[]> {
  const left: string[] = [];
  for (const a of [...applied].reverse()) left.push(...await at(a.p.root, () => undoOne(a)));
  return left;
}

/**
 * `fn` holding the repository's index.lock through a door (doorgit.ts withIndexLock: the index kodama
 * changed goes into place only when `fn` succeeded); as it is otherwise.
 */
async function underIndexLock<R>(fn: () => Promise<R>): Promise<R> {
  const d = doorGit();
  return d ? await withIndexLock(d, fn) : await fn();
}

/** One repository written, put back: each file written, the index, the branch. */
async function undoOne({ p, index, backup }: Applied): Promise<string[]> {
  const left: string[] = [];
  // what the move wrote goes first, deepest first (with the directories it made: a file the session turned
  // into a directory comes back as a file), then each committed version comes back, parents first
  const paths = [...p.prior.keys()].sort();
  for (const path of [...new Set([...paths, ...p.newDirs])].sort().reverse()) {
    await Deno.remove(join(p.root, path)).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound) && p.prior.has(path) && !p.prior.get(path)) {
        left.push(`${p.repo.name}/${path}`);
      }
    });
  }
  for (const path of paths) {
    const was = p.prior.get(path);
    if (!was) continue;
    try {
      await restoreFile(p.root, path, was);
    } catch {
      left.push(`${p.repo.name}/${path}`);
    }
  }
  try {
    await underIndexLock(async () => {
      if (backup) await Deno.copyFile(backup, index);
      else await Deno.remove(index).catch(() => {});
    });
  } catch {
    left.push(`${p.repo.name} (its index)`);
  }
  const now = (await git(p.root, "rev-parse", "--verify", "-q", p.branchRef)).out;
  if (now === p.to && !(await updateRef(p.root, p.branchRef, p.from, p.to, "kodama land: undone")).ok) {
    left.push(`${p.repo.name} (${p.branch})`);
  }
  await git(p.root, "update-index", "-q", "--refresh");
  return left;
}

/** A path (removed) back to what it held before the landing: a committed blob, a file or a link. */
async function restoreFile(root: string, path: string, was: GitEntry): Promise<void> {
  const f = join(root, path);
  const bytes = await blobBytes(root, was.oid);
  await Deno.mkdir(dirname(f), { recursive: true });
  if (was.mode === "120000") await Deno.symlink(new TextDecoder().decode(bytes), f);
  else await Deno.writeFile(f, bytes, { mode: was.mode === "100755" ? 0o755 : 0o644, createNew: true });
}

function report(plans: Plan[], repos: StateRepo[], name: string, sent: Set<string>, o: LandOptions): void {
  const short = (s: string) => s.slice(0, 12);
  const line = (p: Plan) => {
    const n = `${p.repo.name}: `;
    const moved = `(${p.keep.length} path(s) already here, ${p.prior.size} written)`;
    const pod = sent.has(p.repo.name) ? `; sent to the pod, its branch moved to ${short(p.to)}` : "";
    if (p.kind === "up-to-date") {
      return `${n}${p.branch} already has session ${name}'s commit ${short(p.tip)}${pod}`;
    }
    if (p.kind === "fast-forward") {
      return `${n}${o.dryRun ? "would fast-forward" : "fast-forwarded"} ${p.branch} to ${
        short(p.tip)
      } ${moved}`;
    }
    if (p.kind === "rebase") {
      return `${n}${o.dryRun ? "would rebase" : "rebased"} ${p.branch} onto session ${name}'s ${
        short(p.tip)
      }: ${short(p.to)} ${moved}${pod}`;
    }
    return `${n}${o.dryRun ? "would merge" : "merged"} session ${name} (${short(p.tip)}) into ${p.branch}${
      o.dryRun ? "" : `: ${short(p.to)}`
    } ${moved}${pod}`;
  };
  const ro = repos.filter((r) => r.readOnly && r.name !== o.only).map((r) => r.name);
  if (o.json) {
    o.out.write(
      JSON.stringify(
        {
          name,
          dryRun: !!o.dryRun,
          repositories: plans.map((p) => ({
            repository: p.repo.name,
            root: p.root,
            kind: p.kind,
            branch: p.branch,
            from: p.from,
            to: p.to,
            session: p.tip,
            kept: p.keep.length,
            written: p.prior.size,
            sentToPod: sent.has(p.repo.name),
            message: line(p),
          })),
          readOnly: ro,
        },
        null,
        2,
      ) + "\n",
    );
    return;
  }
  o.err.write(plans.map(line).join("\n") + "\n");
  if (ro.length && o.only === undefined) o.err.write(`not landed (read-only): ${ro.join(", ")}\n`);
}
