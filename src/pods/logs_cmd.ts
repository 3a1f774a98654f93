/**
 * The `kodama logs` feature: find pods (every phase), stream their logs; Ctrl-C exits 130. Over several
 * contexts the streams run side by side, the context leading each prefix; a context that fails is an
 * error line and the exit code, and the others keep streaming.
 */
import type { Kube } from "../kube/client.ts";
import { colorEnabled } from "../ui/color.ts";
import { parseDuration } from "../base/duration.ts";
import { stderrSink, stdoutSink } from "../base/sink.ts";
import { streamLogs } from "./logs.ts";
import { compileLineFilter, resolveOutput } from "./log_filter.ts";
import { findPods, nothingMatched, resolveTarget, type TargetFlags } from "./target.ts";
import type { V1Pod } from "@kubernetes/client-node";
import { ExitCode, KodamaError } from "../base/errors.ts";
import { withInterrupt } from "../base/proc/proc.ts";
import type { ClusterError } from "./summary.ts";

export interface LogsCommandOptions {
  container?: string;
  allContainers?: boolean;
  follow?: boolean;
  since?: string;
  tail?: number;
  timestamps?: boolean;
  previous?: boolean;
  maxStreams?: number;
  prefix?: boolean;
  /** default | raw | json (checked against `prefix: false`, its alias raw) */
  output?: string;
  /** regular expressions: show only lines matching one of `include` and none of `exclude` */
  include?: string[];
  exclude?: string[];
  /** with -f: how long to keep retrying an unreachable API server (default 5m) */
  reconnectTimeout?: string;
}

export async function logsCommand(
  kubes: Kube | Kube[],
  target: TargetFlags,
  o: LogsCommandOptions,
): Promise<number> {
  const all = Array.isArray(kubes) ? kubes : [kubes];
  const sinceMs = o.since ? parseDuration(o.since, "--since") : undefined;
  const output = resolveOutput(o.output, o.prefix === false);
  const filter = compileLineFilter(o.include, o.exclude);
  const multi = all.length > 1;
  // each context: deploy/api -> its selector (so pods it creates later are followed too), then its pods
  const found = await Promise.allSettled(all.map(async (kube) => {
    const t = await resolveTarget(kube, target);
    const every = await findPods(kube, { ...t, includeNotReady: true });
    // a pod whose containers never started has no logs yet; -f picks it up when it starts
    const pods = every.filter((p) =>
      p.status?.phase !== "Pending" || (p.status?.containerStatuses ?? []).some((c) => c.state?.running)
    );
    return { kube, t, pods, waiting: every.filter((p) => !pods.includes(p)) };
  }));
  const { clusterError, formatClusterErrors, clusterExitCode } = await import("./multi.ts");
  const failed: ClusterError[] = [];
  const ready: { kube: Kube; t: TargetFlags; pods: V1Pod[]; waiting: V1Pod[] }[] = [];
  found.forEach((f, i) => {
    if (f.status === "fulfilled") ready.push(f.value);
    else if (!multi || (f.reason instanceof KodamaError && f.reason.code === ExitCode.USAGE)) throw f.reason;
    else failed.push(clusterError(all[i], f.reason));
  });
  stderrSink.write(formatClusterErrors(failed));
  if (!failed.length && ready.every((r) => r.pods.length === 0) && !o.follow) {
    // pods that never started have no logs: say which and why, not "no pods matched"
    const waiting = ready.find((r) => r.waiting.length);
    if (waiting) {
      const { notRunningError } = await import("./notrunning.ts");
      throw await notRunningError(waiting.kube, waiting.waiting, {
        container: o.container,
        what: "no logs yet",
      });
    }
    throw nothingMatched(ready[0]?.t ?? target, all[0].namespace);
  }
  return await withInterrupt(async (signal, it) => {
    const { reportOutages } = await import("./reconnect.ts");
    const offs = ready.map(({ kube }) =>
      reportOutages(kube, {
        reconnectTimeout: o.reconnectTimeout,
        err: stderrSink,
        prefix: multi ? `context ${kube.contextName}: ` : "",
      })
    );
    try {
      const runs = await Promise.allSettled(ready.map(({ kube, t, pods }) =>
        streamLogs(kube, pods, {
          container: o.container,
          allContainers: o.allContainers,
          follow: o.follow,
          sinceSeconds: sinceMs !== undefined ? sinceMs / 1000 : undefined,
          tail: o.tail,
          timestamps: o.timestamps,
          previous: o.previous,
          maxStreams: o.maxStreams,
          output,
          filter,
          out: stdoutSink,
          err: stderrSink,
          color: colorEnabled("stdout"),
          signal,
          watch: o.follow ? t : undefined,
          allNamespaces: t.allNamespaces,
          context: multi ? kube.contextName : undefined,
        })
      ));
      runs.forEach((r, i) => {
        if (r.status === "fulfilled") return;
        if (!multi) throw r.reason;
        failed.push(clusterError(ready[i].kube, r.reason));
        stderrSink.write(formatClusterErrors([failed[failed.length - 1]]));
      });
    } finally {
      for (const off of offs) off();
    }
    return it.interrupted ? 130 : clusterExitCode(failed);
  });
}
