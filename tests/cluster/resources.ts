/** The resource types the test server serves, with what discovery reports about them. */

export interface ResourceDef {
  /** plural resource name, e.g. "pods" */
  name: string;
  singularName: string;
  kind: string;
  group: string;
  version: string;
  namespaced: boolean;
  shortNames?: string[];
  verbs: string[];
  categories?: string[];
  /** served but not stored: create-only review objects */
  virtual?: boolean;
  /**
   * served read-only (get/list/watch): the workload kinds, whose controllers the test server does not
   * run. Objects come from the seed (or `ClusterApi.create` in-process); writes over HTTP get a 405.
   */
  readOnly?: boolean;
  /**
   * served only when the server was started with this feature (`ServerOptions.snapshots`): otherwise it is
   * absent from discovery and its paths are 404, as on a cluster without the CRDs installed
   */
  feature?: "snapshots";
}

/** The snapshot CRDs (external-snapshotter's `snapshot.storage.k8s.io/v1`), as `kubectl get crd` would serve them. */
function snapshotKind(
  name: string,
  singularName: string,
  kind: string,
  namespaced: boolean,
  shortNames: string[],
): ResourceDef {
  return {
    name,
    singularName,
    kind,
    group: "snapshot.storage.k8s.io",
    version: "v1",
    namespaced,
    shortNames,
    verbs: ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"],
    feature: "snapshots",
  };
}

const ALL = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

function core(
  name: string,
  singularName: string,
  kind: string,
  namespaced: boolean,
  shortNames?: string[],
  verbs = ALL,
): ResourceDef {
  return {
    name,
    singularName,
    kind,
    group: "",
    version: "v1",
    namespaced,
    shortNames,
    verbs,
    categories: ["all"].filter(() => ["pods", "services"].includes(name)),
  };
}

/** A workload kind with a pod selector (apps/v1, batch/v1), served read-only. */
function workload(
  group: string,
  name: string,
  singularName: string,
  kind: string,
  shortNames?: string[],
): ResourceDef {
  return {
    name,
    singularName,
    kind,
    group,
    version: "v1",
    namespaced: true,
    shortNames,
    verbs: ["get", "list", "watch"],
    categories: ["all"],
    readOnly: true,
  };
}

/** A workload kind whose controller the test server runs (controllers/): every verb. */
function controlled(
  group: string,
  name: string,
  singularName: string,
  kind: string,
  shortNames?: string[],
): ResourceDef {
  return { ...workload(group, name, singularName, kind, shortNames), verbs: ALL, readOnly: false };
}

/** rbac.authorization.k8s.io/v1: stored, and enforced by the authorizer (`rbac.ts`). */
function rbac(name: string, singularName: string, kind: string, namespaced: boolean): ResourceDef {
  return {
    name,
    singularName,
    kind,
    group: "rbac.authorization.k8s.io",
    version: "v1",
    namespaced,
    verbs: ALL,
  };
}

