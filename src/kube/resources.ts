/**
 * The kinds kodama reads and writes, where the API server serves each (its group, version and path), and
 * how errors name them (kubectl's words). Pure tables and paths: the client (./client.ts) makes the calls.
 */
import type { V1LabelSelector } from "@kubernetes/client-node";

export type WorkloadKind = "deployment" | "statefulset" | "daemonset" | "replicaset" | "job";

/** Where each workload kind is served. */
export const WORKLOAD_APIS: Record<WorkloadKind, { group: string; resource: Resource }> = {
  deployment: { group: "apps", resource: "deployments" },
  statefulset: { group: "apps", resource: "statefulsets" },
  daemonset: { group: "apps", resource: "daemonsets" },
  replicaset: { group: "apps", resource: "replicasets" },
  job: { group: "batch", resource: "jobs" },
};

/** The part of a workload object kodama reads: its pod selector and its conditions. */
export interface Workload {
  kind?: string;
  metadata?: { name?: string; namespace?: string; uid?: string; generation?: number };
  spec?: { selector?: V1LabelSelector; replicas?: number };
  status?: {
    observedGeneration?: number;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}

export interface PodQuery {
  labelSelector?: string;
  fieldSelector?: string;
}

/** The kinds kodama reads and writes, by their plural resource name. */
export type Resource =
  | "pods"
  | "services"
  | "deployments"
  | "statefulsets"
  | "daemonsets"
  | "replicasets"
  | "jobs"
  | "persistentvolumeclaims"
  | "secrets"
  | "configmaps"
  | "events"
  | "serviceaccounts"
  | "storageclasses"
  | "csidrivers"
  | "volumesnapshots"
  | "volumesnapshotclasses"
  | "roles"
  | "rolebindings"
  | "networkpolicies"
  | "poddisruptionbudgets"
  | "nodes";

/** API groups of the kinds outside core/v1 (cluster-scoped ones ignore the namespace). */
const GROUPED: Partial<Record<Resource, { prefix: string; clusterScoped?: boolean; name?: string }>> = {
  nodes: { prefix: "/api/v1", clusterScoped: true, name: "nodes" },
  storageclasses: { prefix: "/apis/storage.k8s.io/v1", clusterScoped: true },
  csidrivers: { prefix: "/apis/storage.k8s.io/v1", clusterScoped: true, name: "csidrivers.storage.k8s.io" },
  volumesnapshots: {
    prefix: "/apis/snapshot.storage.k8s.io/v1",
    name: "volumesnapshots.snapshot.storage.k8s.io",
  },
  volumesnapshotclasses: {
    prefix: "/apis/snapshot.storage.k8s.io/v1",
    clusterScoped: true,
    name: "volumesnapshotclasses.snapshot.storage.k8s.io",
  },
  roles: { prefix: "/apis/rbac.authorization.k8s.io/v1", name: "roles.rbac.authorization.k8s.io" },
  networkpolicies: {
    prefix: "/apis/networking.k8s.io/v1",
    name: "networkpolicies.networking.k8s.io",
  },
  rolebindings: {
    prefix: "/apis/rbac.authorization.k8s.io/v1",
    name: "rolebindings.rbac.authorization.k8s.io",
  },
  poddisruptionbudgets: { prefix: "/apis/policy/v1", name: "poddisruptionbudgets.policy" },
  ...Object.fromEntries(
    Object.values(WORKLOAD_APIS).map(({ group, resource }) => [
      resource,
      { prefix: `/apis/${group}/v1`, name: `${resource}.${group}` },
    ]),
  ),
};

/** The resource as errors name it: `pods`, `deployments.apps` (kubectl's words). */
export function resourceName(resource: Resource): string {
  return GROUPED[resource]?.name ?? resource;
}

/** `/api/v1/namespaces/NS/pods[/NAME]`, `/api/v1/pods` (all namespaces), `/apis/storage.k8s.io/v1/...`. */
export function resourcePath(resource: Resource, namespace?: string, name?: string): string {
  const g = GROUPED[resource];
  const base = g?.prefix ?? "/api/v1";
  const ns = namespace !== undefined && !g?.clusterScoped
    ? `/namespaces/${encodeURIComponent(namespace)}`
    : "";
  return `${base}${ns}/${resource}${name !== undefined ? `/${encodeURIComponent(name)}` : ""}`;
}
/** The kinds `listSummaries` reads: core/v1 ones by plural name, workloads by WORKLOAD_APIS' kind. */
export type ListKind = "namespaces" | "pods" | "services" | "persistentvolumeclaims" | WorkloadKind;

/** An object's name, namespace, labels and a short state (phase, or ready/desired for workloads). */
export interface ObjectSummary {
  name: string;
  namespace?: string;
  labels: Record<string, string>;
  phase?: string;
}

/** Where `listSummaries` reads a kind, and how its errors name it. */
export function summaryPath(
  kind: ListKind,
  namespace: string | undefined,
): { path: string; resource: string } {
  const ns = namespace !== undefined && kind !== "namespaces"
    ? `/namespaces/${encodeURIComponent(namespace)}`
    : "";
  if (kind in WORKLOAD_APIS) {
    const { group, resource } = WORKLOAD_APIS[kind as WorkloadKind];
    return { path: `/apis/${group}/v1${ns}/${resource}`, resource: `${resource}.${group}` };
  }
  return { path: `/api/v1${ns}/${kind}`, resource: kind };
}
