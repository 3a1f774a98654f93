import { assert, assertEquals, assertMatch, assertThrows } from "@kodama/test-assert";
import {
  checkRunId,
  INSTALL_FAILED_EXIT,
  LOGS_SCRIPT,
  NO_AGENT_EXIT,
  NOTIFY_JS,
  parseRuns,
  presetTable,
  RUNNER_JS,
  RUNNER_SCRIPT,
  START_SCRIPT,
  startArgv,
  STATUS_SCRIPT,
  STOP_SCRIPT,
  TAKEN_OVER_EXIT,
} from "../../../src/agent/runs/agent.ts";
import { PRESET_NAMES, PRESETS } from "../../../src/agent/presets/presets.ts";
import { parseFetchHeader } from "../../../src/session/git/fetch.ts";
import { runExit, runStart } from "./_start.ts";

Deno.test("agent runs: states from the status lines, durations up to now for running ones", () => {
  const now = Date.parse("2026-01-15T14:31:00Z");
  const runs = parseRuns(
    [
      "2\trunning\t\t2026-01-15T14:30:00Z\t\t42",
      "1\texited\t0\t2026-01-15T14:00:00Z\t2026-01-15T14:05:30Z\t7",
      "3\texited\t2\t2026-01-15T14:30:00Z\t2026-01-15T14:30:05Z\t9",
      "4\tstopped\t\t2026-01-15T14:30:00Z\t2026-01-15T14:30:10Z\t11",
      "5\tlost\t\t2026-01-15T14:30:00Z\t\t12",
      "junk line",
    ].join("\n"),
    now,
  );
  assertEquals(runs.map((r) => [r.id, r.state, r.exitCode, r.durationSeconds]), [
    ["1", "succeeded", 0, 330],
    ["2", "running", undefined, 60],
    ["3", "failed", 2, 5],
    ["4", "stopped", undefined, 10],
    ["5", "failed", undefined, undefined],
  ]);
});

Deno.test("agent runs: the prompt goes on stdin, never into the command line", () => {
  const argv = startArgv(["claude", "-p"], 42);
  assertEquals(argv.slice(0, 2), ["sh", "-c"]);
  assertEquals(argv.slice(3, 5), ["kodama-agent", "42"]);
  assertEquals(argv.slice(-2), ["claude", "-p"]);
  // the start program is a constant file: the runner's programs are its arguments
  assertEquals(argv.slice(6, 9), [RUNNER_SCRIPT, RUNNER_JS, NOTIFY_JS]);
  // exactly the prompt's bytes: v4 exec streams cannot close stdin
  assertMatch(START_SCRIPT, /head -c "\$bytes" > "\$run\/prompt"/);
  assertMatch(START_SCRIPT, /umask 077/);
  // the prompt file (or its stream-json user line, pod/watch.sh: prompt_line), never an argument
  assertMatch(RUNNER_SCRIPT, /in="\$run\/prompt"/);
  assertMatch(RUNNER_SCRIPT, /"\$@" < "\$in" >> "\$run\/log" 2>&1/);
  // detached: its own session, no terminal, survives the exec
  assertMatch(
    START_SCRIPT,
    /\$nh \$detach sh -c "\$runner" kodama-run "\$run" "\$runnerjs" "\$notifyjs" "\$@" > \/dev\/null 2>&1 < \/dev\/null &/,
  );
  assertMatch(START_SCRIPT, /command -v setsid/);
});

