/** Server-side printing: meta.k8s.io/v1 Table objects with the columns kube-apiserver uses. */
import type { Obj } from "./store.ts";
import { WORKLOAD_COLUMNS } from "./workloads.ts";
import { formatSelector } from "./netpol.ts";

interface Column {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

const col = (
  name: string,
  priority = 0,
  type = "string",
  format = name === "Name" ? "name" : "",
): Column => ({
  name,
  type,
  format,
  description: name === "Name"
    ? "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
    : name === "Age"
    ? "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
    : name,
  priority,
});

/** k8s.io/apimachinery/pkg/util/duration.HumanDuration */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    return hours % 24 === 0 ? `${hours / 24 | 0}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const dy = Math.floor(hours / 24) % 365;
    return dy === 0 ? `${Math.floor(hours / 24 / 365)}y` : `${Math.floor(hours / 24 / 365)}y${dy}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

function age(ts: string | undefined, now = Date.now()): string {
  if (!ts) return "<unknown>";
  return humanDuration(now - Date.parse(ts));
}

const none = (v: unknown) => (v === undefined || v === null || v === "" ? "<none>" : String(v));

function podRow(p: Obj): unknown[] {
  const spec = p.spec ?? {};
  const st = p.status ?? {};
  let reason: string = st.reason || st.phase || "Pending";
  let restarts = 0;
  let lastRestart = 0;
  let ready = 0;
  const total = (spec.containers ?? []).length;
  let initializing = false;
  const inits: Obj[] = st.initContainerStatuses ?? [];
  for (let i = 0; i < inits.length; i++) {
    const c = inits[i];
    restarts += c.restartCount ?? 0;
    const t = c.state?.terminated;
    const w = c.state?.waiting;
    if (t && t.exitCode === 0) continue;
    if (t) {
      reason = t.reason
        ? `Init:${t.reason}`
        : t.signal
        ? `Init:Signal:${t.signal}`
        : `Init:ExitCode:${t.exitCode}`;
    } else if (w?.reason && w.reason !== "PodInitializing") reason = `Init:${w.reason}`;
    else reason = `Init:${i}/${(spec.initContainers ?? []).length}`;
    initializing = true;
    break;
  }
  if (!initializing) {
    restarts = 0;
    let hasRunning = false;
    const cs: Obj[] = st.containerStatuses ?? [];
    for (let i = cs.length - 1; i >= 0; i--) {
      const c = cs[i];
      restarts += c.restartCount ?? 0;
      const fin = c.lastState?.terminated?.finishedAt;
      if (fin) lastRestart = Math.max(lastRestart, Date.parse(fin));
      const s = c.state ?? {};
      if (s.waiting?.reason) reason = s.waiting.reason;
      else if (s.terminated?.reason) reason = s.terminated.reason;
      else if (s.terminated) {
        reason = s.terminated.signal ? `Signal:${s.terminated.signal}` : `ExitCode:${s.terminated.exitCode}`;
      } else if (c.ready && s.running) {
        hasRunning = true;
        ready++;
      }
    }
    if (reason === "Completed" && hasRunning) {
      const readyCond = (st.conditions ?? []).some((c: Obj) => c.type === "Ready" && c.status === "True");
      reason = readyCond ? "Running" : "NotReady";
    }
  }
  if (p.metadata.deletionTimestamp) reason = "Terminating";
  const restartStr = lastRestart
    ? `${restarts} (${humanDuration(Date.now() - lastRestart)} ago)`
    : String(restarts);
  const gates = (spec.readinessGates ?? []).length
    ? `${
      (spec.readinessGates ?? []).filter((g: Obj) =>
        (st.conditions ?? []).some((c: Obj) => c.type === g.conditionType && c.status === "True")
      ).length
    }/${spec.readinessGates.length}`
    : "<none>";
  return [
    p.metadata.name,
    `${ready}/${total}`,
    reason,
    restartStr,
    age(p.metadata.creationTimestamp),
    none(st.podIP),
    none(spec.nodeName),
    none(st.nominatedNodeName),
    gates,
  ];
}

const ACCESS: Record<string, string> = {
  ReadWriteOnce: "RWO",
  ReadOnlyMany: "ROX",
  ReadWriteMany: "RWX",
  ReadWriteOncePod: "RWOP",
};

function formatEndpoints(ep: Obj): string {
  const list: string[] = [];
  for (const s of ep.subsets ?? []) {
    for (const a of s.addresses ?? []) {
      for (const port of s.ports ?? [{}]) list.push(port.port ? `${a.ip}:${port.port}` : a.ip);
    }
  }
  if (list.length === 0) return "<none>";
  return list.length > 3 ? `${list.slice(0, 3).join(",")} + ${list.length - 3} more...` : list.join(",");
}

function servicePorts(s: Obj): string {
  const ports = (s.spec?.ports ?? []).map((p: Obj) =>
    p.nodePort ? `${p.port}:${p.nodePort}/${p.protocol ?? "TCP"}` : `${p.port}/${p.protocol ?? "TCP"}`
  );
  return ports.length ? ports.join(",") : "<none>";
}

function selectorString(sel: Record<string, string> | undefined): string {
  const e = Object.entries(sel ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
  return e.length ? e.map(([k, v]) => `${k}=${v}`).join(",") : "<none>";
}

function eventRow(e: Obj): unknown[] {
  const last = e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp;
  const first = e.firstTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp;
  const count = e.count ?? 1;
  const lastSeen = count > 1 ? `${age(last)} (x${count} over ${age(first)})` : age(last);
  const io = e.involvedObject ?? {};
  const src = e.source?.component
    ? [e.source.component, e.source.host].filter(Boolean).join(", ")
    : (e.reportingComponent ?? "");
  return [
    lastSeen,
    e.type ?? "",
    e.reason ?? "",
    `${String(io.kind ?? "").toLowerCase()}/${io.name ?? ""}`,
    io.fieldPath ?? "",
    src,
    e.message ?? "",
    age(first),
    count,
    e.metadata.name,
  ];
}

interface Printer {
  columns: Column[];
  row(o: Obj): unknown[];
}

const PRINTERS: Record<string, Printer> = {
  pods: {
    columns: [
      col("Name"),
      col("Ready"),
      col("Status"),
      col("Restarts", 0, "string"),
      col("Age"),
      col("IP", 1),
      col("Node", 1),
      col("Nominated Node", 1),
      col("Readiness Gates", 1),
    ],
    row: podRow,
  },
  namespaces: {
    columns: [col("Name"), col("Status"), col("Age")],
    row: (n) => [n.metadata.name, n.status?.phase ?? "Active", age(n.metadata.creationTimestamp)],
  },
  services: {
    columns: [
      col("Name"),
      col("Type"),
      col("Cluster-IP"),
      col("External-IP"),
      col("Port(s)"),
      col("Age"),
      col("Selector", 1),
    ],
    row: (s) => [
      s.metadata.name,
      s.spec?.type ?? "ClusterIP",
      s.spec?.clusterIP ?? "<none>",
      (s.spec?.externalIPs ?? []).join(",") ||
      (s.spec?.type === "ExternalName" ? s.spec.externalName : "<none>"),
      servicePorts(s),
      age(s.metadata.creationTimestamp),
      selectorString(s.spec?.selector),
    ],
  },
  configmaps: {
    columns: [col("Name"), col("Data", 0, "integer"), col("Age")],
    row: (c) => [
      c.metadata.name,
      Object.keys(c.data ?? {}).length + Object.keys(c.binaryData ?? {}).length,
      age(c.metadata.creationTimestamp),
    ],
  },
  secrets: {
    columns: [col("Name"), col("Type"), col("Data", 0, "integer"), col("Age")],
    row: (
      s,
    ) => [
      s.metadata.name,
      s.type ?? "Opaque",
      Object.keys(s.data ?? {}).length,
      age(s.metadata.creationTimestamp),
    ],
  },
  persistentvolumeclaims: {
    columns: [
      col("Name"),
      col("Status"),
      col("Volume"),
      col("Capacity"),
      col("Access Modes"),
      col("StorageClass"),
      col("VolumeAttributesClass"),
      col("Age"),
      col("VolumeMode", 1),
    ],
    row: (c) => [
      c.metadata.name,
      c.metadata.deletionTimestamp ? "Terminating" : c.status?.phase ?? "Pending",
      c.spec?.volumeName ?? "",
      c.status?.capacity?.storage ?? "",
      (c.status?.accessModes ?? c.spec?.accessModes ?? []).map((m: string) => ACCESS[m] ?? m).join(","),
      c.spec?.storageClassName ?? "<unset>",
      c.spec?.volumeAttributesClassName ?? "<unset>",
      age(c.metadata.creationTimestamp),
      c.spec?.volumeMode ?? "Filesystem",
    ],
  },
  // pkg/printers/internalversion printNode
  nodes: {
    columns: [
      col("Name"),
      col("Status"),
      col("Roles"),
      col("Age"),
      col("Version"),
      col("Internal-IP", 1),
      col("External-IP", 1),
      col("OS-Image", 1),
      col("Kernel-Version", 1),
      col("Container-Runtime", 1),
    ],
    row: (n) => [
      n.metadata.name,
      (n.status?.conditions ?? []).some((c: { type: string; status: string }) =>
          c.type === "Ready" && c.status === "True"
        )
        ? (n.spec?.unschedulable ? "Ready,SchedulingDisabled" : "Ready")
        : "NotReady",
      "<none>",
      age(n.metadata.creationTimestamp),
      n.status?.nodeInfo?.kubeletVersion ?? "",
      (n.status?.addresses ?? []).find((a: { type: string }) => a.type === "InternalIP")?.address ?? "<none>",
      "<none>",
      n.status?.nodeInfo?.osImage ?? "<unknown>",
      n.status?.nodeInfo?.kernelVersion ?? "<unknown>",
      n.status?.nodeInfo?.containerRuntimeVersion ?? "<unknown>",
    ],
  },
  storageclasses: {
    columns: [
      col("Name"),
      col("Provisioner"),
      col("ReclaimPolicy"),
      col("VolumeBindingMode"),
      col("AllowVolumeExpansion"),
      col("Age"),
    ],
    row: (c) => [
      c.metadata.annotations?.["storageclass.kubernetes.io/is-default-class"] === "true"
        ? `${c.metadata.name} (default)`
        : c.metadata.name,
      c.provisioner,
      c.reclaimPolicy ?? "Delete",
      c.volumeBindingMode ?? "Immediate",
      c.allowVolumeExpansion === true,
      age(c.metadata.creationTimestamp),
    ],
  },
  // the snapshot CRDs' additionalPrinterColumns (external-snapshotter v6)
  volumesnapshots: {
    columns: [
      col("Name"),
      col("ReadyToUse"),
      col("SourcePVC"),
      col("SourceSnapshotContent"),
      col("RestoreSize"),
      col("SnapshotClass"),
      col("SnapshotContent"),
      col("CreationTime"),
      col("Age"),
    ],
    row: (v) => [
      v.metadata.name,
      v.status?.readyToUse ?? "",
      v.spec?.source?.persistentVolumeClaimName ?? "",
      v.spec?.source?.volumeSnapshotContentName ?? "",
      v.status?.restoreSize ?? "",
      v.spec?.volumeSnapshotClassName ?? "",
      v.status?.boundVolumeSnapshotContentName ?? "",
      v.status?.creationTime ? age(v.status.creationTime) : "",
      age(v.metadata.creationTimestamp),
    ],
  },
  volumesnapshotcontents: {
    columns: [
      col("Name"),
      col("ReadyToUse"),
      col("RestoreSize", 0, "integer"),
      col("DeletionPolicy"),
      col("Driver"),
      col("VolumeSnapshotClass"),
      col("VolumeSnapshot"),
      col("VolumeSnapshotNamespace"),
      col("Age"),
    ],
    row: (c) => [
      c.metadata.name,
      c.status?.readyToUse ?? "",
      c.status?.restoreSize ?? "",
      c.spec?.deletionPolicy ?? "",
      c.spec?.driver ?? "",
      c.spec?.volumeSnapshotClassName ?? "",
      c.spec?.volumeSnapshotRef?.name ?? "",
      c.spec?.volumeSnapshotRef?.namespace ?? "",
      age(c.metadata.creationTimestamp),
    ],
  },
  volumesnapshotclasses: {
    columns: [col("Name"), col("Driver"), col("DeletionPolicy"), col("Age")],
    row: (c) => [c.metadata.name, c.driver ?? "", c.deletionPolicy ?? "", age(c.metadata.creationTimestamp)],
  },
  csidrivers: {
    columns: [
      col("Name"),
      col("AttachRequired"),
      col("PodInfoOnMount"),
      col("StorageCapacity"),
      col("TokenRequests"),
      col("RequiresRepublish"),
      col("Modes"),
      col("Age"),
    ],
    row: (d) => [
      d.metadata.name,
      d.spec?.attachRequired ?? true,
      d.spec?.podInfoOnMount ?? false,
      d.spec?.storageCapacity ?? false,
      "<unset>",
      d.spec?.requiresRepublish ?? false,
      (d.spec?.volumeLifecycleModes ?? ["Persistent"]).join(","),
      age(d.metadata.creationTimestamp),
    ],
  },
  endpoints: {
    columns: [col("Name"), col("Endpoints"), col("Age")],
    row: (e) => [e.metadata.name, formatEndpoints(e), age(e.metadata.creationTimestamp)],
  },
  events: {
    columns: [
      col("Last Seen"),
      col("Type"),
      col("Reason"),
      col("Object"),
      col("Subobject", 1),
      col("Source", 1),
      col("Message"),
      col("First Seen", 1),
      col("Count", 1, "integer"),
      col("Name", 1),
    ],
    row: eventRow,
  },
  networkpolicies: {
    columns: [col("Name"), col("Pod-Selector"), col("Age")],
    row: (n) => [n.metadata.name, formatSelector(n.spec?.podSelector), age(n.metadata.creationTimestamp)],
  },
  poddisruptionbudgets: {
    columns: [
      col("Name"),
      col("Min Available"),
      col("Max Unavailable"),
      col("Allowed Disruptions", 0, "integer"),
      col("Age"),
    ],
    row: (b) => [
      b.metadata.name,
      b.spec?.minAvailable !== undefined ? String(b.spec.minAvailable) : "N/A",
      b.spec?.maxUnavailable !== undefined ? String(b.spec.maxUnavailable) : "N/A",
      b.status?.disruptionsAllowed ?? 0,
      age(b.metadata.creationTimestamp),
    ],
  },
  serviceaccounts: {
    columns: [col("Name"), col("Secrets", 0, "integer"), col("Age")],
    row: (s) => [s.metadata.name, (s.secrets ?? []).length, age(s.metadata.creationTimestamp)],
  },
};

for (const [resource, w] of Object.entries(WORKLOAD_COLUMNS)) {
  PRINTERS[resource] = {
    columns: w.columns.map((c) => col(c.name, c.priority ?? 0, c.type ?? "string")),
    row: (o) => w.row(o, age(o.metadata.creationTimestamp), humanDuration),
  };
}

const DEFAULT: Printer = {
  columns: [col("Name"), col("Age")],
  row: (o) => [o.metadata.name, age(o.metadata.creationTimestamp)],
};

export type IncludeObject = "None" | "Metadata" | "Object";

function rowObject(o: Obj, include: IncludeObject): Obj | undefined {
  if (include === "None") return undefined;
  if (include === "Object") return o;
  return { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: o.metadata };
}

export function toTable(
  resource: string,
  items: Obj[],
  opts: {
    include: IncludeObject;
    resourceVersion?: string;
    continue?: string;
    remaining?: number;
    noColumns?: boolean;
  },
): Obj {
  const p = PRINTERS[resource] ?? DEFAULT;
  const metadata: Obj = {};
  if (opts.resourceVersion) metadata.resourceVersion = opts.resourceVersion;
  if (opts.continue) metadata.continue = opts.continue;
  if (opts.remaining !== undefined) metadata.remainingItemCount = opts.remaining;
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata,
    columnDefinitions: opts.noColumns ? null : p.columns,
    rows: items.map((o) => {
      const row: Obj = { cells: p.row(o) };
      const obj = rowObject(o, opts.include);
      if (obj) row.object = obj;
      return row;
    }),
  };
}
