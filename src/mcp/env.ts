/**
 * What every MCP tool call shares: the warm connections (one Kube per context, made once), the contexts
 * the server is pinned to, the watch-backed pod cache, the per-pod output cap, and the call's signal,
 * deadline and progress. A tool never reads flags or prints: it gets a `Call` and returns data.
 */
import type { Kube, KubeOptions } from "../kube/client.ts";
import { ExitCode, KodamaError, usageError } from "../base/errors.ts";
import { addSecret } from "../base/redact.ts";
import { PodCache } from "./podcache.ts";
import type { PodLister } from "../pods/target.ts";
import type { Door } from "../config/doors.ts";

export interface McpEnvOptions {
  /** connection settings from the global flags, without a context */
  kube: KubeOptions;
  /** the contexts the server may use (already expanded); undefined: any context of the kubeconfig */
  pinned?: string[];
  /** the context used when a call names none */
  defaultContext?: string;
  /** bytes of output kept per pod (stdout and stderr together) */
  maxOutput: number;
  /** the longest a call may take, in ms */
  callTimeoutMs: number;
  /** the directory workflows and `.kodama.yaml` are looked up from when a call gives no `cwd` */
  cwd: string;
  /** every local path a call names goes through it (src/config/doors.ts) */
  door: Door;
}

export class McpEnv {
  readonly cache = new PodCache();
  #kubes = new Map<string, Promise<Kube>>();
  constructor(readonly o: McpEnvOptions) {}

  /** The context a call names, checked against the pinned ones. */
  contextFor(context: string | undefined): string | undefined {
    const name = context ?? this.o.defaultContext;
    if (name !== undefined && this.o.pinned && !this.o.pinned.includes(name)) {
      throw new KodamaError(
        `context ${JSON.stringify(name)} is not allowed: this server is pinned to ${
          this.o.pinned.join(", ")
        }`,
        ExitCode.FORBIDDEN,
        "the user chooses the contexts with `kodama mcp --context NAME,...` or mcp.contexts in ~/.kodama/config.yaml",
      );
    }
    return name;
  }

  /** The warm client of a context (the default one when undefined); refused when not pinned. */
  kube(context?: string): Promise<Kube> {
    const name = this.contextFor(context);
    const key = name ?? "";
    let k = this.#kubes.get(key);
    if (!k) {
      k = (async () => {
        const { Kube } = await import("../kube/client.ts");
        const kube = await Kube.connect({ ...this.o.kube, context: name });
        learnCredentials(kube);
        return kube;
      })();
      k.catch(() => this.#kubes.delete(key));
      this.#kubes.set(key, k);
    }
    return k;
  }

  /** Several contexts at once (`a,b`, globs), each checked: the pod tools' `context`. */
  async kubes(spec: string | undefined): Promise<Kube[]> {
    if (!spec || !/[,*?[]/.test(spec)) return [await this.kube(spec)];
    const { expandContexts } = await import("../kube/contexts.ts");
    const known = this.o.pinned ?? (await this.knownContexts());
    const names = expandContexts(spec, known);
    if (!names.length) throw usageError(`context ${JSON.stringify(spec)} names no context`);
    return await Promise.all(names.map((n) => this.kube(n)));
  }

  async knownContexts(): Promise<string[]> {
    const { readKubeConfig } = await import("../kube/config.ts");
    return (await readKubeConfig({ ...this.o.kube, context: undefined })).getContexts().map((c) => c.name);
  }

  /** Where findPods gets pods: the watch-backed cache of this server. */
  lister(kube: Kube): PodLister {
    return this.cache.lister(kube);
  }

  async close(): Promise<void> {
    this.cache.close();
    for (const k of this.#kubes.values()) (await k.catch(() => undefined))?.close();
  }
}

/** The kubeconfig user's credentials are secrets for every result and error (redact.ts). */
function learnCredentials(kube: Pick<Kube, "kc" | "options">): void {
  const u = kube.kc.getCurrentUser();
  for (const v of [u?.token, u?.password, u?.keyData, ...Object.values(u?.authProvider?.config ?? {})]) {
    if (v && v.length >= 8) addSecret(v);
  }
  if (kube.options.token) addSecret(kube.options.token);
}

/** One tool call: its signal (cancelled by the client or the deadline) and its progress reports. */
export interface Call {
  env: McpEnv;
  signal: AbortSignal;
  /** report progress (sent only when the client asked for it with a progressToken) */
  progress(done: number, total?: number, message?: string): void;
}
