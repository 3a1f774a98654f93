/**
 * The Kubernetes client every feature uses. Only `src/kube/` talks to the API server.
 * `Kube.connect` only reads the kubeconfig; the first request opens the connection.
 */
import { CoreV1Api, KubeConfig, Watch } from "@kubernetes/client-node";
import type { V1Pod } from "@kubernetes/client-node";
import { type KubeOptions, loadKubeConfig, resolveNamespace } from "./config.ts";
import { type ApiWhat, toKodamaError } from "./errors.ts";

export type { KubeOptions } from "./config.ts";
export type { V1Pod } from "@kubernetes/client-node";

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED";

export interface PodQuery {
  labelSelector?: string;
  fieldSelector?: string;
}

export class Kube {
  readonly core: CoreV1Api;
  readonly namespace: string;
  readonly contextName: string;
  readonly server: string;

  private constructor(readonly kc: KubeConfig, namespaceFlag?: string) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.namespace = resolveNamespace(kc, namespaceFlag);
    this.contextName = kc.getCurrentContext();
    this.server = kc.getCurrentCluster()?.server ?? "?";
  }

  static connect(opts: KubeOptions = {}): Promise<Kube> {
    return Promise.resolve(new Kube(loadKubeConfig(opts), opts.namespace));
  }

  /** Run an API call with its errors mapped to KodamaError. */
  async call<T>(what: ApiWhat, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw toKodamaError(e, what, this);
    }
  }

  /** List pods in one namespace, or in all namespaces when `namespace` is undefined. */
  async listPods(namespace: string | undefined, q: PodQuery = {}): Promise<V1Pod[]> {
    const list = await this.call(
      { verb: "list", resource: "pods", namespace },
      () =>
        namespace === undefined
          ? this.core.listPodForAllNamespaces({ labelSelector: q.labelSelector, fieldSelector: q.fieldSelector })
          : this.core.listNamespacedPod({ namespace, labelSelector: q.labelSelector, fieldSelector: q.fieldSelector }),
    );
    return list.items;
  }

  getPod(namespace: string, name: string): Promise<V1Pod> {
    return this.call({ verb: "get", resource: "pods", namespace, name }, () =>
      this.core.readNamespacedPod({ name, namespace }));
  }

  /**
   * Watch pods until `signal` aborts. The first connection replays existing pods as ADDED;
   * dropped connections are resumed from the last resourceVersion with backoff (a 410 Gone
   * starts over, replaying ADDED — consumers must treat ADDED idempotently).
   * Rejects only for errors a retry cannot fix (forbidden, not found, bad selector).
   */
  async watchPods(
    namespace: string | undefined,
    q: PodQuery,
    onEvent: (type: WatchEventType, pod: V1Pod) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const path = namespace === undefined ? "/api/v1/pods" : `/api/v1/namespaces/${namespace}/pods`;
    const what: ApiWhat = { verb: "watch", resource: "pods", namespace };
    const watch = new Watch(this.kc);
    (watch as unknown as { requestTimeoutMs: number }).requestTimeoutMs = 5 * 60_000;
    let resourceVersion: string | undefined;
    let backoff = 200;
    while (!signal.aborted) {
      const ended = Promise.withResolvers<unknown>();
      let gotEvent = false;
      let req: AbortController | undefined;
      try {
        req = await watch.watch(
          path,
          { labelSelector: q.labelSelector, fieldSelector: q.fieldSelector, resourceVersion },
          (type: string, obj: V1Pod & { code?: number; kind?: string }) => {
            gotEvent = true;
            if (type === "ERROR") {
              if (obj?.code === 410) resourceVersion = undefined;
              return;
            }
            if (type === "BOOKMARK") {
              resourceVersion = obj.metadata?.resourceVersion ?? resourceVersion;
              return;
            }
            resourceVersion = obj.metadata?.resourceVersion ?? resourceVersion;
            onEvent(type as WatchEventType, obj);
          },
          (err: unknown) => ended.resolve(err),
        );
      } catch (e) {
        const ke = toKodamaError(e, what, this);
        if (ke.code === 4 || ke.code === 3 || ke.code === 2) throw ke;
        ended.resolve(e);
      }
      const onAbort = () => req?.abort();
      signal.addEventListener("abort", onAbort, { once: true });
      await ended.promise;
      signal.removeEventListener("abort", onAbort);
      if (signal.aborted) return;
      backoff = gotEvent ? 200 : Math.min(backoff * 2, 5000);
      await new Promise((r) => setTimeout(r, backoff));
    }
  }
}
