/** The `kodama logs` feature: find pods (every phase), stream their logs; Ctrl-C exits 130. */
import type { Kube } from "../kube/client.ts";
import { colorEnabled } from "../ui/color.ts";
import { parseDuration } from "../ui/duration.ts";
import { stderrSink, stdoutSink } from "../ui/sink.ts";
import { streamLogs } from "./logs.ts";
import { compileLineFilter, resolveOutput } from "./log_filter.ts";
import { findPods, nothingMatched, resolveTarget, type TargetFlags } from "./target.ts";

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
}

export async function logsCommand(kube: Kube, target: TargetFlags, o: LogsCommandOptions): Promise<number> {
  // deploy/api -> its selector, so pods the Deployment creates later are followed too
  const t = await resolveTarget(kube, target);
  const sinceMs = o.since ? parseDuration(o.since, "--since") : undefined;
  const output = resolveOutput(o.output, o.prefix === false);
  const filter = compileLineFilter(o.include, o.exclude);
  const pods = (await findPods(kube, { ...t, includeNotReady: true }))
    // a pod whose containers never started has no logs yet; -f picks it up when it starts
    .filter((p) =>
      p.status?.phase !== "Pending" || (p.status?.containerStatuses ?? []).some((c) => c.state?.running)
    );
  if (pods.length === 0 && !o.follow) throw nothingMatched(t, kube.namespace);
  const ctrl = new AbortController();
  let interrupted = false;
  const onInt = () => {
    interrupted = true;
    ctrl.abort();
  };
  Deno.addSignalListener("SIGINT", onInt);
  try {
    await streamLogs(kube, pods, {
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
      signal: ctrl.signal,
      watch: o.follow ? t : undefined,
      allNamespaces: t.allNamespaces,
    });
  } finally {
    Deno.removeSignalListener("SIGINT", onInt);
  }
  return interrupted ? 130 : 0;
}