Deno.test("agent runs: a preset's CLI is installed with npm, pinned, into the home volume; otherwise the command is named", () => {
  // pinned: the preset, package, version, program and least Node go to kodama_install (pod/install.sh) from
  // the start program's table of presets (one line each), never written into its text
  const table = presetTable().split("\n");
  assertEquals(table.length, PRESET_NAMES.length);
  for (const n of PRESET_NAMES) {
    const i = PRESETS[n].install;
    // then the project config files its CLI reads (projsettings_test.ts)
    assert(table.some((l) => l.startsWith(`${n} ${i.bin} ${i.package} ${i.version} ${i.node} `)));
    assert(!START_SCRIPT.includes(i.package));
  }
  assertEquals(startArgv(["claude"], 1)[5], presetTable());
  assert(START_SCRIPT.includes(`kodama_install "$p_name" "$p_pkg" "$p_ver" "$p_bin" "$p_node" 125 127`));
  assertEquals([INSTALL_FAILED_EXIT, NO_AGENT_EXIT], [125, 127]);
  // quietly, into the home volume: npm's output to a log file, its tail on failure; one install at a time
  assert(START_SCRIPT.includes(`kodama_install() {`));
  assert(
    START_SCRIPT.includes(
      `npm install --no-fund --no-audit --no-update-notifier --loglevel=http --prefix "$HOME/.local" "$ki_pkg" > "$ki_log" 2>&1`,
    ),
  );
  assert(START_SCRIPT.includes(`tail -n 15 "$ki_log"`));
  assert(START_SCRIPT.includes(`mkdir "$ki_dir/$ki_bin.lock"`));
  // too old a Node is said first, naming the preset; the image user's own npm settings are used
  assert(START_SCRIPT.includes(`the $ki_preset preset installs $ki_pkg, which needs Node >= $ki_node`));
  assert(START_SCRIPT.includes(`export npm_config_userconfig="$ki_ih/.npmrc"`));
  // claude's pin runs on the dev image's Node 18
  assertEquals(PRESETS.claude.install.node, 18);
  // the agent-home install is on PATH, after the image's own directories (issue 79: say_pod_test.ts)
  assertMatch(
    START_SCRIPT,
    /export PATH="\$\{kp_first#:\}:\$HOME\/\.local\/node_modules\/\.bin:\$HOME\/\.local\/bin/,
  );
  // a missing command is exit 127 and kodama's own one line (agentrun.ts), no script words above it
  assertMatch(START_SCRIPT, /exit 127/);
  assert(!/agent\.command: /.test(START_SCRIPT));
});

Deno.test("agent runs: logs -f ends with the run; stop signals the process group", () => {
  assertMatch(LOGS_SCRIPT, /\[ -f "\$r\/exit" \] \|\| \[ -f "\$r\/stopped" \]/);
  assertMatch(STOP_SCRIPT, /kill -TERM -"\$pid"/);
  assertMatch(STOP_SCRIPT, /kill -KILL -"\$pid"/);
  assertEquals(checkRunId(undefined), "latest");
  assertEquals(checkRunId("007"), "7");
  assertThrows(() => checkRunId("x"));
});

const A = "a".repeat(40);
const B = "b".repeat(40);

Deno.test("session fetch: the header the pod prints", () => {
  const h = parseFetchHeader(
    `kodama-fetch: branch=kodama/s-1 head=${A} base=${B}\nEnumerating objects\nkodama-fetch: new=3\n`,
  );
  assertEquals(h, { branch: "kodama/s-1", head: A, base: B, newCommits: 3, branches: new Map(), roots: [] });
  assertEquals(parseFetchHeader(`kodama-fetch: branch= head=${A} base=\nkodama-fetch: new=0\n`), {
    head: A,
    newCommits: 0,
    branches: new Map(),
    roots: [],
  });
  // the history's root commits (an unrelated repository has none of them); anything else is dropped
  assertEquals(
    parseFetchHeader(`kodama-fetch: root=${A}\nkodama-fetch: root=--all\nkodama-fetch: root=${B}\n`).roots,
    [
      A,
      B,
    ],
  );
  // every pod branch with its commit (commits on any branch come back, not only HEAD's)
  const b = parseFetchHeader(
    `kodama-fetch: ref=${A} refs/heads/main\nkodama-fetch: ref=${B} refs/heads/agent/wip\n` +
      `kodama-fetch: ref=--output=x refs/heads/evil\nkodama-fetch: ref=${A} refs/heads/bad\x1b[2J name\n` +
      `kodama-fetch: ref=${A} refs/tags/v1\n`,
  );
  assertEquals([...b.branches], [["main", A], ["agent/wip", B]]);
  // SHA-256 repositories
  const long = "0123456789abcdef".repeat(4);
  assertEquals(parseFetchHeader(`kodama-fetch: head=${long}\n`).head, long);
});

