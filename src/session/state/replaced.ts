/**
 * What a follower of a session's pod does when the cluster replaces it (issue 80): sync, `agent logs -f`,
 * port-forward, `logs -f`, the web UI and MCP hold the pod they started on; when it goes (evicted,
 * preempted, its node lost, deleted) the session's Job makes a new one under a new name, on the same
 * volumes. Each follower looks at the session again (its pods by its labels, ./cluster.ts), waits while it
 * is restarting, takes the new pod, and says once what happened and how long the pod was away:
 * `session fix: pod evicted (node memory pressure); back in 9 s`. The tracking and the line are pure.
 */
import type { CoreV1Event, V1Pod } from "@kubernetes/client-node";
import type { KubeIdentity, KubeObjects } from "../../kube/seam.ts";
import { type DisruptionCause, podDisruption } from "./disruption.ts";
import type { SessionView } from "./status.ts";
import { requireSession } from "./cluster.ts";

/** What was said of the pod that went: its cause (./disruption.ts), and when (ISO 8601) when known. */
export interface GoneCause {
  cause?: DisruptionCause;
  detail?: string;
  at?: string;
}

/** `evicted (node memory pressure)`, `preempted`, `lost with its node`, … as the follow line says it. */
function whatHappened(d: GoneCause | undefined): string {
  switch (d?.cause) {
    case "evicted":
      return `evicted${d.detail && d.detail.startsWith("node ") ? ` (${d.detail})` : ""}`;
    case "preempted":
      return "preempted by a higher-priority pod";
    case "node-lost":
      return "lost with its node";
    case "oom-killed":
      return "killed (out of memory)";
    default:
      return "deleted";
  }
}

/**
 * What an `attach` cut by its pod's end says: `session fix: pod evicted (node memory pressure); the cluster is
 * bringing it back: attach again (kodama attach fix)`. Pure.
 */
export function cutLine(name: string, d: GoneCause | undefined): string {
  return `session ${name}: pod ${whatHappened(d)}; the cluster is bringing it back: attach again ` +
    `(kodama attach ${name})`;
}

