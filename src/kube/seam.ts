/**
 * The seam under the cluster: narrow views of `Kube` (./client.ts) that feature code takes instead of the
 * whole client, so a feature's logic can be tested in-process against the in-memory cluster
 * (`tests/cluster/memcluster.ts`) with a manual clock, and against the real API server by the black-box tests.
 *
 * Types only: `Kube` implements them structurally (checked by `tests/unit/kube/seam_test.ts`), so this file
 * costs nothing at run time and loads nothing on the everyday commands' path. A fake of one of these must
 * throw what `Kube` throws: `KodamaError` with the exit code the API's status maps to (./errors.ts).
 *
 * - `KubeObjects`: get/find/list/create/patch/delete/watch any kind, in the namespace of the command.
 * - `KubePods`: pods listed and watched with label and field selectors.
 * - `KubeReach`: whether the API server answers (fed by every request; read by timeouts and retry loops);
 *   `KubeReachEvents` adds its lost/back events and the give-up error, for streams that wait out an outage.
 * - `KubeIdentity`: the context and server, as this machine's session files record what a command saw.
 * - `KubeStreams`: a command in a container, a container's log. `Kube` opens them over the wire
 *   (./exec.ts, ./logs.ts), whose protocol only the HTTPS test server and a real cluster check; the
 *   in-memory cluster runs a pod program on this machine against a directory that stands for the pod.
 * Port-forward streams (./portforward.ts) still take the whole `Kube`.
 */
import type { V1Pod } from "@kubernetes/client-node";
import type { WatchEventType, WatchOptions } from "./client.ts";
import type { PodQuery, Resource } from "./resources.ts";
import type { ExecResult, ExecStreams } from "./exec.ts";
import type { LogQuery } from "./logs.ts";
import type { ReachEvent } from "./reach.ts";
import type { KodamaError } from "../base/errors.ts";

/** The verbs kodama uses on any kind, with the namespace a command runs in. */
export interface KubeObjects {
  /** the command's namespace (-n, KODAMA_NAMESPACE, the context's, else "default") */
  readonly namespace: string;
  getObject<T>(resource: Resource, namespace: string, name: string): Promise<T>;
  /** the object, or undefined when it does not exist (other errors still throw) */
  findObject<T>(resource: Resource, namespace: string, name: string): Promise<T | undefined>;
  listObjects<T>(
    resource: Resource,
    namespace: string | undefined,
    q?: PodQuery,
  ): Promise<{ items: T[]; resourceVersion?: string }>;
  createObject<T>(resource: Resource, namespace: string, body: T, o?: { dryRun?: boolean }): Promise<T>;
  /** a JSON merge patch; a `resourceVersion` in it makes it conditional (exit 1, a 409, when stale) */
  patchObject<T>(resource: Resource, namespace: string, name: string, patch: unknown): Promise<T>;
  /** false when the object was already gone */
  deleteObject(
    resource: Resource,
    namespace: string,
    name: string,
    o?: {
      gracePeriodSeconds?: number;
      dryRun?: boolean;
      resourceVersion?: string;
      /** what becomes of the objects it owns (a Job's pods): see Kube.deleteObject */
      propagationPolicy?: "Background" | "Foreground" | "Orphan";
    },
  ): Promise<boolean>;
  /**
   * Events until `o.signal` aborts, then resolves. From `o.from` (a list's resourceVersion), else the current
   * objects first as ADDED; a too-old resourceVersion (410 Gone) calls `o.onExpired` and starts over with
   * ADDED. Rejects only for what a retry cannot fix (forbidden, not found, a bad selector).
   */
  watchObjects<T extends { metadata?: { resourceVersion?: string } }>(
    resource: Resource,
    namespace: string | undefined,
    q: PodQuery,
    onEvent: (type: WatchEventType, obj: T) => void,
    o: WatchOptions,
  ): Promise<void>;
}

/** Pods by selector, in one namespace or (undefined) all of them. */
export interface KubePods {
  readonly namespace: string;
  listPods(namespace: string | undefined, q?: PodQuery): Promise<V1Pod[]>;
  listPodsAt(
    namespace: string | undefined,
    q?: PodQuery,
  ): Promise<{ items: V1Pod[]; resourceVersion?: string }>;
  /** `watchObjects` for pods, without `onExpired` (a consumer treats ADDED idempotently) */
  watchPods(
    namespace: string | undefined,
    q: PodQuery,
    onEvent: (type: WatchEventType, pod: V1Pod) => void,
    signal: AbortSignal,
    from?: string,
  ): Promise<void>;
  /** Does the namespace exist? (Forbidden to look: it is taken to exist, as listing in it worked.) */
  namespaceExists(name: string): Promise<boolean>;
}

/** Whether the API server answers: a timeout says "the cluster went away" rather than blame the objects. */
export interface KubeReach {
  readonly reach: {
    /** no answer since the last failure */
    readonly down: boolean;
    /** "unreachable for 40s: connection refused (https://…)" */
    describe(): string;
  };
}

/** What pod targeting and waiting need: objects (TYPE/NAME targets), pods, and the server's reachability. */
export type KubeTargets = KubeObjects & KubePods & KubeReach;

/**
 * The reachability's events, for a stream that waits out an outage (`logs -f`): told when the server is back,
 * and the give-up error once it has been down longer than `--reconnect-timeout` (./reach.ts).
 */
export interface KubeReachEvents {
  readonly reach: KubeReach["reach"] & {
    subscribe(fn: (e: ReachEvent) => void): () => void;
    gaveUp(): KodamaError | undefined;
  };
}

/** The cluster as this machine's session files name it. */
export interface KubeIdentity {
  readonly contextName: string;
  readonly server: string;
  /** the API server's gitVersion (`v1.24.0`), where the client can ask (what `--dry-run` prints fits it) */
  serverVersion?(): Promise<string>;
}

/** A command in a container and a container's log, as `execInPod` and `streamLog` give them. */
export interface KubeStreams {
  readonly namespace: string;
  /** `execInPod` (./exec.ts): resolves with the exit code, or `error` when the stream dropped or was aborted */
  execIn(ns: string, pod: string, container: string, command: string[], s?: ExecStreams): Promise<ExecResult>;
  /** `streamLog` (./logs.ts): the log until its end ("eof") or `signal` ("aborted") */
  logOf(
    ns: string,
    pod: string,
    container: string,
    q: LogQuery,
    onData: (chunk: Uint8Array) => void | Promise<void>,
    signal?: AbortSignal,
  ): Promise<"eof" | "aborted">;
}

/** What a session feature needs: its objects, the cluster's name, and the programs it runs in its pod. */
export type KubeSessions = KubeObjects & KubeIdentity & KubeStreams;
