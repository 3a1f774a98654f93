/**
 * `session fetch` moves a local branch by one rule (src/session/git/branchmove.ts), from the CLI and over MCP
 * (the real SDK client), against the test server: a branch checked out in any work tree is never moved —
 * the user's checked-out master with a commit of theirs (asked for by an agent over MCP), a branch checked
 * out in a linked work tree, kodama/NAME switched to and committed on (the pod then has nothing new); a
 * branch with commits the session lacks moves only with the CLI's --force (no MCP argument can); forward
 * moves and new branches work. Each refusal: exit 2, one or two lines, the user's branch, index and files
 * unchanged.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { purge, SESSION_IMAGE, withSessionWorld } from "./_session.ts";
import { hasStackTrace } from "./_run.ts";
import { startMcp } from "./_mcp.ts";

const NAME = "fx";
const ID = "-c user.name=agent -c user.email=agent@pod";

withSessionWorld(
  "session fetch: never moves a checked-out branch, only moves forward unless the person forces it",
  { timeoutMs: 10 * 60_000 },
  async (t, w) => {
    const root = `${w.cwd}/project`;
    await Deno.mkdir(root, { recursive: true });
    const git = (args: string[], cwd = root) => {
      const r = new Deno.Command("git", { args, cwd, stdout: "piped", stderr: "piped" }).outputSync();
      const out = new TextDecoder().decode(r.stdout).trimEnd();
      if (!r.success) throw new Error(`git ${args.join(" ")}: ${new TextDecoder().decode(r.stderr)}`);
      return out;
    };
    const rev = (ref: string) => git(["rev-parse", ref]);
    const fetch = (...more: string[]) => w.k(["session", "fetch", NAME, ...more], { cwd: root });
    const podHead = async () => (await w.sh(NAME, "cd /workspace && git rev-parse HEAD")).stdout.trim();
    /** exit 2, one or two lines a person can act on, no stack trace */
    const refusedHere = (r: { code: number; stderr: string }, re: RegExp) => {
      assertEquals(r.code, 2, r.stderr);
      assertMatch(r.stderr, re);
      assert(!hasStackTrace(r.stderr), r.stderr);
      assert(r.stderr.trim().split("\n").length <= 2, r.stderr);
    };
    /** what must not change: the branch, HEAD, the index and the files */
    const snapshot = () => ({
      head: git(["symbolic-ref", "HEAD"]),
      master: rev("master"),
      index: git(["write-tree"]),
      status: git(["status", "--porcelain"]),
      file: Deno.readTextFileSync(`${root}/u.txt`),
    });
    git(["init", "-q", "-b", "master"]);
    git(["config", "user.name", "me"]);
    git(["config", "user.email", "me@here"]);
    await Deno.writeTextFile(`${root}/u.txt`, "one\n");
    git(["add", "-A"]);
    git(["commit", "-qm", "one"]);
    const s = await w.k(["start", NAME, "--repo", ".", "--no-sync", "--image", SESSION_IMAGE], { cwd: root });
    assertEquals(s.code, 0, s.stderr);
    const pod = async (script: string) => {
      const r = await w.sh(NAME, `cd /workspace && ${script}`);
      assertEquals(r.code, 0, r.stderr);
    };
    await pod(`echo pod-a > a.txt && git add a.txt && git ${ID} commit -qm "pod: a"`);
    const m = await startMcp(w.c.kubeconfig, ["--context", "dev"], {
      env: { KODAMA_HOME: w.home, GIT_CONFIG_GLOBAL: "/dev/null" },
      cwd: root,
    });
    try {
      await t.step(
        "repro A: --branch master, checked out with the user's commit — refused from the CLI (even --force) and over MCP",
        async () => {
          // the session's commit is here already (a first fetch): the pod then says nothing is new
          const first = await fetch();
          assertEquals(first.code, 0, first.stderr);
          assertEquals(rev(`kodama/${NAME}`), await podHead());
          await Deno.writeTextFile(`${root}/u.txt`, "user work\n");
          git(["commit", "-qam", "user work"]);
          const before = snapshot();
          for (const more of [[], ["--force"]]) {
            refusedHere(
              await fetch("--branch", "master", ...more),
              /^error: session fetch: master is checked out in \S*project: not moved/,
            );
            assertEquals(snapshot(), before);
          }
          const r = await m.call("session_fetch", { name: NAME, branch: "master" });
          assert(r.isError, r.text);
          assertMatch(r.text, /master is checked out in \S*project: not moved.*\(exit 2\)/);
          assertEquals(snapshot(), before);
          // no argument of the tool forces it
          const forced = await m.call("session_fetch", { name: NAME, branch: "master", force: true });
          assert(forced.isError, forced.text);
          assertMatch(forced.text, /Unrecognized key/);
          assertEquals(snapshot(), before);
          assertEquals(git(["log", "-1", "--format=%s", "master"]), "user work");
        },
      );

      await t.step("a branch checked out in a linked work tree: refused, naming that work tree", async () => {
        const side = `${w.cwd}/side`;
        git(["worktree", "add", "-q", "-b", "side", side]);
        const at = rev("side");
        refusedHere(await fetch("--branch", "side"), /side is checked out in \S*\/side: not moved/);
        assertEquals(rev("side"), at);
        assertEquals(git(["status", "--porcelain"], side), "");
        git(["worktree", "remove", side]);
      });

      await t.step(
        "repro B: kodama/fx switched to and committed on; the pod has nothing new — not moved back",
        async () => {
          git(["switch", "-q", `kodama/${NAME}`]);
          await Deno.writeTextFile(`${root}/u.txt`, "mine\n");
          git(["commit", "-qam", "mine"]);
          const mine = rev("HEAD");
          const again = await fetch();
          refusedHere(again, /kodama\/fx is checked out in \S*project: not moved/);
          assertEquals(rev(`kodama/${NAME}`), mine);
          assertEquals(git(["status", "--porcelain"]), "");
          const r = await m.call("session_fetch", { name: NAME });
          assert(r.isError, r.text);
          assertEquals(rev(`kodama/${NAME}`), mine);
          git(["switch", "-q", "master"]);
        },
      );

      await t.step(
        "not checked out, with a commit the session lacks: refused (CLI and MCP); --force on the CLI moves it",
        async () => {
          const mine = rev(`kodama/${NAME}`);
          const r = await fetch();
          refusedHere(
            r,
            /^error: session fetch: kodama\/fx has commits that session fx's branch lacks \([0-9a-f]{12}\): not moved$/m,
          );
          assertStringIncludes(r.stderr, `kodama session fetch ${NAME} --force`);
          assertEquals(rev(`kodama/${NAME}`), mine);
          const viaMcp = await m.call("session_fetch", { name: NAME });
          assert(viaMcp.isError, viaMcp.text);
          assertMatch(viaMcp.text, /kodama\/fx has commits that session fx's branch lacks .*\(exit 2\)/);
          assertEquals(rev(`kodama/${NAME}`), mine);
          const forced = await fetch("--force");
          assertEquals(forced.code, 0, forced.stderr);
          assertEquals(rev(`kodama/${NAME}`), await podHead());
          // the user's commit is not lost: the branch's reflog has it
          assertStringIncludes(git(["reflog", "--format=%H", `kodama/${NAME}`]), mine);
        },
      );

      await t.step("forward: the pod's next commit moves kodama/fx; a new branch is created", async () => {
        await pod(`echo pod-b > b.txt && git add b.txt && git ${ID} commit -qm "pod: b"`);
        const head = await podHead();
        const r = await m.call("session_fetch", { name: NAME });
        assert(!r.isError, r.text);
        assertEquals(rev(`kodama/${NAME}`), head);
        const review = await m.call("session_fetch", { name: NAME, branch: "review" });
        assert(!review.isError, review.text);
        assertEquals(rev("review"), head);
        // the user's branch never moved
        assertEquals(git(["log", "-1", "--format=%s", "master"]), "user work");
        assertEquals(git(["symbolic-ref", "HEAD"]), "refs/heads/master");
      });
    } finally {
      await m.close();
      // on a real cluster the namespace is shared: a session left behind is in the next test's lists
      await purge(w, NAME);
    }
  },
);
