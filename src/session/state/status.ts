/**
 * A session as the cluster shows it, and its STATUS — a pure function of its objects, so every
 * machine sees the same thing:
 *
 *   Pending   the pod waits for a node or a volume (unscheduled, a claim not bound)
 *   Starting  scheduled; init containers, image pull, or the container is not ready yet
 *   Running   the pod is Running and Ready
 *   Stopped   volumes without a pod (`stop`), the pod is being deleted, or its main process ended
 *             cleanly (idle stop: reason `idle`, `stoppedAt` when)
 *   Failed    the pod cannot run: an image that cannot be pulled, a crashing container, phase Failed
 *
 * A session's pod belongs to its Job (issue 80): of its pods the live one counts (./sessionpod.ts). While the
 * Job is active and its pod is missing, Pending or starting after the cluster took the last one away, the
 * view carries `restart` (the cause, from ./disruption.ts, and when): `Restarting: evicted 8s ago`.
 */
import type { CoreV1Event, V1Job, V1PersistentVolumeClaim, V1Pod } from "@kubernetes/client-node";
import { type DisruptionCause, podDisruption } from "./disruption.ts";
import { isLive, newestFirst, sessionPod } from "./sessionpod.ts";
import { ANNOTATION_BRANCH, ANNOTATION_COMMIT } from "../git/git.ts";
import { LABEL_GROUP, LABEL_SESSION, LABEL_VOLUME } from "../spec/names.ts";
import { CONTAINER, namesOf, type SessionSpec, specOf } from "../spec/spec.ts";
import { IDLE_MESSAGE } from "../lifecycle/lifetime.ts";
import type { GatewayFigures } from "../spec/gateway.ts";

export const STATUSES = ["Pending", "Starting", "Running", "Stopped", "Failed"] as const;
export type SessionStatus = typeof STATUSES[number];

export interface SessionView {
  name: string;
  namespace: string;
  status: SessionStatus;
  /** why it is not Running (a waiting reason, an unbound claim, …) */
  reason?: string;
  /** the recorded settings (from the pod, else a volume) */
  spec?: SessionSpec;
  /** the session's pod: the live one of its pods, else the newest (./sessionpod.ts) */
  pod?: V1Pod;
  /** its Job (undefined: stopped, or a legacy session's bare pod) */
  job?: V1Job;
  /** the cluster is bringing its pod back: why (when it said) and since when */
  restart?: { cause?: DisruptionCause; detail?: string; at?: string };
  pvcs: V1PersistentVolumeClaim[];
  /** when the session was created (its settings, else its oldest object) */
  createdAt?: string;
  /** when a pod that ended by itself stopped (idle stop) */
  stoppedAt?: string;
  /** the git branch and the commit cloned (`start --repo`), as recorded on the workspace volume */
  branch?: string;
  commit?: string;
  /** the latest agent run started (its id), as recorded on the workspace volume, where the runs live */
  agentRun?: string;
  /** that run's outcome once it ended and was read (`succeeded (no changes); denied: 2 tool uses`) */
  agentOutcome?: string;
  /**
   * the gateway's figures of the session (filled by `list` and the web UI from one read of the gateway's
   * log): undefined when not read, null when it goes through no gateway or the gateway could not be read
   */
  gatewayFigures?: GatewayFigures | null;
}

/** On the workspace volume: the id of the latest agent run started, whoever started it (CLI, UI, MCP). */
export const ANNOTATION_AGENT_RUN = "kodama.dev/agent-run";
/**
 * On the workspace volume: `RUN OUTCOME` of the latest ended run, recorded when kodama read its truth
 * (src/agent/outcome/runtruth.ts): `list` shows it without reading any pod.
 */
export const ANNOTATION_AGENT_OUTCOME = "kodama.dev/agent-outcome";

/** Waiting reasons that mean the container will not start without a change (or only after back-off). */
const FAILING = new Set([
  "ErrImagePull",
  "ImagePullBackOff",
  "InvalidImageName",
  "ErrImageNeverPull",
  "CrashLoopBackOff",
  "CreateContainerConfigError",
  "CreateContainerError",
  "RunContainerError",
  "PreStartHookError",
]);

