/**
 * Wait for a session's pod to become ready: watch the pod and its volumes, poll their events every
 * couple of seconds while it is not ready, and let the pure `verdict` decide. Ends ready, failed (a
 * reason and the recent events), timed out (what it was still waiting for), or interrupted.
 */
import { sessionPod } from "../state/sessionpod.ts";
import type { CoreV1Event, V1Job, V1PersistentVolumeClaim, V1Pod } from "@kubernetes/client-node";
import type { KubeObjects } from "../../kube/seam.ts";
import { objectNames, sessionSelector } from "../spec/names.ts";
import { after } from "../../base/proc/timer.ts";
import {
  eventsOf,
  eventsTable,
  type NodeRoom,
  type Phase,
  reachedPhases,
  sortEvents,
  unboundText,
  verdict,
} from "./progress.ts";

export interface WaitResult {
  outcome: "ready" | "failed" | "timeout" | "interrupted";
  pod?: V1Pod;
  /** the failure, or what it was still waiting for at the timeout */
  message?: string;
  /** recent events of the pod and its volumes, as a table (oldest first); "" when none */
  events: string;
  /**
   * the session's Job could not create its pod: the API server's refusal as its controller reported it
   * (a ResourceQuota without room, Pod Security admission), which a create of the pod itself used to return
   */
  refused?: boolean;
}

/** The Job controller's `FailedCreate` for the session's Job: the API server's refusal, without its lead. */
export function createRefusal(events: CoreV1Event[], job: string): string | undefined {
  const e = events.filter((e) =>
    e.involvedObject?.kind === "Job" && e.involvedObject.name === job && e.reason === "FailedCreate"
  ).at(-1);
  return e?.message?.replace(/^Error creating: /, "");
}

export interface WaitOptions {
  timeoutMs: number;
  signal: AbortSignal;
  /** called whenever the reached phases or the waiting reason change */
  onProgress?: (reached: Set<Phase>, waiting?: string) => void;
  /** how often events are fetched while waiting (default 2 s) */
  eventsEveryMs?: number;
  /** how those periodic reads list the namespace's events (a group's replicas share one read) */
  listEvents?: () => Promise<CoreV1Event[]>;
  /** called once, when the pod's watch has answered (work that can wait for it goes then: see resume) */
  onWatching?: () => void;
}

const RECENT_EVENTS = 8;

const podScheduled = (pod: V1Pod | undefined) =>
  pod?.status?.conditions?.find((c) => c.type === "PodScheduled" && c.status === "False");

/**
 * A watch handler that keeps `map` as the server's objects by name (`keep` picks which), then calls
 * `then` to re-evaluate.
 */
const mirror = <T extends { metadata?: { name?: string } }>(
  map: Map<string, T>,
  then: () => void,
  keep: (name: string) => boolean = () => true,
) =>
(type: string, o: T) => {
  const key = o.metadata?.name ?? "";
  if (!keep(key)) return;
  if (type === "DELETED") map.delete(key);
  else map.set(key, o);
  then();
};

