/**
 * `kodama session pr NAME`, black-box (the real program against the test server and the forge stand-in,
 * tests/forge/_forge.ts): a session started from a local clone whose `origin` is the stand-in's git over http,
 * an agent run that commits and writes its final message, with a check. Then:
 *  - opened: the branch lands in the forge's bare repository at the session's commit, pushed with the user's
 *    own git credentials (a credential helper of their global config), while the repository's own pre-push
 *    hook and credential helper never run; the request's description has the prompt, outcome, check and its
 *    result, the final message; the token is in no output and no description; one line on stdout;
 *  - updated: a second call (after another commit, with --title, -o json) updates the same request;
 *  - refused: a wrong token is exit 4 in one line, nothing fetched or pushed; no token is exit 2 naming the
 *    variable; --draft with --ready, a bad --base or empty --title, -o yaml, no repository, no remote, a
 *    remote that is a path, a host that is not a known forge (naming forge.hosts) are exit 2; no such session
 *    is exit 3; a base the forge lacks is exit 1 with the forge's words;
 *  - GitLab and Gitea through the same command (forge.hosts' type): a merge request and a pull request;
 *  - a history the session rewrote: the forge's branch is kept (exit 1) until --force replaces it;
 *  - a replica of a best-of-2 group: its description compares the group's replicas, this one marked;
 *  - the control: the user's own `git push` in that repository does run its hook and its credential helper.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { hasStackTrace } from "./_run.ts";
import { purge, SESSION_IMAGE, withSessionWorld } from "./_session.ts";
import { startForge } from "../forge/_forge.ts";

const NAME = "prs";
// commits the prompt into task.txt, leaves its final message where the runner reads it
const AGENT = `p=$(cat); printf '%s\\n' "$p" >> task.txt; git add task.txt; ` +
  `git -c user.name=agent -c user.email=agent@pod commit -qm "agent: task"; ` +
  `echo "I wrote the task into task.txt" > "$KODAMA_SUMMARY_FILE"; echo agent: done`;

withSessionWorld(
  "session pr: pushes the session's branch and opens, then updates, its pull request; a refused token pushes nothing",
  { timeoutMs: 8 * 60_000 },
  async (t, w) => {
    const f = await startForge();
    const project = join(w.cwd, "project");
    const marks = join(w.cwd, "marks");
    await Deno.mkdir(marks);
    const git = (args: string[], cwd = project) => {
      const r = new Deno.Command("git", {
        args,
        cwd,
        env: { GIT_CONFIG_GLOBAL: "/dev/null" },
        stdout: "piped",
        stderr: "piped",
      }).outputSync();
      if (!r.success) throw new Error(`git ${args.join(" ")}: ${new TextDecoder().decode(r.stderr)}`);
      return new TextDecoder().decode(r.stdout).trim();
    };
    try {
      const bare = await f.addRepo("acme/widget");
      const bareRef = (ref: string) => {
        try {
          return git(["--git-dir", bare, "rev-parse", "-q", "--verify", ref], w.cwd);
        } catch {
          return "";
        }
      };
      git(["clone", "-q", bare, project], w.cwd);
      git(["config", "user.name", "me"]);
      git(["config", "user.email", "me@here"]);
      git(["remote", "set-url", "origin", f.gitUrl("acme/widget")]);
      // what the repository names must never run: a pre-push hook, a credential helper of its own config
      await Deno.writeTextFile(
        join(project, ".git/hooks/pre-push"),
        `#!/bin/sh\ntouch ${marks}/hook\nexit 1\n`,
      );
      await Deno.chmod(join(project, ".git/hooks/pre-push"), 0o755);
      git(["config", "credential.helper", `!f() { touch ${marks}/repo-helper; }; f`]);
      // the user's own credentials: their global config's helper, as their `git push` uses it
      const creds = join(w.cwd, "git-credentials");
      await Deno.writeTextFile(creds, `http://tester:${f.gitPassword}@${f.host}\n`, { mode: 0o600 });
      const globalCfg = join(w.cwd, "gitconfig");
      await Deno.writeTextFile(globalCfg, `[credential]\n\thelper = store --file ${creds}\n`);
      const config = (type: string) =>
        Deno.writeTextFile(
          join(w.home, "config.yaml"),
          `agent:\n  command: [sh, -c, ${JSON.stringify(AGENT)}]\n` +
            `forge:\n  hosts:\n    "${f.host}": {type: ${type}}\n`,
        );
      await config("github");
      const env = (more: Record<string, string> = {}) => ({
        GIT_CONFIG_GLOBAL: globalCfg,
        GH_TOKEN: "",
        GITHUB_TOKEN: "",
        GH_ENTERPRISE_TOKEN: "",
        GITHUB_ENTERPRISE_TOKEN: "",
        GITLAB_TOKEN: "",
        GITEA_TOKEN: "",
        FORGEJO_TOKEN: "",
        KODAMA_KEYS_STORE: "file",
        ...more,
      });
      const pr = (args: string[], more: Record<string, string> = {}) =>
        w.k(["session", "pr", NAME, ...args], { cwd: project, env: env(more) });
      const oneLine = (r: { code: number; stderr: string }, code: number, re: RegExp) => {
        assertEquals(r.code, code, r.stderr);
        assertMatch(r.stderr, re);
        assert(!hasStackTrace(r.stderr), r.stderr);
        assert(r.stderr.trim().split("\n").length <= 2, r.stderr);
      };
      const noToken = (r: { stdout: string; stderr: string }) => {
        for (const s of [r.stdout, r.stderr, ...f.pulls.map((p) => p.body + p.title)]) {
          assert(!s.includes(f.token), "the token was shown");
          assert(!s.includes(f.gitPassword), "the git password was shown");
        }
      };

      const s = await w.k(["start", NAME, "--repo", ".", "--no-sync", "--image", SESSION_IMAGE], {
        cwd: project,
        env: env(),
      });
      assertEquals(s.code, 0, s.stderr);
      const run = async (prompt: string) => {
        const r = await w.k(["agent", "run", NAME, "--prompt", prompt, "--check", "test -s task.txt"]);
        assertEquals(r.code, 0, r.stderr);
        const done = await w.k(["agent", "logs", NAME, r.stdout.trim(), "-f"]);
        assertEquals(done.code, 0, done.stderr);
      };
      await run("Write the task file\nwith a second line");
      const podHead = async () => (await w.sh(NAME, "cd /workspace && git rev-parse HEAD")).stdout.trim();

      await t.step("bad input: a short error and its exit code each, nothing pushed", async () => {
        oneLine(await pr(["--draft", "--ready"]), 2, /--draft and --ready cannot be given together/);
        // --repo names one repository of several: this session has one
        oneLine(
          await pr(["--repo", "widget"], { GH_TOKEN: f.token }),
          2,
          /--repo "widget": session prs has one repository/,
        );
        const none = await pr([]);
        oneLine(
          none,
          2,
          /^error: session pr: no token for 127\.0\.0\.1:\d+: set GH_ENTERPRISE_TOKEN, GITHUB_ENTERPRISE_TOKEN, GH_TOKEN or GITHUB_TOKEN$/m,
        );
        const other = await Deno.makeTempDir({ prefix: "kodama-home-" });
        try {
          const r = await w.k(["session", "pr", NAME], {
            cwd: project,
            env: env({ GH_TOKEN: f.token }),
            home: other,
          });
          oneLine(r, 2, /cannot tell which forge 127\.0\.0\.1:\d+ is/);
          assertStringIncludes(r.stderr, "forge: {hosts:");
        } finally {
          await Deno.remove(other, { recursive: true });
        }
        // a flag's value
        oneLine(await pr(["--base", "bad..name"], { GH_TOKEN: f.token }), 2, /invalid --base "bad\.\.name"/);
        oneLine(await pr(["--title", " "], { GH_TOKEN: f.token }), 2, /--title is empty/);
        oneLine(await pr(["-o", "yaml"], { GH_TOKEN: f.token }), 2, /yaml/);
        // where it runs: no repository, a repository without a remote, a remote that is a path
        const elsewhere = async (dir: string, code: number, re: RegExp, args = [NAME]) => {
          const r = await w.k(["session", "pr", ...args], { cwd: dir, env: env({ GH_TOKEN: f.token }) });
          oneLine(r, code, re);
        };
        const plainDir = join(w.cwd, "plain");
        await Deno.mkdir(plainDir);
        await elsewhere(plainDir, 2, /session pr runs inside a local clone of the session's repository/);
        const lonely = join(w.cwd, "lonely");
        git(["init", "-q", lonely], w.cwd);
        await elsewhere(lonely, 2, /has no remote "origin" to push to/);
        git(["remote", "add", "origin", bare], lonely);
        await elsewhere(lonely, 2, /the remote \S+widget\.git is not on a forge/);
        // no such session: the token is good, the session is not there (exit 3)
        await elsewhere(project, 3, /no-such-session/, ["no-such-session"]);
        assertEquals(bareRef(`refs/heads/kodama/${NAME}`), "");
        assertEquals(bareRef("refs/heads/kodama/no-such-session"), "");
      });

      await t.step("a refused token: exit 4 in one line, nothing fetched or pushed", async () => {
        const before = f.requests.length;
        const r = await pr([], { GH_TOKEN: "not-the-token" });
        oneLine(
          r,
          4,
          /^error: session pr: 127\.0\.0\.1:\d+ refused the token in GH_TOKEN \(HTTP 401: Bad credentials\)/,
        );
        assert(!r.stderr.includes("not-the-token"));
        assertEquals(bareRef(`refs/heads/kodama/${NAME}`), "");
        assertEquals(git(["branch", "--list", `kodama/${NAME}`]), "");
        assert(!f.requests.slice(before).some((x) => x.path.includes(".git/")), "git was reached");
      });

      let number = 0;
      await t.step("opened: the branch lands, the request says what a reviewer needs", async () => {
        const t0 = performance.now();
        const r = await pr([], { GH_TOKEN: f.token });
        assertEquals(r.code, 0, r.stderr);
        const took = performance.now() - t0;
        console.log(`session pr (open): ${(took / 1000).toFixed(2)} s`);
        assertMatch(
          r.stdout,
          /^pull request #1: http:\/\/127\.0\.0\.1:\d+\/acme\/widget\/pull\/1 \(opened\)\n$/,
        );
        number = 1;
        const head = await podHead();
        assertEquals(bareRef(`refs/heads/kodama/${NAME}`), head);
        assertEquals(git(["rev-parse", `kodama/${NAME}`]), head);
        const p = f.pulls.filter((x) => x.kind === "github");
        assertEquals(p.length, 1);
        assertEquals([p[0].head, p[0].base, p[0].title, p[0].draft], [
          `kodama/${NAME}`,
          "main",
          "Write the task file",
          false,
        ]);
        for (
          const want of [
            "### Run 1",
            "**Outcome:** succeeded",
            "**Changes:** 1 commit",
            "**Check:** passed — `test -s task.txt`",
            "```text\nWrite the task file\nwith a second line\n```",
            "```text\nI wrote the task into task.txt\n```",
          ]
        ) assertStringIncludes(p[0].body, want);
        noToken(r);
        // the repository's hook and helper never ran; the user's helper gave the password
        assertEquals([...Deno.readDirSync(marks)].map((e) => e.name), []);
        assert(f.requests.some((x) => x.path.endsWith("/git-receive-pack") && x.auth === "ok"));
      });

      await t.step("updated: a second call, after another run, updates the same request", async () => {
        await run("Add a third line");
        const r = await pr(["--title", "The task file", "-o", "json"], { GITHUB_TOKEN: f.token });
        assertEquals(r.code, 0, r.stderr);
        const j = JSON.parse(r.stdout);
        assertEquals(j.number, number);
        assertEquals(j.action, "updated");
        assertMatch(j.url, /\/acme\/widget\/pull\/1$/);
        assertEquals(Object.keys(j).sort(), ["action", "number", "url"]);
        const p = f.pulls.filter((x) => x.kind === "github");
        assertEquals(p.length, 1);
        assertEquals([p[0].title, p[0].updates], ["The task file", 1]);
        assertStringIncludes(p[0].body, "### Run 2");
        assertStringIncludes(p[0].body, "Add a third line");
        assertEquals(bareRef(`refs/heads/kodama/${NAME}`), await podHead());
        noToken(r);
      });

      await t.step("a base the forge lacks: exit 1 with the forge's own words", async () => {
        oneLine(await pr(["--base", "nope"], { GH_TOKEN: f.token }), 1, /HTTP 422: Validation Failed/);
        assertEquals(f.pulls.filter((x) => x.kind === "github")[0].base, "main");
      });

      await t.step("GitLab and Gitea: a merge request and a pull request from the same command", async () => {
        await config("gitlab");
        const gl = await pr(["--draft"], { GITLAB_TOKEN: f.token });
        assertEquals(gl.code, 0, gl.stderr);
        assertMatch(
          gl.stdout,
          /^pull request #1: http:\/\/127\.0\.0\.1:\d+\/acme\/widget\/-\/merge_requests\/1 \(opened\)\n$/,
        );
        const mr = f.pulls.find((x) => x.kind === "gitlab")!;
        assertEquals([mr.title, mr.head, mr.base], ["Draft: Add a third line", `kodama/${NAME}`, "main"]);
        const again = await pr(["--ready"], { GITLAB_TOKEN: f.token });
        assertMatch(again.stdout, /\(updated\)\n$/);
        assertEquals(mr.title, "Add a third line");
        await config("gitea");
        oneLine(await pr([], { GITEA_TOKEN: "nope" }), 4, /refused the token in GITEA_TOKEN \(HTTP 401/);
        const ge = await pr([], { GITEA_TOKEN: f.token });
        assertEquals(ge.code, 0, ge.stderr);
        assertMatch(ge.stdout, /^pull request #1: \S+\/acme\/widget\/pulls\/1 \(opened\)\n$/);
        assertStringIncludes(f.pulls.find((x) => x.kind === "gitea")!.body, "**Check:** passed");
        assertEquals([...Deno.readDirSync(marks)].map((e) => e.name), []);
      });

      await t.step(
        "a rewritten history: the forge's branch kept without --force (exit 1), replaced with it",
        async () => {
          await config("github");
          const r0 = await w.sh(
            NAME,
            "cd /workspace && git -c user.name=a -c user.email=a@p commit -q --amend -m rewritten",
          );
          assertEquals(r0.code, 0, r0.stderr);
          const pushed = bareRef(`refs/heads/kodama/${NAME}`);
          // kodama/NAME follows the session's rewrite (fetch's rule: it was the session's own); the forge's does not
          oneLine(
            await pr([], { GH_TOKEN: f.token }),
            1,
            /the remote's kodama\/prs has commits the session's branch lacks; nothing was pushed/,
          );
          assertEquals(git(["rev-parse", `kodama/${NAME}`]), await podHead());
          assertEquals(bareRef(`refs/heads/kodama/${NAME}`), pushed);
          const forced = await pr(["--force"], { GH_TOKEN: f.token });
          assertEquals(forced.code, 0, forced.stderr);
          assertMatch(forced.stdout, /^pull request #1: \S+ \(updated\)\n$/);
          assertEquals(bareRef(`refs/heads/kodama/${NAME}`), await podHead());
        },
      );

      await t.step("a replica of a best-of-2 group: its description compares the group", async () => {
        await config("github");
        const g = await w.k([
          "start",
          "pg",
          "--repo",
          ".",
          "--no-sync",
          "--image",
          SESSION_IMAGE,
          "--replicas",
          "2",
          "--prompt",
          "Group task",
          "--check",
          "test -s task.txt",
        ], { cwd: project, env: env() });
        assertEquals(g.code, 0, g.stderr);
        const done = await w.k(["compare", "pg", "--wait"]);
        assertEquals(done.code, 0, done.stderr);
        const r = await w.k(["session", "pr", "pg-2"], { cwd: project, env: env({ GH_TOKEN: f.token }) });
        assertEquals(r.code, 0, r.stderr);
        assertMatch(r.stdout, /^pull request #2: \S+\/pull\/2 \(opened\)\n$/);
        const p = f.pulls.find((x) => x.kind === "github" && x.head === "kodama/pg-2")!;
        for (
          const want of [
            "### Its group: best of 2 (pg)",
            "| pg-1 | succeeded | passed | 1 | 1 (+1/-0) |",
            "| **pg-2** (this one) | succeeded | passed | 1 | 1 (+1/-0) |",
          ]
        ) assertStringIncludes(p.body, want);
      });

      await t.step("control: the user's own git push in that repository does run its hook", async () => {
        // not outputSync: the stand-in answers from this process
        const r = await new Deno.Command("git", {
          args: ["push", "origin", `kodama/${NAME}:refs/heads/by-hand`],
          cwd: project,
          env: { GIT_CONFIG_GLOBAL: globalCfg, GIT_TERMINAL_PROMPT: "0" },
          stdout: "piped",
          stderr: "piped",
        }).output();
        assert(!r.success);
        assertEquals([...Deno.readDirSync(marks)].map((e) => e.name).sort(), ["hook", "repo-helper"]);
      });
    } finally {
      for (const n of [NAME, "pg-1", "pg-2"]) await purge(w, n);
      await f.close();
      await Deno.remove(f.root, { recursive: true }).catch(() => {});
    }
  },
);
