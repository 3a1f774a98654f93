// A run cut off by its pod's end resumes on the session's next pod (issue 80), with the real programs: the
// start program (pod/start.sh) installs the start hook, the session's main process (session/pod/keepalive.sh)
// passes the kubelet's TERM on to the runner (pod/runner.sh + runner.js under Node), which records the cut;
// the next pod's keepalive.sh runs the hook (pod/resume.sh), whose runner continues the same conversation.
// A stop (`kodama stop`'s mark) is never resumed; agent.resumeLimit ends the run interrupted.
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import {
  parseRuns,
  parseRunState,
  type Resume,
  startArgv,
  STATUS_SCRIPT,
} from "../../../src/agent/runs/agent.ts";
import KEEPALIVE from "../../../src/session/pod/keepalive.sh" with { type: "text" };
import { runExit, runStart } from "./_start.ts";

const INIT = `{"type":"system","subtype":"init","model":"claude-a","session_id":"s"}`;
const RESULT = `{"type":"result","subtype":"success","is_error":false,"num_turns":1,"result":"done"}`;
/** A two-step agent: the first step marks its start and works until ended; `--continue` finishes. */
const AGENT = [
  `cat > /dev/null`,
  `case " $* " in *" --continue "*) echo step2 >> "$KODAMA_WORKSPACE/progress"; printf '%s\\n' '${INIT}' '${RESULT}'; exit 0 ;; esac`,
  `echo step1 >> "$KODAMA_WORKSPACE/progress"; printf '%s\\n' '${INIT}'`,
  `while :; do sleep 0.1; done`,
].join("\n");

interface World {
  ws: string;
  home: string;
  run: string;
  env: (pod: string) => Record<string, string>;
}

async function world(): Promise<World> {
  const root = await Deno.makeTempDir({ prefix: "kodama-resume-" });
  const ws = `${root}/ws`, home = `${root}/home`;
  await Deno.mkdir(ws);
  await Deno.mkdir(home);
  return {
    ws,
    home,
    run: `${home}/.kodama/runs/1`,
    env: (pod) => ({
      PATH: "/usr/local/bin:/usr/bin:/bin",
      HOME: home,
      KODAMA_WORKSPACE: ws,
      KODAMA_POD_UID: pod,
      KODAMA_RETRY_BASE_MS: "100",
      GIT_CONFIG_GLOBAL: "/dev/null",
    }),
  };
}

