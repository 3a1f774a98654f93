/**
 * Parallel exec across many pods: bounded concurrency, whole prefixed lines per pod (lines never
 * interleave mid-line), per-pod timeout, fail-fast, the same stdin to every pod, and a summary.
 * The pods may come from several clusters (one Kube per context: the context joins the prefix), the
 * output may be folded into groups of identical output (`group`, like dshbak -c), and a terminal gets a
 * live `done/total` line on stderr until the summary replaces it.
 *
 * A pod's failure (non-zero exit, refused exec, dropped stream, timeout) is recorded in its result;
 * the other pods carry on. Aborting `signal` (Ctrl-C) cancels every stream and marks the run
 * interrupted.
 */
import type { V1Pod } from "@kubernetes/client-node";
import type { ExecResult } from "../kube/exec.ts";
import type { KubeIdentity, KubeStreams } from "../kube/seam.ts";
import { clearTimer } from "../base/proc/timer.ts";
import type { Sink } from "../base/sink.ts";
import { formatDuration } from "../base/duration.ts";
import { chooseContainer } from "./target.ts";
import { formatPrefix, PrefixedWriter, prefixLabel, prefixShape, type PrefixTarget } from "./lines.ts";
import {
  type ClusterError,
  type FanoutTotals,
  formatSummary,
  type PodResult,
  resultJson,
  tally,
} from "./summary.ts";
import { bold, green, red } from "../ui/color.ts";
import { concatBytes } from "../base/text/bytes.ts";
import { forEachLimited } from "../base/proc/limit.ts";

export { fanoutExitCode, formatSummary } from "./summary.ts";
export type { ClusterError, FanoutTotals, PodResult } from "./summary.ts";

export interface FanoutOptions {
  command: string[];
  container?: string;
  /** default 32 */
  maxParallel?: number;
  timeoutMs?: number;
  failFast?: boolean;
  /** sent to every pod, then stdin is closed */
  stdin?: Uint8Array;
  /** prefix lines with `pod[/container] | ` (default true) */
  prefix?: boolean;
  /** one JSON object per pod on `out` instead of streamed lines */
  json?: boolean;
  out: Sink;
  err: Sink;
  color?: boolean;
  signal?: AbortSignal;
  /** keep stdout/stderr per pod in the results */
  capture?: boolean;
  /** with capture/json: keep at most this many bytes of a pod's output (stdout and stderr together); the
   * rest is counted in its result's `droppedBytes` */
  captureLimit?: number;
  /** called as each pod finishes (progress for callers that are not a terminal) */
  onPodDone?: (r: PodResult, done: number, total: number) => void;
  /** show `ns/` in prefixes (e.g. -A) */
  allNamespaces?: boolean;
  /** write the summary to `err` at the end (default true) */
  summary?: boolean;
  /** fold the output: each distinct output once, under the pods that printed it (dshbak -c) */
  group?: boolean;
  /** a live `done/total` line on `err` (a terminal) until the summary replaces it */
  progress?: boolean;
  /** contexts that could not be listed (unreachable, forbidden): reported in the summary */
  clusterErrors?: ClusterError[];
}

/** What a fan-out needs of a cluster: a command in a pod, and the context's name for prefixes (src/kube/seam.ts). */
export type FanoutCluster = KubeStreams & KubeIdentity;

/** One pod to run in, and the cluster it lives in. */
export interface FanoutPod {
  kube: FanoutCluster;
  pod: V1Pod;
}

const dec = new TextDecoder();

/** Where a per-pod operation runs; `containerError` says why no container fits (the pod then fails). */
export interface PodTarget extends PrefixTarget {
  containerError?: string;
}

/** The namespace, name and container (`--container`, else the pod's default) of each pod. */
export function podTargets(
  pods: V1Pod[],
  defaultNamespace: string,
  container?: string,
  context?: string,
): PodTarget[] {
  return pods.map((p) => {
    const t = {
      namespace: p.metadata?.namespace ?? defaultNamespace,
      pod: p.metadata?.name ?? "?",
      ...(context !== undefined ? { context } : {}),
    };
    try {
      return { ...t, container: chooseContainer(p, container) };
    } catch (e) {
      return { ...t, container: container ?? "?", containerError: (e as Error).message };
    }
  });
}

