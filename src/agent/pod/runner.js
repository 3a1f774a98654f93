// kodama's runner of a preset's agent in the pod (Node: every preset CLI needs it, so a preset's run has it).
// Run by the sh runner (agent.ts) as `node -e OUTCOME+RUNNER RUN ARGV…` in the workspace, with the prompt
// in RUN/prompt; it appends the agent's stdout and stderr to RUN/log and exits with the agent's code. On
// the way it:
//
//   - watches progress by bytes: a run that writes nothing for KODAMA_STALL_SECONDS is ended as stalled,
//     except while the agent announced a wait for its API (a retry with a delay): waiting is not stalling;
//     one that only retries its API without reaching it for a minute is ended as unreachable
//   - enforces the budgets KODAMA_MAX_TURNS, KODAMA_MAX_COST_USD, KODAMA_MAX_SECONDS from the stream
//   - when the agent ends overloaded, rate-limited or unreachable (outcome.js, the classifier kodama also
//     uses on the laptop), waits (retry-after / resets_at, else jittered exponential backoff, all within
//     KODAMA_RETRY_MAX_WAIT seconds) and continues the same conversation with the preset's continue
//     arguments, up to KODAMA_RETRY_ATTEMPTS times; after an overload it moves to the next of KODAMA_MODELS
//     when the preset has no fallback of its own
//   - keeps RUN/state.json (one line): the wait in progress, continuations, API retries, models
//   - takes what `agent say` / `agent interrupt` drop into RUN/inbox (NNN.json, {kind: say|interrupt,
//     text}): a CLI run with `--input-format stream-json` (Claude Code) keeps its stdin open, gets the
//     prompt and each message as a user line, an interrupt as a control request, and has its stdin closed
//     once a turn's result came with nothing pending (so the run still ends by itself); for any other CLI a
//     message is queued (RUN/queued) and becomes the prompt of a continuation of the same conversation when
//     the CLI ends, and an interrupt ends the CLI (ended-by interrupted). A taken message is moved to
//     RUN/said or RUN/queued (say.sh waits for that); RUN/takes says which (live, queue); RUN/closed is
//     written when the runner takes nothing more (say.sh then takes its message back)
//
// The settings come in the run's `env K=V…` prefix (or the environment); the continuation's command in
// KODAMA_RESUME (base64 JSON: {argv, modelAt, switchModels}). This file is concatenated after outcome.js
// (its `export`s dropped), whose newFacts, feedLine, classify and RETRYABLE it uses.
"use strict";
const fs = require("node:fs");
const { spawn } = require("node:child_process");

const [runDir, ...givenArgv] = process.argv.slice(1);
const file = (n) => `${runDir}/${n}`;
const readJson = (n) => {
  try {
    return JSON.parse(fs.readFileSync(file(n), "utf8"));
  } catch {
    return undefined;
  }
};
/** The pod this runner runs in (KODAMA_POD_UID): a run's cut and its resume name it. */
const POD = process.env.KODAMA_POD_UID ?? "";
// Resumed on a new pod (the session's start hook, pod/resume.sh): the run's command and the variables it
// was started with come from RUN/argv.json, which the first runner wrote (no secret in it: the settings)
const RESUMING = process.env.KODAMA_RESUMING === "1";
delete process.env.KODAMA_RESUMING;
const RELAUNCH = ["KODAMA_RESUME", "KODAMA_STALL_SECONDS", "KODAMA_PROJCHECK", "KODAMA_PROJCHECK_PATTERN"]
  .concat(["KODAMA_PROJCHECK_FILES"]);
const saved = RESUMING ? readJson("argv.json") : undefined;
if (RESUMING && !(saved && Array.isArray(saved.argv) && saved.argv.length)) {
  process.stderr.write("kodama: nothing to resume: the run has no argv.json\n");
  process.exit(1);
}
if (saved) {
  for (const k of RELAUNCH) {
    if (typeof saved.env?.[k] === "string") process.env[k] = saved.env[k];
  }
}
const firstArgv = saved ? saved.argv : givenArgv;
if (!RESUMING) {
  const env = {};
  for (const k of RELAUNCH) if (process.env[k] !== undefined) env[k] = process.env[k];
  try {
    fs.writeFileSync(file("argv.json"), JSON.stringify({ argv: firstArgv, env }) + "\n", { mode: 0o600 });
  } catch { /* a full disk: this run cannot be resumed */ }
}

