/** `kodama port-forward`: forward local ports to a pod (or a service's pod), like kubectl. */
import type { Command } from "@commander-js/extra-typings";
import type { Kube } from "../kube/client.ts";
import type { TargetFlags } from "../pods/target.ts";
import type { ActiveForward, ForwardSpec, ForwardTarget } from "../pods/portforward.ts";
import { type Sink, stderrSink, stdoutSink } from "../ui/sink.ts";
import { isTerminal } from "../ui/color.ts";
import { ExitCode, KodamaError, usageError } from "../errors.ts";
import { connectFromOpts, globalsOf, targetFrom, targetingOptions } from "./flags.ts";
import { help } from "./help.ts";

export function register(program: Command) {
  const cmd = help(program.command("port-forward").alias("pf"), {
    group: "Pods",
    summary: "Forward local ports to a pod, or to a ready pod behind a service",
    usage: "(TYPE/NAME | NAME | -m MATCH | -l SELECTOR) [LOCAL:]REMOTE [...[LOCAL:]REMOTE] [flags]",
    long: `Ports: REMOTE (same local port), LOCAL:REMOTE, :REMOTE or 0:REMOTE (a free local port),
REMOTE may be a named container port (http). For services, REMOTE is a service port
(number or name) and is mapped to its targetPort on the chosen pod. TYPE/NAME is pod/, svc/, deploy/,
sts/, ds/, rs/, job/ or session/: a workload's pod is the one kubectl would choose, and svc/ and
workload targets follow their object to another ready pod when the pod goes away (--no-reconnect: stop).

One "Forwarding from ADDRESS:LOCAL -> pod/NAME:REMOTE" line per port goes to stdout (parse it
to learn an auto-picked port); Ctrl-C stops and prints traffic stats on stderr (exit 130).`,
    examples: [
      [
        "The one api pod's port 8080 on localhost:8080",
        "kodama port-forward -n prod -m api-6b7f9c8d4-k2x9p 8080",
      ],
      [
        "Service port 80 (mapped to its targetPort) on a free local port",
        "kodama port-forward -n prod svc/api :80",
      ],
      [
        "A ready pod of a Deployment; when it goes away, the forward moves to another",
        "kodama port-forward -n prod deploy/api :8080",
      ],
      [
        "A named container port on local port 9000",
        "kodama port-forward -n prod --pod api-6b7f9c8d4-k2x9p 9000:http",
      ],
      [
        "Keep forwarding to another api pod when the first goes away",
        "kodama port-forward -n prod -l app=api --first --reconnect 8080:8080",
      ],
    ],
  })
    .argument("<target-or-ports...>", "[TYPE/NAME | NAME] then [LOCAL:]REMOTE ports")
    .option("--service <name>", "forward to a ready pod of this service (ports are service ports)")
    .option(
      "--address <addr>",
      "local address(es) to listen on, comma-separated (localhost = both loopbacks)",
      "127.0.0.1",
    )
    .option(
      "--reconnect",
      "when the pod goes away, keep listening and forward to a new pod of the same target " +
        "(default for svc/ and workload targets such as deploy/)",
    )
    .option(
      "--no-reconnect",
      "end when the pod goes away, as kubectl does, even for svc/ and workload targets",
    )
    .option("--first", "several pods match: take the first by name")
    .option("--pick", "choose the pod in the interactive picker")
    .option("--include-not-ready", "consider pods that are not Running")
    .option("-v, --verbose", "log each connection on stderr (Handling connection for PORT)");
  targetingOptions(cmd)
    .action(async (args, _o, command) => {
      const all = command.optsWithGlobals() as Record<string, unknown>;
      const opts = command.opts();
      const kube = await connectFromOpts(globalsOf(command));
      await runPortForward(kube, args, {
        target: { ...targetFrom(all), includeNotReady: opts.includeNotReady ? true : undefined },
        service: opts.service,
        address: opts.address,
        reconnect: opts.reconnect as boolean | undefined,
        first: !!opts.first,
        pick: !!opts.pick,
        verbose: !!opts.verbose,
      });
    });
}

export interface PortForwardCliOptions {
  target: TargetFlags;
  service?: string;
  address?: string;
  reconnect?: boolean;
  first?: boolean;
  pick?: boolean;
  verbose?: boolean;
  /** stop after this signal instead of SIGINT/SIGTERM (tests) */
  signal?: AbortSignal;
  /** live traffic line on stderr (default: stderr is a terminal) */
  live?: boolean;
}

function hasTargeting(t: TargetFlags): boolean {
  return !!(t.match?.length || t.regex || t.selector || t.fieldSelector || t.pod);
}

