/**
 * `session land` against a hostile pod (docs/security.md, "a pod"): the agent controls its commits, and
 * nothing they hold may make the landing write a link that leads out of the repository, or hash, remove
 * or overwrite a file outside it or one the user never committed. Each refusal is exit 1 and one error
 * line with its hint, and the file outside (or untracked) is untouched. Black-box against the test
 * server, with the sync running (it pulls the pod's `d/up -> ..`, which its own rules allow).
 */
import { assert, assertEquals, assertMatch, assertNotMatch } from "@kodama/test-assert";
import { purge, SESSION_IMAGE, withSessionWorld } from "./_session.ts";
import { readLocal, syncSide } from "./_sync.ts";

const NAME = "hostile";
const ID = "-c user.name=agent -c user.email=agent@pod";

/** The error kodama printed: from its `error:` line to the end, at most two lines, no stack trace. */
function oneError(stderr: string): string {
  const lines = stderr.trimEnd().split("\n");
  const at = lines.findIndex((l) => l.startsWith("error: "));
  assert(at >= 0, stderr);
  const err = lines.slice(at);
  assert(err.length <= 2, `more than two lines:\n${stderr}`);
  assertNotMatch(stderr, /^\s+at \S/m);
  return err.join("\n");
}

/** A pod script that commits the tree `ls-tree HEAD` + ENTRY (a mktree line built from $t) on HEAD. */
const commitTree = (build: string, entry: string) =>
  `${build} && n=$({ git ls-tree HEAD; printf '${entry}\\n' "$t"; } | git mktree) && ` +
  `git update-ref HEAD "$(git ${ID} commit-tree "$n" -p HEAD -m crafted)"`;

