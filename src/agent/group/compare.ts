/**
 * `kodama compare NAME`: a group's replicas side by side — agent state and duration, commits, diffstat,
 * check result and a short summary — gathered with one exec per replica, all at once.
 *
 *   -o json|yaml    the same rows for machines
 *   --diff          each replica's diff against the commit it was cloned at, one after another
 *   --diff A B      where A's and B's changes differ: every file either changed, A's version against B's
 *   -w              the table again whenever it changes, until every agent (and its check) has ended
 *   --wait          print once every agent (and its check) has ended (workflows' `session: wait`)
 *
 * Everything read from a pod is the pod's to choose: numbers are kept only as numbers, text is shown
 * without control characters.
 */
import type { Kube } from "../../kube/client.ts";
import type { KubeObjects, KubeSessions, KubeStreams } from "../../kube/seam.ts";
import { ExitCode, KodamaError, usageError } from "../../base/errors.ts";
import type { Sink } from "../../base/sink.ts";
import { formatDuration } from "../../base/duration.ts";
import { renderTable } from "../../ui/table.ts";
import { safeLine } from "../../ui/color.ts";
import { withInterrupt } from "../../base/proc/proc.ts";
import { type AgentRun, LATEST_STATUS_SCRIPT, parseRuns, type RunState } from "../runs/agent.ts";
import { formatTokens, type RunTruth } from "../outcome/truth.ts";
import {
  outcomeOf,
  type OutcomeOut,
  readTruth,
  recordOutcome,
  runNotes,
  runOutcome,
} from "../outcome/runtruth.ts";
import type { Waiting } from "../outcome/outcome.ts";
import { execCapture } from "../runs/agentrun.ts";
import { DIFF_SCRIPT } from "../../session/git/fetch.ts";
import { checkRepoName, inRepo } from "../../session/git/repos.ts";
import { stopOthersWhenPassed } from "./stopothers.ts";
import type { Judgement } from "./judgestore.ts";
import { judgeFooter, rankRows } from "./judgeview.ts";
import { groupMembers, replicaOf } from "./group.ts";
import type { SessionView } from "../../session/state/status.ts";
import { type GatewayFigures, usageText } from "../../session/spec/gateway.ts";
import { fillGatewayFigures, withGatewayWait } from "../gateway/figures.ts";
import { quote } from "../../base/text/escape.ts";
import GATHER_SH from "../pod/gather.sh" with { type: "text" };
import FILES_SH from "../pod/files.sh" with { type: "text" };
import {
  type AnnounceOptions,
  announceRunEnd,
  noteOfRun,
  relayRunEnd,
  type RunEndNote,
  settleAnnounce,
} from "../notify/notify.ts";

const TAIL_BYTES = 2000;

/**
 * `sh -c GATHER kodama-compare TAIL_BYTES` (pod/gather.sh after the latest run's status line): the latest
 * run's status line, the git facts, the latest run's check tail and summary, read cheaply (eight replicas
 * are read at once); the tails are cut to lines here (parseGather), not by more processes in the pod.
 */
export const GATHER_SCRIPT = [LATEST_STATUS_SCRIPT, GATHER_SH].join("\n");

/** The gather's command line; a session with several repositories names the written ones (its spec's). */
export function gatherArgv(repos: string[] = []): string[] {
  return ["sh", "-c", GATHER_SCRIPT, "kodama-compare", String(TAIL_BYTES), ...repos];
}

export interface ReplicaRow {
  name: string;
  replica: number;
  /** the session's state (Running, Stopped, Failed, …) */
  status: string;
  branch?: string;
  head?: string;
  base?: string;
  agent?: {
    run: string;
    /** running, checking (its check runs), succeeded, failed, stopped */
    state: string;
    exitCode?: number;
    durationSeconds?: number;
    /** waiting on the model API (the agent's retry, or kodama's wait before continuing it) */
    waiting?: Waiting;
    continuations?: number;
    apiRetries?: number;
    models?: string[];
  };
  check?: { state: string; exitCode?: number; tail?: string };
  commits?: number;
  diffstat?: { files: number; insertions: number; deletions: number; paths: string[] };
  /** files changed in the workspace and not committed (adopt brings commits only) */
  uncommitted?: number;
  /**
   * a session with several repositories: each written one's facts (commits, diffstat, uncommitted are then
   * the sums, diffstat.paths under each one's directory)
   */
  repositories?: RepoRow[];
  summary?: string;
  /** why the replica could not be read */
  error?: string;
  /** what the latest run's agent did (truth.ts): turns, tool calls, denied uses, tokens, cost */
  truth?: RunTruth;
  /** the latest run's outcome (outcome.ts): class, retryable, retryAt, message, and its words */
  outcome?: OutcomeOut;
  /** what else to know of it (`denied: 2 tool uses`, the agent's error, how to continue it) */
  notes?: string[];
  /**
   * the gateway's figures of the session (its count, not the agent's claim): null when the replica goes
   * through a gateway that could not be read; absent without a gateway
   */
  gateway?: GatewayFigures | null;
  /** the runner's own outcome (read from the pod; not shown) */
  runnerOutcome?: AgentRun["runnerOutcome"];
  /** the group's judgement (judge.ts): rank 1 first, absent when not ranked; the reason, or why not */
  rank?: number;
  reason?: string;
  movedSinceJudged?: boolean;
}

