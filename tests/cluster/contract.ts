/**
 * The seam between the two halves of the Kubernetes API test server:
 *
 *  - the API half (server.ts, store, auth, discovery, CRUD, watch, validation, seed, kubeconfig),
 *  - the runtime half (runtime/: pod containers as local processes, PTYs, log files;
 *    streams/: exec, attach, logs, port-forward over the Kubernetes channel protocols).
 *
 * The API half owns the object store and decides *when* a pod starts or stops; the runtime
 * half owns processes and decides *what* the pod status looks like while it runs, reporting
 * changes back through `RuntimeHost.updatePodStatus`.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";

/** Minimal pod shape the runtime reads (a plain Kubernetes Pod JSON object). */
// deno-lint-ignore no-explicit-any
export type PodObject = Record<string, any> & {
  metadata: { name: string; namespace: string; uid: string; [k: string]: unknown };
  // deno-lint-ignore no-explicit-any
  spec: Record<string, any>;
  // deno-lint-ignore no-explicit-any
  status?: Record<string, any>;
};

/** What the runtime may ask of the API half. */
export interface RuntimeHost {
  /** Current pod object (undefined once deleted from the store). */
  getPod(namespace: string, name: string): PodObject | undefined;
  /**
   * Replace the pod's `status` (phase, conditions, containerStatuses, initContainerStatuses,
   * podIP, startTime, ...). The API half bumps resourceVersion and emits a MODIFIED watch event.
   */
  updatePodStatus(namespace: string, name: string, status: Record<string, unknown>): void;
  /** Record a core/v1 Event about the pod (reason e.g. Started, Killing, BackOff). */
  recordEvent(
    namespace: string,
    podName: string,
    type: "Normal" | "Warning",
    reason: string,
    message: string,
  ): void;
  /** Absolute directory backing a PVC (created on demand, survives pod deletion). */
  pvcDir(namespace: string, claimName: string): string;
  /** Fault injection: true while the test asked to drop every stream. */
  streamsDropped(): boolean;
  /**
   * Optional (added by the runtime half): a Secret or ConfigMap from the store, so pods can use
   * env valueFrom/envFrom and secret/configMap volumes. Without it those resolve to nothing.
   */
  getObject?(
    kind: "secrets" | "configmaps",
    namespace: string,
    name: string,
    // deno-lint-ignore no-explicit-any
  ): Record<string, any> | undefined;
}

export interface StreamContext {
  namespace: string;
  pod: PodObject;
  /** parsed query string (repeated keys such as `command` are arrays) */
  query: URLSearchParams;
  /** the authenticated user name, for logging only (authorization is already done). */
  user: string;
}

/** What the API half calls on the runtime. */
export interface Runtime {
  /** Start the pod: schedule (podIP), run init containers in order, then containers. Returns at once. */
  startPod(pod: PodObject): void;
  /** Graceful stop: SIGTERM, then SIGKILL after `graceSeconds`; resolves when all processes are gone. */
  /** `keep`: the pod object stays (a kubelet eviction): its logs stay readable until the next stopPod */
  stopPod(namespace: string, name: string, graceSeconds: number, o?: { keep?: boolean }): Promise<void>;
  /** the OOM killer ends a container of the pod (reason OOMKilled, exit 137); false when none runs */
  oomKill?(namespace: string, name: string, container?: string): Promise<boolean>;
  /** Kill everything (server shutdown). Must leave no process behind. */
  stopAll(): Promise<void>;
  /** WebSocket upgrade for pods/exec, pods/attach, pods/portforward (after authn/authz). */
  handleUpgrade(
    kind: "exec" | "attach" | "portforward",
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    ctx: StreamContext,
  ): void;
  /** GET pods/log (plain HTTP, chunked when follow=true). */
  handleLogs(req: IncomingMessage, res: ServerResponse, ctx: StreamContext): void;
  /** Close every open stream abruptly (fault injection "drop all streams" / "stop mid-stream"). */
  dropAllStreams(): void;
  /** Make every open stream hang: stop reading from the client, close nothing. */
  stallAllStreams(): void;
  /** Resolves once `n` streams (exec, attach, port-forward, a followed log) are open at once. */
  whenStreamsOpen(n?: number): Promise<void>;
  /** See RuntimeState.runtimeCacheLagMs (streams/common.ts). */
  runtimeCacheLagMs: number;
  /** PIDs of every live pod process (tests check none survive shutdown). */
  pids(): number[];
}

export interface RuntimeOptions {
  /** Root directory for pod working dirs, log files and PVC dirs. */
  stateDir: string;
  host: RuntimeHost;
  /** "v4": serve exec/attach WebSockets without v5.channel.k8s.io, like Kubernetes before 1.30 */
  execProtocols?: "v4" | "v5";
}
