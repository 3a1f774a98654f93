/**
 * Fault injection for tests: drop streams, delay responses, fail the next N requests, stop mid-stream —
 * and the cluster's own faults (controllers/disruptions.ts): a lost node, kubelet pressure eviction,
 * preemption, a second node for replacements.
 */
import type { ClusterApi } from "./api.ts";
import { evictForPressure, loseNode, oomKill, preempt, restoreNode } from "./controllers/disruptions.ts";
import { nodeObject, type NodeOptions } from "./nodes.ts";

/** A pod as the cluster faults name it: `NS/NAME`, or `NAME` in namespace `default`. */
export type PodRef = string;

function podRef(ref: PodRef): [string, string] {
  const i = ref.indexOf("/");
  return i < 0 ? ["default", ref] : [ref.slice(0, i), ref.slice(i + 1)];
}

/** What happens to nodes and pods in a real cluster (both on the HTTPS server and MemCluster). */
export interface ClusterFaults {
  /**
   * The node's machine dies: its pods' processes are killed (no SIGTERM), it goes `Ready=Unknown` with the
   * `node.kubernetes.io/unreachable` taints, and after `graceMs` (default 1000; a real cluster waits the
   * pods' tolerationSeconds, 300 s) its pods get DisruptionTarget `DeletionByTaintManager` and a delete
   * that stays Terminating until `restoreNode` (or the Node is deleted: PodGC force-deletes them).
   */
  loseNode(name: string, o?: { graceMs?: number }): Promise<void>;
  /** The node is back: Ready, untainted; its kubelet finishes the deletes and restarts what it may. */
  restoreNode(name: string): Promise<void>;
  /** Another node (e.g. `kodama-test-node-2`) where the scheduler may place pods, as a kubelet registers it. */
  addNode(name: string, o?: NodeOptions): void;
  /** The kubelet evicts the pod for node pressure: Failed, reason Evicted, DisruptionTarget TerminationByKubelet. */
  evictForPressure(
    pod: PodRef,
    resource?: "memory" | "ephemeral-storage",
    o?: { graceSeconds?: number },
  ): Promise<void>;
  /** The scheduler preempts the pod for a higher-priority one: event Preempted, DisruptionTarget, delete. */
  preempt(pod: PodRef, o?: { byUid?: string }): Promise<void>;
  /** The OOM killer ends a container (default: the first): exit 137, reason OOMKilled, then its restartPolicy. */
  oomKill(pod: PodRef, container?: string): Promise<void>;
}

/** The cluster faults of one ClusterApi. */
export function clusterFaults(api: ClusterApi): ClusterFaults {
  return {
    loseNode: (name, o) => loseNode(api.disruptionHost, name, o),
    restoreNode: (name) => restoreNode(api.disruptionHost, name),
    addNode(name, o) {
      api.store.insert("nodes", nodeObject(o, name));
    },
    evictForPressure: (pod, resource = "memory", o) =>
      evictForPressure(api.disruptionHost, ...podRef(pod), resource, o),
    preempt: (pod, o) => preempt(api.disruptionHost, ...podRef(pod), o),
    oomKill: (pod, container) => oomKill(api.disruptionHost, ...podRef(pod), container),
  };
}

export interface Faults extends ClusterFaults {
  /** Close every open exec/attach/port-forward/log stream and refuse new ones while on. */
  dropStreams(on?: boolean): void;
  /**
   * Make every open exec/attach/port-forward stream hang: the server stops reading from the client and
   * closes nothing (a peer that went silent). New streams work.
   */
  stallStreams(): void;
  /** Delay every response by `ms` (0 = off). */
  delay(ms: number): void;
  /** The next `n` API requests (optionally only those whose path contains `pathIncludes`) fail with `status`. */
  failNext(
    n: number,
    status: number,
    opts?: { pathIncludes?: string; method?: string; message?: string; retryAfter?: number },
  ): void;
  /**
   * Refuse SPDY/3.1 upgrades (400, a plain-text body, no Status: like a proxy in front of the API
   * server that only passes WebSockets). With `execProtocols: "v4"`, no exec can end its stdin.
   */
  refuseSpdy(on?: boolean): void;
  /**
   * An exec or attach into a container that started less than `ms` ago fails with `container not found`,
   * while the pod says Running: a kubelet's runtime cache (refreshed every ~2 s) behind a container it just
   * started, which a real node shows under load right after a pod starts (0: off).
   */
  runtimeCacheLag(ms: number): void;
  /** Close the server and every socket abruptly (pod processes keep running until stop()). */
  stopMidStream(): void;
  /**
   * After stopMidStream(): serve again on the same port, with the same objects and pods (an API server
   * restart). `newCa`: with a new CA and new certificates, and the kubeconfig rewritten (a rebuilt
   * control plane); clients holding the old CA then fail TLS until they re-read the kubeconfig.
   */
  listenAgain(o?: { newCa?: boolean }): Promise<void>;
  /** Turn every fault off. */
  reset(): void;
}