export async function waitForSession(
  kube: KubeObjects,
  namespace: string,
  name: string,
  o: WaitOptions,
): Promise<WaitResult> {
  let pod: V1Pod | undefined;
  // the session's pods by name: its Job's (a replacement, the one it replaces) or a legacy one; the session's
  // pod is the live one of them (sessionpod.ts)
  const pods = new Map<string, V1Pod>();
  // the session's Job: its controller's events say when it cannot make the pod
  let job: V1Job | undefined;
  const pvcs = new Map<string, V1PersistentVolumeClaim>();
  let events: CoreV1Event[] = [];
  const ac = new AbortController();
  const done = Promise.withResolvers<WaitResult["outcome"] | { failed: string; refused?: boolean }>();
  const onOuter = () => {
    ac.abort();
    done.resolve("interrupted");
  };
  o.signal.addEventListener("abort", onOuter, { once: true });
  let lastSig = "";
  // the nodes' room, read once the scheduler says a pod does not fit (most users may not list nodes)
  let nodes: NodeRoom[] = [];
  let nodesRead = false;
  const readNodes = async () => {
    if (nodesRead || !/Insufficient (cpu|memory)/.test(podScheduled(pod)?.message ?? "")) return;
    nodesRead = true;
    nodes = await kube.listObjects<
      { metadata?: { name?: string }; status?: { allocatable?: NodeRoom["allocatable"] } }
    >(
      "nodes",
      undefined,
    ).then((l) =>
      l.items.map((n) => ({ name: n.metadata?.name ?? "?", allocatable: n.status?.allocatable ?? {} }))
    )
      .catch(() => []);
  };
  const evaluate = () => {
    // no pod, and the Job's controller could not make one: what the API server said is the answer
    const refused = !pod ? createRefusal(events, objectNames(name).workload) : undefined;
    if (refused) {
      done.resolve({ failed: refused, refused: true });
      return { ready: false };
    }
    const v = verdict(pod, [...pvcs.values()], events, nodes);
    const reached = reachedPhases(pod, [...pvcs.values()]);
    const sig = `${[...reached].join(",")}|${v.waiting ?? ""}`;
    if (sig !== lastSig) {
      lastSig = sig;
      o.onProgress?.(reached, v.waiting);
    }
    if (v.ready) done.resolve("ready");
    else if (v.failure) done.resolve({ failed: v.failure });
    return v;
  };
  const fetchEvents = async (periodic = false) => {
    try {
      const all = periodic && o.listEvents
        ? await o.listEvents()
        : (await kube.listObjects<CoreV1Event>("events", namespace)).items;
      job ??= await kube.findObject<V1Job>("jobs", namespace, objectNames(name).workload).catch(() =>
        undefined
      );
      events = eventsOf(all, [pod, ...pvcs.values(), job]);
    } catch { /* events are a nicety; a Role without them still starts sessions */ }
  };
  const selector = { labelSelector: sessionSelector(name) };
  let watched = false;
  const watching = () => {
    if (watched) return;
    watched = true;
    o.onWatching?.();
  };
  const watches = [
    kube.watchObjects<V1Pod>(
      "pods",
      namespace,
      selector,
      (type, p) => {
        if (type === "DELETED") pods.delete(p.metadata?.name ?? "");
        else pods.set(p.metadata?.name ?? "", p);
        pod = sessionPod([...pods.values()]);
        watching();
        evaluate();
      },
      { signal: ac.signal, native: true },
    ),
    kube.watchObjects<V1PersistentVolumeClaim>(
      "persistentvolumeclaims",
      namespace,
      selector,
      mirror(pvcs, evaluate),
      { signal: ac.signal, native: true },
    ),
  ];
  for (const w of watches) w.catch((e) => done.reject(e));
  // Deno's own timers (../timer.ts): the global ones would load the Node layer into every start
  const stopPoll = after(o.eventsEveryMs ?? 2000, async () => {
    await fetchEvents(true);
    await readNodes();
    if (!ac.signal.aborted) evaluate();
  }, true);
  const stopTimer = after(o.timeoutMs, () => done.resolve("timeout"));
  if (o.signal.aborted) done.resolve("interrupted");
  try {
    const r = await done.promise;
    if (r === "ready" || r === "interrupted") return { outcome: r, pod, events: "" };
    await fetchEvents();
    const recent = sortEvents(events).slice(-RECENT_EVENTS);
    const lines = recent.length ? eventsTable(recent) : "";
    if (typeof r === "object") {
      return {
        outcome: "failed",
        pod,
        message: r.failed,
        events: lines,
        ...(r.refused ? { refused: true } : {}),
      };
    }
    return {
      outcome: "timeout",
      pod,
      message: verdict(pod, [...pvcs.values()], events).waiting,
      events: lines,
    };
  } finally {
    stopPoll();
    stopTimer();
    ac.abort();
    o.signal.removeEventListener("abort", onOuter);
  }
}

