/**
 * Flag definitions shared by every command, so they are written once:
 * the global kubectl-style flags (on the root program), pod targeting, and -o.
 * Light on purpose: nothing here loads the Kubernetes client until a command runs.
 */
import { type Command, InvalidArgumentError, Option } from "@commander-js/extra-typings";
import type { Kube, KubeOptions } from "../kube/client.ts";
import { parseDuration } from "../ui/duration.ts";
import type { TargetFlags } from "../pods/target.ts";
import { parseTargetArg, type ResourceRef, TARGET_TYPES } from "../pods/resource.ts";
import { usageError } from "../errors.ts";
import { mark } from "../ui/timing.ts";

export interface GlobalOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  logLevel?: string;
  logFormat?: string;
  color?: boolean;
  // kubectl's generic flags (src/kube/overrides.ts)
  as?: string;
  asGroup?: string[];
  asUid?: string;
  requestTimeout?: string;
  token?: string;
  server?: string;
  user?: string;
  cluster?: string;
  insecureSkipTlsVerify?: boolean;
  certificateAuthority?: string;
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
    .option("--context <name>", "the kubeconfig context to use (also: KODAMA_CONTEXT)")
    .option(
      "-n, --namespace <ns>",
      "namespace (default: KODAMA_NAMESPACE, then the context's namespace, else default)",
    )
    .option("--cluster <name>", "the kubeconfig cluster to use")
    .option("--user <name>", "the kubeconfig user to use")
    .option("-s, --server <url>", "the address and port of the Kubernetes API server")
    .option("--token <token>", "bearer token for authentication to the API server")
    .option("--certificate-authority <path>", "path to a cert file for the certificate authority")
    .option(
      "--insecure-skip-tls-verify",
      "do not check the server's certificate (makes your HTTPS connections insecure)",
    )
    .option(
      "--as <user>",
      "username to impersonate for the operation (a user, or system:serviceaccount:NS:NAME)",
    )
    .option("--as-group <group>", "group to impersonate (repeatable)", collect, [] as string[])
    .option("--as-uid <uid>", "UID to impersonate")
    .option(
      "--request-timeout <duration>",
      "give up on a single server request after this long, e.g. 1s, 2m (0 = no limit; streams: until connected)",
      "0",
    )
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

/** `--reconnect-timeout`, for commands that keep a watch or stream open (logs -f, pods -w, wait). */
export function reconnectOption<A extends unknown[]>(cmd: AnyCommand<A>): AnyCommand<A> {
  return cmd.option(
    "--reconnect-timeout <duration>",
    "while the API server cannot be reached, keep retrying this long, then exit 1 (0 = forever)",
    "5m",
  );
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
/** A non-empty environment variable. */
function envValue(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined; // no env permission (a sandboxed caller)
  }
}

/**
 * The connection the global flags describe, without connecting: context and namespace with their
 * precedence (flag > KODAMA_CONTEXT / KODAMA_NAMESPACE > config defaults > the kubeconfig), and kubectl's
 * generic flags. Exported for the commands that only read the kubeconfig (completion, doctor).
 */
export async function kubeOptionsFrom(opts: GlobalOptions): Promise<KubeOptions> {
  const { userConfig } = await import("./settings.ts");
  const cfg = await userConfig();
  const timeout = opts.requestTimeout;
  return {
    kubeconfig: opts.kubeconfig,
    context: opts.context ?? envValue("KODAMA_CONTEXT") ?? cfg?.defaults.context,
    namespace: opts.namespace ?? envValue("KODAMA_NAMESPACE") ?? cfg?.defaults.namespace,
    cluster: opts.cluster,
    user: opts.user,
    server: opts.server,
    token: opts.token,
    certificateAuthority: opts.certificateAuthority,
    insecureSkipTlsVerify: opts.insecureSkipTlsVerify,
    as: opts.as,
    asGroups: opts.asGroup?.length ? opts.asGroup : undefined,
    asUid: opts.asUid,
    requestTimeoutMs: timeout && timeout !== "0"
      ? parseDuration(timeout, "--request-timeout", { timer: true })
      : undefined,
  };
}

/** Connect to the cluster named by the global flags (loads client-node lazily). */
export async function connectFromOpts(opts: GlobalOptions): Promise<Kube> {
  const [{ Kube }, ko, { isMultiContext }] = await Promise.all([
    import("../kube/client.ts"),
    kubeOptionsFrom(opts),
    import("../kube/contexts.ts"),
  ]);
  if (isMultiContext(ko.context)) {
    throw usageError(`--context ${ko.context} names several contexts`, MULTI_CONTEXT_HINT);
  }
  return Kube.connect(ko);
}

/**
 * One Kube per context the global flags name: `--context a,b`, `--context '*'` or a glob select several
 * (each with its own default namespace unless -n is given); a plain name or none, one.
 */
export async function connectAll(opts: GlobalOptions): Promise<Kube[]> {
  const [{ connectContexts }, ko] = await Promise.all([import("../kube/contexts.ts"), kubeOptionsFrom(opts)]);
  const kubes = await connectContexts(ko);
  mark("kubeconfig read");
  return kubes;
}
