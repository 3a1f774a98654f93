/** The per-pod result of a fan-out and the summary printed on stderr at the end. */
import { formatDuration } from "../base/duration.ts";

export interface PodResult {
  /** the kubeconfig context the pod was found in */
  context?: string;
  namespace: string;
  pod: string;
  container: string;
  /** the remote exit code; null when the command never finished (error, timeout, cancelled) */
  exitCode: number | null;
  /** why the pod has no exit code: connection/auth error, dropped stream, timeout, cancelled */
  error?: string;
  stdout?: string;
  stderr?: string;
  /** output bytes left out of stdout/stderr (FanoutOptions.captureLimit) */
  droppedBytes?: number;
  /** stdout and stderr together, in the order they came (for --group) */
  output?: string;
  durationMs: number;
  /** ok | failed (non-zero exit) | error | timeout | cancelled */
  status: PodStatus;
}

export type PodStatus = "ok" | "failed" | "error" | "timeout" | "cancelled";

/** A cluster that could not be reached or listed in a run over several contexts. */
export interface ClusterError {
  context: string;
  message: string;
  /** the exit code that error alone would have given (1 unreachable, 4 forbidden, …) */
  code: number;
}

export interface FanoutTotals {
  results: PodResult[];
  ok: number;
  failed: number;
  cancelled: number;
  interrupted?: boolean;
  clusterErrors?: ClusterError[];
}

export function tally(results: PodResult[], interrupted = false): FanoutTotals {
  let ok = 0, failed = 0, cancelled = 0;
  for (const r of results) {
    if (r.status === "ok") ok++;
    else if (r.status === "cancelled") cancelled++;
    else failed++;
  }
  return { results, ok, failed, cancelled, interrupted };
}

function describe(r: PodResult): string {
  switch (r.status) {
    case "failed":
      return `exit code ${r.exitCode}`;
    case "timeout":
      return r.error ?? "timed out";
    case "cancelled":
      return r.error ?? "cancelled";
    default:
      return `error: ${r.error ?? "unknown error"}`;
  }
}

/**
 * `100 pods: 97 ok, 3 failed (slowest api-7 1.2s)` and one line per pod that did not succeed,
 * failures first (sorted by name), cancelled pods last and collapsed when there are many.
 */
export function formatSummary(
  t: FanoutTotals,
  o: { showNamespace?: boolean; maxCancelled?: number; label?: (r: PodResult) => string } = {},
): string {
  const rs = t.results;
  const name = o.label ?? ((r: PodResult) => (o.showNamespace ? `${r.namespace}/${r.pod}` : r.pod));
  const parts = [`${t.ok} ok`];
  if (t.failed || !t.cancelled) parts.push(`${t.failed} failed`);
  if (t.cancelled) parts.push(`${t.cancelled} cancelled`);
  let head = `${rs.length} pod${rs.length === 1 ? "" : "s"}: ${parts.join(", ")}`;
  const finished = rs.filter((r) => r.status !== "cancelled");
  if (finished.length > 0) {
    const slowest = finished.reduce((a, b) => (b.durationMs > a.durationMs ? b : a));
    head += ` (slowest ${name(slowest)} ${formatDuration(slowest.durationMs)})`;
  }
  if (t.clusterErrors?.length) {
    head += `; ${t.clusterErrors.length} context${t.clusterErrors.length === 1 ? "" : "s"} failed`;
  }
  if (t.interrupted) head += " — interrupted";
  const lines = [head];
  for (const c of t.clusterErrors ?? []) lines.push(`  ${c.context}: ${c.message}`);
  const bad = rs.filter((r) => r.status !== "ok" && r.status !== "cancelled")
    .sort((a, b) => name(a).localeCompare(name(b)));
  for (const r of bad) lines.push(`  ${name(r)}: ${describe(r)}`);
  const cancelled = rs.filter((r) => r.status === "cancelled").sort((a, b) => name(a).localeCompare(name(b)));
  const maxC = o.maxCancelled ?? 10;
  for (const r of cancelled.slice(0, maxC)) lines.push(`  ${name(r)}: ${describe(r)}`);
  if (cancelled.length > maxC) lines.push(`  … and ${cancelled.length - maxC} more cancelled`);
  return lines.join("\n") + "\n";
}

/**
 * The process exit code for a fan-out: 0 all ok; 130 interrupted; 5 when every failure was a
 * per-pod --timeout; otherwise 1 when any pod failed, errored or was cancelled by --fail-fast.
 */
export function fanoutExitCode(t: FanoutTotals): number {
  if (t.interrupted) return 130;
  const bad = t.results.filter((r) => r.status !== "ok");
  // a context that failed alone gives its own code (4 forbidden, 1 unreachable); with pod failures, 1
  if (t.clusterErrors?.length && bad.length === 0) return Math.max(...t.clusterErrors.map((c) => c.code));
  if (t.clusterErrors?.length) return 1;
  if (bad.length === 0) return 0;
  const real = bad.filter((r) => r.status !== "cancelled");
  if (real.length > 0 && real.every((r) => r.status === "timeout")) return 5;
  return 1;
}

/** One JSON line per pod for `-o json`. */
export function resultJson(r: PodResult): string {
  return JSON.stringify({
    ...(r.context !== undefined ? { context: r.context } : {}),
    namespace: r.namespace,
    pod: r.pod,
    container: r.container,
    stdout: r.stdout ?? "",
    stderr: r.stderr ?? "",
    exitCode: r.exitCode,
    durationMs: Math.round(r.durationMs),
    error: r.error ?? null,
    status: r.status,
  });
}