/** A reason the pod cannot run, or undefined while it may still become ready. */
export function podProblem(pod: V1Pod): string | undefined {
  const st = pod.status;
  if (st?.phase === "Failed") return st.reason ?? "Failed";
  if (st?.phase === "Succeeded") return "Completed";
  for (const c of st?.initContainerStatuses ?? []) {
    const w = c.state?.waiting?.reason;
    if (w && FAILING.has(w)) return `Init:${w}`;
    const t = c.state?.terminated;
    if (t && t.exitCode !== 0) return `Init:${t.reason ?? `ExitCode:${t.exitCode}`}`;
  }
  for (const c of st?.containerStatuses ?? []) {
    const w = c.state?.waiting?.reason;
    if (w && FAILING.has(w)) return w;
  }
  return undefined;
}

/**
 * A pod whose main process ended cleanly (phase Succeeded): the session stopped itself — `idle` when the
 * watchdog said so in the termination message (lifetime.ts), else `exited`. Resume makes a new pod.
 */
export function endedByItself(pod: V1Pod): { reason: string; stoppedAt?: string } | undefined {
  if (pod.status?.phase !== "Succeeded") return undefined;
  const c = pod.status.containerStatuses?.find((x) => x.name === CONTAINER) ??
    pod.status.containerStatuses?.[0];
  const t = c?.state?.terminated;
  const at = t?.finishedAt as unknown as string | Date | undefined;
  return {
    reason: t?.message?.startsWith(IDLE_MESSAGE) ? "idle" : "exited",
    ...(at ? { stoppedAt: at instanceof Date ? at.toISOString() : String(at) } : {}),
  };
}

function ready(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

/** STATUS (and a short reason) from the session's pod and volumes. */
export function deriveStatus(
  pod: V1Pod | undefined,
  pvcs: V1PersistentVolumeClaim[],
): { status: SessionStatus; reason?: string; stoppedAt?: string } {
  if (!pod) return { status: "Stopped" };
  if (pod.metadata?.deletionTimestamp) return { status: "Stopped", reason: "Terminating" };
  const ended = endedByItself(pod);
  if (ended) return { status: "Stopped", ...ended };
  const problem = podProblem(pod);
  if (problem) return { status: "Failed", reason: problem };
  if (pod.status?.phase === "Running" && ready(pod)) return { status: "Running" };
  const unbound = pvcs.find((c) => c.status?.phase !== "Bound");
  if (unbound) {
    return {
      status: "Pending",
      reason: `volume ${unbound.metadata?.name} ${unbound.status?.phase ?? "Pending"}`,
    };
  }
  const sched = pod.status?.conditions?.find((c) => c.type === "PodScheduled");
  if (!pod.spec?.nodeName && sched?.status !== "True") {
    return { status: "Pending", reason: sched?.reason ?? "not scheduled" };
  }
  const waiting = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]
    .map((c) => c.state?.waiting?.reason).find((r) => r && r !== "PodInitializing");
  return {
    status: "Starting",
    reason: waiting ?? (pod.status?.phase === "Running" ? "not ready" : undefined),
  };
}

function oldest(times: (string | Date | undefined)[]): string | undefined {
  const ts = times.map((t) => (t instanceof Date ? t.toISOString() : t)).filter((t): t is string => !!t)
    .sort();
  return ts[0];
}

/**
 * Group pods and volumes by session (namespace + the `kodama.dev/session` label) into views, sorted
 * by namespace then name. Objects without the label are ignored.
 */
export function groupSessions(
  pods: V1Pod[],
  pvcs: V1PersistentVolumeClaim[],
  more: { jobs?: V1Job[]; events?: CoreV1Event[]; now?: number } = {},
): SessionView[] {
  const byKey = new Map<
    string,
    { name: string; namespace: string; pods: V1Pod[]; job?: V1Job; pvcs: V1PersistentVolumeClaim[] }
  >();
  const entry = (o: { metadata?: { namespace?: string; labels?: Record<string, string> } }) => {
    const name = o.metadata?.labels?.[LABEL_SESSION];
    if (!name) return undefined;
    const namespace = o.metadata?.namespace ?? "";
    const key = `${namespace}/${name}`;
    let e = byKey.get(key);
    if (!e) byKey.set(key, e = { name, namespace, pods: [], pvcs: [] });
    return e;
  };
  for (const p of pods) entry(p)?.pods.push(p);
  for (const c of pvcs) entry(c)?.pvcs.push(c);
  // a Job alone (its pod not made yet, or gone) is no session: it joins one that has pods or volumes
  for (const j of more.jobs ?? []) {
    const name = j.metadata?.labels?.[LABEL_SESSION];
    const e = name ? byKey.get(`${j.metadata?.namespace ?? ""}/${name}`) : undefined;
    if (e) e.job = j;
  }
  const views: SessionView[] = [];
  for (const e of byKey.values()) {
    views.push(
      sessionView(e.name, e.namespace, e.pods, e.pvcs, { job: e.job, events: more.events, now: more.now }),
    );
  }
  return views.sort((a, b) => byName(a.namespace, b.namespace) || byName(a.name, b.name));
}