/**
 * Wait (a watch, not a poll) until the named claims are all Bound — what `start` does before it creates
 * the pod when they bind on their own (`Immediate`): a pod made earlier is parked by the scheduler ("pod
 * has unbound immediate PersistentVolumeClaims") and tried again only after its back-off. The claims'
 * events (watched too) end the wait early when waiting cannot help: `consumer` (a
 * `WaitForFirstConsumer` claim binds only for a pod), `stuck` (the controller's warning: a missing class,
 * no volume), `unknown` (events are not readable here, so neither can be told). `onWaiting` gets what is
 * still unbound, with the provisioner's last word.
 */
export async function waitForClaimsBound(
  kube: KubeObjects,
  namespace: string,
  /** a label selector that takes in the claims (a session's: sessionSelector(NAME)) */
  labelSelector: string,
  names: string[],
  o: {
    timeoutMs: number;
    signal: AbortSignal;
    onWaiting?: (waiting: string) => void;
    /** the class is known to bind at once: only Bound, a timeout or Ctrl-C end the wait */
    immediate?: boolean;
  },
): Promise<{ outcome: ClaimsOutcome; waiting?: string; events: string }> {
  const claims = new Map<string, V1PersistentVolumeClaim>();
  const events = new Map<string, CoreV1Event>();
  const ac = new AbortController();
  const done = Promise.withResolvers<ClaimsOutcome>();
  const onOuter = () => done.resolve("interrupted");
  o.signal.addEventListener("abort", onOuter, { once: true });
  let last = "";
  const ours = () => eventsOf([...events.values()], [...claims.values()]);
  const waiting = () => unboundText([...claims.values()], ours()) ?? "the volumes to appear";
  const evaluate = () => {
    if (names.every((n) => claims.get(n)?.status?.phase === "Bound")) return done.resolve("bound");
    if (!o.immediate) {
      const ev = ours().filter((e) => names.includes(e.involvedObject?.name ?? ""));
      if (ev.some((e) => e.reason === "WaitForFirstConsumer")) return done.resolve("consumer");
      if (ev.some((e) => e.type === "Warning")) return done.resolve("stuck");
    }
    if (!names.every((n) => claims.has(n))) return; // the watch's first events: not all seen yet
    const w = waiting();
    if (w !== last) o.onWaiting?.(last = w);
  };
  const selector = { labelSelector };
  kube.watchObjects<V1PersistentVolumeClaim>(
    "persistentvolumeclaims",
    namespace,
    selector,
    mirror(claims, evaluate, (key) => names.includes(key)),
    { signal: ac.signal, native: true },
  ).catch((e) => done.reject(e));
  kube.watchObjects<CoreV1Event>(
    "events",
    namespace,
    { fieldSelector: "involvedObject.kind=PersistentVolumeClaim" },
    mirror(events, evaluate),
    { signal: ac.signal, native: true },
    // events unreadable (RBAC): with the class unknown too, nothing tells WaitForFirstConsumer apart
  ).catch(() => o.immediate || done.resolve("unknown"));
  const stopTimer = after(o.timeoutMs, () => done.resolve("timeout"));
  if (o.signal.aborted) done.resolve("interrupted");
  try {
    const r = await done.promise;
    if (r !== "timeout") return { outcome: r, events: "" };
    const recent = sortEvents(ours()).slice(-RECENT_EVENTS);
    return { outcome: r, waiting: waiting(), events: recent.length ? eventsTable(recent) : "" };
  } finally {
    stopTimer();
    ac.abort();
    o.signal.removeEventListener("abort", onOuter);
  }
}

export type ClaimsOutcome = "bound" | "consumer" | "stuck" | "unknown" | "timeout" | "interrupted";