/** Seconds as the line says them: `9 s`, `2 min 5 s`. */
function seconds(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ""}`;
}

/** A line replacedLine made (after a `kodama: ` prefix or not): what a UI picks out of a follower's stderr. */
export function isReplacedLine(line: string): boolean {
  return /^(kodama: )?session \S+: pod [^;\n]+; back in \d+ (s|min)( \d+ s)?$/.test(line.trim());
}

/** The one line a follower says: `session fix: pod evicted (node memory pressure); back in 9 s`. Pure. */
export function replacedLine(name: string, d: GoneCause | undefined, ms: number): string {
  return `session ${name}: pod ${whatHappened(d)}; back in ${seconds(ms)}`;
}

const time = (t: unknown): number | undefined => {
  const n = t instanceof Date ? t.getTime() : typeof t === "string" ? Date.parse(t) : NaN;
  return Number.isNaN(n) ? undefined : n;
};

/** When the pod became ready (its Ready condition), else when it started; undefined when not said. */
function readyAt(p: V1Pod): number | undefined {
  const ready = p.status?.conditions?.find((c) => c.type === "Ready" && c.status === "True");
  return time(ready?.lastTransitionTime) ?? time(p.status?.startTime);
}

/**
 * The line for a follower that saw the old pod go and found the new one itself (a port-forward): the cause
 * from the old pod's last state, the time from its going to the new pod's readiness. Pure.
 */
export function movedLine(name: string, from: V1Pod, to: V1Pod, now = Date.now()): string {
  const d = podDisruption(from);
  const start = time(d?.at) ?? now;
  return replacedLine(name, d, Math.max(0, (readyAt(to) ?? now) - start));
}

/** Same pod: by uid when both carry one, else by name. */
export function samePod(a: V1Pod | undefined, b: V1Pod | undefined): boolean {
  if (!a || !b) return false;
  const ua = a.metadata?.uid, ub = b.metadata?.uid;
  if (ua && ub) return ua === ub;
  return a.metadata?.name === b.metadata?.name;
}

/** A pod a follower can use: Running, ready, not being deleted. */
export function podRuns(p: V1Pod | undefined): boolean {
  return !!p && p.status?.phase === "Running" && !p.metadata?.deletionTimestamp &&
    (p.status.conditions?.find((c) => c.type === "Ready")?.status ?? "True") === "True" &&
    (p.status.containerStatuses?.every((s) => s.ready) ?? true);
}

/** What a look at the session tells a follower. */
export type FollowStep =
  /** its pod is still the one it follows */
  | { kind: "same" }
  /** the cluster is bringing the pod back: wait and look again */
  | { kind: "waiting"; why: string }
  /** a new pod runs: follow it, and say the line once */
  | { kind: "moved"; pod: V1Pod; line: string }
  /** anything else (stopped, failed, not running): the follower's own judgement */
  | { kind: "other" };

/**
 * Tracks one follower's pod across replacements. `see` takes a fresh view of the session (and, for a
 * replacement found with no restart seen, what `gone` said of the old pod: its last state and events, read
 * by the caller) and says what to do. The cause is the first one the cluster gave while the pod was away
 * (read before the old pod is gone when the follower looked in time); the time is from the pod's going
 * (the cluster's time when it said, else when the follower first noticed) to the new pod's readiness.
 */
export class PodTracker {
  #pod: V1Pod;
  #gone?: GoneCause;
  #noticed?: number;

  constructor(readonly name: string, pod: V1Pod) {
    this.#pod = pod;
  }

  /** Follow `pod` from now on with nothing to say (the session was resumed: not a replacement). */
  reset(pod: V1Pod): void {
    this.#pod = pod;
    this.#gone = undefined;
    this.#noticed = undefined;
  }

  /** A cause was seen while the pod was away (no need to ask the events after). */
  get knowsCause(): boolean {
    return !!this.#gone?.cause;
  }

  get pod(): V1Pod {
    return this.#pod;
  }

  /** The follower's stream was cut, or its pod looked gone: the time the pod's going counts from. */
  noticed(now = Date.now()): void {
    this.#noticed ??= now;
  }

  see(v: SessionView, now = Date.now(), gone?: GoneCause): FollowStep {
    const cur = v.pod;
    if (v.restart) {
      this.noticed(now);
      if (!this.#gone?.cause) this.#gone = v.restart;
      return {
        kind: "waiting",
        why: `session ${this.name} is restarting: the cluster is bringing its pod back`,
      };
    }
    if (!cur || samePod(cur, this.#pod)) {
      if (cur && this.#pod.metadata?.deletionTimestamp === undefined && cur.metadata?.deletionTimestamp) {
        this.noticed(now);
      }
      if (cur) this.#pod = cur;
      return { kind: "same" };
    }
    if (v.status !== "Running" || !podRuns(cur)) {
      if (v.status === "Pending" || v.status === "Starting") {
        this.noticed(now);
        return { kind: "waiting", why: `session ${this.name}'s new pod is starting` };
      }
      return { kind: "other" };
    }
    const d = this.#gone?.cause ? this.#gone : gone ?? this.#gone;
    const from = time(d?.at) ?? this.#noticed ?? now;
    const to = readyAt(cur) ?? now;
    const line = replacedLine(this.name, d, Math.max(0, to - from));
    this.#pod = cur;
    this.#gone = undefined;
    this.#noticed = undefined;
    return { kind: "moved", pod: cur, line };
  }
}

/**
 * Look at the session again (its pods by its labels: requireSession) for `t`'s follower. A new pod found
 * running with no restart seen before (the follower looked too late) is explained by what the cluster said
 * of the old one: its last state as the follower saw it and the events about it; else "deleted".
 */
export async function lookAgain(
  kube: KubeObjects & KubeIdentity,
  namespace: string,
  t: PodTracker,
): Promise<FollowStep & { view: SessionView }> {
  const view = await requireSession(kube, namespace, t.name);
  let gone: GoneCause | undefined;
  if (!view.restart && view.pod && !samePod(view.pod, t.pod) && !t.knowsCause) {
    const events = await kube.listObjects<CoreV1Event>("events", namespace, {
      fieldSelector: "involvedObject.kind=Pod",
    }).then((l) => l.items, () => [] as CoreV1Event[]);
    gone = podDisruption(t.pod, events);
  }
  return { ...t.see(view, Date.now(), gone), view };
}

/**
 * Whether the session's pod is no longer `pod` (being deleted, ended and restarting, another one now), and
 * what the cluster said of it; undefined while `pod` is still the session's, or when the session cannot be
 * read. For a follower whose stream ended: a pod going away is a cut, not the end.
 */
export async function podGoing(
  kube: KubeObjects & KubeIdentity,
  namespace: string,
  name: string,
  pod: V1Pod,
): Promise<{ gone: GoneCause } | undefined> {
  const v = await requireSession(kube, namespace, name).catch(() => undefined);
  if (!v) return undefined;
  if (v.restart) return { gone: v.restart };
  const cur = v.pod;
  if (cur && samePod(cur, pod) && !cur.metadata?.deletionTimestamp) return undefined;
  if (!cur) return undefined;
  return { gone: (samePod(cur, pod) ? podDisruption(cur) : undefined) ?? { cause: "deleted" } };
}
