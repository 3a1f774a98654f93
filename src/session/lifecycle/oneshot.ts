/**
 * The I/O of a one-shot Job (../spec/oneshot.ts): its pods, found by the Job controller's label, and its
 * removal with them; waiting for its pod, and work over exec in it that starts over in the Job's next pod
 * when the pod goes (withJobPod).
 */
import type { CoreV1Event, V1Job, V1Pod } from "@kubernetes/client-node";
import type { KubeObjects } from "../../kube/seam.ts";
import { ExitCode, KodamaError } from "../../base/errors.ts";
import { terminalText } from "../../base/text/escape.ts";
import { jobPodSelector, livePod, tellingPod } from "../spec/oneshot.ts";
import { jobFinished } from "../state/status.ts";

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

/**
 * Why the Job controller could not make the Job's pod (its newest FailedCreate event), if it said so; with
 * `uid`, only that Job's (not an earlier Job's of the same name).
 */
export async function jobCreateFailure(
  kube: KubeObjects,
  namespace: string,
  job: string,
  uid?: string,
): Promise<string | undefined> {
  const events = await kube.listObjects<CoreV1Event>("events", namespace, {
    fieldSelector: `involvedObject.kind=Job,involvedObject.name=${job}`,
  }).then((l) => l.items).catch(() => [] as CoreV1Event[]);
  const failed = events.filter((e) =>
    e.reason === "FailedCreate" && (!uid || !e.involvedObject?.uid || e.involvedObject.uid === uid)
  );
  const at = (e: CoreV1Event) =>
    String(e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? "");
  return failed.sort((a, b) => at(b).localeCompare(at(a)))[0]?.message;
}

/** A pod that went: gone, being deleted, ended (a one-shot's waiting main process ends only when killed), or marked for disruption. */
export function podWent(pod: V1Pod | undefined): boolean {
  if (!pod || pod.metadata?.deletionTimestamp) return true;
  if (pod.status?.phase === "Failed" || pod.status?.phase === "Succeeded") return true;
  return !!pod.status?.conditions?.some((c) => c.type === "DisruptionTarget" && c.status === "True");
}

/**
 * Wait until the Job's pod runs with every container ready, and answer its name. A pod of it that went
 * is waited past (the Job makes another); a pod that cannot start (its image), a Job that failed or whose
 * pod the cluster refused (Pod Security: said as `start` says it, exit 4) end the wait; exit 5 after
 * `timeoutMs`.
 */
export async function waitJobPodRunning(
  kube: KubeObjects,
  namespace: string,
  job: string,
  o: { timeoutMs: number; what: string; runAsUser?: number },
): Promise<string> {
  const deadline = Date.now() + o.timeoutMs;
  const hint = `kubectl describe job -n ${namespace} ${job}`;
  for (;;) {
    const [j, pods] = await Promise.all([
      kube.findObject<V1Job>("jobs", namespace, job),
      jobPods(kube, namespace, job),
    ]);
    const live = livePod(pods);
    const waiting = live?.status?.containerStatuses?.find((c) => c.state?.waiting)?.state?.waiting?.reason;
    if (live?.status?.phase === "Running" && live.status.containerStatuses?.every((c) => c.ready)) {
      return live.metadata!.name!;
    }
    if (/ErrImage|BackOff|Invalid/.test(waiting ?? "")) {
      throw new KodamaError(
        `${o.what} ${live!.metadata!.name} cannot run: ${waiting}`,
        ExitCode.FAILED,
        hint,
      );
    }
    if (!j) throw new KodamaError(`${o.what} job ${job} is gone`, ExitCode.FAILED);
    if (jobFinished(j)) {
      const last = tellingPod(pods);
      const why = last?.status?.reason ?? last?.status?.phase ??
        j.status?.conditions?.find((c) => c.status === "True")?.reason;
      throw new KodamaError(`${o.what} job ${job} ended${why ? ` (${why})` : ""}`, ExitCode.FAILED, hint);
    }
    if (!live) {
      const refused = await jobCreateFailure(kube, namespace, job, j.metadata?.uid);
      if (refused) {
        const e = new KodamaError(refused.replace(/^Error creating: /, ""), ExitCode.FORBIDDEN);
        const { podSecurityError } = await import("./podsecurity.ts");
        const said = podSecurityError(e, namespace, { runAsUser: o.runAsUser });
        if (said !== e) throw said;
        throw new KodamaError(
          `${o.what} job ${job} makes no pod: ${terminalText(e.message)}`,
          ExitCode.FAILED,
          hint,
        );
      }
    }
    if (Date.now() > deadline) {
      throw new KodamaError(
        `timed out waiting for ${o.what} job ${job} (${waiting ?? live?.status?.phase ?? "no pod yet"})`,
        ExitCode.TIMEOUT,
        hint,
      );
    }
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** How often a one-shot's work starts over in the Job's next pod after its pod went. */
export const POD_RETRIES = 3;

/**
 * The Job `job` (made by the caller) runs; `fn` works in its pod (over exec). When `fn` fails because the
 * pod went (a lost node, an eviction, a delete), the work starts over in the Job's next pod (`onRetry` says
 * so), up to POD_RETRIES times: each `fn` must be safe to run again. The Job and its pods are removed at
 * the end, and waited for (up to a minute) so the volumes they mounted are free again.
 */
export async function withJobPod<T>(
  kube: KubeObjects,
  namespace: string,
  job: string,
  o: { timeoutMs: number; what: string; runAsUser?: number; onRetry?: (pod: string) => void },
  fn: (pod: string) => Promise<T>,
): Promise<T> {
  try {
    for (let n = 0;; n++) {
      const pod = await waitJobPodRunning(kube, namespace, job, o);
      try {
        return await fn(pod);
      } catch (e) {
        const now = await kube.findObject<V1Pod>("pods", namespace, pod).catch(() => ({} as V1Pod));
        if (n >= POD_RETRIES || !podWent(now)) throw e;
        o.onRetry?.(pod);
      }
    }
  } finally {
    await removeJob(kube, namespace, job, { gracePeriodSeconds: 1 });
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && (await jobPods(kube, namespace, job)).length) {
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
