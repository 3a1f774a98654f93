/**
 * `session land` end to end (#51), black-box against the test server (or KODAMA_TEST_KUBECONFIG): a
 * session with sync and `--repo .`, commits made in the pod, and the loop home — a fast-forward that
 * leaves `git status` clean, local edits (one made while landing) kept, a merge sent back to the pod, a
 * merge or rebase that conflicts (nothing changed, the path named), a dirty tree, an unrelated repository, a
 * symlink out of the tree.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { purge, SESSION_IMAGE, withSessionWorld } from "./_session.ts";
import { readLocal, syncSide } from "./_sync.ts";

const NAME = "landing";
const ID = "-c user.name=agent -c user.email=agent@pod";

withSessionWorld(
  "session land: the session's commits onto the current branch, with the sync",
  { timeoutMs: 12 * 60_000 },
  async (t, w) => {
    const { podCat, pod, until } = syncSide(w, NAME);
    const root = `${w.cwd}/project`;
    await Deno.mkdir(root, { recursive: true });
    const git = (args: string[], cwd = root) => {
      const r = new Deno.Command("git", { args, cwd, stdout: "piped", stderr: "piped" }).outputSync();
      return { ok: r.success, out: new TextDecoder().decode(r.stdout).trimEnd() };
    };
    const podOut = async (script: string) => (await w.sh(NAME, `cd /workspace && ${script}`)).stdout.trim();
    const land = (...more: string[]) => w.k(["session", "land", NAME, ...more], { cwd: root });
    try {
      git(["init", "-q", "-b", "main"]);
      git(["config", "user.name", "me"]);
      git(["config", "user.email", "me@here"]);
      for (const f of ["a", "b", "c", "d", "e"]) await Deno.writeTextFile(`${root}/${f}.txt`, `${f}\n`);
      git(["add", "-A"]);
      git(["commit", "-qm", "one"]);
      const r = await w.k(["start", NAME, "--repo", ".", "--image", SESSION_IMAGE], { cwd: root });
      assertEquals(r.code, 0, r.stderr);
      // start says what it will sync before the first byte goes
      const said = r.stderr.search(/syncing \S+\/project -> \S+:\/workspace: 5 files, 10 B\n/);
      assert(said >= 0 && said < r.stderr.indexOf("synced 5 files"), r.stderr);

      await t.step("a commit in the pod lands as a fast-forward; git status is clean", async () => {
        await pod(`echo pod-a > a.txt && git add a.txt && git ${ID} commit -qm "pod: a"`);
        await until("the pod's a.txt here", async () => (await readLocal(`${root}/a.txt`)) === "pod-a\n");
        assertEquals(git(["status", "--porcelain"]).out, "M a.txt".replace(/^/, " "));
        const dry = await land("--dry-run");
        assertEquals(dry.code, 0, dry.stderr);
        assertMatch(dry.stderr, /would fast-forward main/);
        const before = git(["rev-parse", "HEAD"]).out;
        const l = await land();
        assertEquals(l.code, 0, l.stderr);
        assertMatch(
          l.stderr,
          /fast-forwarded main to session landing's \w+ pod: a \(1 path\(s\) already here/,
        );
        assertStringIncludes(l.stderr, "the sync of landing goes on");
        assert(git(["rev-parse", "HEAD"]).out !== before);
        assertEquals(git(["rev-parse", "HEAD"]).out, await podOut("git rev-parse HEAD"));
        assertEquals(git(["status", "--porcelain"]).out, "");
        // the pod's other branches are named as session fetch says
        assert(git(["rev-parse", "-q", "--verify", `refs/remotes/kodama/${NAME}/main`]).ok);
      });

      await t.step(
        "local edits survive, one made while landing is neither lost nor half-written",
        async () => {
          await pod(`echo pod-b > b.txt && git add b.txt && git ${ID} commit -qm "pod: b"`);
          await until("the pod's b.txt here", async () => (await readLocal(`${root}/b.txt`)) === "pod-b\n");
          await Deno.writeTextFile(`${root}/c.txt`, "c local\n");
          let n = 0, done = false;
          const p = land("-o", "json").finally(() => (done = true));
          while (!done) {
            await Deno.writeTextFile(`${root}/d.txt`, `d local ${++n}\n`.repeat(200));
            await new Promise((r) => setTimeout(r, 20));
          }
          const l = await p;
          assertEquals(l.code, 0, l.stderr);
          const j = JSON.parse(l.stdout);
          assertEquals([j.kind, j.branch, j.sync], ["fast-forward", "main", "resumed"]);
          assertEquals(git(["rev-parse", "HEAD"]).out, j.session);
          assertEquals(await readLocal(`${root}/c.txt`), "c local\n");
          assertEquals(await readLocal(`${root}/d.txt`), `d local ${n}\n`.repeat(200));
          assertEquals(git(["status", "--porcelain"]).out.split("\n").sort(), [" M c.txt", " M d.txt"]);
          await until(
            "the edits in the pod",
            async () =>
              (await podCat("d.txt")) === `d local ${n}\n`.repeat(200) &&
              (await podCat("c.txt")) === "c local\n",
          );
          git(["checkout", "--", "c.txt", "d.txt"]);
          await until("the pod clean again", async () => (await podOut("git status --porcelain")) === "");
        },
      );

      await t.step("diverged: a clean merge, sent to the pod, whose branch moves to it", async () => {
        await Deno.writeTextFile(`${root}/new.txt`, "mine\n");
        git(["add", "new.txt"]);
        git(["commit", "-qm", "local: new"]);
        await pod(`echo pod-e > e.txt && git add e.txt && git ${ID} commit -qm "pod: e"`);
        await until("the pod's e.txt here", async () => (await readLocal(`${root}/e.txt`)) === "pod-e\n");
        const l = await land();
        assertEquals(l.code, 0, l.stderr);
        assertMatch(l.stderr, /merged session landing \(\w+\) into main: \w+ .*sent to the pod/);
        const head = git(["rev-parse", "HEAD"]).out;
        assertEquals(git(["rev-list", "--parents", "-1", "HEAD"]).out.split(" ").length, 3);
        assertEquals(git(["status", "--porcelain"]).out, "");
        assertEquals(await podOut("git rev-parse HEAD"), head);
        await until("the pod clean", async () => (await podOut("git status --porcelain")) === "");
      });

      await t.step(
        "diverged with --rebase: local commits on top of the session's, sent to the pod",
        async () => {
          await Deno.writeTextFile(`${root}/new2.txt`, "mine too\n");
          git(["add", "new2.txt"]);
          git(["commit", "-qm", "local: new2"]);
          await pod(`echo pod-f > f.txt && git add f.txt && git ${ID} commit -qm "pod: f"`);
          await until("the pod's f.txt here", async () => (await readLocal(`${root}/f.txt`)) === "pod-f\n");
          const podTip = await podOut("git rev-parse HEAD");
          const l = await land("--rebase");
          assertEquals(l.code, 0, l.stderr);
          assertMatch(l.stderr, /rebased main onto session landing's \w+: \w+; sent to the pod/);
          assertEquals(git(["rev-parse", "HEAD~1"]).out, podTip);
          assertEquals(git(["log", "-1", "--format=%s"]).out, "local: new2");
          assertEquals(git(["status", "--porcelain"]).out, "");
          assertEquals(await podOut("git rev-parse HEAD"), git(["rev-parse", "HEAD"]).out);
          await until("the pod clean", async () => (await podOut("git status --porcelain")) === "");
        },
      );

      await t.step("a conflict changes nothing here: exit 1 naming the path and git's lines", async () => {
        assertEquals((await w.k(["sync", "stop", NAME])).code, 0);
        await pod(`echo pod-x > a.txt && git ${ID} commit -qam "pod: a again"`);
        await Deno.writeTextFile(`${root}/a.txt`, "local-x\n");
        git(["commit", "-qam", "local: a again"]);
        const before = () => ({
          head: git(["rev-parse", "HEAD"]).out,
          status: git(["status", "--porcelain"]).out,
          index: git(["write-tree"]).out,
        });
        const was = before();
        for (const more of [[], ["--rebase"]]) {
          const l = await land(...more);
          assertEquals(l.code, 1, l.stderr);
          assertMatch(l.stderr, /the (merge|rebase) of session landing \(\w+\) into main conflicts: a\.txt/);
          assertMatch(l.stderr, /CONFLICT \(content\): Merge conflict in a\.txt/);
          assertEquals(before(), was);
          assertEquals(await readLocal(`${root}/a.txt`), "local-x\n");
          assert(!git(["rev-parse", "-q", "--verify", "MERGE_HEAD"]).ok);
          assert(!(await Deno.stat(`${root}/.git/rebase-merge`).then(() => true, () => false)));
        }
        // the person merges it in a terminal, then lands: the pod's branch follows
        git(["merge", "-q", `kodama/${NAME}`]);
        await Deno.writeTextFile(`${root}/a.txt`, "resolved\n");
        git(["add", "a.txt"]);
        git(["commit", "-q", "--no-edit"]);
        assertEquals((await w.k(["sync", "start", NAME])).code, 0);
        const fin = await land();
        assertEquals(fin.code, 0, fin.stderr);
        assertMatch(fin.stderr, /already has session landing's commit .*the pod's branch moved/);
        assertEquals(await podOut("git rev-parse HEAD"), git(["rev-parse", "HEAD"]).out);
        await w.k(["sync", "resolve", NAME, "a.txt", "--keep", "local"]);
      });

      await t.step("a local change the landing would overwrite: exit 2, nothing changed", async () => {
        assertEquals((await w.k(["sync", "stop", NAME])).code, 0);
        await pod(`echo pod-c > c.txt && git add c.txt && git ${ID} commit -qm "pod: c"`);
        await Deno.writeTextFile(`${root}/c.txt`, "mine, unsaved\n");
        const head = git(["rev-parse", "HEAD"]).out;
        const l = await land();
        assertEquals(l.code, 2, l.stderr);
        assertMatch(l.stderr, /local changes would be overwritten: c\.txt/);
        assertEquals(git(["rev-parse", "HEAD"]).out, head);
        assertEquals(await readLocal(`${root}/c.txt`), "mine, unsaved\n");
        // without the sync running, an untouched file is written by the landing
        git(["checkout", "--", "c.txt"]);
        const ok = await land();
        assertEquals(ok.code, 0, ok.stderr);
        assertMatch(ok.stderr, /1 written/);
        assertEquals(await readLocal(`${root}/c.txt`), "pod-c\n");
        assertEquals(git(["status", "--porcelain"]).out, "");
      });

      await t.step("an unrelated repository: fetch and land refuse (exit 2), --force fetches", async () => {
        const other = `${w.cwd}/other`;
        await Deno.mkdir(other);
        git(["init", "-q"], other);
        await Deno.writeTextFile(`${other}/x`, "x\n");
        git(["add", "x"], other);
        git(["-c", "user.name=o", "-c", "user.email=o@o", "commit", "-qm", "x"], other);
        const f = await w.k(["session", "fetch", NAME], { cwd: other });
        assertEquals(f.code, 2, f.stderr);
        assertMatch(f.stderr, /is not a clone of session landing's repository/);
        assert(!git(["rev-parse", "-q", "--verify", `refs/heads/kodama/${NAME}`], other).ok);
        const l = await w.k(["session", "land", NAME], { cwd: other });
        assertEquals(l.code, 2, l.stderr);
        const forced = await w.k(["session", "fetch", NAME, "--force"], { cwd: other });
        assertEquals(forced.code, 0, forced.stderr);
      });

      await t.step(
        "sync status adds up across restarts; resolve of a clean path; lock files stay home",
        async () => {
          const status = async () => JSON.parse((await w.k(["sync", "status", NAME, "-o", "json"])).stdout);
          assertEquals((await w.k(["sync", "start", NAME])).code, 0);
          const s0 = await status();
          await Deno.writeTextFile(`${root}/big.txt`, "x".repeat(5000));
          await Deno.writeTextFile(`${root}/.kodama.yaml.lock`, "123\n");
          await until("big.txt in the pod", async () => (await podCat("big.txt"))?.length === 5000);
          await pod("echo back > back.txt && echo 1 > .kodama-x.lock");
          await until("back.txt here", async () => (await readLocal(`${root}/back.txt`)) === "back\n");
          const s1 = await status();
          assert(
            s1.bytesSent >= s0.bytesSent + 5000,
            `Sent bytes did not count: ${s0.bytesSent} -> ${s1.bytesSent}`,
          );
          assert(s1.filesSent > s0.filesSent);
          assert((s1.filesReceived ?? 0) > (s0.filesReceived ?? 0));
          // a path in no conflict: exit 3, and the running (idle) sync is not restarted
          await until("the sync idle", async () => (await status()).state === "watching");
          const r = await w.k(["sync", "resolve", NAME, "big.txt", "--keep", "local"]);
          assertEquals(r.code, 3, r.stderr);
          assertEquals((await status()).pid, s1.pid);
          // a restart keeps the totals
          assertEquals((await w.k(["sync", "stop", NAME])).code, 0);
          assertEquals((await w.k(["sync", "start", NAME])).code, 0);
          const s2 = await status();
          assertEquals([s2.filesSent, s2.bytesSent, s2.filesReceived], [
            s1.filesSent,
            s1.bytesSent,
            s1.filesReceived,
          ]);
          // kodama's own lock files never crossed, either way
          assertEquals(await podCat(".kodama.yaml.lock"), undefined);
          assertEquals(await readLocal(`${root}/.kodama-x.lock`), undefined);
        },
      );

      await t.step("a committed symlink out of the tree or into .git is refused and listed", async () => {
        await pod(
          `ln -s ../../etc/passwd evil && ln -s .git/hooks hooks && git add evil hooks && git ${ID} commit -qm links`,
        );
        const head = git(["rev-parse", "HEAD"]).out;
        const l = await land();
        assertEquals(l.code, 1, l.stderr);
        assertMatch(l.stderr, /symlinks that are refused/);
        assertMatch(l.stderr, /evil -> \.\.\/\.\.\/etc\/passwd \(it leads out of the tree/);
        assertMatch(l.stderr, /hooks -> \.git\/hooks \(it leads into \.git/);
        assertEquals(git(["rev-parse", "HEAD"]).out, head);
      });

      await t.step("an agent run still running: land refuses (exit 1) before fetching anything", async () => {
        await Deno.writeTextFile(`${w.cwd}/.kodama.yaml`, "agent:\n  command: [sh, -c, 'sleep 300']\n");
        const a = await w.k(["agent", "run", NAME, "--agent", "custom", "--prompt", "take your time"]);
        assertEquals(a.code, 0, a.stderr);
        const l = await land();
        assertEquals(l.code, 1, l.stderr);
        assertMatch(l.stderr, /agent run \S+ is still running in landing/);
        assertEquals((await w.k(["agent", "stop", NAME])).code, 0);
      });
    } finally {
      await purge(w, NAME);
    }
  },
);
