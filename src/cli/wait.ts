/** `kodama wait`: block until matched pods are ready / deleted / in a phase / exist, with live progress. */
import type { Command } from "@commander-js/extra-typings";
import type { Kube } from "../kube/client.ts";
import type { TargetFlags } from "../pods/target.ts";
import type { WaitFor } from "../pods/wait.ts";
import { type Sink, stderrSink, stdoutSink } from "../ui/sink.ts";
import { formatDuration, parseDuration } from "../ui/duration.ts";
import { isTerminal } from "../ui/color.ts";
import { connectFromOpts, globalsOf, targetFrom, targetingOptions } from "./flags.ts";
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
      const kube = await connectFromOpts(globalsOf(command));
      await runWait(kube, targetFrom(all, target), {
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
  kube: Kube,
  t: TargetFlags,
  o: WaitCliOptions,
  out: Sink = stdoutSink,
  err: Sink = stderrSink,
): Promise<void> {
  const w = await import("../pods/wait.ts");
  const cond: WaitFor = w.parseWaitFor(o.for);
  const timeoutMs = parseDuration(o.timeout, "--timeout");
  const started = Date.now();
  const progress = o.quiet ? undefined : new w.ProgressRenderer(err, o.tty ?? isTerminal("stderr"), started);
  const ac = new AbortController();
  const onSignal = () => ac.abort();
  const signals: Deno.Signal[] = o.signal ? [] : ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  o.signal?.addEventListener("abort", onSignal, { once: true });
  try {
    const pods = await w.waitForPods(kube, t, {
      for: cond,
      timeoutMs,
      signal: ac.signal,
      onProgress: (done, total, pending, finished) => {
        // the final state is printed once below, with the time it took
        if (!finished) progress?.update(w.formatWaitProgress(cond, { done, total, pending, finished }));
      },
    });
    progress?.done(
      `${
        w.formatWaitProgress(cond, { done: pods.length, total: pods.length, pending: [], finished: true })
      } after ${formatDuration(Date.now() - started)}`,
    );
    // kubectl's format (no namespace, even with -A), so scripts written for `kubectl wait` keep working
    for (const p of pods) {
      out.write(`pod/${p.metadata?.name} condition met\n`);
    }
  } catch (e) {
    progress?.done();
    throw e;
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
  }
}
