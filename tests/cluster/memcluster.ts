/**
 * The in-memory cluster: the test server's own object model (`ClusterApi` over `Store`: resourceVersions,
 * watch history and replay, 410 Gone, 409 conflicts, generateName, finalizers and deletionTimestamp,
 * validation, selectors) behind the narrow interfaces features take (`src/kube/seam.ts`), in-process — no
 * HTTPS, no sockets, no real time. Feature logic is tested against it with a manual clock (`tests/_clock.ts`);
 * the HTTPS server (./server.ts) stays for the wire protocol, kubectl parity and the black-box CLI tests.
 *
 * Errors are what `Kube` throws for the same answer: the API's Status mapped by `toKodamaError`
 * (src/kube/errors.ts), so messages and exit codes are the real client's (`memcluster_test.ts` compares
 * them with the HTTPS server's). Watch events arrive asynchronously, in the server's order, as over a
 * connection. No pod runs: a test moves a pod through its life with `setPodStatus` / `podReady`
 * (what the kubelet would report); deletion is immediate after the terminating update (no grace wait).
 * kube-controller-manager's part runs here too (./controllers/: Jobs and StatefulSets make pods — objects a
 * test moves the same way —, the garbage collector, PDB status, the Eviction API as `api.evict`), and the
 * cluster faults are `faults` (a lost node, kubelet pressure eviction, preemption, an OOM kill).
 * An exec runs the command on this machine against directories that stand for the pod's volumes
 * (./memexec.ts): the real pod programs, without the wire.
 */
import type { V1EnvVar, V1Pod } from "@kubernetes/client-node";
import type { WatchEventType, WatchOptions } from "../../src/kube/client.ts";
import { type PodQuery, type Resource, resourceName } from "../../src/kube/resources.ts";
import { toKodamaError } from "../../src/kube/errors.ts";
import type { ApiWhat } from "../../src/kube/errors.ts";
import type { KubeReachEvents, KubeSessions, KubeTargets } from "../../src/kube/seam.ts";
import type { ReachEvent } from "../../src/kube/reach.ts";
import { ExitCode, KodamaError } from "../../src/base/errors.ts";
import type { ExecResult, ExecStreams } from "../../src/kube/exec.ts";
import type { LogQuery } from "../../src/kube/logs.ts";
import { podPath, runInPod } from "./memexec.ts";
import { onAbort } from "../../src/base/proc/timer.ts";
import { ClusterApi, SYSTEM_NAMESPACES } from "./api.ts";
import { type ResourceDef, RESOURCES } from "./resources.ts";
import { parseFieldSelector, parseLabelSelector } from "./selectors.ts";
import { ApiError } from "./status.ts";
import type { Obj } from "./store.ts";
import { nodeObject } from "./nodes.ts";
import { type ClusterFaults, clusterFaults } from "./faults.ts";
import { DEFAULT_CLASS_ANNOTATION, DEFAULT_STORAGE_CLASS, TEST_PROVISIONER } from "./storage.ts";

/** Where errors say the in-memory cluster is (as a context and server). */
const SERVER = { server: "memory://cluster", contextName: "memory" };

export interface MemClusterOptions {
  /** the command's namespace (created with the system ones); default "default" */
  namespace?: string;
  /** more namespaces to create */
  namespaces?: string[];
  /** events kept for watches from a resourceVersion (default the server's 20,000): older is 410 Gone */
  history?: number;
  /** the controllers' timing, e.g. `{ backoffBaseMs: 0 }` for the Job back-off (controllers/) */
  controllers?: import("./controllers/index.ts").ControllerOptions;
}

