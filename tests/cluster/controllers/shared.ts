/**
 * What the controllers (kube-controller-manager's job, statefulset and garbage-collector controllers, as
 * v1.32 runs them) share: the host they act through, and small pure helpers on pods and owners.
 */
import type { Obj, Store } from "../store.ts";
import { now } from "../defaults.ts";
import { labelSelectorMatches } from "../workloads.ts";

/** What a controller uses of the API server (ClusterApi): writes go through the API, with its validation. */
export interface ControllerHost {
  readonly store: Store;
  /** create a pod through the API (defaults, validation, admission, then the scheduler and the runtime) */
  createPod(ns: string, pod: Obj): Obj;
  /** delete through the API (a pod's graceful delete; the owner's propagation policy) */
  deleteObject(resource: string, ns: string, name: string, opts?: { propagationPolicy?: string }): void;
  /** an Event from `component` about `obj` */
  event(obj: Obj, type: "Normal" | "Warning", reason: string, message: string, component: string): void;
  /** run `fn` after `ms` unless the server closed meanwhile */
  later(ms: number, fn: () => void): void;
  closed(): boolean;
}

export function isTerminal(p: Obj): boolean {
  return p.status?.phase === "Succeeded" || p.status?.phase === "Failed";
}

export function isReady(p: Obj): boolean {
  return (p.status?.conditions ?? []).some((c: Obj) => c.type === "Ready" && c.status === "True");
}

/** The controller ownerReference of `o`, if any. */
export function controllerOf(o: Obj): Obj | undefined {
  return (o.metadata.ownerReferences ?? []).find((r: Obj) => r.controller === true);
}

/** The ownerReference a controller sets on what it creates (controller=true, blockOwnerDeletion=true). */
export function controllerRef(owner: Obj): Obj {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name,
    uid: owner.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/**
 * The pods a controller owns, as its ControllerRefManager claims them: owned ones (controller ref = its
 * uid) that still match the selector, and orphans that match (adopted: the ownerReference is written).
 * A pod it owns that no longer matches is released (its ownerReference removed).
 */
export function claimPods(store: Store, owner: Obj): Obj[] {
  const ns = owner.metadata.namespace;
  const uid = owner.metadata.uid;
  const mine: Obj[] = [];
  for (const p of [...store.peek("pods", ns)]) {
    const ref = controllerOf(p);
    const matches = labelSelectorMatches(owner.spec?.selector, p.metadata.labels);
    if (ref && ref.uid !== uid) continue;
    if (ref && matches) {
      mine.push(store.get("pods", ns, p.metadata.name)!);
    } else if (ref) {
      const next = store.get("pods", ns, p.metadata.name)!;
      next.metadata.ownerReferences = next.metadata.ownerReferences.filter((r: Obj) => r.uid !== uid);
      if (!next.metadata.ownerReferences.length) delete next.metadata.ownerReferences;
      store.replace("pods", next);
    } else if (matches && !p.metadata.deletionTimestamp && !owner.metadata.deletionTimestamp) {
      const next = store.get("pods", ns, p.metadata.name)!;
      next.metadata.ownerReferences = [...(next.metadata.ownerReferences ?? []), controllerRef(owner)];
      mine.push(store.replace("pods", next));
    }
  }
  return mine;
}

/** A status condition that keeps its transition time while its status stays (and probe time, for Jobs). */
export function setCondition(
  conds: Obj[] | undefined,
  type: string,
  status: string,
  reason: string,
  message: string,
  probe = false,
): Obj[] {
  const list = [...(conds ?? [])];
  const i = list.findIndex((c) => c.type === type);
  const old = i >= 0 ? list[i] : undefined;
  if (old && old.status === status && old.reason === reason && old.message === message) return list;
  const ts = now();
  const c: Obj = {
    type,
    status,
    ...(probe ? { lastProbeTime: ts } : {}),
    lastTransitionTime: old && old.status === status ? old.lastTransitionTime : ts,
    reason,
    message,
  };
  if (i >= 0) list[i] = c;
  else list.push(c);
  return list;
}

export function hasCondition(o: Obj, type: string, status = "True"): boolean {
  return (o.status?.conditions ?? []).some((c: Obj) => c.type === type && c.status === status);
}

/** The pod a controller creates from its template (labels and annotations copied, the controller ref set). */
export function podFromTemplate(owner: Obj, meta: Obj): Obj {
  const tpl = structuredClone(owner.spec.template ?? {});
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      ...meta,
      labels: { ...(tpl.metadata?.labels ?? {}), ...(meta.labels ?? {}) },
      ...(tpl.metadata?.annotations ? { annotations: tpl.metadata.annotations } : {}),
      ...(tpl.metadata?.finalizers ? { finalizers: tpl.metadata.finalizers } : {}),
      ownerReferences: [controllerRef(owner)],
    },
    spec: tpl.spec ?? {},
  };
}

/** 32-bit FNV-1a of a string (what ComputeHash uses, over the template) */
export function fnv32a(s: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(s)) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** k8s.io/apimachinery's rand.SafeEncodeString: a number as the "safe" alphabet (no vowels, no 0/1/3). */
export function safeEncode(n: number): string {
  const alphabet = "bcdfghjklmnpqrstvwxz2456789";
  return [...String(n)].map((d) => alphabet[d.charCodeAt(0) % alphabet.length]).join("");
}
