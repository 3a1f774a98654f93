/** `kodama run NAME`: run a workflow found in the repo, ~/.kodama/workflows or the built-ins. */
import { resolve } from "node:path";
import { setExitCode } from "./exit.ts";
import type { Command } from "@commander-js/extra-typings";
import { collect, connectFromOpts, globalsOf } from "./flags.ts";

export function register(program: Command) {
  program.command("run").description(
    "run a workflow by name (repo .kodama/workflows, ~/.kodama/workflows, built-ins)",
  )
    .argument("<name>", "workflow name (see `kodama workflow list`) or a path to a workflow file")
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
    .addHelpText(
      "after",
      `
Examples:
  kodama run kwekash                                 the WEKA version from a drive pod
  kodama run kwekash --param cmd="weka status"
  kodama run health -n prod --param match=api        fan out over matching pods, summarise
  kodama run deploy-check --dry-run                  show the plan, resolve targets, run nothing
  kodama run ./ci/smoke.yaml --trust                 a file path works too

Exit codes: the first failing step's (one-pod exec / local: the command's own code), 2 usage
(bad params, untrusted workflow), 3 nothing matched, 5 a step timed out, 130 interrupted.`,
    )
    .action(async (name, opts, c) => {
      const g = globalsOf(c);
      const { runCommand } = await import("../workflow/commands.ts");
      // for the kodama processes a run starts (tmux panes): absolute, as their cwd may differ
      const globalFlags = [
        ...(g.kubeconfig ? ["--kubeconfig", resolve(g.kubeconfig)] : []),
        ...(g.context ? ["--context", g.context] : []),
      ];
      const code = await runCommand(name, {
        params: opts.param,
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
