/**
 * `kodama wait`: wait in each context for the target's pods to meet `--for` — or, for a workload target and
 * a condition pods do not have (`deploy/api --for condition=Available`), for the workload's own condition
 * — with live progress on stderr (each pending pod and why it is not there yet) and kubectl's
 * `… condition met` lines on stdout.
 */
import type { Kube } from "../kube/client.ts";
import type { TargetFlags } from "./target.ts";
import { refString } from "./resource.ts";
import * as w from "./wait.ts";
import type { WaitCondition } from "./wait.ts";
import { type Sink, stderrSink, stdoutSink } from "../base/sink.ts";
import { formatDuration, parseDuration } from "../base/duration.ts";
import { isTerminal } from "../ui/color.ts";
import { ExitCode, formatError, KodamaError } from "../base/errors.ts";

export interface WaitCliOptions {
  for: string;
  timeout: string;
  quiet?: boolean;
  /** render progress in place (default: stderr is a terminal) */
  tty?: boolean;
  signal?: AbortSignal;
  /** how long to keep retrying an unreachable API server (default 5m) */
  reconnectTimeout?: string;
}

export async function waitCommand(
  kubes: Kube | Kube[],
  t: TargetFlags,
  o: WaitCliOptions,
  out: Sink = stdoutSink,
  err: Sink = stderrSink,
): Promise<void> {
  const cond: WaitCondition = w.parseWaitFor(o.for);
  // `deploy/api --for condition=Available`: the Deployment's own condition, as kubectl waits for it
  const onObject = w.workloadCondition(t, cond);
  const timeoutMs = parseDuration(o.timeout, "--timeout", { timer: true });
  const all = Array.isArray(kubes) ? kubes : [kubes];
  const multi = all.length > 1;
  const started = Date.now();
  const progress = o.quiet ? undefined : new w.ProgressRenderer(err, o.tty ?? isTerminal("stderr"), started);
  const ac = new AbortController();
  const onSignal = () => ac.abort();
  const signals: Deno.Signal[] = o.signal ? [] : ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  o.signal?.addEventListener("abort", onSignal, { once: true });
  // one progress text per context, shown side by side ("c1: 2/2 ready; c2: 0/1 ready: waiting for x")
  const lines: string[] = all.map(() => "connecting");
  const show = () =>
    progress?.update(multi ? all.map((k, i) => `${k.contextName}: ${lines[i]}`).join("; ") : lines[0]);
  // an outage is said as it happens (and when it is over), above the progress line
  const { reportOutages } = await import("./reconnect.ts");
  const offs = all.map((kube) =>
    reportOutages(kube, {
      reconnectTimeout: o.reconnectTimeout,
      err,
      note: progress ? (line) => progress.wrap(err).write(line + "\n") : undefined,
      prefix: multi ? `context ${kube.contextName}: ` : "",
    })
  );
  try {
    const settled = await Promise.allSettled(all.map(async (kube, i): Promise<string[]> => {
      if (onObject) {
        return [
          await w.waitForWorkload(kube, t, onObject, {
            timeoutMs,
            signal: ac.signal,
            onProgress: (line) => {
              lines[i] = line;
              show();
            },
          }),
        ];
      }
      const pods = await w.waitForPods(kube, t, {
        for: cond,
        timeoutMs,
        signal: ac.signal,
        onProgress: (done, total, pending, finished, reasons) => {
          lines[i] = w.formatWaitProgress(cond, { done, total, pending, finished, reasons });
          // the final state is printed once below, with the time it took
          if (!finished || multi) show();
        },
      });
      // kubectl's format (no namespace, even with -A), so scripts written for `kubectl wait` keep working
      return pods.map((p) => `pod/${p.metadata?.name}`);
    }));
    const met = settled.flatMap((
      r,
      i,
    ) => (r.status === "fulfilled" ? r.value.map((name) => ({ kube: all[i], name })) : []));
    const failed = settled.flatMap((
      r,
      i,
    ) => (r.status === "rejected" ? [{ kube: all[i], e: r.reason }] : []));
    if (!multi && failed.length) throw failed[0].e;
    const total = met.length;
    const what = onObject
      ? `${refString(t.resource!)} ${w.condLabel(cond)}`
      : w.formatWaitProgress(cond, { done: total, total, pending: [], finished: true });
    progress?.done(
      failed.length
        ? undefined
        : `${what}${multi ? ` in ${all.length} contexts` : ""} after ${formatDuration(Date.now() - started)}`,
    );
    // over several contexts the context leads, as in prefixes
    for (const { kube, name } of met) {
      out.write(`${multi ? `${kube.contextName}:` : ""}${name} condition met\n`);
    }
    if (failed.length) {
      if (ac.signal.aborted) throw new KodamaError("interrupted", ExitCode.INTERRUPTED);
      for (const f of failed) err.write(`error: context ${f.kube.contextName}: ${formatError(f.e)}\n`);
      const codes = failed.map((f) => (f.e instanceof KodamaError ? f.e.code : ExitCode.FAILED));
      throw new KodamaError(
        `wait failed in ${failed.length} of ${all.length} contexts (${
          failed.map((f) => f.kube.contextName).join(", ")
        })`,
        Math.max(...codes),
      );
    }
  } catch (e) {
    progress?.done();
    throw e;
  } finally {
    for (const off of offs) off();
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
  }
}