/**
 * Order of Kubernetes names (lowercase DNS names: the same order as localeCompare's for them), without
 * localeCompare: its first call builds ICU's collator, ~10 ms of CPU in every start and resume.
 */
const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** A Job that ended (Complete: an idle stop; Failed: a failed clone, too many crashes). */
export function jobFinished(job: V1Job | undefined): "Complete" | "Failed" | undefined {
  const c = job?.status?.conditions?.find((c) =>
    (c.type === "Complete" || c.type === "Failed") && c.status === "True"
  );
  return c?.type as "Complete" | "Failed" | undefined;
}

/** A Job still at work: not ended, not being deleted. */
export function jobActive(job: V1Job | undefined): boolean {
  return !!job && !job.metadata?.deletionTimestamp && !jobFinished(job);
}

/**
 * A Job this young with no pod and no pod counted yet is making its first one (a Job controller makes it
 * within a second); older, or with a pod already counted, its pod is being brought back.
 */
const FIRST_POD_MS = 5_000;
/** Events older than this say nothing about a pod starting now. */
const RECENT_MS = 15 * 60_000;

/**
 * The cluster is bringing the session's pod back: its Job is active, and its pod is missing (gone after a
 * disruption), ended, being deleted, or starting after an earlier pod of the Job was taken away. The cause
 * and time from what the cluster said about the pod that went (./disruption.ts); undefined otherwise.
 */
export function restartOf(
  job: V1Job | undefined,
  pods: V1Pod[],
  events: CoreV1Event[] = [],
  now = Date.now(),
): SessionView["restart"] {
  if (!jobActive(job)) return undefined;
  const uid = job!.metadata?.uid;
  const ours = pods.filter((p) =>
    !uid || !p.metadata?.ownerReferences || p.metadata.ownerReferences.some((r) => r.uid === uid)
  );
  const live = newestFirst(ours).find(isLive);
  if (
    live && live.status?.phase === "Running" &&
    live.status.conditions?.some((c) => c.type === "Ready" && c.status === "True")
  ) {
    return undefined;
  }
  // the pod that went: the newest one that is not live (still listed: evicted, or terminating)
  const gone = newestFirst(ours).find((p) => p !== live && (!isLive(p) || p.metadata?.deletionTimestamp));
  const d = gone ? podDisruption(gone, events) : undefined;
  if (d) return { cause: d.cause, detail: d.detail, ...(d.at ? { at: d.at } : {}) };
  // gone from the API already: what the events said about the Job's other pods
  // of this Job's pods: a Job of the same name before it (the session stopped and resumed) made older ones
  const prefix = `${job!.metadata?.name}-`;
  const born = Date.parse(String(job!.metadata?.creationTimestamp ?? "")) || 0;
  const said = events.filter((e) => {
    const at = Date.parse(String(e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? ""));
    return e.involvedObject?.kind === "Pod" && e.involvedObject.name?.startsWith(prefix) &&
      e.involvedObject.name !== live?.metadata?.name && !!e.reason &&
      (e.reason === "Killing" ||
        !!podDisruption({ metadata: { name: e.involvedObject.name, uid: e.involvedObject.uid } }, [e])) &&
      now - at < RECENT_MS && at >= born;
  }).sort((a, b) =>
    String(a.lastTimestamp ?? a.eventTime ?? "").localeCompare(String(b.lastTimestamp ?? b.eventTime ?? ""))
  );
  const last = said.at(-1);
  if (last) {
    const d2 = podDisruption({ metadata: { name: last.involvedObject.name, uid: last.involvedObject.uid } }, [
      last,
    ]);
    const at = String(last.lastTimestamp ?? last.eventTime ?? last.firstTimestamp ?? "");
    return {
      cause: d2?.cause ?? "deleted",
      detail: d2?.detail ?? "deleted",
      ...(at && !Number.isNaN(Date.parse(at)) ? { at: new Date(Date.parse(at)).toISOString() } : {}),
    };
  }
  if (live) return undefined; // its first pod, starting
  const st = job!.status;
  const counted = (st?.failed ?? 0) + (st?.terminating ?? 0) + (st?.succeeded ?? 0) > 0;
  const started = Date.parse(String(st?.startTime ?? job!.metadata?.creationTimestamp ?? ""));
  if (!ours.length && !counted && !Number.isNaN(started) && now - started < FIRST_POD_MS) return undefined;
  return {};
}

