/**
 * The storage-native paths of snapshots and clones, used only when the cluster offers them:
 *
 *  - VolumeSnapshots: when discovery shows `snapshot.storage.k8s.io/v1` and a VolumeSnapshotClass's
 *    `driver` is the provisioner of the session's claims, a snapshot is two VolumeSnapshots (workspace,
 *    home), waited on until `readyToUse`; it is restored as new claims with a `dataSource` naming them.
 *  - PVC clones: a claim with `dataSource: {kind: PersistentVolumeClaim}` — only when the provisioner is a
 *    CSI driver (a CSIDriver object of that name exists), and even then the new volumes are checked for a
 *    marker written into the source just before (a provisioner that ignores dataSource binds EMPTY).
 *
 * Pure builders first (unit-tested), then the few cluster reads. Everything else (the portable path) is in
 * snapshot.ts.
 */
import type { V1PersistentVolumeClaim } from "@kubernetes/client-node";
import type { Kube } from "../../kube/client.ts";
import type { KubeObjects } from "../../kube/seam.ts";
import { ExitCode, KodamaError } from "../../base/errors.ts";
import { LABEL_MANAGED_BY, MANAGED_BY } from "../spec/names.ts";
import { checkedSize, formatSize } from "../spec/quantity.ts";

export const SNAPSHOT_GROUP = "snapshot.storage.k8s.io";
export const SNAPSHOT_API = `${SNAPSHOT_GROUP}/v1`;
export const LABEL_SNAPSHOT_VOLUME = "kodama.dev/snapshot-volume";
/** the source claim's StorageClass: a claim restored from the snapshot must be of the same driver */
export const ANNOTATION_SOURCE_CLASS = "kodama.dev/source-storage-class";
export const DEFAULT_SNAPSHOT_CLASS = "snapshot.storage.kubernetes.io/is-default-class";
const PROVISIONER_ANNOTATIONS = [
  "volume.kubernetes.io/storage-provisioner",
  "volume.beta.kubernetes.io/storage-provisioner",
];

export type Volume = "workspace" | "home";
export const VOLUMES: Volume[] = ["workspace", "home"];

export interface VolumeSnapshot {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    creationTimestamp?: string | Date;
    deletionTimestamp?: string | Date;
  };
  spec?: { source?: { persistentVolumeClaimName?: string }; volumeSnapshotClassName?: string };
  status?: {
    readyToUse?: boolean;
    restoreSize?: string;
    boundVolumeSnapshotContentName?: string;
    creationTime?: string;
    error?: { message?: string };
  };
}

export interface VolumeSnapshotClass {
  metadata?: { name?: string; annotations?: Record<string, string> };
  driver?: string;
}

/** The VolumeSnapshot of one volume of snapshot SNAP: `kodama-snap-SNAP` (workspace), `…-home`. */
export const volumeSnapshotName = (snap: string, v: Volume) =>
  v === "workspace" ? `kodama-snap-${snap}` : `kodama-snap-${snap}-home`;

/** Who provisions a claim: the annotation the persistentvolume-controller sets, else its class's provisioner. */
export function provisionerOf(claim: V1PersistentVolumeClaim | undefined): string | undefined {
  const a = claim?.metadata?.annotations ?? {};
  for (const k of PROVISIONER_ANNOTATIONS) if (a[k]) return a[k];
  return undefined;
}

/** The class for a driver: the one marked default for it, else the only one (several and no default: none). */
export function pickSnapshotClass(classes: VolumeSnapshotClass[], driver: string): string | undefined {
  const mine = classes.filter((c) => c.driver === driver);
  const d = mine.find((c) => c.metadata?.annotations?.[DEFAULT_SNAPSHOT_CLASS] === "true") ??
    (mine.length === 1 ? mine[0] : undefined);
  return d?.metadata?.name;
}

