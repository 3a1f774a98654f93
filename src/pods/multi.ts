/**
 * Several clusters at once (`--context a,b`, `--context '*'`): find the target's pods in every context in
 * parallel; a context that cannot be reached or listed is reported and the others carry on.
 */
import type { V1Pod } from "@kubernetes/client-node";
import type { Kube } from "../kube/client.ts";
import type { KubeIdentity } from "../kube/seam.ts";
import { ExitCode, formatError, KodamaError } from "../base/errors.ts";
import { findPods, type PodLister, type TargetFlags } from "./target.ts";
import type { ClusterError } from "./summary.ts";

export interface ContextPods {
  kube: Kube;
  pods: V1Pod[];
}

/** A failed context as the summary lists it (message without the hint; its own exit code). */
export function clusterError(kube: KubeIdentity, e: unknown): ClusterError {
  const ke = e instanceof KodamaError ? e : new KodamaError(formatError(e));
  return { context: kube.contextName, message: ke.message, code: ke.code };
}

/**
 * The target's pods in each context, listed in parallel. Usage errors (a bad regex, -A with deploy/x) are
 * the same everywhere and thrown at once; anything else is a failed context.
 */
export async function findPodsAcross(
  kubes: Kube[],
  t: TargetFlags,
  listerOf?: (kube: Kube) => PodLister,
): Promise<{ found: ContextPods[]; failed: ClusterError[] }> {
  const settled = await Promise.allSettled(kubes.map((k) => findPods(k, t, listerOf?.(k))));
  const found: ContextPods[] = [];
  const failed: ClusterError[] = [];
  settled.forEach((s, i) => {
    if (s.status === "fulfilled") found.push({ kube: kubes[i], pods: s.value });
    else if (s.reason instanceof KodamaError && s.reason.code === ExitCode.USAGE) throw s.reason;
    else failed.push(clusterError(kubes[i], s.reason));
  });
  return { found, failed };
}

/** `context c2: cannot reach …` lines for stderr. */
export function formatClusterErrors(failed: ClusterError[]): string {
  return failed.map((f) => `error: context ${f.context}: ${f.message}\n`).join("");
}

/** The exit code for failed contexts when nothing else failed: the worst of theirs. */
export function clusterExitCode(failed: ClusterError[]): number {
  return failed.length ? Math.max(...failed.map((f) => f.code)) : 0;
}