const OBJECT_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** The last n lines (as `tail -n`), blank lines at the end left out. */
function lastLines(lines: string[], n: number): string[] {
  let end = lines.length;
  while (end > 0 && !lines[end - 1].trim()) end--;
  return lines.slice(Math.max(0, end - n), end);
}

/** One repository's git facts in a replica (its branch, HEAD, the commit it was cloned at). */
export interface RepoGit {
  branch?: string;
  head?: string;
  base?: string;
  commits?: number;
  diffstat?: { files: number; insertions: number; deletions: number; paths: string[] };
  uncommitted?: number;
}

/** One repository of a replica with several (compare's `repositories[]`). */
export type RepoRow = RepoGit & { name: string };

const REPO_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/;

/** The facts of one `@@git` and its `@@numstat`. Pure. */
function gitFacts(git: string[], numstat: string[]): RepoGit {
  const out: RepoGit = {};
  const paths: string[] = [];
  let ins = 0;
  let del = 0;
  for (const l of git) {
    const [k, v] = [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)];
    if (k === "branch" && v) out.branch = safeLine(v).slice(0, 255);
    if ((k === "head" || k === "base") && OBJECT_ID.test(v)) out[k] = v;
    if (k === "commits" && /^\d{1,9}$/.test(v)) out.commits = Number(v);
    if (k === "dirty" && /^\d{1,9}$/.test(v)) out.uncommitted = Number(v);
  }
  for (const l of numstat) {
    const m = /^(\d+|-)\t(\d+|-)\t(.+)$/.exec(l);
    if (!m) continue;
    ins += m[1] === "-" ? 0 : Number(m[1]);
    del += m[2] === "-" ? 0 : Number(m[2]);
    paths.push(m[3]);
  }
  if (out.base) out.diffstat = { files: paths.length, insertions: ins, deletions: del, paths };
  return out;
}

/**
 * The replica's totals over its repositories: commits, uncommitted files and the diffstat summed, each path
 * under its repository's directory (`api/x.ts`). Pure.
 */
export function repoTotals(repos: RepoRow[]): Pick<RepoGit, "commits" | "diffstat" | "uncommitted"> {
  const sum = (f: (r: RepoRow) => number | undefined) =>
    repos.some((r) => f(r) !== undefined) ? repos.reduce((n, r) => n + (f(r) ?? 0), 0) : undefined;
  const out: Pick<RepoGit, "commits" | "diffstat" | "uncommitted"> = {};
  const commits = sum((r) => r.commits);
  const uncommitted = sum((r) => r.uncommitted);
  if (commits !== undefined) out.commits = commits;
  if (uncommitted) out.uncommitted = uncommitted;
  if (repos.some((r) => r.diffstat)) {
    out.diffstat = {
      files: sum((r) => r.diffstat?.files) ?? 0,
      insertions: sum((r) => r.diffstat?.insertions) ?? 0,
      deletions: sum((r) => r.diffstat?.deletions) ?? 0,
      paths: repos.flatMap((r) => (r.diffstat?.paths ?? []).map((p) => `${r.name}/${p}`)),
    };
  }
  return out;
}

