/**
 * A session pod the scheduler cannot place for its placement settings: an untolerated taint, a node
 * selector no node matches, a device (GPU, extended resource) no node has free. No wait cures those
 * unless a cluster autoscaler adds a node (it says so with a `TriggeredScaleUp` event), so `start` fails at
 * once quoting the scheduler's own reason and naming the flag to change. Pure.
 */
import type { CoreV1Event, V1Pod } from "@kubernetes/client-node";
import { GPU_RESOURCE } from "../spec/scheduling.ts";

/**
 * Taints that say what a node is going through, not what it is for: the node lifecycle controller's
 * `node.kubernetes.io/*` (not-ready, unreachable, memory-, disk- and pid-pressure, network-unavailable,
 * unschedulable, out-of-service) and the cloud provider's `node.cloudprovider.kubernetes.io/uninitialized`.
 * They go when the node recovers (a node just started is not-ready for seconds): a wait may cure them, and
 * tolerating one would put the session on a node that cannot run it.
 */
const NODE_STATE = /^node\.(?:cloudprovider\.)?kubernetes\.io\//;

/** The flag that changes what the scheduler objects to (one reason of its message). */
function flagFor(reason: string): string | undefined {
  // v1.25+: "had untolerated taint {k: v}"; before: "had taint {k: v}, that the pod didn't tolerate"
  const taint = /had (?:untolerated )?taint \{([^:}]+): ?([^}]*)\}/.exec(reason);
  if (taint) {
    const [, key, value] = taint;
    if (NODE_STATE.test(key)) return undefined;
    return `add --toleration ${key}${
      value ? `=${value}` : ""
    }:EFFECT (the taint's effect: NoSchedule or NoExecute)`;
  }
  if (/didn't match Pod's node affinity\/selector/.test(reason)) {
    return "change --node-selector (or defaults.scheduling.nodeSelector) to labels a node has: kubectl get nodes --show-labels";
  }
  const short = /Insufficient (\S+)$/.exec(reason)?.[1];
  if (short && short !== "cpu" && short !== "memory" && short !== "ephemeral-storage" && short !== "pods") {
    return short === GPU_RESOURCE
      ? "no node has a free GPU: lower --gpu, or start when one is free"
      : `no node has a free ${short}: lower --resource ${short}=N, or start when one is free`;
  }
  return undefined;
}

/**
 * Why the pod can never be placed as asked (the scheduler's message up to its preemption note, and the
 * flag to change), or undefined while it may still be (no verdict yet, a reason a wait can cure, an
 * autoscaler adding a node).
 */
export function placementFailure(pod: V1Pod | undefined, events: CoreV1Event[] = []): string | undefined {
  const sched = pod?.status?.conditions?.find((c) => c.type === "PodScheduled" && c.status === "False");
  if (!pod || sched?.reason !== "Unschedulable" || !sched.message) return undefined;
  if (events.some((e) => e.reason === "TriggeredScaleUp" && e.involvedObject?.name === pod.metadata?.name)) {
    return undefined;
  }
  const said = sched.message.split(/\s*preemption:/)[0].trim();
  // one reason per "N node(s) …" (a reason may hold a comma: v1.24's "…{k: v}, that the pod didn't tolerate")
  const reasons = said.replace(/^\d+\/\d+ nodes are available:\s*/, "").replace(/\.$/, "")
    .split(/,\s*(?=\d+ )/);
  const flags = [...new Set(reasons.map(flagFor).filter((f): f is string => f !== undefined))];
  // every node is out for a reason of its placement (one merely busy with cpu or memory may free up)
  if (!flags.length || reasons.some((r) => !flagFor(r))) return undefined;
  return `the scheduler cannot place it: ${said.replace(/\.$/, "")} — ${flags.join("; ")}`;
}
