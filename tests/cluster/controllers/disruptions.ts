/**
 * What takes pods away in a real cluster, played on ClusterApi (tests/cluster/faults.ts exposes it on the
 * HTTPS server and MemCluster), with v1.32's words:
 *
 * - **Node loss** (`loseNode`): the node's kubelet stops (its pods' processes are killed without SIGTERM, as
 *   on a dead machine, and nothing more is reported from it); the node lifecycle controller marks the node
 *   `Ready=Unknown` (`NodeStatusUnknown`, "Kubelet stopped posting node status."), taints it
 *   `node.kubernetes.io/unreachable` (NoSchedule, NoExecute) and marks its pods not Ready (event
 *   `NodeNotReady` "Node is not ready"); after the grace (the pods' `tolerationSeconds`, 300 s by default
 *   on a real cluster; `graceMs` here, default 1 s) the taint-eviction controller gives each pod
 *   `DisruptionTarget` (`DeletionByTaintManager`, "Taint manager: deleting due to NoExecute taint"), the
 *   event `TaintManagerEviction` "Marking for deletion Pod NS/NAME" and a graceful delete — which stays
 *   Terminating, since no kubelet confirms it, until the node comes back (`restoreNode`: the kubelet
 *   finishes the deletes, restarts what restarts and ends the rest Failed) or the Node is deleted (PodGC
 *   force-deletes its pods with `DisruptionTarget` `DeletionByPodGC`, "PodGC: node no longer exists").
 * - **Kubelet pressure eviction** (`evictForPressure`): event `Evicted`, SIGTERM (2 s then SIGKILL: a hard
 *   threshold's minimum grace), the pod left `Failed` with reason `Evicted` and the kubelet's message
 *   ("The node was low on resource: memory. Threshold quantity: ..."), `DisruptionTarget`
 *   `TerminationByKubelet`.
 * - **OOM kill** (`oomKill`): the container is SIGKILLed, terminated with reason `OOMKilled`, exit 137, then
 *   restarted or not as its restartPolicy says (no event: the kubelet records none for it).
 * - **Preemption** (`preempt`): `DisruptionTarget` `PreemptionByScheduler` ("default-scheduler: preempting
 *   to accommodate a higher priority pod"), event `Preempted` "Preempted by pod UID on node NODE", graceful
 *   delete.
 */
import type { Obj } from "../store.ts";
import { now } from "../defaults.ts";
import { recordEvent } from "../events.ts";
import { addPodCondition, disruptionTarget } from "./eviction.ts";

/** What these faults use of ClusterApi. */
export interface DisruptionHost {
  readonly store: import("../store.ts").Store;
  readonly lostNodes: Set<string>;
  /** kill a pod's processes at once (a dead machine: no SIGTERM, nothing reported) */
  killProcesses(ns: string, name: string, graceSeconds: number, o?: { keep?: boolean }): Promise<void>;
  /** the kubelet back: stop and remove a pod being deleted */
  finishDelete(ns: string, name: string): Promise<void>;
  /** the kubelet starts the pod's containers again */
  restart(pod: Obj): void;
  deletePod(ns: string, name: string, graceSeconds?: number): Promise<unknown>;
  /** the kubelet's status report (ignored for a lost node's pods) */
  kubeletStatus(ns: string, name: string, status: Obj): void;
  later(ms: number, fn: () => void): void;
  /** the runtime's OOM kill of a running container (false: none runs, e.g. in MemCluster) */
  oomKill(ns: string, name: string, container?: string): Promise<boolean>;
}

const UNREACHABLE = "node.kubernetes.io/unreachable";

function podEvent(
  store: import("../store.ts").Store,
  pod: Obj,
  type: string,
  reason: string,
  msg: string,
  from: string,
) {
  recordEvent(
    store,
    pod.metadata.namespace,
    {
      kind: "Pod",
      namespace: pod.metadata.namespace,
      name: pod.metadata.name,
      uid: pod.metadata.uid,
      apiVersion: "v1",
      resourceVersion: pod.metadata.resourceVersion,
    },
    type,
    reason,
    msg,
    from,
  );
}

