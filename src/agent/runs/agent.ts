/**
 * Coding-agent runs in a session, as pure functions: the shell scripts run in the pod (over exec) and
 * the parsing of what they print. A run lives on the home volume under `~/.kodama/runs/<id>/`, outside the
 * workspace, so the agent's `git add -A` never commits kodama's files (a session whose runs are still
 * under the workspace's `.kodama/runs` from before keeps them there, excluded from git):
 *
 *   prompt    the prompt (written from the exec's stdin: never in any process's arguments), mode 0600
 *   log       the agent's output (stdout and stderr)
 *   pid       the run's process group (the runner is a session leader: `setsid`)
 *   started   ended   exit   stopped      UTC times, the exit code, and a marker when `agent stop` ended it
 *   stop-seen 1 when the stop marker was there as the agent ended, else 0: a marker written after that (a
 *             stop racing the run's own end) came too late, and the run is reported as it exited
 *   check     the check command (`start --check`, `agent.check`), run with sh in the workspace when the
 *             agent has ended; its output goes to `check.log` and its exit code to `check-exit`
 *   summary   the agent's final message, when it writes one (its path is in KODAMA_SUMMARY_FILE)
 *   pod       the uid of the pod it ran in (KODAMA_POD_UID): a run without an end whose pod is gone was
 *             interrupted (eviction, node loss, a stop) — `agent run --continue` picks it up
 *   continues the run it continued (`agent run --continue`, with the preset's continue arguments): only
 *             when the run before it was of the same agent, so it really was given that conversation
 *   agent     the agent preset it ran (claude, codex, gemini, qwen, custom)
 *
 * `exit` is written last (after the check), so a run with a check is "running" until the check is done.
 *
 * The runner is started with `nohup setsid` (each where the image has it), detached from the exec, so it
 * survives kodama exiting (a closed laptop). The agent reads the prompt on stdin, and its path is in KODAMA_PROMPT_FILE. Its
 * credentials (presets.ts: forwardedEnv) are in the container's environment from the env Secret, as any
 * exec gets.
 */

import { KodamaError, usageError } from "../../base/errors.ts";
import { PRESET_NAMES, type PresetInstall, PRESETS } from "../presets/presets.ts";
import { RUNNER_SCRIPT } from "./watch.ts";
import { runFacts, type RunTruth } from "../outcome/truth.ts";
import { quote, shellQuote } from "../../base/text/escape.ts";
import type { Outcome, Waiting } from "../outcome/outcome.ts";
import OUTCOME_JS from "../pod/outcome.js" with { type: "text" };
import PROLOGUE_SH from "../pod/prologue.sh" with { type: "text" };
import INSTALL_SH from "../pod/install.sh" with { type: "text" };
import STATUS_SH from "../pod/status.sh" with { type: "text" };
import LOGS_SH from "../pod/logs.sh" with { type: "text" };
import STOP_SH from "../pod/stop.sh" with { type: "text" };
import RUNS_SH from "../pod/runs.sh" with { type: "text" };
import LATEST_SH from "../pod/latest.sh" with { type: "text" };
import START_SH from "../pod/start.sh" with { type: "text" };
import RESUME_SH from "../pod/resume.sh" with { type: "text" };
import AGENT_TMUX_SH from "../pod/agenttmux.sh" with { type: "text" };
import RUNNER_BODY_JS from "../pod/runner.js" with { type: "text" };
import NOTIFY_BODY_JS from "../pod/notify.js" with { type: "text" };
import PROJCHECK_JS from "../pod/projcheck.js" with { type: "text" };
import { STEERING_PATTERN } from "../../config/steering.ts";

/**
 * The Node runner of a preset's run (pod/runner.js: waits, continuations, budgets, the byte watchdog),
 * after the classifier it shares with kodama (pod/outcome.js, its `export`s dropped: one script).
 */
export const RUNNER_JS = OUTCOME_JS.replace(/^export /gm, "") + "\n" + RUNNER_BODY_JS;

/** The webhook of an ended run (pod/notify.js), after the same classifier: the pod says what kodama would. */
export const NOTIFY_JS = OUTCOME_JS.replace(/^export /gm, "") + "\n" + NOTIFY_BODY_JS;

/** What the Node runner needs to continue a run: the continuation's command and where a model goes. */
export interface Resume {
  argv: string[];
  /** where `FLAG MODEL` goes in argv when a continuation moves to the next model */
  modelAt: number;
  /** the preset has no model fallback of its own: kodama's continuation switches model (KODAMA_MODELS) */
  switchModels: boolean;
  /** agent.resumeLimit: how many times the run resumes on the session's next pod after a pod's end */
  resumeLimit?: number;
  /** a custom command's: continued only after a pod's end, never after a transient one */
  resumeOnly?: boolean;
}

