/**
 * What a port-forward follows: the pod its connections go to. It watches that pod from the pod's own
 * resourceVersion (a deletion between reading the pod and opening the watch is not missed) and, when the pod
 * goes away — deleted, terminating, finished, or a new pod under the same name — either ends the forward
 * (`onLost`: kubectl's behaviour) or, with `reconnect`, re-resolves the target with a back-off (250 ms,
 * doubling to 5 s) until a ready pod answers, while new connections wait for it (`settled`).
 *
 * It takes the seam (`KubePods`, src/kube/seam.ts) and a clock, so its decisions are tested in-process
 * against the in-memory cluster on a manual clock (tests/unit/pods/pf_follow_test.ts). The listeners and
 * the streams are ./portforward.ts's, checked against the HTTPS server and a real cluster.
 */
import type { V1Pod } from "@kubernetes/client-node";
import type { KubePods } from "../kube/seam.ts";
import { ExitCode, KodamaError } from "../base/errors.ts";
import { type Clock, realClock } from "../base/clock.ts";
import type { ResolvedTarget } from "./portforward.ts";

/** A pod a forward may go to: running, not being deleted, and ready (a pod without the condition counts). */
export function isPodReady(p: V1Pod): boolean {
  if (p.metadata?.deletionTimestamp) return false;
  if (p.status?.phase !== "Running") return false;
  const ready = p.status?.conditions?.find((c) => c.type === "Ready");
  return ready ? ready.status === "True" : true;
}

export function podName(p: V1Pod): string {
  return p.metadata?.name ?? "?";
}

export interface FollowOptions {
  signal?: AbortSignal;
  /** lifecycle events: "pod api-1 was deleted; looking for a new pod", "forwarding to pod/api-2 (was …)" */
  onEvent?: (e: string) => void;
  /** re-resolve the target when the pod goes away; without it the forward ends (`onLost`) */
  reconnect?: () => Promise<ResolvedTarget>;
  /**
   * With `reconnect`: the line said once after the target moved to another pod (`from`: the old pod as last
   * seen, with what the cluster said of it), beside the `forwarding to` event; undefined says nothing more
   */
  moved?: (from: V1Pod, to: V1Pod) => string | undefined;
  /** without `reconnect`: called once when the pod goes away, after `close()` */
  onLost?: (err: KodamaError) => void;
  clock?: Clock;
}

/** The first wait between re-resolve attempts, and the most it grows to. */
export const RERESOLVE_BACKOFF = { firstMs: 250, maxMs: 5_000 };

export class PodFollower {
  current: ResolvedTarget;
  closed = false;
  /** times the target moved to another pod */
  reconnects = 0;
  readonly clock: Clock;
  #resolving?: Promise<void>;
  #watchAbort = new AbortController();
  /** the followed pod as the watch last saw it (a deletion's or an eviction's last state) */
  #lastSeen?: V1Pod;

  constructor(
    readonly pods: KubePods,
    readonly namespace: string,
    target: ResolvedTarget,
    readonly o: FollowOptions,
  ) {
    this.current = target;
    this.clock = o.clock ?? realClock;
  }

  event(e: string): void {
    this.o.onEvent?.(e);
  }

  /** A re-resolve is in progress: connections wait for it. */
  get resolving(): boolean {
    return this.#resolving !== undefined;
  }

  /** The target moved to `t` (a subclass recomputes what depends on the pod). */
  protected moved(_t: ResolvedTarget): void {}

  /** Watch the current pod; its going away triggers a re-resolve (reconnect) or the end (onLost). */
  watchPod(): void {
    this.#watchAbort.abort();
    const ac = new AbortController();
    this.#watchAbort = ac;
    const name = podName(this.current.pod);
    const uid = this.current.pod.metadata?.uid;
    this.pods.watchPods(
      this.namespace,
      { fieldSelector: `metadata.name=${name}` },
      (type, pod) => {
        if (ac.signal.aborted) return;
        const why = goneReason(name, uid, type, pod);
        if (pod.metadata?.uid === uid || !uid) this.#lastSeen = pod;
        if (why) this.lost(why);
      },
      ac.signal,
      this.current.pod.metadata?.resourceVersion || undefined,
    ).catch((e) => {
      if (!ac.signal.aborted) this.event(`warning: cannot watch pod ${name}: ${(e as Error).message}`);
    });
  }

