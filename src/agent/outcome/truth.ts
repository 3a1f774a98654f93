/**
 * The truth about a run, from the agent's own structured output (stream.ts) and what git saw in the
 * workspace: turns, tool calls, tool uses denied, files changed, commits made, tokens and cost when the
 * agent reports them, the final message and the agent's error. Pure.
 *
 * A run that exited 0 but had tool uses denied, or changed nothing, is not a plain `succeeded`:
 * `outcomeWord` says `succeeded (no changes)` and `truthNotes` says `denied: 3 tool uses`.
 */
import { type AgentEvent, type AgentKind, parseStream } from "./stream.ts";
import { isPresetName } from "../../config/agentnames.ts";
import { classify, type Facts, factsOf, type Outcome, OUTCOME_CLASSES, type RunEnd } from "./outcome.ts";

export interface RunTruth {
  /** which agent's output it was; absent when the log held no structured output (a custom command) */
  agent?: AgentKind;
  /** model turns (Claude: its num_turns; Codex: its turns; Gemini: counted from its events) */
  turns?: number;
  toolCalls: number;
  /** tool uses the agent's permissions refused */
  denied: number;
  /** what was denied, the first few: `Write: Claude requested permissions to write …` */
  deniedUses?: string[];
  /** commits made during the run (git, in the workspace) */
  commits?: number;
  /** files the run changed, committed or not (git, in the workspace) */
  filesChanged?: number;
  /** a session with several repositories: each one's commits and files (commits/filesChanged are the sums) */
  repositories?: RepoFacts[];
  inputTokens?: number;
  outputTokens?: number;
  costUsd?: number;
  /** the agent's final message */
  final?: string;
  /** the agent's own error, when it reported one */
  error?: string;
  /** the model API retries it made */
  retries?: number;
  /** kodama ended it: `stalled` (nothing printed for agent.stallTimeout), `unreachable`, or a `budget` */
  endedBy?: EndedBy;
  /** the outcome (outcome.ts), once the ended run's log was read */
  outcome?: Outcome;
  /** the model API retries the agent reported (every attempt of the run) */
  apiRetries?: number;
  /** times kodama continued the run after a transient end */
  continuations?: number;
  /** overloads and rate limits met on the way (retried by the agent or by kodama) */
  overloads?: number;
  rateLimits?: number;
  /** every model that answered */
  models?: string[];
  /** the agent's log was read (else only git's facts are known yet) */
  fromLog?: boolean;
}

export type EndedBy = "stalled" | "unreachable" | "budget" | "interrupted" | "taken-over";
const ENDED_BY: readonly string[] = ["stalled", "unreachable", "budget", "interrupted", "taken-over"];

/** Git's view of a run: `git rev-list --count START..HEAD` and the files changed since START. */
export interface GitFacts {
  commits?: number;
  filesChanged?: number;
}

/** One repository's part of a run in a session with several. */
export interface RepoFacts {
  name: string;
  commits: number;
  filesChanged: number;
}

const MAX_DENIED_LISTED = 5;
const MAX_TEXT = 2000;

const cut = (s: string) => (s.length > MAX_TEXT ? s.slice(0, MAX_TEXT) + "…" : s);