/** Parse GATHER_SCRIPT's output into the row's fields. Pure. */
export function parseGather(text: string): Omit<ReplicaRow, "name" | "replica" | "status"> {
  const sections: Record<string, string[]> = { runs: [] };
  // a session with several repositories: each `@@repo NAME`'s own git and numstat sections
  const repos: { name: string; git: string[]; numstat: string[] }[] = [];
  let inRepo: (typeof repos)[number] | undefined;
  let several = false;
  let cur = "runs";
  for (const line of text.split("\n")) {
    const r = /^@@repo (.*)$/.exec(line);
    if (r) {
      inRepo = REPO_NAME.test(r[1]) && repos.length < 64 && !repos.some((x) => x.name === r[1])
        ? { name: r[1], git: [], numstat: [] }
        : undefined;
      if (inRepo) repos.push(inRepo);
      several = true;
      cur = "repo";
      continue;
    }
    const m = /^@@(\w+)$/.exec(line);
    if (m) {
      cur = m[1];
      if (cur !== "git" && cur !== "numstat") inRepo = undefined;
      if (!several || (cur !== "git" && cur !== "numstat")) sections[cur] = [];
    } else if (cur === "git" || cur === "numstat") {
      if (inRepo) inRepo[cur].push(line);
      else if (!several) sections[cur].push(line);
    } else if (cur !== "repo") (sections[cur] ??= []).push(line);
  }
  const out: Omit<ReplicaRow, "name" | "replica" | "status"> = {};
  const runs: AgentRun[] = parseRuns(sections.runs.join("\n"));
  const last = runs.at(-1);
  if (last) {
    const checking = last.state === "running" && last.check?.state === "running";
    out.agent = {
      run: last.id,
      state: checking ? "checking" : last.state,
      ...(last.exitCode !== undefined ? { exitCode: last.exitCode } : {}),
      ...(last.durationSeconds !== undefined ? { durationSeconds: last.durationSeconds } : {}),
      ...(last.waiting ? { waiting: last.waiting } : {}),
      ...(last.continuations ? { continuations: last.continuations } : {}),
      ...(last.apiRetries ? { apiRetries: last.apiRetries } : {}),
      ...(last.models?.length ? { models: last.models } : {}),
    };
    if (last.runnerOutcome) out.runnerOutcome = last.runnerOutcome;
    if (last.truth) out.truth = last.truth;
    if (last.check) {
      const tail = lastLines(sections.check ?? [], 5).map(safeLine).join("\n").trim();
      out.check = { ...last.check, ...(tail ? { tail } : {}) };
    }
  }
  if (several) {
    out.repositories = repos.map((r) => ({ name: r.name, ...gitFacts(r.git, r.numstat) }));
    Object.assign(out, repoTotals(out.repositories));
  } else {
    const g = gitFacts(sections.git ?? [], sections.numstat ?? []);
    Object.assign(out, g);
  }
  // the agent's final message, else the last lines of its output that say something (never its JSON
  // stream: the truth's final message or error stands for that, in gatherOne)
  const summary = (sections.summary ??
    lastLines((sections.log ?? []).filter((l) => l.trim() && !l.trimStart().startsWith("{")), 3))
    .map(safeLine).join("\n").trim();
  if (summary) out.summary = summary;
  return out;
}

/** The row's outcome and notes, once its truth is known; the summary from the truth when it has one. */
export function settleRow(row: ReplicaRow): void {
  const a = row.agent;
  if (!a) return;
  const run = {
    state: a.state === "checking" ? "running" : a.state,
    exitCode: a.exitCode,
    truth: row.truth,
    waiting: a.waiting,
    runnerOutcome: row.runnerOutcome,
  };
  const notes = runNotes(run);
  row.outcome = { ...outcomeOf(run), text: a.state === "checking" ? "checking" : runOutcome(run) };
  if (notes.length) row.notes = notes;
  delete row.runnerOutcome;
  const said = a.state === "failed" ? row.truth?.error ?? row.outcome.message : row.truth?.final;
  if (said && (!row.summary || row.truth?.fromLog)) {
    row.summary = said.split("\n").map(safeLine).join("\n").trim();
  }
}

/** Gather one replica (one exec; nothing when it is not running). */
async function gatherOne(kube: KubeObjects & KubeStreams, v: SessionView): Promise<ReplicaRow> {
  const row: ReplicaRow = {
    name: v.name,
    replica: replicaOf(v),
    status: v.status,
    ...(v.branch ? { branch: v.branch } : {}),
  };
  if (v.status !== "Running" || !v.pod) return row;
  try {
    const repos = (v.spec?.repos ?? []).filter((x) => !x.readOnly).map((x) =>
      checkRepoName(x.name, "the spec")
    );
    const r = await execCapture(kube, v.pod, gatherArgv(repos));
    if (r.code !== 0) row.error = safeLine(r.stderr.trim()) || `exit code ${r.code}`;
    Object.assign(row, parseGather(r.stdout));
    // an ended run's log is read once for its truth (then stored with the run)
    const a = row.agent;
    if (a && a.state !== "running" && a.state !== "checking" && !row.truth?.fromLog) {
      const t = await readTruth(kube, v.pod, {
        id: a.run,
        state: a.state as RunState,
        truth: row.truth,
        ...(a.exitCode !== undefined ? { exitCode: a.exitCode } : {}),
      }).catch(() => undefined);
      if (t) row.truth = t;
      if (t) await recordOutcome(kube, v.pod, { id: a.run, state: a.state, truth: t, exitCode: a.exitCode });
    }
    settleRow(row);
  } catch (e) {
    row.error = (e as Error).message.split("\n")[0];
  }
  return row;
}

