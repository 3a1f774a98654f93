/** Helpers shared by the stream handlers. */
import type { PodObject } from "../contract.ts";
import type { PodRun } from "../runtime/pod.ts";
import type { StreamRegistry } from "./ws.ts";
import type { ProcessTable } from "../runtime/procs.ts";

export class StreamError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

export function boolParam(q: URLSearchParams, name: string): boolean {
  const v = (q.get(name) ?? "").toLowerCase();
  return v === "true" || v === "1" || v === "yes";
}

export function containerNames(pod: PodObject): string[] {
  return (pod.spec.containers ?? []).map((c: { name: string }) => c.name);
}

function allContainerNames(pod: PodObject): string[] {
  return [
    ...(pod.spec.initContainers ?? []).map((c: { name: string }) => c.name),
    ...containerNames(pod),
  ];
}

/**
 * The container a request targets. Without `container`: the default-container annotation or,
 * when `strict` (logs, like the API server), an error if the pod has more than one.
 */
export function selectContainer(pod: PodObject, requested: string | null, strict: boolean): string {
  const names = containerNames(pod);
  if (requested) {
    if (!allContainerNames(pod).includes(requested)) {
      throw new StreamError(400, `container ${requested} is not valid for pod ${pod.metadata.name}`);
    }
    return requested;
  }
  if (names.length === 1) return names[0];
  const annotations = (pod.metadata.annotations ?? {}) as Record<string, string>;
  const def = annotations["kubectl.kubernetes.io/default-container"];
  if (!strict && def && names.includes(def)) return def;
  if (strict || names.length === 0) {
    throw new StreamError(
      400,
      `a container name must be specified for pod ${pod.metadata.name}, choose one of: [${names.join(" ")}]`,
    );
  }
  return names[0];
}

/** What the stream handlers need from the runtime. */
export interface RuntimeState {
  pod(namespace: string, name: string): PodRun | undefined;
  readonly streams: StreamRegistry;
  /** the runtime's process table */
  readonly table: ProcessTable;
  /** the WebSocket exec/attach subprotocols served (EXEC_PROTOCOLS, or EXEC_PROTOCOLS_V4) */
  readonly execProtocols: readonly string[];
  /**
   * ms: an exec or attach into a container that started less than this long ago is answered `container
   * not found`, as a kubelet answers while its runtime cache (refreshed every ~2 s) has not seen the new
   * container, though the pod's status already says Running (0: off)
   */
  runtimeCacheLagMs: number;
}