/** The `env K=V…` prefix of the command: the run's settings. */
function settingsOf(argv) {
  const s = {};
  if (argv[0] !== "env") return s;
  for (const a of argv.slice(1)) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(a);
    if (!m) break;
    s[m[1]] = m[2];
  }
  return s;
}
const settings = settingsOf(firstArgv);
const setting = (k) => settings[k] ?? process.env[k];
function number(k, dflt) {
  const v = setting(k);
  if (v === undefined || v === "") return dflt;
  const n = Number(v);
  return Number.isFinite(n) && n >= 0 ? n : dflt;
}
const ATTEMPTS = number("KODAMA_RETRY_ATTEMPTS", 6);
const MAX_WAIT_MS = number("KODAMA_RETRY_MAX_WAIT", 1800) * 1000;
const MAX_TURNS = number("KODAMA_MAX_TURNS", 0);
const MAX_COST = number("KODAMA_MAX_COST_USD", 0);
const MAX_MS = number("KODAMA_MAX_SECONDS", 0) * 1000;
const STALL_MS = number("KODAMA_STALL_SECONDS", 0) * 1000;
/** How long a run may only retry an unreachable API before it is ended (ms). */
const UNREACHABLE_MS = Math.min(60_000, STALL_MS || 60_000);
/** The first backoff between continuations, doubled each time (ms; KODAMA_RETRY_BASE_MS for tests). */
const BASE_MS = number("KODAMA_RETRY_BASE_MS", 5000);
const MODELS = String(setting("KODAMA_MODELS") ?? "").split(",").map((m) => m.trim()).filter(Boolean);
const MODEL_FLAG = setting("KODAMA_MODEL_FLAG") ?? "--model";

let resume;
try {
  resume = JSON.parse(Buffer.from(process.env.KODAMA_RESUME ?? "", "base64").toString("utf8"));
} catch {
  resume = undefined;
}
if (!resume || !Array.isArray(resume.argv)) resume = undefined;

// the start program's check of the repository's agent-CLI config (projcheck.js), kept out of the agent's
// environment and made again before each continuation: the agent may have written such a file meanwhile
const PROJCHECK = {
  js: process.env.KODAMA_PROJCHECK,
  pattern: process.env.KODAMA_PROJCHECK_PATTERN,
  files: process.env.KODAMA_PROJCHECK_FILES,
};
delete process.env.KODAMA_PROJCHECK;
delete process.env.KODAMA_PROJCHECK_PATTERN;
delete process.env.KODAMA_PROJCHECK_FILES;

