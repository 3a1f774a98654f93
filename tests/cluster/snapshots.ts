/**
 * CSI storage and the VolumeSnapshot API, in small, served only when a test asks for them
 * (`ServerOptions.csi` / `ServerOptions.snapshots`):
 *
 *  - `csi`: two CSI drivers with their CSIDriver objects and StorageClasses. `csi-hostpath`
 *    (driver `hostpath.csi.k8s.io`, as kubernetes-csi's csi-driver-host-path) provisions a claim with a
 *    `dataSource` WITH the source's content: another claim of the same class (a clone) or a ready
 *    VolumeSnapshot (a point-in-time copy). `csi-nocopy` (driver `nocopy.csi.kodama.dev`) is a registered
 *    CSI driver that ignores `dataSource` and binds an EMPTY volume, as a static or careless provisioner
 *    does: whoever relies on dataSource must check what it got. The default class `standard` (no
 *    CSIDriver) ignores dataSource too. Every authenticated user may read StorageClasses, CSIDrivers and
 *    VolumeSnapshotClasses (the `storage-reader` ClusterRole many clusters bind to everyone).
 *  - `snapshots`: `snapshot.storage.k8s.io/v1` (VolumeSnapshot, VolumeSnapshotContent,
 *    VolumeSnapshotClass) in discovery, and the snapshot controller: a VolumeSnapshot of a bound claim gets
 *    a VolumeSnapshotContent (`snapcontent-<uid>`), `boundVolumeSnapshotContentName` and readyToUse
 *    false, the volume's content is cut at that moment, then readyToUse true with `restoreSize` and
 *    `creationTime`. A missing or unbound source claim, a missing class or a class of another driver
 *    leave `status.error` (retried, as the controller does). Without the option none of it is served:
 *    discovery does not list the group and its paths are 404, as on a cluster without the CRDs.
 */
import { join } from "node:path";
import type { Obj, Store } from "./store.ts";
import { recordEvent } from "./events.ts";
import type { Errors } from "./validation.ts";

export const SNAPSHOT_GROUP = "snapshot.storage.k8s.io";
export const CSI_HOSTPATH = "hostpath.csi.k8s.io";
export const CSI_NOCOPY = "nocopy.csi.kodama.dev";
export const CSI_CLASS = "csi-hostpath";
export const NOCOPY_CLASS = "csi-nocopy";
export const SNAPSHOT_CLASS = "csi-hostpath-snapclass";
export const DEFAULT_SNAPSHOT_CLASS_ANNOTATION = "snapshot.storage.kubernetes.io/is-default-class";
/** cluster-scoped kinds every authenticated user may read on a server with `csi` */
export const STORAGE_READABLE = ["storageclasses", "csidrivers", "volumesnapshotclasses"];

/** The objects `csi` (and `snapshots`) add to a new server. */
export function csiObjects(snapshots: boolean): { resource: string; group: string; obj: Obj }[] {
  const out = [
    ...[CSI_HOSTPATH, CSI_NOCOPY].map((name) => ({
      resource: "csidrivers",
      group: "storage.k8s.io",
      obj: { metadata: { name }, spec: { attachRequired: false, podInfoOnMount: true } },
    })),
    {
      resource: "storageclasses",
      group: "storage.k8s.io",
      obj: { metadata: { name: CSI_CLASS }, provisioner: CSI_HOSTPATH, reclaimPolicy: "Delete" },
    },
    {
      resource: "storageclasses",
      group: "storage.k8s.io",
      obj: { metadata: { name: NOCOPY_CLASS }, provisioner: CSI_NOCOPY, reclaimPolicy: "Delete" },
    },
  ];
  if (snapshots) {
    out.push({
      resource: "volumesnapshotclasses",
      group: SNAPSHOT_GROUP,
      obj: {
        metadata: { name: SNAPSHOT_CLASS, annotations: { [DEFAULT_SNAPSHOT_CLASS_ANNOTATION]: "true" } },
        driver: CSI_HOSTPATH,
        deletionPolicy: "Delete",
        // deno-lint-ignore no-explicit-any
      } as any,
    });
  }
  return out;
}

/** The CRD's validation (and the validating webhook's): exactly one source; spec immutable. */
export function validateVolumeSnapshot(e: Errors, vs: Obj, old?: Obj): void {
  const src = vs.spec?.source ?? {};
  const n = (src.persistentVolumeClaimName ? 1 : 0) + (src.volumeSnapshotContentName ? 1 : 0);
  if (!vs.spec) e.required("spec");
  else if (n !== 1) {
    e.invalid(
      "spec.source",
      JSON.stringify(src),
      "Exactly one of persistentVolumeClaimName and volumeSnapshotContentName should be specified",
    );
  }
  if (old && JSON.stringify(old.spec?.source) !== JSON.stringify(vs.spec?.source)) {
    e.invalid("spec.source", JSON.stringify(src), "spec.source is immutable");
  }
}

