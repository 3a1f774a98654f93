/**
 * src/base/fs/gitpaths.ts: every place git reads or writes for a repository found from a directory — not only its
 * work tree — is handed to the check: the git directory a `.git` file names, a linked work
 * tree's main repository, the object directory, what objects/info/alternates borrows, and the links inside
 * `.git` (descended into only once the check let them through).
 */
import { assertEquals, assertMatch } from "@kodama/test-assert";
import { join } from "node:path";
import { type Grant, parseAlternates, passRepo } from "../../../../src/base/fs/gitpaths.ts";
import { git } from "../../../_git.ts";

async function repo(dir: string): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  git(["init", "-q", "-b", "main"], dir);
  await Deno.writeTextFile(join(dir, "f"), "x\n");
  git(["add", "."], dir);
  git(["commit", "-qm", "one"], dir);
  return dir;
}

/** A check that lets through only what is inside `root`, recording what it was asked. */
function inside(root: string) {
  const asked: { path: string; what: string; grant?: Grant }[] = [];
  const pass = async (path: string, what: string, grant?: Grant) => {
    asked.push({ path, what, ...(grant ? { grant } : {}) });
    const real = await Deno.realPath(path).catch(() => path);
    if (real !== root && !real.startsWith(root + "/")) throw new Error(`refused: ${what} ${path} (${real})`);
    return real;
  };
  return { asked, pass };
}

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected a refusal");
}

Deno.test("parseAlternates: absolute, relative to the object directory, comments, git's quoting", () => {
  assertEquals(
    parseAlternates('/a/objects\n# c\n\n../../b/.git/objects\n"/x\\040y\\tz"\n', "/r/.git/objects"),
    ["/a/objects", "/r/b/.git/objects", "/x y\tz"],
  );
});

Deno.test("passRepo: a plain repository hands over its work tree, git directory, objects", async () => {
  const tmp = await Deno.realPath(await Deno.makeTempDir({ prefix: "kodama-gitpaths-" }));
  try {
    const r = await repo(join(tmp, "proj"));
    const { asked, pass } = inside(r);
    const at = await passRepo(join(r), "the repository at cwd", pass);
    assertEquals(at?.workTree, r);
    // no links in .git: nothing more asked
    assertEquals(asked.map((a) => a.path), [r, join(r, ".git"), join(r, ".git/objects")]);
    // not a repository: nothing to check (the caller says so its own way)
    await Deno.mkdir(join(tmp, "plain"));
    assertEquals(await passRepo(join(tmp, "plain"), "x", inside(join(tmp, "plain")).pass), undefined);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("passRepo: every indirection git honours is checked, not only the work tree", async (t) => {
  const tmp = await Deno.realPath(await Deno.makeTempDir({ prefix: "kodama-gitpaths-" }));
  const project = join(tmp, "proj");
  const secret = await repo(join(tmp, "secret")); // ~/.password-store, say
  await Deno.mkdir(project);
  const { pass } = inside(project);
  try {
    await t.step("a .git FILE naming another repository's git directory", async () => {
      const sub = join(project, "sub");
      await Deno.mkdir(sub);
      await Deno.writeTextFile(join(sub, ".git"), `gitdir: ${secret}/.git\n`);
      assertMatch(await refusal(passRepo(sub, "R", pass)), /refused: the git directory of R .*secret\/\.git/);
    });
    await t.step(
      "core.worktree is config, which door git never reads: the work tree is where .git is",
      async () => {
        const cw = await repo(join(project, "cw"));
        git(["config", "core.worktree", secret], cw);
        const at = await passRepo(cw, "R", pass);
        assertEquals(at?.workTree, cw);
      },
    );
    await t.step("a linked work tree whose main repository is outside: named as the grant", async () => {
      const wt = join(project, "wt");
      git(["worktree", "add", "-q", "-b", "wtb", wt], secret);
      const { asked, pass: p } = inside(project);
      const msg = await refusal(passRepo(wt, "R", p));
      // its own git directory is in the main repository too
      assertMatch(msg, /refused: the git directory of R .*secret\/\.git\/worktrees\/wt/);
      assertEquals(asked.at(-1)?.grant?.dir, secret);
      const lenient = inside(tmp);
      await passRepo(wt, "R", lenient.pass);
      const main = lenient.asked.find((a) => a.what === "the main repository of R");
      assertEquals(main?.path, join(secret, ".git"));
      assertEquals(main?.grant?.dir, secret);
    });
    await t.step("objects borrowed through objects/info/alternates", async () => {
      const alt = await repo(join(project, "alt"));
      await Deno.writeTextFile(join(alt, ".git/objects/info/alternates"), `${secret}/.git/objects\n`);
      assertMatch(
        await refusal(passRepo(alt, "R", pass)),
        /refused: an object directory R borrows \(objects\/info\/alternates\) .*secret\/\.git\/objects/,
      );
      // borrowed inside the project, which borrows again from outside: found at the second step
      const mid = await repo(join(project, "mid"));
      await Deno.writeTextFile(join(mid, ".git/objects/info/alternates"), `${secret}/.git/objects\n`);
      await Deno.writeTextFile(join(alt, ".git/objects/info/alternates"), `../../../mid/.git/objects\n`);
      assertMatch(await refusal(passRepo(alt, "R", pass)), /borrows .*secret\/\.git\/objects/);
    });
    await t.step("a link inside .git: a ref, a link to a directory that links out, a loop", async () => {
      const ln = await repo(join(project, "ln"));
      await Deno.symlink(join(secret, ".git/refs/heads/main"), join(ln, ".git/refs/heads/steal"));
      assertMatch(
        await refusal(passRepo(ln, "R", pass)),
        /refused: a link in the git directory of R .*steal/,
      );
      await Deno.remove(join(ln, ".git/refs/heads/steal"));
      // .git/refs/x -> a directory in the project, which holds a link out: followed once let through
      await Deno.mkdir(join(project, "stash"));
      await Deno.symlink(join(secret, ".git/objects"), join(project, "stash", "objs"));
      await Deno.symlink(join(project, "stash"), join(ln, ".git/refs/x"));
      assertMatch(await refusal(passRepo(ln, "R", pass)), /a link in the git directory of R .*stash\/objs/);
      await Deno.remove(join(ln, ".git/refs/x"));
      // a link that loops back into .git is walked once
      await Deno.symlink(join(ln, ".git"), join(ln, ".git/refs/loop"));
      await passRepo(ln, "R", pass);
    });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
