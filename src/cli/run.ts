/** `kodama run NAME`: run a workflow found in the repo, ~/.kodama/workflows or the built-ins. */
import { setExitCode } from "./exit.ts";
import type { Command } from "@commander-js/extra-typings";
import { collect, connectFromOpts, globalsOf, kubeOptionsFrom } from "./flags.ts";
import { help } from "./help.ts";

export function register(program: Command) {
  help(program.command("run"), {
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
    )
    .option("-p, --param <name=value>", "set a workflow param (repeatable)", collect, [] as string[])
    .option(
      "--dry-run",
      "print every step with expressions resolved and the pods each target matches; run nothing",
    )
    .option(
      "--trust",
      "trust this version of a repo workflow that asks for permissions (pinned by content hash)",
    )
    .option("-y, --yes", "answer prompts with the default (select: pick / pick steps take the first match)")
    .action(async (name, words, opts, c) => {
      const g = globalsOf(c);
      const [{ runCommand }, { connectionFlags }] = await Promise.all([
        import("../workflow/commands.ts"),
        import("../kube/overrides.ts"),
      ]);
      // for the kodama processes a run starts (tmux panes): the same cluster and user, paths made
      // absolute as their cwd may differ; never --token (process arguments are readable by anyone)
      const globalFlags = connectionFlags(await kubeOptionsFrom(g));
      const code = await runCommand(name, {
        params: opts.param,
        words,
        dryRun: !!opts.dryRun,
        trust: !!opts.trust,
        yes: !!opts.yes,
        namespace: g.namespace,
        connect: () => connectFromOpts(g),
        globalFlags,
      });
      setExitCode(code);
    });
}