export function buildVolumeSnapshot(o: {
  namespace: string;
  session: string;
  snap: string;
  volume: Volume;
  claim: V1PersistentVolumeClaim;
  className: string;
  now?: Date;
}): VolumeSnapshot {
  return {
    apiVersion: SNAPSHOT_API,
    kind: "VolumeSnapshot",
    metadata: {
      name: volumeSnapshotName(o.snap, o.volume),
      namespace: o.namespace,
      labels: {
        [LABEL_MANAGED_BY]: MANAGED_BY,
        "kodama.dev/snapshot": o.snap,
        "kodama.dev/snapshot-of": o.session,
        [LABEL_SNAPSHOT_VOLUME]: o.volume,
      },
      annotations: {
        "kodama.dev/snapshot-created": (o.now ?? new Date()).toISOString().replace(/\.\d+Z$/, "Z"),
        ...(o.claim.spec?.storageClassName
          ? { [ANNOTATION_SOURCE_CLASS]: o.claim.spec.storageClassName }
          : {}),
      },
    },
    spec: {
      source: { persistentVolumeClaimName: o.claim.metadata!.name! },
      volumeSnapshotClassName: o.className,
    },
  };
}

/** The larger of two sizes (a restored or cloned claim may not be smaller than its source). */
function atLeast(requested: string, source: string | undefined): string {
  if (!source) return requested;
  try {
    const a = checkedSize(requested, "size"), b = checkedSize(source, "size");
    return b > a ? formatSize(b) : requested;
  } catch {
    return requested;
  }
}

/** A session claim to be created from a VolumeSnapshot: its dataSource, the source's class, at least restoreSize. */
export function claimFromSnapshot(pvc: V1PersistentVolumeClaim, vs: VolumeSnapshot): V1PersistentVolumeClaim {
  const out = structuredClone(pvc);
  const cls = vs.metadata?.annotations?.[ANNOTATION_SOURCE_CLASS];
  const req = out.spec!.resources!.requests!.storage as string;
  out.spec = {
    ...out.spec,
    ...(cls ? { storageClassName: cls } : {}),
    resources: {
      ...out.spec!.resources,
      requests: { storage: atLeast(String(req), vs.status?.restoreSize) },
    },
    dataSource: { apiGroup: SNAPSHOT_GROUP, kind: "VolumeSnapshot", name: vs.metadata!.name! },
  };
  return out;
}

/** A session claim to be created as a clone of another claim (same class, at least its size). */
export function claimFromClaim(
  pvc: V1PersistentVolumeClaim,
  src: V1PersistentVolumeClaim,
): V1PersistentVolumeClaim {
  const out = structuredClone(pvc);
  const req = out.spec!.resources!.requests!.storage as string;
  out.spec = {
    ...out.spec,
    ...(src.spec?.storageClassName ? { storageClassName: src.spec.storageClassName } : {}),
    resources: {
      ...out.spec!.resources,
      requests: { storage: atLeast(String(req), src.status?.capacity?.storage ?? undefined) },
    },
    dataSource: { kind: "PersistentVolumeClaim", name: src.metadata!.name! },
  };
  return out;
}

// ------------------------------------------------------------------------------------------ cluster

const isForbidden = (e: unknown) => e instanceof KodamaError && e.code === ExitCode.FORBIDDEN;

/**
 * The VolumeSnapshotClass for these claims, or why the VolumeSnapshot path does not apply (the API is not
 * served, the class cannot be read, no class for the driver, the claims are of different drivers).
 */
