/**
 * The test server's one node and kube-scheduler's filters that kodama's placement settings meet, with the
 * scheduler's own words (pkg/scheduler/framework/plugins: tainttoleration, nodeaffinity, noderesources;
 * the FitError text of pkg/scheduler/schedule_one.go):
 *
 *   0/1 nodes are available: 1 node(s) had untolerated taint {gpu: true}. preemption: 0/1 nodes are
 *   available: 1 Preemption is not helpful for scheduling.
 *   0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. preemption: …
 *   0/1 nodes are available: 1 Insufficient nvidia.com/gpu. preemption: 0/1 nodes are available: 1 No
 *   preemption victims found for incoming pod.
 *
 * The filters run in the default profile's order (TaintToleration, NodeAffinity, NodeResourcesFit) and the
 * first that fails is the node's reason. Extended resources (any name outside cpu, memory,
 * ephemeral-storage, pods, hugepages-*) are counted against the node's allocatable minus what its other
 * live pods request; the node has none by default. cpu and memory are not counted (the node is big).
 * Tests set the node's labels, taints and allocatable with `ServerOptions.node`, or patch the Node.
 */
import { NODE_NAME, now } from "./defaults.ts";
import type { Store } from "./store.ts";
import { checkQualifiedName, type Errors, MSG, quantityValue } from "./validation.ts";

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

export interface NodeOptions {
  labels?: Record<string, string>;
  taints?: { key: string; value?: string; effect: string }[];
  /** added to the node's allocatable (and capacity), e.g. { "nvidia.com/gpu": "1" } */
  allocatable?: Record<string, string>;
}

/** The Node object the server starts with (or another one, `name`, a test adds). */
export function nodeObject(o: NodeOptions = {}, name = NODE_NAME): Obj {
  const room = { cpu: "64", memory: "256Gi", pods: "110", "ephemeral-storage": "500Gi", ...o.allocatable };
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      uid: crypto.randomUUID(),
      creationTimestamp: now(),
      labels: {
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        ...o.labels,
      },
    },
    spec: o.taints?.length ? { taints: o.taints.map((t) => ({ ...t, value: t.value ?? "" })) } : {},
    status: {
      capacity: room,
      allocatable: room,
      conditions: [{
        type: "Ready",
        status: "True",
        reason: "KubeletReady",
        message: "kubelet is posting ready status",
        lastHeartbeatTime: now(),
        lastTransitionTime: now(),
      }],
      nodeInfo: { kubeletVersion: "v1.32.0", operatingSystem: "linux", architecture: "amd64" },
      addresses: [{ type: "InternalIP", address: "127.0.0.1" }, { type: "Hostname", address: name }],
    },
  };
}

const STANDARD = new Set(["cpu", "memory", "ephemeral-storage", "pods"]);
const isExtended = (name: string) => !STANDARD.has(name) && !name.startsWith("hugepages-");

/** A toleration tolerates a taint (v1 helper ToleratesTaint). */
function tolerates(t: Obj, taint: Obj): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  if (!t.key && t.operator !== "Exists") return false;
  return t.operator === "Exists" || (t.value ?? "") === (taint.value ?? "");
}

/** What a pod requests of each extended resource: its containers' sum, or an init container's if larger. */
function extendedRequests(pod: Obj): Map<string, number> {
  const sum = new Map<string, number>();
  const add = (m: Map<string, number>, c: Obj) => {
    const r = { ...(c.resources?.limits ?? {}), ...(c.resources?.requests ?? {}) } as Record<string, unknown>;
    for (const [k, v] of Object.entries(r)) if (isExtended(k)) m.set(k, (m.get(k) ?? 0) + quantityValue(v));
  };
  for (const c of pod.spec?.containers ?? []) add(sum, c);
  for (const c of pod.spec?.initContainers ?? []) {
    const one = new Map<string, number>();
    add(one, c);
    for (const [k, v] of one) if (v > (sum.get(k) ?? 0)) sum.set(k, v);
  }
  return sum;
}

const NOT_HELPFUL = "Preemption is not helpful for scheduling";
const NO_VICTIMS = "No preemption victims found for incoming pod";

