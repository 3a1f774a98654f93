/**
 * `session fetch NAME` of a session with several repositories (src/session/git/repos.ts): each written one's
 * branch into its local repository (the path given to `start`, from this machine's state file) as
 * `kodama/NAME`, as session fetch does for one — all or none: when one cannot be fetched, the branches
 * already moved in the others go back where they were, and the error names the repository. A read-only
 * repository is never fetched. `--diff`: each one's diff since its clone, its paths under its directory.
 */
import type { V1Pod } from "@kubernetes/client-node";
import type { Kube } from "../../kube/client.ts";
import type { KubeSessions } from "../../kube/seam.ts";
import { ExitCode, KodamaError, usageError } from "../../base/errors.ts";
import { safeLine } from "../../ui/color.ts";
import { runningPod } from "../access/podexec.ts";
import type { StateRepo } from "../state/state.ts";
import { type Fetched, fetchInto, type FetchOptions, localRoot, printDiff } from "./fetch.ts";
import { doorGit, doorGitAsked } from "./doorgit.ts";
import { localGit } from "./gitrun.ts";
import { multiRepoRefusal, writableRepos } from "./repos.ts";

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
    throw usageError(
      `${verb}: repository ${r.name} is not at ${r.path} any more (recorded when the session started)`,
      "put the repository back there, then run it again; nothing was changed",
    );
  }
}

/** The error of one repository of several, named, and said to have changed nothing. */
export function inRepoError(e: unknown, name: string): unknown {
  if (!(e instanceof KodamaError)) return e;
  return new KodamaError(
    /^session (fetch|land): /.test(e.message)
      ? e.message.replace(/^(session \w+): /, `$1: repository ${name}: `)
      : `repository ${name}: ${e.message}`,
    e.code,
    `${e.hint ? `${e.hint}; ` : ""}no repository's branch moved`,
  );
}

/** Each local branch back where it was (fetched ones of an all-or-none that failed); best effort each. */
export async function restoreBranches(done: RepoFetched[], local: string): Promise<string[]> {
  const left: string[] = [];
  for (const d of done.reverse()) {
    const ref = `refs/heads/${local}`;
    const r = d.before
      ? await localGit(
        ["update-ref", "-m", "kodama: undone", "--end-of-options", ref, d.before, d.f.h.head],
        d.root,
      )
      : await localGit(["update-ref", "-d", "--end-of-options", ref, d.f.h.head], d.root);
    if (!r.ok) left.push(`${d.repo.name} (${local}: ${safeLine(r.err.split("\n")[0] ?? "")})`);
  }
  return left;
}

/**
 * Door git (an editor's or a page's fetch and land: src/session/git/doorgit.ts) opens one repository; several
 * are not supported through it yet (exit 2, before any git runs).
 */
export function refuseDoor(verb: string): void {
  if (doorGit() || doorGitAsked()) {
    throw multiRepoRefusal(`${verb} through door git (an editor or a page)`, "run it in a terminal");
  }
}

/** Fetch every repository's session branch into `local`, all or none (the moved ones go back on a failure). */
export async function fetchAll(
  kube: KubeSessions,
  ns: string,
  name: string,
  repos: StateRepo[],
  o: { local: string; force?: boolean; overwrite?: boolean; verb: string },
): Promise<RepoFetched[]> {
  refuseDoor(o.verb);
  // every repository is where it was recorded before any is fetched
  const roots = new Map<string, string>();
  for (const r of repos) roots.set(r.name, await repoRoot(r, o.verb));
  const done: RepoFetched[] = [];
  for (const r of repos) {
    const root = roots.get(r.name)!;
    try {
      const before = (await localGit(["rev-parse", "--verify", "-q", `refs/heads/${o.local}`], root)).out ||
        undefined;
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
      done.push({ repo: r, root, f, ...(before ? { before } : {}) });
    } catch (e) {
      const left = await restoreBranches(done, o.local);
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
  kube: Kube,
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