export async function snapshotClassFor(
  kube: Kube,
  claims: V1PersistentVolumeClaim[],
): Promise<{ className: string } | { why: string }> {
  const served = await kube.servesGroupVersion(SNAPSHOT_API).catch(() => false);
  if (!served) return { why: `the cluster does not serve ${SNAPSHOT_API}` };
  const drivers = new Set<string>();
  for (const c of claims) {
    let p = provisionerOf(c);
    if (!p && c.spec?.storageClassName) {
      p = (await kube.findObject<{ provisioner?: string }>("storageclasses", "", c.spec.storageClassName)
        .catch(() => undefined))?.provisioner;
    }
    if (!p) return { why: `the provisioner of ${c.metadata?.name} is not known` };
    drivers.add(p);
  }
  if (drivers.size !== 1) return { why: `the volumes are of different drivers (${[...drivers].join(", ")})` };
  const driver = [...drivers][0];
  let classes: VolumeSnapshotClass[];
  try {
    classes = (await kube.listObjects<VolumeSnapshotClass>("volumesnapshotclasses", undefined)).items;
  } catch (e) {
    if (isForbidden(e)) return { why: "VolumeSnapshotClasses may not be read with these credentials" };
    throw e;
  }
  const className = pickSnapshotClass(classes, driver);
  return className ? { className } : { why: `no VolumeSnapshotClass for the driver ${driver}` };
}

/** Is this provisioner a CSI driver (a CSIDriver object of its name)? Not readable counts as no. */
export async function isCsiDriver(kube: KubeObjects, provisioner: string | undefined): Promise<boolean> {
  if (!provisioner) return false;
  return !!(await kube.findObject("csidrivers", "", provisioner).catch(() => undefined));
}

/** kodama's VolumeSnapshots (label-checked), optionally of one session; none when the API is not served. */
export async function listVolumeSnapshots(
  kube: KubeObjects,
  ns: string | undefined,
  of?: string,
): Promise<VolumeSnapshot[]> {
  const sel = `${LABEL_MANAGED_BY}=${MANAGED_BY},kodama.dev/snapshot${
    of ? `,kodama.dev/snapshot-of=${of}` : ""
  }`;
  try {
    return (await kube.listObjects<VolumeSnapshot>("volumesnapshots", ns, { labelSelector: sel })).items;
  } catch (e) {
    // not served (404), or not readable: there are none kodama could use
    if (e instanceof KodamaError && (e.code === ExitCode.NOT_FOUND || e.code === ExitCode.FORBIDDEN)) {
      return [];
    }
    throw e;
  }
}

/** Wait until every named VolumeSnapshot is readyToUse; its status.error (or the deadline) ends the wait. */
export async function waitSnapshotsReady(
  kube: KubeObjects,
  ns: string,
  names: string[],
  timeoutMs: number,
): Promise<VolumeSnapshot[]> {
  const started = Date.now(), deadline = started + timeoutMs;
  let lastError = "";
  for (;;) {
    const got = await Promise.all(
      names.map((n) => kube.findObject<VolumeSnapshot>("volumesnapshots", ns, n)),
    );
    const missing = got.findIndex((v) => !v);
    if (missing >= 0) {
      throw new KodamaError(
        `VolumeSnapshot ${names[missing]} disappeared while it was being taken`,
        ExitCode.FAILED,
      );
    }
    if (got.every((v) => v!.status?.readyToUse === true)) return got as VolumeSnapshot[];
    const err = got.find((v) => v!.status?.error?.message);
    if (err) lastError = `${err.metadata?.name}: ${err.status!.error!.message}`;
    // an error on a snapshot that is not bound to any content is final enough to stop (the controller
    // retries, but a missing source or class will not appear by itself)
    if (err && !err.status?.boundVolumeSnapshotContentName && Date.now() - started > 5_000) {
      throw new KodamaError(
        `the VolumeSnapshot failed: ${lastError}`,
        ExitCode.FAILED,
        `kubectl describe volumesnapshot -n ${ns} ${err.metadata?.name}`,
      );
    }
    if (Date.now() > deadline) {
      throw new KodamaError(
        `timed out waiting for the VolumeSnapshots to be ready${lastError ? ` (${lastError})` : ""}`,
        ExitCode.TIMEOUT,
        `kubectl describe volumesnapshot -n ${ns} ${names.join(" ")}`,
      );
    }
    await new Promise((r) => setTimeout(r, 300));
  }
}
