/** `kodama run NAME`: run a workflow found in the repo, ~/.kodama/workflows or the built-ins. */
import type { Command } from "@commander-js/extra-typings";
import { addOptions, invocationOf } from "./flags.ts";
import { help } from "./help.ts";
import { RUN_OPTIONS, runAction } from "./run_action.ts";

export function register(program: Command) {
  const cmd = help(program.command("run"), {
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
  })
    .argument("<name>", "workflow name (see `kodama workflow list`) or a path to a workflow file")
    .argument(
      "[cmd...]",
      "for a workflow with a `cmd` param (kwekash): the command line; after -- when it has flags of its own",
    );
  addOptions(cmd, RUN_OPTIONS).action((_name, _words, _opts, c) => runAction(invocationOf(c)));
}