Deno.test("session fetch: pod-chosen values that could become local git options are not taken (#26)", () => {
  for (
    const evil of [
      "--output=/home/me/.bashrc",
      "--output=x..HEAD",
      "-oFILE",
      "HEAD",
      "main",
      "abc",
      A.toUpperCase(),
      A + "0",
      `${A}..${B}`,
      "@{-1}",
    ]
  ) {
    const h = parseFetchHeader(
      `kodama-fetch: branch=x head=${evil} base=${evil}\nkodama-fetch: new=${evil}\n`,
    );
    assertEquals(h.head, undefined, evil);
    assertEquals(h.base, undefined, evil);
    assertEquals(h.newCommits, undefined, evil);
  }
  // a branch is only displayed, never with its terminal escapes
  const h = parseFetchHeader(`kodama-fetch: branch=ok\x1b]0;pwned\x07\x1b[2J head=${A}\n`);
  assertEquals(h.branch, "ok");
});

Deno.test("agent runs: a run of an earlier pod is interrupted; --continue is recorded and parsed", () => {
  const runs = parseRuns(
    [
      "1\tinterrupted\t\t2026-11-23T10:00:00Z\t\t12\t0\t\t",
      "2\trunning\t\t2026-11-23T10:05:00Z\t\t40\t0\t\t1",
    ].join("\n"),
    Date.parse("2026-11-23T10:06:00Z"),
  );
  assertEquals(runs.map((r) => [r.id, r.state, r.continues]), [["1", "interrupted", undefined], [
    "2",
    "running",
    "1",
  ]]);
  assertEquals(startArgv(["claude", "-p", "--continue"], 42, 0, true).slice(3, 5), ["kodama-agent", "42:c"]);
  assertEquals(startArgv(["claude", "-p"], 42, 7, true)[4], "42+7:c");
  // the status and stop scripts know a run of another pod (its pid means nothing in this one)
  assertMatch(STATUS_SCRIPT, /"\$rpod" != "\$\{KODAMA_POD_UID:-\}" \]; then st=interrupted/);
  assertMatch(STOP_SCRIPT, /has already ended \(interrupted\)/);
});

Deno.test("agent runs: a run that writes its exit code and ends between the status reads is succeeded, not lost", async () => {
  const ws = await Deno.makeTempDir({ prefix: "kodama-runs-" });
  try {
    const run = `${ws}/.kodama/runs/1`;
    await Deno.mkdir(run, { recursive: true });
    await Deno.writeTextFile(`${run}/pid`, "999999\n");
    await Deno.writeTextFile(`${run}/started`, "2026-11-25T03:00:00Z\n");
    const alive = /^alive\(\) \{.*\}$/m;
    assertMatch(STATUS_SCRIPT, alive);
    const status = async (aliveBody: string) => {
      const script = STATUS_SCRIPT.replace(alive, () => `alive() { ${aliveBody}; }`);
      const out = await new Deno.Command("sh", {
        args: ["-c", script, "kodama-status"],
        env: { KODAMA_WORKSPACE: ws, HOME: ws },
        stdout: "piped",
      }).output();
      assertEquals(out.code, 0);
      return parseRuns(new TextDecoder().decode(out.stdout))[0];
    };
    // the runner is gone without an exit code: lost, reported as failed without one
    const lost = await status("return 1");
    assertEquals([lost.state, lost.exitCode], ["failed", undefined]);
    // the runner writes 0 and ends after the first read of exit, before the liveness check
    const raced = await status(`echo 0 > "$runs/1/exit"; return 1`);
    assertEquals([raced.state, raced.exitCode], ["succeeded", 0]);
  } finally {
    await Deno.remove(ws, { recursive: true });
  }
});