export class MemCluster implements KubeTargets, KubeSessions, KubeReachEvents {
  readonly api: ClusterApi;
  readonly namespace: string;
  readonly contextName = SERVER.contextName;
  readonly server = SERVER.server;
  /** each container's log (`NAMESPACE/POD/CONTAINER` → text), as the kubelet would serve it; a test sets it */
  readonly logs = new Map<string, string>();
  /**
   * The API server's reachability as `Kube.reach` reports it. A test may set `down`, send a lost/back event
   * (`emit`) and set the error `gaveUp()` returns (`gaveUpWith`, as after --reconnect-timeout).
   */
  readonly reach = {
    down: false,
    describe: () => "unreachable: the in-memory cluster was stopped",
    listeners: new Set<(e: ReachEvent) => void>(),
    subscribe(fn: (e: ReachEvent) => void): () => void {
      this.listeners.add(fn);
      return () => this.listeners.delete(fn);
    },
    emit(e: ReachEvent): void {
      for (const l of this.listeners) l(e);
    },
    gaveUpWith: undefined as KodamaError | undefined,
    gaveUp(): KodamaError | undefined {
      return this.gaveUpWith;
    },
  };
  /** a lost node, kubelet pressure eviction, preemption, another node (faults.ts ClusterFaults) */
  readonly faults: ClusterFaults;
  /** while true, watch events are lost (a connection that stalls without closing); lists still answer */
  dropWatchEvents = false;
  readonly #stateDir: string;

  constructor(o: MemClusterOptions = {}) {
    this.namespace = o.namespace ?? "default";
    this.#stateDir = Deno.makeTempDirSync({ prefix: "kodama-memcluster-" });
    this.api = new ClusterApi(this.#stateDir, o.controllers);
    for (const ns of new Set([...SYSTEM_NAMESPACES, this.namespace, ...(o.namespaces ?? [])])) {
      this.api.create(this.#def("namespaces" as Resource), "", { metadata: { name: ns } });
    }
    // the one node and the default StorageClass, as the HTTPS server has them (./server.ts)
    this.api.store.insert("nodes", nodeObject());
    this.api.create(this.#def("storageclasses"), "", {
      metadata: { name: DEFAULT_STORAGE_CLASS, annotations: { [DEFAULT_CLASS_ANNOTATION]: "true" } },
      provisioner: TEST_PROVISIONER,
    });
    if (o.history !== undefined) this.api.store.historyLimit = o.history;
    this.faults = clusterFaults(this.api);
  }

  /** Stop the model's timers and remove its state directory. */
  close(): void {
    this.api.close();
    Deno.removeSync(this.#stateDir, { recursive: true });
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #def(resource: Resource): ResourceDef {
    const def = RESOURCES.find((d) => d.name === resource);
    if (!def) throw new Error(`the in-memory cluster does not serve ${resource}`);
    return def;
  }

  /** Run one API call; its ApiError becomes the KodamaError `Kube` makes of the same Status. */
  async #call<T>(what: ApiWhat, fn: () => T | Promise<T>): Promise<T> {
    // an answer is never synchronous over a connection: callers see the same interleaving as with Kube
    await Promise.resolve();
    try {
      return await fn();
    } catch (e) {
      if (e instanceof ApiError) throw toKodamaError({ code: e.code, body: e.toStatus() }, what, SERVER);
      throw e;
    }
  }

  #selectors(resource: Resource, q: PodQuery = {}) {
    return {
      labels: parseLabelSelector(q.labelSelector),
      fields: parseFieldSelector(q.fieldSelector, resource),
    };
  }

  // ------------------------------------------------------------------ KubeObjects

  getObject<T>(resource: Resource, namespace: string, name: string): Promise<T> {
    const what = { verb: "get", resource: resourceName(resource), namespace, name };
    return this.#call(what, () => this.api.get(this.#def(resource), namespace, name) as T);
  }

