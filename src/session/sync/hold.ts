/**
 * A hold on a session's background sync while `session land` leaves a merge or rebase for the user to
 * finish: the sync must not write into a half-merged tree (nor carry conflict markers to the pod). The
 * hold is `hold.json` in the session's sync directory; `spawnDaemon` refuses while the repository it
 * names is still mid-merge or mid-rebase, and drops the hold once it is not.
 */
import { join } from "../../base/fs/fspath.ts";
import { atomicWrite } from "../../config/atomic.ts";
import { paths } from "./store.ts";
import { doorGit, inProgressIn } from "../git/doorgit.ts";

interface Hold {
  /** the local repository's work tree */
  root: string;
  since: string;
}

const holdFile = (name: string, home?: string) => join(paths(name, home).dir, "hold.json");

export async function setHold(name: string, root: string, home?: string): Promise<void> {
  await Deno.mkdir(paths(name, home).dir, { recursive: true, mode: 0o700 });
  const h: Hold = { root, since: new Date().toISOString() };
  await atomicWrite(holdFile(name, home), JSON.stringify(h) + "\n");
}

export async function hasHold(name: string, home?: string): Promise<boolean> {
  return await Deno.lstat(holdFile(name, home)).then(() => true, () => false);
}

export async function clearHold(name: string, home?: string): Promise<void> {
  await Deno.remove(holdFile(name, home)).catch(() => {});
}

/** What git is in the middle of in this repository (merge, rebase, cherry-pick, revert), if anything. */
export async function gitInProgress(root: string): Promise<string | undefined> {
  // through a door, the repository's own git directory (door git runs in a scratch one)
  const d = doorGit();
  if (d) return await inProgressIn(d.repo.gitDir);
  const r = new Deno.Command("git", {
    args: ["rev-parse", "--absolute-git-dir"],
    cwd: root,
    stdout: "piped",
    stderr: "null",
  });
  const out = await r.output().catch(() => undefined);
  if (!out?.success) return undefined;
  return await inProgressIn(new TextDecoder().decode(out.stdout).trim());
}

/**
 * Why the background sync must not start now (the repository of a hold is still mid-merge), or
 * undefined (and a finished hold is dropped).
 */
export async function holdReason(name: string, home?: string): Promise<string | undefined> {
  let h: Hold;
  try {
    h = JSON.parse(await Deno.readTextFile(holdFile(name, home)));
  } catch {
    return undefined;
  }
  const what = await gitInProgress(h.root);
  if (what) {
    return `the sync of ${name} is paused while ${what} in ${h.root} is unfinished: finish it (git commit, or ` +
      `git merge --abort / git rebase --abort), then run \`kodama session land ${name}\``;
  }
  await clearHold(name, home);
  return undefined;
}