Deno.test("agent runs: a stop that comes after the agent ended is too late; one before it is the run's end", async () => {
  const ws = await Deno.makeTempDir({ prefix: "kodama-runs-" });
  const sh = (script: string, ...args: string[]) =>
    new Deno.Command("sh", {
      args: ["-c", script, "kodama", ...args],
      env: { KODAMA_WORKSPACE: ws, HOME: ws },
      stdout: "piped",
      stderr: "piped",
    }).output();
  const runOf = async (id: string, agent: string) => {
    const run = `${ws}/.kodama/runs/${id}`;
    await Deno.mkdir(run, { recursive: true });
    await Deno.writeTextFile(`${run}/prompt`, "do it\n");
    // as START_SCRIPT starts it: a session leader, so a stop signals the runner and the agent together
    const done = new Deno.Command("setsid", {
      args: ["sh", "-c", RUNNER_SCRIPT, "kodama-run", run, RUNNER_JS, NOTIFY_JS, "sh", "-c", agent],
      env: { KODAMA_WORKSPACE: ws, HOME: ws },
    }).output();
    return { run, done };
  };
  const state = async (id: string) => {
    const out = await sh(STATUS_SCRIPT);
    const r = parseRuns(new TextDecoder().decode(out.stdout)).find((x) => x.id === id)!;
    return [r.state, r.exitCode];
  };
  try {
    // 1: the agent ends with 0; then a stop that had checked for the exit file just before writes its
    // marker (the race STOP_SCRIPT's check leaves open): the run exited, it was not stopped
    const one = await runOf("1", "exit 0");
    await one.done;
    await Deno.writeTextFile(`${one.run}/stopped`, "2026-11-25T06:00:00Z\n");
    assertEquals(await state("1"), ["succeeded", 0]);
    // 2: stopped while it works: stopped (the runner ends with its group, writing no exit code)
    const two = await runOf("2", `echo working; while :; do sleep 0.05; done`);
    while (!(await Deno.readTextFile(`${two.run}/log`).catch(() => "")).includes("working")) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const stop = await sh(STOP_SCRIPT, "2");
    assertEquals(stop.code, 0, new TextDecoder().decode(stop.stderr));
    await two.done;
    assertEquals(await state("2"), ["stopped", undefined]);
    // 3: a run written by a runner older than stop-seen keeps the old rule: the marker wins
    const three = await runOf("3", "exit 0");
    await three.done;
    await Deno.remove(`${three.run}/stop-seen`);
    await Deno.writeTextFile(`${three.run}/stopped`, "2026-11-25T06:00:00Z\n");
    assertEquals((await state("3"))[0], "stopped");
  } finally {
    await Deno.remove(ws, { recursive: true });
  }
});

Deno.test("agent runs: the runner writes its exit code whole, by rename", () => {
  assertMatch(RUNNER_SCRIPT, /echo "\$code" > "\$run\/exit\.tmp" && mv -f "\$run\/exit\.tmp" "\$run\/exit"/);
});

