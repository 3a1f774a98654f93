/**
 * Pods and port-forwards as data, live, for front ends other than the CLI's printers (the web UI, MCP):
 * a pod as one plain object with kubectl's columns (`podRow`), the pods of a namespace followed by a watch
 * (`watchPodRows`), and this machine's port-forwards with their figures, followed by file events on their
 * state files (`forwardRows`, `watchForwards`). Never polled.
 */
import type { V1Pod } from "@kubernetes/client-node";
import type { WatchEventType } from "../kube/client.ts";
import type { KubePods } from "../kube/seam.ts";
import { podReady, podRestarts, podStatus } from "./display.ts";
import { forwardsDir, readRecords } from "./pf_state.ts";
import type { ForwardRecord } from "./pf_stats.ts";
import { onAbort } from "../base/proc/timer.ts";

export interface PodRow {
  namespace: string;
  name: string;
  ready: string;
  status: string;
  restarts: string;
  createdAt?: string;
  node?: string;
  ip?: string;
  containers: string[];
  /** the container kubectl picks by default (its annotation, else the first) */
  defaultContainer?: string;
  deleting: boolean;
}

export function podRow(p: V1Pod): PodRow {
  const containers = (p.spec?.containers ?? []).map((c) => c.name);
  return {
    namespace: p.metadata?.namespace ?? "",
    name: p.metadata?.name ?? "",
    ready: podReady(p),
    status: podStatus(p),
    restarts: podRestarts(p),
    ...(p.metadata?.creationTimestamp ? { createdAt: String(p.metadata.creationTimestamp) } : {}),
    ...(p.spec?.nodeName ? { node: p.spec.nodeName } : {}),
    ...(p.status?.podIP ? { ip: p.status.podIP } : {}),
    containers,
    defaultContainer: p.metadata?.annotations?.["kubectl.kubernetes.io/default-container"] ?? containers[0],
    deleting: !!p.metadata?.deletionTimestamp,
  };
}

/**
 * The pods of `namespace` (undefined: every namespace): `onList` once with all of them, then `onEvent` per
 * change, until `signal` aborts. A watch that has to start over (410 Gone) replays ADDED events, which
 * `onEvent` takes as upserts.
 */
export async function watchPodRows(
  kube: KubePods,
  namespace: string | undefined,
  onList: (rows: PodRow[]) => void,
  onEvent: (type: WatchEventType, row: PodRow) => void,
  signal: AbortSignal,
): Promise<void> {
  const { items, resourceVersion } = await kube.listPodsAt(namespace);
  onList(items.map(podRow));
  await kube.watchPods(namespace, {}, (type, p) => onEvent(type, podRow(p)), signal, resourceVersion);
}

/** This machine's running port-forwards (as `port-forward list -o json` shows them), oldest first. */
export async function forwardRows(): Promise<(ForwardRecord & { uptimeSeconds: number })[]> {
  const now = Date.now();
  return (await readRecords()).map((r) => {
    // the record names no credential, but a background forward's log path is of no use to a page
    const { log: _log, pid: _pid, procStart: _p, ...rest } = r;
    return { ...rest, pid: 0, uptimeSeconds: Math.round((now - Date.parse(r.startedAt)) / 1000) };
  });
}

/** Call `onChange` when a port-forward starts, ends or writes new figures (about once a second), until `signal`. */
export async function watchForwards(onChange: () => void, signal: AbortSignal): Promise<void> {
  const dir = forwardsDir();
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 }).catch(() => {});
  let w: Deno.FsWatcher;
  try {
    w = Deno.watchFs(dir);
  } catch {
    return;
  }
  onAbort(signal, () => w.close()); // also when it aborted while the directory was made
  try {
    for await (const ev of w) if (ev.paths.some((p) => p.endsWith(".json"))) onChange();
  } catch { /* closed */ }
}
