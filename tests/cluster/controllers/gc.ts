/**
 * The garbage collector (kube-controller-manager's garbagecollector, v1.32) for ownerReferences:
 *
 * - **Background** (the default for every kind here but batch/v1 Job): the owner goes at once; then each
 *   dependent whose owners are all gone is deleted, and a dependent that still has another owner loses
 *   only the dangling reference.
 * - **Foreground**: the owner stays with `deletionTimestamp` and the `foregroundDeletion` finalizer; its
 *   dependents are deleted, and it goes once none with `blockOwnerDeletion: true` is left.
 * - **Orphan** (the API server's default for batch/v1 Jobs: their REST strategy's
 *   DefaultGarbageCollectionPolicy is OrphanDependents "for backwards compatibility"; `kubectl delete`
 *   always sends its own `--cascade`, background by default): the dependents lose their reference to it
 *   and stay.
 * - A dependent whose owners do not exist (by uid: the same name with another uid is another object) is
 *   collected when it appears.
 */
import type { Obj, StoreEvent } from "../store.ts";
import { resourceByKind, RESOURCES } from "../resources.ts";
import type { ControllerHost } from "./shared.ts";

export const FOREGROUND = "foregroundDeletion";

/** The propagation a DELETE without one gets (kube-apiserver's per-kind DefaultGarbageCollectionPolicy). */
export function defaultPropagation(resource: string): "Orphan" | "Background" {
  return resource === "jobs" ? "Orphan" : "Background";
}

interface Dependent {
  resource: string;
  obj: Readonly<Obj>;
}

export class GarbageCollector {
  constructor(private readonly host: ControllerHost) {}

  /** The objects that name `owner` (by uid) in their ownerReferences. */
  dependents(owner: Obj): Dependent[] {
    const uid = owner.metadata.uid;
    const ns = owner.metadata.namespace;
    const out: Dependent[] = [];
    for (const def of RESOURCES) {
      // Events own nothing and are many: never scanned
      if (def.virtual || def.name === "events" || (ns && !def.namespaced)) continue;
      for (const o of this.host.store.peek(def.name, ns || undefined)) {
        if ((o.metadata.ownerReferences ?? []).some((r: Obj) => r.uid === uid)) {
          out.push({ resource: def.name, obj: o });
        }
      }
    }
    return out;
  }

  /** Orphan: remove the references to `owner` from its dependents (before the owner goes). */
  orphan(owner: Obj) {
    for (const d of this.dependents(owner)) this.#dropRefs(d, [owner.metadata.uid]);
  }