/** Why a run's pod ended under it (issue 80): the pod's guess, refined on the laptop (resumecause.ts). */
export const RESUME_CAUSES = ["evicted", "preempted", "node-lost", "oom-killed", "deleted"] as const;
export type ResumeCause = typeof RESUME_CAUSES[number];
/** One resume of a run: why its pod ended, when, and that pod's uid. */
export interface RunResume {
  cause: ResumeCause;
  /** when the pod's end cut the run */
  at: string;
  /** the uid of the pod that ended */
  pod: string;
  /** when the runner on the session's next pod took the run up again ("" when not recorded) */
  resumedAt: string;
}

/** Exit code of the start script when the agent command is missing and cannot be installed. */
export const NO_AGENT_EXIT = 127;
/** Exit code of the start script when installing a preset's CLI with npm failed (or Node is too old). */
export const INSTALL_FAILED_EXIT = 125;
/** Exit code of the start script when an interactive agent taken over with `agent attach` is live (`!r`). */
export const TAKEN_OVER_EXIT = 65;
/**
 * Exit code of the start script (and the run's recorded exit) when a project config file the preset's CLI
 * reads sets a variable only you choose (pod/projcheck.js): nothing started. kodama exits 4 (forbidden).
 */
export const STEERED_EXIT = 77;
/** The package installed when the default `claude` is missing and npm is there. */
export const CLAUDE_PACKAGE = "@anthropic-ai/claude-code";

/** Where runs live, relative to the home volume (outside the workspace: never in the agent's commits). */
export const RUNS_DIR = ".kodama/runs";
/** Where runs lived before, relative to the workspace (kept for sessions that have them there). */
export const OLD_RUNS_DIR = ".kodama/runs";

/** Shared prologue (pod/prologue.sh): `alive`, $ws, $runs (RUNS_DIR, OLD_RUNS_DIR) and the PATH. */
export const PROLOGUE = [PROLOGUE_SH];

/** The detached runner (watch.ts: pod/watch.sh and pod/runner.sh). */
export { RUNNER_SCRIPT };

/**
 * The presets the start program knows (pod/start.sh's PRESETS): one line each, `NAME BIN PACKAGE VERSION NODE
 * FILES`, FILES the project config files its CLI reads (`FORMAT:PATH,…`, `-` for none: presets.ts projectFiles).
 * When the program is a preset's CLI and the image lacks it, `kodama_install` (pod/install.sh) installs the
 * pinned version with npm into the home volume, once per session, with one progress line (npm's output in
 * a log file, its tail shown on failure); without npm the command is missing.
 */
export function presetTable(): string {
  return PRESET_NAMES.map((n) => {
    const i: PresetInstall = PRESETS[n].install;
    const files = PRESETS[n].projectFiles.map((f) => `${f.format}:${f.path}`).join(",") || "-";
    return [n, i.bin, i.package, i.version, String(i.node), files].join(" ");
  }).join("\n");
}

/**
 * Start a run (pod/start.sh after the prologue, pod/install.sh and pod/agenttmux.sh): `sh -c START kodama-agent
 * SIZES PRESETS RUNNER RUNNER_JS NOTIFY_JS PROJCHECK_JS STEERING CMD ARGS...` with the check command and then the
 * prompt on stdin. Prints the run id on stdout as its last line (a `note:` or `refused:` line before it);
 * exits NO_AGENT_EXIT, INSTALL_FAILED_EXIT, TAKEN_OVER_EXIT or STEERED_EXIT.
 */
export const START_SCRIPT = [
  ...PROLOGUE,
  INSTALL_SH,
  AGENT_TMUX_SH,
  // the session's start hook that resumes a run a pod's end cut off (pod/resume.sh), installed by start.sh
  `kodama_resume_hook=${shellQuote(RESUME_SH, { always: true })}`,
  START_SH,
].join("\n");

/** What a run does about an interactive agent taken over in the pod's tmux: refuse, or end it first. */
export type TakeoverPolicy = "refuse" | "end";

/**
 * The command line that starts a run; the check (`checkBytes` long, if any) and then the prompt
 * (`promptBytes` long) go on stdin. `agent`: the preset it runs (recorded with the run). `gateway`: the
 * session goes through a gateway (its pod holds no real key): a project file's steering variable is noted,
 * not refused.
 */
