/**
 * Issue #61, point 1, end to end: no program named by the repository runs through a door. The project's
 * repository names a marker program in every setting `git help --config` lists (its config, an include, an
 * includeIf, config.worktree) and in every hook, planted again while each call runs (tests/_hostile_git.ts);
 * an MCP client (the real SDK, `kodama mcp`) then starts a session from it (the bundle), fetches the pod's
 * commits, lands them with a merge and with a rebase, and lands a conflict — against the test server. Every
 * call does its work, the conflict changes nothing and names the path, a link in `.git` (even one leading
 * inside the project, which the door's start check lets through) has nothing written through it (issue 79,
 * escape 3: exit 4 naming the path once), a pod offering more than 100 branches is refused before anything
 * is written, and no marker program ran.
 *
 * The test's own git commands in the project swap a readable config in (git itself cannot read the hostile
 * one) and run no hooks; kodama's calls always meet the hostile files.
 */
import { assert, assertEquals, assertMatch } from "@kodama/test-assert";
import { join } from "node:path";
import { SESSION_IMAGE, withSessionWorld } from "./_session.ts";
import { startMcp } from "./_mcp.ts";
import { makeHostile } from "../_hostile_git.ts";

const NAME = "door";
const ID = "-c user.name=agent -c user.email=agent@pod";

