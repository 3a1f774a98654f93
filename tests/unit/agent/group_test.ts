import { assert, assertEquals, assertMatch, assertThrows } from "@kodama/test-assert";
import { join } from "node:path";
import { parseRuns, START_SCRIPT, startArgv, STATUS_SCRIPT } from "../../../src/agent/runs/agent.ts";
import {
  GATHER_SCRIPT,
  gatherArgv,
  parseFiles,
  parseGather,
  renderComparison,
  type ReplicaRow,
  settled,
} from "../../../src/agent/group/compare.ts";
import { parseVariants, splitWords } from "../../../src/agent/group/group.ts";
import { buildSession } from "../../../src/session/spec/manifests.ts";
import { resolveSpec } from "../../../src/session/spec/spec.ts";
import { configSchema } from "../../../src/config/schema.ts";
import { runExit, runStart } from "./_start.ts";

Deno.test("agent runs with a check: pending, running, passed, failed, skipped", () => {
  const now = Date.parse("2026-01-15T14:31:00Z");
  const runs = parseRuns(
    [
      "1\texited\t0\t2026-01-15T14:00:00Z\t2026-01-15T14:05:30Z\t7\t1\t0",
      "2\texited\t0\t2026-01-15T14:00:00Z\t2026-01-15T14:00:10Z\t7\t1\t2",
      "3\trunning\t\t2026-01-15T14:30:00Z\t\t42\t1\t",
      "4\trunning\t\t2026-01-15T14:30:00Z\t2026-01-15T14:30:20Z\t42\t1\t",
      "5\tstopped\t\t2026-01-15T14:30:00Z\t2026-01-15T14:30:10Z\t11\t1\t",
      "6\texited\t0\t2026-01-15T14:00:00Z\t2026-01-15T14:00:10Z\t7\t0\t",
    ].join("\n"),
    now,
  );
  assertEquals(runs.map((r) => r.check), [
    { state: "passed", exitCode: 0 },
    { state: "failed", exitCode: 2 },
    { state: "pending" },
    { state: "running" },
    { state: "skipped" },
    undefined,
  ]);
  // while the check runs, the agent's duration is its own (up to its end), not the check's
  assertEquals(runs[3].durationSeconds, 20);
});

Deno.test("agent runs: the check goes on stdin before the prompt, never into the command line", () => {
  const [a, b] = [startArgv(["claude", "-p"], 42, 9), startArgv(["claude", "-p"], 42)];
  assertEquals([...a.slice(3, 5), ...a.slice(-2)], ["kodama-agent", "42+9", "claude", "-p"]);
  assertEquals([...b.slice(3, 5), ...b.slice(-2)], ["kodama-agent", "42", "claude", "-p"]);
  assertMatch(START_SCRIPT, /dd bs=1 count="\$cb" of="\$run\/check"/);
});

Deno.test({
  name: "agent runs: the start script splits check and prompt, runs the check after the agent, records both",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    const ws = await Deno.makeTempDir({ prefix: "kodama-run-" });
    try {
      const check = new TextEncoder().encode("echo checked; cat answer; exit 3\n");
      const prompt = new TextEncoder().encode("the prompt, with 'quotes'");
      const stdin = new Uint8Array([...check, ...prompt]);
      const out = await runStart(
        startArgv(
          ["sh", "-c", 'cat > answer; echo done; echo final > "$KODAMA_SUMMARY_FILE"'],
          prompt.length,
          check.length,
        ),
        stdin,
        { cwd: ws, env: { KODAMA_WORKSPACE: ws, HOME: ws } },
      );
      assertEquals(new TextDecoder().decode(out.stdout).trim(), "1", new TextDecoder().decode(out.stderr));
      const run = join(ws, ".kodama/runs/1");
      // `exit` is written last: the run has ended once it holds the code
      assert(await runExit(run, 30_000), "the run did not end");
      assertEquals(await Deno.readTextFile(join(ws, "answer")), "the prompt, with 'quotes'");
      assertEquals(await Deno.readTextFile(join(run, "check")), "echo checked; cat answer; exit 3\n");
      assertEquals(await Deno.readTextFile(join(run, "check.log")), "checked\nthe prompt, with 'quotes'");
      assertEquals((await Deno.readTextFile(join(run, "check-exit"))).trim(), "3");
      assertEquals((await Deno.readTextFile(join(run, "exit"))).trim(), "0");
      assertEquals(await Deno.readTextFile(join(run, "summary")), "final\n");
      const st = await new Deno.Command("sh", {
        args: ["-c", STATUS_SCRIPT, "kodama-status"],
        env: { KODAMA_WORKSPACE: ws, HOME: ws },
        stdout: "piped",
      }).output();
      const [r] = parseRuns(new TextDecoder().decode(st.stdout));
      assertEquals([r.state, r.check], ["succeeded", { state: "failed", exitCode: 3 }]);
    } finally {
      await Deno.remove(ws, { recursive: true });
    }
  },
});