/** The `refused:` line when a project config file now sets a variable only the user chooses, else "". */
function steered() {
  if (!PROJCHECK.js || !PROJCHECK.files) return "";
  const r = require("node:child_process").spawnSync(
    process.execPath,
    ["-e", PROJCHECK.js, PROJCHECK.pattern ?? "^$", ...PROJCHECK.files.split(",")],
    { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
  );
  if (r.status === 0) return "";
  const what = String(r.stdout ?? "").trim() || "the project config files could not be checked";
  return `refused: ${what}: only you choose where your key goes ` +
    `(remove it, or run through a gateway: kodama gateway ensure)`;
}

/** A continuation refused by steered(): the run ends failed (77, as the start program's refusal). */
function refuseContinuation(line) {
  fs.writeSync(log, `kodama: ${line}\n`);
  return finish({ code: 77 }, classify(facts, { state: "failed", exitCode: 77 }));
}

const RESUME_PROMPT = "The pod you ran in ended before you finished (the cluster moved the session). " +
  "Continue the task from where you stopped; do not redo what is already done.";

// ---- the pod's end: the cut, the lock, the resume ---------------------------------------------------------
/** Does $HOME/.kodama/NAME (a mark of the session's pod programs) name this runner's pod? */
function marksThisPod(name) {
  try {
    const mark = fs.readFileSync(`${process.env.HOME || "/home/kodama"}/.kodama/${name}`, "utf8");
    return mark.split("\n").includes(`pod=${POD}`);
  } catch {
    return false;
  }
}
/** `kodama stop` marked this pod's end as a stop (session/pod/stopmark.sh): a person's, never resumed. */
const stopMarked = () => marksThisPod("stopped");
/** The pod is ending (keepalive.sh names it in $HOME/.kodama/ending before it passes the TERM on). */
const podEnding = () => marksThisPod("ending");
const LOCK = file("lock");
const STALE_MS = 20_000;
/** This runner holds the run: its pod's uid and a heartbeat every 5 s (an old pod may still terminate). */
function beat() {
  try {
    fs.writeFileSync(
      `${LOCK}.${process.pid}`,
      JSON.stringify({ pod: POD, pid: process.pid, beat: Date.now() }),
    );
    fs.renameSync(`${LOCK}.${process.pid}`, LOCK);
  } catch { /* a full disk */ }
}
function unlock() {
  try {
    if (JSON.parse(fs.readFileSync(LOCK, "utf8")).pod === POD) fs.rmSync(LOCK);
  } catch { /* none */ }
}
/** Wait until no other pod's runner holds the run (its lock released, or no heartbeat for STALE_MS). */
async function takeLock() {
  for (let said = false;;) {
    let l;
    try {
      l = JSON.parse(fs.readFileSync(LOCK, "utf8"));
    } catch { /* free */ }
    if (!l || l.pod === POD || !(Date.now() - Number(l.beat) < STALE_MS)) break;
    if (!said) {
      fs.writeSync(log, `kodama: the run is still held by pod ${String(l.pod).slice(0, 64)}: waiting\n`);
    }
    said = true;
    await sleep(500);
  }
  beat();
  setInterval(beat, 5000).unref();
}
let cutting = false;
// A resuming runner holds nothing of the run until the run's lock is its own: the cut it resumes from, the
// resumes so far and the budgets' facts are the run's, read only then.
let holding = !RESUMING;
/**
 * This pod ended while its runner waited for the run's lock: it overwrites nothing (the cut record and the
 * resumes so far stay the run's, with what was spent), and its end is noted in RUN/waits, where the runner
 * that takes the run up counts it toward agent.resumeLimit: a run whose pods keep ending ends.
 */
function endWaiting() {
  try {
    fs.appendFileSync(file("waits"), JSON.stringify({ pod: POD, at: new Date().toISOString() }) + "\n");
    fs.writeSync(
      log,
      `kodama: this pod ended while it waited for the run: the session's next pod resumes it\n`,
    );
  } catch { /* a full disk: the end is not counted */ }
  process.exit(143);
}
/** The pods that ended while they waited for the run (RUN/waits), as resumes that never took it up. */
function waitedEnds() {
  let text = "";
  try {
    text = fs.readFileSync(file("waits"), "utf8");
    fs.rmSync(file("waits"));
  } catch { /* none */ }
  const out = [];
  for (const line of text.split("\n").slice(0, 100)) {
    try {
      const w = JSON.parse(line);
      if (w && typeof w.pod === "string" && w.pod !== POD) {
        out.push({ cause: "deleted", at: String(w.at), pod: w.pod, resumedAt: "" });
      }
    } catch { /* a torn line */ }
  }
  return out;
}
/** SIGTERM that is not a stop: the pod ends under the run. Recorded durably for the next pod's resume. */
function recordCut() {
  cutting = true;
  const c = {
    at: new Date().toISOString(),
    pod: POD,
    cause: "deleted",
    elapsedMs: Date.now() - startedAt,
    facts: {
      turns: facts.turns,
      costUsd: facts.costUsd,
      continuations: facts.continuations,
      apiRetries: facts.apiRetries,
      models: facts.models,
    },
  };
  try {
    fs.writeSync(log, `kodama: cut by the pod's end (SIGTERM): the run resumes on the session's next pod\n`);
    facts.waiting = undefined;
    writeState({ cut: { at: c.at, pod: POD } });
    fs.writeFileSync(file("cut.tmp"), JSON.stringify(c) + "\n");
    fs.renameSync(file("cut.tmp"), file("cut"));
  } catch { /* a full disk: the next pod finds no record (node-lost) */ }
  // the lock goes when this runner does (its agent ended): the next pod's runner never overlaps it
  process.on("exit", unlock);
}
/**
 * The agent ended because its pod is ending, before this runner's own TERM came (keepalive.sh signals the
 * pod's processes one by one, in no set order): a cut, as if the TERM had come first, never the run's end.
 */
function cutIfPodEnding() {
  if (cutting || stopped() || stopMarked() || fs.existsSync(file("exit")) || !podEnding()) return;
  recordCut();
  process.exit(143);
}

const CONTINUE_PROMPT = (why) =>
  `The model API failed before you finished (${why}). Continue the task from where you stopped; ` +
  `do not redo what is already done.`;

// the cut this run resumes from (read once the lock is this runner's): the budgets count what was spent
let cut;
let startedAt = Date.now();
const log = fs.openSync(file("log"), "a");
const facts = newFacts();
/** The run's resumes so far: [{cause, at, pod}] (`pod` the uid of the pod that ended). */
const resumes = [];
const RESUME_LIMIT = Number.isInteger(resume?.resumeLimit) && resume.resumeLimit >= 0
  ? resume.resumeLimit
  : 3;
let model = 0;
let lastState = "";

/** `{undelivered: N}` while N said messages are not yet in a conversation (agent status shows them). */
function pendingSaid() {
  try {
    const n = undelivered();
    return n ? { undelivered: n } : {};
  } catch {
    return {}; // before the inbox is set up
  }
}

function writeState(extra) {
  const s = JSON.stringify({
    ...(facts.waiting ? { waiting: facts.waiting } : {}),
    continuations: facts.continuations,
    apiRetries: facts.apiRetries,
    models: facts.models,
    ...(resumes.length ? { resumes } : {}),
    ...pendingSaid(),
    ...extra,
  });
  if (s === lastState) return;
  lastState = s;
  try {
    fs.writeFileSync(file("state.json.tmp"), s + "\n");
    fs.renameSync(file("state.json.tmp"), file("state.json"));
  } catch { /* a full disk: the run goes on */ }
}

/** A line of kodama's own into the log (and the facts). */
function note(obj) {
  const line = JSON.stringify({ type: "kodama", ...obj });
  fs.writeSync(log, line + "\n");
  feedLine(facts, line);
}

const stopped = () => fs.existsSync(file("stopped"));

// ---- agent say / agent interrupt: the inbox -------------------------------------------------------------
// RUN/sent: written to a live CLI's stdin, not yet confirmed; RUN/said: in the conversation (the CLI echoed
// it back, --replay-user-messages, or it was a turn's prompt); RUN/queued: for the next turn or run
const INBOX = file("inbox"), SENT = file("sent"), SAID = file("said"), QUEUED = file("queued");
for (const d of [INBOX, SENT, SAID, QUEUED]) {
  try {
    fs.mkdirSync(d, { mode: 0o700 });
  } catch { /* there */ }
}
/** The CLI takes user messages on stdin while it runs (Claude Code's `--input-format stream-json`). */
function isLive(argv) {
  const i = argv.indexOf("--input-format");
  return (i >= 0 && argv[i + 1] === "stream-json") || argv.includes("--input-format=stream-json");
}
/**
 * A live command with Claude Code's echo of each user message it takes into the conversation
 * (`--replay-user-messages`, with stream-json out): the one sign that a said message reached the model.
 */
function withReplay(argv) {
  if (argv.includes("--replay-user-messages")) return argv;
  const out = argv.indexOf("--output-format");
  if (!((out >= 0 && argv[out + 1] === "stream-json") || argv.includes("--output-format=stream-json"))) {
    return argv;
  }
  const i = argv.findIndex((a) => a === "--input-format" || a === "--input-format=stream-json");
  const at = argv[i] === "--input-format" ? i + 2 : i + 1;
  return [...argv.slice(0, at), "--replay-user-messages", ...argv.slice(at)];
}
/** The user texts of a stream-json `user` line (a replayed message), else []. */
function userTexts(line) {
  try {
    const j = JSON.parse(line);
    if (j?.type !== "user" || !Array.isArray(j.message?.content)) return [];
    return j.message.content.filter((b) => b?.type === "text" && typeof b.text === "string").map((b) =>
      b.text
    );
  } catch {
    return [];
  }
}
/** Messages the CLI echoed back (userTexts) move from RUN/sent to RUN/said: they are in the conversation. */
function confirmSent(texts) {
  if (!texts.length) return;
  for (const n of names(SENT)) {
    const m = readMessage(`${SENT}/${n}`);
    if (!m || texts.some((t) => t.includes(m.text))) {
      try {
        fs.renameSync(`${SENT}/${n}`, `${SAID}/${n}`);
      } catch { /* gone */ }
      if (m) note({ event: "say", how: "in the running conversation", bytes: Buffer.byteLength(m.text) });
    }
  }
}
/** What was written to the CLI and never echoed back: queued again (the next turn or run carries it). */
function requeueSent() {
  for (const n of names(SENT)) {
    try {
      fs.renameSync(`${SENT}/${n}`, `${QUEUED}/${n}`);
    } catch { /* gone */ }
  }
}
/** Messages said and not yet in a conversation (RUN/sent and RUN/queued): agent status shows them. */
const undelivered = () => names(SENT).length + names(QUEUED).length;
const LIVE = isLive(firstArgv);
// written whole (a rename): whoever sees the file sees what it says
fs.writeFileSync(file("takes.tmp"), (LIVE ? "live" : "queue") + "\n");
fs.renameSync(file("takes.tmp"), file("takes"));
/** Set by an interrupt: the run ends as interrupted, unless a message said after it starts another turn. */
let interrupted = false;
const userLine = (text) =>
  JSON.stringify({ type: "user", message: { role: "user", content: [{ type: "text", text }] } }) + "\n";
const names = (d) => {
  try {
    return fs.readdirSync(d).filter((n) => /^\d+\.json$/.test(n)).sort((a, b) => parseInt(a) - parseInt(b));
  } catch {
    return [];
  }
};
function readMessage(path) {
  try {
    const m = JSON.parse(fs.readFileSync(path, "utf8"));
    if (m && (m.kind === "interrupt" || (m.kind === "say" && typeof m.text === "string"))) return m;
  } catch { /* not one */ }
  return undefined;
}
/**
 * Take the inbox's messages: `live` (the CLI's open stdin, or undefined) gets each said text as a user line
 * and an interrupt as a control request; otherwise a message is queued. `onInterrupt` ends a CLI that takes
 * no control request. Returns how many messages went to the CLI.
 */
function takeInbox(live, onInterrupt) {
  let sent = 0;
  for (const n of names(INBOX)) {
    const m = readMessage(`${INBOX}/${n}`);
    const to = m?.kind === "say" ? (live ? SENT : QUEUED) : SAID;
    try {
      fs.renameSync(`${INBOX}/${n}`, `${to}/${n}`);
    } catch {
      continue; // say.sh took it back
    }
    if (!m) continue;
    if (m.kind === "interrupt") {
      interrupted = true;
      note({ event: "interrupt" });
      if (live) {
        live.write(
          JSON.stringify({
            type: "control_request",
            request_id: `kodama-${n}`,
            request: { subtype: "interrupt" },
          }) + "\n",
        );
      } else if (onInterrupt) onInterrupt();
      continue;
    }
    const bytes = Buffer.byteLength(m.text);
    if (live) {
      live.write(userLine(m.text));
      sent++;
      interrupted = false;
      note({ event: "say", how: "written to the running conversation's input", bytes });
    } else note({ event: "say", how: "queued for the next turn", bytes });
  }
  return sent;
}
/** The queued messages, as the next turn's prompt (moved to RUN/said), or undefined. */
function takeQueued() {
  const texts = [];
  for (const n of names(QUEUED)) {
    const m = readMessage(`${QUEUED}/${n}`);
    try {
      fs.renameSync(`${QUEUED}/${n}`, `${SAID}/${n}`);
    } catch { /* gone */ }
    if (m?.kind === "say") texts.push(m.text);
  }
  return texts.length ? texts.join("\n\n") : undefined;
}

/**
 * The prompt with what earlier runs of the session were told and no conversation took (their RUN/queued,
 * RUN/sent once they are over): a message said is never lost, the next run carries it. Each is moved to
 * this run's RUN/said, and the earlier run's state.json no longer counts it.
 */
function withCarried(prompt) {
  const runs = require("node:path").dirname(runDir), me = Number(require("node:path").basename(runDir));
  const texts = [];
  let ids = [];
  try {
    ids = fs.readdirSync(runs).filter((d) => /^\d+$/.test(d) && Number(d) < me).sort((a, b) => a - b);
  } catch { /* none */ }
  for (const id of ids) {
    const r = `${runs}/${id}`;
    if (!fs.existsSync(`${r}/exit`) && !fs.existsSync(`${r}/closed`)) continue; // not over: its runner's
    let took = false;
    for (const d of ["sent", "queued"]) {
      for (const n of names(`${r}/${d}`)) {
        const m = readMessage(`${r}/${d}/${n}`);
        try {
          fs.renameSync(`${r}/${d}/${n}`, `${SAID}/carried-${id}-${n}`);
        } catch {
          continue;
        }
        took = true;
        if (m?.kind === "say") texts.push(m.text);
      }
    }
    if (took) forgetUndelivered(r);
  }
  if (!texts.length) return prompt;
  note({ event: "say", how: "carried from an earlier run", bytes: Buffer.byteLength(texts.join("")) });
  return `${prompt.replace(/\s+$/, "")}\n\n${texts.join("\n\n")}\n`;
}
/** An earlier run's state.json without its count of undelivered messages (this run carries them). */
function forgetUndelivered(r) {
  try {
    const j = JSON.parse(fs.readFileSync(`${r}/state.json`, "utf8"));
    delete j.undelivered;
    fs.writeFileSync(`${r}/state.json.tmp`, JSON.stringify(j) + "\n");
    fs.renameSync(`${r}/state.json.tmp`, `${r}/state.json`);
  } catch { /* none */ }
}

/** The budget the run has spent, if any (its words). */
function overBudget(now) {
  if (MAX_TURNS > 0 && facts.turns > MAX_TURNS) return `more than ${MAX_TURNS} turns (KODAMA_MAX_TURNS)`;
  if (MAX_COST > 0 && facts.costUsd >= MAX_COST) {
    return `$${facts.costUsd.toFixed(4)} spent (KODAMA_MAX_COST_USD ${MAX_COST})`;
  }
  if (MAX_MS > 0 && now - startedAt >= MAX_MS) {
    return `${Math.round(MAX_MS / 1000)}s spent (KODAMA_MAX_SECONDS)`;
  }
  return undefined;
}

/** Run the agent once; resolves to {code, endedBy}. */
function attempt(argv, stdin) {
  return new Promise((resolve) => {
    let child;
    const liveRun = isLive(argv);
    if (liveRun) argv = withReplay(argv);
    try {
      // its own process group: what it starts (a tool's shell) ends with it
      child = spawn(argv[0], argv.slice(1), {
        stdio: [stdin === undefined && !liveRun ? "ignore" : "pipe", "pipe", "pipe"],
        detached: true,
      });
      current = child;
    } catch (e) {
      fs.writeSync(log, `kodama: cannot run ${argv[0]}: ${e.message}\n`);
      resolve({ code: 127 });
      return;
    }
    // a live run: the prompt is the first user line; stdin stays open for what `agent say` sends, and is
    // closed when a turn's result came with no message pending (the CLI then ends by itself)
    let live, pending = 0;
    if (liveRun) {
      child.stdin.on("error", () => {});
      live = child.stdin;
      live.write(userLine(String(stdin ?? "")));
      pending = 1;
    } else if (stdin !== undefined) {
      child.stdin.on("error", () => {});
      child.stdin.end(stdin);
    }
    const closeIn = () => {
      if (!live) return;
      live.end();
      live = undefined;
    };
    // Claude Code folds a message that comes while a turn runs into that turn (one result for both, seen on
    // the real cluster): its result's queued_turn_count says how many turns it still has, when it says so
    const onResult = (line) => {
      let queued;
      try {
        queued = JSON.parse(line).queued_turn_count;
      } catch { /* not JSON after all */ }
      pending = typeof queued === "number" && queued >= 0 ? queued : Math.max(0, pending - 1);
      if (pending > 0 && !interrupted) return;
      pending += takeInbox(interrupted ? undefined : live);
      if (pending === 0 || interrupted) closeIn();
    };
    let lastByte = Date.now(), lastProgress = Date.now(), netAtProgress = facts.netRetries, endedBy;
    const lines = (stream) => {
      let rest = "";
      stream.on("data", (chunk) => {
        fs.writeSync(log, chunk);
        lastByte = Date.now();
        rest += chunk.toString("utf8");
        const parts = rest.split("\n");
        rest = parts.pop();
        for (const l of parts) {
          feedLine(facts, l, lastByte);
          if (stream === child.stdout && liveRun && /^\{"type":"user"/.test(l)) confirmSent(userTexts(l));
          if (stream === child.stdout && live && /^\{.*"type":"result"/.test(l)) onResult(l);
          if (!facts.waiting) {
            lastProgress = lastByte;
            netAtProgress = facts.netRetries;
          }
        }
        if (rest.length > 1 << 20) rest = "";
        writeState();
      });
    };
    lines(child.stdout);
    lines(child.stderr);
    let ending = false;
    const end = (why, message) => {
      if (ending) return;
      ending = true;
      endedBy = why;
      if (why === "budget") note({ event: "budget", message });
      else if (why === "interrupted") fs.writeSync(log, `kodama: ${message}\n`);
      else fs.writeSync(log, `kodama: ${message}\n`);
      signalGroup(child, "SIGTERM");
      setTimeout(() => signalGroup(child, "SIGKILL"), 3000).unref();
    };
    const timer = setInterval(() => {
      pending += takeInbox(live, () => end("interrupted", "interrupted (agent interrupt)"));
      writeState();
      const now = Date.now();
      const b = overBudget(now);
      if (b) return end("budget", b);
      if (facts.fatal) return end(undefined, `${facts.fatal.message}: ended, not retried`);
      if (facts.netRetries - netAtProgress >= 2 && now - lastProgress >= UNREACHABLE_MS) {
        return end(
          "unreachable",
          `the agent only retried its model API for ${
            Math.round(UNREACHABLE_MS / 1000)
          }s: ended (is the model API reachable from the pod?)`,
        );
      }
      if (STALL_MS > 0) {
        // a wait the agent announced is not a stall: the quiet time counts from the wait's end
        const waitEnd = facts.waiting?.until ? Date.parse(facts.waiting.until) : NaN;
        const from = Number.isNaN(waitEnd) ? lastByte : Math.max(lastByte, waitEnd);
        if (now - from >= STALL_MS) {
          end(
            "stalled",
            `the agent made no progress for ${Math.round(STALL_MS / 1000)}s (agent.stallTimeout): ended`,
          );
        }
      }
    }, STALL_MS > 0 && STALL_MS < 10_000 ? 250 : 1000);
    child.on("error", (e) => fs.writeSync(log, `kodama: ${argv[0]}: ${e.message}\n`));
    let done = false;
    const finish = (code, signal) => {
      if (done) return;
      done = true;
      clearInterval(timer);
      current = undefined;
      cutIfPodEnding();
      resolve({
        code: code ?? (signal ? 128 + ({ SIGTERM: 15, SIGKILL: 9, SIGINT: 2 }[signal] ?? 1) : 1),
        endedBy,
      });
    };
    child.on("close", finish);
    // a process it left behind may hold its output open: its own exit is the end, a little later
    child.on("exit", (code, signal) => setTimeout(() => finish(code, signal), 2000).unref());
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** How long to wait before continuation n (1-based): the API's own time, else jittered exponential backoff. */
function delayFor(o, n, waited) {
  const left = MAX_WAIT_MS - waited;
  const backoff = Math.min(BASE_MS * 2 ** (n - 1), 300_000) * (0.5 + Math.random() / 2);
  const at = o.retryAt ? Date.parse(o.retryAt) - Date.now() : NaN;
  const ms = Number.isNaN(at) ? backoff : Math.max(at, 1000);
  return ms <= left ? Math.round(ms) : undefined;
}

/** The continuation's command: the preset's continue arguments, on to the next model after an overload. */
/**
 * The argv with the model flag's value (given as `FLAG X` or `FLAG=X`, before `at`) replaced by `m`, or
 * `FLAG m` put at `at` when it has none: a CLI may refuse a flag given twice.
 */
function withModel(argv, at, m) {
  const out = [];
  let end = at;
  for (let i = 0; i < argv.length; i++) {
    if (i < end && argv[i] === MODEL_FLAG && i + 1 < end) {
      i++;
      end -= 2;
      continue;
    }
    if (i < end && argv[i].startsWith(`${MODEL_FLAG}=`)) {
      end -= 1;
      continue;
    }
    out.push(argv[i]);
  }
  out.splice(end, 0, MODEL_FLAG, m);
  return out;
}

function continuation(o) {
  const argv = [...resume.argv];
  if (o.class === "overloaded" && resume.switchModels && model + 1 < MODELS.length) {
    model++;
    note({ event: "model", model: MODELS[model], reason: o.class });
  }
  // once switched, every later continuation stays on the model that answered
  return model > 0 ? withModel(argv, resume.modelAt ?? argv.length, MODELS[model]) : argv;
}

/** Resume a cut run on this pod: the preset's continue, up to agent.resumeLimit; else its end. */
async function resumeRun() {
  await takeLock();
  holding = true;
  if (fs.existsSync(file("exit")) || stopped()) process.exit(0); // the old pod ended it after all
  cut = readJson("cut");
  const before = readJson("state.json");
  if (Array.isArray(before?.resumes)) resumes.push(...before.resumes);
  startedAt = Date.now() - (Number(cut?.elapsedMs) || 0);
  for (const k of ["turns", "costUsd", "continuations", "apiRetries"]) {
    if (typeof cut?.facts?.[k] === "number") facts[k] = cut.facts[k];
  }
  if (Array.isArray(cut?.facts?.models)) facts.models = cut.facts.models;
  let old = "";
  try {
    old = fs.readFileSync(file("pod"), "utf8").trim();
  } catch { /* none */ }
  const cause = cut ? String(cut.cause ?? "deleted") : "node-lost";
  resumes.push({
    cause,
    at: cut?.at ?? new Date().toISOString(),
    pod: cut?.pod ?? old,
    resumedAt: new Date().toISOString(),
  });
  resumes.push(...waitedEnds());
  fs.writeFileSync(file("pod"), POD + "\n");
  try {
    fs.rmSync(file("cut"));
  } catch { /* none */ }
  if (resumes.length > RESUME_LIMIT) {
    const why = `cut by the pod's end ${resumes.length} times; agent.resumeLimit is ${RESUME_LIMIT}`;
    fs.writeSync(log, `kodama: ${why}: not resumed again\n`);
    const o = classify(facts, { state: "interrupted", endedBy: "interrupted" });
    return { end: [{ code: 130, endedBy: "interrupted" }, { ...o, message: why }] };
  }
  const b = overBudget(Date.now());
  if (b) {
    note({ event: "budget", message: b });
    return { end: [{ code: 1, endedBy: "budget" }, classify(facts, { state: "failed", endedBy: "budget" })] };
  }
  const refused = steered();
  if (refused) return { refused };
  note({ event: "resume", cause, attempt: resumes.length, of: RESUME_LIMIT });
  writeState();
  const said = takeQueued();
  return {
    r: await attempt(continuation({ class: "resumed" }), RESUME_PROMPT + (said ? `\n\n${said}` : "")),
  };
}

async function main() {
  let r;
  if (RESUMING) {
    const x = await resumeRun();
    if (x.refused) return refuseContinuation(x.refused);
    if (x.end) return finish(...x.end);
    r = x.r;
  } else {
    beat();
    setInterval(beat, 5000).unref();
    writeState();
    r = await attempt(firstArgv, withCarried(fs.readFileSync(file("prompt"), "utf8")));
  }
  let waited = 0;
  for (;;) {
    // what was said while the CLI ran and it could not take (or took and never put in its conversation):
    // the next turn of the same conversation
    requeueSent();
    takeInbox(undefined);
    if (resume && !resume.resumeOnly && !stopped() && names(QUEUED).length) {
      const prompt = takeQueued();
      if (prompt) {
        interrupted = false;
        const refused = steered();
        if (refused) return refuseContinuation(refused);
        note({ event: "turn", reason: "said" });
        writeState();
        r = await attempt(continuation({ class: "said" }), prompt);
        continue;
      }
    }
    if (interrupted && !stopped()) {
      return finish(
        { ...r, endedBy: "interrupted" },
        classify(facts, { state: "interrupted", endedBy: "interrupted" }),
      );
    }
    const o = classify(facts, {
      state: r.code === 0 ? "succeeded" : "failed",
      exitCode: r.code,
      endedBy: r.endedBy,
    });
    if (!RETRYABLE.includes(o.class) || !resume || resume.resumeOnly || stopped()) return finish(r, o);
    if (facts.continuations >= ATTEMPTS) {
      fs.writeSync(
        log,
        `kodama: ${o.class}: not continued again (${ATTEMPTS} continuations: KODAMA_RETRY_ATTEMPTS)\n`,
      );
      return finish(r, o);
    }
    const b = overBudget(Date.now());
    if (b) {
      note({ event: "budget", message: b });
      return finish({ ...r, endedBy: "budget" }, o);
    }
    const n = facts.continuations + 1;
    const ms = delayFor(o, n, waited);
    if (ms === undefined) {
      fs.writeSync(
        log,
        `kodama: ${o.class}: not continued (the wait would pass ${
          MAX_WAIT_MS / 1000
        }s: KODAMA_RETRY_MAX_WAIT)\n`,
      );
      return finish(r, o);
    }
    const until = new Date(Date.now() + ms).toISOString();
    // an upstream kodama's gateway cannot reach is named (its 502's words, in the agent's output)
    const via = o.class !== "rate-limited" && facts.gatewayDown
      ? { via: gatewayWords(facts.gatewayDown) }
      : {};
    note({ event: "wait", reason: o.class, ...via, until, ms, attempt: n, of: ATTEMPTS, message: o.message });
    facts.waiting = { reason: o.class, ...via, until, attempt: n, of: ATTEMPTS };
    writeState();
    for (const end = Date.now() + ms; Date.now() < end && !stopped();) {
      await sleep(Math.min(500, end - Date.now()));
      takeInbox(undefined);
    }
    if (stopped()) return finish(r, o);
    waited += ms;
    const refused = steered();
    if (refused) return refuseContinuation(refused);
    const argv = continuation(o);
    note({ event: "continue", reason: o.class, attempt: n, of: ATTEMPTS });
    writeState();
    // messages said during the wait go with the continuation
    const said = takeQueued();
    r = await attempt(argv, CONTINUE_PROMPT(o.class) + (said ? `\n\n${said}` : ""));
  }
}

function finish(r, o) {
  // the pod ends under the run: the cut is recorded, the run is not over (the next pod resumes it)
  cutIfPodEnding();
  if (cutting) process.exit(143);
  unlock();
  // nothing more is taken: a message said from here on is taken back by say.sh (a new run continues)
  try {
    fs.writeFileSync(file("closed"), "");
  } catch { /* a full disk */ }
  // what no conversation took stays in RUN/queued: the session's next run carries it (carryOver)
  requeueSent();
  takeInbox(undefined);
  facts.waiting = undefined;
  writeState({ outcome: o });
  if (r.endedBy) fs.writeFileSync(file("ended-by"), r.endedBy + "\n");
  fs.closeSync(log);
  // a CLI that exits 0 when its own output says the run failed (pi on a refused key): recorded as failed
  const failedAnyway = r.code === 0 && !["succeeded", "no-changes", "denied"].includes(o.class);
  process.exit(
    r.endedBy === "interrupted" ? 130 : r.endedBy && r.code === 0 ? 124 : failedAnyway ? 1 : r.code,
  );
}

/** The agent being run now (its process group), for a stop. */
let current;

function signalGroup(child, sig) {
  try {
    process.kill(-child.pid, sig);
  } catch {
    try {
      child.kill(sig);
    } catch { /* gone */ }
  }
}

// `agent stop` signals the runner's process group: the agent has a group of its own, so the stop is passed
// on (TERM, then KILL after 3 s), and the runner ends with it
// the pod's end (keepalive.sh passes the kubelet's SIGTERM on) is a cut, unless it is a stop: `agent stop`
// (RUN/stopped) or `kodama stop` (its mark names this pod)
process.on("SIGTERM", () => {
  if (!holding) return endWaiting();
  if (!cutting && !stopped() && !stopMarked() && !fs.existsSync(file("exit"))) recordCut();
  if (!current) process.exit(143);
  const c = current;
  signalGroup(c, "SIGTERM");
  setTimeout(() => signalGroup(c, "SIGKILL"), 3000).unref();
  c.on("close", () => process.exit(143));
});
main().catch((e) => {
  fs.writeSync(log, `kodama: the runner failed: ${e && e.message}\n`);
  process.exit(1);
});