export const RESOURCES: ResourceDef[] = [
  core("namespaces", "namespace", "Namespace", false, ["ns"], [
    "create",
    "delete",
    "get",
    "list",
    "patch",
    "update",
    "watch",
  ]),
  core("pods", "pod", "Pod", true, ["po"]),
  core("persistentvolumeclaims", "persistentvolumeclaim", "PersistentVolumeClaim", true, ["pvc"]),
  core("secrets", "secret", "Secret", true),
  core("resourcequotas", "resourcequota", "ResourceQuota", true, ["quota"]),
  core("configmaps", "configmap", "ConfigMap", true, ["cm"]),
  core("services", "service", "Service", true, ["svc"], [
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
  ]),
  core("endpoints", "endpoints", "Endpoints", true, ["ep"]),
  core("events", "event", "Event", true, ["ev"]),
  core("serviceaccounts", "serviceaccount", "ServiceAccount", true, ["sa"]),
  core("nodes", "node", "Node", false, ["no"], ["delete", "get", "list", "patch", "update", "watch"]),
  workload("apps", "deployments", "deployment", "Deployment", ["deploy"]),
  workload("apps", "replicasets", "replicaset", "ReplicaSet", ["rs"]),
  controlled("apps", "statefulsets", "statefulset", "StatefulSet", ["sts"]),
  workload("apps", "daemonsets", "daemonset", "DaemonSet", ["ds"]),
  controlled("batch", "jobs", "job", "Job"),
  {
    name: "poddisruptionbudgets",
    singularName: "poddisruptionbudget",
    kind: "PodDisruptionBudget",
    group: "policy",
    version: "v1",
    namespaced: true,
    shortNames: ["pdb"],
    verbs: ALL,
  },
  {
    name: "storageclasses",
    singularName: "storageclass",
    kind: "StorageClass",
    group: "storage.k8s.io",
    version: "v1",
    namespaced: false,
    shortNames: ["sc"],
    verbs: ALL,
  },
  {
    // served by every cluster; enforced only by a CNI that implements it (never by this server)
    name: "networkpolicies",
    singularName: "networkpolicy",
    kind: "NetworkPolicy",
    group: "networking.k8s.io",
    version: "v1",
    namespaced: true,
    shortNames: ["netpol"],
    verbs: ALL,
  },
  rbac("roles", "role", "Role", true),
  rbac("rolebindings", "rolebinding", "RoleBinding", true),
  rbac("clusterroles", "clusterrole", "ClusterRole", false),
  rbac("clusterrolebindings", "clusterrolebinding", "ClusterRoleBinding", false),
  {
    // every cluster since 1.18 serves CSIDriver: a CSI driver's registration (name = the provisioner)
    name: "csidrivers",
    singularName: "csidriver",
    kind: "CSIDriver",
    group: "storage.k8s.io",
    version: "v1",
    namespaced: false,
    verbs: ALL,
  },
  snapshotKind("volumesnapshots", "volumesnapshot", "VolumeSnapshot", true, ["vs"]),
  snapshotKind("volumesnapshotcontents", "volumesnapshotcontent", "VolumeSnapshotContent", false, [
    "vsc",
    "vscs",
  ]),
  snapshotKind("volumesnapshotclasses", "volumesnapshotclass", "VolumeSnapshotClass", false, [
    "vsclass",
    "vsclasses",
  ]),
  {
    name: "selfsubjectaccessreviews",
    singularName: "selfsubjectaccessreview",
    kind: "SelfSubjectAccessReview",
    group: "authorization.k8s.io",
    version: "v1",
    namespaced: false,
    verbs: ["create"],
    virtual: true,
  },
  {
    // GA since 1.28: who am I, as the API server authenticated me (`kubectl auth whoami`)
    name: "selfsubjectreviews",
    singularName: "selfsubjectreview",
    kind: "SelfSubjectReview",
    group: "authentication.k8s.io",
    version: "v1",
    namespaced: false,
    verbs: ["create"],
    virtual: true,
  },
  {
    name: "selfsubjectrulesreviews",
    singularName: "selfsubjectrulesreview",
    kind: "SelfSubjectRulesReview",
    group: "authorization.k8s.io",
    version: "v1",
    namespaced: false,
    verbs: ["create"],
    virtual: true,
  },
];

/** Subresources listed in discovery (name, kind, verbs). */
export const SUBRESOURCES: {
  name: string;
  kind: string;
  verbs: string[];
  group?: string;
  version?: string;
}[] = [
  { name: "namespaces/finalize", kind: "Namespace", verbs: ["update"] },
  { name: "namespaces/status", kind: "Namespace", verbs: ["get", "patch", "update"] },
  { name: "pods/attach", kind: "PodAttachOptions", verbs: ["create", "get"] },
  // the Eviction API: kubectl drain finds it here (group and version of the Eviction kind it posts)
  { name: "pods/eviction", kind: "Eviction", verbs: ["create"], group: "policy", version: "v1" },
  { name: "pods/exec", kind: "PodExecOptions", verbs: ["create", "get"] },
  { name: "pods/log", kind: "Pod", verbs: ["get"] },
  { name: "pods/portforward", kind: "PodPortForwardOptions", verbs: ["create", "get"] },
  { name: "pods/status", kind: "Pod", verbs: ["get", "patch", "update"] },
  { name: "persistentvolumeclaims/status", kind: "PersistentVolumeClaim", verbs: ["get", "patch", "update"] },
  { name: "services/status", kind: "Service", verbs: ["get", "patch", "update"] },
  { name: "volumesnapshots/status", kind: "VolumeSnapshot", verbs: ["get", "patch", "update"] },
  { name: "volumesnapshotcontents/status", kind: "VolumeSnapshotContent", verbs: ["get", "patch", "update"] },
  { name: "deployments/status", kind: "Deployment", verbs: ["get"] },
  { name: "replicasets/status", kind: "ReplicaSet", verbs: ["get"] },
  // `kubectl scale sts`: the autoscaling/v1 Scale of a StatefulSet
  {
    name: "statefulsets/scale",
    kind: "Scale",
    verbs: ["get", "patch", "update"],
    group: "autoscaling",
    version: "v1",
  },
  { name: "statefulsets/status", kind: "StatefulSet", verbs: ["get", "patch", "update"] },
  { name: "daemonsets/status", kind: "DaemonSet", verbs: ["get"] },
  { name: "jobs/status", kind: "Job", verbs: ["get", "patch", "update"] },
  { name: "poddisruptionbudgets/status", kind: "PodDisruptionBudget", verbs: ["get", "patch", "update"] },
];

export function findResource(group: string, version: string, name: string): ResourceDef | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.name === name);
}

/** The features a server was started with (e.g. "snapshots"): which optional kinds it serves. */
export type Features = ReadonlySet<string>;

/** Is this kind served by a server with these features? */
export function served(def: ResourceDef, features: Features): boolean {
  return !def.feature || features.has(def.feature);
}

export function resourceByKind(kind: string): ResourceDef | undefined {
  return RESOURCES.find((r) => r.kind === kind);
}

export function apiVersionOf(r: ResourceDef): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}
