/**
 * Reading a run's truth from its pod: an ended run's log (the agent's structured stream) is read once,
 * summarized here (truth.ts) and stored beside it as `truth.json`, so later reads (status, compare, the web
 * UI, MCP) get it from the status line without reading the log again.
 */
import type { V1Pod } from "@kubernetes/client-node";
import type { KubeObjects, KubeStreams } from "../../kube/seam.ts";
import { execCapture } from "../../session/access/podexec.ts";
import { namesOf, specOf } from "../../session/spec/spec.ts";
import { LABEL_SESSION } from "../../session/spec/names.ts";
import { ANNOTATION_AGENT_OUTCOME } from "../../session/state/status.ts";
import { type AgentRun, PROLOGUE } from "../runs/agent.ts";
import { type RunTruth, truthNotes, truthOfLog } from "./truth.ts";
import TRUTH_SH from "../pod/truth.sh" with { type: "text" };
import { withResumes } from "../runs/resumecause.ts";
import { classify, factsOf, type Outcome, outcomeText, waitingText } from "./outcome.ts";

/** The most runs whose logs one read summarizes. */
const MAX_READS = 8;

/** The most of a log read to summarize it: its end (where the agent's result and errors are). */
export const TRUTH_LOG_BYTES = 8 * 1024 * 1024;

/** `sh -c TRUTH kodama-truth read|write ID BYTES` (pod/truth.sh): the end of a run's log, or its truth.json. */
const TRUTH_SCRIPT = [...PROLOGUE, TRUTH_SH].join("\n");

/** What the outcome of a run needs to know of it. */
export type RunLike =
  & Pick<AgentRun, "truth" | "exitCode" | "waiting" | "runnerOutcome" | "resumes" | "undelivered">
  & {
    state: string;
  };

/**
 * The run's outcome (outcome.ts): from its log once read, else the runner's, else from its state alone;
 * `running` while it runs.
 */
export function outcomeOf(r: RunLike): Outcome {
  if (r.state === "running") {
    return { class: "running", retryable: false, message: r.waiting ? waitingText(r.waiting) : "running" };
  }
  if (r.truth?.outcome) return r.truth.outcome;
  if (r.runnerOutcome) return r.runnerOutcome;
  const t = r.truth;
  return classify(factsOf(""), {
    state: r.state,
    exitCode: r.exitCode,
    endedBy: t?.endedBy,
    changed: t && t.commits === 0 && t.filesChanged === 0 ? false : undefined,
    denied: t?.denied,
  });
}

/**
 * The run's outcome in words: `succeeded (no changes)`, `failed: overloaded (retryable)`, `succeeded
 * (after 2 overloads)`, `running (429, retry 3/10 in 15s)`.
 */
export function runOutcome(r: RunLike): string {
  if (r.state === "running") return withResumes(waitingText(r.waiting), r.resumes);
  return withResumes(outcomeText(outcomeOf(r), r.truth ?? {}), r.resumes);
}

/** What a person should know besides the state: `denied: 3 tool uses`, the agent's error on a failed run. */
export function runNotes(r: RunLike): string[] {
  const notes = truthNotes(r.truth);
  const o = r.state === "failed" ? outcomeOf(r) : undefined;
  // the agent's error, else why the runner ended it, without what the outcome's words already say
  const why = r.state === "failed" && r.truth?.error && !r.truth.endedBy
    ? r.truth.error
    : o && o.class !== "failed" && !r.truth?.endedBy
    ? o.message
    : undefined;
  const rest = why && beyond(why, runOutcome(r));
  if (rest) notes.push(rest);
  if (r.undelivered) notes.push(queuedNote(r.undelivered, r.state === "running"));
  return notes;
}

/** `agent say`'s messages not yet in a conversation (issue 84: never lost), in words. Pure. */
export function queuedNote(n: number, running: boolean): string {
  const what = n === 1 ? "1 message" : `${n} messages`;
  return `queued: ${what} said, not yet in the conversation (${
    running ? "its next turn or " : ""
  }the next run carries ${n === 1 ? "it" : "them"})`;
}

/**
 * The agent's error without the words its outcome already says: `invalid API key (HTTP 401 …)` under
 * `failed: invalid API key` is `HTTP 401 …` (joined, the two read "failed: invalid API key; invalid API key
 * (…)"); an error that says something else is kept whole. Pure.
 */
