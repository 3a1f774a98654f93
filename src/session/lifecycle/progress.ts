/**
 * How far a starting session got, and whether it can still get further — pure functions of the pod,
 * its volumes and their events, so the waiting loop only fetches and the decisions are unit-tested.
 *
 * Phases, in order: objects created -> volumes bound -> scheduled -> image pulled -> ready.
 */
import type { CoreV1Event, V1PersistentVolumeClaim, V1Pod } from "@kubernetes/client-node";
import { formatAge, renderTable } from "../../ui/table.ts";
import { GIT_CONTAINER } from "../git/git.ts";
import { CONTAINER } from "../spec/spec.ts";
import { podProblem } from "../state/status.ts";
import { cpuMillis, formatCpu, formatSize, parseQuantity, sizeBytes } from "../spec/quantity.ts";
import { placementFailure } from "./unschedulable.ts";

export const PHASES = ["created", "bound", "scheduled", "pulled", "ready"] as const;
export type Phase = typeof PHASES[number];

export const PHASE_LABELS: Record<Phase, string> = {
  created: "objects created",
  bound: "volumes bound",
  scheduled: "scheduled",
  pulled: "image pulled",
  ready: "ready",
};

function mainStatus(pod: V1Pod) {
  return pod.status?.containerStatuses?.find((c) => c.name === CONTAINER) ??
    pod.status?.containerStatuses?.[0];
}

/** Which phases the session has reached. */
export function reachedPhases(pod: V1Pod | undefined, pvcs: V1PersistentVolumeClaim[]): Set<Phase> {
  const out = new Set<Phase>();
  if (!pod) return out;
  out.add("created");
  if (pvcs.length > 0 && pvcs.every((c) => c.status?.phase === "Bound")) out.add("bound");
  const sched = pod.status?.conditions?.find((c) => c.type === "PodScheduled");
  if (sched?.status === "True" || pod.spec?.nodeName) out.add("scheduled");
  const c = mainStatus(pod);
  if (c && (c.imageID || c.state?.running || c.state?.terminated)) out.add("pulled");
  if (
    pod.status?.phase === "Running" &&
    pod.status.conditions?.some((x) => x.type === "Ready" && x.status === "True")
  ) {
    out.add("ready");
  }
  return out;
}

/** The first phase not reached yet (what we are waiting for), or undefined when ready. */
export function nextPhase(reached: Set<Phase>): Phase | undefined {
  return PHASES.find((p) => !reached.has(p));
}

/** Events of the pod and its claims, oldest first (by last time seen). */
export function sortEvents(events: CoreV1Event[]): CoreV1Event[] {
  const t = (e: CoreV1Event) =>
    String(e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp ?? "");
  return [...events].sort((a, b) => t(a).localeCompare(t(b)));
}

/**
 * The events about these objects — this pod, these claims — and not about an earlier object of the
 * same name (a session started again): matched by uid when the event has one.
 */
export function eventsOf(
  events: CoreV1Event[],
  objects: ({ metadata?: { name?: string; uid?: string } } | undefined)[],
): CoreV1Event[] {
  const byName = new Map<string, string | undefined>();
  for (const o of objects) if (o?.metadata?.name) byName.set(o.metadata.name, o.metadata.uid);
  return events.filter((e) => {
    const name = e.involvedObject?.name ?? "";
    if (!byName.has(name)) return false;
    const uid = byName.get(name);
    return !uid || !e.involvedObject?.uid || e.involvedObject.uid === uid;
  });
}

/** Events as a table (TYPE REASON AGE OBJECT MESSAGE), like `kubectl describe` shows them. */
export function eventsTable(events: CoreV1Event[], now = Date.now()): string {
  return renderTable(
    ["TYPE", "REASON", "AGE", "OBJECT", "MESSAGE"],
    events.map((e) => {
      const kind = (e.involvedObject?.kind ?? "").toLowerCase().replace("persistentvolumeclaim", "pvc");
      const count = (e.count ?? 1) > 1 ? ` (x${e.count})` : "";
      const at = e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp;
      return [
        e.type ?? "Normal",
        e.reason ?? "",
        at ? formatAge(at as unknown as string, now) : "<unknown>",
        `${kind}/${e.involvedObject?.name ?? "?"}`,
        `${(e.message ?? "").trim().replace(/\s*\n\s*/g, " ")}${count}`,
      ];
    }),
  );
}

