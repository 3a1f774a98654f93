/**
 * The `kodama exec` / `kpod` feature: find the pods, choose among them, then run in one pod
 * (interactive), fan out over several (prefixed lines + summary), or open tmux panes.
 * Returns the process exit code.
 */
import { resolve } from "node:path";
import type { Kube } from "../kube/client.ts";
import { ExitCode, KodamaError, usageError } from "../errors.ts";
import { colorEnabled } from "../ui/color.ts";
import { parseDuration } from "../ui/duration.ts";
import { stderrSink, stdoutSink } from "../ui/sink.ts";
import { type ChoiceFlags, choosePods } from "./choose.ts";
import { findPods, type TargetFlags } from "./target.ts";

export interface ExecCommandOptions extends ChoiceFlags {
  command: string[];
  container?: string;
  stdin?: boolean;
  tty?: boolean;
  maxParallel?: number;
  failFast?: boolean;
  timeout?: string;
  prefix?: boolean;
  json?: boolean;
  tmux?: boolean;
  layout?: string;
  syncPanes?: boolean;
  /** --kubeconfig as given (passed on to tmux panes) */
  kubeconfig?: string;
}

async function readAll(r: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(r).arrayBuffer());
}

export async function execCommand(kube: Kube, t: TargetFlags, o: ExecCommandOptions): Promise<number> {
  if (o.tmux && (o.all || o.first || o.json)) {
    throw usageError("--tmux cannot be combined with --all, --first or -o json");
  }
  if (!o.tmux && o.command.length === 0) {
    throw usageError("no command given", "put the command after --, e.g. kodama exec -m api -- sh");
  }
  const timeoutMs = o.timeout ? parseDuration(o.timeout, "--timeout") : undefined;
  if (o.tmux) {
    const { validateLayout } = await import("./tmux.ts");
    validateLayout(o.layout);
  }
  // --all / -o json will fan out: load that code while the pod list is on its way (~15 ms)
  const fanoutModule = o.all || o.json ? import("./fanout.ts") : undefined;
  fanoutModule?.catch(() => {}); // awaited below; a failure surfaces there
  const pods = await findPods(kube, t);
  const chosen = await choosePods(kube, pods, t, {
    ...o,
    // --tmux opens a pane per matching pod unless the user picks
    all: o.all || (o.tmux && !o.pick),
    multi: o.multi || o.tmux,
  });

  if (o.tmux) {
    const { tmuxFanout, paneEnv } = await import("./tmux.ts");
    const { selfCommand } = await import("./self.ts");
    const globalFlags = ["--context", kube.contextName];
    if (o.kubeconfig) globalFlags.unshift("--kubeconfig", resolve(o.kubeconfig));
    return await tmuxFanout(chosen, {
      command: o.command,
      layout: o.layout,
      syncPanes: o.syncPanes,
      container: o.container,
      kodamaArgv: selfCommand(),
      globalFlags,
      env: paneEnv(),
      print: (l) => stdoutSink.write(l + "\n"),
    });
  }

  const fan = o.all || o.json || chosen.length > 1;
  if (fan) {
    if (o.tty) {
      throw usageError(
        "-t needs a single pod",
        "use --tmux for an interactive shell in every pod, or drop -t",
      );
    }
    const stdin = o.stdin ? await readAll(Deno.stdin.readable) : undefined;
    const { fanout, fanoutExitCode } = await (fanoutModule ?? import("./fanout.ts"));
    const ctrl = new AbortController();
    const onInt = () => ctrl.abort();
    Deno.addSignalListener("SIGINT", onInt);
    try {
      const totals = await fanout(kube, chosen, {
        command: o.command,
        container: o.container,
        maxParallel: o.maxParallel,
        timeoutMs,
        failFast: o.failFast,
        stdin,
        prefix: o.prefix,
        json: o.json,
        out: stdoutSink,
        err: stderrSink,
        color: colorEnabled("stdout"),
        signal: ctrl.signal,
        allNamespaces: t.allNamespaces,
      });
      return fanoutExitCode(totals);
    } finally {
      Deno.removeSignalListener("SIGINT", onInt);
    }
  }

  const { execOne } = await import("./exec.ts");
  const ctrl = new AbortController();
  const timer = timeoutMs ? setTimeout(() => ctrl.abort(), timeoutMs) : undefined;
  try {
    const code = await execOne(kube, chosen[0], {
      command: o.command,
      container: o.container,
      stdin: o.stdin,
      tty: o.tty,
      out: stdoutSink,
      err: stderrSink,
      signal: ctrl.signal,
    });
    if (code === 130 && timer && ctrl.signal.aborted) {
      throw new KodamaError(
        `timed out after ${o.timeout} in pod ${chosen[0].metadata?.name}`,
        ExitCode.TIMEOUT,
      );
    }
    return code;
  } finally {
    clearTimeout(timer);
  }
}