function nodeEvent(store: import("../store.ts").Store, node: Obj, reason: string, msg: string) {
  recordEvent(
    store,
    "default",
    {
      kind: "Node",
      name: node.metadata.name,
      uid: node.metadata.name,
      apiVersion: "v1",
    },
    "Normal",
    reason,
    msg,
    "node-controller",
  );
}

const podsOn = (store: import("../store.ts").Store, node: string) =>
  store.list("pods").filter((p) => p.spec?.nodeName === node);

export function setNodeReady(store: import("../store.ts").Store, name: string, ready: boolean): void {
  const node = store.get("nodes", "", name);
  if (!node) throw new Error(`no node ${name}`);
  const ts = now();
  node.status.conditions = (node.status.conditions ?? []).map((c: Obj) =>
    c.type !== "Ready" ? c : ready
      ? {
        ...c,
        status: "True",
        reason: "KubeletReady",
        message: "kubelet is posting ready status",
        lastHeartbeatTime: ts,
        lastTransitionTime: ts,
      }
      : {
        ...c,
        status: "Unknown",
        reason: "NodeStatusUnknown",
        message: "Kubelet stopped posting node status.",
        lastTransitionTime: ts,
      }
  );
  const others = (node.spec?.taints ?? []).filter((t: Obj) => t.key !== UNREACHABLE);
  node.spec = {
    ...(node.spec ?? {}),
    taints: ready ? others : [
      ...others,
      { key: UNREACHABLE, effect: "NoSchedule", timeAdded: ts },
      { key: UNREACHABLE, effect: "NoExecute", timeAdded: ts },
    ],
  };
  if (!node.spec.taints.length) delete node.spec.taints;
  store.replace("nodes", node);
  nodeEvent(
    store,
    node,
    ready ? "NodeReady" : "NodeNotReady",
    `Node ${name} status is now: ${ready ? "NodeReady" : "NodeNotReady"}`,
  );
}

/** The time a pod tolerates the unreachable NoExecute taint (ms; Infinity: forever). */
function toleratedMs(pod: Obj): number {
  let best = 0;
  for (const t of pod.spec?.tolerations ?? []) {
    const matches = (t.operator === "Exists" && (!t.key || t.key === UNREACHABLE)) || t.key === UNREACHABLE;
    if (!matches || (t.effect && t.effect !== "NoExecute")) continue;
    if (t.tolerationSeconds === undefined || t.tolerationSeconds === null) return Infinity;
    best = Math.max(best, t.tolerationSeconds * 1000);
  }
  return best;
}

export async function loseNode(
  host: DisruptionHost,
  name: string,
  o: { graceMs?: number } = {},
): Promise<void> {
  if (host.lostNodes.has(name)) return;
  if (!host.store.get("nodes", "", name)) throw new Error(`no node ${name}`);
  host.lostNodes.add(name);
  const pods = podsOn(host.store, name);
  await Promise.all(pods.map((p) => host.killProcesses(p.metadata.namespace, p.metadata.name, 0)));
  setNodeReady(host.store, name, false);
  for (const p of pods) {
    const cur = host.store.get("pods", p.metadata.namespace, p.metadata.name);
    if (!cur) continue;
    const ts = now();
    cur.status = {
      ...(cur.status ?? {}),
      conditions: (cur.status?.conditions ?? []).map((c: Obj) =>
        c.type === "Ready" || c.type === "ContainersReady"
          ? { ...c, status: "False", lastTransitionTime: ts }
          : c
      ),
    };
    const stored = host.store.replace("pods", cur);
    podEvent(host.store, stored, "Warning", "NodeNotReady", "Node is not ready", "node-controller");
  }
  // the taint-eviction controller: each pod after what it tolerates (graceMs stands for tolerationSeconds)
  for (const p of pods) {
    const wait = o.graceMs ?? Math.min(toleratedMs(p), 1000);
    if (toleratedMs(p) === Infinity) continue;
    host.later(wait, () => {
      const cur = host.store.get("pods", p.metadata.namespace, p.metadata.name);
      if (!cur || cur.metadata.uid !== p.metadata.uid || !host.lostNodes.has(name)) return;
      if (cur.metadata.deletionTimestamp) return;
      const marked = addPodCondition(
        host.store,
        cur,
        disruptionTarget("DeletionByTaintManager", "Taint manager: deleting due to NoExecute taint"),
      );
      podEvent(
        host.store,
        marked,
        "Normal",
        "TaintManagerEviction",
        `Marking for deletion Pod ${cur.metadata.namespace}/${cur.metadata.name}`,
        "taint-eviction-controller",
      );
      host.deletePod(cur.metadata.namespace, cur.metadata.name).catch(() => {});
    });
  }
}