export function startArgv(
  command: string[],
  promptBytes: number,
  checkBytes = 0,
  cont = false,
  agent?: string,
  stallSeconds = 0,
  resume?: Resume,
  noNotify = false,
  takeover?: TakeoverPolicy,
  gateway = false,
): string[] {
  const b64 = resume ? btoa(String.fromCharCode(...new TextEncoder().encode(JSON.stringify(resume)))) : "";
  const sizes = (checkBytes > 0 ? `${promptBytes}+${checkBytes}` : String(promptBytes)) + (cont ? ":c" : "") +
    (stallSeconds > 0 ? `~${stallSeconds}` : "") + (b64 ? `%${b64}` : "") +
    (takeover ? (takeover === "refuse" ? "!r" : "!e") : "") + (noNotify ? "^" : "") +
    (gateway ? "&" : "") + (agent ? `@${agent}` : "");
  return [
    "sh",
    "-c",
    START_SCRIPT,
    "kodama-agent",
    sizes,
    presetTable(),
    RUNNER_SCRIPT,
    RUNNER_JS,
    NOTIFY_JS,
    PROJCHECK_JS,
    STEERING_PATTERN.source,
    ...command,
  ];
}

/**
 * One line per run (pod/status.sh, pod/runs.sh): `id<TAB>state<TAB>exit<TAB>started<TAB>ended<TAB>pid<TAB>check<TAB>check-exit<TAB>continues…`,
 * where check is 1 when the run has a check command.
 */
export const STATUS_SCRIPT = [...PROLOGUE, STATUS_SH, RUNS_SH].join("\n");

/**
 * STATUS_SCRIPT's line of the latest run only (none without runs), found without a process (pod/latest.sh);
 * its id is left in `$id` for what follows (`compare`'s gather script).
 */
export const LATEST_STATUS_SCRIPT = [...PROLOGUE, STATUS_SH, LATEST_SH].join("\n");

export type RunState = "running" | "succeeded" | "failed" | "stopped" | "interrupted";

/**
 * A run's check: pending (the agent still runs), running, passed, failed, or skipped (the run was
 * stopped or lost before the check could run).
 */
export interface RunCheck {
  state: "pending" | "running" | "passed" | "failed" | "skipped";
  exitCode?: number;
}

export interface AgentRun {
  id: string;
  state: RunState;
  exitCode?: number;
  startedAt?: string;
  endedAt?: string;
  /** seconds, up to now for a running run (the agent's own time: the check is not counted) */
  durationSeconds?: number;
  /** the run's check, when it has one */
  check?: RunCheck;
  /** the run this one continued (`agent run --continue`) */
  continues?: string;
  /** what the run really did (truth.ts): from git and, once read, from the agent's structured output */
  truth?: RunTruth;
  /** the Node runner's state (pod/runner.js): a wait on the model API in progress (a running run) */
  waiting?: Waiting;
  /** times kodama continued the run after a transient end (overloaded, rate-limited, unreachable) */
  continuations?: number;
  /** the model API retries the agent reported */
  apiRetries?: number;
  /** every model that answered */
  models?: string[];
  /** times the run resumed on the session's next pod after its pod ended (runner.js; cause refined: resumecause.ts) */
  resumes?: RunResume[];
  /** the outcome the runner decided on when the run ended */
  runnerOutcome?: Outcome;
  /** messages `agent say` left that no conversation has taken in yet: the next turn or run carries them */
  undelivered?: number;
}

/** The Node runner's state.json (one line), keeping only what has the right type. */
export function parseRunState(text: string | undefined): Partial<AgentRun> {
  if (!text?.trim()) return {};
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(text);
  } catch {
    return {};
  }
  if (!j || typeof j !== "object") return {};
  const out: Partial<AgentRun> = {};
  const n = (v: unknown) => typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : undefined;
  const w = j.waiting as Record<string, unknown> | undefined;
  if (w && typeof w === "object" && typeof w.reason === "string") {
    out.waiting = {
      reason: w.reason.slice(0, 40),
      ...(typeof w.via === "string" ? { via: w.via.slice(0, 300) } : {}),
      ...(typeof w.until === "string" && !Number.isNaN(Date.parse(w.until)) ? { until: w.until } : {}),
      ...(n(w.attempt) !== undefined ? { attempt: n(w.attempt) } : {}),
      ...(n(w.of) !== undefined ? { of: n(w.of) } : {}),
    };
  }
  if (n(j.continuations)) out.continuations = n(j.continuations);
  if (n(j.apiRetries)) out.apiRetries = n(j.apiRetries);
  if (n(j.undelivered)) out.undelivered = Math.floor(n(j.undelivered)!);
  if (Array.isArray(j.models)) {
    out.models = j.models.filter((m) => typeof m === "string").map((m) => m.slice(0, 100)).slice(0, 10);
  }
  if (Array.isArray(j.resumes)) {
    out.resumes = j.resumes.filter((r) => r && typeof r === "object").slice(0, 100).map((r) => ({
      cause: RESUME_CAUSES.includes(r.cause) ? r.cause : "deleted",
      at: typeof r.at === "string" && !Number.isNaN(Date.parse(r.at)) ? r.at : "",
      pod: typeof r.pod === "string" ? r.pod.replace(/[^0-9a-zA-Z-]/g, "").slice(0, 64) : "",
      resumedAt: typeof r.resumedAt === "string" && !Number.isNaN(Date.parse(r.resumedAt)) ? r.resumedAt : "",
    }));
  }
  const o = j.outcome as Record<string, unknown> | undefined;
  if (o && typeof o === "object" && typeof o.class === "string" && typeof o.message === "string") {
    out.runnerOutcome = {
      class: o.class as Outcome["class"],
      retryable: o.retryable === true,
      ...(typeof o.retryAt === "string" ? { retryAt: o.retryAt } : {}),
      message: o.message.slice(0, 500),
    };
  }
  return out;
}

