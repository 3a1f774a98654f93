/**
 * What a repository may choose of where a session pod runs (issue 79 defect 5): one allow-list, held to a
 * repository's `.kodama.yaml` (load.ts `repoProblem`, rule `placement`) and its templates
 * (session/spec/placement.ts, exit 4). Pure.
 *
 * - a toleration only of a taint with a key of its own: not one in Kubernetes' reserved domains
 *   (`node-role.kubernetes.io/control-plane`, `…/master`, `node.kubernetes.io/unschedulable`, any
 *   `*.kubernetes.io/` or `*.k8s.io/` key), and never one without a key (`operator: Exists` with no key
 *   tolerates every taint);
 * - a node selector only on labels of its own, or the few Kubernetes labels that describe a node's kind
 *   (`kubernetes.io/arch`, `kubernetes.io/os`, zone, region, instance type): never a node's role or name;
 * - no priority class (a `system-node-critical` pod evicts others and is never preempted).
 *
 * What the user's own config or flags already chose a repository may repeat.
 */

/** A key in a domain Kubernetes reserves for itself (its taints and node labels). */
const RESERVED = /^([a-z0-9.-]+\.)?(kubernetes\.io|k8s\.io)\//;

/** The reserved node labels a repository may select on: what kind of node, never which node or role. */
const KIND_LABELS = new Set([
  "kubernetes.io/arch",
  "kubernetes.io/os",
  "topology.kubernetes.io/zone",
  "topology.kubernetes.io/region",
  "node.kubernetes.io/instance-type",
]);

export interface PlacementInput {
  tolerations?: string[];
  nodeSelector?: string[] | Record<string, string | number>;
  priorityClass?: string;
}

export interface PlacementProblem {
  /** the key set: tolerations, nodeSelector, priorityClass */
  key: "tolerations" | "nodeSelector" | "priorityClass";
  /** the value refused, as written */
  value: string;
  why: string;
}

/** The key of a `KEY[=VALUE]:EFFECT` toleration ("" when it has none). */
export function tolerationKey(text: string): string {
  return text.split(/[=:]/, 1)[0].trim();
}

function selectorEntries(s: PlacementInput["nodeSelector"]): [string, string][] {
  if (Array.isArray(s)) return s.map((t) => [t.split("=", 1)[0], t]);
  return Object.entries(s ?? {}).map(([k, v]) => [k, `${k}=${v}`]);
}

/**
 * The first placement a repository may not choose in `input`, or undefined; `user` is what the user's
 * own config and flags chose (a repository may repeat it).
 */
export function repoPlacementProblem(
  input: PlacementInput,
  user: PlacementInput = {},
): PlacementProblem | undefined {
  const userTolerations = new Set(user.tolerations ?? []);
  for (const t of input.tolerations ?? []) {
    if (userTolerations.has(t)) continue;
    const key = tolerationKey(t);
    if (!key) {
      return { key: "tolerations", value: t, why: "a toleration without a key tolerates every taint" };
    }
    if (RESERVED.test(key.toLowerCase())) {
      return {
        key: "tolerations",
        value: t,
        why: "a taint of Kubernetes' own (a control-plane node, a node not ready or cordoned) keeps pods off",
      };
    }
  }
  const userSelector = new Set(selectorEntries(user.nodeSelector).map(([, t]) => t));
  for (const [k, t] of selectorEntries(input.nodeSelector)) {
    if (userSelector.has(t) || KIND_LABELS.has(k) || !RESERVED.test(k.toLowerCase())) continue;
    return {
      key: "nodeSelector",
      value: t,
      why: "a node label of Kubernetes' own names a node's role or the node itself (a control-plane node)",
    };
  }
  if (input.priorityClass !== undefined && input.priorityClass !== user.priorityClass) {
    return {
      key: "priorityClass",
      value: input.priorityClass,
      why: "a priority class decides which pods are evicted for this one (system-node-critical)",
    };
  }
  return undefined;
}
