/**
 * `session land --rebase`'s rebase, computed aside so nothing of the repository itself (its branch, index,
 * files, HEAD) changes while it runs; the result is one more commit to move to, as a merge's is, and a rebase
 * that conflicts changes nothing and names the paths. Two places to compute it:
 *
 *  - from a terminal: a detached work tree of the repository's own (`git worktree add`, outside its work tree,
 *    removed after);
 *  - through a door (door git, doorgit.ts): a work tree and index inside door git's own scratch directory,
 *    whose HEAD is put back after, so nothing is written into the repository's `.git` but objects.
 *
 * land.ts (one repository) and landrepos.ts (each of several, in its own door git) both use it.
 */
import { dirname, join } from "../../base/fs/fspath.ts";
import { ExitCode, KodamaError } from "../../base/errors.ts";
import { safeLine } from "../../ui/color.ts";
import { doorGit } from "./doorgit.ts";
import { gitSpawn } from "./gitrun.ts";
import { git } from "./landgit.ts";

/** A rebase's outcome: the rebased commit, or the conflicting paths and git's own lines. */
export type Rebased = { commit: string } | { paths: string[]; said: string[] };

type Run = (...args: string[]) => Promise<{ ok: boolean; out: string; err: string }>;

/** `git rebase TIP` of commit `from` where `run` runs git (a work tree at `from`), then its result. */
async function rebaseWith(run: Run, tip: string): Promise<Rebased> {
  const r = await run("rebase", "--no-autostash", "--end-of-options", tip);
  if (r.ok) return { commit: (await run("rev-parse", "HEAD")).out.trim() };
  const paths = (await run("diff", "--name-only", "--diff-filter=U")).out.split("\n").filter(Boolean);
  const lines = `${r.out}\n${r.err}`.split(/[\r\n]+/);
  const said = lines.filter((l) => /^CONFLICT|^error: could not apply/.test(l));
  // git stopped for another reason: its own words
  if (!said.length) said.push(...lines.filter((l) => /^(error|fatal): /.test(l)).slice(0, 2));
  await run("rebase", "--abort");
  return { paths, said };
}

/** The rebase in door git's scratch: a work tree and index of its own there, door git's HEAD put back. */
export async function rebaseInScratch(from: string, tip: string): Promise<Rebased> {
  const d = doorGit()!;
  // inside door git's own scratch directory (removed with it)
  const wt = await Deno.makeTempDir({ dir: dirname(d.gitDir), prefix: "rebase-" });
  const env = { GIT_WORK_TREE: wt, GIT_INDEX_FILE: `${wt}.index` };
  const run: Run = async (...args) => {
    const r = await gitSpawn(args, { cwd: wt, env, stdin: "null", stdout: "piped", stderr: "piped" })
      .output();
    const dec = new TextDecoder();
    return { ok: r.success, out: dec.decode(r.stdout), err: dec.decode(r.stderr) };
  };
  const head = await Deno.readTextFile(`${d.gitDir}/HEAD`);
  try {
    if (!(await run("read-tree", "--reset", "-u", from)).ok) {
      throw new KodamaError("git read-tree failed in kodama's scratch", ExitCode.FAILED);
    }
    await run("update-ref", "--no-deref", "HEAD", from);
    return await rebaseWith(run, tip);
  } finally {
    await Deno.writeTextFile(`${d.gitDir}/HEAD`, head);
    await Deno.remove(wt, { recursive: true }).catch(() => {});
    await Deno.remove(`${wt}.index`).catch(() => {});
  }
}

/** The rebase in a detached work tree of the repository's own, removed after. */
async function rebaseInWorktree(root: string, from: string, tip: string): Promise<Rebased> {
  const dir = await Deno.makeTempDir({ prefix: "kodama-rebase-" });
  const wt = join(dir, "wt");
  const add = await git(root, "worktree", "add", "--detach", "--quiet", "--", wt, from);
  if (!add.ok) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw new KodamaError(
      `session land: git worktree add failed: ${safeLine(add.err.split("\n")[0] ?? "")}`,
      ExitCode.FAILED,
    );
  }
  try {
    return await rebaseWith((...args) => git(wt, ...args), tip);
  } finally {
    await git(root, "worktree", "remove", "--force", "--", wt);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    await git(root, "worktree", "prune");
  }
}

/**
 * `git rebase TIP` of commit `from` of one repository of several, aside (door git's scratch through a door,
 * else a work tree of its own): the rebased commit. Exit 1 naming the paths when it conflicts.
 */
export async function rebaseAside(
  root: string,
  from: string,
  tip: string,
  what: { session: string; branch: string; repo: string },
): Promise<string> {
  const r = doorGit() ? await rebaseInScratch(from, tip) : await rebaseInWorktree(root, from, tip);
  if ("commit" in r) return r.commit;
  const { paths, said } = r;
  throw new KodamaError(
    `session land: the rebase of ${what.branch} onto session ${what.session} (${
      tip.slice(0, 12)
    }) conflicts: ${safeLine(paths.slice(0, 8).join(", ")) || "(git named no path)"}${
      paths.length > 8 ? `, ... (${paths.length})` : ""
    }` +
      (said.length ? `\n${said.slice(0, 8).map((l) => `  ${safeLine(l)}`).join("\n")}` : ""),
    ExitCode.FAILED,
    `land it as a merge (without --rebase), or resolve it in the session (kodama attach ${what.session}, ` +
      `in /workspace/${what.repo}), then land again`,
  );
}
