/**
 * Storage as a real cluster has it, in small: StorageClasses (storage.k8s.io/v1), the DefaultStorageClass
 * admission plugin, a persistentvolume-controller that binds a claim when its class exists and otherwise
 * leaves it Pending with the controller's event, and the scheduler's rule that a pod using an unbound
 * or missing claim is not scheduled (PodScheduled=False, Unschedulable, a FailedScheduling event) until
 * its claims are bound. Pure over the store; api.ts calls these at the right moments.
 */
import type { Obj, Store } from "./store.ts";
import { recordEvent } from "./events.ts";

export const DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class";
/** The class every test server has (a cluster's default class), provisioning local directories. */
export const DEFAULT_STORAGE_CLASS = "standard";
export const TEST_PROVISIONER = "kodama.dev/test-hostpath";

/** The cluster's default StorageClass name, if one is marked default. */
export function defaultClass(store: Store): string | undefined {
  const defaults = [...store.peek("storageclasses")].filter((c) =>
    c.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === "true"
  );
  // several defaults: the newest wins, as the admission plugin picks it
  defaults.sort((a, b) =>
    String(b.metadata.creationTimestamp).localeCompare(String(a.metadata.creationTimestamp))
  );
  return defaults[0]?.metadata.name;
}

/** DefaultStorageClass admission: a claim without storageClassName gets the default class. */
export function admitClaim(store: Store, claim: Obj): void {
  if (claim.spec && claim.spec.storageClassName === undefined) {
    const d = defaultClass(store);
    if (d) claim.spec.storageClassName = d;
  }
}

/** Why a claim cannot be bound now (the controller's event), or undefined when it can. */
export function bindProblem(store: Store, claim: Obj): { reason: string; message: string } | undefined {
  const cls = claim.spec?.storageClassName;
  if (cls === undefined || cls === "") {
    return {
      reason: "FailedBinding",
      message: "no persistent volumes available for this claim and no storage class is set",
    };
  }
  if (!store.has("storageclasses", "", cls)) {
    return { reason: "ProvisioningFailed", message: `storageclass.storage.k8s.io "${cls}" not found` };
  }
  // a class whose volumes cannot be shared (a block-storage CSI driver): its provisioner refuses the mode
  const modes = supportedModes(store.get("storageclasses", "", cls));
  const bad = modes && (claim.spec?.accessModes ?? []).find((m: string) => !modes.includes(m));
  if (bad) {
    return {
      reason: "ProvisioningFailed",
      message:
        `failed to provision volume with StorageClass "${cls}": rpc error: code = InvalidArgument desc = access mode ${bad} is not supported`,
    };
  }
  return undefined;
}

/**
 * The access modes a test-provisioner class offers: `parameters.accessModes` (`ReadWriteOnce,ReadOnlyMany`);
 * unset: every mode, as the real cluster's hostPath volumes do.
 */
export function supportedModes(cls: Obj | undefined): string[] | undefined {
  const v = cls?.provisioner === TEST_PROVISIONER ? cls.parameters?.accessModes : undefined;
  return typeof v === "string" ? v.split(",").map((m) => m.trim()).filter(Boolean) : undefined;
}

/** The status of a bound claim (and the volume name the provisioner gave it). */
export function boundClaim(claim: Obj, provisioner = TEST_PROVISIONER): void {
  claim.spec.volumeName ??= `pvc-${claim.metadata.uid}`;
  claim.metadata.annotations = {
    ...(claim.metadata.annotations ?? {}),
    "pv.kubernetes.io/bind-completed": "yes",
    "pv.kubernetes.io/bound-by-controller": "yes",
    "volume.beta.kubernetes.io/storage-provisioner": provisioner,
    "volume.kubernetes.io/storage-provisioner": provisioner,
  };
  claim.status = {
    phase: "Bound",
    accessModes: claim.spec.accessModes,
    capacity: { storage: claim.spec.resources?.requests?.storage },
  };
}

