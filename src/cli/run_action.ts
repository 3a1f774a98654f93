/**
 * `kodama run`'s options and what it does with them, without commander: src/cli/run.ts declares the
 * command (help, examples) from these, and src/cli/fast.ts runs it straight from the command line.
 */
import { setExitCode } from "./exit.ts";
import { connectWith, type GlobalOptions, kubeOptionsFrom } from "./connect.ts";
import { collect, type Invocation, type OptSpec } from "./optspec.ts";

/** run's options, in the order `kodama run --help` lists them. */
export const RUN_OPTIONS: readonly OptSpec[] = [
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
    flags: "-y, --yes",
    description: "answer prompts with the default (select: pick / pick steps take the first match)",
  },
];

export async function runAction(inv: Invocation): Promise<void> {
  const opts = inv.opts as GlobalOptions & Record<string, unknown>;
  const [name, ...words] = inv.args;
  const [{ runCommand }, { connectionFlags }] = await Promise.all([
    import("../workflow/run.ts"),
    import("../kube/overrides.ts"),
  ]);
  // for the kodama processes a run starts (tmux panes): the same cluster and user, paths made
  // absolute as their cwd may differ; never --token (process arguments are readable by anyone)
  const ko = await kubeOptionsFrom(opts);
  const globalFlags = connectionFlags(ko);
  const code = await runCommand(name, {
    params: opts.param as string[],
    words,
    dryRun: !!opts.dryRun,
    trust: !!opts.trust,
    yes: !!opts.yes,
    namespace: opts.namespace,
    connect: () => connectWith(ko),
    globalFlags,
  });
  setExitCode(code);
}