export function summarize(events: AgentEvent[], git: GitFacts = {}): RunTruth {
  const t: RunTruth = { toolCalls: 0, denied: 0 };
  const turns = new Set<string>();
  let codexTurns = 0, deniedEvents = 0, retries = 0, reported: number | undefined;
  let inTok = 0, outTok = 0, sawUsage = false;
  const denied: string[] = [];
  let lastError: string | undefined;
  for (const e of events) {
    switch (e.kind) {
      case "init":
        t.agent = e.agent;
        break;
      case "message":
        t.final = e.text;
        if (e.turn) turns.add(e.turn);
        break;
      case "tool":
        t.toolCalls++;
        if (e.turn) turns.add(e.turn);
        break;
      case "denied":
        deniedEvents++;
        if (denied.length < MAX_DENIED_LISTED) denied.push(`${e.name ? e.name + ": " : ""}${e.message}`);
        break;
      case "retry":
        retries++;
        break;
      case "usage":
        codexTurns++;
        sawUsage = true;
        inTok += e.inputTokens;
        outTok += e.outputTokens;
        break;
      case "error":
        lastError = e.message;
        break;
      case "result":
        if (e.turns !== undefined) t.turns = e.turns;
        if (e.text !== undefined && e.ok) t.final = e.text;
        if (e.inputTokens !== undefined) t.inputTokens = e.inputTokens;
        if (e.outputTokens !== undefined) t.outputTokens = e.outputTokens;
        if (e.costUsd !== undefined) t.costUsd = e.costUsd;
        if (e.denied !== undefined) reported = e.denied;
        if (!e.ok) {
          t.error = e.error;
          if (t.agent === "codex") codexTurns++;
        }
        break;
    }
  }
  if (t.turns === undefined) {
    if (t.agent === "codex" && codexTurns) t.turns = codexTurns;
    else if (turns.size) t.turns = turns.size;
  }
  if (sawUsage && t.inputTokens === undefined) {
    t.inputTokens = inTok;
    t.outputTokens = outTok;
  }
  t.denied = Math.max(deniedEvents, reported ?? 0);
  if (denied.length) t.deniedUses = denied;
  if (retries) t.retries = retries;
  if (!t.error && lastError) t.error = lastError;
  if (t.final) t.final = cut(t.final);
  if (t.error) t.error = cut(t.error);
  if (git.commits !== undefined) t.commits = git.commits;
  if (git.filesChanged !== undefined) t.filesChanged = git.filesChanged;
  return t;
}

/** The truth of a whole log; with how the run ended, its outcome. */
export function truthOfLog(log: string, git: GitFacts = {}, end?: RunEnd): RunTruth {
  const t = summarize(parseStream(log), git);
  const f = factsOf(log);
  addFacts(t, f);
  if (end) {
    const changed = t.commits === 0 && t.filesChanged === 0 ? false : undefined;
    t.outcome = classify(f, { ...end, changed, denied: t.denied });
  }
  return t;
}

function addFacts(t: RunTruth, f: Facts) {
  if (f.apiRetries) t.apiRetries = f.apiRetries;
  if (f.continuations) t.continuations = f.continuations;
  if (f.overloads) t.overloads = f.overloads;
  if (f.rateLimits) t.rateLimits = f.rateLimits;
  if (f.models.length) t.models = f.models.slice(0, 10);
}

/** `succeeded (no changes)` for a run that exited 0 having changed and committed nothing; else the state. */
export function outcomeWord(state: string, t: RunTruth | undefined): string {
  if (state !== "succeeded" || !t) return state;
  if (t.commits === 0 && t.filesChanged === 0) return "succeeded (no changes)";
  return state;
}

/** What a person should know besides the state: `denied: 3 tool uses`, `stalled`, the agent's error. */
export function truthNotes(t: RunTruth | undefined): string[] {
  if (!t) return [];
  const out: string[] = [];
  if (t.denied) out.push(`denied: ${t.denied} tool use${t.denied === 1 ? "" : "s"}`);
  if (t.endedBy === "stalled") out.push("stalled: no progress for agent.stallTimeout");
  if (t.endedBy === "unreachable") out.push("the model API was unreachable");
  if (t.endedBy === "budget") out.push("ended by a budget (KODAMA_MAX_*)");
  if (t.endedBy === "taken-over") out.push("taken over (agent attach)");
  return out;
}

/** `1.2k` tokens, `$0.0123`. */
export function formatTokens(t: RunTruth | undefined): string {
  if (!t || (t.inputTokens === undefined && t.outputTokens === undefined)) return "-";
  const n = (t.inputTokens ?? 0) + (t.outputTokens ?? 0);
  const s = n >= 10_000 ? `${Math.round(n / 1000)}k` : n >= 1000 ? `${(n / 1000).toFixed(1)}k` : String(n);
  return t.costUsd !== undefined && t.costUsd > 0 ? `${s} $${t.costUsd.toFixed(t.costUsd < 1 ? 4 : 2)}` : s;
}

