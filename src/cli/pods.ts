/** `kodama pods`: list pods with the shared targeting flags; -w/--watch-only keep printing changes. */
import { opts } from "./opttypes.ts";
import type { HelpSpec } from "./help.ts";
import { arg } from "./spec.ts";
import { setExitCode } from "./exit.ts";
import { connectAll, targetFrom } from "./connect.ts";
import { type Invocation, outputSpec, RECONNECT_OPTION, TARGETING_OPTIONS } from "./optspec.ts";

export const names = ["pods", "po"];

export const help: HelpSpec = {
  group: "Pods",
  summary: "List pods, filtered like every pod command",
  usage: "[TYPE/NAME | NAME] [-m MATCH | --regex RE | -l SELECTOR] [-n NS | -A] [-o FORMAT] [-w] [flags]",
  examples: [
    ['Pods whose name contains "drive"', "kodama pods -n weka-operator-system -m drive"],
    [
      "The pods of a Deployment (also sts/, ds/, rs/, job/, svc/, session/)",
      "kodama pods -n prod deploy/api",
    ],
    ["Every api pod in every namespace, with node, IP and containers", "kodama pods -A -l app=api -o wide"],
    [
      "Only the names of pods matching a regular expression",
      "kodama pods -n prod --regex '^api-[0-9a-f]+' -o name",
    ],
    ["The list, then a row per change until Ctrl-C", "kodama pods -n prod -w"],
    [
      "The api pods of two contexts (clusters), with a CONTEXT column [not in the demo]",
      "kodama pods --context admin,dev -A -l app=api",
    ],
    [
      "Only changes, with an ADDED/MODIFIED/DELETED column [not in the demo]",
      "kodama pods -A -m drive --watch-only --output-watch-events",
    ],
  ],
};

export const args = [
  arg("[target]", "TYPE/NAME (deploy/api, sts/db, svc/web, job/x, session/s): its pods; or a pod name"),
];

/** pods' options, in the order `kodama pods --help` lists them. */
export const options = opts([
  { flags: "--running", description: "only Running pods" },
  {
    flags: "-w, --watch",
    description: "after listing, print a row for every change (like kubectl get pods -w); Ctrl-C ends",
  },
  { flags: "--watch-only", description: "print changes only, without the initial list" },
  {
    flags: "--output-watch-events",
    description: "with -w/--watch-only: add an EVENT column (ADDED, MODIFIED, DELETED)",
  },
  ...TARGETING_OPTIONS,
  outputSpec(),
  RECONNECT_OPTION,
]);

export async function run(inv: Invocation<typeof options>): Promise<void> {
  const o = inv.opts;
  const { listPodsCommand } = await import("../pods/list.ts");
  const kubes = await connectAll(o);
  const code = await listPodsCommand(
    kubes,
    { ...targetFrom(o, inv.args[0]), includeNotReady: !o.running },
    o.output,
    {
      watch: Boolean(o.watch),
      watchOnly: Boolean(o.watchOnly),
      outputWatchEvents: Boolean(o.outputWatchEvents),
      reconnectTimeout: o.reconnectTimeout,
    },
  );
  if (code) setExitCode(code);
}
