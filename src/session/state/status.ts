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
 */
import type { V1PersistentVolumeClaim, V1Pod } from "@kubernetes/client-node";
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
  pod?: V1Pod;
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
 * (src/agent/runtruth.ts): `list` shows it without reading any pod.
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
export function groupSessions(pods: V1Pod[], pvcs: V1PersistentVolumeClaim[]): SessionView[] {
  const byKey = new Map<
    string,
    { name: string; namespace: string; pod?: V1Pod; pvcs: V1PersistentVolumeClaim[] }
  >();
  const entry = (o: { metadata?: { namespace?: string; labels?: Record<string, string> } }) => {
    const name = o.metadata?.labels?.[LABEL_SESSION];
    if (!name) return undefined;
    const namespace = o.metadata?.namespace ?? "";
    const key = `${namespace}/${name}`;
    let e = byKey.get(key);
    if (!e) byKey.set(key, e = { name, namespace, pvcs: [] });
    return e;
  };
  for (const p of pods) {
    const e = entry(p);
    if (e) e.pod = p;
  }
  for (const c of pvcs) entry(c)?.pvcs.push(c);
  const views: SessionView[] = [];
  for (const e of byKey.values()) views.push(sessionView(e.name, e.namespace, e.pod, e.pvcs));
  return views.sort((a, b) => byName(a.namespace, b.namespace) || byName(a.name, b.name));
}

/**
 * Order of Kubernetes names (lowercase DNS names: the same order as localeCompare's for them), without
 * localeCompare: its first call builds ICU's collator, ~10 ms of CPU in every start and resume.
 */
const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function sessionView(
  name: string,
  namespace: string,
  pod: V1Pod | undefined,
  pvcs: V1PersistentVolumeClaim[],
): SessionView {
  const spec = specOf(pod) ?? pvcs.map((c) => specOf(c)).find((s) => s);
  const sorted = [...pvcs].sort((a, b) => byName(a.metadata?.name ?? "", b.metadata?.name ?? ""));
  // the workspace volume by its recorded name (a pooled one is not named after the session), else its label
  const wsName = namesOf(spec ?? { name }).workspacePVC;
  const ws = (pvcs.find((c) => c.metadata?.name === wsName) ??
    pvcs.find((c) => c.metadata?.labels?.[LABEL_VOLUME] === "workspace"))?.metadata?.annotations;
  // recorded after the clone; before that, the branch the session asked for
  const branch = ws?.[ANNOTATION_BRANCH] ?? spec?.git?.branch ?? spec?.git?.newBranch;
  const commit = ws?.[ANNOTATION_COMMIT];
  const agentRun = ws?.[ANNOTATION_AGENT_RUN];
  // the outcome recorded for the latest run only (an older run's, while a new one runs, is not shown)
  const recorded = /^(\d+) (.+)$/s.exec(ws?.[ANNOTATION_AGENT_OUTCOME] ?? "");
  const agentOutcome = recorded && recorded[1] === agentRun ? recorded[2].slice(0, 200) : undefined;
  return {
    name,
    namespace,
    ...deriveStatus(pod, sorted),
    spec,
    pod,
    pvcs: sorted,
    createdAt: spec?.createdAt ??
      oldest([pod?.metadata?.creationTimestamp, ...pvcs.map((c) => c.metadata?.creationTimestamp)]),
    ...(branch ? { branch } : {}),
    ...(commit ? { commit } : {}),
    ...(agentRun ? { agentRun } : {}),
    ...(agentOutcome ? { agentOutcome } : {}),
  };
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
