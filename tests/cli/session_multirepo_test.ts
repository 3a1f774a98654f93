/**
 * Several repositories in one session (#81), black-box against the test server: `start --repo ./api --repo
 * ./web --repo ./docs:ro` clones each into /workspace/NAME on its own branch, the pod commits in both written
 * ones, `session fetch` brings each home, `session land` lands both or neither (a conflict in the second moves
 * neither), a read-only repository is never fetched or landed, and `session diff/get` speak per repository.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { purge, SESSION_IMAGE, withSessionWorld } from "./_session.ts";

const NAME = "mr1";
const ID = "-c user.name=agent -c user.email=agent@pod";

withSessionWorld(
  "several repositories: start, fetch, land all or none",
  { timeoutMs: 10 * 60_000 },
  async (t, w) => {
    const git = (cwd: string, ...args: string[]) => {
      const r = new Deno.Command("git", { args, cwd, stdout: "piped", stderr: "piped" }).outputSync();
      return { ok: r.success, out: new TextDecoder().decode(r.stdout).trimEnd() };
    };
    const repo = async (dir: string, files: Record<string, string>) => {
      await Deno.mkdir(dir, { recursive: true });
      git(dir, "init", "-q", "-b", "main");
      git(dir, "config", "user.name", "me");
      git(dir, "config", "user.email", "me@here");
      for (const [f, c] of Object.entries(files)) await Deno.writeTextFile(`${dir}/${f}`, c);
      git(dir, "add", "-A");
      git(dir, "commit", "-qm", "one");
    };
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
    } finally {
      await purge(w, NAME);
    }
  },
);