Deno.test("--agent-variant: REPLICA=COMMAND split into words; bad ones are usage errors", () => {
  assertEquals(splitWords(`claude -p --model "opus 4" 'a b' c\\ d`), [
    "claude",
    "-p",
    "--model",
    "opus 4",
    "a b",
    "c d",
  ]);
  assertEquals(splitWords(`x ""`), ["x", ""]);
  assertThrows(() => splitWords(`x "open`), "unterminated");
  const v = parseVariants(["2=claude -p --model opus", "3=codex exec"], 3);
  assertEquals(v.get(2), ["claude", "-p", "--model", "opus"]);
  assertEquals(v.get(3), ["codex", "exec"]);
  assertThrows(() => parseVariants(["4=x"], 3), "there are replicas 1 to 3");
  assertThrows(() => parseVariants(["0=x"], 3), "there are replicas 1 to 3");
  assertThrows(() => parseVariants(["1=x", "1=y"], 3), "given twice");
  assertThrows(() => parseVariants(["1= "], 3), "the command is empty");
  assertThrows(() => parseVariants(["model=opus"], 3), "expected REPLICA=COMMAND");
});

Deno.test("a replica's objects carry the group's labels and its number in the environment", () => {
  const cfg = configSchema.parse({});
  const spec = resolveSpec({ name: "fix-2", namespace: "dev", group: { name: "fix", replica: 2 } }, cfg, {
    envVars: [],
    editorFiles: [],
  });
  const o = buildSession(spec, { env: {}, editor: {} });
  for (const x of [o.pod, o.secret, ...o.pvcs]) {
    assertEquals(x.metadata?.labels?.["kodama.dev/group"], "fix");
    assertEquals(x.metadata?.labels?.["kodama.dev/replica"], "2");
  }
  const env = o.pod.spec!.containers[0].env!;
  assertEquals(env.find((e) => e.name === "KODAMA_REPLICA")?.value, "2");
  assertEquals(env.find((e) => e.name === "KODAMA_GROUP")?.value, "fix");
  const single = buildSession(
    resolveSpec({ name: "one", namespace: "dev" }, cfg, { envVars: [], editorFiles: [] }),
    {
      env: {},
      editor: {},
    },
  );
  assertEquals(single.pod.metadata?.labels?.["kodama.dev/group"], undefined);
});

const HEAD = "a".repeat(40);
const BASE = "b".repeat(40);

