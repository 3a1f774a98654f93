/**
 * Several repositories in one session (#81), black-box against the test server: `start --repo ./api --repo
 * ./web --repo ./docs:ro` clones each into /workspace/NAME on its own branch, the pod commits in both written
 * ones, `session fetch` brings each home, `session land` lands both or neither (a conflict in the second moves
 * neither), a read-only repository is never fetched or landed, and `session diff/get` speak per repository.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { podOf, purge, SESSION_IMAGE, withSessionWorld } from "./_session.ts";
import { startMcp } from "./_mcp.ts";
import { gitHere, localRepo } from "./_repos.ts";

const NAME = "mr1";
const ID = "-c user.name=agent -c user.email=agent@pod";

withSessionWorld(
  "several repositories: start, fetch, land all or none",
  { timeoutMs: 10 * 60_000 },
  async (t, w) => {
    const git = gitHere;
    const repo = localRepo;
    const api = `${w.cwd}/api`, web = `${w.cwd}/web`, docs = `${w.cwd}/docs`;
    const pod = async (script: string) => {
      const r = await w.sh(NAME, `cd /workspace && ${script}`);
      assertEquals(r.code, 0, `${script}: ${r.stderr}`);
      return r.stdout.trim();
    };
    try {
      await repo(api, { "a.txt": "a\n" });
      await repo(web, { "w.txt": "w\n" });
      await repo(docs, { "d.txt": "d\n" });
      await t.step(
        "refused before anything is made: a name out of the workspace, a URL written, sync",
        async () => {
          const cases: [string[], RegExp][] = [
            [["--repo", "./api=../x", "--repo", "./web"], /invalid repository name "\.\.\/x"/],
            [["--repo", "./api=.kodama", "--repo", "./web"], /invalid repository name "\.kodama"/],
            [["--repo", "./api", "--repo", "./web=api"], /both go to \/workspace\/api/],
            [
              ["--repo", "https://example.invalid/x.git", "--repo", "./web"],
              /each one the agent writes is a repository on this machine/,
            ],
            [
              ["--repo", "./api", "--repo", "./web", "--sync", "."],
              /^error: --sync PATH: a session with several repositories syncs each one from the directory given to --repo/m,
            ],
            [
              ["--repo", "./api", "--repo", "./web", "--branch", "x"],
              /--branch and --base-branch take one --repo/,
            ],
          ];
          for (const [flags, re] of cases) {
            const x = await w.k(["start", "mr-no", ...flags, "--image", SESSION_IMAGE]);
            assertEquals(x.code, 2, `${flags.join(" ")}: ${x.stderr}`);
            assertMatch(x.stderr, re);
            assert(!x.stderr.includes("    at "), x.stderr);
          }
          assert(!(await w.k(["list", "-o", "name"])).stdout.includes("mr-no"));
        },
      );
      const r = await w.k([
        "start",
        NAME,
        "--repo",
        "./api",
        "--repo",
        "./web=site",
        "--repo",
        "./docs:ro",
        "--image",
        SESSION_IMAGE,
      ]);
      assertEquals(r.code, 0, r.stderr);

      await t.step(
        "each repository in /workspace/NAME, on its own session branch; docs on its own",
        async () => {
          assertEquals(await pod("ls -d api site docs"), "api\ndocs\nsite");
          assertMatch(await pod("git -C api symbolic-ref --short HEAD"), /^kodama\/mr1-\d+$/);
          assertMatch(await pod("git -C site symbolic-ref --short HEAD"), /^kodama\/mr1-\d+$/);
          assertEquals(await pod("git -C docs symbolic-ref --short HEAD"), "main");
          assertEquals(await pod("cat api/a.txt site/w.txt docs/d.txt"), "a\nw\nd");
          assertMatch(r.stderr, /cloned api: branch kodama\/mr1-\d+/);
          assertMatch(r.stderr, /cloned docs \(read-only\): branch main/);
        },
      );

      await t.step(
        "what is not built for several repositories yet refuses in one line (exit 2)",
        async () => {
          const cases: [string[], string][] = [
            // sync is per repository (tests/cli/sync_repos_test.ts): a PATH for all of them is refused
            [["sync", "start", NAME, "."], "each syncs from the directory given to start (give no PATH)"],
            [["sync", "push", NAME, "."], "each syncs from the directory given to start (give no PATH)"],
            // snapshot, clone and --replace keep the repositories (tests/cli/session_multirepo_views_test.ts)
            [
              ["start", NAME, "--replace", "--repo", "./api", "--repo", "./web"],
              "--replace of a session with several",
            ],
          ];
          for (const [args, said] of cases) {
            const x = await w.k(args);
            assertEquals(x.code, 2, `${args.join(" ")}: ${x.stderr}`);
            assertStringIncludes(x.stderr, said);
            assertEquals(x.stderr.trim().split("\n").length <= 2, true, x.stderr);
          }
          // through door git (the editor, a workflow step) from api: web is not under where it started, so the
          // landing is refused naming it (exit 4) before anything is fetched into either
          for (const verb of ["land", "fetch"]) {
            const d = await w.k(["session", verb, NAME], { env: { KODAMA_DOOR_GIT: "1" }, cwd: api });
            assertEquals(d.code, 4, d.stderr);
            assertMatch(d.stderr, new RegExp(`^error: session ${verb}: repository site: `));
            assert(!git(api, "rev-parse", "-q", "--verify", "kodama/mr1").ok);
            assert(!git(web, "rev-parse", "-q", "--verify", "kodama/mr1").ok);
          }
        },
      );

      await t.step("session get shows each repository, its directory and branch", async () => {
        const g = await w.k(["session", "get", NAME]);
        assertEquals(g.code, 0, g.stderr);
        assertMatch(g.stdout, /^Repo: +\/workspace\/api <- \S+\/api \(branch kodama\/mr1-\d+\)$/m);
        assertMatch(g.stdout, /^Repo: +\/workspace\/site <- \S+\/web \(branch kodama\/mr1-\d+\)$/m);
        assertMatch(g.stdout, /^Repo: +\/workspace\/docs <- \S+\/docs \(read-only, branch main\)$/m);
        const j = JSON.parse((await w.k(["session", "get", NAME, "-o", "json"])).stdout);
        assertEquals(
          j.status.repositories.map((r: { name: string; readOnly: boolean }) => [r.name, r.readOnly]),
          [["api", false], ["site", false], ["docs", true]],
        );
        assertMatch(j.status.branch, /^kodama\/mr1-\d+$/);
      });

      await t.step(
        "the agent commits in both; session fetch brings each home as kodama/mr1, docs never",
        async () => {
          await pod(`cd api && echo pod-a > a.txt && git ${ID} commit -qam "pod: api"`);
          await pod(`cd site && echo pod-w > w.txt && git ${ID} commit -qam "pod: web"`);
          await pod(`cd docs && echo pod-d > d.txt && git ${ID} commit -qam "pod: docs"`);
          const f = await w.k(["session", "fetch", NAME]);
          assertEquals(f.code, 0, f.stderr);
          assertMatch(f.stderr, /fetched api: .* into kodama\/mr1 of \S+\/api/);
          assertMatch(f.stderr, /fetched site: .* into kodama\/mr1 of \S+\/web/);
          assertStringIncludes(f.stderr, "not fetched (read-only): docs");
          assertEquals(git(api, "log", "-1", "--format=%s", "kodama/mr1").out, "pod: api");
          assertEquals(git(web, "log", "-1", "--format=%s", "kodama/mr1").out, "pod: web");
          assert(!git(docs, "rev-parse", "-q", "--verify", "kodama/mr1").ok);
          // the diff of each, its paths as the workspace sees them
          const d = await w.k(["session", "fetch", NAME, "--diff"]);
          assertEquals(d.code, 0, d.stderr);
          assertStringIncludes(d.stdout, "--- a/api/a.txt");
          assertStringIncludes(d.stdout, "+++ b/site/w.txt");
          assert(!d.stdout.includes("d.txt"), d.stdout);
        },
      );

      await t.step(
        "a fetch that fails in the second repository leaves the first's branch where it was",
        async () => {
          const before = git(api, "rev-parse", "kodama/mr1").out;
          await pod(`cd api && echo pod-a2 > a.txt && git ${ID} commit -qam "pod: api 2"`);
          // the second repository's kodama/mr1 is checked out here: it may not be moved
          await pod(`cd site && echo pod-w2 > w.txt && git ${ID} commit -qam "pod: web 2"`);
          git(web, "checkout", "-q", "kodama/mr1");
          try {
            const f = await w.k(["session", "fetch", NAME]);
            assertEquals(f.code, 2, f.stderr);
            assertMatch(f.stderr, /repository site: /);
            assertStringIncludes(f.stderr, "no repository's branch moved");
            assertEquals(git(api, "rev-parse", "kodama/mr1").out, before);
          } finally {
            git(web, "checkout", "-q", "main");
          }
        },
      );

      const state = () => ({
        api: [
          git(api, "rev-parse", "main").out,
          git(api, "rev-parse", "kodama/mr1").out,
          git(api, "write-tree").out,
        ],
        web: [
          git(web, "rev-parse", "main").out,
          git(web, "rev-parse", "kodama/mr1").out,
          git(web, "write-tree").out,
        ],
        files: [Deno.readTextFileSync(`${api}/a.txt`), Deno.readTextFileSync(`${web}/w.txt`)],
        status: [git(api, "status", "--porcelain").out, git(web, "status", "--porcelain").out],
      });

      await t.step(
        "session land: a fast-forward in one and a merge in the other, both; docs never",
        async () => {
          await Deno.writeTextFile(`${web}/x.txt`, "mine\n");
          git(web, "add", "x.txt");
          git(web, "commit", "-qm", "local: x");
          const l = await w.k(["session", "land", NAME]);
          assertEquals(l.code, 0, l.stderr);
          assertMatch(l.stderr, /^api: fast-forwarded main to \w+ \(0 path\(s\) already here, 1 written\)$/m);
          assertMatch(l.stderr, /^site: merged session mr1 \(\w+\) into main: \w+ .*; sent to the pod/m);
          assertStringIncludes(l.stderr, "not landed (read-only): docs");
          assertEquals(git(api, "log", "-1", "--format=%s").out, "pod: api 2");
          assertEquals(git(web, "rev-list", "--parents", "-1", "HEAD").out.split(" ").length, 3);
          assertEquals(await pod("git -C site rev-parse HEAD"), git(web, "rev-parse", "HEAD").out);
          assertEquals([git(api, "status", "--porcelain").out, git(web, "status", "--porcelain").out], [
            "",
            "",
          ]);
          assertEquals(await Deno.readTextFile(`${web}/w.txt`), "pod-w2\n");
          assertEquals(git(docs, "log", "-1", "--format=%s").out, "one");
          assertEquals(await pod("git -C docs log -1 --format=%s"), "pod: docs");
        },
      );

      await t.step(
        "a failure planted between the two writes: the first repository is put back whole",
        async () => {
          await pod(
            `cd api && echo pod-a3 > a.txt && echo new > n.txt && mkdir -p sub/deep && echo s > sub/deep/s.txt && ` +
              `git add n.txt sub && git ${ID} commit -qam "pod: api 3"`,
          );
          await pod(`cd site && echo pod-w3 > w.txt && git ${ID} commit -qam "pod: web 3"`);
          // an untracked file and a staged one that the landing does not touch stay as they are too
          await Deno.writeTextFile(`${api}/mine.txt`, "untracked\n");
          await Deno.writeTextFile(`${api}/staged.txt`, "staged\n");
          git(api, "add", "staged.txt");
          const was = state();
          const { landRepos } = await import("../../src/session/git/landrepos.ts");
          const { loadState } = await import("../../src/session/state/state.ts");
          const repos = (await loadState(NAME, w.home))!.repos!;
          const sink = { write: () => {} };
          for (const at of ["api", "site"]) {
            const written: string[] = [];
            const e = await landRepos(await w.kube(), "dev", NAME, repos, {
              cwd: w.cwd,
              out: sink,
              err: sink,
              afterWrite: (r) => {
                written.push(r);
                // what the write did is there before the failure: the branch moved, the new file written
                assertEquals(
                  git(r === "api" ? api : web, "log", "-1", "--format=%s").out,
                  `pod: ${r === "api" ? "api" : "web"} 3`,
                );
                if (r === at) throw new Error(`planted failure after ${r}`);
              },
            }).then(() => undefined, (e) => e as Error);
            assert(e, "the landing failed");
            assertMatch(e.message, new RegExp(`repository ${at}: planted failure after ${at}`));
            assertEquals(written, at === "api" ? ["api"] : ["api", "site"]);
            assertEquals(state(), was);
            for (const f of ["n.txt", "sub/deep/s.txt", "sub"]) {
              assert(!(await Deno.stat(`${api}/${f}`).then(() => true, () => false)), `${f} is gone again`);
            }
            assertEquals(git(api, "diff", "--cached", "--name-only").out, "staged.txt");
            assertEquals(await Deno.readTextFile(`${api}/mine.txt`), "untracked\n");
          }
          await Deno.remove(`${api}/mine.txt`);
          git(api, "rm", "-q", "--cached", "staged.txt");
          await Deno.remove(`${api}/staged.txt`);
        },
      );

      await t.step(
        "a conflict in the second repository moves neither, and names it and its path",
        async () => {
          await Deno.writeTextFile(`${web}/w.txt`, "local-w3\n");
          git(web, "commit", "-qam", "local: w");
          const was = state();
          const l = await w.k(["session", "land", NAME]);
          assertEquals(l.code, 1, l.stderr);
          assertMatch(
            l.stderr,
            /^error: session land: repository site: the merge of session mr1 \(\w+\) into main conflicts: w\.txt/m,
          );
          assertMatch(l.stderr, /CONFLICT \(content\)/);
          assertStringIncludes(l.stderr, "no repository's branch moved");
          assertEquals(state(), was);
          // a local change in the way, the same: nothing moves anywhere
          git(web, "reset", "-q", "--hard", "HEAD~1");
          await Deno.writeTextFile(`${api}/a.txt`, "edited here\n");
          const was2 = state();
          const l2 = await w.k(["session", "land", NAME]);
          assertEquals(l2.code, 2, l2.stderr);
          assertMatch(l2.stderr, /repository api: local changes would be overwritten: a\.txt/);
          assertEquals(state(), was2);
          git(api, "checkout", "--", "a.txt");
        },
      );

      await t.step("--only lands one repository; a read-only or unknown one is refused", async () => {
        const webWas = git(web, "rev-parse", "main").out;
        const l = await w.k(["session", "land", NAME, "--only", "api", "-o", "json"]);
        assertEquals(l.code, 0, l.stderr);
        const j = JSON.parse(l.stdout);
        assertEquals(
          j.repositories.map((r: { repository: string; kind: string }) => [r.repository, r.kind]),
          [["api", "fast-forward"]],
        );
        assertEquals(git(api, "log", "-1", "--format=%s").out, "pod: api 3");
        assertEquals(git(web, "rev-parse", "main").out, webWas);
        const ro = await w.k(["session", "land", NAME, "--only", "docs"]);
        assertEquals(ro.code, 2, ro.stderr);
        assertMatch(ro.stderr, /docs is read-only: it is never landed/);
        const none = await w.k(["session", "land", NAME, "--only", "nope"]);
        assertEquals(none.code, 3, none.stderr);
        // a dry run says what it would do in each, and writes nothing
        await pod(`cd site && echo pod-w4 > w.txt && git ${ID} commit -qam "pod: web 4"`);
        const webHead = git(web, "rev-parse", "HEAD").out;
        const dry = await w.k(["session", "land", NAME, "--dry-run"]);
        assertEquals(dry.code, 0, dry.stderr);
        assertMatch(dry.stderr, /^site: would fast-forward main to \w+/m);
        assertEquals(git(web, "rev-parse", "HEAD").out, webHead);
        // a repository no longer where start recorded it: refused by name, nothing changed in the other
        await Deno.rename(web, `${web}.moved`);
        await Deno.mkdir(web);
        try {
          const apiWas = git(api, "rev-parse", "HEAD").out;
          const gone = await w.k(["session", "land", NAME]);
          assertEquals(gone.code, 2, gone.stderr);
          assertMatch(gone.stderr, /repository site is not at \S+\/web any more/);
          assertEquals(git(api, "rev-parse", "HEAD").out, apiWas);
        } finally {
          await Deno.remove(web, { recursive: true });
          await Deno.rename(`${web}.moved`, web);
        }
        // --rebase: tests/cli/session_multirepo_views_test.ts
      });

      await t.step(
        "the cluster's record cannot name another local repository: only the paths given to start",
        async () => {
          // planted: whoever can edit the namespace points the session's recorded repositories elsewhere
          const victim = `${w.cwd}/victim`;
          await repo(victim, { "v.txt": "v\n" });
          const podName = await podOf(w, NAME);
          const got = await w.kc([
            "get",
            "pod",
            podName,
            "-o",
            "jsonpath={.metadata.annotations.kodama\\.dev/spec}",
          ]);
          assertEquals(got.code, 0, got.stderr);
          const spec = JSON.parse(got.stdout);
          for (const r of spec.repos) r.git.repo = victim;
          spec.repos.push({ name: "victim", git: { ...spec.repos[0].git, repo: victim } });
          const a = await w.kc([
            "annotate",
            "pod",
            podName,
            "--overwrite",
            `kodama.dev/spec=${JSON.stringify(spec)}`,
          ]);
          assertEquals(a.code, 0, a.stderr);
          await pod(`cd api && echo pod-a5 > a.txt && git ${ID} commit -qam "pod: api 5"`);
          for (const args of [["session", "fetch", NAME], ["session", "land", NAME, "--only", "api"]]) {
            const r = await w.k(args);
            assertEquals(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
            assert(!r.stderr.includes(victim), r.stderr);
          }
          // a second spelling: the planted name is not one of this machine's repositories
          const only = await w.k(["session", "land", NAME, "--only", "victim"]);
          assertEquals(only.code, 3, only.stderr);
          assertEquals(git(victim, "for-each-ref", "--format=%(refname)").out, "refs/heads/main");
          assertEquals(git(victim, "log", "--format=%s").out, "one");
          assertEquals(git(api, "log", "-1", "--format=%s").out, "pod: api 5");
        },
      );

      await t.step(
        "through MCP: session_land lands both, each by door git; a state record pointing out of the door is refused",
        async () => {
          await pod(`cd api && echo pod-a6 > a.txt && git ${ID} commit -qam "pod: api 6"`);
          await pod(`cd site && echo pod-w6 > w.txt && git ${ID} commit -qam "pod: web 6"`);
          const m = await startMcp(w.c.kubeconfig, ["--context", "dev"], {
            env: { KODAMA_HOME: w.home, GIT_CONFIG_GLOBAL: "/dev/null" },
            cwd: w.cwd,
          });
          const file = `${w.home}/sessions/${NAME}.yaml`;
          const text = await Deno.readTextFile(file);
          const outside = await Deno.makeTempDir({ prefix: "kodama-outside-" });
          try {
            await repo(`${outside}/web`, { "w.txt": "mine\n" });
            await Deno.symlink(`${outside}/web`, `${w.cwd}/web-link`);
            const was = state();
            // planted: this machine's record points site at a repository the server's door does not reach (two
            // spellings: the path itself, a link inside the project leading to it)
            for (const planted of [`${outside}/web`, `${w.cwd}/web-link`]) {
              await Deno.writeTextFile(file, text.replaceAll(web, planted));
              assertStringIncludes(await Deno.readTextFile(file), planted);
              for (const tool of ["session_land", "session_fetch"]) {
                const r = await m.call(tool, { name: NAME });
                assert(r.isError, `${tool} ${planted}: ${r.text}`);
                assertMatch(r.text, /repository site: .*\(exit 4\)/s, r.text);
              }
              assertEquals(state(), was);
              assertEquals(
                git(`${outside}/web`, "for-each-ref", "--format=%(refname)").out,
                "refs/heads/main",
              );
            }
            await Deno.writeTextFile(file, text);
            const r = await m.call("session_land", { name: NAME });
            assert(!r.isError, r.text);
            assertEquals(git(api, "log", "-1", "--format=%s").out, "pod: api 6");
            assertEquals(git(web, "log", "-1", "--format=%s", "kodama/mr1").out, "pod: web 6");
            assertEquals(git(web, "merge-base", "--is-ancestor", "kodama/mr1", "main").ok, true);
            assertEquals(git(web, "status", "--porcelain").out, "");
            // session_start with repos: each into its directory, docs read-only, as --repo does
            const st = await m.call("session_start", {
              name: "mr3",
              image: SESSION_IMAGE,
              noSync: true,
              repos: [{ path: "api" }, { path: "web", name: "site" }, { path: "./docs", readOnly: true }],
            });
            assert(!st.isError, st.text);
            const ls = await w.sh(
              "mr3",
              "cd /workspace && for d in api site docs; do test -d $d/.git && echo $d; done; cat api/a.txt site/w.txt",
            );
            assertEquals(ls.stdout.trim().split("\n"), ["api", "site", "docs", "pod-a6", "pod-w6"]);
          } finally {
            await purge(w, "mr3");
            await Deno.writeTextFile(file, text);
            await Deno.remove(`${w.cwd}/web-link`).catch(() => {});
            await Deno.remove(outside, { recursive: true });
            await m.close();
          }
        },
      );

      await t.step(
        "the agent starts in /workspace, told which repositories it has, and commits in both",
        async () => {
          // the stand-in: what its prompt begins with goes into api's NOTES.md, and it commits in api and site
          const agent = [
            `p=$(cat)`,
            `printf '%s\\n' "$p" | head -n 1 > api/NOTES.md`,
            `cd api && git add NOTES.md && git -c user.name=A -c user.email=a@p commit -qm "agent: api" && cd ..`,
            `cd site && echo agent >> w.txt && git -c user.name=A -c user.email=a@p commit -qam "agent: web"`,
          ].join("\n");
          await Deno.writeTextFile(
            `${w.cwd}/.kodama.yaml`,
            `agent:\n  command: [sh, -c, ${JSON.stringify(agent)}]\n`,
          );
          await Deno.writeTextFile(`${w.home}/config.yaml`, "agent:\n  authEnv: [ANTHROPIC_API_KEY]\n");
          const env = { ANTHROPIC_API_KEY: "sk-ant-test-0815" };
          const r = await w.k(
            [
              "start",
              "mr2",
              "--repo",
              "./api",
              "--repo",
              "./web=site",
              "--repo",
              "./docs:ro",
              "--image",
              SESSION_IMAGE,
              "-p",
              "the task",
            ],
            { env },
          );
          assertEquals(r.code, 0, r.stderr);
          const done = await w.k(["agent", "wait", "mr2"], { env });
          assertEquals(done.code, 0, done.stdout + done.stderr);
          const notes = (await w.sh("mr2", "cat /workspace/api/NOTES.md")).stdout;
          assertMatch(
            notes,
            /^This workspace \(\/workspace\) holds 3 git repositories.*api\/, site\/, docs\/ \(read-only\)/,
          );
          assertStringIncludes(notes, "Do not change docs");
          const f = await w.k(["session", "fetch", "mr2"]);
          assertEquals(f.code, 0, f.stderr);
          assertEquals(git(api, "log", "-1", "--format=%s", "kodama/mr2").out, "agent: api");
          assertEquals(git(web, "log", "-1", "--format=%s", "kodama/mr2").out, "agent: web");
          // stopped and resumed: each clone is kept as it was (no clone again, the agent's commits there)
          assertEquals((await w.k(["stop", "mr2"])).code, 0);
          const res = await w.k(["resume", "mr2"]);
          assertEquals(res.code, 0, res.stderr);
          assertMatch(res.stderr, /kept api: branch kodama\/mr2-\d+/);
          assertEquals(
            (await w.sh("mr2", "git -C /workspace/site log -1 --format=%s")).stdout.trim(),
            "agent: web",
          );
          // a later run is told too (not only the first one at start)
          assertEquals((await w.sh("mr2", "rm /workspace/api/NOTES.md")).code, 0);
          const again = await w.k(["agent", "run", "mr2", "--prompt", "the next task"], { env });
          assertEquals(again.code, 0, again.stderr);
          await w.k(["agent", "wait", "mr2"], { env });
          assertMatch(
            (await w.sh("mr2", "cat /workspace/api/NOTES.md")).stdout,
            /^This workspace \(\/workspace\) holds 3 git repositories/,
          );
        },
      );
    } finally {
      await purge(w, "mr2");
      await purge(w, NAME);
    }
  },
);