/** Every replica of the group, gathered in parallel. */
export async function gatherGroup(
  kube: KubeSessions,
  namespace: string,
  group: string,
): Promise<ReplicaRow[]> {
  const members = await groupMembers(kube, namespace, group);
  // the gateway's figures of every replica: one read of its log, beside the replicas' execs
  const [rows] = await Promise.all([
    Promise.all(members.map((v) => gatherOne(kube, v))),
    fillGatewayFigures(kube, members),
  ]);
  members.forEach((v, i) => {
    if (v.spec?.gateway) rows[i].gateway = v.gatewayFigures ?? null;
  });
  return rows;
}

/**
 * Every replica with its judge's RANK and REASON when the group was judged (judgestore.ts): what `compare`
 * shows, for the doors (MCP, the web UI) that read a group. A Role that cannot read the judgement shows none.
 */
export async function rankedGroup(
  kube: KubeSessions,
  namespace: string,
  group: string,
): Promise<{ rows: ReplicaRow[]; judgement?: Judgement }> {
  const { loadJudgement } = await import("./judgestore.ts");
  const [rows, j] = await Promise.all([
    gatherGroup(kube, namespace, group),
    loadJudgement(kube, namespace, group).catch(() => undefined),
  ]);
  return j ? { rows: rankRows(rows, j), judgement: j } : { rows };
}

/** The group's total of the gateway's figures (the replicas it could read), undefined when none. */
export function gatewayTotal(rows: ReplicaRow[]): GatewayFigures | undefined {
  const fs = rows.map((r) => r.gateway).filter((f): f is GatewayFigures => !!f);
  if (!fs.length) return undefined;
  const sum = (k: "requests" | "denied" | "input" | "output" | "cacheRead" | "cacheWrite") =>
    fs.reduce((n, f) => n + f[k], 0);
  const costs = fs.map((f) => f.costUsd);
  const budgets = fs.map((f) => f.budgetUsd);
  return {
    requests: sum("requests"),
    denied: sum("denied"),
    input: sum("input"),
    output: sum("output"),
    cacheRead: sum("cacheRead"),
    cacheWrite: sum("cacheWrite"),
    costUsd: costs.includes(null) ? null : Math.round(costs.reduce((n, c) => n! + c!, 0)! * 1e6) / 1e6,
    budgetUsd: budgets.includes(null) ? null : budgets.reduce((n, b) => n! + b!, 0),
    budgetLeftUsd: null,
  };
}

/**
 * A row's agent cell: `succeeded`, `succeeded (no changes)`, `failed: overloaded (retryable)`, `failed (1)`,
 * `running (429, retry 3/10 in 15s)`, `no run` without one.
 */
function agentCell(r: ReplicaRow): string {
  if (!r.agent) return r.status === "Running" ? "no run" : r.status;
  const a = r.agent;
  if (a.state === "checking") return "checking";
  const text = r.outcome?.text ??
    withGatewayWait(
      runOutcome({ state: a.state, exitCode: a.exitCode, truth: r.truth, waiting: a.waiting }),
      r.gateway,
    );
  return text === "failed" && a.exitCode !== undefined ? `failed (${a.exitCode})` : text;
}

/** FILES: the count; with several repositories the total and each one's, `3 (api 2, web 1)`. */
export function filesCell(r: Pick<ReplicaRow, "diffstat" | "repositories">): string {
  if (!r.diffstat) return "-";
  const each = r.repositories?.map((x) => `${x.name} ${x.diffstat ? x.diffstat.files : "-"}`);
  return each?.length ? `${r.diffstat.files} (${each.join(", ")})` : String(r.diffstat.files);
}

