/**
 * `kodama run NAME`: find the workflow, load it (checked, or from the validated-form cache), run it. The
 * engine's modules are loaded only once the workflow is read: a run whose first list is certain sends it
 * first (prefetch.ts), so that the server answers while the engine loads — `kodama run kwekash`'s list
 * of the drive pods no longer waits for ~20 modules (bench/README.md, the everyday path).
 */
import type { Kube } from "../kube/client.ts";
import { escapeControl } from "../base/text/escape.ts";
import { ExitCode, KodamaError } from "../base/errors.ts";
import { withInterrupt } from "../base/proc/proc.ts";
import { onStdoutClosed, type Sink, stderrSink, stdoutClosed, stdoutSink } from "../base/sink.ts";
import { colorEnabled, isTerminal, red } from "../ui/color.ts";
import { findWorkflow } from "./discovery.ts";
import { type LoadedWorkflow, loadWorkflowFile } from "./file.ts";
import { redactingSink } from "../base/redact.ts";
import { parseParamFlags, resolveParams } from "./params.ts";
import { firstList, Prefetch } from "./prefetch.ts";
import { stepKind } from "./steps/kinds.ts";
import { flattenSteps, untrustedSource } from "./model.ts";
import { findPods } from "../pods/target.ts";
import { mark } from "../base/timing.ts";

export interface RunCommandOptions {
  params: string[];
  /** words after the workflow's name: its `cmd` param (`kwekash weka status`) */
  words?: string[];
  dryRun?: boolean;
  trust?: boolean;
  trustHash?: string;
  yes?: boolean;
  namespace?: string;
  connect: () => Promise<Kube>;
  globalFlags: string[];
  out?: Sink;
  err?: Sink;
}

/** `kodama run NAME`: returns the exit code of the first failing step (0 when all passed). */
export async function runCommand(name: string, o: RunCommandOptions): Promise<number> {
  const ref = await findWorkflow(name);
  const loadEngine = () => {
    const engine = Promise.all([import("./engine.ts"), import("./display.ts")]);
    engine.catch(() => {}); // its error, if any, is thrown where it is awaited
    if (untrustedSource(ref)) import("./trust.ts").catch(() => {}); // such a run asks it
    return engine;
  };
  // a run that sends no early list (prefetch.ts) loads the engine while its file is read; one that may
  // sends it first: the engine's modules are the main thread's work, the list's answer is the server's
  let engine = o.dryRun || untrustedSource(ref) ? loadEngine() : undefined;
  const lw = await loadWorkflowFile(ref.file, ref.source);
  mark("workflow found and read");
  const given = withWords(lw, parseParamFlags(o.params), o.words ?? []);
  // one client for the whole run, the prefetch's too
  let kube: Promise<Kube> | undefined;
  const connect = () => kube ??= o.connect();
  const prefetch = o.dryRun ? undefined : await prefetchFor(lw, given, o.namespace, connect);
  engine ??= loadEngine();
  if (!o.dryRun) {
    // what the steps' kinds use loads beside the engine (the kind's own preload, which may read
    // credentials, only for a run that sends its first request now)
    for (const kind of new Set(flattenSteps(lw.workflow.steps).map((f) => f.kind))) {
      stepKind(kind).then((k) => prefetch && k.preload?.({ kube: connect })).catch(() => {});
    }
    if (lw.workflow.targets) import("./podsecrets.ts").catch(() => {});
  }
  const [{ runWorkflow }, { createDisplay }] = await engine;
  mark("engine loaded");
  const interactive = isTerminal("stdin") && isTerminal("stderr");
  const color = colorEnabled("stderr");
  // values from the environment never reach the terminal in clear (see redact.ts)
  const errSink = redactingSink(o.err ?? stderrSink);
  const outSink = redactingSink(o.out ?? stdoutSink);
  const display = createDisplay({
    out: outSink,
    err: errSink,
    live: isTerminal("stderr") && !o.dryRun && !Deno.env.get("CI"),
    color,
    stdoutIsTty: isTerminal("stdout"),
  });
  // Ctrl-C, and `kodama run x | head`: stop so always() steps and cleanups run (then exit 0 quietly)
  return await withInterrupt(async (signal) => {
    try {
      const r = await runWorkflow(lw, {
        params: given,
        dryRun: o.dryRun,
        trust: o.trust,
        trustHash: o.trustHash,
        yes: o.yes,
        interactive,
        connect,
        prefetch,
        namespace: o.namespace,
        display,
        signal,
        globalFlags: o.globalFlags,
        confirm: async (message) => {
          display.close();
          const { confirm } = await import("@inquirer/prompts");
          const { default: process } = await import("node:process");
          return await confirm({ message, default: false }, { output: process.stderr });
        },
      });
      display.close();
      if (stdoutClosed()) return ExitCode.OK;
      // Ctrl-C: the display already shows the interrupted step and what ran after it; end quietly with 130
      if (r.exitCode !== 0 && r.exitCode !== ExitCode.INTERRUPTED) {
        // `step "x": exit code 3` already says the code
        const code = new RegExp(`\\bexit (code )?${r.exitCode}\\b`).test(r.failure ?? "")
          ? ""
          : ` (exit ${r.exitCode})`;
        errSink.write(
          `${red("error", color)}: ${escapeControl(`workflow ${lw.name} failed at ${r.failure}${code}`)}\n` +
            (r.hint ? `  ${escapeControl(r.hint)}\n` : ""),
        );
      }
      return r.exitCode;
    } finally {
      display.close();
      outSink.flush();
      errSink.flush();
    }
  }, {
    reason: () => new KodamaError("interrupted", ExitCode.INTERRUPTED),
    also: (abort) => onStdoutClosed(() => abort(new KodamaError("stdout closed", ExitCode.INTERRUPTED))),
  });
}

/** The run's first list, sent now when it is certain (prefetch.ts). */
async function prefetchFor(
  lw: LoadedWorkflow,
  given: Record<string, string>,
  namespace: string | undefined,
  connect: () => Promise<Kube>,
): Promise<Prefetch | undefined> {
  // params that would be asked for on the terminal, or refused, come before any request
  const complete = await resolveParams(lw.workflow, given, { interactive: false }).then(
    () => true,
    () => false,
  );
  const first = firstList(lw, namespace, complete);
  if (!first) return undefined;
  // the list is on its way before the engine's modules take the main thread
  const kube = connect();
  await kube.catch(() => {});
  const p = new Prefetch(lw, first.name, first.flags, kube, findPods);
  mark("first list sent");
  return p;
}

/**
 * Words after the workflow's name are its `cmd` param, joined by spaces: `kwekash weka status` runs
 * `weka status`, as the wrapper `kpod … -- bash -c "weka status"` did. A workflow without a `cmd` param
 * takes no words; `--param cmd=…` and words together are ambiguous.
 */
function withWords(
  lw: { name: string; workflow: { params?: Record<string, unknown> } },
  params: Record<string, string>,
  words: string[],
): Record<string, string> {
  if (words.length === 0) return params;
  if (!lw.workflow.params || !("cmd" in lw.workflow.params)) {
    throw new KodamaError(
      `workflow ${lw.name} takes no words after its name (got: ${words.join(" ")})`,
      ExitCode.USAGE,
      "set its params with --param NAME=VALUE (see `kodama workflow show NAME`)",
    );
  }
  if ("cmd" in params) {
    throw new KodamaError(
      `both --param cmd and words after the workflow name (${
        words.join(" ")
      }) give workflow ${lw.name} its cmd`,
      ExitCode.USAGE,
      "use one of them",
    );
  }
  return { ...params, cmd: words.join(" ") };
}