/** Run a pod-side script in `sh` with the tools it may call wrapped, so that each process it starts is counted. */
async function runCounted(
  script: string,
  name: string | string[],
  cwd: string,
  env: Record<string, string> = {},
) {
  const bin = await Deno.makeTempDir({ prefix: "kodama-bin-" });
  const log = join(bin, "calls");
  for (const t of ["git", "tail", "cat", "ls", "grep", "sort", "sed", "cut", "wc", "tr", "head"]) {
    const real = new TextDecoder().decode(
      (await new Deno.Command("sh", { args: ["-c", `command -v ${t}`], stdout: "piped" }).output()).stdout,
    ).trim();
    await Deno.writeTextFile(join(bin, t), `#!/bin/sh\necho ${t} >> "${log}"\nexec "${real}" "$@"\n`);
    await Deno.chmod(join(bin, t), 0o755);
  }
  try {
    const out = await new Deno.Command("sh", {
      args: ["-c", script, ...[name].flat()],
      cwd,
      env: { ...env, PATH: `${bin}:${Deno.env.get("PATH")}` },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const calls = (await Deno.readTextFile(log).catch(() => "")).split("\n").filter(Boolean);
    return {
      stdout: new TextDecoder().decode(out.stdout),
      stderr: new TextDecoder().decode(out.stderr),
      calls,
    };
  } finally {
    await Deno.remove(bin, { recursive: true });
  }
}

Deno.test({
  name: "compare: one cheap gather per replica: the latest run, git four times, two tails, nothing else",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    const ws = await Deno.makeTempDir({ prefix: "kodama-gather-" });
    const git = (...args: string[]) =>
      new Deno.Command("git", {
        args: ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args],
        cwd: ws,
        stdout: "null",
        stderr: "null",
      }).output();
    try {
      await git("init", "-q", "-b", "main");
      await Deno.writeTextFile(join(ws, "a.txt"), "one\n");
      await git("add", "a.txt");
      await git("commit", "-qm", "base");
      const base = new TextDecoder().decode(
        (await new Deno.Command("git", { args: ["rev-parse", "HEAD"], cwd: ws, stdout: "piped" }).output())
          .stdout,
      ).trim();
      await git("config", "kodama.base", base);
      await git("checkout", "-qb", "kodama/fix-1-20260115140000");
      await Deno.writeTextFile(join(ws, "a.txt"), "one\ntwo\nthree\n");
      await Deno.writeTextFile(join(ws, "b.txt"), "b\n");
      await git("add", "a.txt", "b.txt");
      await git("commit", "-qm", "change");
      await Deno.writeTextFile(join(ws, "untracked.txt"), "u\n");
      await Deno.writeTextFile(join(ws, ".git", "info", "exclude"), ".kodama/\n");
      // runs 2 and 10: the latest is 10 (by number, not by name); its check log has no final newline
      for (const id of ["2", "10"]) {
        const r = join(ws, ".kodama", "runs", id);
        await Deno.mkdir(r, { recursive: true });
        await Deno.writeTextFile(join(r, "started"), "2026-01-15T14:00:00Z\n");
        await Deno.writeTextFile(join(r, "ended"), "2026-01-15T14:01:40Z\n");
        await Deno.writeTextFile(join(r, "exit"), "0\n");
        await Deno.writeTextFile(join(r, "pid"), "7\n");
        await Deno.writeTextFile(join(r, "check"), "npm test\n");
        await Deno.writeTextFile(join(r, "check-exit"), `${id === "10" ? 1 : 0}\n`);
        await Deno.writeTextFile(join(r, "check.log"), "l1\nl2\nl3\nl4\nl5\nl6\nFAIL: 1 test");
        await Deno.writeTextFile(join(r, "log"), `working\n\nstep ${id}\n\ndone\n\n\n`);
      }
      // a file the agent touched since its last `git add`: a refreshing `git status` would now rewrite the
      // index under .git/index.lock, and an agent committing at that moment fails; compare only reads
      await Deno.utime(join(ws, "a.txt"), new Date("2020-01-01"), new Date("2020-01-01"));
      const index = (await Deno.stat(join(ws, ".git", "index"))).ino;
      const r = await runCounted(GATHER_SCRIPT, gatherArgv().slice(3), ws, {
        KODAMA_WORKSPACE: ws,
        HOME: ws,
      });
      assertEquals(r.stderr, "");
      assertEquals(
        (await Deno.stat(join(ws, ".git", "index"))).ino,
        index,
        "compare rewrote the agent's git index",
      );
      const g = parseGather(r.stdout);
      assertEquals(g.agent, { run: "10", state: "succeeded", exitCode: 0, durationSeconds: 100 });
      assertEquals(g.check, { state: "failed", exitCode: 1, tail: "l3\nl4\nl5\nl6\nFAIL: 1 test" });
      assertEquals(g.branch, "kodama/fix-1-20260115140000");
      assertEquals(g.base, base);
      assertMatch(g.head!, /^[0-9a-f]{40}$/);
      assertEquals([g.commits, g.uncommitted], [1, 1]);
      assertEquals(g.diffstat, { files: 2, insertions: 3, deletions: 0, paths: ["a.txt", "b.txt"] });
      assertEquals(g.summary, "working\nstep 10\ndone");
      // the processes it starts in the pod: eight replicas are read at once
      assertEquals(r.calls.sort(), ["git", "git", "git", "git", "tail", "tail"]);
      // the agent's own summary wins over its log; the status script reads every run with no process per file
      await Deno.writeTextFile(join(ws, ".kodama", "runs", "10", "summary"), "Fixed it.\n");
      assertEquals(
        parseGather((await runCounted(GATHER_SCRIPT, gatherArgv().slice(3), ws, { HOME: ws })).stdout)
          .summary,
        "Fixed it.",
      );
      const st = await runCounted(STATUS_SCRIPT, "kodama-status", ws, { KODAMA_WORKSPACE: ws, HOME: ws });
      assertEquals(parseRuns(st.stdout).map((x) => [x.id, x.state, x.check?.state]), [
        ["2", "succeeded", "passed"],
        ["10", "succeeded", "failed"],
      ]);
      assertEquals(st.calls.sort(), ["grep", "ls", "sort"]);
    } finally {
      await Deno.remove(ws, { recursive: true });
    }
  },
});