  /** Foreground: mark the owner (deletionTimestamp + finalizer); the collector finishes it. */
  foreground(resource: string, owner: Obj, ts: string): Obj {
    const o = structuredClone(owner);
    o.metadata.deletionTimestamp ??= ts;
    o.metadata.deletionGracePeriodSeconds ??= 0;
    o.metadata.finalizers = [...new Set([...(o.metadata.finalizers ?? []), FOREGROUND])];
    const marked = this.host.store.replace(resource, o);
    queueMicrotask(() => this.#finishForeground(resource, marked));
    return marked;
  }

  onEvent(ev: StoreEvent) {
    if (ev.resource === "events") return;
    const o = ev.object;
    if (ev.type === "DELETED") {
      queueMicrotask(() => this.#ownerGone(o));
      // a dependent went: an owner waiting in the foreground may now go
      for (const r of o.metadata.ownerReferences ?? []) this.#foregroundOwner(r, o.metadata.namespace);
      return;
    }
    if (o.metadata.deletionTimestamp && (o.metadata.finalizers ?? []).includes(FOREGROUND)) {
      queueMicrotask(() => this.#finishForeground(ev.resource, o));
    }
    if (ev.type === "ADDED" && o.metadata.ownerReferences?.length) {
      queueMicrotask(() => this.#collectIfOrphaned(ev.resource, o));
    }
  }

  /** The owner a reference names, if it exists; a kind this server does not serve counts as existing (the
   * real collector cannot resolve it either, and leaves the dependent alone). */
  #ownerOf(ref: Obj, ns: string | undefined): { resource: string; obj: Obj } | undefined {
    const def = resourceByKind(ref.kind);
    if (!def) return { resource: "", obj: { metadata: { uid: ref.uid, name: ref.name } } };
    const obj = this.host.store.get(def.name, def.namespaced ? ns ?? "" : "", ref.name);
    return obj && obj.metadata.uid === ref.uid ? { resource: def.name, obj } : undefined;
  }

  #ownerGone(owner: Obj) {
    if (this.host.closed()) return;
    for (const d of this.dependents(owner)) {
      const refs: Obj[] = d.obj.metadata.ownerReferences ?? [];
      const solid = refs.filter((r) =>
        r.uid !== owner.metadata.uid && this.#ownerOf(r, d.obj.metadata.namespace)
      );
      if (solid.length) this.#dropRefs(d, refs.filter((r) => !solid.includes(r)).map((r) => r.uid));
      else if (!d.obj.metadata.deletionTimestamp) {
        this.host.deleteObject(d.resource, d.obj.metadata.namespace ?? "", d.obj.metadata.name, {
          propagationPolicy: "Background",
        });
      }
    }
  }

  #collectIfOrphaned(resource: string, o: Obj) {
    if (this.host.closed()) return;
    const cur = this.host.store.get(resource, o.metadata.namespace ?? "", o.metadata.name);
    if (!cur || cur.metadata.uid !== o.metadata.uid || cur.metadata.deletionTimestamp) return;
    const refs: Obj[] = cur.metadata.ownerReferences ?? [];
    if (!refs.length || refs.some((r) => this.#ownerOf(r, cur.metadata.namespace))) return;
    this.host.deleteObject(resource, cur.metadata.namespace ?? "", cur.metadata.name, {
      propagationPolicy: "Background",
    });
  }

  #foregroundOwner(ref: Obj, ns: string | undefined) {
    const owner = this.#ownerOf(ref, ns);
    if (
      owner && owner.obj.metadata.deletionTimestamp && owner.obj.metadata.finalizers?.includes(FOREGROUND)
    ) {
      queueMicrotask(() => this.#finishForeground(owner.resource, owner.obj));
    }
  }

  #finishForeground(resource: string, owner: Obj) {
    if (this.host.closed()) return;
    const ns = owner.metadata.namespace ?? "";
    const cur = this.host.store.get(resource, ns, owner.metadata.name);
    if (!cur || cur.metadata.uid !== owner.metadata.uid || !cur.metadata.finalizers?.includes(FOREGROUND)) {
      return;
    }
    const deps = this.dependents(cur);
    for (const d of deps) {
      if (d.obj.metadata.deletionTimestamp) continue;
      this.host.deleteObject(d.resource, d.obj.metadata.namespace ?? "", d.obj.metadata.name, {
        propagationPolicy: "Foreground",
      });
    }
    const blocking = deps.filter((d) =>
      (d.obj.metadata.ownerReferences ?? []).some((r: Obj) =>
        r.uid === cur.metadata.uid && r.blockOwnerDeletion
      )
    );
    if (blocking.length) return;
    cur.metadata.finalizers = cur.metadata.finalizers.filter((f: string) => f !== FOREGROUND);
    if (cur.metadata.finalizers.length) {
      this.host.store.replace(resource, cur);
      return;
    }
    delete cur.metadata.finalizers;
    this.host.store.replace(resource, cur);
    this.host.store.remove(resource, ns, cur.metadata.name);
  }

  #dropRefs(d: Dependent, uids: string[]) {
    const ns = d.obj.metadata.namespace ?? "";
    const cur = this.host.store.get(d.resource, ns, d.obj.metadata.name);
    if (!cur) return;
    const refs = (cur.metadata.ownerReferences ?? []).filter((r: Obj) => !uids.includes(r.uid));
    if (refs.length === (cur.metadata.ownerReferences ?? []).length) return;
    if (refs.length) cur.metadata.ownerReferences = refs;
    else delete cur.metadata.ownerReferences;
    this.host.store.replace(d.resource, cur);
  }
}