/** Parse a stored truth (truth.json in the run's directory), keeping only what has the right type. */
export function parseTruth(text: string): RunTruth | undefined {
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!j || typeof j !== "object") return undefined;
  const n = (k: string) => (typeof j[k] === "number" && Number.isFinite(j[k]) ? j[k] as number : undefined);
  const s = (k: string) => (typeof j[k] === "string" ? (j[k] as string).slice(0, MAX_TEXT + 1) : undefined);
  const t: RunTruth = { toolCalls: n("toolCalls") ?? 0, denied: n("denied") ?? 0 };
  if (isPresetName(j.agent)) {
    t.agent = j.agent;
  }
  for (
    const k of [
      "turns",
      "commits",
      "filesChanged",
      "inputTokens",
      "outputTokens",
      "costUsd",
      "retries",
      "apiRetries",
      "continuations",
      "overloads",
      "rateLimits",
    ] as const
  ) {
    const v = n(k);
    if (v !== undefined) t[k] = v;
  }
  for (const k of ["final", "error"] as const) {
    const v = s(k);
    if (v !== undefined) t[k] = v;
  }
  if (typeof j.endedBy === "string" && ENDED_BY.includes(j.endedBy)) t.endedBy = j.endedBy as EndedBy;
  if (j.fromLog === true) t.fromLog = true;
  if (Array.isArray(j.models)) {
    t.models = j.models.filter((m) => typeof m === "string").map((m) => (m as string).slice(0, 100)).slice(
      0,
      10,
    );
  }
  const o = j.outcome as Record<string, unknown> | undefined;
  if (
    o && typeof o === "object" && (OUTCOME_CLASSES as readonly unknown[]).includes(o.class) &&
    typeof o.message === "string"
  ) {
    t.outcome = {
      class: o.class as Outcome["class"],
      retryable: o.retryable === true,
      ...(typeof o.retryAt === "string" ? { retryAt: o.retryAt } : {}),
      message: o.message.slice(0, 500),
    };
  }
  if (Array.isArray(j.deniedUses)) {
    t.deniedUses = j.deniedUses.filter((x) => typeof x === "string").slice(0, MAX_DENIED_LISTED);
  }
  return t;
}

/**
 * What the status script prints for a run: its `git` file (`COMMITS FILES [NAME=C/F…]`), its `ended-by` marker and its
 * stored truth (one line of JSON). Undefined when there is none of them (a run still going, an old run).
 */
export function runFacts(git?: string, endedBy?: string, truth?: string): RunTruth | undefined {
  const stored = truth?.trim() ? parseTruth(truth) : undefined;
  const t: RunTruth = stored ?? { toolCalls: 0, denied: 0 };
  const g = parseGitLine(git);
  if (g) {
    t.commits = g.commits;
    t.filesChanged = g.filesChanged;
    if (g.repositories) t.repositories = g.repositories;
  }
  const by = endedBy?.trim();
  if (by && ENDED_BY.includes(by)) t.endedBy = by as EndedBy;
  return stored || g || t.endedBy ? t : undefined;
}

const REPO_FACT = /^([A-Za-z0-9_][A-Za-z0-9._-]{0,63})=(\d+)\/(\d+)$/;

/**
 * The runner's `git` file (pod/watch.sh): `COMMITS FILES`, and in a session with several repositories each
 * one's `NAME=COMMITS/FILES` after (the first two the sums). A token that is not one of those is dropped;
 * a line without the two numbers is none.
 */
export function parseGitLine(
  line?: string,
): { commits: number; filesChanged: number; repositories?: RepoFacts[] } | undefined {
  const [c, f, ...rest] = (line ?? "").trim().split(/\s+/);
  if (!/^\d+$/.test(c ?? "") || !/^\d+$/.test(f ?? "")) return undefined;
  const repositories: RepoFacts[] = [];
  for (const tok of rest.slice(0, 64)) {
    const m = REPO_FACT.exec(tok);
    if (m) repositories.push({ name: m[1], commits: Number(m[2]), filesChanged: Number(m[3]) });
  }
  return { commits: Number(c), filesChanged: Number(f), ...(repositories.length ? { repositories } : {}) };
}

/** `api 2c/3f, web 0c/1f`: each repository's commits and files changed, for a table; `-` for none. */
export function formatRepoFacts(r: RepoFacts[] | undefined): string {
  return r?.length ? r.map((x) => `${x.name} ${x.commits}c/${x.filesChanged}f`).join(", ") : "-";
}
