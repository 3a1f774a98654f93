/**
 * "The pod exists but is not running": what exec, logs, cp and port-forward say instead of "no pods
 * matched" when their target's pods are there but none can serve — each pod named with the reason
 * from its status (src/kube/podstatus.ts), a single pod also with its most telling recent event.
 * Exit 1: the pods exist; something in the cluster keeps them from running.
 */
import type { CoreV1Event, V1Pod } from "@kubernetes/client-node";
import type { KubeObjects, KubePods } from "../kube/seam.ts";
import { explainPod, podProblem } from "../kube/podstatus.ts";
import { ExitCode, KodamaError } from "../base/errors.ts";
import { findPods, nothingMatchedIn, type TargetFlags } from "./target.ts";

const MAX_NAMED = 5;

/** Why `pods` (none of which runs) cannot be used: one line per the pods, plus one event line for a single pod. */
export async function notRunningError(
  kube: KubeObjects,
  pods: V1Pod[],
  o: { container?: string; what?: string; hint?: string } = {},
): Promise<KodamaError> {
  const withNs = new Set(pods.map((p) => p.metadata?.namespace)).size > 1;
  const name = (p: V1Pod) =>
    withNs ? `${p.metadata?.namespace}/${p.metadata?.name}` : p.metadata?.name ?? "?";
  if (pods.length === 1) {
    const p = pods[0];
    const prob = podProblem(p, { container: o.container }) ??
      { reason: p.status?.phase ?? "Unknown", message: `pod is ${p.status?.phase ?? "not running"}` };
    let events: CoreV1Event[] = [];
    try {
      events = (await kube.listObjects<CoreV1Event>("events", p.metadata?.namespace ?? kube.namespace, {
        fieldSelector: `involvedObject.name=${p.metadata?.name}`,
      })).items;
    } catch { /* events are a bonus: no right to list them, or they are gone */ }
    const [first, ...rest] = explainPod(p, prob, events, { withNamespace: withNs, maxEvents: 1 });
    const detail = rest[0]?.trim();
    return new KodamaError(
      o.what ? `${o.what}: ${first}` : first,
      ExitCode.FAILED,
      [detail, o.hint].filter(Boolean).join("\n  ") || undefined,
    );
  }
  const why = pods.slice(0, MAX_NAMED).map((p) =>
    `${name(p)} (${podProblem(p, { container: o.container })?.reason ?? p.status?.phase})`
  );
  const more = pods.length > MAX_NAMED ? ` +${pods.length - MAX_NAMED} more` : "";
  return new KodamaError(
    `${o.what ? `${o.what}: ` : ""}${pods.length} pods match but none is running: ${why.join(", ")}${more}`,
    ExitCode.FAILED,
    o.hint ??
      "see why with `kodama pods` or `kubectl describe pod`; wait for them with `kodama wait --for ready`",
  );
}

/**
 * A Running-only target matched nothing: if it matches pods in other phases, say why they do not run
 * (exit 1); otherwise it is "no pods matched" (exit 3).
 */
export async function noRunningPods(
  kube: KubeObjects & KubePods,
  t: TargetFlags,
  o: { container?: string; what?: string } = {},
): Promise<KodamaError> {
  const all = await findPods(kube, { ...t, includeNotReady: true });
  if (all.length === 0) return await nothingMatchedIn(kube, { ...t, includeNotReady: true });
  return await notRunningError(kube, all, o);
}