Deno.test({
  name: "compare: a workspace without runs or commits gathers to an empty row",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    const ws = await Deno.makeTempDir({ prefix: "kodama-gather-" });
    try {
      await new Deno.Command("git", { args: ["init", "-q"], cwd: ws }).output();
      const r = await runCounted(GATHER_SCRIPT, gatherArgv().slice(3), ws, {
        KODAMA_WORKSPACE: ws,
        HOME: ws,
      });
      assertEquals(r.stderr, "");
      assertEquals(parseGather(r.stdout), {});
    } finally {
      await Deno.remove(ws, { recursive: true });
    }
  },
});

Deno.test("compare: the gather output parsed; numbers only as numbers, text without control characters", () => {
  const text = [
    "1\texited\t0\t2026-01-15T14:00:00Z\t2026-01-15T14:05:30Z\t7\t1\t1",
    "@@git",
    "branch=kodama/fix-1-20260115140000\x1b[31m",
    `head=${HEAD}`,
    `base=${BASE}`,
    "commits=2",
    "dirty=1",
    "@@numstat",
    "3\t1\tsrc/a.ts",
    "-\t-\tlogo.png",
    "10\t0\tnew file.txt",
    "@@check",
    "FAIL test/a.test.ts",
    "1 failed",
    "@@summary",
    "Fixed the parser.\x07",
    "@@end",
  ].join("\n");
  const g = parseGather(text);
  assertEquals(g.agent, { run: "1", state: "succeeded", exitCode: 0, durationSeconds: 330 });
  assertEquals(g.check, { state: "failed", exitCode: 1, tail: "FAIL test/a.test.ts\n1 failed" });
  assertEquals(g.commits, 2);
  assertEquals(g.uncommitted, 1);
  assertEquals(g.diffstat, {
    files: 3,
    insertions: 13,
    deletions: 1,
    paths: ["src/a.ts", "logo.png", "new file.txt"],
  });
  assert(!g.branch!.includes("\x1b"));
  assertEquals(g.summary, "Fixed the parser.");
  // a forged head or count is dropped
  const forged = parseGather("@@git\nhead=--output=/etc/passwd\ncommits=lots\n@@end");
  assertEquals([forged.head, forged.commits], [undefined, undefined]);
});