withSessionWorld(
  "door git: a repository naming a program everywhere — start, fetch, land (merge, rebase, conflict) through MCP; nothing runs",
  { timeoutMs: 10 * 60_000 },
  async (t, w) => {
    const root = `${w.cwd}/project`;
    const cfg = join(root, ".git", "config");
    await Deno.mkdir(root, { recursive: true });
    let hostileCfg = "";
    /** the test's own git: a readable config swapped in, no hooks; the hostile one put back after */
    const git = (args: string[]) => {
      if (hostileCfg) Deno.writeTextFileSync(cfg, "[core]\n\trepositoryformatversion = 0\n\tbare = false\n");
      try {
        const r = new Deno.Command("git", {
          args: ["-c", "core.hooksPath=/dev/null", "-c", "user.name=me", "-c", "user.email=me@here", ...args],
          cwd: root,
          stdout: "piped",
          stderr: "piped",
        }).outputSync();
        const out = new TextDecoder().decode(r.stdout).trimEnd();
        if (!r.success) throw new Error(`git ${args.join(" ")}: ${new TextDecoder().decode(r.stderr)}`);
        return out;
      } finally {
        if (hostileCfg) Deno.writeTextFileSync(cfg, hostileCfg);
      }
    };
    const pod = async (script: string) => {
      const r = await w.k(["attach", NAME, "--command", `cd /workspace && ${script}`]);
      assertEquals(r.code, 0, r.stderr);
      return r.stdout.trim();
    };
    git(["init", "-q", "-b", "main"]);
    for (const f of ["a", "b", "c", "d", "e"]) await Deno.writeTextFile(`${root}/${f}.txt`, `${f}\n`);
    git(["add", "-A"]);
    git(["commit", "-qm", "one"]);
    const h = await makeHostile(root, `${w.cwd}/marks`);
    hostileCfg = await Deno.readTextFile(cfg);
    git(["add", ".gitattributes"]);
    git(["commit", "-qm", "attributes: every path selects the marker drivers"]);
    // kodama's scratch directories go to a temp directory of this test's own, where the planter plants
    const scratch = `${w.cwd}/tmp`;
    await Deno.mkdir(scratch);
    const during = h.plantDuring(scratch);
    const m = await startMcp(w.c.kubeconfig, ["--context", "dev"], {
      env: { KODAMA_HOME: w.home, GIT_CONFIG_GLOBAL: "/dev/null", TMPDIR: scratch },
      cwd: root,
    });
    const ok = async (tool: string, args: Record<string, unknown>) => {
      const r = await m.call(tool, args);
      assert(!r.isError, `${tool}: ${r.text}`);
      return r;
    };
    try {
      await t.step("session_start from the repository: its bundle reaches the pod", async () => {
        await ok("session_start", { name: NAME, image: SESSION_IMAGE, repo: ".", noSync: true });
        assertEquals(
          await pod("git log -1 --format=%s"),
          "attributes: every path selects the marker drivers",
        );
      });

      await t.step("session_fetch: the pod's commit in kodama/NAME", async () => {
        await pod(`echo pod-a > a.txt && git ${ID} commit -qam "pod: a"`);
        await ok("session_fetch", { name: NAME });
        assertEquals(git(["rev-parse", `kodama/${NAME}`]), await pod("git rev-parse HEAD"));
        assertEquals(
          git(["log", "-1", "--format=%s", "main"]),
          "attributes: every path selects the marker drivers",
        );
      });

      await t.step("session_land, merge: both sides' commits, the work tree and index follow", async () => {
        await Deno.writeTextFile(`${root}/b.txt`, "local-b\n");
        git(["commit", "-qam", "local: b"]);
        const r = await ok("session_land", { name: NAME });
        assertEquals(r.data.kind, "merge", r.text);
        assertEquals(git(["rev-list", "--count", "--merges", "-1", "main"]), "1");
        assertEquals(await Deno.readTextFile(`${root}/a.txt`), "pod-a\n");
        assertEquals(await Deno.readTextFile(`${root}/b.txt`), "local-b\n");
        assertEquals(git(["status", "--porcelain", "--untracked-files=no"]), "");
        assertEquals(await pod("git rev-parse HEAD"), git(["rev-parse", "main"]));
      });

      await t.step("session_land, rebase: the local commit replayed onto the pod's", async () => {
        await pod(`echo pod-c > c.txt && git ${ID} commit -qam "pod: c"`);
        await Deno.writeTextFile(`${root}/d.txt`, "local-d\n");
        git(["commit", "-qam", "local: d"]);
        const r = await ok("session_land", { name: NAME, rebase: true });
        assertEquals(r.data.kind, "rebase", r.text);
        assertEquals(git(["log", "-2", "--format=%s", "main"]), "local: d\npod: c");
        assertEquals(await Deno.readTextFile(`${root}/c.txt`), "pod-c\n");
        assertEquals(git(["status", "--porcelain", "--untracked-files=no"]), "");
      });

      await t.step("a conflict: nothing here changes, the error names the path", async () => {
        await pod(`echo pod-e > e.txt && git ${ID} commit -qam "pod: e"`);
        await Deno.writeTextFile(`${root}/e.txt`, "local-e\n");
        git(["commit", "-qam", "local: e"]);
        const snap = () => ({
          head: git(["rev-parse", "HEAD"]),
          branch: git(["symbolic-ref", "HEAD"]),
          index: git(["write-tree"]),
          status: git(["status", "--porcelain", "--untracked-files=no"]),
          e: Deno.readTextFileSync(`${root}/e.txt`),
        });
        for (const rebase of [false, true]) {
          const before = snap();
          const r = await m.call("session_land", { name: NAME, rebase });
          assert(r.isError, r.text);
          assertMatch(r.text, /conflicts: e\.txt/);
          assertMatch(r.text, /CONFLICT \(content\): Merge conflict in e\.txt/);
          assertEquals(snap(), before);
          for (const f of ["MERGE_HEAD", "rebase-merge", "rebase-apply", "index.lock"]) {
            assert(!(await Deno.stat(join(root, ".git", f)).then(() => true, () => false)), f);
          }
        }
      });

      await t.step(
        "the CLI asked for door git (KODAMA_DOOR_GIT=1, as VS Code runs it): fetch and land",
        async () => {
          await pod(`echo pod-f > f.txt && git ${ID} add f.txt && git ${ID} commit -qm "pod: f"`);
          const door = { cwd: root, env: { KODAMA_DOOR_GIT: "1", TMPDIR: scratch } };
          const f = await w.k(["session", "fetch", NAME], door);
          assertEquals(f.code, 0, f.stderr);
          // land's merge is refused on e.txt still: land after taking the pod's e.txt by hand
          git(["checkout", "-q", `kodama/${NAME}`, "--", "e.txt"]);
          git(["commit", "-qm", "take the pod's e"]);
          const l = await w.k(["session", "land", NAME], door);
          assertEquals(l.code, 0, l.stderr);
          assertEquals(await Deno.readTextFile(`${root}/f.txt`), "pod-f\n");
          assertEquals(git(["status", "--porcelain", "--untracked-files=no"]), "");
        },
      );

      await t.step(
        "a link in .git, even one the door lets through: session_fetch writes nothing through it (exit 4)",
        async () => {
          await pod(`echo pod-g > g.txt && git ${ID} add g.txt && git ${ID} commit -qm "pod: g"`);
          const heads = join(root, ".git", "logs", "refs", "heads");
          const moved = join(root, "elsewhere");
          const files = async (d: string) => {
            const out: string[] = [];
            for await (const e of Deno.readDir(d)) {
              const p = join(d, e.name);
              out.push(
                e.isDirectory
                  ? `${e.name}/ ${(await files(p)).join(",")}`
                  : `${e.name} ${Deno.readTextFileSync(p)}`,
              );
            }
            return out.sort();
          };
          const tip = git(["rev-parse", `kodama/${NAME}`]);
          const refusedOnce = async (path: string) => {
            const r = await m.call("session_fetch", { name: NAME });
            assert(r.isError, r.text);
            assertMatch(r.text, /kodama does not write /);
            assertEquals(r.text.split(path).length, 2, `names ${path} once: ${r.text}`);
            assertEquals(git(["rev-parse", `kodama/${NAME}`]), tip);
          };
          // the reflogs' directory a link to another directory of the project
          await Deno.mkdir(moved);
          await Deno.rename(heads, join(moved, "heads"));
          await Deno.symlink("../../../elsewhere/heads", heads);
          const before = await files(moved);
          await refusedOnce(`${heads}:`);
          assertEquals(await files(moved), before, "no reflog line through the link");
          await Deno.remove(heads);
          await Deno.rename(join(moved, "heads"), heads);
          // the branch's reflog itself a link to a file of the project
          const log = join(heads, "kodama", NAME), notes = join(root, "notes.txt");
          await Deno.writeTextFile(notes, "mine\n");
          await Deno.rename(log, `${log}.kept`);
          await Deno.symlink("../../../../../notes.txt", log);
          await refusedOnce(`${log}:`);
          assertEquals(await Deno.readTextFile(notes), "mine\n");
          await Deno.remove(log);
          await Deno.rename(`${log}.kept`, log);
          await Deno.remove(notes);
          await Deno.remove(moved, { recursive: true });
          await ok("session_fetch", { name: NAME });
          assertEquals(git(["rev-parse", `kodama/${NAME}`]), await pod("git rev-parse HEAD"));
        },
      );

      await t.step("a pod offering more than 100 branches: refused, nothing written", async () => {
        const refs = () => git(["for-each-ref", "--format=%(refname) %(objectname)"]);
        const before = refs();
        await pod(
          `for i in $(seq 1 101); do git branch many-$i; done && echo more > m.txt && git add m.txt && git ${ID} commit -qm more`,
        );
        const r = await m.call("session_fetch", { name: NAME });
        assert(r.isError, r.text);
        assertMatch(
          r.text,
          /sent more than kodama takes: it offers 1\d\d branches \(at most 100\).*nothing was written/,
        );
        assertEquals(refs(), before);
      });

      await t.step("no program the repository named ran", async () => {
        assert((await during.stop()) > 0, "the watcher planted hooks in kodama's directories");
        assertEquals(await h.ran(), []);
      });
    } finally {
      await during.stop();
      await m.close();
    }
  },
);
