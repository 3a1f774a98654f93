/** `kodama run NAME`: run a workflow found in the repo, ~/.kodama/workflows or the built-ins. */
import { opts } from "./opttypes.ts";
import type { HelpSpec } from "./help.ts";
import { arg } from "./spec.ts";
import { setExitCode } from "./exit.ts";
import { connectWith, kubeOptionsFrom } from "./connect.ts";
import { collect, type Invocation } from "./optspec.ts";

export const names = ["run"];

export const help: HelpSpec = {
  group: "Workflows",
  summary: "Run a workflow from the repo, ~/.kodama/workflows or the built-ins",
  usage: "(NAME | FILE) [-p KEY=VALUE ...] [--dry-run] [flags] [-- CMD...]",
  examples: [
    ["The WEKA version from a drive pod (kwekash is the same as kodama run kwekash)", "kodama run kwekash"],
    ["Set a param", 'kodama run kwekash --param cmd="weka status"'],
    [
      "Words after the name are the workflow's cmd param (kwekash weka status)",
      "kodama run kwekash weka status",
    ],
    [
      "Probe every matching pod in parallel and summarise",
      "kodama run health --param namespace=prod --param match=api",
    ],
    ["Show the plan with every expression resolved; run nothing", "kodama run kwekash --dry-run"],
    [
      "A workflow file that asks for permissions, trusted without a prompt",
      "kodama run ./ci/smoke.yaml --trust",
    ],
  ],
  notes: `Exit codes: the first failing step's (one-pod exec / local: the command's own code), 2 usage
(bad params, untrusted workflow), 3 nothing matched, 5 a step timed out, 130 interrupted.`,
};

export const args = [
  arg("<name>", "workflow name (see `kodama workflow list`) or a path to a workflow file"),
  arg(
    "[cmd...]",
    "for a workflow with a `cmd` param (kwekash): the command line; after -- when it has flags of its own",
  ),
];

/** run's options, in the order `kodama run --help` lists them. */
export const options = opts([
  {
    flags: "-p, --param <name=value>",
    description: "set a workflow param (repeatable)",
    parse: collect,
    default: [],
  },
  {
    flags: "--dry-run",
    description: "print every step with expressions resolved and the pods each target matches; run nothing",
  },
  {
    flags: "--trust",
    description: "trust this version of a repo workflow that asks for permissions (pinned by content hash)",
  },
  {
    flags: "--trust-hash <sha256>",
    description:
      "trust only the version with this content hash (`kodama workflow show NAME -o json` prints it); a changed file is refused",
  },
  {
    flags: "-y, --yes",
    description: "answer prompts with the default (select: pick / pick steps take the first match)",
  },
]);

export async function run(inv: Invocation<typeof options>): Promise<void> {
  const opts = inv.opts;
  const [name, ...words] = inv.args;
  // the workflow modules load while the kubeconfig is read and the client made (TLS warmed); a workflow
  // that never reaches the cluster leaves it unused, and an error surfaces only when a step connects
  const runModule = import("../workflow/run.ts");
  const overrides = import("../kube/overrides.ts");
  const ko = kubeOptionsFrom(opts);
  ko.catch(() => {}); // a bad flag's error is thrown below, where it is awaited
  const early = opts.dryRun ? undefined : connectWith(ko);
  early?.catch(() => {});
  const [{ runCommand }, { connectionFlags }] = await Promise.all([runModule, overrides]);
  // for the kodama processes a run starts (tmux panes): the same cluster and user, paths made
  // absolute as their cwd may differ; never --token (process arguments are readable by anyone)
  const globalFlags = connectionFlags(await ko);
  const code = await runCommand(name, {
    params: opts.param,
    words,
    dryRun: !!opts.dryRun,
    trust: !!opts.trust,
    trustHash: opts.trustHash,
    yes: !!opts.yes,
    namespace: opts.namespace,
    connect: () => early ?? connectWith(ko),
    globalFlags,
  });
  setExitCode(code);
}
