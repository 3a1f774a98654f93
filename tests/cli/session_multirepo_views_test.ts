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
import { purge, SESSION_IMAGE, withSessionWorld } from "./_session.ts";

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
