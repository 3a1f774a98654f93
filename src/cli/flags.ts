/**
 * Flag definitions shared by every command, so they are written once:
 * the global kubectl-style flags (on the root program), pod targeting, and -o.
 * Light on purpose: nothing here loads the Kubernetes client until a command runs.
 */
import { type Command, InvalidArgumentError, Option } from "@commander-js/extra-typings";
import type { Kube } from "../kube/client.ts";
import type { TargetFlags } from "../pods/target.ts";

export interface GlobalOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  logLevel?: string;
  logFormat?: string;
  color?: boolean;
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Option parser for a count flag: an integer >= 1 (`flag` names it in the message). */
export function positiveInt(v: string, flag?: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    throw new InvalidArgumentError(`${flag ? `${flag} ` : ""}must be a positive integer`);
  }
  return n;
}

/**
 * Any command. The helpers below take and return this loose type on purpose: letting TypeScript infer
 * the option types through generic helper chains made a cold `deno check` run for over ten minutes.
 */
// deno-lint-ignore no-explicit-any
export type AnyCommand<A extends unknown[] = any[]> = Command<A, any, any>;

/** Global flags with kubectl's meaning; they may appear before or after the subcommand. */
export function globalOptions<A extends unknown[]>(program: AnyCommand<A>): AnyCommand<A> {
  return program
    .option("--kubeconfig <path>", "path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)")
    .option("--context <name>", "the kubeconfig context to use")
    .option("-n, --namespace <ns>", "namespace (default: the context's namespace, else default)")
    .addOption(
      new Option("--log-level <level>", "log verbosity on stderr").choices([
        "debug",
        "info",
        "warning",
        "error",
      ])
        .default("warning"),
    )
    .addOption(
      new Option("--log-format <format>", "log line format").choices(["text", "json"]).default("text"),
    )
    .option("--no-color", "disable colours (also: NO_COLOR=1)");
}

/** The targeting flags every pod command shares. */
export function targetingOptions<A extends unknown[]>(cmd: AnyCommand<A>): AnyCommand<A> {
  return cmd
    .option(
      "-m, --match <substr>",
      "pod name contains SUBSTR (repeatable; all must match)",
      collect,
      [] as string[],
    )
    .option("--regex <re>", "pod name matches this regular expression")
    .option("-l, --selector <selector>", "label selector, e.g. app=api,tier!=cache")
    .option("--field-selector <selector>", "field selector, e.g. status.phase=Running,spec.nodeName=n1")
    .option("-A, --all-namespaces", "look in every namespace")
    .option("--pod <name>", "exactly this pod name");
}

export function outputOption<A extends unknown[]>(
  cmd: AnyCommand<A>,
  formats = ["table", "wide", "json", "yaml", "name"],
): AnyCommand<A> {
  return cmd.addOption(
    new Option("-o, --output <format>", "output format").choices(formats).default(formats[0]),
  );
}

/** Global options of the command being run (commander merges the root's options in). */
export function globalsOf(cmd: { optsWithGlobals(): unknown }): GlobalOptions {
  return cmd.optsWithGlobals() as GlobalOptions;
}

/** Build TargetFlags from a command's merged options. */
export function targetFrom(opts: Record<string, unknown>): TargetFlags {
  const match = (opts.match as string[] | undefined)?.filter(Boolean);
  return {
    namespace: opts.namespace as string | undefined,
    allNamespaces: Boolean(opts.allNamespaces),
    match: match?.length ? match : undefined,
    regex: opts.regex as string | undefined,
    selector: opts.selector as string | undefined,
    fieldSelector: opts.fieldSelector as string | undefined,
    pod: opts.pod as string | undefined,
    container: opts.container as string | undefined,
  };
}

/** Connect to the cluster named by the global flags (loads client-node lazily). */
export async function connectFromOpts(opts: GlobalOptions): Promise<Kube> {
  const [{ Kube }, { userConfig }] = await Promise.all([
    import("../kube/client.ts"),
    import("./settings.ts"),
  ]);
  const cfg = await userConfig();
  return Kube.connect({
    kubeconfig: opts.kubeconfig,
    // config defaults sit between the flags and the kubeconfig context's own namespace
    context: opts.context ?? cfg?.defaults.context,
    namespace: opts.namespace ?? cfg?.defaults.namespace,
  });
}
