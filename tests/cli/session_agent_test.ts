/**
 * Coding-agent runs, black-box, as `dev` in `dev`, with a fake agent (agent.command in .kodama.yaml)
 * that reads the prompt on stdin, waits for a go-ahead file (so "running" is observed without timing),
 * edits a file and commits: `start --prompt-file`, `agent status/logs -f/run/stop`, `session logs -f`,
 * the prompt only in its file, the agent's credentials from the env Secret, a missing agent command.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { onRealCluster } from "../cluster/harness.ts";
import { hasStackTrace } from "./_run.ts";
import { PRESETS } from "../../src/agent/presets/presets.ts";
import { gitIn, makeTestRepo, podReachableRepo } from "./_git_server.ts";
import { podOf, psArgs, purge, runScanningPs, SESSION_IMAGE, withSessionWorld } from "./_session.ts";

const PROMPT = "Please add the marker line zq-prompt-4711 to AGENT.md";
const API_KEY = "sk-ant-test-0815";

/** The fake agent: `sh -c SCRIPT`, so only sh, cat, grep and git are needed. */
export const FAKE_AGENT = [
  `p=$(cat)`,
  `echo "agent: read $(printf %s "$p" | wc -c | tr -d ' ') bytes from stdin; prompt file $KODAMA_PROMPT_FILE"`,
  `echo "agent: key ${"$"}{ANTHROPIC_API_KEY:+present}"`,
  `while [ ! -f .go ]; do sleep 0.2; done`,
  `printf '%s\\n' "$p" >> AGENT.md`,
  `git add AGENT.md && git -c user.name=Agent -c user.email=agent@example.com commit -qm "agent: edit AGENT.md"`,
  `echo "agent: committed $(git rev-parse --short HEAD)"`,
].join("\n");

export function agentConfig(): string {
  return `agent:\n  command: [sh, -c, ${JSON.stringify(FAKE_AGENT)}]\n`;
}