export interface Verdict {
  /** the pod is Running and Ready */
  ready: boolean;
  /** the session cannot start without a change: fail now */
  failure?: string;
  /** what it is waiting for, in words (for the progress line and a timeout) */
  waiting?: string;
}

/** A volume's own problem, from its events (the provisioner's last word). */
function claimProblem(claim: V1PersistentVolumeClaim, events: CoreV1Event[]): string | undefined {
  const name = claim.metadata?.name;
  const last = sortEvents(events.filter((e) => e.involvedObject?.name === name && e.type === "Warning")).at(
    -1,
  );
  return last?.message?.trim();
}

/** The API server's words for a claim whose StorageClass does not exist: it can never bind. */
const MISSING_CLASS = /storageclass\.storage\.k8s\.io "([^"]+)" not found/;

/**
 * A claim problem no wait can cure: the provisioner's ProvisioningFailed naming a StorageClass that does
 * not exist. Returns the failure in words (names sorted), or undefined.
 */
export function claimsNeverBind(
  pvcs: V1PersistentVolumeClaim[],
  events: CoreV1Event[] = [],
): string | undefined {
  const hopeless = pvcs.filter((c) => c.status?.phase !== "Bound").flatMap((c) => {
    const name = c.metadata?.name ?? "?";
    const ev = events.find((e) =>
      e.involvedObject?.name === name && e.reason === "ProvisioningFailed" &&
      MISSING_CLASS.test(e.message ?? "")
    );
    return ev ? [{ name, cls: MISSING_CLASS.exec(ev.message!)![1] }] : [];
  }).sort((a, b) => a.name.localeCompare(b.name));
  if (!hopeless.length) return undefined;
  const names = hopeless.map((h) => h.name);
  return `StorageClass "${hopeless[0].cls}" does not exist: ${names.length > 1 ? "volumes" : "volume"} ${
    names.join(", ")
  } can never bind`;
}

/** A node's allocatable cpu and memory, as the API server gives them (`status.allocatable`). */
export interface NodeRoom {
  name: string;
  allocatable: { cpu?: string; memory?: string };
}

/**
 * A pod the scheduler can never place: it says "Insufficient cpu|memory" and the pod's request for that
 * resource is more than any node's allocatable (so no preemption or wait helps). Undefined when some node
 * could hold it, or nothing is known. Pure; `nodes` is the cluster's node list (empty: unknown).
 */
export function neverFits(pod: V1Pod | undefined, nodes: NodeRoom[]): string | undefined {
  const sched = pod?.status?.conditions?.find((c) => c.type === "PodScheduled" && c.status === "False");
  if (!pod || !nodes.length || sched?.reason !== "Unschedulable") return undefined;
  const short = [...(sched.message ?? "").matchAll(/Insufficient (cpu|memory)/g)].map((m) => m[1]);
  for (const res of new Set(short)) {
    const want = (pod.spec?.containers ?? []).reduce((n, c) => {
      const q = parseQuantity(String(c.resources?.requests?.[res] ?? "0"));
      return n + (q ? (res === "cpu" ? cpuMillis(q) : sizeBytes(q)) : 0n);
    }, 0n);
    const room = (n: NodeRoom) => {
      const q = parseQuantity(String(n.allocatable[res as "cpu" | "memory"] ?? "0"));
      return q ? (res === "cpu" ? cpuMillis(q) : sizeBytes(q)) : 0n;
    };
    const most = nodes.reduce((m, n) => room(n) > m ? room(n) : m, 0n);
    if (want > most) {
      const show = res === "cpu" ? formatCpu : formatSize;
      return `no node can ever fit it: it requests ${res} ${show(want)}, the largest node has ${
        show(most)
      } (${nodes.length === 1 ? "1 node" : `${nodes.length} nodes`}); ask for less with --${res}`;
    }
  }
  return undefined;
}

