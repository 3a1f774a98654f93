// The pod's Node runner (src/agent/pod/runner.js), run for real under the sh runner as a pod runs it, with
// a stand-in agent printing Claude Code's stream-json: a transient end is waited out and the conversation
// continued with the continue arguments; a permanent one is not; a budget ends the run; an announced wait
// is not a stall; the state file says the wait while it happens.
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { renderLog } from "../../../src/agent/outcome/render.ts";
import { NOTIFY_JS, parseRunState, RUNNER_JS, RUNNER_SCRIPT } from "../../../src/agent/runs/agent.ts";
import { classify, factsOf } from "../../../src/agent/outcome/outcome.ts";
import { shellQuote } from "../../../src/base/text/escape.ts";

const result = (o: Record<string, unknown>) =>
  JSON.stringify({ type: "result", subtype: "success", is_error: false, num_turns: 1, result: "done", ...o });
const INIT = `{"type":"system","subtype":"init","model":"claude-a","session_id":"s"}`;
const say = (id: string, model = "claude-a") =>
  JSON.stringify({
    type: "assistant",
    message: { id, model, content: [{ type: "text", text: `turn ${id}` }] },
  });

/** A stand-in agent: `first` when run without --continue, `then` with it (the continue arguments). */
function agentScript(first: string[], then: string[]): string {
  // `exit N` is the agent's exit code; every other line is printed
  const lines = (ls: string[]) =>
    ls.map((l) => /^exit \d+$/.test(l) ? l : `printf '%s\\n' ${shellQuote(l, { always: true })}`).join("\n");
  return [
    `cat > /dev/null`,
    `case " $* " in *" --continue "*) echo "args: $*" >&2`,
    lines(then),
    `;; *)`,
    lines(first),
    `;; esac`,
  ].join("\n");
}