/** +/-: the lines; with several repositories the total and each one's, `+9/-2 (api +8/-1, web +1/-1)`. */
export function linesCell(r: Pick<ReplicaRow, "diffstat" | "repositories">): string {
  if (!r.diffstat) return "-";
  const pm = (d: { insertions: number; deletions: number }) => `+${d.insertions}/-${d.deletions}`;
  const each = r.repositories?.map((x) => `${x.name} ${x.diffstat ? pm(x.diffstat) : "-"}`);
  return each?.length ? `${pm(r.diffstat)} (${each.join(", ")})` : pm(r.diffstat);
}

function checkCell(r: ReplicaRow): string {
  const c = r.check;
  if (!c) return "-";
  return c.state === "failed" ? `failed (${c.exitCode})` : c.state;
}

const oneLine = (s: string | undefined, max = 60) => {
  const l = (s ?? "").split("\n").filter((x) => x.trim()).at(-1)?.trim() ?? "";
  return l.length > max ? l.slice(0, max - 1) + "…" : l || "-";
};

export function renderComparison(rows: ReplicaRow[]): string {
  // RANK and REASON once the group was judged (judgeview.ts)
  const judged = rows.some((r) => r.reason !== undefined);
  // which agent each replica ran and what it did, once some replica's agent wrote structured output
  const agents = rows.some((r) => r.truth?.agent);
  const n = (v: number | undefined) => (v === undefined ? "-" : String(v));
  // the gateway's own count of tokens and cost, once some replica went through a readable gateway
  const total = gatewayTotal(rows);
  const metered = total !== undefined;
  const table = renderTable(
    [
      "REPLICA",
      ...(judged ? ["RANK"] : []),
      ...(agents ? ["AGENT", "STATE"] : ["AGENT"]),
      "DURATION",
      ...(agents ? ["TURNS", "TOOLS", "DENIED", "TOKENS"] : []),
      ...(metered ? ["GATEWAY"] : []),
      "COMMITS",
      "FILES",
      "+/-",
      "CHECK",
      ...(judged ? ["REASON"] : ["SUMMARY"]),
    ],
    rows.map((r) => [
      r.name,
      ...(judged ? [r.rank !== undefined ? `${r.rank}${r.movedSinceJudged ? "*" : ""}` : "-"] : []),
      ...(agents ? [r.truth?.agent ?? "-"] : []),
      agentCell(r),
      r.agent?.durationSeconds !== undefined
        ? (r.agent.durationSeconds ? formatDuration(r.agent.durationSeconds * 1000) : "0s")
        : "-",
      ...(agents
        ? [n(r.truth?.turns), n(r.truth?.toolCalls), n(r.truth?.denied), formatTokens(r.truth)]
        : []),
      ...(metered ? [usageText(r.gateway)] : []),
      r.commits !== undefined
        ? String(r.commits) + (r.uncommitted ? ` (+${r.uncommitted} uncommitted)` : "")
        : "-",
      filesCell(r),
      linesCell(r),
      checkCell(r),
      r.error ? `error: ${oneLine(r.error)}` : judged ? oneLine(r.reason, 100) : oneLine(r.summary),
    ]),
  );
  return metered ? table + gatewayFooter(total, agents) : table;
}

/** Under the table: whose count GATEWAY is (beside the agents' TOKENS), and the group's total. */
function gatewayFooter(total: GatewayFigures, agents: boolean): string {
  return `\nGATEWAY: tokens and cost metered by the gateway, not claimed by the agent${
    agents ? " (TOKENS is the agent's claim)" : ""
  }\ngroup total (gateway): ${usageText(total)}, ${total.requests} requests${
    total.denied ? `, ${total.denied} denied` : ""
  }\n`;
}

/**
 * Once every agent has ended (-w, --wait): 0 when every replica's agent succeeded and no check failed; else
 * 1, naming them (best-of-N: a script learns that not every replica is good).
 */
export function failedReplicas(rows: ReplicaRow[], err: Sink): number {
  const bad = rows.filter((r) => r.check?.state === "failed" || r.agent?.state === "failed");
  if (!bad.length) return ExitCode.OK;
  err.write(
    `${bad.length} of ${rows.length} replicas failed: ${
      bad.map((r) =>
        `${r.name} (${
          // the real cause first: an agent that died of its API is not its check's fault
          r.agent?.state === "failed"
            ? agentCell(r) + (r.check?.state === "failed" ? `; check ${checkCell(r)}` : "")
            : `check ${checkCell(r)}`})`
      ).join(", ")
    }\n`,
  );
  return ExitCode.FAILED;
}

