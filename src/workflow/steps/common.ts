/** Small helpers shared by step kinds. */
import type { V1Pod } from "@kubernetes/client-node";
import type { Sink } from "../../base/sink.ts";
import type { ResolvedTarget, RunHandle } from "../types.ts";
import type { Kube } from "../../kube/client.ts";
import { KodamaError } from "../../base/errors.ts";
import type { TargetFlags } from "../../pods/target.ts";
import type { Target } from "../schema.ts";
import { shellJoin } from "../../base/text/escape.ts";

/**
 * The run's whole client, for the steps the seam (`WorkflowCluster`, ../types.ts) does not cover yet:
 * port-forward, pick, tmux and session. The in-memory cluster of the engine's tests is no `Kube`:
 * such a step fails there with this error (exit 1), and its tests run against the HTTPS test server.
 */
export async function wholeKube(run: Pick<RunHandle, "kube">, what: string): Promise<Kube> {
  const [{ Kube }, kube] = await Promise.all([import("../../kube/client.ts"), run.kube()]);
  if (kube instanceof Kube) return kube;
  throw new KodamaError(`${what} needs a connection to an API server (${kube.server} is not one)`);
}

/** A sink that forwards to `next` and keeps a copy (bounded) for step outputs. */
export function teeSink(next: Sink | undefined, limit = 1 << 20): Sink & { text(): string } {
  // one streaming decoder per sink: a shared one would carry a split UTF-8 character into another sink
  const dec = new TextDecoder();
  const parts: string[] = [];
  let size = 0;
  return {
    write(chunk) {
      next?.write(chunk);
      if (size >= limit) return;
      const s = typeof chunk === "string" ? chunk : dec.decode(chunk, { stream: true });
      parts.push(s);
      size += s.length;
    },
    text: () => parts.join(""),
  };
}

export function podNames(pods: V1Pod[]): string[] {
  return pods.map((p) => p.metadata?.name ?? "");
}

export function describePods(t: ResolvedTarget): string {
  const names = podNames(t.pods);
  const shown = names.length > 6 ? [...names.slice(0, 6), `… ${names.length - 6} more`] : names;
  return `${t.name} → ${shown.join(", ") || "(no pods)"}`;
}

/** Target spec (workflow vocabulary) -> pods-layer TargetFlags. */
export function targetFlags(t: Target, namespaceOverride?: string): TargetFlags {
  const labels = typeof t.labels === "object" && t.labels
    ? Object.entries(t.labels).map(([k, v]) => `${k}=${v}`).join(",")
    : t.labels;
  return {
    namespace: namespaceOverride ?? t.namespace,
    allNamespaces: t.allNamespaces,
    match: t.match === undefined ? undefined : Array.isArray(t.match) ? t.match : [t.match],
    regex: t.regex,
    selector: labels || undefined,
    fieldSelector: t.fieldSelector,
    pod: t.pod,
    container: t.container,
    includeNotReady: t.includeNotReady ?? false,
  };
}

export function argvText(argv: string[]): string {
  return shellJoin(argv);
}

/** The run's `--kubeconfig`, from the flags handed to re-invoked kodama processes. */
export function kubeconfigFlag(globalFlags: string[]): string | undefined {
  const i = globalFlags.indexOf("--kubeconfig");
  return i >= 0 ? globalFlags[i + 1] : undefined;
}