export function pvcEvent(
  store: Store,
  claim: Obj,
  type: string,
  reason: string,
  message: string,
  component = "persistentvolume-controller",
): void {
  recordEvent(
    store,
    claim.metadata.namespace,
    {
      kind: "PersistentVolumeClaim",
      namespace: claim.metadata.namespace,
      name: claim.metadata.name,
      uid: claim.metadata.uid,
      apiVersion: "v1",
      resourceVersion: claim.metadata.resourceVersion,
    },
    type,
    reason,
    message,
    component,
  );
}

/** The claim's StorageClass object, when it names one that exists. */
export function classOf(store: Store, claim: Obj): Obj | undefined {
  const cls = claim.spec?.storageClassName;
  return cls ? store.get("storageclasses", "", cls) : undefined;
}

/**
 * The test provisioner's one parameter: `parameters.provisionDelay` (`10s`, `500ms`) on a StorageClass
 * makes it take that long per volume, as a cloud disk does; the claim stays Pending with the
 * provisioner's events meanwhile. 0 when unset or unreadable.
 */
export function provisionDelayMs(cls: Obj | undefined): number {
  const v = cls?.provisioner === TEST_PROVISIONER ? cls.parameters?.provisionDelay : undefined;
  const m = typeof v === "string" ? /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(v.trim()) : null;
  if (!m) return 0;
  return Math.round(Number(m[1]) * (m[2] === "ms" ? 1 : m[2] === "s" ? 1000 : 60_000));
}

/** A `WaitForFirstConsumer` claim no pod has asked for yet (the scheduler sets `selected-node`). */
export function waitsForConsumer(store: Store, claim: Obj): boolean {
  return classOf(store, claim)?.volumeBindingMode === "WaitForFirstConsumer" &&
    !claim.metadata.annotations?.[SELECTED_NODE];
}

/** Set by the scheduler on a `WaitForFirstConsumer` claim once a pod using it is placed. */
export const SELECTED_NODE = "volume.kubernetes.io/selected-node";

/**
 * The scheduler's verdict for a pod's claims: undefined when every claim exists and is bound, else the
 * FailedScheduling message kube-scheduler gives (one node in this cluster).
 */
export function claimsBlockScheduling(store: Store, pod: Obj): string | undefined {
  const ns = pod.metadata.namespace;
  for (const v of pod.spec?.volumes ?? []) {
    const name = v.persistentVolumeClaim?.claimName;
    if (!name) continue;
    const c = store.get("persistentvolumeclaims", ns, name);
    if (!c) return `0/1 nodes are available: 1 persistentvolumeclaim "${name}" not found.`;
    if (c.metadata.deletionTimestamp) {
      return `0/1 nodes are available: 1 persistentvolumeclaim "${name}" is being deleted.`;
    }
  }
  for (const v of pod.spec?.volumes ?? []) {
    const name = v.persistentVolumeClaim?.claimName;
    const c = name ? store.get("persistentvolumeclaims", ns, name) : undefined;
    if (c && c.status?.phase !== "Bound" && classOf(store, c)?.volumeBindingMode !== "WaitForFirstConsumer") {
      return "0/1 nodes are available: 1 pod has unbound immediate PersistentVolumeClaims.";
    }
  }
  return undefined;
}

/**
 * The pod's `WaitForFirstConsumer` claims not bound yet: the scheduler picks the node, marks them
 * (`selected-node`) and waits in its binding step until they are provisioned; the pod gets no
 * FailedScheduling meanwhile.
 */
export function consumerClaims(store: Store, pod: Obj): Obj[] {
  const out: Obj[] = [];
  for (const v of pod.spec?.volumes ?? []) {
    const name = v.persistentVolumeClaim?.claimName;
    const c = name ? store.get("persistentvolumeclaims", pod.metadata.namespace, name) : undefined;
    if (c && c.status?.phase !== "Bound" && classOf(store, c)?.volumeBindingMode === "WaitForFirstConsumer") {
      out.push(c);
    }
  }
  return out;
}

/** The status of a pod the scheduler could not place. */
export function unschedulableStatus(pod: Obj, message: string, ts: string): Obj {
  return {
    phase: "Pending",
    conditions: [{
      type: "PodScheduled",
      status: "False",
      lastProbeTime: null,
      lastTransitionTime: ts,
      reason: "Unschedulable",
      message,
    }],
    qosClass: pod.status?.qosClass,
  };
}