/** Every agent (and its check) has ended, or cannot run (the session is not running). */
export function settled(rows: ReplicaRow[]): boolean {
  return rows.every((r) =>
    r.status === "Failed" || r.status === "Stopped" ||
    (r.status === "Running" && !r.error &&
      (!r.agent || (r.agent.state !== "running" && r.agent.state !== "checking")))
  );
}

/**
 * What is said when every replica of a group has ended: `failed` when one failed (its agent or its
 * check), else `needs-input` when one waits on the user, else `done`.
 */
export function groupNote(group: string, rows: ReplicaRow[]): RunEndNote {
  const bad = rows.filter((r) => r.check?.state === "failed" || r.agent?.state === "failed").length;
  const waiting =
    rows.filter((r) =>
      r.agent && noteOfRun(r.name, { ...r.agent, id: r.agent.run, truth: r.truth })?.event === "needs-input"
    ).length;
  const ok = rows.length - bad;
  return {
    event: bad ? "failed" : waiting ? "needs-input" : "done",
    session: group,
    group,
    outcome: `${ok} of ${rows.length} replica${rows.length === 1 ? "" : "s"} succeeded`,
    ...(waiting && !bad ? { reason: `${waiting} wait${waiting === 1 ? "s" : ""} on you` } : {}),
  };
}

export interface CompareOptions {
  output?: string;
  /** --diff: undefined (no diff), [] (every replica's), [A, B] */
  diff?: string[];
  watch?: boolean;
  wait?: boolean;
  /** --timeout of -w/--wait (ms) */
  timeoutMs?: number;
  /** tests: how often -w/--wait look again (default 2 s) */
  intervalMs?: number;
  /** with -w/--wait: once one replica passed its check, stop the runs still going in the others */
  stopOthersWhenPassed?: boolean;
  out: Sink;
  err: Sink;
  tty?: boolean;
  signal?: AbortSignal;
  /** with -w/--wait: announce the group's end (notify.ts) */
  announce?: AnnounceOptions;
  /** `--judge PRESET[:MODEL]`: once all have ended, a reviewer agent ranks those that passed (judge.ts) */
  judge?: () => Promise<Judgement>;
  /** the group's judgement, shown as RANK and REASON (judgestore.ts) */
  judgement?: Judgement;
}

function document(group: string, namespace: string, rows: ReplicaRow[], j?: Judgement) {
  const metered = rows.some((r) => r.gateway !== undefined);
  return {
    ...(j ? { judgement: { at: j.at, judge: j.judge, unranked: j.unranked } } : {}),
    apiVersion: "kodama.dev/v1",
    kind: "GroupComparison",
    metadata: { name: group, namespace },
    // the group's total of the gateway's count (null: through a gateway that could not be read)
    ...(metered ? { gateway: gatewayTotal(rows) ?? null } : {}),
    items: rows,
  };
}

async function render(group: string, namespace: string, rows: ReplicaRow[], format: string, j?: Judgement) {
  if (j) rows = rankRows(rows, j);
  if (format === "json") return JSON.stringify(document(group, namespace, rows, j), null, 2) + "\n";
  if (format === "yaml") return (await import("yaml")).stringify(document(group, namespace, rows, j));
  return renderComparison(rows) + (j ? judgeFooter(j, rows) : "");
}

