/**
 * The one rule by which `session fetch` and `adopt` move a local branch (src/session/git/branchmove.ts): never
 * a branch checked out in any work tree (HEAD, or a rebase or bisect in progress there), an existing one
 * only forward unless forced, and by compare-and-swap. The pure decision, then against real repositories.
 */
import { assert, assertEquals, assertMatch } from "@kodama/test-assert";
import { join } from "node:path";
import {
  checkedOutBranches,
  moveBranch,
  type MoveOptions,
  parseWorktrees,
  planMove,
  refuseCheckedOut,
} from "../../../src/session/git/branchmove.ts";
import { KodamaError } from "../../../src/base/errors.ts";
import { git } from "../../_git.ts";

Deno.test("planMove: same, create, forward, forced; a checked-out branch never moves, not even forced", () => {
  assertEquals(planMove({ old: "a", to: "a", forward: false }), { kind: "same" });
  assertEquals(planMove({ old: "a", to: "a", forward: false, checkedOutIn: "/w" }), { kind: "same" });
  assertEquals(planMove({ to: "b", forward: false }), { kind: "create" });
  assertEquals(planMove({ old: "a", to: "b", forward: true }), { kind: "forward" });
  assertEquals(planMove({ old: "a", to: "b", forward: false }), { kind: "behind" });
  assertEquals(planMove({ old: "a", to: "b", forward: false, force: true }), { kind: "forced" });
  // where this same move last put it: nothing on it is anyone else's, it follows the session
  assertEquals(planMove({ old: "a", to: "b", forward: false, ours: true }), { kind: "followed" });
  assertEquals(
    planMove({ old: "a", to: "b", forward: false, ours: true, checkedOutIn: "/w" }).kind,
    "checked-out",
  );
  for (const force of [false, true]) {
    for (const forward of [false, true]) {
      assertEquals(planMove({ old: "a", to: "b", forward, force, checkedOutIn: "/w" }), {
        kind: "checked-out",
        where: "/w",
      });
    }
    assertEquals(planMove({ to: "b", forward: false, force, checkedOutIn: "/w" }).kind, "checked-out");
  }
});

Deno.test("parseWorktrees: -z records, paths with spaces and newlines, detached and bare", () => {
  const z = [
    "worktree /r/main",
    "HEAD 1111111111111111111111111111111111111111",
    "branch refs/heads/main",
    "",
    "worktree /r/odd\nname with space",
    "HEAD 2222222222222222222222222222222222222222",
    "detached",
    "",
    "worktree /r/bare.git",
    "bare",
    "",
    "",
  ].join("\0");
  assertEquals(parseWorktrees(z), [
    { path: "/r/main", branch: "refs/heads/main" },
    { path: "/r/odd\nname with space", detached: true },
    { path: "/r/bare.git", bare: true },
  ]);
});

const OPTS: MoveOptions = {
  verb: "session fetch",
  source: "session fx's branch",
  elsewhere: "fetch into another branch (--branch NEW)",
  forceWith: "kodama session fetch fx --force",
  reflog: "kodama session fetch fx",
};

async function refused(p: Promise<unknown>, re: RegExp): Promise<KodamaError> {
  let e: unknown;
  try {
    await p;
  } catch (x) {
    e = x;
  }
  assert(e instanceof KodamaError, `expected a refusal, got ${e}`);
  assertEquals(e.code, 2, e.message);
  assertMatch(e.message, re);
  // one line, one hint: what failed and what to do
  assert(!e.message.includes("\n") && !(e.hint ?? "").includes("\n"), `${e.message}\n${e.hint}`);
  return e;
}

