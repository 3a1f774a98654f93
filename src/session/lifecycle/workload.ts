/**
 * A session's workload (issue 80): the Job `kodama-NAME` that owns its pod. `start` and `resume` create it,
 * `stop`, `delete` and `--replace` delete it (its pods with it) and wait for its pods to go. A legacy
 * session's bare Pod (an older kodama: no Job owns it) is deleted by its name the same way, so every
 * command works on both.
 *
 * Before a stop deletes the Job it tells the pod it is a stop (`markStop`, pod/stopmark.sh): the agent
 * runner resumes a run the cluster cut off, never one a person stopped.
 */
import type { V1Job, V1Pod } from "@kubernetes/client-node";
import type { KubeObjects, KubeStreams, KubeTargets } from "../../kube/seam.ts";
import { ExitCode, KodamaError } from "../../base/errors.ts";
import { buildJob } from "../spec/manifests.ts";
import { objectNames, sessionSelector } from "../spec/names.ts";
import type { SessionSpec } from "../spec/spec.ts";
import { CONTAINER } from "../spec/spec.ts";
import { isLegacyPod, isLive } from "../state/sessionpod.ts";
import { jobFinished } from "../state/status.ts";
import STOPMARK from "../pod/stopmark.sh" with { type: "text" };

/**
 * The stop mark, under the session's home ($HOME, the home volume): `pod=UID` (the pod `kodama stop` ended)
 * and `at=TIME`. The agent runner of the next pod reads it: a run cut off in that pod was stopped by a
 * person and is not resumed.
 */
export const STOP_MARK = ".kodama/stopped";

/** How long stop/resume wait for a pod to go away. */
export const POD_GONE_MS = 120_000;
/** How long the stop mark may take (a pod that does not answer is stopped anyway). */
const MARK_MS = 5_000;

/** Create the session's Job; a namespace's Pod Security refusal is said as start says it. */
export async function createWorkload(
  kube: KubeObjects,
  namespace: string,
  spec: SessionSpec,
  job: V1Job = buildJob(spec),
): Promise<void> {
  await kube.createObject("jobs", namespace, job).catch(async (e) => {
    const { podSecurityError } = await import("./podsecurity.ts");
    throw podSecurityError(e, namespace, {
      runAsUser: spec.sandbox?.runAsUser,
      sidecars: !!spec.sidecars?.length,
    });
  });
}

/** Write the stop mark in the running pod (best effort: a pod that cannot answer is stopped all the same). */
export async function markStop(kube: KubeStreams, pod: V1Pod): Promise<boolean> {
  if (pod.status?.phase !== "Running" || !isLive(pod)) return false;
  try {
    const res = await kube.execIn(
      pod.metadata?.namespace ?? kube.namespace,
      pod.metadata!.name!,
      CONTAINER,
      ["sh", "-c", STOPMARK, "kodama-stopmark"],
      { signal: AbortSignal.timeout(MARK_MS) },
    );
    return res.exitCode === 0;
  } catch {
    return false;
  }
}

/**
 * Delete the session's Job (its pods go with it: `Background`, the garbage collector's) and, so nothing is
 * left to a collector that is slow or absent, each of its pods still there; a legacy bare pod by its name.
 * Returns whether anything was deleted.
 */
export async function removeWorkload(
  kube: KubeObjects,
  namespace: string,
  name: string,
  pods: V1Pod[],
  o: { gracePeriodSeconds?: number } = {},
): Promise<boolean> {
  const job = await kube.deleteObject("jobs", namespace, objectNames(name).workload, {
    propagationPolicy: "Background",
    ...o,
  }).catch((e) => {
    // a user who may delete pods but not Jobs still stops a legacy session
    if (e instanceof KodamaError && e.code === ExitCode.FORBIDDEN && pods.every(isLegacyPod)) return false;
    throw e;
  });
  let any = job;
  for (const p of pods) {
    if (p.metadata?.deletionTimestamp) continue;
    if (await kube.deleteObject("pods", namespace, p.metadata!.name!, o)) any = true;
  }
  return any;
}

/** Wait until the session has no pod left (the Job's and a legacy one): exit 5 after `timeoutMs`. */
export async function podsGone(
  kube: KubeTargets,
  namespace: string,
  name: string,
  timeoutMs = POD_GONE_MS,
): Promise<void> {
  // loaded when a pod must go (its conditions bring a JSONPath library): a resume of a stopped session never
  const { waitForPods } = await import("../../pods/wait.ts");
  const selector = sessionSelector(name);
  await waitForPods(kube, { namespace, selector, includeNotReady: true }, { for: "deleted", timeoutMs });
}

/** The session's Job, when it has one (undefined: stopped, or a legacy session). */
export function findJob(kube: KubeObjects, namespace: string, name: string): Promise<V1Job | undefined> {
  return kube.findObject<V1Job>("jobs", namespace, objectNames(name).workload);
}

/** A Job that ended (an idle stop, a failure): resume deletes it before it makes the session's Job again. */
export function isFinished(job: V1Job | undefined): boolean {
  return !!jobFinished(job);
}