export async function compareGroup(
  kube: Kube,
  namespace: string,
  group: string,
  o: CompareOptions,
): Promise<number> {
  const format = o.output ?? "table";
  if (!["table", "json", "yaml"].includes(format)) {
    throw usageError(`unknown output format ${quote(format)}: use table, json or yaml`);
  }
  if (o.diff) {
    if (o.diff.length === 0) return await diffEach(kube, namespace, group, o);
    if (o.diff.length === 2) return await diffTwo(kube, namespace, group, o.diff as [string, string], o);
    throw usageError("--diff takes no replica (every replica's diff) or two (where they differ)");
  }
  // the group's judgement, when one was made (read once; a Role that cannot read it shows none)
  if (!o.judge && !o.judgement) {
    const { loadJudgement } = await import("./judgestore.ts");
    o = { ...o, judgement: await loadJudgement(kube, namespace, group).catch(() => undefined) };
  }
  if (o.judge) {
    // the table is printed whatever the judge did; then its error, if any (the CLI's exit code)
    let failed: unknown;
    const j = await o.judge().catch((e) => void (failed = e));
    o.out.write(
      await render(group, namespace, await gatherGroup(kube, namespace, group), format, j ?? undefined),
    );
    if (failed) throw failed;
    return ExitCode.OK;
  }
  if (o.stopOthersWhenPassed && !o.watch && !o.wait) {
    throw usageError("--stop-others-when-passed acts while compare waits: add --wait or -w");
  }
  if (!o.watch && !o.wait) {
    const rows = await gatherGroup(kube, namespace, group);
    o.out.write(await render(group, namespace, rows, format, o.judgement));
    return ExitCode.OK;
  }
  const deadline = o.timeoutMs ? Date.now() + o.timeoutMs : Infinity;
  return await withInterrupt(async (signal, it) => {
    let last = "";
    let drawn = 0;
    for (;;) {
      let rows = await gatherGroup(kube, namespace, group);
      if (o.stopOthersWhenPassed && await stopOthersWhenPassed(kube, namespace, rows, o.err)) {
        rows = await gatherGroup(kube, namespace, group);
      }
      const done = settled(rows);
      if (o.watch) {
        const text = await render(group, namespace, rows, format, o.judgement);
        if (text !== last) {
          // on a terminal the table is redrawn in place; otherwise each new table follows the last
          if (o.tty && format === "table" && drawn) o.out.write(`\x1b[${drawn}A\x1b[J`);
          else if (last && format === "table") o.out.write("\n");
          o.out.write(text);
          drawn = text.split("\n").length - 1;
          last = text;
        }
      }
      if (done) {
        if (!o.watch) o.out.write(await render(group, namespace, rows, format, o.judgement));
        if (o.announce) {
          // each replica's webhook (the laptop relays those no gateway does), then the group's notification
          for (const r of rows) {
            const n = r.agent && noteOfRun(r.name, { ...r.agent, id: r.agent.run, truth: r.truth }, group);
            if (n) relayRunEnd(n, o.announce);
          }
          announceRunEnd(groupNote(group, rows), o.announce);
          await settleAnnounce(o.announce);
        }
        return failedReplicas(rows, o.err);
      }
      if (Date.now() > deadline) {
        if (!o.watch) o.out.write(await render(group, namespace, rows, format, o.judgement));
        throw new KodamaError(
          `timed out: agents of group ${group} still running (${
            rows.filter((r) => r.agent?.state === "running" || r.agent?.state === "checking").map((r) =>
              r.name
            )
              .join(", ")
          })`,
          ExitCode.TIMEOUT,
        );
      }
      await new Promise<void>((res) => {
        const t = setTimeout(res, o.intervalMs ?? 2000);
        signal.addEventListener("abort", () => {
          clearTimeout(t);
          res();
        }, { once: true });
      });
      if (signal.aborted) return it.interrupted ? ExitCode.INTERRUPTED : ExitCode.OK;
    }
  }, { signal: o.signal });
}

/** `--diff`: each running replica's diff against its base, one after another, in parallel. */
async function diffEach(
  kube: KubeSessions,
  namespace: string,
  group: string,
  o: CompareOptions,
): Promise<number> {
  const members = await groupMembers(kube, namespace, group);
  const diffs = await Promise.all(members.map(async (v) => {
    if (v.status !== "Running" || !v.pod) return { v, text: "", note: `not running (${v.status})` };
    const pod = v.pod;
    // several repositories: each written one's diff, its paths under its directory (a/api/x.ts)
    const repos = (v.spec?.repos ?? []).filter((x) => !x.readOnly).map((x) => x.name);
    const cmds = repos.length
      ? repos.map((n) =>
        inRepo(n, ["sh", "-c", DIFF_SCRIPT, "kodama-diff", `--src-prefix=a/${n}/`, `--dst-prefix=b/${n}/`])
      )
      : [["sh", "-c", DIFF_SCRIPT, "kodama-diff"]];
    let text = "";
    for (const cmd of cmds) {
      const r = await execCapture(kube, pod, cmd).catch((e) => ({
        code: 1,
        stdout: "",
        stderr: (e as Error).message,
      }));
      if (r.code !== 0) return { v, text: "", note: safeLine(r.stderr.trim()).replace(/^kodama: /, "") };
      text += r.stdout && !r.stdout.endsWith("\n") ? r.stdout + "\n" : r.stdout;
    }
    return { v, text, note: text ? "" : "no changes" };
  }));
  for (const d of diffs) {
    o.out.write(`==> ${d.v.name}${d.v.branch ? ` (${d.v.branch})` : ""} <==\n`);
    if (d.note) o.out.write(`(${d.note})\n`);
    o.out.write(d.text);
    if (d.text && !d.text.endsWith("\n")) o.out.write("\n");
  }
  return ExitCode.OK;
}

