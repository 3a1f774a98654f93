/**
 * `kodama pods`'s options and what it does with them, without commander: src/cli/pods.ts declares the
 * command (help, examples) from these, and src/cli/fast.ts runs it straight from the command line.
 */
import { setExitCode } from "./exit.ts";
import { connectAll, type GlobalOptions, targetFrom } from "./connect.ts";
import { type Invocation, type OptSpec, outputSpec, RECONNECT_OPTION, TARGETING_OPTIONS } from "./optspec.ts";

/** pods' options, in the order `kodama pods --help` lists them. */
export const PODS_OPTIONS: readonly OptSpec[] = [
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
];

export async function podsAction(inv: Invocation): Promise<void> {
  const o = inv.opts;
  const { listPodsCommand } = await import("../pods/list.ts");
  const kubes = await connectAll(o as GlobalOptions);
  const code = await listPodsCommand(
    kubes,
    { ...targetFrom(o, inv.args[0]), includeNotReady: !o.running },
    o.output as string,
    {
      watch: Boolean(o.watch),
      watchOnly: Boolean(o.watchOnly),
      outputWatchEvents: Boolean(o.outputWatchEvents),
      reconnectTimeout: o.reconnectTimeout as string,
    },
  );
  if (code) setExitCode(code);
}