withSessionWorld(
  "session land: a hostile pod's commits write no link out, remove no file outside or untracked",
  { timeoutMs: 10 * 60_000 },
  async (t, w) => {
    const { pod, until } = syncSide(w, NAME);
    const root = `${w.cwd}/project`;
    await Deno.mkdir(root, { recursive: true });
    const git = (...args: string[]) => {
      const r = new Deno.Command("git", { args, cwd: root, stdout: "piped", stderr: "piped" }).outputSync();
      return new TextDecoder().decode(r.stdout).trimEnd();
    };
    const land = (...more: string[]) => w.k(["session", "land", NAME, ...more], { cwd: root });
    const isLink = (p: string) => Deno.lstat(p).then((s) => s.isSymlink, () => false);
    const absent = (p: string) => Deno.lstat(p).then(() => false, () => true);
    try {
      git("init", "-q", "-b", "main");
      git("config", "user.name", "me");
      git("config", "user.email", "me@here");
      await Deno.writeTextFile(`${root}/a.txt`, "a\n");
      git("add", "-A");
      git("commit", "-qm", "one");
      const r = await w.k(["start", NAME, "--repo", ".", "--image", SESSION_IMAGE], { cwd: root });
      assertEquals(r.code, 0, r.stderr);
      await Deno.writeTextFile(`${w.cwd}/victim.txt`, "victim\n");
      await pod("mkdir -p d && ln -s .. d/up");
      await until("the pod's d/up -> .. here", () => isLink(`${root}/d/up`));

      await t.step(
        "a link that climbs out through the synced d/up is refused; nothing is written",
        async () => {
          await pod(`ln -s d/up/../victim.txt x && git add x && git ${ID} commit -qm x`);
          const head = git("rev-parse", "HEAD");
          const l = await land();
          assertEquals(l.code, 1, l.stderr);
          assertMatch(oneError(l.stderr), /refused: x -> d\/up\/\.\.\/victim\.txt \(.*climbs back with \.\./);
          assert(await absent(`${root}/x`), "x was written");
          assertEquals(git("rev-parse", "HEAD"), head);
          assertEquals(await readLocal(`${w.cwd}/victim.txt`), "victim\n");
          await pod("git reset -q HEAD~1 && rm x");
        },
      );

      await t.step(
        "a link through the user's own link out of the tree is refused (checked on disk)",
        async () => {
          await Deno.mkdir(`${w.cwd}/outside`);
          await Deno.writeTextFile(`${w.cwd}/outside/v.txt`, "outside\n");
          await Deno.symlink(`${w.cwd}/outside`, `${root}/ext`);
          await pod(`ln -s ext/v.txt y && git add y && git ${ID} commit -qm y`);
          const l = await land();
          assertEquals(l.code, 1, l.stderr);
          assertMatch(
            oneError(l.stderr),
            /paths that are refused: y -> ext\/v\.txt \(it is a symlink out of the tree/,
          );
          assert(await absent(`${root}/y`), "y was written");
          assertEquals(await readLocal(`${w.cwd}/outside/v.txt`), "outside\n");
          await pod("git reset -q HEAD~1 && rm y");
          await Deno.remove(`${root}/ext`);
        },
      );

      // the rest diverge: a rebase runs git in the working tree, after moving the synced files aside
      await Deno.writeTextFile(`${root}/local.txt`, "mine\n");
      git("add", "local.txt");
      git("commit", "-qm", "local");

      await t.step(
        "a tree entry named .. is refused at the fetch; the file above the repository stays",
        async () => {
          await Deno.writeTextFile(`${w.cwd}/known.txt`, "known\n");
          await pod(commitTree(
            `b=$(printf 'known\\n' | git hash-object -w --stdin) && t=$(printf '100644 blob %s\\tknown.txt\\n' "$b" | git mktree)`,
            "040000 tree %s\\t..",
          ));
          const l = await land("--rebase");
          assertEquals(l.code, 1, l.stderr);
          assertMatch(oneError(l.stderr), /objects git refuses: .*hasDotdot/);
          assertEquals(await readLocal(`${w.cwd}/known.txt`), "known\n");
          await pod("git reset -q --soft HEAD~1");
        },
      );

      await t.step("a path through the synced d/up never removes the user's untracked file", async () => {
        await Deno.writeTextFile(`${root}/notes.md`, "my notes\n");
        await pod(commitTree(
          `b=$(printf 'my notes\\n' | git hash-object -w --stdin) && ` +
            `u=$(printf '100644 blob %s\\tnotes.md\\n' "$b" | git mktree) && ` +
            `t=$(printf '040000 tree %s\\tup\\n' "$u" | git mktree)`,
          "040000 tree %s\\td",
        ));
        const head = git("rev-parse", "HEAD");
        const l = await land("--rebase");
        assertEquals(l.code, 1, l.stderr);
        assertMatch(
          oneError(l.stderr),
          /refused: d\/up\/notes\.md \(its path goes through a symlink \(up\)\)/,
        );
        assertEquals(await readLocal(`${root}/notes.md`), "my notes\n");
        assertEquals(git("rev-parse", "HEAD"), head);
        await pod("git reset -q --soft HEAD~1");
      });

      await t.step(
        "git refuses to start the rebase: a failure, not conflicts; the synced file is back",
        async () => {
          await pod(`echo added > added.txt && git add added.txt && git ${ID} commit -qm added`);
          await until(
            "the pod's added.txt here",
            async () => (await readLocal(`${root}/added.txt`)) === "added\n",
          );
          const head = git("rev-parse", "HEAD");
          await Deno.writeTextFile(`${root}/.git/index.lock`, "");
          const l = await land("--rebase");
          await Deno.remove(`${root}/.git/index.lock`);
          assertEquals(l.code, 1, l.stderr);
          assertMatch(oneError(l.stderr), /git rebase did not start: .*index\.lock/);
          assertNotMatch(l.stderr, /conflict/);
          assertEquals(await readLocal(`${root}/added.txt`), "added\n");
          assertEquals(git("rev-parse", "HEAD"), head);
          assertEquals(git("status", "--porcelain", "--", "a.txt", "local.txt", "added.txt"), "?? added.txt");
          const ok = await land("--rebase");
          assertEquals(ok.code, 0, ok.stderr);
          assertMatch(ok.stderr, /rebased main onto session hostile's/);
          assertEquals(await readLocal(`${root}/added.txt`), "added\n");
          assertEquals(git("log", "-1", "--format=%s"), "local");
          const kept = [...Deno.readDirSync(`${w.home}/sync/${NAME}`)].some((e) => e.name === "kept");
          assert(!kept || ![...Deno.readDirSync(`${w.home}/sync/${NAME}/kept`)].length, "copies left behind");
        },
      );
    } finally {
      await purge(w, NAME);
    }
  },
);
