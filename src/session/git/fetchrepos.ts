/**
 * `session fetch NAME` of a session with several repositories (src/session/git/repos.ts): each written one's
 * branch into its local repository (the path given to `start`, from this machine's state file) as
 * `kodama/NAME`, as session fetch does for one — all or none: when one cannot be fetched, the branches
 * already moved in the others go back where they were, and the error names the repository. A read-only
 * repository is never fetched. `--diff`: each one's diff since its clone, its paths under its directory.
 */
import type { V1Pod } from "@kubernetes/client-node";
import type { KubeSessions } from "../../kube/seam.ts";
import { ExitCode, KodamaError, usageError } from "../../base/errors.ts";
import { safeLine } from "../../ui/color.ts";
import { runningPod } from "../access/podexec.ts";
import type { StateRepo } from "../state/state.ts";
import { type Fetched, fetchInto, type FetchOptions, localRoot, printDiff } from "./fetch.ts";
import { doorGit, doorGitAsked, withDoorGits } from "./doorgit.ts";
import { localGit, repoThroughDoor, updateRef } from "./gitrun.ts";
import { writableRepos } from "./repos.ts";
import type { PathDoor } from "../lifecycle/startio.ts";
import { gitLocations } from "../../base/fs/gitpaths.ts";

/** One repository fetched: where it is here, and what came. */
export interface RepoFetched {
  repo: StateRepo;
  root: string;
  f: Fetched;
  /** the local branch's commit before (undefined: it did not exist) */
  before?: string;
}

/** The recorded local repository of `r`, or exit 2 naming it. */
export async function repoRoot(r: StateRepo, verb: string): Promise<string> {
  try {
    const root = await localRoot(r.path, verb);
    // the repository itself, not one around a directory that took its place
    if (await Deno.realPath(root) !== await Deno.realPath(r.path)) throw new Error();
    return root;
  } catch {
    throw notThere(r, verb);
  }
}

function notThere(r: StateRepo, verb: string): KodamaError {
  return usageError(
    `${verb}: repository ${r.name} is not at ${r.path} any more (recorded when the session started)`,
    "put the repository back there, then run it again; nothing was changed",
  );
}

/** The error of one repository of several, named, and said to have changed nothing. */
export function inRepoError(e: unknown, name: string, verb?: string): unknown {
  if (!(e instanceof KodamaError)) return e;
  return new KodamaError(
    /^session (fetch|land): /.test(e.message)
      ? e.message.replace(/^(session \w+): /, `$1: repository ${name}: `)
      : `${verb ? `${verb}: ` : ""}repository ${name}: ${e.message}`,
    e.code,
    `${e.hint ? `${e.hint}; ` : ""}no repository's branch moved`,
  );
}

/** Runs `fn` with the git of the repository at `root` (its own door git through a door; as it is otherwise). */
export type InRepo = <T>(root: string, fn: () => Promise<T>) => Promise<T>;
const asIs: InRepo = (_root, fn) => fn();

/**
 * Each local branch back where it was (fetched ones of an all-or-none that failed); best effort each. Through
 * a door a branch the fetch created is left at the session's commit (door git writes refs, it deletes none):
 * it is kodama/NAME, what `session fetch` makes.
 */
export async function restoreBranches(
  done: RepoFetched[],
  local: string,
  at: InRepo = asIs,
): Promise<string[]> {
  const left: string[] = [];
  for (const d of done.reverse()) {
    const ref = `refs/heads/${local}`;
    const r = await at(
      d.root,
      async () =>
        d.before
          ? await updateRef(d.root, ref, d.before, d.f.h.head, "kodama: undone")
          : doorGit()
          ? { ok: true, err: "" }
          : await localGit(["update-ref", "-d", "--end-of-options", ref, d.f.h.head], d.root),
    );
    if (!r.ok) left.push(`${d.repo.name} (${local}: ${safeLine(r.err.split("\n")[0] ?? "")})`);
  }
  return left;
}

/**
 * Through a door whose paths were not handed in (KODAMA_DOOR_GIT=1): the directory the process started in,
 * and the directories whoever started it lists in KODAMA_DOOR_ALLOW (the VS Code extension: the workspace's
 * folders). Both only narrow what the same command in a terminal would touch; neither grants what no door does.
 */
async function startedDoor(): Promise<PathDoor> {
  const [{ Door }, { hostPlatform, splitPathList }] = await Promise.all([
    import("../../config/doors.ts"),
    import("../../base/platform.ts"),
  ]);
  const p = hostPlatform();
  return await Door.open({
    who: "door git (KODAMA_DOOR_GIT=1)",
    started: Deno.cwd(),
    allow: splitPathList(p.env("KODAMA_DOOR_ALLOW"), p),
    flag: "KODAMA_DOOR_ALLOW=",
  });
}

