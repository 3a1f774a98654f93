/**
 * Flag definitions shared by every command, so they are written once:
 * the global kubectl-style flags (on the root program), pod targeting, and -o.
 * Light on purpose: nothing here loads the Kubernetes client until a command runs.
 */
import { type Command, InvalidArgumentError, Option } from "@commander-js/extra-typings";
import type { Kube } from "../kube/client.ts";
import type { TargetFlags } from "../pods/target.ts";
import { parseTargetArg, type ResourceRef, TARGET_TYPES } from "../pods/resource.ts";
import { usageError } from "../errors.ts";

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

/**
 * A positional target: `TYPE/NAME` (deploy/api, svc/web, pod/x, session/y) or a bare pod NAME, as
 * kubectl takes them.
 */
export function parseTarget(arg: string | undefined): ResourceRef | undefined {
  if (arg === undefined || arg === "") return undefined;
  const r = parseTargetArg(arg);
  if (r) return r;
  if (/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(arg)) return { kind: "pod", name: arg };
  throw usageError(
    `cannot read ${JSON.stringify(arg)} as a target`,
    `give TYPE/NAME (TYPE: ${TARGET_TYPES}) or a pod name; -m matches part of a name`,
  );
}

/**
 * `exec`'s operands, split at `--` as kubectl does: `[TARGET] -- COMMAND...`. The first operand is the
 * target when `--` follows it, or when it is spelt `TYPE/NAME` (`exec deploy/api hostname`).
 * `rawArgs` is the whole command line (commander keeps the operands on both sides of `--` together).
 */
export function splitExecArgs(operands: string[], rawArgs: readonly string[]): {
  target?: string;
  command: string[];
} {
  const dash = rawArgs.indexOf("--");
  const after = dash >= 0 ? rawArgs.length - dash - 1 : 0;
  const before = operands.length - after;
  if (dash < 0) {
    return parseTargetArg(operands[0] ?? "") ? { target: operands[0], command: operands.slice(1) } : {
      command: operands,
    };
  }
  if (before >= 1) {
    if (before > 1) {
      throw usageError(
        `more than one target before --: ${operands.slice(0, before).join(" ")}`,
        "put the command after --, e.g. kodama exec deploy/api -- ls -l",
      );
    }
    return { target: operands[0], command: operands.slice(1) };
  }
  return { command: operands };
}

/** The whole command line as the root command received it (commander keeps it, untyped). */
export function rawArgsOf(cmd: { parent: unknown }): string[] {
  let c = cmd as { parent?: unknown; rawArgs?: string[] };
  while (c.parent) c = c.parent as typeof c;
  return c.rawArgs ?? [];
}

/** Build TargetFlags from a command's merged options (and a positional TYPE/NAME or pod name). */
export function targetFrom(opts: Record<string, unknown>, arg?: string): TargetFlags {
  const match = (opts.match as string[] | undefined)?.filter(Boolean);
  const resource = parseTarget(arg);
  return {
    ...(resource ? { resource } : {}),
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

/** The commands that run against several contexts at once (`--context a,b`, `--context '*'`). */
const MULTI_CONTEXT_HINT =
  "several contexts work with pods, exec --all, logs and wait; give one context here";

/** Connect to the cluster named by the global flags (loads client-node lazily). */
export async function connectFromOpts(opts: GlobalOptions): Promise<Kube> {
  const [{ Kube }, { userConfig }, { isMultiContext }] = await Promise.all([
    import("../kube/client.ts"),
    import("./settings.ts"),
    import("../kube/contexts.ts"),
  ]);
  if (isMultiContext(opts.context)) {
    throw usageError(`--context ${opts.context} names several contexts`, MULTI_CONTEXT_HINT);
  }
  const cfg = await userConfig();
  return Kube.connect({
    kubeconfig: opts.kubeconfig,
    // config defaults sit between the flags and the kubeconfig context's own namespace
    context: opts.context ?? cfg?.defaults.context,
    namespace: opts.namespace ?? cfg?.defaults.namespace,
  });
}

/**
 * One Kube per context the global flags name: `--context a,b`, `--context '*'` or a glob select several
 * (each with its own default namespace unless -n is given); a plain name or none, one.
 */
export async function connectAll(opts: GlobalOptions): Promise<Kube[]> {
  const [{ connectContexts }, { userConfig }] = await Promise.all([
    import("../kube/contexts.ts"),
    import("./settings.ts"),
  ]);
  const cfg = await userConfig();
  return await connectContexts({
    kubeconfig: opts.kubeconfig,
    context: opts.context ?? cfg?.defaults.context,
    namespace: opts.namespace ?? cfg?.defaults.namespace,
  });
}