export function sessionView(
  name: string,
  namespace: string,
  /** the session's pods (or one pod): the live one counts (./sessionpod.ts) */
  pods: V1Pod | V1Pod[] | undefined,
  pvcs: V1PersistentVolumeClaim[],
  more: { job?: V1Job; events?: CoreV1Event[]; now?: number } = {},
): SessionView {
  const all = Array.isArray(pods) ? pods : pods ? [pods] : [];
  const pod = sessionPod(all);
  const restart = restartOf(more.job, all, more.events, more.now);
  const spec = specOf(pod) ?? pvcs.map((c) => specOf(c)).find((s) => s);
  const sorted = [...pvcs].sort((a, b) => byName(a.metadata?.name ?? "", b.metadata?.name ?? ""));
  // the workspace volume by its recorded name (a pooled one is not named after the session), else its label
  const wsName = namesOf(spec ?? { name }).workspacePVC;
  const ws = (pvcs.find((c) => c.metadata?.name === wsName) ??
    pvcs.find((c) => c.metadata?.labels?.[LABEL_VOLUME] === "workspace"))?.metadata?.annotations;
  // recorded after the clone; before that, the branch the session asked for
  // several repositories: their session branch when they share one (each repository's: `get`)
  const several = [
    ...new Set((spec?.repos ?? []).filter((r) => !r.readOnly).map((r) => r.git.newBranch ?? r.git.branch)),
  ];
  const branch = ws?.[ANNOTATION_BRANCH] ?? spec?.git?.branch ?? spec?.git?.newBranch ??
    (several.length === 1 ? several[0] : undefined);
  const commit = ws?.[ANNOTATION_COMMIT];
  const agentRun = ws?.[ANNOTATION_AGENT_RUN];
  // the outcome recorded for the latest run only (an older run's, while a new one runs, is not shown)
  const recorded = /^(\d+) (.+)$/s.exec(ws?.[ANNOTATION_AGENT_OUTCOME] ?? "");
  const agentOutcome = recorded && recorded[1] === agentRun ? recorded[2].slice(0, 200) : undefined;
  const derived = deriveStatus(pod, sorted);
  return {
    name,
    namespace,
    ...(restart ? restarting(derived, pod) : derived),
    spec,
    pod,
    ...(more.job ? { job: more.job } : {}),
    ...(restart ? { restart } : {}),
    pvcs: sorted,
    createdAt: spec?.createdAt ??
      oldest([pod?.metadata?.creationTimestamp, ...pvcs.map((c) => c.metadata?.creationTimestamp)]),
    ...(branch ? { branch } : {}),
    ...(commit ? { commit } : {}),
    ...(agentRun ? { agentRun } : {}),
    ...(agentOutcome ? { agentOutcome } : {}),
  };
}

/** While the pod comes back: Pending (no pod yet) or the new pod's own status; never Stopped or Failed. */
function restarting(
  d: ReturnType<typeof deriveStatus>,
  pod: V1Pod | undefined,
): ReturnType<typeof deriveStatus> {
  if (pod && isLive(pod) && (d.status === "Pending" || d.status === "Starting")) return d;
  return { status: "Pending", reason: "restarting" };
}

/** The group a session belongs to (`start --replicas`): its label, else its recorded settings. */
export function groupOf(v: SessionView): string | undefined {
  return v.pod?.metadata?.labels?.[LABEL_GROUP] ??
    v.pvcs.find((c) => c.metadata?.labels?.[LABEL_GROUP])?.metadata?.labels?.[LABEL_GROUP] ??
    v.spec?.group?.name;
}

/** A replica's number in its group (0 when it is none). */
export function replicaOf(v: SessionView): number {
  return v.spec?.group?.replica ?? (Number(/-(\d+)$/.exec(v.name)?.[1]) || 0);
}