/**
 * The local repositories of a fetch or land of several, each where it was recorded (exit 2 naming the one
 * that is not), and how to run git in each. Through a door (door git: an MCP client, a page, the editor, a
 * workflow's session step) every recorded path must first pass the door — the MCP server's or the page's
 * project and grants (`door`), else the directory the process started in — and so must every place git keeps
 * it (gitrun.ts repoThroughDoor): exit 4 naming the repository, before any git runs or anything is written.
 * Each repository's git is then door git of its own, all open for the whole call (doorgit.ts withDoorGits).
 */
export async function withRepoGits<R>(
  repos: StateRepo[],
  verb: string,
  door: PathDoor | undefined,
  fn: (roots: Map<string, string>, at: InRepo) => Promise<R>,
): Promise<R> {
  const roots = new Map<string, string>();
  if (!door && !doorGit() && !doorGitAsked()) {
    for (const r of repos) roots.set(r.name, await repoRoot(r, verb));
    return await fn(roots, asIs);
  }
  const d = door ?? await startedDoor();
  for (const r of repos) {
    try {
      await repoThroughDoor(d, r.path, `repository ${r.name}`);
    } catch (e) {
      throw inRepoError(e, r.name, verb);
    }
    if (!(await gitLocations(r.path).catch(() => undefined))) throw notThere(r, verb);
  }
  return await withDoorGits(repos.map((r) => r.path), async (inPath) => {
    const byRoot = new Map<string, string>();
    for (const r of repos) {
      const root = await inPath(r.path, () => repoRoot(r, verb));
      roots.set(r.name, root);
      byRoot.set(root, r.path);
    }
    return await fn(roots, (root, f) => inPath(byRoot.get(root) ?? root, f));
  });
}

/** Fetch every repository's session branch into `local`, all or none (the moved ones go back on a failure). */
export async function fetchAll(
  kube: KubeSessions,
  ns: string,
  name: string,
  repos: StateRepo[],
  o: { local: string; force?: boolean; overwrite?: boolean; verb: string; door?: PathDoor },
  inRepos?: { roots: Map<string, string>; at: InRepo },
): Promise<RepoFetched[]> {
  if (!inRepos) {
    return await withRepoGits(
      repos,
      o.verb,
      o.door,
      (roots, at) => fetchAll(kube, ns, name, repos, o, { roots, at }),
    );
  }
  const { roots, at } = inRepos;
  const done: RepoFetched[] = [];
  for (const r of repos) {
    const root = roots.get(r.name)!;
    try {
      done.push(
        await at(root, async () => {
          const before =
            (await localGit(["rev-parse", "--verify", "-q", `refs/heads/${o.local}`], root)).out || undefined;
          const f = await fetchInto(kube, ns, name, {
            root,
            local: o.local,
            force: o.force,
            repo: r.name,
            move: {
              force: o.overwrite,
              elsewhere: `rename it (git -C ${root} branch -m ${o.local} NEW) and run it again`,
              forceWith: `kodama session fetch ${name} --force`,
            },
          });
          return { repo: r, root, f, ...(before ? { before } : {}) };
        }),
      );
    } catch (e) {
      const left = await restoreBranches(done, o.local, at);
      if (left.length) {
        throw new KodamaError(
          `${o.verb}: repository ${r.name} failed, and ${left.join(", ")} could not be put back`,
          ExitCode.FAILED,
          (e as Error).message,
        );
      }
      throw inRepoError(e, r.name);
    }
  }
  return done;
}

/** `session fetch NAME` (or `--diff`) of a session with several repositories. */
export async function fetchRepos(
  kube: KubeSessions,
  ns: string,
  name: string,
  repos: StateRepo[],
  o: FetchOptions & { local: string },
): Promise<number> {
  const todo = writableRepos(repos);
  if (!todo.length) throw usageError(`session ${name}: its repositories are all read-only: nothing to fetch`);
  if (o.diff) {
    const pod: V1Pod = await runningPod(kube, ns, name);
    for (const r of todo) await printDiff(kube, ns, name, o, r.name, pod);
    return ExitCode.OK;
  }
  const done = await fetchAll(kube, ns, name, todo, { ...o, verb: "session fetch" });
  for (const d of done) o.out.write(`${d.repo.name}\t${d.root}\t${d.f.local}\n`);
  o.err.write(
    done.map((d) =>
      `fetched ${d.repo.name}: session ${name}'s branch ${
        d.f.h.branch ?? "(detached HEAD)"
      } into ${d.f.local} ` +
      `of ${d.root} (${d.f.h.head.slice(0, 12)}${
        d.f.h.newCommits ? `, ${d.f.h.newCommits} new` : ", nothing new"
      })`
    ).join("\n") + "\n",
  );
  const ro = repos.filter((r) => r.readOnly).map((r) => r.name);
  if (ro.length) o.err.write(`not fetched (read-only): ${ro.join(", ")}\n`);
  return ExitCode.OK;
}
