/** `kodama wait`: block until matched pods (or a workload) meet `--for`, with live progress. */
import { opts } from "./opttypes.ts";
import { connectAll, targetFrom } from "./connect.ts";
import type { HelpSpec } from "./help.ts";
import { type Invocation, RECONNECT_OPTION, TARGETING_OPTIONS } from "./optspec.ts";
import { arg } from "./spec.ts";

export const names = ["wait"];

export const help: HelpSpec = {
  group: "Pods",
  summary: "Wait until matched pods are ready, deleted, in a phase, meet a condition, or exist",
  usage: "[TYPE/NAME | POD | -m MATCH | -l SELECTOR] [--for CONDITION] [--timeout DURATION] [flags]",
  long: `--for takes kubectl's forms: condition=TYPE[=STATUS] (STATUS defaults to true; both compared
without regard to case), jsonpath='{EXPR}'=VALUE (or jsonpath='{EXPR}': the field is set), delete,
create; and kodama's short ones: ready, deleted, exists, phase=PHASE. With a workload target
(deploy/, sts/, ds/, rs/, job/), a condition that pods do not have (Available, Complete, Progressing)
is the workload's own; any other --for applies to its pods.

Progress goes to stderr (updated in place on a terminal), naming each pending pod and why it is not
there yet (ContainerCreating, ImagePullBackOff, CrashLoopBackOff, Unschedulable, …); one
"pod/NAME condition met" line per pod goes to stdout when done. Exit 0 when met, 3 when nothing
matches, 5 on timeout naming each pending pod and its last reason, 130 on Ctrl-C.`,
  examples: [
    [
      "Wait up to two minutes for the api pods to be ready",
      "kodama wait -n prod -l app=api --for ready --timeout 2m",
    ],
    ["Wait for every pod of a Deployment to be ready", "kodama wait -n prod deploy/api --for ready"],
    [
      "A condition pods do not have is the workload's own, as in kubectl",
      "kodama wait -n prod deploy/api --for condition=Available --timeout 2m",
    ],
    [
      "Wait in every context whose name starts with prod, side by side [not in the demo]",
      "kodama wait --context 'prod*' -l app=api --for ready --timeout 2m",
    ],
    [
      "Wait until the pod's Ready condition is False [not in the demo]",
      "kodama wait -n prod --pod api-6b7f9c8d4-k2x9p --for condition=Ready=False",
    ],
    [
      "Wait for a field to have a value, as kubectl's jsonpath [not in the demo]",
      "kodama wait -n staging -m spark-driver --for jsonpath='{.status.phase}'=Succeeded --timeout 1h",
    ],
    [
      "Wait until a pod is gone [not in the demo]",
      "kodama wait -n prod --pod api-6b7f9c8d4-k2x9p --for deleted",
    ],
    [
      "Wait for a batch pod to finish [not in the demo]",
      "kodama wait -n staging -m spark-driver --for phase=Succeeded --timeout 1h",
    ],
    [
      "Wait until a pod with this label exists [not in the demo]",
      "kodama wait -n dev -l app=job --for exists",
    ],
  ],
};

export const args = [
  arg("[target]", "TYPE/NAME (deploy/api, sts/db, svc/web, job/x, session/s): all its pods; or a pod name"),
];

export const options = opts([
  {
    flags: "--for <condition>",
    description:
      "ready | deleted | exists | phase=PHASE | condition=TYPE[=STATUS] | jsonpath='{EXPR}'[=VALUE]",
    default: "ready",
  },
  {
    flags: "--timeout <duration>",
    description: "give up after this long (exit 5); 0 checks once",
    default: "60s",
  },
  { flags: "-q, --quiet", description: "no progress on stderr" },
  ...TARGETING_OPTIONS,
  RECONNECT_OPTION,
]);

export async function run(inv: Invocation<typeof options>): Promise<void> {
  const opts = inv.opts;
  const kubes = await connectAll(opts);
  const { waitCommand } = await import("../pods/wait_cmd.ts");
  await waitCommand(kubes, targetFrom(opts, inv.args[0]), {
    for: opts.for,
    timeout: opts.timeout,
    quiet: !!opts.quiet,
    reconnectTimeout: opts.reconnectTimeout,
  });
}
