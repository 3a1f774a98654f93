/**
 * One-shot work in the cluster as a Job (issue 80, design decision 3): the CLI cache's install pod, the
 * warm pool's binder pods and the copy pods of snapshots, restores and clones. A bare pod on a node that is
 * lost (drained, preempted, gone) is simply gone, and what it was filling stays half-filled; a Job's
 * controller makes a new pod, so each of these programs is written to be run again (a retry starts its
 * work over, or resumes it, and never marks half a result done).
 *
 * The Job is named as the pod was (the fixed name stays the lock between kodama processes); its pod gets a
 * generated name (`NAME-x7k2p`) and the Job controller's `job-name` label, by which it is found. The
 * pod's labels and annotations stay on the pod template (NetworkPolicies select them) and are repeated on
 * the Job (`kubectl get jobs -l …` finds it). A disruption (eviction, preemption, node loss, delete) is
 * not counted against `backoffLimit` (podFailurePolicy Ignore on DisruptionTarget); the replacement is made
 * only once the old pod is gone (podReplacementPolicy Failed), so two pods never share the volumes.
 */
import type { V1Job, V1Pod, V1PodFailurePolicyRule } from "@kubernetes/client-node";

/** The label the Job controller puts on its pods (every version; `batch.kubernetes.io/job-name` since 1.27). */
export const LABEL_JOB_NAME = "job-name";
/** A one-shot Job's retries of real failures (a crash, an OOM kill): disruptions do not count. */
export const ONE_SHOT_BACKOFF_LIMIT = 2;

export interface OneShotOptions {
  /** podFailurePolicy rules after the disruption rule (e.g. FailJob on a program's own verdict) */
  rules?: V1PodFailurePolicyRule[];
  /** the pod's whole time, as the pod's own activeDeadlineSeconds was (the Job's counts every retry) */
  activeDeadlineSeconds?: number;
}

/** The Job running `pod` once: its name, namespace, labels and annotations; the pod as its template. */
export function oneShotJob(pod: V1Pod, o: OneShotOptions = {}): V1Job {
  const { name, namespace, labels, annotations } = pod.metadata ?? {};
  const { activeDeadlineSeconds, ...spec } = pod.spec!;
  const deadline = o.activeDeadlineSeconds ?? activeDeadlineSeconds;
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name,
      namespace,
      ...(labels ? { labels } : {}),
      ...(annotations ? { annotations } : {}),
    },
    spec: {
      parallelism: 1,
      completions: 1,
      backoffLimit: ONE_SHOT_BACKOFF_LIMIT,
      podReplacementPolicy: "Failed",
      podFailurePolicy: {
        rules: [
          { action: "Ignore", onPodConditions: [{ type: "DisruptionTarget", status: "True" }] },
          ...(o.rules ?? []),
        ],
      },
      ...(deadline !== undefined ? { activeDeadlineSeconds: deadline } : {}),
      template: {
        metadata: {
          ...(labels ? { labels } : {}),
          ...(annotations ? { annotations } : {}),
        },
        spec: { ...spec, restartPolicy: "Never" },
      },
    },
  };
}

/** The label selector of a Job's pods. */
export function jobPodSelector(job: string): string {
  return `${LABEL_JOB_NAME}=${job}`;
}

const made = (p: V1Pod) => String(p.metadata?.creationTimestamp ?? "");
const newestFirst = (a: V1Pod, b: V1Pod) => made(b).localeCompare(made(a));
const terminal = (p: V1Pod) => p.status?.phase === "Succeeded" || p.status?.phase === "Failed";

/** The Job's pod at work: not ended, not being deleted, the newest; undefined when none is. */
export function livePod(pods: V1Pod[]): V1Pod | undefined {
  return [...pods].sort(newestFirst).find((p) => !terminal(p) && !p.metadata?.deletionTimestamp);
}

/** The pod that says how the Job went: the live one, else the newest that ended, else the newest. */
export function tellingPod(pods: V1Pod[]): V1Pod | undefined {
  const sorted = [...pods].sort(newestFirst);
  return livePod(sorted) ?? sorted.find(terminal) ?? sorted[0];
}

/**
 * The Job fields an API server of `version` (`v1.24.3`, `v1.32.0-…`) keeps: `podFailurePolicy` from 1.26 (on
 * by default), `podReplacementPolicy` from 1.29; an older server drops them on create, and its kubectl's
 * validation refuses them. For what `--dry-run` prints (`… | kubectl apply -f -` on that cluster); an
 * unreadable version keeps everything. Pure.
 */
export function jobForServer(job: V1Job, version: string | undefined): V1Job {
  const m = /^v?(\d+)\.(\d+)/.exec(version ?? "");
  if (!m || !job.spec) return job;
  const minor = Number(m[1]) > 1 ? Infinity : Number(m[2]);
  const spec = { ...job.spec };
  if (minor < 26) delete spec.podFailurePolicy;
  if (minor < 29) delete spec.podReplacementPolicy;
  return { ...job, spec };
}
