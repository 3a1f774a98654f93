/**
 * The `kodama exec` / `kpod` feature: find the pods, choose among them, then run in one pod
 * (interactive), fan out over several (prefixed lines + summary), or open tmux panes.
 * Returns the process exit code.
 */
import { clearTimer } from "../base/proc/timer.ts";
import type { Kube } from "../kube/client.ts";
import type { KubeObjects } from "../kube/seam.ts";
import { ExitCode, KodamaError, usageError } from "../base/errors.ts";
import { colorEnabled, isTerminal } from "../ui/color.ts";
import { parseDuration } from "../base/duration.ts";
import { onStdoutClosed, type Sink, stderrSink, stdoutClosed, stdoutSink } from "../base/sink.ts";
import { type ChoiceFlags, choosePods } from "./choose.ts";
import { chooseContainer, findPods, nothingMatched, type TargetFlags } from "./target.ts";
import { noRunningPods, notRunningError } from "./notrunning.ts";
import { podProblem } from "../kube/podstatus.ts";
import type { V1Pod } from "@kubernetes/client-node";
import type { FanoutOptions } from "./fanout.ts";
import { assertChildrenCanConnect } from "../kube/overrides.ts";
import { withInterrupt } from "../base/proc/proc.ts";
import { doubling } from "../base/clock.ts";

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
  /** fold identical output into groups of pods (dshbak -c) */
  group?: boolean;
  tmux?: boolean;
  layout?: string;
  syncPanes?: boolean;
}

async function readAll(r: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(r).arrayBuffer());
}