/** A claim's `dataSource`, as the API server checks it. */
export function validateDataSource(e: Errors, spec: Obj): void {
  const ds = spec.dataSource;
  if (!ds) return;
  if (!ds.name) e.required("spec.dataSource.name");
  if (!ds.kind) e.required("spec.dataSource.kind");
  else if (!ds.apiGroup && ds.kind !== "PersistentVolumeClaim") {
    e.notSupported("spec.dataSource.kind", ds.kind, ["PersistentVolumeClaim"]);
  }
}

/** The volume plugin behind a claim's class: its provisioner, and whether a CSIDriver says it is CSI. */
function driverOf(store: Store, claim: Obj): { provisioner?: string; csi: boolean } {
  const cls = claim.spec?.storageClassName
    ? store.get("storageclasses", "", claim.spec.storageClassName)
    : undefined;
  const provisioner = cls?.provisioner;
  return { provisioner, csi: !!provisioner && store.has("csidrivers", "", provisioner) };
}

export interface SnapshotHost {
  store: Store;
  stateDir: string;
  closed(): boolean;
  /** run `fn` after `ms` (cleared when the server stops) */
  later(ms: number, fn: () => void): void;
  pvcDir(ns: string, name: string): string;
}

const snapshotDir = (h: SnapshotHost, content: string) => join(h.stateDir, "snapshots", content);

async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  const r = await new Deno.Command("cp", { args: ["-a", `${from}/.`, `${to}/`], stderr: "piped" }).output();
  if (!r.success) throw new Error(new TextDecoder().decode(r.stderr).trim());
}

const nowIso = () => new Date().toISOString().replace(/\.\d+Z$/, "Z");

function vsEvent(h: SnapshotHost, vs: Obj, type: string, reason: string, message: string) {
  recordEvent(
    h.store,
    vs.metadata.namespace,
    {
      kind: "VolumeSnapshot",
      namespace: vs.metadata.namespace,
      name: vs.metadata.name,
      uid: vs.metadata.uid,
      apiVersion: `${SNAPSHOT_GROUP}/v1`,
      resourceVersion: vs.metadata.resourceVersion,
    },
    type,
    reason,
    message,
    "snapshot-controller",
  );
}

/** Set a VolumeSnapshot's status (if it is still the same object). */
function setStatus(h: SnapshotHost, ns: string, name: string, uid: string, status: Obj): Obj | undefined {
  const cur = h.store.get("volumesnapshots", ns, name);
  if (!cur || cur.metadata.uid !== uid) return undefined;
  if (JSON.stringify(cur.status ?? {}) === JSON.stringify(status)) return cur;
  cur.status = status;
  return h.store.replace("volumesnapshots", cur);
}

/**
 * The snapshot controller and the CSI snapshotter for one new VolumeSnapshot: wait for a usable source,
 * cut the content, then mark it ready after the class's `parameters.readyDelay` (default 300ms).
 */
