/** `kodama port-forward`: forward local ports to a pod (or a service's pod), like kubectl. */
import { command } from "./opttypes.ts";
import { opts } from "./opttypes.ts";
import { setExitCode } from "./exit.ts";
import { connectFromOpts, targetFrom } from "./connect.ts";
import type { HelpSpec } from "./help.ts";
import { choiceOption, type Invocation, TARGETING_OPTIONS } from "./optspec.ts";
import { arg, type CommandSpec } from "./spec.ts";
import { usageError } from "../base/errors.ts";
import type { V1Pod } from "@kubernetes/client-node";

const pf = () => import("../pods/pf_cmd.ts");

export const names = ["port-forward", "pf"];

export const help: HelpSpec = {
  group: "Pods",
  summary: "Forward local ports to a pod, or to a ready pod behind a service",
  usage: "(TYPE/NAME | NAME | -m MATCH | -l SELECTOR) [LOCAL:]REMOTE [...[LOCAL:]REMOTE] [flags] | SESSION",
  long: `Ports: REMOTE (same local port), LOCAL:REMOTE, :REMOTE or 0:REMOTE (a free local port),
REMOTE may be a named container port (http). For services, REMOTE is a service port
(number or name) and is mapped to its targetPort on the chosen pod. TYPE/NAME is pod/, svc/, deploy/,
sts/, ds/, rs/, job/ or session/: a workload's pod is the one kubectl would choose, and svc/ and
workload targets follow their object to another ready pod when the pod goes away (--no-reconnect: stop).
A session's name without ports forwards the ports the session declares (its template's ports or
devcontainer forwardPorts, its sidecars' port=N), each on the same local port.

One "Forwarding from ADDRESS:LOCAL -> pod/NAME:REMOTE" line per port goes to stdout (parse it
to learn an auto-picked port). On a terminal a live line per port shows active and total
connections, bytes and rate each way (over the last second), errors and the current pod;
--stats-json FILE and \`port-forward list\` get the same figures, at most a second behind the traffic.
Ctrl-C ends quietly with the traffic figures on stderr (exit 0, as kubectl).

--detach runs the forward in the background (it outlives the terminal): it prints the forward's id,
then its Forwarding lines. \`port-forward list\` shows the running forwards, \`port-forward stop\` ends them.`,
  examples: [
    [
      "The ports session my-work declares (template ports, sidecars' port=N) [not in the demo: its my-work declares none]",
      "kodama pf my-work",
    ],
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
    [
      "In the background: prints an id, then the Forwarding line",
      "kodama port-forward -n prod svc/api :80 --detach",
    ],
    [
      "Figures for a dashboard, at most a second behind the traffic",
      "kodama port-forward -n prod svc/api 8080:80 --stats-json /tmp/pf.json",
    ],
    ["The forwards running on this machine, with traffic figures", "kodama port-forward list"],
    ["End every background forward", "kodama port-forward stop --all"],
  ],
};

export const args = [arg("<target-or-ports...>", "[TYPE/NAME | NAME] then [LOCAL:]REMOTE ports")];

export const options = opts([
  {
    flags: "--service <name>",
    description: "forward to a ready pod of this service (ports are service ports)",
  },
  {
    flags: "--address <addr>",
    description: "local IP address(es) to listen on, comma-separated (localhost = both loopbacks)",
    default: "127.0.0.1",
  },
  {
    flags: "--reconnect",
    description: "when the pod goes away, keep listening and forward to a new pod of the same target " +
      "(default for svc/ and workload targets such as deploy/)",
  },
  {
    flags: "--no-reconnect",
    description: "end when the pod goes away, as kubectl does, even for svc/ and workload targets",
  },
  choiceOption("--first", "several pods match: take the first by name"),
  choiceOption("--pick", "choose the pod in the interactive picker"),
  { flags: "--include-not-ready", description: "consider pods that are not Running" },
  { flags: "-v, --verbose", description: "log each connection on stderr (Handling connection for PORT)" },
  {
    flags: "--detach",
    description: "run in the background; prints an id and the Forwarding lines (see list, stop)",
  },
  {
    flags: "--stats-json <file>",
    description:
      "write the traffic figures to FILE as they change, at most a second behind (JSON, replaced atomically)",
  },
  { flags: "--daemon <id>", description: "internal: run as the background forward ID", hidden: true },
  ...TARGETING_OPTIONS,
]);