  /** The pod went away (the watch saw it, or a dial found it gone). */
  lost(why: string): void {
    if (this.closed || this.#resolving) return;
    if (!this.o.reconnect) {
      const err = new KodamaError(
        `lost connection to pod: ${why}`,
        ExitCode.FAILED,
        "use --reconnect to follow the target to a new pod",
      );
      this.event(err.message);
      this.close().then(() => this.o.onLost?.(err));
      return;
    }
    this.event(`${why}; looking for a new pod`);
    this.#watchAbort.abort();
    this.#resolving = this.#reresolve().finally(() => this.#resolving = undefined);
  }

  async #reresolve(): Promise<void> {
    const previous = podName(this.current.pod);
    const before = this.#lastSeen ?? this.current.pod;
    let backoff = RERESOLVE_BACKOFF.firstMs;
    let lastMsg = "";
    while (!this.closed && !this.o.signal?.aborted) {
      try {
        const t = await this.o.reconnect!();
        const uid = t.pod.metadata?.uid;
        if (uid && uid === this.current.pod.metadata?.uid && !isPodReady(t.pod)) {
          throw new Error("not ready yet");
        }
        if (this.closed) return;
        this.current = t;
        this.moved(t);
        this.reconnects++;
        this.event(`forwarding to pod/${podName(t.pod)} (was pod/${previous})`);
        const note = this.o.moved?.(before, t.pod);
        if (note) this.event(note);
        this.#lastSeen = undefined;
        this.watchPod();
        return;
      } catch (e) {
        const msg = `waiting for a pod: ${(e as Error).message.replace(/\(selector .*\)$/, "").trim()}`;
        if (msg !== lastMsg) this.event(msg);
        lastMsg = msg;
        await this.clock.sleep(backoff, this.o.signal);
        backoff = Math.min(backoff * 2, RERESOLVE_BACKOFF.maxMs);
      }
    }
  }

  /** Wait (at most `maxWaitMs`) for a re-resolve in progress; throws when no pod came in that time. */
  async settled(maxWaitMs = 30_000): Promise<void> {
    const deadline = this.clock.now() + maxWaitMs;
    while (this.#resolving) {
      const left = deadline - this.clock.now();
      if (left <= 0) throw new KodamaError(`no pod to forward to after ${Math.round(maxWaitMs / 1000)}s`);
      const ac = new AbortController();
      try {
        await Promise.race([this.#resolving, this.clock.sleep(left, ac.signal)]);
      } finally {
        ac.abort(); // the timer of the race's loser goes with it
      }
    }
  }

  /** Stop following: the watch ends, and a re-resolve in progress stops at its next turn. */
  close(): Promise<void> {
    this.closed = true;
    this.#watchAbort.abort();
    return Promise.resolve();
  }
}

/** Why the followed pod `name` (uid `uid`) is gone after a watch event, or undefined while it is there. */
export function goneReason(
  name: string,
  uid: string | undefined,
  type: string,
  pod: V1Pod,
): string | undefined {
  // same name, another pod (StatefulSet-style re-creation): the one followed is gone
  if (uid && pod.metadata?.uid && pod.metadata.uid !== uid && type !== "DELETED") {
    return `pod ${name} was replaced`;
  }
  if (type === "DELETED") return `pod ${name} was deleted`;
  if (pod.metadata?.deletionTimestamp) return `pod ${name} is terminating`;
  const phase = pod.status?.phase;
  if (phase === "Succeeded" || phase === "Failed") return `pod ${name} has ${phase.toLowerCase()}`;
  return undefined;
}
