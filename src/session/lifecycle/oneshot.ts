/**
 * The I/O of a one-shot Job (../spec/oneshot.ts): its pods, found by the Job controller's label, and its
 * removal with them.
 */
import type { V1Pod } from "@kubernetes/client-node";
import type { KubeObjects } from "../../kube/seam.ts";
import { jobPodSelector } from "../spec/oneshot.ts";

/** The pods of the Job `job` (none when they cannot be listed). */
export async function jobPods(kube: KubeObjects, namespace: string, job: string): Promise<V1Pod[]> {
  return await kube.listObjects<V1Pod>("pods", namespace, { labelSelector: jobPodSelector(job) })
    .then((l) => l.items).catch(() => [] as V1Pod[]);
}

/**
 * Delete the Job and its pods (best effort, as the bare pod was): the Job with propagation Background (the
 * garbage collector takes its pods), then each pod still there, so nothing waits on a collector that is
 * slow or absent. `gracePeriodSeconds` for the pods.
 */
export async function removeJob(
  kube: KubeObjects,
  namespace: string,
  job: string,
  o: { gracePeriodSeconds?: number } = {},
): Promise<void> {
  await kube.deleteObject("jobs", namespace, job, { propagationPolicy: "Background" }).catch(() => {});
  for (const p of await jobPods(kube, namespace, job)) {
    if (p.metadata?.deletionTimestamp) continue;
    await kube.deleteObject("pods", namespace, p.metadata!.name!, o).catch(() => {});
  }
}
