/**
 * `kodama session pr NAME` of a session with several repositories (#82), black-box: the real program against
 * the test server and two forge stand-ins (tests/forge/_forge.ts), `api` on a GitHub-kind one and `web` on a
 * GitLab-kind one, each with its own token, and `docs` read-only. The pod commits in api and web. Then:
 *  - refused: a wrong token for either repository (a second spelling: the other one) is exit 4 naming it, a
 *    missing one exit 2, two repositories pushing to one forge repository (two spellings of its URL) exit 2,
 *    and nothing is fetched or pushed into either; `--repo` of a read-only repository is exit 2, of no such
 *    one exit 3;
 *  - `--repo api` opens api's request only; then `session pr -o json` updates it and opens web's, and both
 *    descriptions list each other (the earlier one re-linked); a second call updates both again;
 *  - `--repo web` after a new commit in web pushes web only, its description still listing api's;
 *  - a failure in web after api was updated: api said and still linked, web's failure named (exit 1);
 *  - `agent run --from-pr` (run from neither clone): both requests' threads and failed checks in one prompt,
 *    each file under its repository's directory; recorded per repository; the next `session pr` answers
 *    api's thread (its file changed) on api's request and keeps web's;
 *  - MCP's session_pr: an http API forge.hosts does not name, or a repository outside the server's door, is
 *    refused before anything is pushed; then both requests updated, each in `requests`;
 *  - no token in any output, description or prompt; read-only docs never pushed or opened.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { hasStackTrace } from "./_run.ts";
import { purge, SESSION_IMAGE, withSessionWorld } from "./_session.ts";
import { startForge } from "../forge/_forge.ts";
import { startMcp } from "./_mcp.ts";

const NAME = "mrp";
const ID = "-c user.name=agent -c user.email=agent@pod";
// keeps its prompt in the home volume, changes api/a.txt only (it starts in /workspace)
const AGENT = `p=$(cat); printf '%s\\n' "$p" > "$HOME/last-prompt.txt"; echo fix >> api/a.txt; ` +
  `git -C api add a.txt; git -C api ${ID} commit -qm "agent: fix a"; echo agent: done`;

withSessionWorld(
  "session pr of several repositories: one request each, on its own forge, linked to each other",
  { timeoutMs: 10 * 60_000 },
  async (t, w) => {
    const gh = await startForge();
    const gl = await startForge();
    const git = (cwd: string, ...args: string[]) => {
      const r = new Deno.Command("git", {
        args,
        cwd,
        env: { GIT_CONFIG_GLOBAL: "/dev/null" },
        stdout: "piped",
        stderr: "piped",
      }).outputSync();
      return { ok: r.success, out: new TextDecoder().decode(r.stdout).trim() };
    };
    const api = join(w.cwd, "api"), web = join(w.cwd, "web"), docs = join(w.cwd, "docs");
    try {
      const bareApi = await gh.addRepo("acme/api");
      const bareWeb = await gl.addRepo("acme/web");
      for (
        const [bare, dir, remote] of [[bareApi, api, gh.gitUrl("acme/api")], [
          bareWeb,
          web,
          gl.gitUrl("acme/web"),
        ]]
      ) {
        assert(git(w.cwd, "clone", "-q", bare, dir).ok);
        git(dir, "config", "user.name", "me");
        git(dir, "config", "user.email", "me@here");
        git(dir, "remote", "set-url", "origin", remote);
      }
      await Deno.mkdir(docs);
      git(docs, "init", "-q", "-b", "main");
      await Deno.writeTextFile(join(docs, "d.txt"), "d\n");
      git(docs, "add", "-A");
      git(docs, "-c", "user.name=me", "-c", "user.email=me@here", "commit", "-qm", "docs");
      git(docs, "remote", "add", "origin", gh.gitUrl("acme/docs"));
      // the user's own git credentials for both forges' git over http
      const creds = join(w.cwd, "git-credentials");
      await Deno.writeTextFile(
        creds,
        `http://tester:${gh.gitPassword}@${gh.host}\nhttp://tester:${gl.gitPassword}@${gl.host}\n`,
        { mode: 0o600 },
      );
      const globalCfg = join(w.cwd, "gitconfig");
      await Deno.writeTextFile(globalCfg, `[credential]\n\thelper = store --file ${creds}\n`);
      await Deno.writeTextFile(
        join(w.home, "config.yaml"),
        `agent:\n  command: [sh, -c, ${JSON.stringify(AGENT)}]\n` +
          `forge:\n  hosts:\n    "${gh.host}": {type: github}\n    "${gl.host}": {type: gitlab}\n`,
      );
      const env = (more: Record<string, string> = {}) => ({
        GIT_CONFIG_GLOBAL: globalCfg,
        GH_TOKEN: "",
        GITHUB_TOKEN: "",
        GH_ENTERPRISE_TOKEN: gh.token,
        GITHUB_ENTERPRISE_TOKEN: "",
        GITLAB_TOKEN: gl.token,
        GITEA_TOKEN: "",
        FORGEJO_TOKEN: "",
        KODAMA_KEYS_STORE: "file",
        ...more,
      });
      // run from neither clone: each repository's own is used
      const pr = (args: string[], more: Record<string, string> = {}) =>
        w.k(["session", "pr", NAME, ...args], { cwd: w.cwd, env: env(more) });
      const oneLine = (r: { code: number; stderr: string }, code: number, re: RegExp) => {
        assertEquals(r.code, code, r.stderr);
        assertMatch(r.stderr, re);
        assert(!hasStackTrace(r.stderr), r.stderr);
        assert(r.stderr.trim().split("\n").length <= 2, r.stderr);
      };
      const secrets = [gh.token, gl.token, gh.gitPassword, gl.gitPassword];
      const noSecret = (r: { stdout: string; stderr: string }) => {
        for (const s of [r.stdout, r.stderr, ...[...gh.pulls, ...gl.pulls].map((p) => p.body + p.title)]) {
          for (const x of secrets) assert(!s.includes(x), "a token or password was shown");
        }
      };
      const bareHead = (bare: string) =>
        git(w.cwd, "--git-dir", bare, "rev-parse", "-q", "--verify", `kodama/${NAME}`).out;
      const localHead = (dir: string) =>
        git(dir, "rev-parse", "-q", "--verify", `refs/heads/kodama/${NAME}`).out;
      const pod = async (script: string) => {
        const r = await w.sh(NAME, `cd /workspace && ${script}`);
        assertEquals(r.code, 0, `${script}: ${r.stderr}`);
        return r.stdout.trim();
      };

      const s = await w.k(
        [
          "start",
          NAME,
          "--repo",
          "./api",
          "--repo",
          "./web",
          "--repo",
          "./docs:ro",
          "--no-sync",
          "--image",
          SESSION_IMAGE,
        ],
        { cwd: w.cwd, env: env() },
      );
      assertEquals(s.code, 0, s.stderr);
      await pod(
        `echo A > api/a.txt && git -C api add a.txt && git -C api ${ID} commit -qm "api: a" && ` +
          `echo W > web/w.txt && git -C web add w.txt && git -C web ${ID} commit -qm "web: w"`,
      );
      const apiHead = await pod("git -C api rev-parse HEAD");
      const webHead = await pod("git -C web rev-parse HEAD");

      await t.step("a refused or missing token for either repository: nothing pushed to either", async () => {
        for (
          const [more, code, re] of [
            [{ GITLAB_TOKEN: "wrong-token" }, 4, /repository web: .*refused the token in GITLAB_TOKEN/],
            [
              { GH_ENTERPRISE_TOKEN: "wrong-token" },
              4,
              /repository api: .*refused the token in GH_ENTERPRISE_TOKEN/,
            ],
            [{ GITLAB_TOKEN: "" }, 2, /repository web: no token for 127\.0\.0\.1:\d+: set GITLAB_TOKEN/],
          ] as const
        ) {
          for (const args of [[], ["--repo", "api"]]) {
            const r = await pr(args, more);
            oneLine(r, code, re);
            noSecret(r);
            assertEquals(r.stdout, "");
          }
        }
        assertEquals([bareHead(bareApi), bareHead(bareWeb)], ["", ""]);
        assertEquals([localHead(api), localHead(web)], ["", ""]);
        assertEquals([gh.pulls.length, gl.pulls.length], [0, 0]);
        // two repositories pushing to one forge repository: one would push over the other (two spellings)
        for (const url of [gh.gitUrl("acme/api"), `${gh.origin.replace("://", "://me@")}/ACME/Api.git`]) {
          git(web, "remote", "set-url", "origin", url);
          const r = await pr(["--force"]);
          oneLine(r, 2, /repositories api and web push to the same forge repository/);
        }
        git(web, "remote", "set-url", "origin", gl.gitUrl("acme/web"));
        assertEquals([bareHead(bareApi), bareHead(bareWeb)], ["", ""]);
        assertEquals([gh.requests.filter((x) => x.method !== "GET").length, gh.pulls.length], [0, 0]);
        oneLine(await pr(["--repo", "docs"]), 2, /--repo docs: that repository is read-only/);
        oneLine(await pr(["--repo", "nope"]), 3, /--repo "nope": no such repository in the session/);
      });

      await t.step(
        "--repo api: its request only; then both, linked to each other; again: both updated",
        async () => {
          const one = await pr(["--repo", "api"]);
          assertEquals(one.code, 0, one.stderr);
          assertMatch(one.stdout, /^api: pull request #1: http:\S+\/acme\/api\/pull\/1 \(opened\)\n$/);
          assertEquals(bareHead(bareApi), apiHead);
          assertEquals(bareHead(bareWeb), "");
          assertEquals(gl.pulls.length, 0);
          assert(!gh.pulls[0].body.includes("other requests"), gh.pulls[0].body);

          const both = await pr(["-o", "json"]);
          assertEquals(both.code, 0, both.stderr);
          noSecret(both);
          const j = JSON.parse(both.stdout);
          assertEquals(
            j.map((
              x: { repository: string; action: string; number: number },
            ) => [x.repository, x.action, x.number]),
            [
              ["api", "updated", 1],
              ["web", "opened", 1],
            ],
          );
          assertMatch(j[1].url, /\/acme\/web\/-\/merge_requests\/1$/);
          assertEquals([bareHead(bareApi), bareHead(bareWeb)], [apiHead, webHead]);
          const [pa] = gh.pulls, [pw] = gl.pulls;
          assertEquals([pa.head, pw.head], [`kodama/${NAME}`, `kodama/${NAME}`]);
          // each lists the other: the earlier one (api) re-linked after web's was opened
          assertStringIncludes(pa.body, "### The session's other requests");
          assertStringIncludes(pa.body, `- **web**: GitLab merge request !1 of acme/web on ${gl.host}`);
          assertStringIncludes(pa.body, `<${j[1].url}>`);
          assertStringIncludes(pw.body, `- **api**: GitHub pull request #1 of acme/api on ${gh.host}`);
          assertStringIncludes(pw.body, `<${j[0].url}>`);
          assert(!pa.body.includes("**api**") && !pw.body.includes("**web**"), "a request lists itself");
          assert(![pa.body, pw.body].some((b) => b.includes("docs")), "the read-only repository is listed");
          assertEquals(bareHead(join(gh.root, "acme/docs.git")), "");

          const before = [pa.updates, pw.updates];
          const again = await pr([]);
          assertEquals(again.code, 0, again.stderr);
          assertMatch(
            again.stdout,
            /^api: pull request #1: \S+ \(updated\)\nweb: merge request !1: \S+ \(updated\)\n$/,
          );
          assert(pa.updates > before[0] && pw.updates > before[1], "both updated again");
          assertStringIncludes(pa.body, "merge request !1 of acme/web");
          assertStringIncludes(pw.body, "pull request #1 of acme/api");
          assertEquals([gh.pulls.length, gl.pulls.length], [1, 1]);
        },
      );

      await t.step(
        "--repo web after a new commit: web pushed alone, its description still lists api's",
        async () => {
          await pod(`echo W2 >> web/w.txt && git -C web ${ID} commit -qam "web: more"`);
          const webHead2 = await pod("git -C web rev-parse HEAD");
          const apiUpdates = gh.pulls[0].updates;
          const r = await pr(["--repo", "web", "-o", "json"]);
          assertEquals(r.code, 0, r.stderr);
          assertEquals(JSON.parse(r.stdout).map((x: { repository: string }) => x.repository), ["web"]);
          assertEquals([bareHead(bareApi), bareHead(bareWeb)], [apiHead, webHead2]);
          assertStringIncludes(gl.pulls[0].body, "pull request #1 of acme/api");
          // api's list was whole already: left alone
          assertEquals(gh.pulls[0].updates, apiUpdates);
        },
      );

      await t.step(
        "web fails after api was updated: api said and still linked, web's failure named (exit 1)",
        async () => {
          // someone pushed to web's kodama/NAME: the session's commit no longer fast-forwards it
          const tree = git(web, "rev-parse", "main^{tree}").out;
          const other = git(
            web,
            "-c",
            "user.name=x",
            "-c",
            "user.email=x@y",
            "commit-tree",
            tree,
            "-p",
            "main",
            "-m",
            "x",
          ).out;
          assert(git(web, "push", "-q", "-f", bareWeb, `${other}:refs/heads/kodama/${NAME}`).ok);
          const apiUpdates = gh.pulls[0].updates;
          const r = await pr([]);
          assertEquals(r.code, 1, r.stderr);
          noSecret(r);
          assertMatch(r.stdout, /^api: pull request #1: \S+ \(updated\)\n$/);
          assertMatch(
            r.stderr,
            /repository web: the remote's kodama\/mrp has commits the session's branch lacks/,
          );
          assertMatch(r.stderr, /opened or updated before it: api/);
          assert(!hasStackTrace(r.stderr), r.stderr);
          assertEquals(bareHead(bareWeb), other);
          assert(gh.pulls[0].updates > apiUpdates);
          // api's description is whole: it still lists web's request
          assertStringIncludes(gh.pulls[0].body, "merge request !1 of acme/web");
        },
      );

      await t.step(
        "agent run --from-pr: both requests' feedback in one prompt; session pr answers each on its own",
        async () => {
          const onA = gh.feedback.nextId();
          gh.feedback.notes.push({
            kind: "github",
            repo: "acme/api",
            number: 1,
            id: onA,
            path: "a.txt",
            line: 1,
            author: "alice",
            body: "Api: handle the empty case",
          });
          const d = "cd".repeat(20);
          gl.feedback.notes.push({
            kind: "gitlab",
            repo: "acme/web",
            number: 1,
            id: gl.feedback.nextId(),
            discussion: d,
            path: "w.txt",
            line: 1,
            author: "bob",
            body: "Web: label this",
            resolvable: true,
          });
          gl.feedback.checks.push({
            kind: "gitlab",
            repo: "acme/web",
            sha: await gl.headSha("acme/web", `kodama/${NAME}`),
            id: gl.feedback.nextId(),
            name: "unit",
            state: "failed",
            log: "$ npm test\nweb job: 1 failing\n",
          });
          // run from neither clone: each repository's own is read
          const r = await w.k(["agent", "run", NAME, "--from-pr"], { cwd: w.cwd, env: env() });
          assertEquals(r.code, 0, r.stderr);
          assertStringIncludes(
            r.stderr,
            "continuing with api's pull request #1 and web's merge request !1's 2 review threads and 1 failed check",
          );
          const done = await w.k(["agent", "logs", NAME, r.stdout.trim(), "-f"]);
          assertEquals(done.code, 0, done.stderr);
          const seen = (await w.sh(NAME, 'cat "$HOME/last-prompt.txt"')).stdout;
          for (
            const want of [
              "api's pull request #1, web's merge request !1",
              "`api/a.txt` line 1",
              "Api: handle the empty case",
              "`web/w.txt` line 1",
              "Web: label this",
              "### Failed check `web: ",
              "web job: 1 failing",
            ]
          ) assertStringIncludes(seen, want);
          for (const x of secrets) assert(!seen.includes(x), "a token reached the prompt");
          // recorded per repository, each file inside its repository; no comment text, no token
          const recPath = join(w.home, "sessions", `${NAME}.forge.json`);
          const rec = await Deno.readTextFile(recPath);
          const j = JSON.parse(rec);
          assertEquals(j.version, 2);
          assertEquals(
            j.requests.map((x: { repo: string; threads: { file: string }[] }) => [
              x.repo,
              x.threads.map((t) => t.file),
            ]),
            [["api", ["a.txt"]], ["web", ["w.txt"]]],
          );
          assert(!rec.includes("handle the empty case") && !secrets.some((x) => rec.includes(x)), rec);

          // the agent changed api/a.txt, not web/w.txt: api's thread answered on api's request, web's kept
          const pr2 = await pr(["--force"]);
          assertEquals(pr2.code, 0, pr2.stderr);
          assertStringIncludes(pr2.stderr, "replied on 1 review thread of api it addressed");
          const reply = gh.feedback.notes.find((x) => x.inReplyTo === onA);
          assertMatch(reply?.body ?? "", /^Addressed in [0-9a-f]{12}: `agent: fix a`$/);
          assertEquals(gl.feedback.notes.filter((x) => x.discussion === d).length, 1);
          const left = JSON.parse(await Deno.readTextFile(recPath));
          assertEquals(left.requests.map((x: { repo: string }) => x.repo), ["web"]);
        },
      );

      await t.step(
        "MCP session_pr: both requests through the door; a repository outside it, or an http API not yours, refused",
        async () => {
          const updates = () => [gh.pulls[0].updates, gl.pulls[0].updates];
          const heads = () => [bareHead(bareApi), bareHead(bareWeb)];
          const mcp = (cwd: string) =>
            startMcp(w.c.kubeconfig, ["--context", "dev"], { cwd, env: { ...env(), KODAMA_HOME: w.home } });
          // forge.hosts names the hosts but not their http APIs: a door sends no token over http
          const whole = await mcp(w.cwd);
          try {
            const before = { u: updates(), h: heads() };
            const r = await whole.call("session_pr", { name: NAME });
            assert(r.isError, r.text);
            assertMatch(r.text, /repository api: .*over http:\/\//);
            assertEquals([updates(), heads()], [before.u, before.h]);
          } finally {
            await whole.close();
          }
          await Deno.writeTextFile(
            join(w.home, "config.yaml"),
            `agent:\n  command: [sh, -c, ${JSON.stringify(AGENT)}]\n` +
              `forge:\n  hosts:\n    "${gh.host}": {type: github, apiUrl: "${gh.origin}/api/v3"}\n` +
              `    "${gl.host}": {type: gitlab, apiUrl: "${gl.origin}/api/v4"}\n`,
          );
          // the server's project is api: web's clone is outside its door
          const narrow = await mcp(api);
          try {
            const before = { u: updates(), h: heads() };
            const r = await narrow.call("session_pr", { name: NAME });
            assert(r.isError, r.text);
            assertMatch(r.text, /repository web: /);
            assertEquals([updates(), heads()], [before.u, before.h], "something was pushed or written");
          } finally {
            await narrow.close();
          }
          await pod(`echo W3 >> web/w.txt && git -C web ${ID} commit -qam "web: from mcp"`);
          const webHead3 = await pod("git -C web rev-parse HEAD");
          const m = await mcp(w.cwd);
          try {
            const before = updates();
            const r = await m.call("session_pr", { name: NAME });
            assert(!r.isError, r.text);
            assertEquals(
              r.data.requests.map((x: { repository: string; action: string }) => [x.repository, x.action]),
              [["api", "updated"], ["web", "updated"]],
            );
            assertEquals([r.data.number, r.data.action], [1, "updated"]);
            assertMatch(
              r.text,
              /^api: \S+\/acme\/api\/pull\/1 \(updated\)\nweb: \S+\/acme\/web\/-\/merge_requests\/1 \(updated\)\n$/m,
            );
            assertEquals(bareHead(bareWeb), webHead3);
            const after = updates();
            assert(after[0] > before[0] && after[1] > before[1], "both updated");
            assertStringIncludes(gl.pulls[0].body, "pull request #1 of acme/api");
            for (const x of secrets) assert(!r.text.includes(x), "a token in the answer");
          } finally {
            await m.close();
          }
        },
      );
    } finally {
      await purge(w, NAME);
      for (const f of [gh, gl]) {
        await f.close();
        await Deno.remove(f.root, { recursive: true }).catch(() => {});
      }
    }
  },
);