/** The session's main process of one pod (keepalive.sh, no editor files, no idle stop). */
function pod(w: World, uid: string): Deno.ChildProcess {
  return new Deno.Command("sh", {
    args: ["-c", KEEPALIVE, "kodama-session"],
    env: w.env(uid),
    clearEnv: true,
    cwd: w.ws,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
}

async function until(what: string, ok: () => Promise<boolean>, ms = 20_000) {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
const exists = (p: string) => Deno.stat(p).then(() => true, () => false);
const read = (p: string) => Deno.readTextFile(p).then((s) => s.trim(), () => undefined);

/** Start a run of AGENT in pod `uid`, as `kodama agent run` does, and wait for its first step. */
async function startRun(w: World, uid: string, resumeLimit?: number, agent = AGENT) {
  const argv = ["sh", "-c", agent, "agent"];
  const resume: Resume = {
    argv: [...argv, "--continue"],
    modelAt: argv.length + 1,
    switchModels: false,
    ...(resumeLimit !== undefined ? { resumeLimit } : {}),
  };
  const prompt = new TextEncoder().encode("do both steps");
  const out = await runStart(
    startArgv(argv, prompt.length, 0, false, undefined, 0, resume, true),
    prompt,
    { cwd: w.ws, env: w.env(uid), clearEnv: true },
  );
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  await until("step 1", async () => (await read(`${w.ws}/progress`)) === "step1");
}

/** The pod's end: the kubelet's TERM to its main process, which passes it on and ends. */
async function endPod(p: Deno.ChildProcess) {
  p.kill("SIGTERM");
  const s = await p.status;
  assertEquals(s.code, 0);
}

/** Processes whose environment names pod `uid` (what keepalive.sh sees as the pod's). */
async function podProcesses(uid: string): Promise<number> {
  const out = await new Deno.Command("sh", {
    args: ["-c", `grep -l "KODAMA_POD_UID=${uid}" /proc/[0-9]*/environ 2>/dev/null | wc -l`],
    env: { KODAMA_POD_UID: "" },
  }).output();
  return Number(new TextDecoder().decode(out.stdout).trim());
}

Deno.test("resume: the pod's end is a cut, recorded; the next pod resumes the run to its end", async () => {
  const w = await world();
  const a = `pod-a-${crypto.randomUUID()}`, b = `pod-b-${crypto.randomUUID()}`;
  const pa = pod(w, a);
  await startRun(w, a);
  await endPod(pa);
  // the cut is durable in the run's folder; the run has not ended (no exit: not failed, not interrupted)
  const cut = JSON.parse((await read(`${w.run}/cut`))!);
  assertEquals([cut.pod, cut.cause], [a, "deleted"]);
  assert(!Number.isNaN(Date.parse(cut.at)));
  assertEquals(await exists(`${w.run}/exit`), false);
  assertEquals(await exists(`${w.run}/ended-by`), false);
  assertEquals(await podProcesses(a), 0, "the old pod's processes are gone");
  assertStringIncludes((await read(`${w.run}/log`))!, "cut by the pod's end (SIGTERM)");
  // the pod's main process named the ending pod before it passed the TERM on
  assertEquals(await read(`${w.home}/.kodama/ending`), `pod=${a}`);
  // read from the next pod before the resume: still running (agent wait waits on; no end is announced)
  const status = await new Deno.Command("sh", {
    args: ["-c", STATUS_SCRIPT, "kodama-status"],
    env: w.env(b),
    clearEnv: true,
    cwd: w.ws,
  }).output();
  assertEquals(parseRuns(new TextDecoder().decode(status.stdout))[0]?.state, "running");
  // the next pod: its start hook resumes the run, with the preset's continue
  const pb = pod(w, b);
  try {
    assertEquals(await runExit(w.run, 20_000), "0");
    assertEquals(await read(`${w.ws}/progress`), "step1\nstep2");
    const st = parseRunState(await read(`${w.run}/state.json`));
    assertEquals(st.resumes?.length, 1);
    assertEquals([st.resumes![0].cause, st.resumes![0].pod], ["deleted", a]);
    assertEquals(st.runnerOutcome?.class, "succeeded");
    assertEquals(await read(`${w.run}/pod`), b);
    assertEquals(await exists(`${w.run}/cut`), false);
    assertStringIncludes(
      (await read(`${w.run}/log`))!,
      `"event":"resume","cause":"deleted","attempt":1,"of":3`,
    );
  } finally {
    await endPod(pb);
    await Deno.remove(`${w.home}/..`, { recursive: true });
  }
});

/** Pids of pod `uid` whose command line starts with `prefix` (NUL-separated, as in /proc). */
async function podPids(uid: string, prefix: string): Promise<number[]> {
  const found: number[] = [];
  for await (const e of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const env = await Deno.readTextFile(`/proc/${e.name}/environ`);
      const cmd = await Deno.readTextFile(`/proc/${e.name}/cmdline`);
      if (env.split("\0").includes(`KODAMA_POD_UID=${uid}`) && cmd.startsWith(prefix)) {
        found.push(Number(e.name));
      }
    } catch { /* gone, or not ours */ }
  }
  return found;
}

Deno.test("resume: the pod's TERM reaching the agent before its runner is still a cut, never the run's end", async () => {
  const w = await world();
  const a = `pod-a-${crypto.randomUUID()}`, b = `pod-b-${crypto.randomUUID()}`;
  const pa = pod(w, a);
  try {
    await startRun(w, a);
    // keepalive.sh names the ending pod first, then signals the pod's processes one by one: here the agent
    // gets its TERM and ends while the runner's own TERM is still to come
    await Deno.writeTextFile(`${w.home}/.kodama/ending`, `pod=${a}\n`);
    const agents = await podPids(a, "sh\0-c\0cat > /dev/null");
    assertEquals(agents.length, 1);
    Deno.kill(agents[0], "SIGTERM");
    await until("the runner's end", async () => (await podPids(a, "node\0")).length === 0);
    const cut = JSON.parse((await read(`${w.run}/cut`)) ?? "{}");
    assertEquals([cut.pod, cut.cause], [a, "deleted"]);
    assertEquals(await exists(`${w.run}/exit`), false, "the run did not end");
    assertEquals(await exists(`${w.run}/ended-by`), false);
  } finally {
    await endPod(pa);
  }
  const pb = pod(w, b);
  try {
    assertEquals(await runExit(w.run, 20_000), "0");
    const st = parseRunState(await read(`${w.run}/state.json`));
    assertEquals(st.resumes?.map((r) => r.cause), ["deleted"]);
  } finally {
    await endPod(pb);
    await Deno.remove(`${w.home}/..`, { recursive: true });
  }
});

Deno.test("resume: what the run changed before the cut counts as its work after the resume", async () => {
  const w = await world();
  const a = `pod-a-${crypto.randomUUID()}`, b = `pod-b-${crypto.randomUUID()}`;
  const git = (...args: string[]) =>
    new Deno.Command("git", { args, cwd: w.ws, env: { GIT_CONFIG_GLOBAL: "/dev/null" } }).output();
  await Deno.writeTextFile(`${w.ws}/.gitignore`, "progress\n");
  await git("init", "-q");
  await git("add", "-A");
  await git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "start");
  // step 1 writes the work and is cut; the continuation only says it is done
  const agent = AGENT.replace(
    `echo step1 >> "$KODAMA_WORKSPACE/progress";`,
    `echo made > "$KODAMA_WORKSPACE/work.txt"; echo step1 >> "$KODAMA_WORKSPACE/progress";`,
  );
  const pa = pod(w, a);
  await startRun(w, a, undefined, agent);
  await endPod(pa);
  const pb = pod(w, b);
  try {
    assertEquals(await runExit(w.run, 20_000), "0");
    // commits, files changed since the run's first start (watch.sh git_end)
    assertEquals(await read(`${w.run}/git`), "0 1");
  } finally {
    await endPod(pb);
    await Deno.remove(`${w.home}/..`, { recursive: true });
  }
});

Deno.test("resume: a stop (kodama stop's mark names the pod) is not a cut, and the next pod does not resume it", async () => {
  const w = await world();
  const a = `pod-a-${crypto.randomUUID()}`, b = `pod-b-${crypto.randomUUID()}`;
  const pa = pod(w, a);
  await startRun(w, a);
  // what `kodama stop` writes before it deletes the Job (session/pod/stopmark.sh)
  await Deno.writeTextFile(`${w.home}/.kodama/stopped`, `pod=${a}\nat=2026-01-01T00:00:00Z\n`);
  await endPod(pa);
  assertEquals(await exists(`${w.run}/cut`), false);
  assertEquals(await exists(`${w.run}/exit`), false);
  // the hook on the next pod starts nothing (a runner it started would carry pod b's uid)
  const hook = await new Deno.Command("sh", {
    args: [`${w.home}/.kodama/on-start.d/agent-resume`],
    env: w.env(b),
    clearEnv: true,
  }).output();
  assertEquals(hook.code, 0);
  assertEquals(await podProcesses(b), 0);
  assertEquals(await read(`${w.run}/pod`), a);
  assertEquals(await read(`${w.ws}/progress`), "step1");
  await Deno.remove(`${w.home}/..`, { recursive: true });
});

Deno.test("resume: a stop whose TERM reaches the agent's runner before its shell ends no run either", async () => {
  const w = await world();
  const a = `pod-a-${crypto.randomUUID()}`;
  const pa = pod(w, a);
  try {
    await startRun(w, a);
    // kodama stop's mark, then keepalive.sh's: the runner (Node) gets its TERM and ends (143) while the
    // shell around it (runner.sh) has not had its own yet: the order the processes are signalled in
    await Deno.writeTextFile(`${w.home}/.kodama/stopped`, `pod=${a}\nat=2026-01-01T00:00:00Z\n`);
    await Deno.writeTextFile(`${w.home}/.kodama/ending`, `pod=${a}\n`);
    const runners = await podPids(a, "node\0");
    assertEquals(runners.length, 1);
    Deno.kill(runners[0], "SIGTERM");
    const shell = Number(await read(`${w.run}/pid`));
    await until("the runner's shell's end", async () => {
      const st = await Deno.readTextFile(`/proc/${shell}/stat`).catch(() => "");
      return !st || / Z /.test(st);
    });
    assertEquals(await exists(`${w.run}/cut`), false, "a stop was taken for a cut");
    assertEquals(await exists(`${w.run}/exit`), false, "a stop was taken for the run's end");
  } finally {
    await endPod(pa);
    await Deno.remove(`${w.home}/..`, { recursive: true });
  }
});

Deno.test("resume: past agent.resumeLimit the run ends interrupted, with the reason", async () => {
  const w = await world();
  const a = `pod-a-${crypto.randomUUID()}`, b = `pod-b-${crypto.randomUUID()}`;
  const pa = pod(w, a);
  await startRun(w, a, 0);
  await endPod(pa);
  const pb = pod(w, b);
  try {
    assertEquals(await runExit(w.run, 20_000), "130");
    assertEquals(await read(`${w.run}/ended-by`), "interrupted");
    const st = parseRunState(await read(`${w.run}/state.json`));
    assertEquals(st.runnerOutcome?.message, "cut by the pod's end 1 times; agent.resumeLimit is 0");
    assertEquals(await read(`${w.ws}/progress`), "step1");
  } finally {
    await endPod(pb);
    await Deno.remove(`${w.home}/..`, { recursive: true });
  }
});

Deno.test("resume: an old pod still holding the run (its lock beats) is waited for; then the run resumes", async () => {
  const w = await world();
  const a = `pod-a-${crypto.randomUUID()}`, b = `pod-b-${crypto.randomUUID()}`;
  const pa = pod(w, a);
  await startRun(w, a);
  await endPod(pa);
  // an older cluster made the new pod while another runner still holds the run on the same volume
  const lock = () =>
    Deno.writeTextFile(`${w.run}/lock`, JSON.stringify({ pod: "pod-old", pid: 1, beat: Date.now() }));
  await lock();
  const beating = setInterval(lock, 1000);
  const pb = pod(w, b);
  try {
    await until(
      "the new runner waiting",
      async () => ((await read(`${w.run}/log`)) ?? "").includes("still held by pod pod-old: waiting"),
    );
    assertEquals(await read(`${w.run}/pod`), a, "nothing resumed while the lock is held");
    assertEquals(await read(`${w.ws}/progress`), "step1");
    clearInterval(beating);
    await Deno.remove(`${w.run}/lock`);
    assertEquals(await runExit(w.run, 20_000), "0");
    assertEquals(await read(`${w.ws}/progress`), "step1\nstep2");
    assertEquals(await read(`${w.run}/pod`), b);
  } finally {
    clearInterval(beating);
    await endPod(pb);
    await Deno.remove(`${w.home}/..`, { recursive: true });
  }
});

Deno.test("resume: a pod that ends while it waits for the run overwrites nothing, and its end counts toward the limit", async () => {
  const w = await world();
  const [a, b, c] = ["a", "b", "c"].map((x) => `pod-${x}-${crypto.randomUUID()}`);
  const pa = pod(w, a);
  await startRun(w, a, 1);
  await endPod(pa);
  const cut = await read(`${w.run}/cut`);
  const lock = () =>
    Deno.writeTextFile(`${w.run}/lock`, JSON.stringify({ pod: "pod-old", pid: 1, beat: Date.now() }));
  await lock();
  const beating = setInterval(lock, 1000);
  try {
    // pod b's runner waits for the run, and b ends before it gets it
    const pb = pod(w, b);
    await until(
      "b's runner waiting",
      async () => ((await read(`${w.run}/log`)) ?? "").includes("still held by pod pod-old: waiting"),
    );
    await endPod(pb);
    await until("b's end noted", () => exists(`${w.run}/waits`));
    // a's cut (with what the run had spent) is still the one to resume from
    assertEquals(await read(`${w.run}/cut`), cut);
    assertStringIncludes((await read(`${w.run}/log`))!, "this pod ended while it waited for the run");
  } finally {
    clearInterval(beating);
  }
  await Deno.remove(`${w.run}/lock`);
  // pod c takes the run up: two pod ends under it, over agent.resumeLimit 1
  const pc = pod(w, c);
  try {
    assertEquals(await runExit(w.run, 20_000), "130");
    const st = parseRunState(await read(`${w.run}/state.json`));
    assertEquals(st.runnerOutcome?.message, "cut by the pod's end 2 times; agent.resumeLimit is 1");
    assertEquals(st.resumes?.map((r) => r.pod), [a, b]);
    assertEquals(await read(`${w.ws}/progress`), "step1");
    assertEquals(await exists(`${w.run}/waits`), false);
  } finally {
    await endPod(pc);
    await Deno.remove(`${w.home}/..`, { recursive: true });
  }
});

Deno.test("resume: a custom command with continue arguments is resumed only (never continued after transient trouble)", async () => {
  const { resumeOf } = await import("../../../src/agent/runs/agentrun.ts");
  const custom = { preset: "custom", command: ["my-agent", "--yes"], continueArgs: ["--continue"] };
  assertEquals(resumeOf(custom, 2), {
    argv: ["my-agent", "--yes", "--continue"],
    modelAt: 3,
    switchModels: false,
    resumeOnly: true,
    resumeLimit: 2,
  });
  assertEquals(resumeOf({ ...custom, continueArgs: [] }), undefined);
});