/**
 * `sh -c FILES kodama-files N` with N paths on stdin (pod/files.sh): each file at HEAD, framed as
 * `@@file SIZE` + bytes + newline, or `@@none` when HEAD lacks it.
 */
export const FILES_SCRIPT: string = FILES_SH;

/** Parse FILES_SCRIPT's output (byte counts, so any content passes). Pure. */
export function parseFiles(bytes: Uint8Array, n: number): (string | undefined)[] {
  const dec = new TextDecoder();
  const out: (string | undefined)[] = [];
  let off = 0;
  while (out.length < n && off < bytes.length) {
    const nl = bytes.indexOf(10, off);
    if (nl < 0) break;
    const head = dec.decode(bytes.subarray(off, nl));
    off = nl + 1;
    const m = /^@@file (\d+)$/.exec(head);
    if (m) {
      const size = Number(m[1]);
      out.push(dec.decode(bytes.subarray(off, off + size)));
      off += size + 1;
    } else out.push(undefined);
  }
  return out;
}

async function filesAt(kube: Kube, v: SessionView, paths: string[]): Promise<(string | undefined)[]> {
  const { execInPod } = await import("../../kube/exec.ts");
  const { concatBytes } = await import("../../base/text/bytes.ts");
  const { CONTAINER } = await import("../../session/spec/spec.ts");
  const chunks: Uint8Array[] = [];
  const res = await execInPod(
    kube,
    v.namespace,
    v.pod!.metadata!.name!,
    CONTAINER,
    ["sh", "-c", FILES_SCRIPT, "kodama-files", String(paths.length)],
    {
      stdin: new TextEncoder().encode(paths.map((p) => p + "\n").join("")),
      stdout: (c) => void chunks.push(c),
      stderr: () => {},
    },
  );
  if (res.exitCode !== 0 || (res.error && res.errorKind !== "remote")) {
    throw new KodamaError(`cannot read ${v.name}'s files: ${res.error ?? `exit code ${res.exitCode}`}`);
  }
  return parseFiles(concatBytes(chunks), paths.length);
}

/** `--diff A B`: every file either replica changed, A's version at its HEAD against B's. */
async function diffTwo(
  kube: Kube,
  namespace: string,
  group: string,
  [a, b]: [string, string],
  o: CompareOptions,
): Promise<number> {
  const members = await groupMembers(kube, namespace, group);
  const find = (n: string) => {
    const v = members.find((m) => m.name === n || String(replicaOf(m)) === n);
    if (!v) {
      throw usageError(
        `--diff ${n}: not a replica of group ${group} (its replicas: ${
          members.map((m) => m.name).join(", ")
        })`,
      );
    }
    if (v.status !== "Running" || !v.pod) {
      throw new KodamaError(`replica ${v.name} is not running (${v.status})`, ExitCode.FAILED);
    }
    return v;
  };
  const [va, vb] = [find(a), find(b)];
  const [ga, gb] = await Promise.all([gatherOne(kube, va), gatherOne(kube, vb)]);
  const paths = [...new Set([...(ga.diffstat?.paths ?? []), ...(gb.diffstat?.paths ?? [])])].sort();
  if (!paths.length) {
    o.err.write(`neither ${va.name} nor ${vb.name} changed a file\n`);
    return ExitCode.OK;
  }
  const [fa, fb] = await Promise.all([filesAt(kube, va, paths), filesAt(kube, vb, paths)]);
  const { createTwoFilesPatch } = await import("diff");
  let same = 0;
  paths.forEach((p, i) => {
    if (fa[i] === fb[i]) {
      same++;
      return;
    }
    const patch = createTwoFilesPatch(
      fa[i] === undefined ? "/dev/null" : `${va.name}/${p}`,
      fb[i] === undefined ? "/dev/null" : `${vb.name}/${p}`,
      fa[i] ?? "",
      fb[i] ?? "",
    );
    o.out.write(`diff ${va.name}/${p} ${vb.name}/${p}\n${patch.split("\n").slice(1).join("\n")}`);
  });
  o.err.write(
    `${paths.length - same} of ${paths.length} changed file${
      paths.length === 1 ? "" : "s"
    } differ between ${va.name} and ${vb.name}\n`,
  );
  return ExitCode.OK;
}