export async function execCommand(
  kubes: Kube | Kube[],
  t: TargetFlags,
  o: ExecCommandOptions,
): Promise<number> {
  if (Array.isArray(kubes) && kubes.length > 1) return await execAcross(kubes, t, o);
  const kube = Array.isArray(kubes) ? kubes[0] : kubes;
  if (o.tmux && (o.all || o.first || o.json || o.group)) {
    throw usageError("--tmux cannot be combined with --all, --first, --group or -o json");
  }
  if (o.group && o.json) throw usageError("--group and -o json exclude each other", "-o grouped is --group");
  if (!o.tmux && o.command.length === 0) {
    throw usageError("no command given", "put the command after --, e.g. kodama exec -m api -- sh");
  }
  const timeoutMs = o.timeout ? parseDuration(o.timeout, "--timeout", { timer: true }) : undefined;
  if (o.tmux) assertChildrenCanConnect(kube.options);
  if (o.tmux) {
    const { validateLayout } = await import("./tmux.ts");
    validateLayout(o.layout);
  }
  // --all / -o json will fan out: load that code while the pod list is on its way (~15 ms)
  const fanoutModule = o.all || o.json || o.group ? import("./fanout.ts") : undefined;
  fanoutModule?.catch(() => {}); // awaited below; a failure surfaces there
  // one pod: its exec stream's code (and Deno's WebSocket) while the pod is read — the main thread
  // waits there anyway, for the answer and, the first time, for TLS set-up (src/kube/warm.ts): ~8 ms
  const execModule = !fanoutModule && !o.tmux ? import("./exec.ts") : undefined;
  execModule?.catch(() => {}); // awaited by execSingle; a failure surfaces there
  // and the streams' target (credentials, TLS client, proxy), so the first stream opens right after the GET
  if (!o.tmux) import("../kube/exec.ts").then((m) => m.prepareStreams(kube)).catch(() => {});
  const pods = await findPods(kube, t);
  // pods that exist but do not run: say which and why, not "no pods matched"
  if (!pods.length && t.includeNotReady === false) {
    throw await noRunningPods(kube, t, { container: o.container, what: "cannot exec" });
  }
  const chosen = await choosePods(kube, pods, t, {
    ...o,
    // --tmux opens a pane per matching pod unless the user picks
    all: o.all || (o.tmux && !o.pick),
    multi: o.multi || o.tmux,
  });

  if (o.tmux) {
    const { tmuxFanout, paneEnv } = await import("./tmux.ts");
    const { selfCommand } = await import("../base/proc/proc.ts");
    // the panes reach the same cluster as the same user (kube.childFlags(): never the token)
    const globalFlags = kube.childFlags();
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

  const fan = o.all || o.json || o.group || chosen.length > 1;
  if (fan) {
    if (o.tty) {
      throw usageError(
        "-t needs a single pod",
        "use --tmux for an interactive shell in every pod, or drop -t",
      );
    }
    const stdin = o.stdin ? await readAll(Deno.stdin.readable) : undefined;
    const { fanout, fanoutExitCode } = await (fanoutModule ?? import("./fanout.ts"));
    return await untilInterrupted(async (signal) =>
      fanoutExitCode(await fanout(kube, chosen, fanoutOptions(o, t, { timeoutMs, stdin, signal })))
    );
  }

  return await execSingle(kube, chosen[0], o, timeoutMs, execModule);
}

/** exec in several contexts: every matching pod of each, in one fan-out; a failed context is in the summary. */
async function execAcross(kubes: Kube[], t: TargetFlags, o: ExecCommandOptions): Promise<number> {
  if (!(o.all || o.json || o.group) || o.tmux || o.tty) {
    throw usageError(
      "several contexts need a fan-out: add --all (or --group, -o json)",
      "--tmux and -t work in one context",
    );
  }
  if (o.command.length === 0) {
    throw usageError("no command given", "put the command after --, e.g. kodama exec --all -- hostname");
  }
  const timeoutMs = o.timeout ? parseDuration(o.timeout, "--timeout", { timer: true }) : undefined;
  const { findPodsAcross } = await import("./multi.ts");
  const { found, failed } = await findPodsAcross(kubes, t);
  const items = found.flatMap((f) => f.pods.map((pod) => ({ kube: f.kube, pod })));
  if (!items.length && !failed.length) throw nothingMatched(t, kubes[0].namespace);
  const stdin = o.stdin ? await readAll(Deno.stdin.readable) : undefined;
  const { fanoutPods, fanoutExitCode } = await import("./fanout.ts");
  return await untilInterrupted(async (signal) =>
    fanoutExitCode(
      await fanoutPods(items, {
        ...fanoutOptions(o, t, { timeoutMs, stdin, signal }),
        clusterErrors: failed,
      }),
    )
  );
}

/** stderr, silent once stdout's reader went away (`| head` ends quietly; the summary would be noise) */
const quietAfterStdoutClosed: Sink = { write: (c) => stdoutClosed() || stderrSink.write(c) };

/** The fan-out options exec's flags give (stdout/stderr, a live line on a terminal). */
function fanoutOptions(
  o: ExecCommandOptions,
  t: TargetFlags,
  x: { timeoutMs?: number; stdin?: Uint8Array; signal: AbortSignal },
): FanoutOptions {
  return {
    command: o.command,
    container: o.container,
    maxParallel: o.maxParallel,
    timeoutMs: x.timeoutMs,
    failFast: o.failFast,
    stdin: x.stdin,
    prefix: o.prefix,
    json: o.json,
    group: o.group,
    // a live done/total line, on a terminal only
    progress: isTerminal("stderr"),
    out: stdoutSink,
    err: quietAfterStdoutClosed,
    color: colorEnabled("stdout"),
    signal: x.signal,
    allNamespaces: t.allNamespaces,
  };
}

/**
 * Run a fan-out with an AbortSignal that Ctrl-C aborts — and a closed stdout (`exec --all … | head`),
 * after which the commands are cut off (ended in their pods) and the exit code is 0.
 */
async function untilInterrupted(fn: (signal: AbortSignal) => Promise<number>): Promise<number> {
  return await withInterrupt(async (signal) => {
    const code = await fn(signal);
    return stdoutClosed() ? ExitCode.OK : code;
  }, { also: (abort) => onStdoutClosed(() => abort()) });
}

/** Shells that start an interactive session when run without a command (`-c`) or script. */
const SHELLS = new Set(["sh", "bash", "ash", "dash", "zsh", "ksh", "mksh", "fish", "tcsh", "csh", "busybox"]);

/** `bash`, `/bin/sh`, `bash -l`, `busybox sh` — a shell asked for a session, not a command. */
export function isInteractiveShell(command: string[]): boolean {
  const [cmd, ...args] = command;
  const base = cmd?.split("/").pop() ?? "";
  if (!SHELLS.has(base)) return false;
  if (base === "busybox") return args.length === 1 && SHELLS.has(args[0]);
  return args.every((a) => a.startsWith("-") && a !== "-c" && !/^-[a-z]*c/.test(a));
}

/**
 * TTY and stdin for one pod, as `docker compose exec` decides: a shell on a terminal (stdin and stdout
 * both terminals) gets a TTY and stdin without asking; -t forces one, -T never. -t without a terminal
 * on stdin warns with kubectl's words and goes on without one.
 */
export function ttyChoice(
  o: { tty?: boolean; stdin?: boolean; command: string[] },
  term: { stdin: boolean; stdout: boolean },
): { tty: boolean; stdin: boolean; warning?: string } {
  const auto = o.tty === undefined && term.stdin && term.stdout && isInteractiveShell(o.command);
  const tty = o.tty === true || auto;
  const stdin = !!o.stdin || auto;
  if (tty && !term.stdin) {
    return {
      tty: false,
      stdin,
      warning: "Unable to use a TTY - input is not a terminal or the right kind of file",
    };
  }
  return { tty, stdin };
}

async function execSingle(
  kube: Kube,
  pod: V1Pod,
  o: ExecCommandOptions,
  timeoutMs: number | undefined,
  execModule?: Promise<typeof import("./exec.ts")>,
): Promise<number> {
  const chosen = [pod];
  // the pod runs, but the chosen container may not (a sidecar in a crash loop)
  const container = chooseContainer(pod, o.container);
  if (podProblem(pod, { container })) {
    throw await notRunningError(kube, [pod], { container, what: "cannot exec" });
  }
  const { execOne } = await (execModule ?? import("./exec.ts"));
  const choice = ttyChoice(o, { stdin: Deno.stdin.isTerminal(), stdout: Deno.stdout.isTerminal() });
  if (choice.warning) stderrSink.write(choice.warning + "\n");
  const ctrl = new AbortController();
  let timedOut = false;
  const timer = timeoutMs
    ? setTimeout(() => {
      timedOut = true;
      ctrl.abort();
    }, timeoutMs)
    : undefined;
  // `kodama exec … | head`: the reader went away — cut the command off (it is ended in the pod), exit 0
  const offClosed = onStdoutClosed(() => ctrl.abort());
  let remote: string | undefined;
  try {
    const code = await execOne(kube, chosen[0], {
      command: o.command,
      container: o.container,
      stdin: choice.stdin,
      tty: choice.tty,
      out: stdoutSink,
      err: stderrSink,
      signal: ctrl.signal,
      onRemote: (r) => (remote = r),
    });
    if (stdoutClosed()) return ExitCode.OK;
    if (code === 130 && timedOut) {
      throw new KodamaError(
        `timed out after ${o.timeout} in pod ${chosen[0].metadata?.name}${
          remote === "ended" ? "; the command was ended in the pod" : ""
        }`,
        ExitCode.TIMEOUT,
      );
    }
    return code;
  } catch (e) {
    // the container ended between the look above and the exec (a crash loop's brief run): say how
    const { isContainerMissing } = await import("../kube/exec.ts");
    const ended = isContainerMissing(e) ? await endedSince(kube, pod, container) : undefined;
    if (ended) throw await notRunningError(kube, [ended], { container, what: "cannot exec" });
    throw e;
  } finally {
    clearTimer(timer);
    offClosed();
  }
}

/**
 * The pod again, when its status now says `container` does not run. The kubelet reports a container's exit
 * after its next look at the runtime (~1 s), so a status that still says Running is read again, up to ~3 s.
 */
async function endedSince(kube: KubeObjects, pod: V1Pod, container: string): Promise<V1Pod | undefined> {
  const ns = pod.metadata?.namespace ?? kube.namespace;
  for (let i = 0; i < 4; i++) {
    if (i) await new Promise((r) => setTimeout(r, doubling(i - 1, 250, 1000)));
    try {
      const fresh = await kube.getObject<V1Pod>("pods", ns, pod.metadata?.name ?? "");
      if (podProblem(fresh, { container })) return fresh;
    } catch {
      return undefined;
    }
  }
  return undefined;
}
