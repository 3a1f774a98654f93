/**
 * The CI recipes (examples/ci/github-actions.yml, examples/ci/gitlab-ci.yml) run for real: their scripts in
 * order with bash (tests/cli/_ci_recipe.ts), with the environment each CI gives — the cluster's kubeconfig as a
 * secret (the test server's), the forge stand-in (tests/forge/_forge.ts) as the repository's forge, its token
 * as the CI's token — and kodama of this tree where the recipe installs a release. Then:
 *  - GitHub, an issue labelled `kodama` whose title and body are hostile (`$(…)`, backticks, `${{ }}`, quotes,
 *    printf directives): the prompt file holds them verbatim, nothing of them ran, the kubeconfig file is mode
 *    600, the session's agent ran on that prompt, and a pull request of `kodama/issue-42` into main is on the
 *    stand-in with the session's commit; the last step stopped the session, and `session pr` of the stopped
 *    session is then one line naming what to run first (exit 1);
 *  - GitHub, a failed run of a branch (`workflow_run`): a pull request into that branch (`--base`);
 *  - GitLab, a failed branch pipeline (`when: on_failure`): a merge request into that branch, pushed with the
 *    token's credentials, never the runner's job token in the clone's URL; a triggered pipeline's issue, its
 *    title and description hostile: verbatim in the prompt file, nothing ran, a merge request.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import YAML from "yaml";
import { join } from "node:path";
import { hasStackTrace } from "./_run.ts";
import { purge, SESSION_IMAGE, withSessionWorld } from "./_session.ts";
import { startForge } from "../forge/_forge.ts";
import { kodamaOnPath, readRecipe, runGithubJob, runGitlabJob, type StepRun } from "./_ci_recipe.ts";

// commits the prompt into task.txt, leaves its final message where the runner reads it
const AGENT = `p=$(cat); printf '%s\\n' "$p" >> task.txt; git add task.txt; ` +
  `git -c user.name=agent -c user.email=agent@pod commit -qm "agent: task"; ` +
  `echo "done" > "$KODAMA_SUMMARY_FILE"; echo agent: done`;

const ok = (runs: StepRun[]) => {
  for (const r of runs) assertEquals(r.code, 0, `${r.name}:\n${r.stdout}\n${r.stderr}`);
};

withSessionWorld(
  "ci recipes: an issue or a failed pipeline starts a session, waits for it and opens its pull request",
  { timeoutMs: 10 * 60_000 },
  async (t, w) => {
    // the forge's git over http takes the CI token as a password, as GitHub's and GitLab's do
    const token = `forge-${crypto.randomUUID()}`;
    const forge = await startForge({ token, gitPassword: token });
    const tmp = await Deno.makeTempDir({ prefix: "kodama-ci-" });
    const pwned = join(tmp, "pwned");
    const git = async (args: string[], cwd: string) => {
      const r = await new Deno.Command("git", {
        args,
        cwd,
        env: { GIT_CONFIG_GLOBAL: "/dev/null" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      if (!r.success) throw new Error(`git ${args.join(" ")}: ${new TextDecoder().decode(r.stderr)}`);
      return new TextDecoder().decode(r.stdout).trim();
    };
    const names: string[] = [];
    try {
      const bare = await forge.addRepo("acme/widget");
      const bin = await kodamaOnPath(tmp);
      // the secret: a kubeconfig whose current context is the sessions' namespace
      const kc = YAML.parse(await Deno.readTextFile(w.c.kubeconfig));
      kc["current-context"] = "dev";
      const kubeconfig = YAML.stringify(kc);
      // a runner's HOME: ~/.kodama/config.yaml says the forge's type (a host named by IP says none) and the agent
      const runnerHome = async (dir: string, type: string) => {
        await Deno.mkdir(join(dir, ".kodama"), { recursive: true });
        await Deno.writeTextFile(
          join(dir, ".kodama", "config.yaml"),
          `agent:\n  command: [sh, -c, ${JSON.stringify(AGENT)}]\n` +
            `defaults:\n  image: ${SESSION_IMAGE}\n` +
            `forge:\n  hosts:\n    "${forge.host}": {type: ${type}}\n`,
        );
        return dir;
      };
      const runnerBase = (home: string) => ({
        PATH: Deno.env.get("PATH")!,
        HOME: home,
        NO_COLOR: "1",
        DENO_NO_UPDATE_CHECK: "1",
        CI: "true",
      });

      const NO_EVENT = {
        "github.event.issue.number": "",
        "github.event.issue.title": "",
        "github.event.issue.body": "",
        "github.event.issue.html_url": "",
        "github.event.workflow_run.id": "",
        "github.event.workflow_run.name": "",
        "github.event.workflow_run.html_url": "",
        "github.event.workflow_run.head_branch": "",
      };
      /** The GitHub job in a runner of its own (`label`), its checkout on `branch`, for this event. */
      const github = async (label: string, event: Record<string, string>, branch = "main") => {
        const doc = await readRecipe("github-actions.yml");
        const home = await runnerHome(join(tmp, `${label}-home`), "github");
        const ws = join(tmp, `${label}-workspace`);
        await git(["clone", "-q", "-b", branch, bare, ws], tmp);
        await git(["remote", "set-url", "origin", forge.gitUrl("acme/widget")], ws);
        const runnerTemp = join(tmp, `${label}-runner-temp`);
        await Deno.mkdir(runnerTemp);
        const runs = await runGithubJob(doc.jobs.session, doc.env ?? {}, {
          base: {
            ...runnerBase(home),
            RUNNER_TEMP: runnerTemp,
            GITHUB_WORKSPACE: ws,
            GITHUB_SERVER_URL: forge.origin,
            GITHUB_REPOSITORY: "acme/widget",
          },
          table: {
            ...NO_EVENT,
            ...event,
            "secrets.KODAMA_KUBECONFIG": kubeconfig,
            "secrets.GITHUB_TOKEN": forge.token,
            "secrets.ANTHROPIC_API_KEY": "sk-ant-test-not-a-key",
          },
          bin,
          cwd: ws,
          temp: tmp,
        });
        return { runs, ws, runnerTemp };
      };

      await t.step("GitHub Actions: an issue with a hostile body becomes a pull request", async () => {
        const doc = await readRecipe("github-actions.yml");
        const job = doc.jobs.session;
        assertEquals(doc.on.issues.types, ["labeled"]);
        assertEquals(doc.on.workflow_run.types, ["completed"]);
        assertStringIncludes(job.if, "github.event.label.name == 'kodama'");
        assertStringIncludes(job.if, "github.event.workflow_run.conclusion == 'failure'");
        assertStringIncludes(job.if, "github.event.workflow_run.event == 'push'");
        // short (a title is cut at 72 characters): relative to the workspace, where the steps run
        const title = "Fix $(touch pwned-title) the `touch pwned-tick` bug";
        const body = `Steps:\n$(touch ${pwned}-body)\n\`touch ${pwned}-backtick\`\n` +
          `\${{ secrets.KODAMA_KUBECONFIG }} '; touch ${pwned}-quote; ' "$HOME" %s %n \\n \\\\ end`;
        names.push("issue-42");
        const { runs, ws, runnerTemp } = await github("gh", {
          "github.event_name": "issues",
          "github.event.issue.number": "42",
          "github.event.issue.title": title,
          "github.event.issue.body": body,
          "github.event.issue.html_url": `${forge.origin}/acme/widget/issues/42`,
        });
        ok(runs);
        assertEquals(runs.map((r) => r.name), [
          "Cluster and git credentials",
          "The task, from the issue or the failed run",
          "Start the session",
          "Wait for the agent",
          "Open the pull request",
          "Stop the session (its workspace is kept for review follow-ups)",
        ]);
        // the hostile text is data: verbatim in the prompt file, nothing of it ran
        const prompt = await Deno.readTextFile(join(runnerTemp, "kodama", "prompt.txt"));
        assertEquals(prompt, `${title}\n\n${body}\n\n(${forge.origin}/acme/widget/issues/42)\n`);
        const left = [...Deno.readDirSync(tmp), ...Deno.readDirSync(ws)].map((e) => e.name)
          .filter((n) => n.startsWith("pwned"));
        assertEquals(left, []);
        assertEquals((await Deno.stat(join(runnerTemp, "kodama", "kubeconfig"))).mode! & 0o777, 0o600);
        // the pull request, from the session's branch, its commit holding the prompt
        assertMatch(runs[4].stdout, /^pull request #1: \S+\/acme\/widget\/pull\/1 \(opened\)\n$/);
        const p = forge.pulls.filter((x) => x.kind === "github");
        assertEquals(p.length, 1);
        assertEquals([p[0].head, p[0].base, p[0].title], ["kodama/issue-42", "main", title]);
        assertStringIncludes(p[0].body, `$(touch ${pwned}-body)`);
        const head = await git(["--git-dir", bare, "rev-parse", "refs/heads/kodama/issue-42"], tmp);
        const task = await git(["--git-dir", bare, "show", `${head}:task.txt`], tmp);
        assertStringIncludes(task, `\`touch ${pwned}-backtick\``);
        for (const r of runs) {
          assert(!(r.stdout + r.stderr).includes(forge.token), `${r.name} showed the token`);
        }
        assert(!p[0].body.includes(forge.token));
      });

      await t.step("a stopped session: session pr says to resume it first, in one line", async () => {
        const r = await w.k(["session", "pr", "issue-42"], {
          cwd: join(tmp, "gh-workspace"),
          env: {
            GH_TOKEN: forge.token,
            KODAMA_HOME: join(tmp, "gh-home", ".kodama"),
          },
        });
        assertEquals(r.code, 1, r.stderr);
        assertMatch(
          r.stderr,
          /^error: session pr: session issue-42 is stopped: its branch is on its workspace, read through its pod; nothing was pushed\n/,
        );
        assertStringIncludes(r.stderr, "kodama resume issue-42 && kodama session pr issue-42");
        assert(!hasStackTrace(r.stderr), r.stderr);
        assert(r.stderr.trim().split("\n").length <= 2, r.stderr);
      });

      await t.step("GitHub Actions: a failed run on a branch becomes a pull request into it", async () => {
        const src = join(tmp, "branch-src");
        await git(["clone", "-q", bare, src], tmp);
        await git(["checkout", "-q", "-b", "fix-me"], src);
        await git(["push", "-q", "origin", "fix-me"], src);
        names.push("ci-555");
        const { runs } = await github("wr", {
          "github.event_name": "workflow_run",
          "github.event.workflow_run.id": "555",
          "github.event.workflow_run.name": "CI $(touch pwned-run)",
          "github.event.workflow_run.html_url": `${forge.origin}/acme/widget/actions/runs/555`,
          "github.event.workflow_run.head_branch": "fix-me",
        }, "fix-me");
        ok(runs);
        assertMatch(runs[4].stdout, /^pull request #2: \S+\/acme\/widget\/pull\/2 \(opened\)\n$/);
        const p = forge.pulls.find((x) => x.kind === "github" && x.head === "kodama/ci-555")!;
        assertEquals(p.base, "fix-me");
        // the prompt's first line, cut at 72 characters
        assertEquals(
          p.title,
          "Make the failed CI run pass: CI $(touch pwned-run) on branch fix-me (ht…",
        );
        const left = [...Deno.readDirSync(join(tmp, "wr-workspace"))].filter((e) =>
          e.name.startsWith("pwned")
        );
        assertEquals(left, []);
      });

      await t.step(
        "GitLab CI: a failed branch pipeline becomes a merge request into that branch",
        async () => {
          const doc = await readRecipe("gitlab-ci.yml");
          const rule = doc["kodama-fix-pipeline"].rules[0];
          assertEquals(rule.when, "on_failure");
          assertStringIncludes(rule.if, '$CI_PIPELINE_SOURCE == "push"');
          assertStringIncludes(doc["kodama-issue"].rules[0].if, '$CI_PIPELINE_SOURCE == "trigger"');
          const home = await runnerHome(join(tmp, "gl-home"), "gitlab");
          const ws = join(tmp, "gl-project");
          await git(["clone", "-q", bare, ws], tmp);
          const sha = await git(["rev-parse", "HEAD"], ws);
          // as the runner leaves it: a detached HEAD, its job token in the remote's URL
          await git(["checkout", "-q", "--detach"], ws);
          await git([
            "remote",
            "set-url",
            "origin",
            `http://gitlab-ci-token:job-token-1@${forge.host}/acme/widget.git`,
          ], ws);
          names.push("pipeline-77");
          const r = await runGitlabJob(doc, "kodama-fix-pipeline", {
            base: {
              ...runnerBase(home),
              CI_PROJECT_DIR: ws,
              CI_SERVER_URL: forge.origin,
              CI_PROJECT_URL: `${forge.origin}/acme/widget`,
              CI_PIPELINE_SOURCE: "push",
              CI_PIPELINE_ID: "77",
              CI_PIPELINE_URL: `${forge.origin}/acme/widget/-/pipelines/77`,
              CI_COMMIT_BRANCH: "main",
              CI_COMMIT_SHA: sha,
              KODAMA_KUBECONFIG: kubeconfig,
              GITLAB_TOKEN: forge.token,
              ANTHROPIC_API_KEY: "sk-ant-test-not-a-key",
            },
            bin,
            cwd: ws,
            temp: tmp,
          });
          assertEquals(r.code, 0, `${r.stdout}\n${r.stderr}`);
          assertMatch(r.stdout, /pull request #1: \S+\/acme\/widget\/-\/merge_requests\/1 \(opened\)\n/);
          const mr = forge.pulls.find((x) => x.kind === "gitlab")!;
          assertEquals([mr.head, mr.base], ["kodama/pipeline-77", "main"]);
          assertStringIncludes(mr.body, "Make the failed pipeline pass: pipeline 77 on branch main");
          assert(!forge.requests.some((x) => x.auth === "bad"), "a wrong credential reached the forge");
          assert(!(r.stdout + r.stderr).includes(forge.token), "the token was shown");
        },
      );

      await t.step("GitLab CI: a triggered pipeline's hostile issue becomes a merge request", async () => {
        const doc = await readRecipe("gitlab-ci.yml");
        const home = join(tmp, "gl-home");
        const ws = join(tmp, "gl-issue-project");
        await git(["clone", "-q", bare, ws], tmp);
        await git(["checkout", "-q", "--detach"], ws);
        // mktemp -d of the job: where the test finds its files
        const jobTmp = join(tmp, "gl-tmp");
        await Deno.mkdir(jobTmp);
        const title = "Crash on `touch pwned-gl-title` input";
        const description =
          `$(touch ${pwned}-gl)\n\`touch ${pwned}-gl-tick\`\n"; touch ${pwned}-gl-q; "\n%s %d`;
        names.push("issue-7");
        const r = await runGitlabJob(doc, "kodama-issue", {
          base: {
            ...runnerBase(home),
            TMPDIR: jobTmp,
            CI_PROJECT_DIR: ws,
            CI_SERVER_URL: forge.origin,
            CI_PROJECT_URL: `${forge.origin}/acme/widget`,
            CI_PIPELINE_SOURCE: "trigger",
            KODAMA_ISSUE_IID: "7",
            KODAMA_ISSUE_TITLE: title,
            KODAMA_ISSUE_DESCRIPTION: description,
            KODAMA_KUBECONFIG: kubeconfig,
            GITLAB_TOKEN: forge.token,
            ANTHROPIC_API_KEY: "sk-ant-test-not-a-key",
          },
          bin,
          cwd: ws,
          temp: tmp,
        });
        assertEquals(r.code, 0, `${r.stdout}\n${r.stderr}`);
        const [dir] = [...Deno.readDirSync(jobTmp)].map((e) => join(jobTmp, e.name));
        assertEquals(
          await Deno.readTextFile(join(dir, "prompt.txt")),
          `${title}\n\n${description}\n\n(${forge.origin}/acme/widget/-/issues/7)\n`,
        );
        assertEquals((await Deno.stat(join(dir, "kubeconfig"))).mode! & 0o777, 0o600);
        const left = [...Deno.readDirSync(tmp), ...Deno.readDirSync(ws)].filter((e) =>
          e.name.startsWith("pwned")
        );
        assertEquals(left, []);
        const mr = forge.pulls.find((x) => x.kind === "gitlab" && x.head === "kodama/issue-7")!;
        assertEquals([mr.base, mr.title], ["main", title]);
      });
    } finally {
      for (const n of names) await purge(w, n);
      await forge.close();
      await Deno.remove(forge.root, { recursive: true }).catch(() => {});
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  },
);