/** What became of a cut-off command in its pod, for the summary (undefined when it finished). */
export function remoteNote(res: ExecResult): string | undefined {
  if (res.remote === "ended") return "ended in the pod";
  if (res.remote === "unknown") {
    return `it may still run in the pod (not ended: ${res.endError ?? "unknown"})`;
  }
  return undefined;
}

export function fanout(kube: FanoutCluster, pods: V1Pod[], o: FanoutOptions): Promise<FanoutTotals> {
  return fanoutPods(pods.map((pod) => ({ kube, pod })), o);
}

/** `fanout` over pods of one or several clusters (the context shows in prefixes when there are several). */
export async function fanoutPods(items: FanoutPod[], o: FanoutOptions): Promise<FanoutTotals> {
  const contexts = new Set(items.map((i) => i.kube.contextName));
  const multi = contexts.size > 1 || (o.clusterErrors?.length ?? 0) > 0;
  const targets: PodTarget[] = items.map((i) =>
    podTargets([i.pod], i.kube.namespace, o.container, multi ? i.kube.contextName : undefined)[0]
  );
  const contextOf = items.map((i) => i.kube.contextName);
  const shape = prefixShape(targets, { allNamespaces: o.allNamespaces, containerGiven: !!o.container });
  const usePrefix = o.prefix !== false && !o.json && !o.group;
  const results: PodResult[] = new Array(targets.length);
  // the live line and the grouping are loaded only when asked for (a workflow's one-pod exec step needs neither)
  const progress = o.progress
    ? new (await import("../ui/progress.ts")).ProgressRenderer(o.err, true, Date.now(), { plain: false })
    : undefined;
  const out = progress ? progress.wrap(o.out) : o.out;
  const err = progress ? progress.wrap(o.err) : o.err;
  let finished = 0, bad = 0;
  const showProgress = () =>
    progress?.update(`${finished}/${targets.length} done${bad ? `, ${bad} failed` : ""}`);
  showProgress();
  const stop = new AbortController(); // fail-fast and Ctrl-C
  let failFastTriggered = false;
  const onOuterAbort = () => stop.abort();
  if (o.signal?.aborted) stop.abort();
  o.signal?.addEventListener("abort", onOuterAbort, { once: true });

  /** -o json: the pods whose object is out (the rest — never started — follow at the end) */
  const printed = new Set<number>();
  const runOne = async (idx: number): Promise<void> => {
    const t = targets[idx];
    const kube = items[idx].kube;
    const base = { context: contextOf[idx], namespace: t.namespace, pod: t.pod, container: t.container };
    if (stop.signal.aborted) {
      results[idx] = { ...base, exitCode: null, durationMs: 0, status: "cancelled", error: "cancelled" };
      return;
    }
    if (t.containerError) {
      results[idx] = { ...base, exitCode: null, durationMs: 0, status: "error", error: t.containerError };
      if (o.failFast) {
        failFastTriggered = true;
        stop.abort();
      }
      return;
    }
    const started = performance.now();
    const prefix = usePrefix ? formatPrefix(t, { ...shape, color: !!o.color }) : "";
    const keep = o.json || o.capture;
    const outParts: Uint8Array[] = [];
    const errParts: Uint8Array[] = [];
    const both: Uint8Array[] = []; // --group: stdout and stderr in the order they came
    let room = o.captureLimit ?? Infinity, dropped = 0;
    const kept = (c: Uint8Array): Uint8Array => {
      if (c.length <= room) {
        room -= c.length;
        return c.slice();
      }
      const part = c.slice(0, Math.max(0, room));
      dropped += c.length - part.length;
      room = 0;
      return part;
    };
    const stream = !o.json && !o.group;
    const outW = new PrefixedWriter(prefix, (b) => out.write(b));
    const errW = new PrefixedWriter(prefix, (b) => err.write(b));
    const podAbort = new AbortController();
    const onStop = () => podAbort.abort();
    stop.signal.addEventListener("abort", onStop, { once: true });
    let timedOut = false;
    const timer = o.timeoutMs
      ? setTimeout(() => {
        timedOut = true;
        podAbort.abort();
      }, o.timeoutMs)
      : undefined;
    let r: PodResult;
    try {
      const res = await kube.execIn(t.namespace, t.pod, t.container, o.command, {
        stdin: o.stdin,
        stdout: (c) => {
          if (keep) outParts.push(kept(c));
          if (o.group) both.push(c.slice());
          if (stream) outW.push(c);
        },
        stderr: (c) => {
          if (keep) errParts.push(kept(c));
          if (o.group) both.push(c.slice());
          if (stream) errW.push(c);
        },
        signal: podAbort.signal,
      });
      const durationMs = performance.now() - started;
      if (res.errorKind === "aborted") {
        r = timedOut
          ? {
            ...base,
            exitCode: null,
            durationMs,
            status: "timeout",
            error: `timed out after ${formatDuration(o.timeoutMs!)}`,
          }
          : { ...base, exitCode: null, durationMs, status: "cancelled", error: "cancelled" };
      } else if (res.error) {
        r = { ...base, exitCode: null, durationMs, status: "error", error: res.error };
      } else {
        r = { ...base, exitCode: res.exitCode, durationMs, status: res.exitCode === 0 ? "ok" : "failed" };
      }
      // a command cut off (timeout, cancel, a dropped stream) was ended in its pod, or may still run there
      const note = remoteNote(res);
      if (note) r = { ...r, error: `${r.error}; ${note}` };
    } catch (e) {
      const durationMs = performance.now() - started;
      r = { ...base, exitCode: null, durationMs, status: "error", error: (e as Error).message };
    } finally {
      clearTimer(timer);
      stop.signal.removeEventListener("abort", onStop);
      if (stream) {
        outW.end();
        errW.end();
      }
    }
    if (keep) {
      r.stdout = dec.decode(concatBytes(outParts));
      r.stderr = dec.decode(concatBytes(errParts));
      if (dropped) r.droppedBytes = dropped;
    }
    if (o.group) r.output = dec.decode(concatBytes(both));
    results[idx] = r;
    finished++;
    if (r.status !== "ok" && r.status !== "cancelled") bad++;
    showProgress();
    o.onPodDone?.(r, finished, targets.length);
    if (o.json) {
      out.write(resultJson(r) + "\n");
      printed.add(idx);
    }
    if (o.failFast && r.status !== "ok" && r.status !== "cancelled" && !stop.signal.aborted) {
      failFastTriggered = true;
      stop.abort();
    }
  };

  try {
    await forEachLimited(targets.length, o.maxParallel ?? 32, runOne);
  } finally {
    o.signal?.removeEventListener("abort", onOuterAbort);
    progress?.done();
  }
  const interrupted = !!o.signal?.aborted;
  if (failFastTriggered) {
    for (const r of results) {
      if (r.status === "cancelled") {
        r.error = (r.error ?? "cancelled").replace(/^cancelled/, "cancelled (--fail-fast)");
      }
    }
  }
  // every pod gets its object, also those that never started (--fail-fast, Ctrl-C) or had no container
  for (let idx = 0; idx < targets.length; idx++) {
    if (!results[idx]) {
      const t = targets[idx];
      results[idx] = {
        context: contextOf[idx],
        namespace: t.namespace,
        pod: t.pod,
        container: t.container,
        exitCode: null,
        durationMs: 0,
        status: "cancelled",
        error: failFastTriggered ? "cancelled (--fail-fast)" : "cancelled",
      };
    }
    if (o.json && !printed.has(idx)) o.out.write(resultJson(results[idx]) + "\n");
  }
  const label = (r: PodResult) =>
    prefixLabel({ ...r, context: multi ? r.context : undefined }, {
      ...shape,
      container: shape.container && !!r.container,
    });
  if (o.group) {
    const { formatGroups, groupResults } = await import("./group.ts");
    const color = !!o.color;
    o.out.write(formatGroups(groupResults(results, label), {
      header: (h, ok) => color ? bold(ok ? green(h) : red(h)) : h,
    }));
  }
  const totals = tally(results, interrupted);
  if (o.clusterErrors?.length) totals.clusterErrors = o.clusterErrors;
  if (o.summary !== false) {
    o.err.write(formatSummary(totals, { label: (r) => label({ ...r, container: "" }) }));
  }
  return totals;
}