function checkOf(
  has: string | undefined,
  raw: string,
  code: string | undefined,
  ended: boolean,
): RunCheck | undefined {
  if (has !== "1") return undefined;
  if (code && /^-?\d+$/.test(code)) {
    const exitCode = Number(code);
    return { state: exitCode === 0 ? "passed" : "failed", exitCode };
  }
  if (raw === "running") return { state: ended ? "running" : "pending" };
  return { state: raw === "starting" ? "pending" : "skipped" };
}

/** Parse STATUS_SCRIPT's lines. */
export function parseRuns(text: string, now = Date.now()): AgentRun[] {
  const out: AgentRun[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const [id, raw, code, started, ended, _pid, hasCheck, checkCode, continues, git, endedBy, truth, rstate] =
      line
        .split(
          "\t",
        );
    if (!/^\d+$/.test(id ?? "")) continue;
    const exitCode = code && /^-?\d+$/.test(code) ? Number(code) : undefined;
    const state: RunState = raw === "exited"
      ? (exitCode === 0 ? "succeeded" : "failed")
      : raw === "stopped"
      ? "stopped"
      : raw === "running" || raw === "starting"
      ? "running"
      : raw === "interrupted"
      ? "interrupted"
      : "failed"; // lost: the process is gone without an exit code (the pod restarted)
    const s = started ? Date.parse(started) : NaN;
    const e = ended ? Date.parse(ended) : NaN;
    const end = Number.isNaN(e) ? (state === "running" ? now : NaN) : e;
    out.push({
      id,
      state,
      ...(exitCode !== undefined ? { exitCode } : {}),
      ...(started ? { startedAt: started } : {}),
      ...(ended ? { endedAt: ended } : {}),
      ...(!Number.isNaN(s) && !Number.isNaN(end)
        ? { durationSeconds: Math.max(0, Math.round((end - s) / 1000)) }
        : {}),
    });
    const check = checkOf(hasCheck, raw, checkCode, Boolean(ended));
    if (check) out[out.length - 1].check = check;
    if (continues && /^\d+$/.test(continues.trim())) out[out.length - 1].continues = continues.trim();
    const facts = runFacts(git, endedBy, truth);
    if (facts) out[out.length - 1].truth = facts;
    const st = parseRunState(rstate);
    if (state !== "running") delete st.waiting;
    Object.assign(out[out.length - 1], st);
  }
  return out.sort((a, b) => Number(a.id) - Number(b.id));
}

/** `sh -c LOGS kodama-logs RUN FOLLOW`: the run's log; with FOLLOW=1, until the run has ended (pod/logs.sh). */
export const LOGS_SCRIPT = [...PROLOGUE, LOGS_SH].join("\n");

/** `sh -c STOP kodama-stop RUN`: end a run's process group; prints the run id it stopped (pod/stop.sh). */
export const STOP_SCRIPT = [...PROLOGUE, STOP_SH].join("\n");

/**
 * A run id a pod program answered with (say.sh, stop.sh): the shape kodama makes (a number), else exit 1 —
 * what the pod prints is the agent's to forge (an OSC 52 clipboard write in place of an id, issue 79), so it
 * is never shown or used as it came.
 */
export function podRunId(id: string | undefined, what: string): string {
  if (id !== undefined && /^\d{1,12}$/.test(id)) return id;
  throw new KodamaError(`${what}: the pod answered with a run id kodama does not make: ${quote(id ?? "")}`);
}

/** A run id given by a user: a number, or undefined for the latest. */
export function checkRunId(id: string | undefined): string {
  if (id === undefined) return "latest";
  if (!/^\d+$/.test(id)) throw usageError(`invalid run id ${quote(id)}: runs are numbered 1, 2, …`);
  return String(Number(id));
}
