/**
 * The MCP server's pod cache: one list + watch per (context, namespace) in use, kept in memory, so a
 * warm `pods_list` or `pods_exec` finds its pods without a request. A selector the laptop cannot
 * evaluate (src/pods/selector.ts) goes to the API server. An entry is dropped — and the next call lists
 * again — when its watch fails or its resourceVersion expired (the DELETED events of the gap are lost),
 * and when no call used it for `idleMs`.
 */
import type { V1Pod } from "@kubernetes/client-node";
import type { Kube } from "../kube/client.ts";
import type { KubeObjects, KubePods } from "../kube/seam.ts";
import { ExitCode, KodamaError } from "../base/errors.ts";
import { podSelector } from "../pods/selector.ts";
import { podKey, type PodLister } from "../pods/target.ts";

interface Entry {
  pods: Map<string, V1Pod>;
  ready: Promise<void>;
  stop: AbortController;
  used: number;
}

export class PodCache {
  #entries = new Map<string, Entry>();
  #sweeper?: ReturnType<typeof setInterval>;
  constructor(readonly idleMs = 10 * 60_000) {}

  lister(kube: Kube): PodLister {
    return async (namespace, q) => {
      const match = podSelector(q.labelSelector, q.fieldSelector);
      if (!match) return await kube.listPods(namespace, q);
      const key = `${kube.contextName}\u0000${kube.server}\u0000${namespace ?? ""}`;
      const e = this.#entry(key, kube, namespace);
      try {
        await e.ready;
      } catch (err) {
        this.#drop(key, e);
        // may not list (or watch) pods here, yet perhaps get one by name: findPods asks as the CLI does
        if (err instanceof KodamaError && err.code === ExitCode.FORBIDDEN) return undefined;
        throw err;
      }
      return [...e.pods.values()].filter(match);
    };
  }

  /** How many (context, namespace) watches are open (for tests). */
  get size(): number {
    return this.#entries.size;
  }

  #entry(key: string, kube: KubeObjects & KubePods, namespace: string | undefined): Entry {
    const old = this.#entries.get(key);
    if (old) {
      old.used = Date.now();
      return old;
    }
    const stop = new AbortController();
    const pods = new Map<string, V1Pod>();
    const e: Entry = { pods, stop, used: Date.now(), ready: Promise.resolve() };
    e.ready = (async () => {
      const list = await kube.listPodsAt(namespace);
      for (const p of list.items) pods.set(podKey(p), p);
      kube.watchObjects<V1Pod>(
        "pods",
        namespace,
        {},
        (type, pod) => {
          if (type === "DELETED") pods.delete(podKey(pod));
          else pods.set(podKey(pod), pod);
        },
        { signal: stop.signal, from: list.resourceVersion, onExpired: () => this.#drop(key, e) },
      ).catch(() => {}).finally(() => this.#drop(key, e));
    })();
    this.#entries.set(key, e);
    this.#sweep();
    return e;
  }

  #drop(key: string, e: Entry): void {
    if (this.#entries.get(key) === e) this.#entries.delete(key);
    e.stop.abort();
  }

  #sweep(): void {
    if (this.#sweeper !== undefined) return;
    const timer = setInterval(() => {
      const now = Date.now();
      for (const [k, e] of this.#entries) if (now - e.used > this.idleMs) this.#drop(k, e);
    }, Math.min(this.idleMs, 60_000));
    Deno.unrefTimer(timer as unknown as number);
    this.#sweeper = timer;
  }

  close(): void {
    for (const [k, e] of this.#entries) this.#drop(k, e);
    if (this.#sweeper !== undefined) clearInterval(this.#sweeper);
  }
}