/** The claims not Bound yet, in words (grouped by problem, names sorted), or undefined when all are. */
export function unboundText(pvcs: V1PersistentVolumeClaim[], events: CoreV1Event[] = []): string | undefined {
  // by name: the order a watch delivers them in is no order
  const unbound = pvcs.filter((c) => c.status?.phase !== "Bound")
    .sort((a, b) => (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? ""));
  if (!unbound.length) return undefined;
  // volumes with the same problem (both claims name a missing class) are told once
  const byProblem = new Map<string, string[]>();
  for (const c of unbound) {
    const key = `${c.status?.phase ?? "Pending"}${
      claimProblem(c, events) ? `: ${claimProblem(c, events)}` : ""
    }`;
    byProblem.set(key, [...(byProblem.get(key) ?? []), c.metadata?.name ?? "?"]);
  }
  return [...byProblem].map(([problem, names]) =>
    `${names.length > 1 ? "volumes" : "volume"} ${names.join(", ")} ${
      names.length > 1 ? "are" : "is"
    } ${problem}`
  ).join("; ");
}

/** Decide: ready, failed (and why), or still waiting (for what). */
export function verdict(
  pod: V1Pod | undefined,
  pvcs: V1PersistentVolumeClaim[],
  events: CoreV1Event[] = [],
  nodes: NodeRoom[] = [],
): Verdict {
  if (!pod) return { ready: false, waiting: "the pod to appear" };
  const reached = reachedPhases(pod, pvcs);
  if (reached.has("ready")) return { ready: true };
  if (pod.metadata?.deletionTimestamp) return { ready: false, failure: "the pod is being deleted" };
  const problem = podProblem(pod);
  // ErrImagePull is the first failed attempt: wait for the kubelet's back-off to confirm it
  if (problem && problem !== "ErrImagePull" && problem !== "Init:ErrImagePull") {
    return { ready: false, failure: describeProblem(pod, problem) };
  }
  const never = claimsNeverBind(pvcs, events);
  if (never) return { ready: false, failure: never };
  const unbound = unboundText(pvcs, events);
  if (unbound) return { ready: false, waiting: unbound };
  const sched = pod.status?.conditions?.find((c) => c.type === "PodScheduled");
  const misfit = reached.has("scheduled")
    ? undefined
    : neverFits(pod, nodes) ?? placementFailure(pod, events);
  if (misfit) return { ready: false, failure: misfit };
  if (!reached.has("scheduled")) {
    return {
      ready: false,
      waiting: sched?.reason
        ? `a node: ${sched.reason}${sched.message ? ` (${sched.message})` : ""}`
        : "a node",
    };
  }
  const c = mainStatus(pod);
  const w = [...(pod.status?.initContainerStatuses ?? []), ...(c ? [c] : [])].find((x) => x.state?.waiting);
  if (w?.state?.waiting?.reason && w.state.waiting.reason !== "PodInitializing") {
    const msg = w.state.waiting.message ? `: ${w.state.waiting.message}` : "";
    return { ready: false, waiting: `container ${w.name}: ${w.state.waiting.reason}${msg}` };
  }
  // an init container at work (the git clone): say so rather than "image pulled"
  const init = pod.status?.initContainerStatuses?.find((x) => x.state?.running);
  if (init) {
    return {
      ready: false,
      waiting: init.name === GIT_CONTAINER
        ? `the clone (init container ${init.name})`
        : `init container ${init.name}`,
    };
  }
  return { ready: false, waiting: PHASE_LABELS[nextPhase(reached) ?? "ready"] };
}

/** A failure in words, naming the image for pull errors and the exit for a crash. */
export function describeProblem(pod: V1Pod, problem: string): string {
  const all = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  const bad = all.find((c) =>
    c.state?.waiting?.reason && problem.endsWith(c.state.waiting.reason) ||
    (c.state?.terminated && c.state.terminated.exitCode !== 0)
  );
  if (!bad) return problem;
  const waiting = bad.state?.waiting;
  if (waiting?.reason && /Image|ErrImage/.test(waiting.reason)) {
    return `${waiting.reason}: image "${bad.image}" cannot be pulled${
      waiting.message ? ` (${waiting.message})` : ""
    }`;
  }
  const term = bad.state?.terminated ?? bad.lastState?.terminated;
  const exit = term
    ? ` (exit code ${term.exitCode}${term.reason ? `, ${term.reason}` : ""}${
      term.message ? `: ${term.message.trim().split("\n")[0]}` : ""
    })`
    : "";
  return `container ${bad.name}: ${problem}${exit}`;
}
