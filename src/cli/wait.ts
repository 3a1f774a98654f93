/** `kodama wait`: block until matched pods are ready / deleted / in a phase / exist, with live progress. */
import type { Command } from "@commander-js/extra-typings";
import type { Kube } from "../kube/client.ts";
import type { TargetFlags } from "../pods/target.ts";
import type { WaitFor } from "../pods/wait.ts";
import { type Sink, stderrSink, stdoutSink } from "../ui/sink.ts";
import { formatDuration, parseDuration } from "../ui/duration.ts";
import { isTerminal } from "../ui/color.ts";
import { connectAll, globalsOf, targetFrom, targetingOptions } from "./flags.ts";
import { ExitCode, formatError, KodamaError } from "../errors.ts";
import { help } from "./help.ts";

export function register(program: Command) {
  const cmd = help(program.command("wait"), {
    group: "Pods",
    summary: "Wait until matched pods are ready, deleted, in a phase, or exist",
    usage: "[TYPE/NAME | POD | -m MATCH | -l SELECTOR] [--for CONDITION] [--timeout DURATION] [flags]",
    long: `Progress goes to stderr (updated in place on a terminal); one "pod/NAME condition met" line
per pod goes to stdout when done. Exit 0 when met, 3 when nothing matches (--for ready/phase),
5 on timeout naming the pods still pending, 130 on Ctrl-C.`,
    examples: [
      [
        "Wait up to two minutes for the api pods to be ready",
        "kodama wait -n prod -l app=api --for ready --timeout 2m",
      ],
      ["Wait for every pod of a Deployment to be ready", "kodama wait -n prod deploy/api --for ready"],
      [
        "Wait in every context whose name starts with prod, side by side",
        "kodama wait --context 'prod*' -l app=api --for ready --timeout 2m",
      ],
      ["Wait until a pod is gone", "kodama wait -n prod --pod api-6b7f9c8d4-k2x9p --for deleted"],
      [
        "Wait for a batch pod to finish",
        "kodama wait -n staging -m spark-driver --for phase=Succeeded --timeout 1h",
      ],
      ["Wait until a pod with this label exists", "kodama wait -n dev -l app=job --for exists"],
    ],
  })
    .argument(
      "[target]",
      "TYPE/NAME (deploy/api, sts/db, svc/web, job/x, session/s): all its pods; or a pod name",
    )
    .option("--for <condition>", "ready | deleted | phase=PHASE | exists", "ready")
    .option("--timeout <duration>", "give up after this long (exit 5); 0 checks once", "60s")
    .option("-q, --quiet", "no progress on stderr");
  targetingOptions(cmd)
    .action(async (target, _o, command) => {
      const all = command.optsWithGlobals() as Record<string, unknown>;
      const opts = command.opts();
      const kubes = await connectAll(globalsOf(command));
      await runWait(kubes, targetFrom(all, target), {
        for: opts.for,
        timeout: opts.timeout,
        quiet: !!opts.quiet,
      });
    });
}

export interface WaitCliOptions {
  for: string;
  timeout: string;
  quiet?: boolean;
  /** render progress in place (default: stderr is a terminal) */
  tty?: boolean;
  signal?: AbortSignal;
}

export async function runWait(
  kubes: Kube | Kube[],
  t: TargetFlags,
  o: WaitCliOptions,
  out: Sink = stdoutSink,
  err: Sink = stderrSink,
): Promise<void> {
  const w = await import("../pods/wait.ts");
  const cond: WaitFor = w.parseWaitFor(o.for);
  const timeoutMs = parseDuration(o.timeout, "--timeout");
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
  try {
    const settled = await Promise.allSettled(all.map((kube, i) =>
      w.waitForPods(kube, t, {
        for: cond,
        timeoutMs,
        signal: ac.signal,
        onProgress: (done, total, pending, finished) => {
          lines[i] = w.formatWaitProgress(cond, { done, total, pending, finished });
          // the final state is printed once below, with the time it took
          if (!finished || multi) show();
        },
      })
    ));
    const met = settled.flatMap((
      r,
      i,
    ) => (r.status === "fulfilled" ? r.value.map((p) => ({ kube: all[i], p })) : []));
    const failed = settled.flatMap((
      r,
      i,
    ) => (r.status === "rejected" ? [{ kube: all[i], e: r.reason }] : []));
    if (!multi && failed.length) throw failed[0].e;
    const total = met.length;
    progress?.done(
      failed.length
        ? undefined
        : `${w.formatWaitProgress(cond, { done: total, total, pending: [], finished: true })}${
          multi ? ` in ${all.length} contexts` : ""
        } after ${formatDuration(Date.now() - started)}`,
    );
    // kubectl's format (no namespace, even with -A), so scripts written for `kubectl wait` keep working;
    // over several contexts the context leads, as in prefixes
    for (const { kube, p } of met) {
      out.write(`${multi ? `${kube.contextName}:` : ""}pod/${p.metadata?.name} condition met\n`);
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
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
  }
}
