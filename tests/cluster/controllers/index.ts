/**
 * kube-controller-manager's part of the test server: the Job, StatefulSet and disruption (PDB status)
 * controllers, the node taints of a cordon and the garbage collector, hooked to the store's events (a change queues the object's controller; syncs run together
 * on a microtask, as the controllers' work queues do). Pods they make go through the API (ClusterApi), so
 * the HTTPS server's runtime starts them as any pod, and in the in-memory cluster they are objects a test
 * moves with `setPodStatus`.
 */
import type { Obj, StoreEvent } from "../store.ts";
import { labelSelectorMatches } from "../workloads.ts";
import { GarbageCollector } from "./gc.ts";
import { JobController, type JobOptions } from "./job.ts";
import { type ControllerHost, controllerOf } from "./shared.ts";
import { StatefulSetController } from "./statefulset.ts";
import { DisruptionController } from "./pdb.ts";
import { syncNodeTaints } from "./nodelifecycle.ts";

export type ControllerOptions = JobOptions;

export class Controllers {
  readonly gc: GarbageCollector;
  readonly jobs: JobController;
  readonly statefulSets: StatefulSetController;
  readonly disruption: DisruptionController;
  #queue = new Map<string, { resource: string; ns: string; name: string }>();
  readonly #unsubscribe: () => void;

  constructor(private readonly host: ControllerHost, opts: ControllerOptions = {}) {
    this.gc = new GarbageCollector(host);
    this.jobs = new JobController(host, opts, (job) => this.#enqueue("jobs", job));
    this.statefulSets = new StatefulSetController(host);
    this.disruption = new DisruptionController(host);
    this.#unsubscribe = host.store.subscribe("*", (ev) => this.#onEvent(ev));
  }

  close() {
    this.#unsubscribe();
    this.#queue.clear();
  }

  #onEvent(ev: StoreEvent) {
    if (this.host.closed() || ev.resource === "events") return;
    const o = ev.object;
    if (o.metadata.namespace && ev.resource !== "poddisruptionbudgets") {
      // the disruption controller counts pods and their controllers' scale
      if (["pods", "statefulsets", "replicasets", "deployments"].includes(ev.resource)) {
        for (const b of this.host.store.peek("poddisruptionbudgets", o.metadata.namespace)) {
          this.#enqueue("poddisruptionbudgets", b);
        }
      }
    }
    switch (ev.resource) {
      case "nodes":
        if (ev.type !== "DELETED") syncNodeTaints(this.host, o);
        break;
      case "poddisruptionbudgets":
        if (ev.type !== "DELETED") this.#enqueue(ev.resource, o);
        break;
      case "jobs":
      case "statefulsets":
        if (ev.type === "DELETED") {
          if (ev.resource === "jobs") this.jobs.forget(o.metadata.uid);
        } else this.#enqueue(ev.resource, o);
        break;
      case "pods": {
        if (ev.type === "DELETED") this.jobs.podGone(o);
        const ref = controllerOf(o);
        if (ref?.kind === "Job") this.#enqueueByName("jobs", o.metadata.namespace, ref.name);
        else if (ref?.kind === "StatefulSet") {
          this.#enqueueByName("statefulsets", o.metadata.namespace, ref.name);
        } else if (!ref && ev.type !== "DELETED") {
          // an orphan: a controller whose selector matches adopts it
          for (const r of ["jobs", "statefulsets"]) {
            for (const w of this.host.store.peek(r, o.metadata.namespace)) {
              if (labelSelectorMatches(w.spec?.selector, o.metadata.labels)) this.#enqueue(r, w);
            }
          }
        }
        break;
      }
    }
    this.gc.onEvent(ev);
  }

  #enqueueByName(resource: string, ns: string, name: string) {
    if (this.#queue.size === 0) queueMicrotask(() => this.#flush());
    this.#queue.set(`${resource}/${ns}/${name}`, { resource, ns, name });
  }

  #enqueue(resource: string, o: Obj) {
    this.#enqueueByName(resource, o.metadata.namespace, o.metadata.name);
  }

  #flush() {
    const work = [...this.#queue.values()];
    this.#queue.clear();
    for (const w of work) {
      if (this.host.closed()) return;
      const o = this.host.store.get(w.resource, w.ns, w.name);
      if (!o) continue;
      try {
        if (w.resource === "jobs") this.jobs.sync(o);
        else if (w.resource === "statefulsets") this.statefulSets.sync(o);
        else this.disruption.sync(o);
      } catch (e) {
        console.error(`[cluster] ${w.resource} ${w.ns}/${w.name}: ${(e as Error).stack}`);
      }
    }
  }
}