export async function restoreNode(host: DisruptionHost, name: string): Promise<void> {
  if (!host.lostNodes.delete(name)) return;
  setNodeReady(host.store, name, true);
  for (const p of podsOn(host.store, name)) {
    if (p.metadata.deletionTimestamp) {
      await host.finishDelete(p.metadata.namespace, p.metadata.name);
    } else if (p.spec?.restartPolicy === "Never" && !["Succeeded", "Failed"].includes(p.status?.phase)) {
      // the kubelet finds its containers gone: a pod that does not restart ends Failed
      host.kubeletStatus(p.metadata.namespace, p.metadata.name, {
        ...(p.status ?? {}),
        phase: "Failed",
        conditions: (p.status?.conditions ?? []).map((c: Obj) =>
          c.type === "Ready" || c.type === "ContainersReady" ? { ...c, status: "False" } : c
        ),
        containerStatuses: (p.spec?.containers ?? []).map((c: Obj) => ({
          name: c.name,
          image: c.image,
          imageID: "",
          ready: false,
          restartCount: 0,
          started: false,
          state: {
            terminated: {
              exitCode: 137,
              reason: "ContainerStatusUnknown",
              message: "The container could not be located when the pod was terminated",
            },
          },
        })),
      });
    } else if (!["Succeeded", "Failed"].includes(p.status?.phase)) host.restart(p);
  }
}

/**
 * PodGC: the pods of a node that no longer exists are marked Failed with DisruptionTarget
 * `DeletionByPodGC` and force-deleted (markFailedAndDeletePodWithCondition; a real cluster first waits
 * its 40 s quarantine).
 */
export function collectPodsOfDeletedNode(host: DisruptionHost, name: string): void {
  for (const p of podsOn(host.store, name)) {
    const marked = addPodCondition(
      host.store,
      p,
      disruptionTarget("DeletionByPodGC", "PodGC: node no longer exists"),
    );
    if (!["Succeeded", "Failed"].includes(marked.status?.phase)) {
      marked.status = { ...marked.status, phase: "Failed" };
      host.store.replace("pods", marked);
    }
    host.deletePod(p.metadata.namespace, p.metadata.name, 0).catch(() => {});
  }
  host.lostNodes.delete(name);
}

/** The kubelet's eviction message (pkg/kubelet/eviction/helpers.go evictionMessage). */
export function evictionMessage(pod: Obj, resource: string): string {
  const threshold = resource === "memory"
    ? "Threshold quantity: 100Mi, available: 61184Ki. "
    : "Threshold quantity: 50Gi, available: 41943040Ki. ";
  const usage = resource === "memory" ? "1228800Ki" : "10Gi";
  return `The node was low on resource: ${resource}. ${threshold}` +
    (pod.spec?.containers ?? []).map((c: Obj) =>
      `Container ${c.name} was using ${usage}, request is ${
        c.resources?.requests?.[resource] ?? "0"
      }, has larger consumption of ${resource}. `
    ).join("");
}