  async findObject<T>(resource: Resource, namespace: string, name: string): Promise<T | undefined> {
    const what = { verb: "get", resource: resourceName(resource), namespace, name };
    return await this.#call(what, () => {
      try {
        return this.api.get(this.#def(resource), namespace, name) as T;
      } catch (e) {
        if (e instanceof ApiError && e.code === 404) return undefined;
        throw e;
      }
    });
  }

  listObjects<T>(
    resource: Resource,
    namespace: string | undefined,
    q: PodQuery = {},
  ): Promise<{ items: T[]; resourceVersion?: string }> {
    const what = { verb: "list", resource: resourceName(resource), namespace };
    return this.#call(what, () => {
      const r = this.api.list(this.#def(resource), namespace, this.#selectors(resource, q));
      return { items: r.items as T[], resourceVersion: r.resourceVersion };
    });
  }

  createObject<T>(resource: Resource, namespace: string, body: T, o: { dryRun?: boolean } = {}): Promise<T> {
    const name = (body as { metadata?: { name?: string } }).metadata?.name;
    const what = { verb: "create", resource: resourceName(resource), namespace, name };
    return this.#call(what, () => this.api.create(this.#def(resource), namespace, body, o) as T);
  }

  patchObject<T>(resource: Resource, namespace: string, name: string, patch: unknown): Promise<T> {
    const what = { verb: "patch", resource: resourceName(resource), namespace, name };
    return this.#call(
      what,
      () => this.api.patch(this.#def(resource), namespace, name, "merge", JSON.stringify(patch)) as T,
    );
  }

  async deleteObject(
    resource: Resource,
    namespace: string,
    name: string,
    o: {
      gracePeriodSeconds?: number;
      dryRun?: boolean;
      resourceVersion?: string;
      propagationPolicy?: string;
    } = {},
  ): Promise<boolean> {
    const what = { verb: "delete", resource: resourceName(resource), namespace, name };
    return await this.#call(what, async () => {
      try {
        await this.api.delete(this.#def(resource), namespace, name, {
          gracePeriodSeconds: o.gracePeriodSeconds,
          dryRun: o.dryRun,
          propagationPolicy: o.propagationPolicy,
          preconditions: o.resourceVersion ? { resourceVersion: o.resourceVersion } : undefined,
        });
        return true;
      } catch (e) {
        if (e instanceof ApiError && e.code === 404) return false;
        throw e;
      }
    });
  }

  /**
   * `Kube.watchObjects`' contract: events until `o.signal` aborts; from `o.from`, else the current objects
   * as ADDED; a resourceVersion older than the history is 410 Gone: `o.onExpired`, then ADDED again.
   */
  async watchObjects<T extends { metadata?: { resourceVersion?: string } }>(
    resource: Resource,
    namespace: string | undefined,
    q: PodQuery,
    onEvent: (type: WatchEventType, obj: T) => void,
    o: WatchOptions,
  ): Promise<void> {
    const what = { verb: "watch", resource: resourceName(resource), namespace };
    const def = this.#def(resource);
    const sel = await this.#call(what, () => this.#selectors(resource, q));
    if (o.signal.aborted) return;
    const send = (type: WatchEventType, obj: Obj) => {
      if (this.dropWatchEvents) return;
      queueMicrotask(() => {
        if (!o.signal.aborted) onEvent(type, obj as T);
      });
    };
    const unsub = await this.#call(what, () => {
      try {
        return this.api.watch(def, namespace, { ...sel, resourceVersion: o.from }, send);
      } catch (e) {
        if (!(e instanceof ApiError && e.code === 410)) throw e;
        o.onExpired?.();
        return this.api.watch(def, namespace, sel, send);
      }
    });
    try {
      await new Promise<void>((resolve) => onAbort(o.signal, resolve));
    } finally {
      unsub();
    }
  }

  // ------------------------------------------------------------------ KubePods

  async listPods(namespace: string | undefined, q: PodQuery = {}): Promise<V1Pod[]> {
    return (await this.listPodsAt(namespace, q)).items;
  }

  listPodsAt(namespace: string | undefined, q: PodQuery = {}) {
    return this.listObjects<V1Pod>("pods", namespace, q);
  }

  watchPods(
    namespace: string | undefined,
    q: PodQuery,
    onEvent: (type: WatchEventType, pod: V1Pod) => void,
    signal: AbortSignal,
    from?: string,
  ): Promise<void> {
    return this.watchObjects<V1Pod>("pods", namespace, q, onEvent, { signal, from });
  }

  async namespaceExists(name: string): Promise<boolean> {
    try {
      return await this.findObject("namespaces" as Resource, "", name) !== undefined;
    } catch (e) {
      // as Kube's: forbidden to look, it is taken to exist
      if (e instanceof KodamaError && e.code === ExitCode.FORBIDDEN) return true;
      throw e;
    }
  }

  // ------------------------------------------------------------------ for tests

  /** Watches open on a resource now. */
  watching(resource: Resource): number {
    return this.api.watching(resource);
  }

  /** Resolves once `n` watches of `resource` are open: the event "the watch is connected". */
  whenWatching(resource: Resource, n = 1): Promise<void> {
    return this.api.whenWatching(resource, n);
  }

  // ------------------------------------------------------------------ KubeStreams

  async execIn(
    ns: string,
    pod: string,
    container: string,
    command: string[],
    s: ExecStreams = {},
  ): Promise<ExecResult> {
    const what = { verb: "create", resource: "pods/exec", namespace: ns, name: pod };
    const p = await this.#call(what, () => this.api.get(this.#def("pods"), ns, pod) as V1Pod);
    return await runInPod(this.#stateDir, p, container, command, s);
  }

  async logOf(
    ns: string,
    pod: string,
    container: string,
    q: LogQuery,
    onData: (chunk: Uint8Array) => void | Promise<void>,
    signal?: AbortSignal,
  ): Promise<"eof" | "aborted"> {
    const what = { verb: "get", resource: "pods/log", namespace: ns, name: pod };
    const p = await this.#call(what, () => this.api.get(this.#def("pods"), ns, pod) as V1Pod);
    if (signal?.aborted) return "aborted";
    if (!p.spec?.containers?.some((c) => c.name === container)) {
      throw toKodamaError(
        {
          code: 400,
          body: {
            kind: "Status",
            status: "Failure",
            reason: "BadRequest",
            code: 400,
            message: `container ${container} is not valid for pod ${pod}`,
          },
        },
        what,
        SERVER,
      );
    }
    // the kubelet's answer: the last `tailLines` lines, each stamped (here with the pod's creation time)
    let lines = (this.logs.get(`${ns}/${pod}/${container}`) ?? "").split(/(?<=\n)/).filter((l) => l);
    if (q.tailLines !== undefined) lines = q.tailLines === 0 ? [] : lines.slice(-q.tailLines);
    const stamp = `${String(p.metadata?.creationTimestamp ?? "").replace(/Z$/, ".000000000Z")} `;
    const text = lines.map((l) => (q.timestamps ? stamp + l : l)).join("");
    if (text) await onData(new TextEncoder().encode(text));
    return "eof";
  }

  /** Where `path` in the pod's container is on this machine: the test writes and reads the pod's files there. */
  podPath(pod: string, container: string, path: string, namespace = this.namespace): string {
    return podPath(this.#stateDir, this.api.get(this.#def("pods"), namespace, pod) as V1Pod, container, path);
  }

  // ------------------------------------------------------------------ a test's hands

  /**
   * A pod as `kubectl run NAME --image=busybox` makes it (scheduled, Pending until a status says more);
   * `emptyDirs`: paths where the container mounts an emptyDir of its own (memexec.ts gives each a directory).
   */
  addPod(
    name: string,
    o: { namespace?: string; labels?: Record<string, string>; env?: V1EnvVar[]; emptyDirs?: string[] } = {},
  ): V1Pod {
    const dirs = o.emptyDirs ?? [];
    const volumeMounts = dirs.map((mountPath, i) => ({ name: `v${i}`, mountPath }));
    return this.api.create(this.#def("pods"), o.namespace ?? this.namespace, {
      metadata: { name, labels: o.labels },
      spec: {
        containers: [{
          name: "main",
          image: "busybox",
          ...(o.env ? { env: o.env } : {}),
          ...(dirs.length ? { volumeMounts } : {}),
        }],
        ...(dirs.length ? { volumes: volumeMounts.map(({ name }) => ({ name, emptyDir: {} })) } : {}),
      },
    }) as V1Pod;
  }

  /** What the kubelet reports for a pod (its whole status). */
  setPodStatus(name: string, status: Record<string, unknown>, namespace = this.namespace): void {
    this.api.updatePodStatus(namespace, name, status);
  }

  /** The pod running with its one container ready (or, `ready: false`, running and not ready). */
  podReady(name: string, ready = true, namespace = this.namespace): void {
    const t = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    this.setPodStatus(name, {
      phase: "Running",
      conditions: ["PodScheduled", "Initialized", "ContainersReady", "Ready"].map((type) => ({
        type,
        status: type === "PodScheduled" || type === "Initialized" || ready ? "True" : "False",
        lastTransitionTime: t,
      })),
      containerStatuses: [{
        name: "main",
        image: "busybox",
        imageID: "",
        ready,
        restartCount: 0,
        state: { running: { startedAt: t } },
      }],
    }, namespace);
  }
}