/** Split positional args into the target and the port specs (kubectl's `[TYPE/]NAME PORT...`). */
export async function parseForwardArgs(
  args: string[],
  o: PortForwardCliOptions,
  defaultNamespace: string,
): Promise<{ target: ForwardTarget; specs: ForwardSpec[] }> {
  const pf = await import("../pods/portforward.ts");
  const rest = [...args];
  const namespace = o.target.namespace ?? defaultNamespace;
  let target: ForwardTarget | undefined;
  const res = rest.length ? pf.parseResourceArg(rest[0]) : undefined;
  if (res) {
    rest.shift();
    if (res.kind === "pod" || res.kind === "service") target = { kind: res.kind, namespace, name: res.name };
    else {
      // deploy/, sts/, ds/, rs/, job/, session/: one of its pods, chosen like kubectl
      target = { kind: "select", flags: { ...o.target, namespace, resource: res }, choose: {} };
    }
  } else if (!o.service && !hasTargeting(o.target) && rest.length >= 2 && !pf.looksLikePortSpec(rest[0])) {
    target = { kind: "pod", namespace, name: rest.shift()! }; // kubectl port-forward NAME PORT...
  }
  if (o.service) {
    if (target) throw usageError(`give either --service ${o.service} or ${args[0]}, not both`);
    target = { kind: "service", namespace, name: o.service };
  }
  if (target && hasTargeting(o.target)) {
    throw usageError(
      `${
        o.service ? `--service ${o.service}` : args[0]
      } and the targeting flags (-m, -l, --pod, --regex) exclude each other`,
    );
  }
  if (o.target.allNamespaces && target) throw usageError(`-A cannot be used with ${args[0]}`);
  if (!rest.length) {
    throw usageError("port-forward needs at least one port", "e.g. 8080, 9000:8080, :8080 (free local port)");
  }
  target ??= { kind: "select", flags: o.target, choose: { first: o.first, pick: o.pick } };
  return { target, specs: rest.map(pf.parsePortSpec) };
}

/** The whole command: resolve, listen, print the Forwarding lines, run until Ctrl-C or the pod is lost. */
export async function runPortForward(
  kube: Kube,
  args: string[],
  o: PortForwardCliOptions,
  out: Sink = stdoutSink,
  err: Sink = stderrSink,
): Promise<void> {
  const pf = await import("../pods/portforward.ts");
  const { isDebug } = await import("../ui/log.ts");
  const { target, specs } = await parseForwardArgs(args, o, kube.namespace);
  const verbose = o.verbose || isDebug();
  const ac = new AbortController();
  const stop = Promise.withResolvers<KodamaError>();
  const onSignal = () => {
    ac.abort();
    stop.resolve(new KodamaError("interrupted", ExitCode.INTERRUPTED));
  };
  const signals: Deno.Signal[] = o.signal ? [] : ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  o.signal?.addEventListener("abort", onSignal, { once: true });
  let forwards: ActiveForward[] = [];
  const live = o.live ?? isTerminal("stderr");
  let liveLine = "";
  const clearLive = () => {
    if (liveLine) err.write("\r\x1b[2K");
    liveLine = "";
  };
  const drawLive = () => {
    if (!live || !forwards.length) return;
    const line = pf.formatLiveStats(pf.totalStats(forwards), forwards[0].pod);
    if (line === liveLine) return;
    err.write(`\r\x1b[2K${line}`);
    liveLine = line;
  };
  const ticker = live ? setInterval(drawLive, 500) : undefined;
  try {
    const started = await pf.startPortForward(kube, target, specs, {
      signal: ac.signal,
      address: o.address,
      reconnect: o.reconnect ?? pf.reconnectsByDefault(target),
      onEvent: (e) => {
        if (e.startsWith("lost connection")) return; // thrown below as the command's error
        if (!verbose && (e.startsWith("Handling connection") || e.startsWith("Closed connection"))) return;
        clearLive();
        err.write(e + "\n");
        drawLive();
      },
      onLost: (e) => stop.resolve(e),
    });
    forwards = started.forwards;
    if (ac.signal.aborted) throw new KodamaError("interrupted", ExitCode.INTERRUPTED);
    for (const f of forwards) out.write(pf.forwardingLine(f) + "\n");
    drawLive();
    const reason = await stop.promise;
    ac.abort();
    await Promise.all(forwards.map((f) => f.close()));
    throw reason;
  } finally {
    if (ticker !== undefined) clearInterval(ticker);
    clearLive();
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
    if (forwards.length) {
      const total = pf.totalStats(forwards);
      const per = forwards.length > 1
        ? " (" + forwards.map((f) => `${f.local}: ${pf.formatStats(f.stats())}`).join("; ") + ")"
        : "";
      err.write(`port-forward: ${pf.formatStats(total)}${per}\n`);
    }
  }
}
