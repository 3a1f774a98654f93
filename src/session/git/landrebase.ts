/**
 * `session land --rebase` of one repository of several (landrepos.ts): the rebase of the local branch's
 * commit onto the session's is computed aside — in a detached work tree of its own (`git worktree add`,
 * outside the repository's work tree, removed after) — so nothing of the repository itself (its branch, index,
 * files, HEAD) changes while every repository's move is prepared. The result is one more commit to move to, as
 * a merge's is; a rebase that conflicts changes nothing and names the repository's paths.
 */
import { join } from "../../base/fs/fspath.ts";
import { ExitCode, KodamaError } from "../../base/errors.ts";
import { safeLine } from "../../ui/color.ts";
import { git, ok } from "./landgit.ts";

/** `git rebase TIP` of commit `from`, aside: the rebased commit. Exit 1 naming the paths when it conflicts. */
export async function rebaseAside(
  root: string,
  from: string,
  tip: string,
  what: { session: string; branch: string; repo: string },
): Promise<string> {
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
    const r = await git(wt, "rebase", "--no-autostash", "--end-of-options", tip);
    if (!r.ok) {
      const names = (await git(wt, "diff", "--name-only", "--diff-filter=U")).out.split("\n").filter(Boolean);
      const said = `${r.out}\n${r.err}`.split(/[\r\n]+/).filter((l) =>
        /^CONFLICT|^error: could not apply/.test(l)
      );
      await git(wt, "rebase", "--abort");
      throw new KodamaError(
        `session land: the rebase of ${what.branch} onto session ${what.session} (${
          tip.slice(0, 12)
        }) conflicts: ${safeLine(names.slice(0, 8).join(", ")) || "(git named no path)"}${
          names.length > 8 ? `, ... (${names.length})` : ""
        }` +
          (said.length ? `\n${said.slice(0, 8).map((l) => `  ${safeLine(l)}`).join("\n")}` : ""),
        ExitCode.FAILED,
        `land it as a merge (without --rebase), or resolve it in the session (kodama attach ${what.session}, ` +
          `in /workspace/${what.repo}), then land again`,
      );
    }
    return await ok(wt, "rev-parse", "HEAD");
  } finally {
    await git(root, "worktree", "remove", "--force", "--", wt);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    await git(root, "worktree", "prune");
  }
}