Deno.test("moveBranch: checked out anywhere, behind, forward, forced, created — against real work trees", async () => {
  const tmp = await Deno.realPath(await Deno.makeTempDir({ prefix: "kodama-branchmove-" }));
  try {
    const r = join(tmp, "repo");
    await Deno.mkdir(r);
    git(["init", "-q", "-b", "master"], r);
    await Deno.writeTextFile(join(r, "a.txt"), "one\n");
    git(["add", "."], r);
    git(["commit", "-qm", "one"], r);
    const one = git(["rev-parse", "HEAD"], r);
    // the session's commit: on a side line from one
    git(["checkout", "-qb", "session"], r);
    await Deno.writeTextFile(join(r, "a.txt"), "session\n");
    git(["commit", "-qam", "session"], r);
    const session = git(["rev-parse", "HEAD"], r);
    git(["checkout", "-q", "master"], r);
    // the user's own work on the checked-out branch
    await Deno.writeTextFile(join(r, "a.txt"), "user work\n");
    git(["commit", "-qam", "user work"], r);
    const user = git(["rev-parse", "HEAD"], r);

    // Repro A: the checked-out branch, with a commit the session lacks — refused, even forced
    for (const force of [false, true]) {
      const e = await refused(
        moveBranch(r, "master", session, { ...OPTS, force }),
        /^session fetch: master is checked out in .*repo: not moved/,
      );
      assertMatch(e.hint ?? "", /switch .*repo to another branch first, or fetch into another branch/);
      await refused(refuseCheckedOut(r, "master", session, OPTS), /master is checked out/);
    }
    assertEquals(git(["rev-parse", "master"], r), user);
    assertEquals(git(["status", "--porcelain"], r), "");

    // a branch checked out in a linked work tree, and one being rebased there (HEAD detached)
    const wt = join(tmp, "wt");
    git(["worktree", "add", "-q", "-b", "side", wt, one], r);
    await refused(
      moveBranch(r, "side", session, OPTS),
      new RegExp(`side is checked out in ${wt}: not moved`),
    );
    assertEquals(git(["rev-parse", "side"], r), one);
    git(["checkout", "-q", "--detach"], wt);
    const gitDir = git(["rev-parse", "--absolute-git-dir"], wt);
    await Deno.mkdir(join(gitDir, "rebase-merge"));
    await Deno.writeTextFile(join(gitDir, "rebase-merge", "head-name"), "refs/heads/side\n");
    assertEquals((await checkedOutBranches(r)).get("refs/heads/side"), wt);
    await refused(moveBranch(r, "side", session, OPTS), /side is checked out in/);
    await Deno.remove(join(gitDir, "rebase-merge"), { recursive: true });
    // a bisect there holds its branch too
    await Deno.writeTextFile(join(gitDir, "BISECT_START"), "side\n");
    await refused(moveBranch(r, "side", session, OPTS), /side is checked out in/);
    await Deno.remove(join(gitDir, "BISECT_START"));
    // no longer held: side (at one, an ancestor of the session's commit) moves forward
    assertEquals(await moveBranch(r, "side", session, OPTS), { kind: "forward" });
    assertEquals(git(["rev-parse", "side"], r), session);

    // Repro B's shape: a branch kodama made, then committed on by the user (not checked out): not moved back
    git(["branch", "kodama/fx", user], r);
    const e = await refused(
      moveBranch(r, "kodama/fx", session, OPTS),
      /^session fetch: kodama\/fx has commits that session fx's branch lacks \([0-9a-f]{12}\): not moved$/,
    );
    assertMatch(
      e.hint ?? "",
      /fetch into another branch \(--branch NEW\), or move it anyway with kodama session fetch fx --force \(its commits stay in git reflog kodama\/fx\)/,
    );
    assertEquals(git(["rev-parse", "kodama/fx"], r), user);
    // forced (the person at the keyboard): moved, the old commit in its reflog
    assertEquals(await moveBranch(r, "kodama/fx", session, { ...OPTS, force: true }), { kind: "forced" });
    assertEquals(git(["rev-parse", "kodama/fx"], r), session);
    assertMatch(git(["reflog", "--format=%H %gs", "kodama/fx"], r), new RegExp(`${user}`));
    // the same commit again: nothing to do, even checked out
    git(["checkout", "-q", "kodama/fx"], r);
    assertEquals(await moveBranch(r, "kodama/fx", session, OPTS), { kind: "same" });
    await refuseCheckedOut(r, "kodama/fx", session, OPTS);
    git(["checkout", "-q", "master"], r);
    // a new branch is created
    assertEquals(await moveBranch(r, "review", session, OPTS), { kind: "create" });
    assertEquals(git(["rev-parse", "review"], r), session);
    // the session rewrote its history (an amend): its branch, where this same move last put it, follows
    git(["checkout", "-q", "session"], r);
    git(["commit", "-q", "--amend", "-m", "session, amended"], r);
    const amended = git(["rev-parse", "HEAD"], r);
    git(["checkout", "-q", "master"], r);
    assertEquals(await moveBranch(r, "review", amended, OPTS), { kind: "followed" });
    assertEquals(git(["rev-parse", "review"], r), amended);
    // ... but not once someone else moved it (a commit of the user's there): refused again
    git(["update-ref", "-m", "commit: mine", "refs/heads/review", user], r);
    await refused(moveBranch(r, "review", session, OPTS), /review has commits that/);
    assertEquals(git(["rev-parse", "review"], r), user);
    // a work tree whose directory is gone still holds its branch (git would refuse to delete it)
    git(["worktree", "add", "-q", "-b", "gone", join(tmp, "gone"), one], r);
    await Deno.remove(join(tmp, "gone"), { recursive: true });
    await refused(moveBranch(r, "gone", session, OPTS), /gone is checked out in/);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
