/**
 * `session land` refuses, before it looks for the session, in states git itself would refuse (#51): no
 * repository, a detached HEAD, a merge in progress. Exit 2, one line saying what to do.
 */
import { assertEquals, assertMatch } from "@kodama/test-assert";
import { withSessionWorld } from "./_session.ts";

withSessionWorld(
  "session land: refused outside a repository, on a detached HEAD, mid-merge",
  {},
  async (t, w) => {
    const root = `${w.cwd}/repo`;
    await Deno.mkdir(root);
    const git = (...args: string[]) =>
      new Deno.Command("git", { args: ["-c", "user.name=a", "-c", "user.email=a@a", ...args], cwd: root })
        .outputSync();
    git("init", "-q", "-b", "main");
    await Deno.writeTextFile(`${root}/a`, "a\n");
    git("add", "a");
    git("commit", "-qm", "one");
    const land = (cwd: string) => w.k(["session", "land", "nosuch"], { cwd });

    await t.step("outside a repository", async () => {
      const r = await land(w.cwd);
      assertEquals(r.code, 2, r.stderr);
      assertMatch(r.stderr, /session land runs inside a local clone of the session's repository/);
    });
    await t.step("a detached HEAD", async () => {
      git("checkout", "-q", "--detach");
      const r = await land(root);
      assertEquals(r.code, 2, r.stderr);
      assertMatch(r.stderr, /HEAD is detached/);
      git("checkout", "-q", "main");
    });
    await t.step("a merge in progress", async () => {
      git("checkout", "-qb", "other");
      await Deno.writeTextFile(`${root}/a`, "other\n");
      git("commit", "-qam", "other");
      git("checkout", "-q", "main");
      await Deno.writeTextFile(`${root}/a`, "main\n");
      git("commit", "-qam", "main");
      git("merge", "other");
      const r = await land(root);
      assertEquals(r.code, 2, r.stderr);
      assertMatch(r.stderr, /a merge is in progress/);
    });
  },
);
