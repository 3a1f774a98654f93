/**
 * What `gateway status` says of the gateway's pod (docs/agents.md, "The gateway's durability"): which object
 * runs it (the StatefulSet, or a bare pod an older kodama made), whether it is ready or being brought back
 * (`restarting`: the pod is gone or going and the StatefulSet makes the next; its container crashed and
 * restarts), its container's restarts, and how many pods the gateway has run in (its journal counts them:
 * the `replayed` line each start logs). Pure.
 */
import type { V1Pod, V1StatefulSet } from "@kubernetes/client-node";

export interface PodState {
  /** "StatefulSet", "Pod" (a bare pod of an older kodama) or null (neither) */
  workload: "StatefulSet" | "Pod" | null;
  /** the pod's name, null when there is none */
  podName: string | null;
  state: "ready" | "restarting" | "not ready" | "missing";
  /** why, when not ready: the container's waiting or terminated reason, the phase, "pod replaced" */
  reason: string | null;
  /** the container's restarts in this pod (kubelet's count) */
  restarts: number;
  /** the pods before this one the gateway ran in (its journal's count less one); null when unknown */
  replacements: number | null;
  /** when this pod was made */
  since: string | null;
}

/** The pods and starts the journal counted, from the first `replayed` line of the pod's log. */
export function replayedOf(lines: Record<string, unknown>[]): { pods?: number; starts?: number } {
  const l = lines.find((x) => x.ev === "config" && x.status === "replayed");
  const n = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
  return l ? { pods: n(l.pods), starts: n(l.starts) } : {};
}

export function podState(
  set: V1StatefulSet | undefined,
  pod: V1Pod | undefined,
  ready: (p: V1Pod) => boolean,
  journal: { pods?: number } = {},
): PodState {
  const c = pod?.status?.containerStatuses?.find((x) => x.name === "gateway") ??
    pod?.status?.containerStatuses?.[0];
  const restarts = c?.restartCount ?? 0;
  // the StatefulSet, or its pod's owner when the StatefulSet could not be read
  const owned = !!set || !!pod?.metadata?.ownerReferences?.some((o) => o.kind === "StatefulSet");
  const base = {
    workload: owned ? "StatefulSet" as const : pod ? "Pod" as const : null,
    podName: pod?.metadata?.name ?? null,
    restarts,
    replacements: journal.pods !== undefined && journal.pods > 0 ? journal.pods - 1 : null,
    since: pod?.metadata?.creationTimestamp ? new Date(pod.metadata.creationTimestamp).toISOString() : null,
  };
  if (!pod) {
    return set
      ? { ...base, state: "restarting", reason: "the StatefulSet is making its pod" }
      : { ...base, state: "missing", reason: null };
  }
  if (pod.metadata?.deletionTimestamp) {
    return { ...base, state: owned ? "restarting" : "not ready", reason: "the pod is being deleted" };
  }
  if (ready(pod)) return { ...base, state: "ready", reason: null };
  const why = c?.state?.waiting?.reason ?? c?.state?.terminated?.reason ?? pod.status?.phase ?? "Pending";
  // a container that ended and is brought back in place, or a StatefulSet's pod that ended
  const ended = ["Failed", "Succeeded"].includes(pod.status?.phase ?? "");
  if ((restarts > 0 && pod.spec?.restartPolicy !== "Never") || (ended && owned)) {
    return { ...base, state: "restarting", reason: why };
  }
  return { ...base, state: "not ready", reason: why };
}

/** `kodama-gateway-0 (StatefulSet kodama-gateway), 2 restarts, 1 replacement, since …` */
export function podText(p: PodState, setName: string): string {
  if (!p.podName) return p.workload === "StatefulSet" ? `- (StatefulSet ${setName}: ${p.reason})` : "-";
  const owner = p.workload === "StatefulSet"
    ? `StatefulSet ${setName}`
    : "a bare pod from an older kodama: kodama gateway ensure hands it to a StatefulSet";
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? "" : "s"}`;
  return [
    `${p.podName} (${owner})`,
    plural(p.restarts, "restart"),
    ...(p.replacements !== null ? [plural(p.replacements, "replacement")] : []),
    ...(p.since ? [`since ${p.since}`] : []),
  ].join(", ");
}