export function takeSnapshot(h: SnapshotHost, vs: Obj): void {
  const ns = vs.metadata.namespace;
  const { name, uid } = vs.metadata;
  const step = async () => {
    if (h.closed()) return;
    const cur = h.store.get("volumesnapshots", ns, name);
    if (!cur || cur.metadata.uid !== uid || cur.metadata.deletionTimestamp) return;
    if (cur.status?.boundVolumeSnapshotContentName) return;
    const fail = (message: string, reason = "SnapshotContentCreationFailed") => {
      if (cur.status?.error?.message !== message) vsEvent(h, cur, "Warning", reason, message);
      setStatus(h, ns, name, uid, { readyToUse: false, error: { message, time: nowIso() } });
      h.later(1000, () => void step());
    };
    const claimName = cur.spec.source.persistentVolumeClaimName;
    if (!claimName) {
      return fail("pre-provisioned snapshots (volumeSnapshotContentName) are not served by the test server");
    }
    const claim = h.store.get("persistentvolumeclaims", ns, claimName);
    if (!claim) {
      return fail(
        `Failed to create snapshot content with error snapshot controller failed to get input parameters to create snapshot ${name}: "persistentvolumeclaim \\"${claimName}\\" not found"`,
      );
    }
    if (claim.status?.phase !== "Bound") {
      return fail(
        `the PVC ${claimName} is not yet bound to a PV, will not attempt to take a snapshot`,
        "SnapshotPending",
      );
    }
    const { provisioner } = driverOf(h.store, claim);
    const classes = h.store.list("volumesnapshotclasses");
    const cls = cur.spec.volumeSnapshotClassName
      ? classes.find((c) => c.metadata.name === cur.spec.volumeSnapshotClassName)
      : classes.find((c) =>
        c.driver === provisioner && c.metadata.annotations?.[DEFAULT_SNAPSHOT_CLASS_ANNOTATION] === "true"
      );
    if (!cls) {
      return fail(
        cur.spec.volumeSnapshotClassName
          ? `Failed to get snapshot class with error volumesnapshotclass.snapshot.storage.k8s.io "${cur.spec.volumeSnapshotClassName}" not found`
          : "Failed to get snapshot class with error cannot find default snapshot class",
        "GetSnapshotClassFailed",
      );
    }
    if (cls.driver !== provisioner) {
      return fail(
        `Failed to create snapshot content with error the volume snapshot class driver ${cls.driver} does not match the volume's driver ${
          provisioner ?? "(none)"
        }`,
      );
    }
    // the cut: the volume's content now
    const content = `snapcontent-${uid}`;
    try {
      await copyTree(h.pvcDir(ns, claimName), snapshotDir(h, content));
    } catch (e) {
      return fail(`Failed to create snapshot: ${(e as Error).message}`, "SnapshotCreationFailed");
    }
    if (h.closed() || !h.store.get("volumesnapshots", ns, name)) {
      await Deno.remove(snapshotDir(h, content), { recursive: true }).catch(() => {});
      return;
    }
    const size = claim.status?.capacity?.storage ?? claim.spec.resources?.requests?.storage;
    h.store.insert("volumesnapshotcontents", {
      apiVersion: `${SNAPSHOT_GROUP}/v1`,
      kind: "VolumeSnapshotContent",
      metadata: {
        name: content,
        uid: crypto.randomUUID(),
        creationTimestamp: nowIso(),
        finalizers: ["snapshot.storage.kubernetes.io/volumesnapshotcontent-bound-protection"],
      },
      spec: {
        deletionPolicy: cls.deletionPolicy ?? "Delete",
        driver: cls.driver,
        source: { volumeHandle: claim.spec.volumeName },
        volumeSnapshotClassName: cls.metadata.name,
        volumeSnapshotRef: {
          apiVersion: `${SNAPSHOT_GROUP}/v1`,
          kind: "VolumeSnapshot",
          name,
          namespace: ns,
          uid,
          resourceVersion: cur.metadata.resourceVersion,
        },
      },
      status: { readyToUse: false },
    });
    const withClass = h.store.get("volumesnapshots", ns, name);
    if (withClass && !withClass.spec.volumeSnapshotClassName) {
      withClass.spec.volumeSnapshotClassName = cls.metadata.name;
      h.store.replace("volumesnapshots", withClass);
    }
    setStatus(h, ns, name, uid, { boundVolumeSnapshotContentName: content, readyToUse: false });
    vsEvent(
      h,
      cur,
      "Normal",
      "CreatingSnapshot",
      `Waiting for a snapshot ${ns}/${name} to be created by the CSI driver.`,
    );
    const delay = /^(\d+)ms$/.exec(String(cls.parameters?.readyDelay ?? ""))?.[1];
    h.later(delay ? Number(delay) : 300, () => {
      const c = h.store.get("volumesnapshotcontents", "", content);
      if (!c || h.closed()) return;
      const bytes = quantityBytes(size);
      const created = Date.now();
      c.status = {
        creationTime: created * 1_000_000,
        readyToUse: true,
        restoreSize: bytes,
        snapshotHandle: crypto.randomUUID(),
      };
      h.store.replace("volumesnapshotcontents", c);
      const done = setStatus(h, ns, name, uid, {
        boundVolumeSnapshotContentName: content,
        creationTime: new Date(created).toISOString().replace(/\.\d+Z$/, "Z"),
        readyToUse: true,
        restoreSize: size,
      });
      if (done) {
        vsEvent(
          h,
          done,
          "Normal",
          "SnapshotCreated",
          `Snapshot ${ns}/${name} was successfully created by the CSI driver.`,
        );
        vsEvent(h, done, "Normal", "SnapshotReady", `Snapshot ${ns}/${name} is ready to use.`);
      }
    });
  };
  h.later(0, () => void step());
}

/** A deleted VolumeSnapshot: its content (deletionPolicy Delete) and the cut data go too. */
export function snapshotDeleted(h: SnapshotHost, vs: Obj): void {
  const content = vs.status?.boundVolumeSnapshotContentName;
  if (!content) return;
  const c = h.store.get("volumesnapshotcontents", "", content);
  if (c && (c.spec?.deletionPolicy ?? "Delete") === "Delete") {
    h.store.remove("volumesnapshotcontents", "", content);
    Deno.remove(snapshotDir(h, content), { recursive: true }).catch(() => {});
  }
}