/** A lone word that may be a session's name (not a port, not TYPE/NAME): `pf NAME` forwards its ports. */
const SESSION_WORD = /^(?:session\/)?([a-z0-9]([-a-z0-9]*[a-z0-9])?)$/;

/**
 * `kodama pf NAME` (or `session/NAME`) without ports: the ports the session declares — its template's
 * `ports` (devcontainer forwardPorts) and its sidecars' `port=N` — each on the same local port. Undefined
 * when the word names no session (kubectl's rules then apply, with their error).
 */
async function sessionPorts(
  kube: import("../kube/client.ts").Kube,
  ns: string,
  args: string[],
): Promise<string[] | undefined> {
  const m = args.length === 1 ? SESSION_WORD.exec(args[0]) : null;
  if (!m || /^\d+$/.test(m[1])) return undefined;
  const { findSession } = await import("../session/state/cluster.ts");
  const f = await findSession(kube, ns, m[1]).catch(() => undefined);
  const spec = f?.view?.spec;
  if (!f?.view) return undefined;
  const ports = [
    ...new Set([...(spec?.ports ?? []), ...(spec?.sidecars ?? []).flatMap((s) => s.ports ?? [])]),
  ];
  if (!ports.length) {
    throw usageError(
      `session ${m[1]} declares no ports to forward`,
      `name them: kodama pf ${
        m[1]
      } 8080 (a template's ports, devcontainer forwardPorts or --sidecar NAME=IMAGE,port=N declare them)`,
    );
  }
  return [`session/${m[1]}`, ...ports.map(String)];
}

export async function run(inv: Invocation<typeof options>): Promise<void> {
  const opts = inv.opts;
  const [kube, { portForwardCommand }] = await Promise.all([connectFromOpts(opts), pf()]);
  const t = targetFrom(opts);
  const plain = !opts.service && !t.match?.length && !t.regex && !t.selector && !t.fieldSelector && !t.pod &&
    !t.allNamespaces;
  const args = (plain ? await sessionPorts(kube, t.namespace ?? kube.namespace, inv.args) : undefined) ??
    inv.args;
  // a session's pod replaced by the cluster (issue 80): said once, as every follower of a session says it
  const session = /^session\/(.+)$/.exec(args[0] ?? "")?.[1];
  const { movedLine } = session ? await import("../session/state/replaced.ts") : { movedLine: undefined };
  const code = await portForwardCommand(kube, args, {
    ...(session && movedLine ? { moved: (from: V1Pod, to: V1Pod) => movedLine(session, from, to) } : {}),
    target: { ...targetFrom(opts), includeNotReady: opts.includeNotReady ? true : undefined },
    service: opts.service,
    address: opts.address,
    reconnect: opts.reconnect,
    first: !!opts.first,
    pick: !!opts.pick,
    verbose: !!opts.verbose,
    detach: !!opts.detach,
    statsJson: opts.statsJson,
    daemon: opts.daemon,
    argv: inv.rawArgs,
  });
  setExitCode(code);
}

export const subcommands: CommandSpec[] = [
  command({
    names: ["list", "ls"],
    help: {
      summary: "List the port-forwards running on this machine, with their traffic figures",
      long: "Foreground and background (--detach) forwards alike; the figures are at most a second old.",
      examples: [
        [
          "Id, target, ports, current pod, uptime, connections, bytes in and out, reconnects",
          "kodama port-forward list",
        ],
        ["The same as JSON, with per-port figures and rates", "kodama port-forward list -o json"],
      ],
    },
    options: [
      {
        flags: "-o, --output <format>",
        description: "output format",
        choices: ["table", "json"],
        default: "table",
      },
    ],
    run: async (inv) => {
      const { portForwardListCommand } = await pf();
      setExitCode(await portForwardListCommand(inv.opts.output));
    },
  }),
  command({
    names: ["stop"],
    help: {
      summary: "End port-forwards by id (a unique prefix will do), or all of them",
      examples: [
        [
          "End one forward [not in the demo: an id port-forward list shows]",
          "kodama port-forward stop k3m9xq",
        ],
        ["End every forward on this machine", "kodama port-forward stop --all"],
      ],
    },
    args: [arg("[id...]", "ids from `kodama port-forward list`")],
    options: [{ flags: "--all", description: "every running port-forward" }],
    run: async (inv) => {
      const { portForwardStopCommand } = await pf();
      setExitCode(await portForwardStopCommand(inv.args, !!inv.opts.all));
    },
  }),
];