export async function evictForPressure(
  host: DisruptionHost,
  ns: string,
  name: string,
  resource = "memory",
  o: { graceSeconds?: number } = {},
): Promise<void> {
  const pod = host.store.get("pods", ns, name);
  if (!pod) throw new Error(`no pod ${ns}/${name}`);
  const message = evictionMessage(pod, resource);
  podEvent(host.store, pod, "Warning", "Evicted", message, "kubelet");
  await host.killProcesses(ns, name, o.graceSeconds ?? 2, { keep: true });
  const cur = host.store.get("pods", ns, name);
  if (!cur) return;
  const ts = now();
  const conds = (cur.status?.conditions ?? []).filter((c: Obj) => c.type !== "DisruptionTarget").map((
    c: Obj,
  ) =>
    c.type === "Ready" || c.type === "ContainersReady" ? { ...c, status: "False", lastTransitionTime: ts } : c
  );
  host.kubeletStatus(ns, name, {
    ...(cur.status ?? {}),
    phase: "Failed",
    reason: "Evicted",
    message,
    conditions: [...conds, disruptionTarget("TerminationByKubelet", message)],
    containerStatuses: (cur.spec?.containers ?? []).map((c: Obj) => {
      const was = (cur.status?.containerStatuses ?? []).find((s: Obj) => s.name === c.name) ?? {};
      return {
        ...was,
        name: c.name,
        image: was.image ?? c.image,
        imageID: was.imageID ?? "",
        ready: false,
        started: false,
        state: was.state?.terminated ? was.state : {
          terminated: {
            exitCode: 137,
            reason: "Error",
            startedAt: was.state?.running?.startedAt,
            finishedAt: ts,
          },
        },
      };
    }),
  });
}

export async function preempt(
  host: DisruptionHost,
  ns: string,
  name: string,
  o: { byUid?: string } = {},
): Promise<void> {
  const pod = host.store.get("pods", ns, name);
  if (!pod) throw new Error(`no pod ${ns}/${name}`);
  const marked = addPodCondition(
    host.store,
    pod,
    disruptionTarget(
      "PreemptionByScheduler",
      "default-scheduler: preempting to accommodate a higher priority pod",
    ),
  );
  podEvent(
    host.store,
    marked,
    "Normal",
    "Preempted",
    `Preempted by pod ${o.byUid ?? crypto.randomUUID()} on node ${pod.spec?.nodeName}`,
    "default-scheduler",
  );
  await host.deletePod(ns, name);
}

export async function oomKill(
  host: DisruptionHost,
  ns: string,
  name: string,
  container?: string,
): Promise<void> {
  const pod = host.store.get("pods", ns, name);
  if (!pod) throw new Error(`no pod ${ns}/${name}`);
  if (await host.oomKill(ns, name, container)) return;
  // no process runs (MemCluster): what the kubelet would report
  const target = container ?? pod.spec?.containers?.[0]?.name;
  const ts = now();
  const restarts = pod.spec?.restartPolicy !== "Never";
  const terminated = { exitCode: 137, reason: "OOMKilled", startedAt: ts, finishedAt: ts };
  host.kubeletStatus(ns, name, {
    ...(pod.status ?? {}),
    ...(restarts ? {} : { phase: "Failed" }),
    containerStatuses: (pod.spec?.containers ?? []).map((c: Obj) => {
      const was = (pod.status?.containerStatuses ?? []).find((s: Obj) => s.name === c.name) ??
        { name: c.name, image: c.image, imageID: "", restartCount: 0 };
      if (c.name !== target) return was;
      return restarts
        ? { ...was, lastState: { terminated }, restartCount: (was.restartCount ?? 0) + 1, ready: false }
        : { ...was, state: { terminated }, ready: false, started: false };
    }),
  });
}