Deno.test("compare: a table row per replica; settled once every agent and check has ended", () => {
  const rows: ReplicaRow[] = [
    {
      name: "fix-1",
      replica: 1,
      status: "Running",
      agent: { run: "1", state: "succeeded", exitCode: 0, durationSeconds: 75 },
      check: { state: "passed", exitCode: 0 },
      commits: 1,
      diffstat: { files: 2, insertions: 10, deletions: 3, paths: [] },
      summary: "line one\nDone: all tests pass",
    },
    {
      name: "fix-2",
      replica: 2,
      status: "Running",
      agent: { run: "1", state: "checking" },
      check: { state: "running" },
    },
    { name: "fix-3", replica: 3, status: "Failed" },
  ];
  const t = renderComparison(rows).split("\n");
  assertMatch(t[1], /^fix-1\s+succeeded\s+1m15s\s+1\s+2\s+\+10\/-3\s+passed\s+Done: all tests pass$/);
  assertMatch(t[2], /^fix-2\s+checking\s+-\s+-\s+-\s+-\s+running\s+-$/);
  assertMatch(t[3], /^fix-3\s+Failed\s+/);
  assert(!settled(rows));
  rows[1].agent!.state = "failed";
  assert(settled(rows));
});

Deno.test("compare --diff A B: files framed by size, any content, missing ones", () => {
  const enc = new TextEncoder();
  const bytes = enc.encode("@@file 5\nab\ncd\n@@none\n@@file 0\n\n");
  assertEquals(parseFiles(bytes, 3), ["ab\ncd", undefined, ""]);
  assertEquals(parseFiles(enc.encode("@@file 3\n@@n\n"), 1), ["@@n"]);
});

Deno.test({
  name:
    "agent run --continue (a group's replicas, one session): the run it continues has its check run again",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    const ws = await Deno.makeTempDir({ prefix: "kodama-run-" });
    const enc = new TextEncoder();
    const start = async (check: string, cont: boolean) => {
      const c = enc.encode(check), p = enc.encode("go");
      const out = await runStart(
        startArgv(["sh", "-c", "cat > /dev/null; exit 1"], p.length, c.length, cont),
        new Uint8Array([...c, ...p]),
        { cwd: ws, env: { KODAMA_WORKSPACE: ws, HOME: ws } },
      );
      const id = new TextDecoder().decode(out.stdout).trim();
      const run = join(ws, ".kodama/runs", id);
      assert(await runExit(run, 30_000), `run ${id} did not end`);
      return run;
    };
    const read = (f: string) => Deno.readTextFile(f).catch(() => undefined);
    try {
      // the first run (start --check) and its continuation, given no check: the same check, run again
      await start("echo first-check; exit 4\n", false);
      const second = await start("", true);
      assertEquals(await read(join(second, "check")), "echo first-check; exit 4\n");
      assertEquals(await read(join(second, "check.log")), "first-check\n");
      assertEquals((await read(join(second, "check-exit")))?.trim(), "4");
      // a continuation of a continuation keeps it too
      const third = await start("", true);
      assertEquals(await read(join(third, "check.log")), "first-check\n");
      // --check on the continuation wins
      const fourth = await start("echo own; exit 0\n", true);
      assertEquals(await read(join(fourth, "check.log")), "own\n");
      // a new run (no --continue) gets no check it was not given
      const fresh = await start("", false);
      assertEquals(await read(join(fresh, "check")), undefined);
    } finally {
      await Deno.remove(ws, { recursive: true });
    }
  },
});