async function runWith(
  script: string,
  env: Record<string, string>,
  o: {
    watch?: (run: string) => Promise<void>;
    prefix?: string[];
    switchModels?: boolean;
    /** the run's id (default 1), and what the session's runs folder holds before it starts */
    id?: number;
    before?: (runs: string) => Promise<void>;
  } = {},
  /** arguments after the agent's (a live run's `--input-format stream-json`) */
  extra: string[] = [],
) {
  const ws = await Deno.makeTempDir({ prefix: "kodama-runner-" });
  const run = `${ws}/.kodama/runs/${o.id ?? 1}`;
  await Deno.mkdir(run, { recursive: true });
  if (o.before) await o.before(`${ws}/.kodama/runs`);
  await Deno.writeTextFile(`${run}/prompt`, "do it\n");
  // a preset's run: its settings in the `env K=V` prefix, the continue argument at the end
  const argv = [...(o.prefix ?? []), "sh", "-c", script, "agent", ...extra];
  const resume = {
    argv: [...argv, "--continue"],
    modelAt: argv.length + 1,
    switchModels: o.switchModels ?? false,
  };
  const child = new Deno.Command("sh", {
    args: ["-c", RUNNER_SCRIPT, "kodama-run", run, RUNNER_JS, NOTIFY_JS, ...argv],
    cwd: ws,
    env: {
      KODAMA_WORKSPACE: ws,
      KODAMA_RESUME: btoa(JSON.stringify(resume)),
      KODAMA_RETRY_BASE_MS: "200",
      GIT_CONFIG_GLOBAL: "/dev/null",
      ...env,
    },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  if (o.watch) await o.watch(run);
  const out = await child.output();
  const read = (f: string) => Deno.readTextFile(`${run}/${f}`).then((s) => s.trim()).catch(() => undefined);
  const r = {
    dir: run,
    code: out.code,
    stderr: new TextDecoder().decode(out.stderr),
    exit: await read("exit"),
    endedBy: await read("ended-by"),
    log: (await read("log")) ?? "",
    state: parseRunState(await read("state.json")),
  };
  await Deno.remove(ws, { recursive: true });
  return r;
}

Deno.test("runner: an overloaded end is waited out and the same conversation continued", async () => {
  const r = await runWith(
    agentScript(
      [
        INIT,
        result({ is_error: true, api_error_status: 529, result: "API Error: 529 Overloaded" }),
        "exit 1",
      ],
      [INIT, say("m2"), result({ result: "Finished." })],
    ),
    {},
  );
  assertEquals(r.code, 0, r.stderr);
  assertEquals(r.exit, "0");
  assertStringIncludes(r.log, `"type":"kodama","event":"wait","reason":"overloaded"`);
  assertStringIncludes(r.log, `"type":"kodama","event":"continue","reason":"overloaded","attempt":1`);
  assertStringIncludes(r.log, "args: --continue");
  assertEquals(r.state.continuations, 1);
  assertEquals(r.state.runnerOutcome?.class, "succeeded");
  // kodama reads the same log to the same outcome
  const o = classify(factsOf(r.log), { state: "succeeded", exitCode: 0 });
  assertEquals(o.class, "succeeded");
});

Deno.test("runner: a wait on an upstream kodama's gateway cannot reach names the gateway and the host", async () => {
  // the gateway's 502 as Claude Code ends with it (its words in the result), two spellings of the host
  for (const [host, err] of [["api.example.com", "ECONNREFUSED"], ["10.0.0.7:8443", "ETIMEDOUT"]]) {
    const body = JSON.stringify({
      type: "error",
      error: { type: "api_error", message: `kodama-gateway: upstream ${host} unreachable (${err})` },
    });
    const r = await runWith(
      agentScript(
        [INIT, result({ is_error: true, api_error_status: 502, result: `API Error: 502 ${body}` }), "exit 1"],
        [INIT, say("m2"), result({ result: "Finished." })],
      ),
      {},
    );
    assertEquals(r.code, 0, r.stderr);
    const wait = r.log.split("\n").find((l) => l.includes(`"event":"wait"`));
    assert(wait, r.log);
    assertEquals(JSON.parse(wait).via, `gateway cannot reach ${host} (${err})`);
    // agent logs shows it so (the wait line as rendered)
    assertMatch(
      renderLog(wait),
      new RegExp(
        `\\.\\. waiting \\d+s: gateway cannot reach ${
          host.replaceAll(".", "\\.")
        } \\(${err}\\), then continuing`,
      ),
    );
    assertEquals(r.state.runnerOutcome?.class, "succeeded");
  }
});

Deno.test("runner: auth is never retried; the attempts are bounded", async () => {
  const bad = agentScript(
    [INIT, result({ is_error: true, api_error_status: 401, result: "Invalid API key" }), "exit 1"],
    ["exit 9"],
  );
  const r = await runWith(bad, {});
  assertEquals(r.exit, "1");
  assert(!r.log.includes(`"event":"continue"`), r.log);
  assertEquals(r.state.runnerOutcome?.class, "auth");
  // overloaded every time: KODAMA_RETRY_ATTEMPTS continuations, then said
  const always = agentScript(
    [INIT, result({ is_error: true, api_error_status: 529, result: "overloaded" }), "exit 1"],
    [INIT, result({ is_error: true, api_error_status: 529, result: "overloaded" }), "exit 1"],
  );
  const o = await runWith(always, { KODAMA_RETRY_ATTEMPTS: "2" });
  assertEquals(o.exit, "1");
  assertEquals(o.state.continuations, 2);
  assertEquals(o.state.runnerOutcome?.class, "overloaded");
  assertStringIncludes(o.log, "not continued again (2 continuations: KODAMA_RETRY_ATTEMPTS)");
});

Deno.test("runner: a budget of turns ends the agent, outcome budget, not continued", async () => {
  const slow = [
    `cat > /dev/null`,
    `printf '%s\\n' '${INIT}'`,
    `i=0; while [ $i -lt 50 ]; do printf '{"type":"assistant","message":{"id":"m%s","model":"claude-a","content":[{"type":"text","text":"t"}]}}\\n' "$i"; sleep 0.1; i=$((i+1)); done`,
  ].join("\n");
  const r = await runWith(slow, { KODAMA_MAX_TURNS: "3" });
  assertEquals(r.endedBy, "budget");
  assert(r.exit !== "0");
  assertEquals(r.state.runnerOutcome?.class, "budget");
  assertStringIncludes(r.log, `"event":"budget","message":"more than 3 turns (KODAMA_MAX_TURNS)"`);
  assert(!r.log.includes(`"event":"continue"`));
});

Deno.test("runner: an announced wait is not a stall, and the state says it while it happens", async () => {
  const retry = JSON.stringify({
    type: "system",
    subtype: "api_retry",
    attempt: 3,
    max_retries: 10,
    retry_delay_ms: 3000,
    error_status: 429,
    error: "rate_limit",
  });
  const script = [
    `cat > /dev/null`,
    `printf '%s\\n' '${INIT}' '${retry}'`,
    // silent for longer than the stall limit, inside the announced wait
    `while [ ! -f "$KODAMA_RUN_DIR/seen" ]; do sleep 0.1; done; sleep 1`,
    `printf '%s\\n' '${say("m1")}' '${result({})}'`,
  ].join("\n");
  let seen: ReturnType<typeof parseRunState> | undefined;
  const r = await runWith(script, { KODAMA_STALL_SECONDS: "2" }, {
    watch: async (run) => {
      for (let i = 0; i < 100 && !seen?.waiting; i++) {
        seen = parseRunState(await Deno.readTextFile(`${run}/state.json`).catch(() => ""));
        if (!seen.waiting) await new Promise((res) => setTimeout(res, 100));
      }
      await Deno.writeTextFile(`${run}/seen`, "1");
    },
  });
  assertEquals(seen?.waiting?.reason, "429");
  assertEquals([seen?.waiting?.attempt, seen?.waiting?.of], [3, 10]);
  assertEquals(r.endedBy, undefined, r.log);
  assertEquals(r.exit, "0");
  assertEquals(r.state.waiting, undefined);
});

Deno.test("runner: a key the API refuses is not retried into success: the agent is ended at once, auth", async () => {
  const retry401 = JSON.stringify({
    type: "system",
    subtype: "api_retry",
    attempt: 1,
    max_retries: 10,
    retry_delay_ms: 30000,
    error_status: 401,
    error: "authentication_failed",
  });
  const t0 = Date.now();
  const r = await runWith(
    [`cat > /dev/null`, `printf '%s\\n' '${INIT}' '${retry401}'`, `sleep 30`].join("\n"),
    {},
  );
  assert(Date.now() - t0 < 15_000, "ended within seconds, not after the CLI's retries");
  assert(r.exit !== "0");
  assertEquals(r.state.runnerOutcome?.class, "auth");
  assertStringIncludes(r.log, "kodama: invalid API key (HTTP 401 authentication_failed): ended, not retried");
  assert(!r.log.includes(`"event":"continue"`));
  assertEquals(classify(factsOf(r.log), { state: "failed", exitCode: Number(r.exit) }).class, "auth");
});

Deno.test("runner: the plain-sh runner and its watchdog (pod/runner.sh, pod/watch.sh) run under busybox sh and dash", async () => {
  for (const shell of [["dash"], ["busybox", "sh"]]) {
    const ws = await Deno.makeTempDir({ prefix: "kodama-runner-sh-" });
    const run = `${ws}/.kodama/runs/1`;
    await Deno.mkdir(run, { recursive: true });
    await Deno.writeTextFile(`${run}/prompt`, "do it\n");
    await Deno.writeTextFile(`${run}/check`, "test -f out.txt\n");
    const out = await new Deno.Command(shell[0], {
      args: [
        ...shell.slice(1),
        "-c",
        RUNNER_SCRIPT,
        "kodama-run",
        run,
        RUNNER_JS,
        NOTIFY_JS,
        "sh",
        "-c",
        "cat > out.txt; echo done",
      ],
      cwd: ws,
      env: { KODAMA_WORKSPACE: ws, KODAMA_STALL_SECONDS: "5", PATH: Deno.env.get("PATH") ?? "" },
      clearEnv: true,
    }).output();
    assertEquals(out.code, 0, shell.join(" "));
    const read = (f: string) => Deno.readTextFile(`${run}/${f}`).then((s) => s.trim());
    assertEquals(await read("exit"), "0", shell.join(" "));
    assertEquals(await read("log"), "done");
    assertEquals(await read("check-exit"), "0");
    assertEquals(await Deno.readTextFile(`${ws}/out.txt`), "do it\n");
    await Deno.remove(ws, { recursive: true });
  }
});

Deno.test("runner: after an overload, a preset without its own fallback moves to the next of KODAMA_MODELS", async () => {
  const r = await runWith(
    agentScript(
      [
        INIT,
        result({ is_error: true, api_error_status: 529, result: "API Error: 529 Overloaded" }),
        "exit 1",
      ],
      [INIT, say("m2", "gpt-b"), result({ result: "Finished." })],
    ),
    {},
    { prefix: ["env", "KODAMA_MODELS=gpt-a,gpt-b", "KODAMA_MODEL_FLAG=-m"], switchModels: true },
  );
  assertEquals(r.exit, "0", r.log);
  assertStringIncludes(r.log, "args: --continue -m gpt-b");
  assertStringIncludes(r.log, `"type":"kodama","event":"model","model":"gpt-b","reason":"overloaded"`);
  assert(r.state.models?.includes("gpt-b"), JSON.stringify(r.state));
  // logs -f says it
  const { renderLog } = await import("../../../src/agent/outcome/render.ts");
  assertStringIncludes(renderLog(r.log), ".. switched to gpt-b (overloaded)");
});

/** Resolves once `path` exists (the runner took a message): polled, bounded. */
async function until(path: string, ms = 20_000): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end;) {
    try {
      await Deno.stat(path);
      return;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${path} never appeared`);
}

/** agent say's way into the inbox (pod/say.sh): a hidden file, then a rename. */
async function drop(run: string, n: number, msg: unknown): Promise<void> {
  await Deno.mkdir(`${run}/inbox`, { recursive: true });
  await Deno.writeTextFile(`${run}/inbox/.m${n}`, JSON.stringify(msg));
  await Deno.rename(`${run}/inbox/.m${n}`, `${run}/inbox/${n}.json`);
}

// an agent without live input: the first run waits for `go`; a continuation prints the prompt it was given
const HOLDING = [
  `p=$(cat)`,
  `case " $* " in *" --continue "*) printf '%s\\n' "continued with: $p" ;;`,
  `*) while [ ! -f "$KODAMA_RUN_DIR/go" ] && [ ! -f "$KODAMA_RUN_DIR/stopped" ]; do sleep 0.1; done`,
  `printf '%s\\n' '${result({})}' ;; esac`,
].join("\n");

Deno.test("runner: a message said to an agent without live input is the next turn's prompt, same conversation", async () => {
  const r = await runWith(HOLDING, {}, {
    watch: async (run) => {
      await until(`${run}/takes`);
      assertEquals(await Deno.readTextFile(`${run}/takes`), "queue\n");
      await drop(run, 1, { kind: "say", text: "also the error path" });
      await until(`${run}/queued/1.json`);
      await Deno.writeTextFile(`${run}/go`, "");
    },
  });
  assertEquals([r.code, r.exit, r.endedBy], [0, "0", undefined], r.log);
  assertStringIncludes(r.log, "continued with: also the error path");
  assertStringIncludes(r.log, `"event":"say","how":"queued for the next turn"`);
  assertStringIncludes(r.log, `"event":"turn"`);
  // the message itself is in the conversation, never in kodama's own lines
  assert(!r.log.split("\n").some((l) => l.includes(`"type":"kodama"`) && l.includes("error path")));
});

Deno.test("runner: an interrupt ends an agent without live input as interrupted; it is not continued", async () => {
  const r = await runWith(HOLDING, {}, {
    watch: async (run) => {
      await until(`${run}/takes`);
      await drop(run, 1, { kind: "interrupt" });
      await until(`${run}/said/1.json`);
    },
  });
  assertEquals([r.exit, r.endedBy], ["130", "interrupted"], r.log);
  assertEquals(r.state.runnerOutcome?.class, "interrupted");
  assert(!r.log.includes("continued with"), r.log);
});

/** A live run's arguments, as the claude preset has them: the runner adds --replay-user-messages. */
const STREAM = ["--input-format", "stream-json", "--output-format", "stream-json"];

// a live agent (Claude Code's stream-json input): reads user lines; answers each with a result line
const LIVE = [
  `n=0`,
  `while IFS= read -r line; do`,
  `  n=$((n + 1))`,
  `  case "$line" in *'"control_request"'*) printf '%s\\n' '{"type":"result","subtype":"error_during_execution","is_error":true}'; continue ;; esac`,
  `  printf 'got %s: %s\\n' "$n" "$line"`,
  `  case " $* " in *" --replay-user-messages "*) printf '%s\\n' "$line" ;; esac`,
  `  [ "$n" = 1 ] && while [ ! -f "$KODAMA_RUN_DIR/go" ]; do sleep 0.1; done`,
  `  printf '%s\\n' '${result({})}'`,
  `done`,
  `echo "stdin closed"`,
].join("\n");

Deno.test("runner: a live agent gets the message on its open stdin; stdin is closed after the last result", async () => {
  const r = await runWith(LIVE + "\n#", {}, {
    prefix: ["env", "KODAMA_X=1"],
    watch: async (run) => {
      await until(`${run}/takes`);
      await drop(run, 1, { kind: "say", text: "live words" });
      await until(`${run}/sent/1.json`);
      await Deno.writeTextFile(`${run}/go`, "");
      // said (delivered) only once the agent echoed it back: it is in the conversation
      await until(`${run}/said/1.json`);
    },
  }, STREAM);
  assertEquals([r.code, r.exit], [0, "0"], r.log);
  assertStringIncludes(r.log, `got 1: {"type":"user"`);
  assertStringIncludes(r.log, "do it");
  assertStringIncludes(
    r.log,
    `got 2: {"type":"user","message":{"role":"user","content":[{"type":"text","text":"live words"}]}}`,
  );
  assertStringIncludes(r.log, "stdin closed");
});

// Claude Code as seen on the real cluster: a message that comes while a turn runs is folded into that turn,
// one result for both, which says how many turns it still has queued (queued_turn_count)
const FOLDING = [
  `IFS= read -r first`,
  `while [ ! -f "$KODAMA_RUN_DIR/go" ]; do sleep 0.1; done`,
  `IFS= read -r second`,
  `printf 'folded: %s\\n' "$second"`,
  `printf '%s\\n' "$second"`,
  `printf '%s\\n' '${result({ queued_turn_count: 0 })}'`,
  `while IFS= read -r more; do printf 'more: %s\\n' "$more"; done`,
  `echo "stdin closed"`,
].join("\n");

Deno.test("runner: one result for a folded message (queued_turn_count 0) closes stdin: the run ends", async () => {
  const r = await runWith(FOLDING + "\n#", {}, {
    prefix: ["env", "KODAMA_X=1"],
    watch: async (run) => {
      await until(`${run}/takes`);
      await drop(run, 1, { kind: "say", text: "folded words" });
      await until(`${run}/sent/1.json`);
      await Deno.writeTextFile(`${run}/go`, "");
    },
  }, STREAM);
  assertEquals([r.code, r.exit], [0, "0"], r.log);
  assertStringIncludes(r.log, "folded words");
  assertStringIncludes(r.log, "stdin closed");
  assert(!r.log.includes("more:"), r.log);
});

Deno.test("runner: without Node, an agent given --input-format stream-json gets the prompt as one user line", async () => {
  for (const shell of [["dash"], ["busybox", "sh"]]) {
    const ws = await Deno.makeTempDir({ prefix: "kodama-runner-sh-" });
    const run = `${ws}/.kodama/runs/1`;
    await Deno.mkdir(run, { recursive: true });
    const prompt = 'fix "the" C:\\path\n\tand this\n';
    await Deno.writeTextFile(`${run}/prompt`, prompt);
    const out = await new Deno.Command(shell[0], {
      args: [
        ...shell.slice(1),
        "-c",
        RUNNER_SCRIPT,
        "kodama-run",
        run,
        RUNNER_JS,
        NOTIFY_JS,
        "sh",
        "-c",
        "cat > in.jsonl",
        "agent",
        "--input-format",
        "stream-json",
      ],
      cwd: ws,
      // no KODAMA_RESUME: the plain-sh runner, as in an image without Node
      env: { KODAMA_WORKSPACE: ws, PATH: Deno.env.get("PATH") ?? "" },
      clearEnv: true,
    }).output();
    assertEquals(out.code, 0, shell.join(" "));
    const line = JSON.parse(await Deno.readTextFile(`${ws}/in.jsonl`));
    assertEquals(line.type, "user");
    assertEquals(line.message.content[0].text, prompt.replace(/\n$/, ""), shell.join(" "));
    await Deno.remove(ws, { recursive: true });
  }
});

// Claude Code waiting on its first answer (issue 84): the message is written to its stdin, but it ends
// after the first result without taking it in (no echo); a continuation prints the prompt it was given
const DROPPING = [
  `IFS= read -r first`,
  `case " $* " in *" --continue "*) printf 'continued with: %s\\n' "$first"; printf '%s\\n' "$first" ;;`,
  `*) while [ ! -f "$KODAMA_RUN_DIR/go" ]; do sleep 0.1; done ;; esac`,
  `printf '%s\\n' '${result({ queued_turn_count: 0 })}'`,
].join("\n");

Deno.test("runner: a message a live agent never took in is not lost: the next turn of the same run carries it", async () => {
  let pending = -1;
  const r = await runWith(DROPPING + "\n#", {}, {
    prefix: ["env", "KODAMA_X=1"],
    watch: async (run) => {
      await until(`${run}/takes`);
      await drop(run, 1, { kind: "say", text: "dropped words" });
      await until(`${run}/sent/1.json`);
      // the runner counts it in state.json just after it wrote the message out (two writes, not one)
      for (const end = Date.now() + 20_000; Date.now() < end && pending !== 1;) {
        pending = parseRunState(await Deno.readTextFile(`${run}/state.json`).catch(() => "{}")).undelivered ??
          0;
        if (pending !== 1) await new Promise((r) => setTimeout(r, 50));
      }
      await Deno.writeTextFile(`${run}/go`, "");
    },
  }, STREAM);
  assertEquals([r.code, r.exit], [0, "0"], r.log);
  // agent status shows it while it is not in a conversation
  assertEquals(pending, 1);
  assertStringIncludes(r.log, "continued with: ");
  assertStringIncludes(r.log, "dropped words");
  assertStringIncludes(r.log, `"event":"turn","reason":"said"`);
  assertEquals(r.state.undelivered, undefined);
});

Deno.test("runner: what an earlier run kept queued is carried by the session's next run, once", async () => {
  const msg = (text: string) => JSON.stringify({ kind: "say", text });
  const r = await runWith(LIVE + "\n#", {}, {
    id: 2,
    prefix: ["env", "KODAMA_X=1"],
    before: async (runs) => {
      // run 1 ended with one message queued and one written to its CLI, never echoed back
      for (const d of ["queued", "sent"]) await Deno.mkdir(`${runs}/1/${d}`, { recursive: true });
      await Deno.writeTextFile(`${runs}/1/exit`, "0\n");
      await Deno.writeTextFile(`${runs}/1/queued/3.json`, msg("kept for later"));
      await Deno.writeTextFile(`${runs}/1/sent/4.json`, msg("never echoed"));
      await Deno.writeTextFile(`${runs}/1/state.json`, JSON.stringify({ undelivered: 2 }));
    },
    watch: async (run) => {
      await until(`${run}/takes`);
      await Deno.writeTextFile(`${run}/go`, "");
    },
  }, STREAM);
  assertEquals([r.code, r.exit], [0, "0"], r.log);
  // the first user line: the run's prompt, then what was kept
  const first = r.log.split("\n").find((l) => l.startsWith("got 1: "))!;
  assertStringIncludes(first, "do it");
  assertStringIncludes(first, "kept for later");
  assertStringIncludes(first, "never echoed");
  assertStringIncludes(r.log, `"how":"carried from an earlier run"`);
});