export class FaultState {
  delayMs = 0;
  failRemaining = 0;
  failStatus = 500;
  failPath?: string;
  /** only requests of this HTTP method fail (e.g. POST: a create, not the reads around it) */
  failMethod?: string;
  failMessage?: string;
  /** seconds: sent as the Retry-After header and details.retryAfterSeconds (kube-apiserver's 429) */
  failRetryAfter?: number;
  streamsDropped = false;
  spdyRefused = false;

  /** Should this request fail? Consumes one of the N failures. */
  takeFailure(path: string, method = "GET"): number | undefined {
    if (this.failRemaining <= 0) return undefined;
    if (this.failPath && !path.includes(this.failPath)) return undefined;
    if (this.failMethod && this.failMethod !== method) return undefined;
    this.failRemaining--;
    return this.failStatus;
  }

  async wait(): Promise<void> {
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
  }
}

/** Apply a fault request received over HTTP (`POST /_test/faults`). */
export async function applyFaultRequest(faults: Faults, body: Record<string, unknown>): Promise<string> {
  const action = String(body.action ?? "");
  switch (action) {
    case "loseNode":
      await faults.loseNode(String(body.node ?? ""), {
        graceMs: body.graceMs !== undefined ? Number(body.graceMs) : undefined,
      });
      return `node ${body.node} lost`;
    case "restoreNode":
      await faults.restoreNode(String(body.node ?? ""));
      return `node ${body.node} restored`;
    case "addNode":
      faults.addNode(String(body.node ?? ""));
      return `node ${body.node} added`;
    case "evictForPressure":
      await faults.evictForPressure(String(body.pod ?? ""), (body.resource as "memory") ?? "memory");
      return `pod ${body.pod} evicted for ${body.resource ?? "memory"} pressure`;
    case "preempt":
      await faults.preempt(String(body.pod ?? ""));
      return `pod ${body.pod} preempted`;
    case "oomKill":
      await faults.oomKill(String(body.pod ?? ""), body.container ? String(body.container) : undefined);
      return `pod ${body.pod} OOM-killed`;
    case "dropStreams":
      faults.dropStreams(body.on !== false);
      return `streams ${body.on === false ? "allowed" : "dropped"}`;
    case "stallStreams":
      faults.stallStreams();
      return "open streams stalled";
    case "delay":
      faults.delay(Number(body.ms ?? 0));
      return `delay ${Number(body.ms ?? 0)}ms`;
    case "failNext":
      faults.failNext(Number(body.n ?? 1), Number(body.status ?? 500), {
        pathIncludes: body.pathIncludes ? String(body.pathIncludes) : undefined,
        method: body.method ? String(body.method) : undefined,
        message: body.message ? String(body.message) : undefined,
        retryAfter: body.retryAfter !== undefined ? Number(body.retryAfter) : undefined,
      });
      return `next ${Number(body.n ?? 1)} requests fail with ${Number(body.status ?? 500)}`;
    case "refuseSpdy":
      faults.refuseSpdy(body.on !== false);
      return `SPDY ${body.on === false ? "allowed" : "refused"}`;
    case "stopMidStream":
      setTimeout(() => faults.stopMidStream(), 10);
      return "stopping";
    case "restart": {
      // down for `downMs`, then back on the same port (with a new CA and kubeconfig when `newCa`)
      const downMs = Number(body.downMs ?? 1000);
      setTimeout(() => {
        faults.stopMidStream();
        setTimeout(() => {
          faults.listenAgain({ newCa: body.newCa === true }).catch((e) =>
            console.error(`[cluster] restart: ${(e as Error).message}`)
          );
        }, downMs);
      }, 10);
      return `restarting in ${downMs}ms${body.newCa === true ? " with a new CA" : ""}`;
    }
    case "reset":
      faults.reset();
      return "reset";
    default:
      throw new Error(
        `unknown fault action ${
          JSON.stringify(action)
        }: use dropStreams, stallStreams, delay, failNext, refuseSpdy, stopMidStream, restart, reset, loseNode, restoreNode, addNode, evictForPressure, preempt or oomKill`,
      );
  }
}
