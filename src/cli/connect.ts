/**
 * From parsed options to the cluster, without commander: the global flags' connection settings, the
 * positional target, exec's `[TARGET] -- COMMAND` split. Both command-line readers use it (commander's,
 * src/cli/flags.ts, and the fast one for the everyday commands, src/cli/fast.ts).
 */
import type { Kube, KubeOptions } from "../kube/client.ts";
import { parseDuration } from "../base/duration.ts";
import type { TargetFlags } from "../pods/target.ts";
import { parseTarget, parseTargetArg } from "../pods/resource.ts";

export { parseTarget };
import { usageError } from "../base/errors.ts";
import { mark } from "../base/timing.ts";
import type { TARGETING_OPTIONS } from "./optspec.ts";
import type { Options } from "./opttypes.ts";

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

/** Build TargetFlags from a command's merged options (and a positional TYPE/NAME or pod name). */
/** The targeting flags' values (TARGETING_OPTIONS), the namespace and a container, as a command has them. */
export type TargetValues = Partial<Options<typeof TARGETING_OPTIONS>> & {
  namespace?: string;
  container?: string;
};

export function targetFrom(opts: TargetValues, arg?: string): TargetFlags {
  const match = opts.match?.filter(Boolean);
  const resource = parseTarget(arg);
  return {
    ...(resource ? { resource } : {}),
    namespace: opts.namespace,
    allNamespaces: Boolean(opts.allNamespaces),
    match: match?.length ? match : undefined,
    regex: opts.regex,
    selector: opts.selector,
    fieldSelector: opts.fieldSelector,
    pod: opts.pod,
    container: opts.container,
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
  const env = envValue("KODAMA_NAMESPACE");
  // where the namespace came from, for the error when it is not a namespace (kube/config.ts resolveNamespace)
  const namespaceFrom = opts.namespace !== undefined
    ? "-n/--namespace"
    : env !== undefined
    ? "KODAMA_NAMESPACE"
    : cfg?.defaults.namespace !== undefined
    ? "the config key defaults.namespace"
    : undefined;
  return {
    kubeconfig: opts.kubeconfig,
    context: opts.context ?? envValue("KODAMA_CONTEXT") ?? cfg?.defaults.context,
    namespace: opts.namespace ?? env ?? cfg?.defaults.namespace,
    namespaceFrom,
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
  return await connectWith(kubeOptionsFrom(opts));
}

/** Connect with connection settings already made from the global flags (`kubeOptionsFrom`). */
export async function connectWith(options: KubeOptions | Promise<KubeOptions>): Promise<Kube> {
  const [{ Kube }, ko, { isMultiContext }] = await Promise.all([
    import("../kube/client.ts"),
    options,
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