/** Why one node does not fit the pod (the first failing filter's reasons), or undefined when it fits. */
function misfitOn(store: Store, pod: Obj, node: Obj): { reasons: string[]; preemption: string } | undefined {
  const tolerations = (pod.spec?.tolerations ?? []) as Obj[];
  // NodeUnschedulable, the first filter: a cordoned node takes only pods tolerating its taint
  const cordon = { key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" };
  if (node.spec?.unschedulable && !tolerations.some((t) => tolerates(t, cordon))) {
    return { reasons: ["node(s) were unschedulable"], preemption: NOT_HELPFUL };
  }
  const untolerated = ((node.spec?.taints ?? []) as Obj[]).find((taint) =>
    taint.effect !== "PreferNoSchedule" && !tolerations.some((t) => tolerates(t, taint))
  );
  if (untolerated) {
    return {
      reasons: [`node(s) had untolerated taint {${untolerated.key}: ${untolerated.value ?? ""}}`],
      preemption: NOT_HELPFUL,
    };
  }
  const labels = (node.metadata?.labels ?? {}) as Record<string, string>;
  const selector = (pod.spec?.nodeSelector ?? {}) as Record<string, string>;
  if (Object.entries(selector).some(([k, v]) => labels[k] !== v)) {
    return { reasons: ["node(s) didn't match Pod's node affinity/selector"], preemption: NOT_HELPFUL };
  }
  const want = extendedRequests(pod);
  if (!want.size) return undefined;
  const used = new Map<string, number>();
  for (const p of store.peek("pods")) {
    if (p.spec?.nodeName !== node.metadata.name || p.metadata.uid === pod.metadata?.uid) continue;
    if (p.status?.phase === "Succeeded" || p.status?.phase === "Failed") continue;
    for (const [k, v] of extendedRequests(p)) used.set(k, (used.get(k) ?? 0) + v);
  }
  const short = [...want].filter(([k, v]) =>
    v > 0 && v > quantityValue(node.status?.allocatable?.[k] ?? "0") - (used.get(k) ?? 0)
  ).map(([k]) => k).sort();
  if (!short.length) return undefined;
  return { reasons: short.map((k) => `Insufficient ${k}`), preemption: NO_VICTIMS };
}

/** The nodes in the scheduler's order here: the first node, then the others by name. */
function nodesInOrder(store: Store): Obj[] {
  return [...store.peek("nodes")].sort((a, b) =>
    a.metadata.name === NODE_NAME
      ? -1
      : b.metadata.name === NODE_NAME
      ? 1
      : a.metadata.name < b.metadata.name
      ? -1
      : 1
  );
}

/** The node the scheduler places the pod on (the first that fits), or undefined when none does. */
export function pickNode(store: Store, pod: Obj): string | undefined {
  const nodes = nodesInOrder(store);
  if (!nodes.length) return NODE_NAME; // a server started without its node places every pod (as before)
  return nodes.find((n) => !misfitOn(store, pod, n))?.metadata.name;
}

/** "2 a, 1 b": counts per reason, sorted as kube-scheduler sorts its FitError's strings */
function tally(items: string[]): string {
  const m = new Map<string, number>();
  for (const r of items) m.set(r, (m.get(r) ?? 0) + 1);
  return [...m].map(([r, n]) => `${n} ${r}`).sort().join(", ");
}

/** The scheduler's FailedScheduling message when no node fits the pod, else undefined. */
export function nodeMisfit(store: Store, pod: Obj): string | undefined {
  const nodes = nodesInOrder(store);
  if (!nodes.length) return undefined;
  const misfits = nodes.map((n) => misfitOn(store, pod, n));
  if (misfits.some((m) => !m)) return undefined;
  const n = nodes.length;
  return `0/${n} nodes are available: ${
    tally(misfits.flatMap((m) => m!.reasons))
  }. preemption: 0/${n} nodes are available: ${tally(misfits.map((m) => m!.preemption))}.`;
}

const TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"];

/** A pod's imagePullSecrets, tolerations and nodeSelector, as ValidatePodSpec checks them. */
export function validatePlacement(e: Errors, spec: Obj): void {
  ((spec.imagePullSecrets ?? []) as Obj[]).forEach((s, i) => {
    if (!s?.name) e.required(`spec.imagePullSecrets[${i}].name`);
  });
  for (const [k, v] of Object.entries((spec.nodeSelector ?? {}) as Record<string, unknown>)) {
    checkQualifiedName(e, "spec.nodeSelector", k);
    const s = String(v ?? "");
    if (s.length > 63 || !/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(s)) {
      e.invalid("spec.nodeSelector", s, MSG.labelValue);
    }
  }
  ((spec.tolerations ?? []) as Obj[]).forEach((t, i) => {
    const f = `spec.tolerations[${i}]`;
    if (t.key) checkQualifiedName(e, `${f}.key`, t.key);
    if (!t.key && t.operator !== "Exists") {
      e.invalid(
        `${f}.operator`,
        t.operator ?? "",
        'operator must be Exists when `key` is empty, which means "match all values and all keys"',
      );
    }
    if (t.tolerationSeconds !== undefined && t.effect !== "NoExecute") {
      e.invalid(`${f}.effect`, t.effect ?? "", "effect must be 'NoExecute' when `tolerationSeconds` is set");
    }
    if (t.operator === "Exists") {
      if (t.value) e.invalid(`${f}.operator`, t.value, "value must be empty when `operator` is 'Exists'");
    } else if (t.operator === undefined || t.operator === "" || t.operator === "Equal") {
      const v = String(t.value ?? "");
      if (v.length > 63 || !/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(v)) {
        e.invalid(`${f}.value`, v, MSG.labelValue);
      }
    } else e.notSupported(`${f}.operator`, t.operator, ["Equal", "Exists"]);
    if (t.effect !== undefined && t.effect !== "" && !TAINT_EFFECTS.includes(t.effect)) {
      e.notSupported(`${f}.effect`, t.effect, TAINT_EFFECTS);
    }
  });
}

/**
 * Extended resources as the API server checks them: whole numbers, with a limit equal to the request
 * (they cannot be overcommitted).
 */
export function validateExtended(e: Errors, base: string, r: Obj | undefined): void {
  const limits = (r?.limits ?? {}) as Obj;
  const requests = (r?.requests ?? {}) as Obj;
  for (const [k, v] of Object.entries(requests)) {
    if (!isExtended(k) || !k.includes("/")) continue;
    if (!Number.isInteger(quantityValue(v))) {
      e.invalid(`${base}.requests[${k}]`, String(v), "must be an integer");
    }
    if (!(k in limits)) {
      e.required(`${base}.limits`, "Limit must be set for non overcommitable resources");
    } else if (quantityValue(v) !== quantityValue(limits[k])) {
      e.invalid(`${base}.requests`, String(v), `must be equal to ${k} limit of ${limits[k]}`);
    }
  }
}
