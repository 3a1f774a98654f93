/**
 * Issue 50 class 1 at the MCP door, driven by the real MCP SDK client: every local path a client names
 * (session_start's sync and envFile, any tool's cwd, a workflow step's local path chosen by a param) is
 * confined to the project the server was started in or a `--allow-path` grant — never $KODAMA_HOME, a
 * link into it, the home, a directory holding it or a hidden file of it — and a param is data in a
 * trusted home workflow's shell string. Refusals happen before anything reaches a cluster (none here).
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { startMcp } from "./_mcp.ts";
import { git as gitIn } from "../_git.ts";

const DENO_DIR = Deno.env.get("DENO_DIR") ??
  JSON.parse(
    new TextDecoder().decode(
      (await new Deno.Command(Deno.execPath(), { args: ["info", "--json"] }).output()).stdout,
    ),
  ).denoDir;

Deno.test("mcp doors: local paths from a client are confined; a param is data", async (t) => {
  const tmp = await Deno.realPath(await Deno.makeTempDir({ prefix: "kodama-mcpdoors-" }));
  const home = join(tmp, "home");
  const state = join(home, ".kodama");
  const project = join(home, "src", "proj");
  const shared = join(home, "src", "shared");
  for (
    const d of [
      join(state, "workflows"),
      join(home, ".ssh"),
      join(project, ".git"),
      shared,
      join(home, "src", "other"),
    ]
  ) {
    await Deno.mkdir(d, { recursive: true });
  }
  await Deno.writeTextFile(join(home, ".ssh", "authorized_keys"), "ssh-ed25519 AAAA me\n");
  await Deno.writeTextFile(join(home, ".bashrc"), "export SECRET_TOKEN=s3cr3t-value\n");
  await Deno.symlink(join(state, "workflows"), join(project, "wf"));
  await Deno.writeTextFile(
    join(state, "workflows", "here.yaml"),
    `params: { dir: { default: "." }, msg: { default: hi } }
permissions: { run: [sh] }
steps:
  - local: { command: [sh, -c, "echo in $(pwd): \${{ params.msg }}"], cwd: "\${{ params.dir }}" }
`,
  );
  const kubeconfig = join(tmp, "kubeconfig");
  await Deno.writeTextFile(
    kubeconfig,
    `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: "https://127.0.0.1:9" } }]
users: [{ name: u, user: { token: not-a-real-token-123 } }]
contexts: [{ name: dev, context: { cluster: c, user: u, namespace: dev } }]
current-context: dev
`,
  );
  const m = await startMcp(kubeconfig, ["--allow-path", shared], {
    env: { HOME: home, KODAMA_HOME: state, DENO_DIR },
    cwd: project,
  });
  const refused = async (tool: string, args: Record<string, unknown>, re: RegExp) => {
    const r = await m.call(tool, args);
    assert(r.isError, `${tool} ${JSON.stringify(args)} was let through: ${r.text}`);
    assertMatch(r.text, /\(exit 4\)/, r.text);
    assertMatch(r.text, re, r.text);
    assert(!r.text.includes("s3cr3t-value"));
    return r.text;
  };
  try {
    await t.step("session_start: sync roots and env files that lead out are refused", async () => {
      const start = { name: "x", image: "busybox", noWait: true };
      await refused("session_start", { ...start, sync: join(state, "workflows") }, /kodama's own state/);
      await refused("session_start", { ...start, sync: "wf" }, /kodama's own state/);
      await refused("session_start", { ...start, sync: join(home, ".ssh") }, /hidden file or directory/);
      await refused("session_start", { ...start, sync: home }, /kodama's own state|home directory/);
      await refused("session_start", { ...start, sync: "../.." }, /holds|home directory/);
      await refused("session_start", { ...start, envFile: [join(home, ".bashrc")] }, /env file .*hidden/);
      await refused("session_start", { ...start, envFile: ["../../.bashrc"] }, /hidden/);
      const out = await refused("session_start", { ...start, sync: "../other" }, /outside the project/);
      assertStringIncludes(out, "kodama mcp --allow-path DIR");
      // a sync mode a repository's .kodama.yaml may not choose, a client may not either (the same rule)
      await refused(
        "session_start",
        { ...start, sync: ".", syncMode: "one-way-pod" },
        /sync mode "one-way-pod": an MCP client may only set "two-way" or "one-way-local" \(another value could overwrite local files/,
      );
    });

    await t.step("the client's cwd goes through the same door; a granted one works", async () => {
      await refused("workflows_list", { cwd: state }, /kodama's own state/);
      await refused("workflows_list", { cwd: join(home, "src", "other") }, /outside the project/);
      await refused("session_resume", { name: "x", cwd: join(home, ".ssh") }, /hidden/);
      const ok = await m.call("workflows_list", { cwd: shared });
      assert(!ok.isError, ok.text);
      assert(ok.data.workflows.some((w: { name: string }) => w.name === "here"), ok.text);
    });

    await t.step(
      "workflow_run: a param that names a local path passes the door; a param is data",
      async () => {
        // the run fails at that step, before it runs (the workflow's exit code is the door's: 4)
        for (const [dir, re] of [[join(home, ".ssh"), /hidden/], ["wf", /kodama's own state/]] as const) {
          const r = await m.call("workflow_run", { name: "here", param: [`dir=${dir}`] });
          assertEquals(r.data?.exitCode, 4, r.text);
          assertMatch(r.text, re);
          assert(!r.text.includes("in /"), r.text);
        }
        const ok = await m.call("workflow_run", {
          name: "here",
          param: [`dir=${shared}`, `msg=x'; touch PWNED; echo '`],
        });
        assert(!ok.isError, ok.text);
        assertEquals(ok.data.exitCode, 0, ok.text);
        assertStringIncludes(ok.text, `in ${shared}: x'; touch PWNED; echo '`);
        assert(!(await Deno.stat(join(shared, "PWNED")).then(() => true, () => false)));
      },
    );

    await t.step(
      "workflow_run names a workflow, never a file: a path, a .yaml name, a repo link out are refused",
      async () => {
        // a YAML file that is not a workflow: its keys would come back in the "unknown key" problems
        await Deno.writeTextFile(join(home, ".ssh", "creds.yaml"), "aws_secret_access_key: s3cr3t-value\n");
        await Deno.symlink(join(home, ".ssh", "creds.yaml"), join(project, "creds.yaml"));
        await Deno.mkdir(join(project, ".kodama", "workflows"), { recursive: true });
        await Deno.symlink(
          join(home, ".ssh", "creds.yaml"),
          join(project, ".kodama", "workflows", "keys.yaml"),
        );
        const quiet = (text: string) => {
          assert(!/aws_secret_access_key|s3cr3t/.test(text), text);
        };
        const answers: string[] = [];
        for (
          const name of [
            join(home, ".ssh", "creds.yaml"),
            join(home, ".ssh", "nothing-here.yaml"),
            "../../.ssh/creds.yaml",
            "creds.yaml",
            "creds.yml",
            "sub/x",
          ]
        ) {
          const r = await m.call("workflow_run", { name, dryRun: true });
          assert(r.isError, `${name} was let through: ${r.text}`);
          assertMatch(r.text, /\(exit 2\)/, r.text);
          assertMatch(r.text, /not a workflow name/, r.text);
          quiet(r.text);
          answers.push(r.text.replace(JSON.stringify(name), "NAME"));
        }
        // a file that exists and one that does not get the same answer: the door says nothing of the disk
        assertEquals(answers[0], answers[1]);
        // a repository's workflow file is read only inside the repository, whoever asks
        const run = await m.call("workflow_run", { name: "keys", dryRun: true });
        assert(run.isError, run.text);
        assertMatch(run.text, /\(exit 4\)/, run.text);
        assertMatch(run.text, /outside the repository/, run.text);
        quiet(run.text);
        const list = await m.call("workflows_list", {});
        assert(!list.isError, list.text);
        quiet(JSON.stringify(list.data));
        const keys = list.data.workflows.find((w: { name: string }) => w.name === "keys");
        assertMatch(keys?.invalid ?? "", /outside the repository/, JSON.stringify(keys));
      },
    );

    await t.step(
      "a repository whose git directory, main repository or objects lie outside: refused at every tool",
      async () => {
        const git = (args: string[], cwd: string) => void gitIn(args, cwd, { HOME: home });
        const ident = ["-c", "user.name=u", "-c", "user.email=u@x"];
        // ~/.password-store: a repository the agent cannot read, in a hidden directory of the home
        const store = join(home, ".password-store");
        await Deno.mkdir(store);
        git(["init", "-q", "-b", "main"], store);
        await Deno.writeTextFile(join(store, "bank.gpg"), "ciphertext\n");
        git(["add", "."], store);
        git([...ident, "commit", "-qm", "secrets"], store);
        const listing = async () => {
          const out: string[] = [];
          const walk = async (d: string) => {
            for await (const e of Deno.readDir(d)) {
              out.push(join(d, e.name));
              if (e.isDirectory) await walk(join(d, e.name));
            }
          };
          await walk(join(store, ".git"));
          return out.sort();
        };
        const before = await listing();
        // a `.git` FILE the agent wrote in the project: `gitdir: ~/.password-store/.git`
        await Deno.mkdir(join(project, "sub"));
        await Deno.writeTextFile(join(project, "sub", ".git"), `gitdir: ${store}/.git\n`);
        const hidden = /the git directory of .*\.password-store\/\.git" is a hidden file or directory/;
        const start = { name: "x", image: "busybox", noWait: true };
        await refused("session_start", { ...start, repo: "sub" }, hidden);
        await refused("session_start", { ...start, repo: join(project, "sub") }, hidden);
        await refused("session_fetch", { name: "x", cwd: "sub" }, hidden);
        await refused("session_fetch", { name: "x", cwd: "sub", branch: "x" }, hidden);
        await refused("session_land", { name: "x", cwd: "sub" }, hidden);
        await refused("adopt", { name: "x-1", cwd: "sub" }, hidden);
        // objects borrowed from the store (objects/info/alternates), a ref linked into it
        const alt = join(project, "alt");
        await Deno.mkdir(alt);
        git(["init", "-q", "-b", "main"], alt);
        git([...ident, "commit", "-q", "--allow-empty", "-m", "one"], alt);
        await Deno.writeTextFile(
          join(alt, ".git", "objects", "info", "alternates"),
          `${store}/.git/objects\n`,
        );
        await refused("session_start", { ...start, repo: "alt" }, /borrows .*\.password-store.* hidden/);
        await Deno.remove(join(alt, ".git", "objects", "info", "alternates"));
        await Deno.symlink(
          join(store, ".git", "refs", "heads", "main"),
          join(alt, ".git", "refs", "heads", "steal"),
        );
        await refused("session_start", { ...start, repo: "alt" }, /a link in the git directory .*steal/);
        await refused("session_fetch", { name: "x", cwd: "alt" }, /a link in the git directory .*steal/);
        // several repositories (repos): each path gets the same checks, wherever it stands in the list
        const good = join(project, "good");
        await Deno.mkdir(good);
        git(["init", "-q", "-b", "main"], good);
        git([...ident, "commit", "-q", "--allow-empty", "-m", "one"], good);
        const two = (a: Record<string, unknown>, b: Record<string, unknown>) => ({ ...start, repos: [a, b] });
        await refused("session_start", two({ path: "good" }, { path: "sub", name: "s" }), hidden);
        await refused("session_start", two({ path: join(project, "sub") }, { path: "good" }), hidden);
        await refused(
          "session_start",
          two({ path: "good" }, { path: "alt", readOnly: true }),
          /a link in the git directory .*steal/,
        );
        // a name is a directory of the workspace, checked as --repo PATH=NAME's; repo and repos are one or other
        for (
          const [args, re] of [
            [
              two({ path: "good", name: "../x" }, { path: "alt" }),
              /invalid repository name "\.\.\/x" \(repos\[0\]\.name\)/,
            ],
            [
              two({ path: "good" }, { path: "good=.kodama" }),
              /invalid repository name "good=\.kodama" \(from repos\[1\]\.path/,
            ],
            [two({ path: "good", name: "a" }, { path: "alt", name: "A" }), /both go to \/workspace\/a/i],
            [{ ...two({ path: "good" }, { path: "alt" }), repo: "." }, /repo or repos, not both/],
          ] as const
        ) {
          const r = await m.call("session_start", args);
          assert(r.isError, r.text);
          assertMatch(r.text, /\(exit 2\)/, r.text);
          assertMatch(r.text, re, r.text);
        }
        assertEquals(await listing(), before, "nothing was written into the store");
        // a linked work tree in the project whose main repository is elsewhere: the hint names the grant
        const other = join(home, "src", "other");
        git(["init", "-q", "-b", "main"], other);
        git([...ident, "commit", "-q", "--allow-empty", "-m", "one"], other);
        git(["worktree", "add", "-q", "-b", "wt", join(project, "wt")], other);
        const out = await refused("session_fetch", { name: "x", cwd: "wt" }, /leads outside the project/);
        assertStringIncludes(out, `kodama mcp --allow-path ${other}`);
      },
    );

    await t.step(
      "a repository whose own config or hooks name a program: let through, and nothing it names runs",
      async () => {
        const git = (args: string[], cwd: string) => void gitIn(args, cwd, { HOME: home });
        const prog = join(project, "prog");
        await Deno.mkdir(prog);
        git(["init", "-q", "-b", "main"], prog);
        git(
          ["-c", "user.name=u", "-c", "user.email=u@x", "commit", "-q", "--allow-empty", "-m", "one"],
          prog,
        );
        const ran = join(tmp, "ran");
        // `git status` runs core.fsmonitor; a hook (husky's way), a filter from a file the config includes
        git(["config", "core.fsmonitor", `touch ${ran}`], prog);
        git(["config", "core.hooksPath", ".husky"], prog);
        await Deno.mkdir(join(prog, ".husky"));
        for (const h of ["post-merge", "post-checkout", "reference-transaction"]) {
          for (const dir of [join(prog, ".git", "hooks"), join(prog, ".husky")]) {
            await Deno.writeTextFile(join(dir, h), `#!/bin/sh\ntouch ${ran}\n`);
            await Deno.chmod(join(dir, h), 0o755);
          }
        }
        await Deno.writeTextFile(join(project, "inc.cfg"), `[filter "lfs2"]\n\tclean = touch ${ran}\n`);
        git(["config", "include.path", join(project, "inc.cfg")], prog);
        // door git never reads them: each call gets past the repository (and fails later: there is no cluster)
        for (
          const [tool, args] of [
            ["session_start", { name: "x", image: "busybox", noWait: true, repo: "prog" }],
            ["session_fetch", { name: "x", cwd: "prog" }],
            ["session_land", { name: "x", cwd: "prog" }],
            ["adopt", { name: "x-1", cwd: "prog" }],
          ] as const
        ) {
          const r = await m.call(tool, args);
          assert(!/would run|hooks|\(exit 4\)/.test(r.text), `${tool}: ${r.text}`);
          assertMatch(r.text, /cannot reach/);
        }
        assert(!await Deno.stat(ran).then(() => true, () => false), "a program the repository named ran");
      },
    );

    await t.step(
      "session_fetch into a granted directory whose git root is a dotfiles repo at ~: refused",
      async () => {
        const git = await new Deno.Command("git", {
          args: ["init", "-q", home],
          stdout: "null",
          stderr: "null",
        })
          .output();
        assert(git.success);
        await refused(
          "session_fetch",
          { name: "x", cwd: shared },
          /the repository at cwd .*(home directory|holds)/,
        );
      },
    );
  } finally {
    await m.close();
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
});
