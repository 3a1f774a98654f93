/**
 * The workload kinds (apps/v1 Deployment, ReplicaSet, StatefulSet, DaemonSet; batch/v1 Job), served
 * defaults and validation, their pod selectors, and the server-side Table columns of kube-apiserver's
 * printers. Jobs and StatefulSets are served read-write with their controllers (controllers/: pods made
 * from the template, replaced, deleted; the status). Deployments, ReplicaSets and DaemonSets stay
 * read-only: no controller makes their pods (the seed puts them next to them, with their labels), and a
 * status "controller" here counts the pods each selector matches (so `kubectl get deploy` shows 2/2).
 */
import { now } from "./defaults.ts";
import type { Errors } from "./validation.ts";
import type { Obj, Store } from "./store.ts";

export const WORKLOAD_RESOURCES = ["deployments", "replicasets", "statefulsets", "daemonsets", "jobs"];

export function isWorkload(resource: string): boolean {
  return WORKLOAD_RESOURCES.includes(resource);
}

/** Does a metav1.LabelSelector (matchLabels + matchExpressions) select these labels? An empty selector selects nothing here (as controllers treat it). */
export function labelSelectorMatches(
  sel: Obj | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  if (!sel) return false;
  const ml: Record<string, string> = sel.matchLabels ?? {};
  const exprs: Obj[] = sel.matchExpressions ?? [];
  if (Object.keys(ml).length === 0 && exprs.length === 0) return false;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(ml)) if (l[k] !== v) return false;
  for (const e of exprs) {
    const has = Object.hasOwn(l, e.key);
    const values: string[] = e.values ?? [];
    switch (e.operator) {
      case "In":
        if (!has || !values.includes(l[e.key])) return false;
        break;
      case "NotIn":
        if (has && values.includes(l[e.key])) return false;
        break;
      case "Exists":
        if (!has) return false;
        break;
      case "DoesNotExist":
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** metav1.FormatLabelSelector: `app=api,tier in (a,b)`, `<none>` when empty. */
export function formatLabelSelector(sel: Obj | undefined): string {
  if (!sel) return "<none>";
  const parts: string[] = Object.entries(sel.matchLabels ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`);
  for (const e of sel.matchExpressions ?? []) {
    const vs = [...(e.values ?? [])].sort().join(",");
    if (e.operator === "In") parts.push(`${e.key} in (${vs})`);
    else if (e.operator === "NotIn") parts.push(`${e.key} notin (${vs})`);
    else if (e.operator === "Exists") parts.push(e.key);
    else if (e.operator === "DoesNotExist") parts.push(`!${e.key}`);
  }
  return parts.length ? parts.join(",") : "<none>";
}

/** Defaults kube-apiserver fills in for the workload kinds (the ones kubectl shows). */
export function workloadDefaults(resource: string, o: Obj): void {
  const s = o.spec ??= {};
  o.metadata.generation ??= 1;
  const tpl = s.template ??= {};
  tpl.metadata ??= {};
  const ps = tpl.spec ??= {};
  // as for any pod template: Always (a Job must say Never or OnFailure; validateWorkload refuses it)
  ps.restartPolicy ??= "Always";
  ps.terminationGracePeriodSeconds ??= 30;
  ps.dnsPolicy ??= "ClusterFirst";
  ps.schedulerName ??= "default-scheduler";
  ps.securityContext ??= {};
  for (const c of ps.containers ?? []) {
    c.terminationMessagePath ??= "/dev/termination-log";
    c.terminationMessagePolicy ??= "File";
    c.imagePullPolicy ??= /:latest$|^[^:]*$/.test(c.image ?? "") ? "Always" : "IfNotPresent";
    c.resources ??= {};
  }
  switch (resource) {
    case "deployments":
      s.replicas ??= 1;
      s.revisionHistoryLimit ??= 10;
      s.progressDeadlineSeconds ??= 600;
      s.strategy ??= { type: "RollingUpdate", rollingUpdate: { maxUnavailable: "25%", maxSurge: "25%" } };
      break;
    case "replicasets":
      s.replicas ??= 1;
      break;
    case "statefulsets":
      s.replicas ??= 1;
      s.podManagementPolicy ??= "OrderedReady";
      s.revisionHistoryLimit ??= 10;
      s.updateStrategy ??= { type: "RollingUpdate", rollingUpdate: { partition: 0 } };
      s.persistentVolumeClaimRetentionPolicy ??= { whenDeleted: "Retain", whenScaled: "Retain" };
      break;
    case "daemonsets":
      s.revisionHistoryLimit ??= 10;
      s.updateStrategy ??= { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } };
      break;
    case "jobs": {
      s.parallelism ??= 1;
      s.completions ??= 1;
      s.backoffLimit ??= 6;
      s.completionMode ??= "NonIndexed";
      s.suspend ??= false;
      // 1.32: Failed when a podFailurePolicy is set (the only value allowed with it)
      s.podReplacementPolicy ??= s.podFailurePolicy ? "Failed" : "TerminatingOrFailed";
      s.manualSelector ??= undefined;
      if (s.manualSelector === undefined) delete s.manualSelector;
      // the API server generates the selector from the Job's uid (unless manualSelector is set)
      if (!s.manualSelector && o.metadata.uid) {
        const uid = o.metadata.uid;
        s.selector = { matchLabels: { "batch.kubernetes.io/controller-uid": uid } };
        tpl.metadata.labels = {
          ...(tpl.metadata.labels ?? {}),
          "batch.kubernetes.io/controller-uid": uid,
          "batch.kubernetes.io/job-name": o.metadata.name,
          "controller-uid": uid,
          "job-name": o.metadata.name,
        };
      }
      break;
    }
  }
}

/** The validation kube-apiserver applies to a workload's selector and template (messages as it words them). */
export function validateWorkload(e: Errors, resource: string, o: Obj, old?: Obj): void {
  const s = o.spec ?? {};
  if (!(s.template?.spec?.containers ?? []).length) {
    e.required("spec.template.spec.containers", "");
  }
  if (resource === "jobs") validateJob(e, o, old);
  if (resource === "statefulsets") validateStatefulSet(e, o, old);
  if (resource === "jobs" && !s.manualSelector) return; // generated
  const sel = s.selector;
  if (!sel || (!Object.keys(sel.matchLabels ?? {}).length && !(sel.matchExpressions ?? []).length)) {
    e.required("spec.selector", "");
    return;
  }
  const labels = s.template?.metadata?.labels ?? {};
  if (!labelSelectorMatches(sel, labels)) {
    e.invalid(
      "spec.template.metadata.labels",
      labels,
      "`selector` does not match template `labels`",
    );
  }
}

/** pkg/apis/batch/validation, for the fields kodama sends. */
function validateJob(e: Errors, o: Obj, old?: Obj) {
  const s = o.spec ?? {};
  // validated before workloadDefaults runs: unset is the pod template's default, Always (as the real
  // validation says, it checks "" and Always alike)
  const rp = s.template?.spec?.restartPolicy ?? "";
  if (rp === "Always" || rp === "") {
    e.required("spec.template.spec.restartPolicy", `valid values: "OnFailure", "Never"`);
  } else if (rp !== "OnFailure" && rp !== "Never") {
    e.notSupported("spec.template.spec.restartPolicy", rp, ["OnFailure", "Never"]);
  } else if (s.podFailurePolicy && rp !== "Never") {
    e.invalid(
      "spec.template.spec.restartPolicy",
      rp,
      `only "Never" is supported when podFailurePolicy is specified`,
    );
  }
  (s.podFailurePolicy?.rules ?? []).forEach((r: Obj, i: number) => {
    const at = `spec.podFailurePolicy.rules[${i}]`;
    if (!r.action) e.required(`${at}.action`, `valid values: ["Count" "FailIndex" "FailJob" "Ignore"]`);
    else if (!["FailJob", "FailIndex", "Ignore", "Count"].includes(r.action)) {
      e.notSupported(`${at}.action`, r.action, ["Count", "FailIndex", "FailJob", "Ignore"]);
    }
    const onPod = (r.onPodConditions ?? []).length > 0;
    // field.OmitValueType: the message names no value
    const omit = (detail: string) =>
      e.causes.push({ reason: "FieldValueInvalid", message: `Invalid value: ${detail}`, field: at });
    if (r.onExitCodes && onPod) omit("specifying both OnExitCodes and OnPodConditions is not supported");
    if (!r.onExitCodes && !onPod) omit("specifying one of OnExitCodes and OnPodConditions is required");
  });
  const prp = s.podReplacementPolicy;
  if (prp !== undefined) {
    if (s.podFailurePolicy && prp !== "Failed") e.notSupported("spec.podReplacementPolicy", prp, ["Failed"]);
    else if (!["Failed", "TerminatingOrFailed"].includes(prp)) {
      e.notSupported("spec.podReplacementPolicy", prp, ["Failed", "TerminatingOrFailed"]);
    }
  }
  for (const f of ["parallelism", "completions", "backoffLimit", "activeDeadlineSeconds"]) {
    if (typeof s[f] === "number" && s[f] < 0) {
      e.invalid(`spec.${f}`, s[f], "must be greater than or equal to 0");
    }
  }
  if (s.activeDeadlineSeconds === 0) e.invalid("spec.activeDeadlineSeconds", 0, "must be greater than 0");
  if (!old) return;
  const os = old.spec ?? {};
  if (JSON.stringify(s.template) !== JSON.stringify(os.template)) {
    e.invalid("spec.template", "core.PodTemplateSpec{...}", "field is immutable");
  }
  if (JSON.stringify(s.selector) !== JSON.stringify(os.selector)) {
    e.invalid("spec.selector", s.selector, "field is immutable");
  }
  if (s.completions !== os.completions) e.invalid("spec.completions", s.completions, "field is immutable");
  if (JSON.stringify(s.podFailurePolicy) !== JSON.stringify(os.podFailurePolicy)) {
    e.invalid("spec.podFailurePolicy", s.podFailurePolicy, "field is immutable");
  }
}

/** pkg/apis/apps/validation: a StatefulSet's pods restart Always; only some fields may change. */
function validateStatefulSet(e: Errors, o: Obj, old?: Obj) {
  const s = o.spec ?? {};
  const rp = s.template?.spec?.restartPolicy;
  if (rp !== undefined && rp !== "Always") e.notSupported("spec.template.spec.restartPolicy", rp, ["Always"]);
  if (!["OrderedReady", "Parallel", undefined].includes(s.podManagementPolicy)) {
    e.notSupported("spec.podManagementPolicy", s.podManagementPolicy, ["OrderedReady", "Parallel"]);
  }
  if (typeof s.replicas === "number" && s.replicas < 0) {
    e.invalid("spec.replicas", s.replicas, "must be greater than or equal to 0");
  }
  if (!old) return;
  const mutable = [
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "revisionHistoryLimit",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
  ];
  const rest = (x: Obj) =>
    JSON.stringify(Object.fromEntries(Object.entries(x).filter(([k]) => !mutable.includes(k))));
  if (rest(s) !== rest(old.spec ?? {})) {
    e.forbidden(
      "spec",
      "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
    );
  }
}

function isReady(p: Obj): boolean {
  return !p.metadata.deletionTimestamp &&
    (p.status?.conditions ?? []).some((c: Obj) => c.type === "Ready" && c.status === "True");
}

/** Keep a condition's transition time when its status did not change. */
function condition(
  prev: Obj[] | undefined,
  type: string,
  status: string,
  reason: string,
  message: string,
  withUpdate = false,
): Obj {
  const old = (prev ?? []).find((c) => c.type === type);
  const ts = old && old.status === status ? old.lastTransitionTime : now();
  const c: Obj = { type, status };
  if (withUpdate) {
    c.lastUpdateTime = old && old.status === status && old.reason === reason ? old.lastUpdateTime : now();
  }
  return { ...c, lastTransitionTime: ts, reason, message };
}

/** The status a controller would report for `o`, counted from the pods its selector matches. */
export function workloadStatus(resource: string, o: Obj, pods: Obj[]): Obj {
  const mine = pods.filter((p) => labelSelectorMatches(o.spec?.selector, p.metadata.labels));
  const live = mine.filter((p) =>
    !["Succeeded", "Failed"].includes(p.status?.phase) && !p.metadata.deletionTimestamp
  );
  const ready = live.filter(isReady).length;
  const n = live.length;
  const gen = o.metadata.generation ?? 1;
  const prev: Obj[] | undefined = o.status?.conditions;
  const omit0 = (k: string, v: number) => (v ? { [k]: v } : {});
  switch (resource) {
    case "deployments": {
      const want = o.spec?.replicas ?? 1;
      const available = ready >= want;
      return {
        observedGeneration: gen,
        ...omit0("replicas", n),
        ...omit0("updatedReplicas", n),
        ...omit0("readyReplicas", ready),
        ...omit0("availableReplicas", ready),
        ...omit0("unavailableReplicas", Math.max(0, want - ready)),
        conditions: [
          condition(
            prev,
            "Available",
            available ? "True" : "False",
            available ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable",
            available
              ? "Deployment has minimum availability."
              : "Deployment does not have minimum availability.",
            true,
          ),
          condition(
            prev,
            "Progressing",
            "True",
            "NewReplicaSetAvailable",
            `ReplicaSet "${o.metadata.name}" has successfully progressed.`,
            true,
          ),
        ],
      };
    }
    case "replicasets":
      return {
        replicas: n,
        ...omit0("fullyLabeledReplicas", n),
        ...omit0("readyReplicas", ready),
        ...omit0("availableReplicas", ready),
        observedGeneration: gen,
      };
    case "statefulsets":
      return {
        observedGeneration: gen,
        replicas: n,
        ...omit0("readyReplicas", ready),
        ...omit0("currentReplicas", n),
        ...omit0("updatedReplicas", n),
        ...omit0("availableReplicas", ready),
        currentRevision: `${o.metadata.name}-5d4c6b7f8`,
        updateRevision: `${o.metadata.name}-5d4c6b7f8`,
        collisionCount: 0,
      };
    case "daemonsets":
      return {
        currentNumberScheduled: n,
        numberMisscheduled: 0,
        desiredNumberScheduled: n,
        numberReady: ready,
        observedGeneration: gen,
        ...omit0("updatedNumberScheduled", n),
        ...omit0("numberAvailable", ready),
        ...omit0("numberUnavailable", n - ready),
      };
    case "jobs": {
      const succeeded = mine.filter((p) => p.status?.phase === "Succeeded").length;
      const failed = mine.filter((p) => p.status?.phase === "Failed").length;
      const completions = o.spec?.completions ?? 1;
      const startTime = o.status?.startTime ?? o.metadata.creationTimestamp;
      const st: Obj = {
        ...omit0("active", n),
        ...omit0("succeeded", succeeded),
        ...omit0("failed", failed),
        ready,
        startTime,
        uncountedTerminatedPods: {},
        terminating: 0,
      };
      if (succeeded >= completions) {
        st.completionTime = o.status?.completionTime ?? now();
        st.conditions = [
          condition(
            prev,
            "SuccessCriteriaMet",
            "True",
            "CompletionsReached",
            "Reached expected number of succeeded pods",
          ),
          condition(
            prev,
            "Complete",
            "True",
            "CompletionsReached",
            "Reached expected number of succeeded pods",
          ),
        ].map((c) => ({ ...c, lastProbeTime: c.lastTransitionTime }));
      }
      return st;
    }
  }
  return o.status ?? {};
}

/** Recompute the status of every workload in `ns` (called when its pods change). */
export function syncWorkloads(store: Store, ns: string): void {
  const n = store.get("namespaces", "", ns);
  if (!n) return;
  let pods: Obj[] | undefined;
  for (const resource of WORKLOAD_RESOURCES) {
    // Jobs and StatefulSets have their controllers (controllers/), which write their status
    if (store.count(resource) === 0 || resource === "jobs" || resource === "statefulsets") continue;
    for (const o of store.list(resource, ns)) {
      pods ??= [...store.peek("pods", ns)];
      const status = workloadStatus(resource, o, pods);
      if (JSON.stringify(status) === JSON.stringify(o.status ?? {})) continue;
      o.status = status;
      store.replace(resource, o);
    }
  }
}

// ------------------------------------------------------------------------ Table columns

export interface PrinterColumn {
  name: string;
  priority?: number;
  type?: string;
}

function containerCells(o: Obj): [string, string] {
  const cs: Obj[] = o.spec?.template?.spec?.containers ?? [];
  return [cs.map((c) => c.name).join(","), cs.map((c) => c.image).join(",")];
}

/** The `-o wide` columns every workload printer ends with (StatefulSet's without Selector). */
const WIDE_COLUMNS: PrinterColumn[] = [
  { name: "Containers", priority: 1 },
  { name: "Images", priority: 1 },
  { name: "Selector", priority: 1 },
];

function wideCells(o: Obj): unknown[] {
  return [...containerCells(o), formatLabelSelector(o.spec?.selector)];
}

function formatLabels(m: Record<string, string> | undefined): string {
  const e = Object.entries(m ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
  return e.length ? e.map(([k, v]) => `${k}=${v}`).join(",") : "<none>";
}

/** Columns and cells (before `Age`, which the caller formats, goes where `age` stands). */
export const WORKLOAD_COLUMNS: Record<
  string,
  { columns: PrinterColumn[]; row(o: Obj, age: string, humanDuration: (ms: number) => string): unknown[] }
> = {
  deployments: {
    columns: [
      { name: "Name" },
      { name: "Ready" },
      { name: "Up-to-date", type: "integer" },
      { name: "Available", type: "integer" },
      { name: "Age" },
      ...WIDE_COLUMNS,
    ],
    row: (o, age) => [
      o.metadata.name,
      `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 0}`,
      o.status?.updatedReplicas ?? 0,
      o.status?.availableReplicas ?? 0,
      age,
      ...wideCells(o),
    ],
  },
  replicasets: {
    columns: [
      { name: "Name" },
      { name: "Desired", type: "integer" },
      { name: "Current", type: "integer" },
      { name: "Ready", type: "integer" },
      { name: "Age" },
      ...WIDE_COLUMNS,
    ],
    row: (o, age) => [
      o.metadata.name,
      o.spec?.replicas ?? 0,
      o.status?.replicas ?? 0,
      o.status?.readyReplicas ?? 0,
      age,
      ...wideCells(o),
    ],
  },
  statefulsets: {
    columns: [
      { name: "Name" },
      { name: "Ready" },
      { name: "Age" },
      ...WIDE_COLUMNS.slice(0, 2),
    ],
    row: (o, age) => [
      o.metadata.name,
      `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 0}`,
      age,
      ...containerCells(o),
    ],
  },
  daemonsets: {
    columns: [
      { name: "Name" },
      { name: "Desired", type: "integer" },
      { name: "Current", type: "integer" },
      { name: "Ready", type: "integer" },
      { name: "Up-to-date", type: "integer" },
      { name: "Available", type: "integer" },
      { name: "Node Selector" },
      { name: "Age" },
      ...WIDE_COLUMNS,
    ],
    row: (o, age) => [
      o.metadata.name,
      o.status?.desiredNumberScheduled ?? 0,
      o.status?.currentNumberScheduled ?? 0,
      o.status?.numberReady ?? 0,
      o.status?.updatedNumberScheduled ?? 0,
      o.status?.numberAvailable ?? 0,
      formatLabels(o.spec?.template?.spec?.nodeSelector),
      age,
      ...wideCells(o),
    ],
  },
  jobs: {
    columns: [
      { name: "Name" },
      { name: "Status" },
      { name: "Completions" },
      { name: "Duration" },
      { name: "Age" },
      ...WIDE_COLUMNS,
    ],
    row: (o, age, human) => {
      const st = o.status ?? {};
      const has = (t: string) => (st.conditions ?? []).some((c: Obj) => c.type === t && c.status === "True");
      const succeeded = st.succeeded ?? 0;
      const completions = o.spec?.completions !== undefined && o.spec?.completions !== null
        ? `${succeeded}/${o.spec.completions}`
        : (o.spec?.parallelism ?? 0) > 1
        ? `${succeeded}/1 of ${o.spec.parallelism}`
        : `${succeeded}/1`;
      const duration = !st.startTime
        ? ""
        : human((st.completionTime ? Date.parse(st.completionTime) : Date.now()) - Date.parse(st.startTime));
      const status = has("Complete")
        ? "Complete"
        : has("Failed")
        ? "Failed"
        : o.metadata.deletionTimestamp
        ? "Terminating"
        : has("SuccessCriteriaMet")
        ? "SuccessCriteriaMet"
        : has("Suspended")
        ? "Suspended"
        : has("FailureTarget")
        ? "FailureTarget"
        : "Running";
      return [
        o.metadata.name,
        status,
        completions,
        duration,
        age,
        ...wideCells(o),
      ];
    },
  },
};