withSessionWorld(
  "agent runs: start --prompt-file, status running -> succeeded, logs -f, a second run, stop",
  {
    // fourteen steps with starts, runs and stops: over 300 s at load 25, every step passing
    timeoutMs: 12 * 60_000,
  },
  async (t, w) => {
    const repo = await makeTestRepo(await Deno.makeTempDir({ prefix: "kodama-repo-" }));
    // what the session pods clone: the bare repository here; on a real cluster, a git daemon they reach
    const served = await podReachableRepo(repo, onRealCluster);
    const env = { ANTHROPIC_API_KEY: API_KEY };
    try {
      await Deno.writeTextFile(join(w.cwd, ".kodama.yaml"), agentConfig());
      // a custom agent gets the credentials the user's own config lists, and only those
      await Deno.writeTextFile(join(w.home, "config.yaml"), "agent:\n  authEnv: [ANTHROPIC_API_KEY]\n");
      await Deno.writeTextFile(join(w.cwd, "task.txt"), PROMPT + "\n");

      await t.step(
        "start --prompt-file: ready, run 1 started; the prompt never in a process list",
        async () => {
          const child = w.spawn([
            "start",
            "s",
            "--repo",
            served.url,
            "--image",
            SESSION_IMAGE,
            "--prompt-file",
            "task.txt",
          ], {
            env,
          });
          const { code, stdout, stderr, snapshots: seen } = await runScanningPs(child);
          assertEquals(code, 0, stderr);
          assertEquals(stdout, "session/s ready\n1\n");
          assertMatch(stderr, /agent run 1 started in session s .*kodama agent logs s 1 -f/);
          assertStringIncludes(
            stderr,
            "note: ANTHROPIC_API_KEY (from this environment) goes into the env Secret",
          );
          assert(!stderr.includes(API_KEY) && !stdout.includes(API_KEY));
          assert(seen.length > 0);
          for (const ps of seen) {
            assert(!ps.includes("zq-prompt-4711"), "the prompt is in a process's arguments");
          }
          // while the agent waits, nothing on the machine shows the prompt either
          assert(!(await psArgs()).includes("zq-prompt-4711"));
        },
      );

      await t.step(
        "the prompt is in the run's prompt file (mode 0600), under ~/.kodama/runs, outside the workspace",
        async () => {
          const r = await w.sh(
            "s",
            `cat "$HOME/.kodama/runs/1/prompt"; ls -l "$HOME/.kodama/runs/1/prompt"; test ! -e .kodama/runs && echo none-in-workspace`,
          );
          assertStringIncludes(r.stdout, "none-in-workspace");
          assertEquals(r.code, 0, r.stderr);
          assertStringIncludes(r.stdout, PROMPT + "\n");
          assertMatch(r.stdout, /^-rw------- /m);
          // (this directory is a project, so start synced its .kodama.yaml into the clone: that may show; the
          // prompt file never goes (it is the agent's task, not its work), nor the runs directory)
          const st = await w.sh("s", "git status --porcelain --untracked-files=all");
          assertEquals(st.code, 0, st.stderr);
          assert(!/task\.txt/.test(st.stdout), `the prompt file was synced:\n${st.stdout}`);
          assert(
            !/\.kodama\//.test(st.stdout),
            `the runs directory must never show up for git:\n${st.stdout}`,
          );
        },
      );

      await t.step(
        "status: running while the agent works (kodama has exited: the run is detached)",
        async () => {
          const r = await w.k(["agent", "status", "s"]);
          assertEquals(r.code, 0, r.stderr);
          assertMatch(r.stdout, /^RUN\s+STATE\s+EXIT\s+STARTED\s+DURATION$/m);
          assertMatch(r.stdout, /^1\s+running\s+-\s+/m);
          // list reads the run itself: nothing recorded an outcome yet
          const l = await w.k(["list"]);
          assertEquals(l.code, 0, l.stderr);
          assertMatch(l.stdout, /^NAME\s.*\sAGENT\s+AGE$/m);
          assertMatch(l.stdout, /^s\s.*\srun 1 running\s+\S+$/m);
        },
      );

      await t.step(
        "logs -f shows the output and ends when the run ends; then succeeded, exit 0",
        async () => {
          const follow = w.spawn(["agent", "logs", "s", "-f"]);
          const go = await w.sh("s", "touch .go");
          assertEquals(go.code, 0, go.stderr);
          const out = await follow.output();
          const text = new TextDecoder().decode(out.stdout);
          assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
          assertStringIncludes(text, `agent: read ${PROMPT.length} bytes from stdin; prompt file `);
          assertStringIncludes(text, "agent: key present");
          assertMatch(text, /agent: committed [0-9a-f]+\n$/);
          const j = JSON.parse((await w.k(["agent", "status", "s", "-o", "json"])).stdout);
          assertEquals(j.items.length, 1);
          assertEquals(j.items[0].id, "1");
          assertEquals(j.items[0].state, "succeeded");
          assertEquals(j.items[0].exitCode, 0);
          assertMatch(j.items[0].startedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
          assert(typeof j.items[0].durationSeconds === "number");
          const log = await w.sh("s", "git log -1 --format=%s; cat AGENT.md");
          assertEquals(log.stdout, `agent: edit AGENT.md\n${PROMPT}\n`);
        },
      );

      await t.step("session fetch s in the local clone: kodama/s holds the agent's commit", async () => {
        const r = await w.k(["session", "fetch", "s"], { cwd: repo.work });
        assertEquals(r.code, 0, r.stderr);
        assertEquals(r.stdout, "kodama/s\n");
        assertMatch(
          r.stderr,
          /fetched session s's branch kodama\/s-\d{14} into kodama\/s: [0-9a-f]+ agent: edit AGENT\.md \(1 commit since it was cloned\), 1 new/,
        );
        const log = await gitIn(["log", "--format=%s", `${repo.main}..kodama/s`], repo.work);
        assertEquals(log, "agent: edit AGENT.md");
        assertEquals(await gitIn(["show", "kodama/s:AGENT.md"], repo.work), PROMPT);
        // no remote was involved: the bare repository never saw the commit
        assertEquals(await gitIn(["branch", "--list", "kodama/*"], repo.bare), "");
        const again = await w.k(["session", "fetch", "s", "--branch", "review"], { cwd: repo.work });
        assertEquals(again.code, 0, again.stderr);
        assertStringIncludes(again.stderr, "nothing new to transfer");
        assertEquals(
          await gitIn(["rev-parse", "review"], repo.work),
          await gitIn(["rev-parse", "kodama/s"], repo.work),
        );
      });

      await t.step("session fetch brings commits made on any pod branch, not only HEAD's", async () => {
        const side = await w.sh(
          "s",
          "git checkout -q -b agent/side && echo side > SIDE.md && git add SIDE.md && " +
            "git -c user.name=A -c user.email=a@example.com commit -qm 'agent: side work' && git checkout -q -",
        );
        assertEquals(side.code, 0, side.stderr);
        const r = await w.k(["session", "fetch", "s"], { cwd: repo.work });
        assertEquals(r.code, 0, r.stderr);
        assertMatch(r.stderr, /1 new/);
        assertMatch(r.stderr, /the pod's branches are in kodama\/s\/BRANCH: .*agent\/side/);
        assertEquals(
          await gitIn(["log", "-1", "--format=%s", "kodama/s/agent/side"], repo.work),
          "agent: side work",
        );
        assertEquals(await gitIn(["show", "kodama/s/agent/side:SIDE.md"], repo.work), "side");
        // HEAD's branch is still the session's branch
        assertEquals(
          await gitIn(["log", "-1", "--format=%s", "kodama/s"], repo.work),
          "agent: edit AGENT.md",
        );
        const again = await w.k(["session", "fetch", "s"], { cwd: repo.work });
        assertStringIncludes(again.stderr, "nothing new to transfer");
      });

      await t.step("session fetch --diff shows the change against the cloned commit", async () => {
        const r = await w.k(["session", "fetch", "s", "--diff"], { cwd: repo.work });
        assertEquals(r.code, 0, r.stderr);
        assertStringIncludes(r.stdout, "+++ b/AGENT.md");
        assertStringIncludes(r.stdout, `+${PROMPT}`);
      });

      await t.step(
        "session fetch from a hostile pod: its git config and text never become local options",
        async () => {
          const victim = join(w.cwd, "victim.txt");
          await Deno.writeTextFile(victim, "keep me\n");
          const evil = await w.sh(
            "s",
            `git config kodama.base "--output=${victim}" && ` +
              `git -c user.name=A -c user.email=a@example.com commit -q --allow-empty -m "$(printf 'evil\\033]0;pwned\\007\\033[2J')"`,
          );
          assertEquals(evil.code, 0, evil.stderr);
          const r = await w.k(["session", "fetch", "s", "--branch", "hostile"], { cwd: repo.work });
          assertEquals(r.code, 0, r.stderr);
          assertEquals(await Deno.readTextFile(victim), "keep me\n");
          assert(!r.stderr.includes("\x1b") && !r.stderr.includes("\x07"), JSON.stringify(r.stderr));
          assertMatch(r.stderr, /into hostile: [0-9a-f]+ evil, 1 new/);
          assertEquals(
            await gitIn(["log", "-1", "--format=%s", "hostile"], repo.work),
            "evil\x1b]0;pwned\x07\x1b[2J",
          );
        },
      );

      await t.step("session fetch outside a repository: exit 2", async () => {
        const r = await w.k(["session", "fetch", "s"]);
        assertEquals(r.code, 2, r.stderr);
        assertStringIncludes(r.stderr, "inside a local clone");
      });

      await t.step("the agent's key came from the env Secret, not the pod spec", async () => {
        const sec = await w.kc(["get", "secret", "kodama-env-s", "-o", "jsonpath={.data.ANTHROPIC_API_KEY}"]);
        assertEquals(atob(sec.stdout), API_KEY);
        const pod = await w.kc(["get", "pod", await podOf(w, "s"), "-o", "yaml"]);
        assert(!pod.stdout.includes(API_KEY));
      });

      await t.step("a second run gets a new id; session logs -f follows the latest", async () => {
        await w.sh("s", "rm -f .go");
        const r = await w.k(["agent", "run", "s", "--prompt", "second task"]);
        assertEquals(r.code, 0, r.stderr);
        assertEquals(r.stdout, "2\n");
        const follow = w.spawn(["session", "logs", "s", "-f"]);
        await w.sh("s", "touch .go");
        const out = await follow.output();
        assertEquals(out.code, 0);
        assertStringIncludes(new TextDecoder().decode(out.stdout), "agent: read 11 bytes from stdin");
        // a run that ended while nobody looked: list says how it ended, and records it for the next reader
        assertMatch((await w.k(["list"])).stdout, /^s\s.*\srun 2 succeeded\s+\S+$/m);
        const j = JSON.parse((await w.k(["list", "-o", "json"])).stdout);
        // (by name: on a real cluster the namespace may hold other sessions)
        const item = j.items.find((i: { metadata: { name: string } }) => i.metadata.name === "s");
        assertEquals(item.status.agentOutcome, "succeeded");
        const first = await w.k(["agent", "logs", "s", "1"]);
        assertStringIncludes(first.stdout, `read ${PROMPT.length} bytes`);
      });

      await t.step("agent stop ends a running run: stopped", async () => {
        await w.sh("s", "rm -f .go");
        assertEquals((await w.k(["agent", "run", "s", "--prompt", "third"])).stdout, "3\n");
        const s = await w.k(["agent", "stop", "s", "3"]);
        assertEquals(s.code, 0, s.stderr);
        assertEquals(s.stdout, "agent run 3 stopped\n");
        const st = await w.k(["agent", "status", "s"]);
        assertMatch(st.stdout, /^3\s+stopped\s+/m);
        const again = await w.k(["agent", "stop", "s", "3"]);
        assertEquals(again.code, 0);
        assertStringIncludes(again.stderr, "had already ended");
      });

      await t.step(
        "errors: unknown run (3), bad run id (2), no prompt (2), unknown session (3)",
        async () => {
          const u = await w.k(["agent", "logs", "s", "9"]);
          assertEquals(u.code, 3, u.stderr);
          assertStringIncludes(u.stderr, "no agent run 9 in session s");
          assertEquals((await w.k(["agent", "logs", "s", "x1"])).code, 2);
          const np = await w.k(["agent", "run", "s"]);
          assertEquals(np.code, 2);
          assertStringIncludes(np.stderr, "--prompt");
          const both = await w.k(["agent", "run", "s", "--prompt", "a", "--prompt-file", "task.txt"]);
          assertEquals(both.code, 2);
          const ns = await w.k(["agent", "status", "nope"]);
          assertEquals(ns.code, 3);
          for (const r of [u, np, both, ns]) assert(!hasStackTrace(r.stderr));
        },
      );

      await t.step("a custom agent.command the image lacks: exit 1 naming agent.command", async () => {
        await Deno.writeTextFile(join(w.cwd, ".kodama.yaml"), "agent:\n  command: [no-such-agent-xyz, -p]\n");
        // the session's own agent is the one it started with: --agent custom runs the config's agent.command
        const r = await w.k(["agent", "run", "s", "--agent", "custom", "--prompt", "x"]);
        assertEquals(r.code, 1, r.stderr);
        assertStringIncludes(r.stderr, "agent.command");
        assertStringIncludes(r.stderr, "no-such-agent-xyz");
        // kodama's line (and its hint), never the pod script's own words stacked above it (#27)
        assertEquals(r.stderr.split("\n").filter((l) => l.trim() && !l.startsWith("  ")).length, 1, r.stderr);
      });

      // on the test server a pod sees this machine's /usr: where a CLI is installed here, the pod has it and
      // there is nothing to install (the step cannot hold there; it is not faked). Gemini CLI is the preset
      // least likely to be installed on a test machine; the install path is the same for every preset.
      const podHasGemini = (await w.sh("s", "command -v gemini")).code === 0;
      await t.step({
        name:
          "a preset's CLI missing, npm present: installed once, quietly, pinned; a failure shows npm's tail",
        ignore: podHasGemini || !w.c.testServer,
        fn: async () => {
          await Deno.writeTextFile(join(w.cwd, ".kodama.yaml"), "{}\n");
          // a fake npm, as the image's own (the test server's shared bin directory, on every pod's PATH before
          // this machine's /usr/bin): one the agent put in ~/.local/bin is never the one kodama's pod programs
          // run (issue 79). FAIL makes it fail as npm does; else it "installs" a fake gemini where npm --prefix
          // puts it, slowly enough that two runs started at once meet
          const podBin = join(w.c.testServer!.runtimeStateDir, "bin");
          try {
            const fakeNpm = async (fail: boolean) => {
              await Deno.writeTextFile(
                join(podBin, "npm"),
                [
                  `#!/bin/sh`,
                  `echo "npm $*" >> "$HOME/npm-calls"`,
                  `for i in 1 2 3 4 5 6 7 8; do echo "npm http fetch GET 200 https://registry.npmjs.org/x$i 12ms"; done`,
                  ...(fail
                    ? [
                      `echo "npm error code E404" >&2`,
                      `echo "npm error 404 Not Found - GET gemini-cli" >&2`,
                      `exit 1`,
                    ]
                    : [
                      `sleep 2`,
                      `echo "added 1 package in 1s"`,
                      `mkdir -p "$HOME/.local/node_modules/.bin"`,
                      `printf '#!/bin/sh\\ncat > /dev/null\\necho "fake gemini $*"\\n' > "$HOME/.local/node_modules/.bin/gemini"`,
                      `chmod +x "$HOME/.local/node_modules/.bin/gemini"`,
                    ]),
                ].join("\n") + "\n",
              );
              await Deno.chmod(join(podBin, "npm"), 0o755);
            };
            await fakeNpm(true);
            const bad = await w.k(["agent", "run", "s", "--agent", "gemini", "--prompt", "hello"]);
            const node = await w.sh("s", `node -p 'process.versions.node.split(".")[0]'`);
            if (Number(node.stdout.trim()) < PRESETS.gemini.install.node) {
              // an image whose Node is too old for the pinned CLI (the real cluster's dev image has Node 18):
              // said before npm runs, naming the preset
              assertEquals(bad.code, 1, bad.stderr);
              assertStringIncludes(
                bad.stderr,
                `the gemini preset installs ${PRESETS.gemini.install.package}`,
              );
              assertStringIncludes(bad.stderr, `needs Node >= ${PRESETS.gemini.install.node}`);
              return;
            }
            const pkg = `${PRESETS.gemini.install.package}@${PRESETS.gemini.install.version}`;
            const line = `kodama: installing gemini ${PRESETS.gemini.install.version} for the gemini preset`;
            // a failed install: the one line says so, then npm's last lines, then kodama's error; exit 1
            assertEquals(bad.code, 1, bad.stderr);
            assertStringIncludes(bad.stderr, `${line} (once per session, into the home volume) ... failed\n`);
            assertStringIncludes(bad.stderr, `npm install ${pkg} failed (the gemini preset)`);
            assertStringIncludes(bad.stderr, "  npm error 404 Not Found - GET gemini-cli");
            assertStringIncludes(bad.stderr, "installing gemini for the gemini preset failed");
            assert(!/^\s*at /m.test(bad.stderr), bad.stderr);

            // two runs at once: one installs, the other waits for it; npm's output only in the log file
            await fakeNpm(false);
            assertEquals((await w.sh("s", `: > "$HOME/npm-calls"`)).code, 0);
            const [r, r2] = await Promise.all([
              w.k(["agent", "run", "s", "--agent", "gemini", "--prompt", "hello"]),
              w.k(["agent", "run", "s", "--agent", "gemini", "--prompt", "hello too"]),
            ]);
            assertEquals([r.code, r2.code], [0, 0], r.stderr + r2.stderr);
            const both = r.stderr + r2.stderr;
            assertEquals(both.split("\n").filter((l) => l.startsWith("kodama: installing")).length, 1, both);
            assertMatch(both, /\.\.\. done \(\d+ s\)\n/);
            assert(!both.includes("npm http fetch") && !both.includes("added 1 package"), both);
            const id = r.stdout.trim();
            await w.k(["agent", "logs", "s", id, "-f"]);
            // headless, every tool approved (the pod is the sandbox)
            assertEquals(
              (await w.k(["agent", "logs", "s", id])).stdout,
              `fake gemini ${PRESETS.gemini.command.slice(1).join(" ")}\n`,
            );
            const calls = await w.sh("s", `cat "$HOME/npm-calls"`);
            assertEquals(
              calls.stdout.replace(/--prefix \S+\/\.local/, "--prefix HOME/.local"),
              `npm install --no-fund --no-audit --no-update-notifier --loglevel=http --prefix HOME/.local ${pkg}\n`,
            );
            const log = await w.sh(
              "s",
              `cat "$HOME/.kodama/install/gemini@${PRESETS.gemini.install.version}.log"`,
            );
            assertStringIncludes(log.stdout, "added 1 package");
            const again = await w.k(["agent", "run", "s", "--agent", "gemini", "--prompt", "again"]);
            assertEquals(again.code, 0, again.stderr);
            assert(!again.stderr.includes("installing"), "installed only once");
          } finally {
            await Deno.remove(join(podBin, "npm")).catch(() => {});
          }
        },
      });
    } finally {
      await purge(w, "s");
      await served.close();
      await Deno.remove(repo.dir, { recursive: true }).catch(() => {});
    }
  },
);