/**
 * What a claim's provisioner does with its `dataSource` before the claim is bound: `copy` (the content
 * is copied into the new volume), `wait` (the source is not usable yet: Pending with the provisioner's
 * event, retried), or `ignore` (a provisioner that does not support it: the volume starts empty).
 */
export async function populate(
  h: SnapshotHost,
  claim: Obj,
): Promise<{ outcome: "copied" | "ignored" } | { outcome: "wait"; message: string }> {
  const ds = claim.spec?.dataSourceRef ?? claim.spec?.dataSource;
  const { provisioner, csi } = driverOf(h.store, claim);
  if (!ds || !csi || provisioner !== CSI_HOSTPATH) return { outcome: "ignored" };
  const ns = claim.metadata.namespace;
  const dest = h.pvcDir(ns, claim.metadata.name);
  const requested = quantityBytes(claim.spec.resources?.requests?.storage);
  if (ds.kind === "PersistentVolumeClaim" && !ds.apiGroup) {
    const src = h.store.get("persistentvolumeclaims", ns, ds.name);
    if (!src) {
      return {
        outcome: "wait",
        message:
          `failed to provision volume with StorageClass "${claim.spec.storageClassName}": error getting handle for DataSource Type PersistentVolumeClaim by Name ${ds.name}: error getting PVC ${ds.name} from api server: persistentvolumeclaims "${ds.name}" not found`,
      };
    }
    if (src.status?.phase !== "Bound") {
      return {
        outcome: "wait",
        message:
          `failed to provision volume with StorageClass "${claim.spec.storageClassName}": error getting handle for DataSource Type PersistentVolumeClaim by Name ${ds.name}: the PVC ${ds.name} is not yet bound to a PV`,
      };
    }
    if (src.spec.storageClassName !== claim.spec.storageClassName) {
      return {
        outcome: "wait",
        message:
          `failed to provision volume with StorageClass "${claim.spec.storageClassName}": the source PVC and destination PVCs must be in the same storage class for cloning.  Source is in ${src.spec.storageClassName}, but new PVC is in ${claim.spec.storageClassName}`,
      };
    }
    const have = quantityBytes(src.status?.capacity?.storage);
    if (requested < have) {
      return {
        outcome: "wait",
        message:
          `failed to provision volume with StorageClass "${claim.spec.storageClassName}": error getting handle for DataSource Type PersistentVolumeClaim by Name ${ds.name}: requested volume size ${requested} is less than the size ${have} for the source PVC ${ds.name}`,
      };
    }
    await copyTree(h.pvcDir(ns, ds.name), dest);
    return { outcome: "copied" };
  }
  if (ds.kind === "VolumeSnapshot" && ds.apiGroup === SNAPSHOT_GROUP) {
    const vs = h.store.get("volumesnapshots", ns, ds.name);
    const prefix =
      `failed to provision volume with StorageClass "${claim.spec.storageClassName}": error getting handle for DataSource Type VolumeSnapshot by Name ${ds.name}`;
    if (!vs) {
      return {
        outcome: "wait",
        message:
          `${prefix}: error getting snapshot ${ds.name} from api server: volumesnapshots.snapshot.storage.k8s.io "${ds.name}" not found`,
      };
    }
    if (vs.status?.readyToUse !== true) {
      return { outcome: "wait", message: `${prefix}: snapshot ${ds.name} is not Ready` };
    }
    const content = h.store.get("volumesnapshotcontents", "", vs.status.boundVolumeSnapshotContentName);
    if (!content) {
      return { outcome: "wait", message: `${prefix}: snapshot ${ds.name} is not bound to a content` };
    }
    if (content.spec.driver !== provisioner) {
      return {
        outcome: "wait",
        message: `${prefix}: the snapshot's driver ${content.spec.driver} is not ${provisioner}`,
      };
    }
    if (requested < content.status.restoreSize) {
      return {
        outcome: "wait",
        message:
          `${prefix}: requested volume size ${requested} is less than the size ${content.status.restoreSize} for the source snapshot ${ds.name}`,
      };
    }
    await copyTree(snapshotDir(h, content.metadata.name), dest);
    return { outcome: "copied" };
  }
  return { outcome: "ignored" };
}

/** Bytes of a quantity such as `1Gi`, `500Mi`, `10G` (0 when unreadable). */
export function quantityBytes(q: unknown): number {
  const m = /^(\d+(?:\.\d+)?)([KMGTPE]i?|k|m)?$/.exec(String(q ?? "").trim());
  if (!m) return 0;
  const pow: Record<string, number> = {
    "": 1,
    k: 1e3,
    K: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    P: 1e15,
    E: 1e18,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
    Pi: 2 ** 50,
    Ei: 2 ** 60,
    m: 1e-3,
  };
  return Math.round(Number(m[1]) * (pow[m[2] ?? ""] ?? 1));
}