export function beyond(error: string, outcome: string): string {
  const said = /^failed: (.+)$/.exec(outcome)?.[1];
  if (!said || !error.toLowerCase().startsWith(said.toLowerCase())) return error;
  return error.slice(said.length).trim().replace(/^\((.*)\)$/, "$1").replace(/^[:;,.-]\s*/, "");
}

/** Read and store the truth of one ended run. */
export async function readTruth(kube: KubeStreams, pod: V1Pod, run: AgentRun): Promise<RunTruth | undefined> {
  const r = await execCapture(kube, pod, [
    "sh",
    "-c",
    TRUTH_SCRIPT,
    "kodama-truth",
    "read",
    run.id,
    String(TRUTH_LOG_BYTES),
  ]);
  if (r.code !== 0) return run.truth;
  const t = truthOfLog(r.stdout, { commits: run.truth?.commits, filesChanged: run.truth?.filesChanged }, {
    state: run.state,
    exitCode: run.exitCode,
    endedBy: run.truth?.endedBy,
  });
  t.fromLog = true;
  if (run.truth?.endedBy) t.endedBy = run.truth.endedBy;
  if (run.truth?.repositories) t.repositories = run.truth.repositories;
  const body = new TextEncoder().encode(JSON.stringify(t));
  // best effort: a read-only workspace still gets the truth, only computed again next time
  await execCapture(kube, pod, [
    "sh",
    "-c",
    TRUTH_SCRIPT,
    "kodama-truth",
    "write",
    run.id,
    String(body.length),
  ], {
    stdin: body,
  }).catch(() => undefined);
  return t;
}

/** Fill in the truth of every ended run whose log was not read yet (once per run: it is stored). */
export async function withTruth(
  kube: KubeObjects & KubeStreams,
  pod: V1Pod,
  runs: AgentRun[],
): Promise<AgentRun[]> {
  // the newest few at a time (each is two execs once): a session with many old runs fills in over reads
  const todo = runs.filter((r) => r.state !== "running" && !r.truth?.fromLog).slice(-MAX_READS);
  await Promise.all(todo.map(async (r) => {
    const t = await readTruth(kube, pod, r).catch(() => undefined);
    if (t) r.truth = t;
  }));
  const last = runs.at(-1);
  if (last && todo.includes(last)) await recordOutcome(kube, pod, last);
  return runs;
}

/** `RUN OUTCOME[; NOTES]` on the workspace volume, for `list` (ANNOTATION_AGENT_OUTCOME); best effort. */
export async function recordOutcome(
  kube: KubeObjects,
  pod: V1Pod,
  run: RunLike & { id: string },
) {
  const spec = specOf(pod);
  const name = spec?.name ?? pod.metadata?.labels?.[LABEL_SESSION];
  if (!name) return;
  const text = [runOutcome(run), ...runNotes(run)].join("; ");
  await kube.patchObject(
    "persistentvolumeclaims",
    pod.metadata?.namespace ?? kube.namespace,
    namesOf(spec ?? { name }).workspacePVC,
    {
      metadata: { annotations: { [ANNOTATION_AGENT_OUTCOME]: `${run.id} ${text}` } },
    },
  ).catch(() => {});
  // the run ended: its PodDisruptionBudget (session.protectRunning) goes
  await (await import("../../session/lifecycle/protect.ts")).unprotectSession(
    kube,
    pod.metadata?.namespace ?? kube.namespace,
    name,
    { run: run.id },
  ).catch(() => {});
}

/** A run's outcome for machines: the class and its words (`text`, what tables show). */
export type OutcomeOut = Outcome & { text: string };

/**
 * A run for machines (`-o json`, the web UI, MCP): its outcome (class, retryable, retryAt, message, and
 * the words), `waiting` while it waits on its API, the retries, continuations and models, and notes.
 */
export function runForOutput(
  r: AgentRun,
): Omit<AgentRun, "runnerOutcome"> & { outcome: OutcomeOut; notes?: string[] } {
  const notes = runNotes(r);
  const { runnerOutcome: _, ...rest } = r;
  const t = r.truth;
  return {
    ...rest,
    outcome: { ...outcomeOf(r), text: runOutcome(r) },
    apiRetries: Math.max(r.apiRetries ?? 0, t?.apiRetries ?? 0),
    continuations: Math.max(r.continuations ?? 0, t?.continuations ?? 0),
    models: r.models?.length ? r.models : t?.models ?? [],
    ...(notes.length ? { notes } : {}),
  };
}
