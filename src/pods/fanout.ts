/**
 * Parallel exec across many pods: bounded concurrency, whole prefixed lines per pod (lines never
 * interleave mid-line), per-pod timeout, fail-fast, the same stdin to every pod, and a summary.
 *
 * A pod's failure (non-zero exit, refused exec, dropped stream, timeout) is recorded in its result;
 * the other pods carry on. Aborting `signal` (Ctrl-C) cancels every stream and marks the run
 * interrupted.
 */
import type { V1Pod } from "@kubernetes/client-node";
import type { Kube } from "../kube/client.ts";
import { execInPod } from "../kube/exec.ts";
import type { Sink } from "../ui/sink.ts";
import { formatDuration } from "../ui/duration.ts";
import { chooseContainer } from "./target.ts";
import { formatPrefix, PrefixedWriter, prefixShape, type PrefixTarget } from "./lines.ts";
import { type FanoutTotals, formatSummary, type PodResult, resultJson, tally } from "./summary.ts";
import { concatBytes } from "../bytes.ts";
import { forEachLimited } from "../limit.ts";

export { fanoutExitCode, formatSummary } from "./summary.ts";
export type { FanoutTotals, PodResult } from "./summary.ts";

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
  /** show `ns/` in prefixes (e.g. -A) */
  allNamespaces?: boolean;
  /** write the summary to `err` at the end (default true) */
  summary?: boolean;
}

const dec = new TextDecoder();

/** Where a per-pod operation runs; `containerError` says why no container fits (the pod then fails). */
export interface PodTarget extends PrefixTarget {
  containerError?: string;
}

/** The namespace, name and container (`--container`, else the pod's default) of each pod. */
export function podTargets(pods: V1Pod[], defaultNamespace: string, container?: string): PodTarget[] {
  return pods.map((p) => {
    const t = { namespace: p.metadata?.namespace ?? defaultNamespace, pod: p.metadata?.name ?? "?" };
    try {
      return { ...t, container: chooseContainer(p, container) };
    } catch (e) {
      return { ...t, container: container ?? "?", containerError: (e as Error).message };
    }
  });
}

export async function fanout(kube: Kube, pods: V1Pod[], o: FanoutOptions): Promise<FanoutTotals> {
  const targets = podTargets(pods, kube.namespace, o.container);
  const shape = prefixShape(targets, { allNamespaces: o.allNamespaces, containerGiven: !!o.container });
  const usePrefix = o.prefix !== false && !o.json;
  const results: PodResult[] = new Array(targets.length);
  const stop = new AbortController(); // fail-fast and Ctrl-C
  let failFastTriggered = false;
  const onOuterAbort = () => stop.abort();
  if (o.signal?.aborted) stop.abort();
  o.signal?.addEventListener("abort", onOuterAbort, { once: true });

  const runOne = async (idx: number): Promise<void> => {
    const t = targets[idx];
    const base = { namespace: t.namespace, pod: t.pod, container: t.container };
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
    const outW = new PrefixedWriter(prefix, (b) => o.out.write(b));
    const errW = new PrefixedWriter(prefix, (b) => o.err.write(b));
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
      const res = await execInPod(kube, t.namespace, t.pod, t.container, o.command, {
        stdin: o.stdin,
        stdout: (c) => {
          if (keep) outParts.push(c.slice());
          if (!o.json) outW.push(c);
        },
        stderr: (c) => {
          if (keep) errParts.push(c.slice());
          if (!o.json) errW.push(c);
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
    } catch (e) {
      const durationMs = performance.now() - started;
      r = { ...base, exitCode: null, durationMs, status: "error", error: (e as Error).message };
    } finally {
      clearTimeout(timer);
      stop.signal.removeEventListener("abort", onStop);
      if (!o.json) {
        outW.end();
        errW.end();
      }
    }
    if (keep) {
      r.stdout = dec.decode(concatBytes(outParts));
      r.stderr = dec.decode(concatBytes(errParts));
    }
    results[idx] = r;
    if (o.json) o.out.write(resultJson(r) + "\n");
    if (o.failFast && r.status !== "ok" && r.status !== "cancelled" && !stop.signal.aborted) {
      failFastTriggered = true;
      stop.abort();
    }
  };

  try {
    await forEachLimited(targets.length, o.maxParallel ?? 32, runOne);
  } finally {
    o.signal?.removeEventListener("abort", onOuterAbort);
  }
  const interrupted = !!o.signal?.aborted;
  if (failFastTriggered) {
    for (const r of results) if (r.status === "cancelled") r.error = "cancelled (--fail-fast)";
  }
  const totals = tally(results, interrupted);
  if (o.summary !== false) {
    o.err.write(formatSummary(totals, { showNamespace: shape.namespace }));
  }
  return totals;
}
