/**
 * The views of a session with several repositories (#81.4), black-box against the test server: best of N
 * with `--repo ./api --repo ./web --repo ./docs:ro` (each replica a session with several; a fake agent
 * (agent.command) that changes both repositories in replica 1 and only api in replica 2), the check run in
 * /workspace reading across repositories, `agent status` counting each repository's commits and files,
 * `compare` (FILES per repository and the total, -o json repositories[], --diff), `adopt` into each local
 * repository, and `--judge` refused in one line.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { podOf, purge, SESSION_IMAGE, withSessionWorld } from "./_session.ts";
import { gitHere, localRepo } from "./_repos.ts";

const COMMIT = `git -c user.name=Agent -c user.email=agent@example.com commit -qam`;
// replica 1: a good a.txt in api and a new line in web's w.txt; replica 2: a bad a.txt and a new file, api only
const AGENT = [
  `p=$(cat)`,
  `echo "agent $KODAMA_REPLICA in $(pwd): $p"`,
  `case "$KODAMA_REPLICA" in`,
  `1) echo good > api/a.txt; (cd api && ${COMMIT} "api 1"); echo w2 >> web/w.txt; (cd web && ${COMMIT} "web 1") ;;`,
  `*) echo bad > api/a.txt; echo n > api/n.txt; (cd api && git add n.txt && ${COMMIT} "api 2") ;;`,
  `esac`,
].join("\n");
// runs in /workspace: it reads both repositories (a check across them)
const CHECK = "cat api/a.txt web/w.txt; grep -q good api/a.txt";

withSessionWorld(
  "several repositories: replicas, the check in /workspace, agent status, compare, adopt",
  { timeoutMs: 12 * 60_000 },
  async (t, w) => {
    const git = gitHere;
    const repo = localRepo;
    const api = `${w.cwd}/api`, web = `${w.cwd}/web`, docs = `${w.cwd}/docs`;
    await repo(api, { "a.txt": "a\n" });
    await repo(web, { "w.txt": "w\n" });
    await repo(docs, { "d.txt": "d\n" });
    await Deno.writeTextFile(
      join(w.cwd, ".kodama.yaml"),
      `agent:\n  command: [sh, -c, ${JSON.stringify(AGENT)}]\n  check: ${JSON.stringify(CHECK)}\n`,
    );
    const repos = ["--repo", "./api", "--repo", "./web", "--repo", "./docs:ro"];
    try {
      await t.step("--judge with several repositories: refused in one line, nothing made", async () => {
        const r = await w.k([
          "start",
          "j",
          ...repos,
          "--image",
          SESSION_IMAGE,
          "--replicas",
          "2",
          "--prompt",
          "x",
          "--judge",
          "claude",
        ]);
        assertEquals(r.code, 2, r.stderr);
        assertStringIncludes(r.stderr, "--judge of replicas with several repositories is not supported yet");
        assert(!(await w.k(["list", "-o", "name"])).stdout.includes("j-1"));
      });

      await t.step("start --replicas 2: each replica a session with several repositories", async () => {
        const r = await w.k([
          "start",
          "g",
          ...repos,
          "--image",
          SESSION_IMAGE,
          "--replicas",
          "2",
          "--prompt",
          "make api/a.txt good",
        ]);
        assertEquals(r.code, 0, r.stderr);
        assertEquals(r.stdout, "session/g-1 ready\nsession/g-2 ready\n");
        for (const i of [1, 2]) {
          const g = JSON.parse((await w.k(["session", "get", `g-${i}`, "-o", "json"])).stdout);
          assertEquals(g.status.repositories.map((x: { name: string }) => x.name), ["api", "web", "docs"]);
        }
      });

      await t.step("compare: FILES per repository and the total; the check ran in /workspace", async () => {
        const r = await w.k(["compare", "g", "--wait", "--timeout", "3m", "-o", "json"]);
        // replica 2's check fails (its a.txt is bad): compare says so with exit 1
        assertEquals(r.code, 1, r.stderr);
        const items = JSON.parse(r.stdout).items;
        const one = items.find((i: { name: string }) => i.name === "g-1");
        const two = items.find((i: { name: string }) => i.name === "g-2");
        assertEquals(
          one.repositories.map((x: { name: string; commits: number; diffstat: { files: number } }) => [
            x.name,
            x.commits,
            x.diffstat.files,
          ]),
          [["api", 1, 1], ["web", 1, 1]],
        );
        assertEquals([one.commits, one.diffstat.files], [2, 2]);
        assertEquals(one.diffstat.paths, ["api/a.txt", "web/w.txt"]);
        assertEquals(two.repositories.map((x: { diffstat: { files: number } }) => x.diffstat.files), [2, 0]);
        // the check read files of both repositories from /workspace
        assertEquals(one.check.state, "passed");
        assertStringIncludes(one.check.tail, "good\nw\nw2");
        assertEquals(two.check.state, "failed");
        const table = (await w.k(["compare", "g"])).stdout;
        assertMatch(table, /^g-1 .* 2 \(api 1, web 1\) +\+2\/-1 /m);
        assertMatch(table, /^g-2 .* 2 \(api 2, web 0\) +\+2\/-1 /m);
        // the judge reads one repository per replica: refused for this group, after the table
        const j = await w.k(["compare", "g", "--judge", "claude"]);
        assertEquals(j.code, 2, j.stderr);
        assertStringIncludes(
          j.stderr,
          "--judge of group g: replicas with several repositories is not supported yet",
        );
        assert(!(await w.k(["list", "-o", "name"])).stdout.includes("g-judge"));
        const d = await w.k(["compare", "g", "--diff"]);
        assertEquals(d.code, 0, d.stderr);
        assertStringIncludes(d.stdout, "+++ b/api/a.txt");
        assertStringIncludes(d.stdout, "+++ b/web/w.txt");
        const two2 = await w.k(["compare", "g", "--diff", "1", "2"]);
        assertEquals(two2.code, 0, two2.stderr);
        assertStringIncludes(two2.stdout, "diff g-1/api/a.txt g-2/api/a.txt");
        assertStringIncludes(two2.stdout, "diff g-1/web/w.txt g-2/web/w.txt");
      });

      await t.step("agent status: each repository's commits and files, and the sums", async () => {
        const j = JSON.parse((await w.k(["agent", "status", "g-1", "-o", "json"])).stdout);
        const truth = j.items[0].truth;
        assertEquals([truth.commits, truth.filesChanged], [2, 2]);
        assertEquals(truth.repositories, [
          { name: "api", commits: 1, filesChanged: 1 },
          { name: "docs", commits: 0, filesChanged: 0 },
          { name: "web", commits: 1, filesChanged: 1 },
        ]);
        assertEquals(j.items[0].outcome.text, "succeeded");
        const s = await w.k(["agent", "status", "g-2"]);
        assertStringIncludes(s.stdout, "REPOSITORIES");
        assertStringIncludes(s.stdout, "api 1c/2f, docs 0c/0f, web 0c/0f");
      });

      await t.step("adopt g-1: each repository's kodama/g, docs never; all or none", async () => {
        // web's kodama/g is checked out here: adopt refuses, and api's kodama/g is not left moved
        git(web, "branch", "kodama/g");
        git(web, "checkout", "-q", "kodama/g");
        try {
          const no = await w.k(["adopt", "g-1"]);
          assertEquals(no.code, 2, no.stderr);
          assertMatch(no.stderr, /repository web: .*kodama\/g is checked out/);
          assert(!git(api, "rev-parse", "-q", "--verify", "kodama/g").ok, "api's kodama/g went back");
        } finally {
          git(web, "checkout", "-q", "main");
          git(web, "branch", "-D", "kodama/g");
        }
        const r = await w.k(["adopt", "g-1"]);
        assertEquals(r.code, 0, r.stderr);
        assertEquals(git(api, "log", "-1", "--format=%s", "kodama/g").out, "api 1");
        assertEquals(git(web, "log", "-1", "--format=%s", "kodama/g").out, "web 1");
        assert(!git(docs, "rev-parse", "-q", "--verify", "kodama/g").ok);
        assertStringIncludes(r.stderr, "not adopted (read-only): docs");
      });
    } finally {
      for (const n of ["g-1", "g-2"]) await purge(w, n);
    }
  },
);

withSessionWorld(
  "several repositories: snapshot, clone and --replace keep them; fetch works on the copy",
  { timeoutMs: 10 * 60_000 },
  async (t, w) => {
    const git = (cwd: string, ...args: string[]) => {
      const r = new Deno.Command("git", { args, cwd, stdout: "piped", stderr: "piped" }).outputSync();
      return { ok: r.success, out: new TextDecoder().decode(r.stdout).trimEnd() };
    };
    const api = `${w.cwd}/api`, web = `${w.cwd}/web`;
    for (const [dir, f] of [[api, "a.txt"], [web, "w.txt"]]) {
      await Deno.mkdir(dir, { recursive: true });
      git(dir, "init", "-q", "-b", "main");
      await Deno.writeTextFile(`${dir}/${f}`, "one\n");
      git(dir, "add", "-A");
      git(dir, "-c", "user.name=me", "-c", "user.email=me@here", "commit", "-qm", "one");
    }
    const pod = async (name: string, script: string) => {
      const r = await w.sh(name, `cd /workspace && ${script}`);
      assertEquals(r.code, 0, `${script}: ${r.stderr}`);
      return r.stdout.trim();
    };
    try {
      const s = await w.k(["start", "m", "--repo", "./api", "--repo", "./web", "--image", SESSION_IMAGE]);
      assertEquals(s.code, 0, s.stderr);
      await pod("m", `cd api && echo m > a.txt && ${COMMIT} "m: api"`);

      await t.step("snapshot create and clone: the clone is a session with both repositories", async () => {
        const snap = await w.k(["snapshot", "create", "m", "m-snap"]);
        assertEquals(snap.code, 0, snap.stderr);
        const c = await w.k(["clone", "m", "c"]);
        assertEquals(c.code, 0, c.stderr);
        assertStringIncludes(c.stderr, "clone c is on its own branch");
        const g = JSON.parse((await w.k(["session", "get", "c", "-o", "json"])).stdout);
        assertEquals(g.status.repositories.map((x: { name: string }) => x.name), ["api", "web"]);
        // each written repository on the clone's own branch, at m's HEAD there (its work came along)
        const b = await pod(
          "c",
          "git -C api symbolic-ref --short HEAD; git -C web symbolic-ref --short HEAD",
        );
        const [ba, bw] = b.split("\n");
        assertMatch(ba, /^kodama\/c-\d+$/);
        assertEquals(ba, bw);
        assertEquals(await pod("c", "cat api/a.txt"), "m");
        await pod("c", `cd web && echo c > w.txt && ${COMMIT} "c: web"`);
        const f = await w.k(["session", "fetch", "c"]);
        assertEquals(f.code, 0, f.stderr);
        assertEquals(git(api, "log", "-1", "--format=%s", "kodama/c").out, "m: api");
        assertEquals(git(web, "log", "-1", "--format=%s", "kodama/c").out, "c: web");
        // the clone's diff is against where it was cloned: m's work is not its own
        const d = await w.k(["session", "fetch", "c", "--diff"]);
        assertStringIncludes(d.stdout, "+++ b/web/w.txt");
        assert(!d.stdout.includes("a.txt"), d.stdout);
      });

      await t.step(
        "--replace keeps the repositories and their branches; --repo with it is refused",
        async () => {
          const before = await pod("m", "git -C api rev-parse HEAD; git -C api symbolic-ref --short HEAD");
          const no = await w.k(["start", "m", "--replace", "--repo", "./api", "--repo", "./web"]);
          assertEquals(no.code, 2, no.stderr);
          assertStringIncludes(no.stderr, "give no --repo: the recorded ones are kept");
          const r = await w.k(["start", "m", "--replace", "--image", SESSION_IMAGE]);
          assertEquals(r.code, 0, r.stderr);
          assertMatch(r.stderr, /kept --repo \S+\/api=api, --repo \S+\/web=web/);
          assertEquals(
            await pod("m", "git -C api rev-parse HEAD; git -C api symbolic-ref --short HEAD"),
            before,
          );
          const g = JSON.parse((await w.k(["session", "get", "m", "-o", "json"])).stdout);
          assertEquals(g.status.repositories.map((x: { name: string }) => x.name), ["api", "web"]);
          const f = await w.k(["session", "fetch", "m"]);
          assertEquals(f.code, 0, f.stderr);
          assertEquals(git(api, "log", "-1", "--format=%s", "kodama/m").out, "m: api");
        },
      );

      await t.step(
        "the cluster's spec cannot name another local repository for a clone or a replace",
        async () => {
          const victim = `${w.cwd}/victim`;
          await Deno.mkdir(victim);
          git(victim, "init", "-q", "-b", "main");
          await Deno.writeTextFile(`${victim}/v.txt`, "v\n");
          git(victim, "add", "-A");
          git(victim, "-c", "user.name=me", "-c", "user.email=me@here", "commit", "-qm", "v");
          const plant = async (extra: boolean) => {
            const podName = await podOf(w, "m");
            const got = await w.kc([
              "get",
              "pod",
              podName,
              "-o",
              "jsonpath={.metadata.annotations.kodama\\.dev/spec}",
            ]);
            assertEquals(got.code, 0, got.stderr);
            const spec = JSON.parse(got.stdout);
            spec.repos = spec.repos.filter((r: { name: string }) => r.name !== "victim");
            for (const r of spec.repos) r.git.repo = victim;
            if (extra) spec.repos.push({ name: "victim", git: { ...spec.repos[0].git, repo: victim } });
            const a = await w.kc([
              "annotate",
              "pod",
              podName,
              "--overwrite",
              `kodama.dev/spec=${JSON.stringify(spec)}`,
            ]);
            assertEquals(a.code, 0, a.stderr);
          };
          const untouched = () => {
            assertEquals(git(victim, "for-each-ref", "--format=%(refname)").out, "refs/heads/main");
            assertEquals(git(victim, "log", "--format=%s").out, "v");
          };
          // a repository this machine never started: refused, nothing made
          await plant(true);
          const no = await w.k(["clone", "m", "c2"]);
          assertEquals(no.code, 2, no.stderr);
          assertStringIncludes(no.stderr, "needs this machine's record of each one");
          assert(!(await w.k(["list", "-o", "name"])).stdout.includes("c2"));
          // every path rewritten: the clone's and the replacement's come home to the paths given to start
          await plant(false);
          const c = await w.k(["clone", "m", "c2"]);
          assertEquals(c.code, 0, c.stderr);
          await pod("c2", `cd api && echo c2 > a.txt && ${COMMIT} "c2: api"`);
          const f = await w.k(["session", "fetch", "c2"]);
          assertEquals(f.code, 0, f.stderr);
          assertEquals(git(api, "log", "-1", "--format=%s", "kodama/c2").out, "c2: api");
          untouched();
          const r = await w.k(["start", "m", "--replace", "--image", SESSION_IMAGE]);
          assertEquals(r.code, 0, r.stderr);
          assert(!r.stderr.includes(victim), r.stderr);
          await pod("m", `cd web && echo m2 > w.txt && ${COMMIT} "m: web"`);
          const l = await w.k(["session", "fetch", "m"]);
          assertEquals(l.code, 0, l.stderr);
          assertEquals(git(web, "log", "-1", "--format=%s", "kodama/m").out, "m: web");
          untouched();
        },
      );
    } finally {
      for (const n of ["m", "c", "c2"]) await purge(w, n);
      await w.k(["snapshot", "delete", "m-snap", "-f"]).catch(() => {});
    }
  },
);

withSessionWorld(
  "several repositories: land --rebase rebases each, all or none",
  { timeoutMs: 8 * 60_000 },
  async (t, w) => {
    const git = (cwd: string, ...args: string[]) => {
      const r = new Deno.Command("git", { args, cwd, stdout: "piped", stderr: "piped" }).outputSync();
      return { ok: r.success, out: new TextDecoder().decode(r.stdout).trimEnd() };
    };
    const api = `${w.cwd}/api`, web = `${w.cwd}/web`;
    for (const [dir, f] of [[api, "a.txt"], [web, "w.txt"]]) {
      await Deno.mkdir(dir, { recursive: true });
      git(dir, "init", "-q", "-b", "main");
      git(dir, "config", "user.name", "me");
      git(dir, "config", "user.email", "me@here");
      await Deno.writeTextFile(`${dir}/${f}`, "one\n");
      git(dir, "add", "-A");
      git(dir, "commit", "-qm", "one");
    }
    const pod = async (script: string) => {
      const r = await w.sh("rb", `cd /workspace && ${script}`);
      assertEquals(r.code, 0, `${script}: ${r.stderr}`);
      return r.stdout.trim();
    };
    const local = async (dir: string, file: string, text: string, msg: string) => {
      await Deno.writeTextFile(`${dir}/${file}`, text);
      git(dir, "add", file);
      git(dir, "commit", "-qm", msg);
    };
    const heads = () => [git(api, "rev-parse", "HEAD").out, git(web, "rev-parse", "HEAD").out];
    try {
      const s = await w.k(["start", "rb", "--repo", "./api", "--repo", "./web", "--image", SESSION_IMAGE]);
      assertEquals(s.code, 0, s.stderr);

      await t.step("a rebase that conflicts in the second repository moves neither", async () => {
        await pod(`cd api && echo pod > p.txt && git add p.txt && ${COMMIT} "pod: api"`);
        await pod(`cd web && echo pod > w.txt && ${COMMIT} "pod: web"`);
        await local(api, "l.txt", "local\n", "local: api");
        await local(web, "w.txt", "local\n", "local: web");
        const was = heads();
        const r = await w.k(["session", "land", "rb", "--rebase"]);
        assertEquals(r.code, 1, r.stderr);
        assertMatch(r.stderr, /repository web: the rebase of main onto session rb \(\w+\) conflicts: w\.txt/);
        assertStringIncludes(r.stderr, "no repository's branch moved");
        assertEquals(heads(), was);
        assertEquals([git(api, "status", "--porcelain").out, git(web, "status", "--porcelain").out], [
          "",
          "",
        ]);
        // nothing left of the rebase's own work tree
        assertEquals(git(api, "worktree", "list").out.split("\n").length, 1);
        assertEquals(git(web, "worktree", "list").out.split("\n").length, 1);
        git(web, "reset", "-q", "--hard", "HEAD~1");
      });

      await t.step("each repository rebased onto the session's commits: a line, not a merge", async () => {
        await local(web, "x.txt", "x\n", "local: web x");
        const r = await w.k(["session", "land", "rb", "--rebase"]);
        assertEquals(r.code, 0, r.stderr);
        assertMatch(r.stderr, /^api: rebased main onto session rb's \w+: \w+ /m);
        assertMatch(r.stderr, /^web: rebased main onto session rb's \w+: \w+ /m);
        for (
          const [dir, mine, theirs] of [[api, "local: api", "pod: api"], [web, "local: web x", "pod: web"]]
        ) {
          assertEquals(git(dir, "log", "--format=%s", "-3").out.split("\n"), [mine, theirs, "one"]);
          assertEquals(git(dir, "rev-list", "--merges", "HEAD").out, "");
          assertEquals(git(dir, "status", "--porcelain").out, "");
        }
        assertEquals(await Deno.readTextFile(`${api}/p.txt`), "pod\n");
        assertEquals(await Deno.readTextFile(`${web}/w.txt`), "pod\n");
        // the pod's clones took the landed commits
        assertEquals(await pod("git -C api rev-parse HEAD"), git(api, "rev-parse", "HEAD").out);
        assertEquals(await pod("git -C web rev-parse HEAD"), git(web, "rev-parse", "HEAD").out);
      });

      await t.step(
        "through a door (door git): each rebased in door git's scratch; a conflict moves neither",
        async () => {
          const door = { env: { KODAMA_DOOR_GIT: "1" } };
          await pod(`cd api && echo pod2 > p2.txt && git add p2.txt && ${COMMIT} "pod: api 2"`);
          await pod(`cd web && echo pod2 > w2.txt && git add w2.txt && ${COMMIT} "pod: web 2"`);
          await local(api, "l2.txt", "local\n", "local: api 2");
          await local(web, "w2.txt", "mine\n", "local: web 2");
          const was = heads();
          const c = await w.k(["session", "land", "rb", "--rebase"], door);
          assertEquals(c.code, 1, c.stderr);
          assertMatch(
            c.stderr,
            /repository web: the rebase of main onto session rb \(\w+\) conflicts: w2\.txt/,
          );
          assertEquals(heads(), was);
          git(web, "reset", "-q", "--hard", "HEAD~1");
          await local(web, "x2.txt", "x2\n", "local: web x2");
          const r = await w.k(["session", "land", "rb", "--rebase"], door);
          assertEquals(r.code, 0, r.stderr);
          for (
            const [dir, mine, theirs] of [[api, "local: api 2", "pod: api 2"], [
              web,
              "local: web x2",
              "pod: web 2",
            ]]
          ) {
            assertEquals(git(dir, "log", "--format=%s", "-2").out.split("\n"), [mine, theirs]);
            assertEquals(git(dir, "rev-list", "--merges", "HEAD").out, "");
            assertEquals(git(dir, "status", "--porcelain").out, "");
            // door git adds no work tree to the repository
            assertEquals(git(dir, "worktree", "list").out.split("\n").length, 1);
          }
        },
      );
    } finally {
      await purge(w, "rb");
    }
  },
);
