/**
 * Why the cluster took a pod away, from what the cluster said where it said it (issue 80): the pod's own
 * status (`reason: Evicted`, a kubelet's pressure eviction), its `DisruptionTarget` condition (set by the
 * API server's eviction, the scheduler's preemption, the taint manager, the pod GC and the kubelet before
 * they delete it), the events about it (`Evicted`, `Preempted`, `TaintManagerEviction`), a container's
 * `OOMKilled`, and last a plain delete. Pure: the session view uses it for `Restarting: evicted 8s ago`,
 * the agent layer to name the cause of a run's resume.
 */
import type { CoreV1Event, V1Pod } from "@kubernetes/client-node";
import { formatAge } from "../../ui/table.ts";

export type DisruptionCause = "evicted" | "preempted" | "node-lost" | "oom-killed" | "deleted";

export interface Disruption {
  cause: DisruptionCause;
  /** a short phrase for people (`node memory pressure`, `drained or evicted`) */
  detail: string;
  /** when it happened (ISO 8601), when the cluster said */
  at?: string;
}

/** The DisruptionTarget condition's reasons (Kubernetes 1.26+), and what each is. */
const TARGET: Record<string, { cause: DisruptionCause; detail: string }> = {
  EvictionByEvictionAPI: { cause: "evicted", detail: "drained or evicted" },
  PreemptionByScheduler: { cause: "preempted", detail: "preempted by a higher-priority pod" },
  PreemptionByKubeScheduler: { cause: "preempted", detail: "preempted by a higher-priority pod" },
  DeletionByTaintManager: { cause: "node-lost", detail: "its node was lost" },
  DeletionByPodGC: { cause: "node-lost", detail: "its node was lost" },
  TerminationByKubelet: { cause: "evicted", detail: "evicted by the node" },
};

/** Event reasons about a pod that say it was taken away. */
const EVENTS: Record<string, { cause: DisruptionCause; detail: string }> = {
  Evicted: { cause: "evicted", detail: "evicted by the node" },
  Preempted: { cause: "preempted", detail: "preempted by a higher-priority pod" },
  TaintManagerEviction: { cause: "node-lost", detail: "its node was lost" },
};

const iso = (t: unknown): string | undefined => {
  if (t instanceof Date) return Number.isNaN(t.getTime()) ? undefined : t.toISOString();
  return typeof t === "string" && t ? t : undefined;
};

/** A kubelet's eviction message as a phrase: `The node was low on resource: memory.` -> node memory pressure. */
export function pressureOf(message: string | undefined): string | undefined {
  const m = /low on resource: \[?([a-z-]+)/i.exec(message ?? "");
  if (m) return `node ${m[1] === "ephemeral-storage" ? "disk" : m[1]} pressure`;
  return undefined;
}

/** The events about this pod (by uid when both carry one, else by name), newest last. */
function eventsAbout(pod: V1Pod, events: CoreV1Event[]): CoreV1Event[] {
  const name = pod.metadata?.name, uid = pod.metadata?.uid;
  return events.filter((e) => {
    const o = e.involvedObject;
    if (o?.kind && o.kind !== "Pod") return false;
    if (uid && o?.uid) return o.uid === uid;
    return !!name && o?.name === name && (!pod.metadata?.namespace || !o?.namespace ||
      o.namespace === pod.metadata.namespace);
  }).sort((a, b) => (eventTime(a) ?? "").localeCompare(eventTime(b) ?? ""));
}

const eventTime = (e: CoreV1Event) =>
  iso(e.lastTimestamp) ?? iso(e.eventTime) ?? iso(e.firstTimestamp) ?? iso(e.metadata?.creationTimestamp);

/** Why the cluster took the pod away, or undefined when nothing says it did. */
export function podDisruption(pod: V1Pod, events: CoreV1Event[] = []): Disruption | undefined {
  const st = pod.status;
  // a kubelet's pressure eviction: the pod stays, Failed, with the reason and the resource
  if (st?.phase === "Failed" && st.reason === "Evicted") {
    const target = st.conditions?.find((c) => c.type === "DisruptionTarget" && c.status === "True");
    return {
      cause: "evicted",
      detail: pressureOf(st.message) ?? "evicted by the node",
      ...at(iso(target?.lastTransitionTime) ?? finishedAt(pod) ?? iso(st.startTime)),
    };
  }
  const target = st?.conditions?.find((c) => c.type === "DisruptionTarget" && c.status === "True");
  if (target?.reason && TARGET[target.reason]) {
    const t = TARGET[target.reason];
    const detail = t.cause === "evicted" ? pressureOf(target.message) ?? t.detail : t.detail;
    return { cause: t.cause, detail, ...at(iso(target.lastTransitionTime)) };
  }
  const said = eventsAbout(pod, events).filter((e) => e.reason && EVENTS[e.reason]).at(-1);
  if (said) {
    const t = EVENTS[said.reason!];
    return {
      cause: t.cause,
      detail: (t.cause === "evicted" ? pressureOf(said.message) : undefined) ?? t.detail,
      ...at(eventTime(said)),
    };
  }
  const oom = [...(st?.containerStatuses ?? []), ...(st?.initContainerStatuses ?? [])]
    .map((c) => c.state?.terminated ?? c.lastState?.terminated)
    .find((t) => t?.reason === "OOMKilled");
  if (oom) return { cause: "oom-killed", detail: "out of memory", ...at(iso(oom.finishedAt)) };
  const deleting = iso(pod.metadata?.deletionTimestamp);
  if (deleting) {
    // the deletion timestamp is the end of the grace period: the delete came that much earlier
    const grace = pod.metadata?.deletionGracePeriodSeconds ?? 0;
    const t = Date.parse(deleting) - grace * 1000;
    return {
      cause: "deleted",
      detail: "deleted",
      ...at(Number.isNaN(t) ? deleting : new Date(t).toISOString()),
    };
  }
  return undefined;
}

function finishedAt(pod: V1Pod): string | undefined {
  return (pod.status?.containerStatuses ?? []).map((c) => iso(c.state?.terminated?.finishedAt))
    .filter((t): t is string => !!t).sort().at(-1);
}

const at = (t: string | undefined) => (t ? { at: t } : {});

/** `evicted (node memory pressure)`, `preempted`, `node lost`, … as a status line says it. */
export function disruptionText(d: Pick<Disruption, "cause" | "detail">): string {
  const word = d.cause === "node-lost" ? "node lost" : d.cause === "oom-killed" ? "out of memory" : d.cause;
  const extra = d.cause === "evicted" && d.detail.startsWith("node ") ? ` (${d.detail})` : "";
  return `${word}${extra}`;
}

/**
 * While the cluster brings the pod back: `Restarting: evicted (node memory pressure) 8s ago`, `Restarting:
 * node lost 1m ago`, or `Restarting` when the cluster said nothing of why.
 */
export function restartText(
  r: { cause?: DisruptionCause; detail?: string; at?: string },
  now = Date.now(),
): string {
  if (!r.cause) return "Restarting";
  const when = r.at ? ` ${formatAge(r.at, now)} ago` : "";
  return `Restarting: ${disruptionText({ cause: r.cause, detail: r.detail ?? "" })}${when}`;
}