Deno.test({
  name:
    "agent runs: under ~/.kodama/runs, never in the workspace; a run continues the previous one only when of the same agent",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    const root = await Deno.makeTempDir({ prefix: "kodama-runs-" });
    const ws = `${root}/ws`, home = `${root}/home`;
    await Deno.mkdir(ws);
    await Deno.mkdir(home);
    await new Deno.Command("git", { args: ["init", "-q"], cwd: ws }).output();
    const start = async (agent: string, cont: boolean) => {
      const out = await runStart(
        startArgv(["env", "X_PRESET=1", "sh", "-c", "cat > /dev/null"], 1, 0, cont, agent),
        new TextEncoder().encode("p"),
        { cwd: ws, env: { KODAMA_WORKSPACE: ws, HOME: home } },
      );
      assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
      return new TextDecoder().decode(out.stdout).trim();
    };
    const read = (p: string) => Deno.readTextFile(p).then((t) => t.trim()).catch(() => undefined);
    try {
      assertEquals(await start("claude", false), "1");
      assertEquals(await start("claude", true), "2");
      assertEquals(await start("codex", true), "3");
      const runs = `${home}/.kodama/runs`;
      // the program after `env K=V` was found (else the run would be a 127 "not in the image")
      assertEquals(await read(`${runs}/1/agent`), "claude");
      assertEquals(await read(`${runs}/2/continues`), "1");
      // codex was not given claude's conversation: not recorded as continuing it
      assertEquals(await read(`${runs}/3/continues`), undefined);
      assertEquals(await read(`${runs}/3/agent`), "codex");
      // nothing of kodama's in the workspace: the agent's `git add -A` has nothing of ours to take
      await new Deno.Command("git", { args: ["add", "-A"], cwd: ws }).output();
      const st = await new Deno.Command("git", { args: ["status", "--porcelain"], cwd: ws, stdout: "piped" })
        .output();
      assertEquals(new TextDecoder().decode(st.stdout), "");
      assertEquals(await Deno.stat(`${ws}/.kodama`).then(() => "there", () => "absent"), "absent");
    } finally {
      // the detached runners write `exit` last: removing the tree before they are done raced them (ENOTEMPTY)
      for (let i = 0; i < 200; i++) {
        const ids = await Array.fromAsync(Deno.readDir(`${home}/.kodama/runs`)).catch(() => []);
        const ended = await Promise.all(ids.map((d) => read(`${home}/.kodama/runs/${d.name}/exit`)));
        if (ended.every((e) => e !== undefined)) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "agent runs: an image without nohup (Debian's busybox) still starts the run, and it ends",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    const root = await Deno.makeTempDir({ prefix: "kodama-nohup-" });
    const ws = `${root}/ws`, home = `${root}/home`, bin = `${root}/bin`;
    await Deno.mkdir(ws);
    await Deno.mkdir(home);
    await Deno.mkdir(bin);
    // every program of this machine but nohup
    for (const dir of ["/usr/bin", "/bin"]) {
      for (const e of Deno.readDirSync(dir)) {
        if (e.name !== "nohup") await Deno.symlink(`${dir}/${e.name}`, `${bin}/${e.name}`).catch(() => {});
      }
    }
    try {
      const out = await runStart(
        startArgv(["sh", "-c", "cat > /dev/null; echo agent-ran"], 1),
        new TextEncoder().encode("p"),
        { cwd: ws, env: { KODAMA_WORKSPACE: ws, HOME: home, PATH: bin }, clearEnv: true, sh: "/bin/sh" },
      );
      assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
      const run = `${home}/.kodama/runs/1`;
      assertEquals(await runExit(run, 10_000), "0", "the run never ended: its runner did not start");
      assertEquals((await Deno.readTextFile(`${run}/log`)).trim(), "agent-ran");
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "agent runs: the start refuses beside a live taken-over agent in tmux (one exec), or ends it first with --force",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    const root = await Deno.makeTempDir({ prefix: "kodama-takeover-" });
    const ws = `${root}/ws`, home = `${root}/home`, bin = `${root}/bin`, calls = `${root}/tmux-calls`;
    await Deno.mkdir(ws);
    await Deno.mkdir(home);
    await Deno.mkdir(bin);
    // a tmux whose `kodama-agent` session is live until it is killed (its calls recorded)
    await Deno.writeTextFile(
      `${bin}/tmux`,
      `#!/bin/sh\necho "$*" >> "${calls}"\ncase "$*" in *has-session*) [ ! -f "${root}/killed" ] ;; *kill-session*) : > "${root}/killed" ;; esac\n`,
    );
    await Deno.chmod(`${bin}/tmux`, 0o755);
    const env = { KODAMA_WORKSPACE: ws, HOME: home, PATH: `${bin}:${Deno.env.get("PATH")}` };
    const agent = ["sh", "-c", "cat > /dev/null; echo agent-ran"];
    const p = new TextEncoder().encode("check\nprompt");
    try {
      const refused = await runStart(
        startArgv(agent, 6, 6, false, undefined, 0, undefined, false, "refuse"),
        p,
        {
          cwd: ws,
          env,
        },
      );
      assertEquals(refused.code, TAKEN_OVER_EXIT);
      assert(START_SCRIPT.includes(`exit ${TAKEN_OVER_EXIT}`));
      assertEquals(
        await Deno.stat(`${home}/.kodama/runs/1`).catch(() => undefined),
        undefined,
        "a run was started",
      );
      // --force: the live one is ended first, then the run starts
      const ended = await runStart(startArgv(agent, 6, 6, false, undefined, 0, undefined, false, "end"), p, {
        cwd: ws,
        env,
      });
      assertEquals(ended.code, 0, new TextDecoder().decode(ended.stderr));
      assertMatch(await Deno.readTextFile(calls), /kill-session -t kodama-agent/);
      assertEquals(await runExit(`${home}/.kodama/runs/1`, 10_000), "0");
      assertEquals(await Deno.readTextFile(`${home}/.kodama/runs/1/prompt`), "prompt");
      // nothing live any more: a refusing start runs
      const again = await runStart(
        startArgv(agent, 6, 6, false, undefined, 0, undefined, false, "refuse"),
        p,
        {
          cwd: ws,
          env,
        },
      );
      assertEquals(again.code, 0);
      assertEquals(await runExit(`${home}/.kodama/runs/2`, 10_000), "0");
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
