/**
 * Why a run resumed (issue 80): the pod's runner guesses the cause of its pod's end (a SIGTERM it saw:
 * `deleted`; none and another pod: `node-lost`); kodama refines it from what the cluster said about that
 * pod (its uid), where it said it: the old pod still there (Failed, `Evicted`), its `DisruptionTarget`
 * condition, the events about it, a container `OOMKilled` (session/state/disruption.ts). Pure.
 */
import type { CoreV1Event, V1Pod } from "@kubernetes/client-node";
import { podDisruption } from "../../session/state/disruption.ts";
import type { ResumeCause, RunResume } from "./agent.ts";

/** The cause of one resume, from the session's pods and the events of its namespace. */
export function resumeCause(r: RunResume, pods: V1Pod[], events: CoreV1Event[]): ResumeCause {
  if (!r.pod) return r.cause;
  // the old pod itself when the cluster kept it; else only the events that name its uid
  const pod = pods.find((p) => p.metadata?.uid === r.pod) ?? { metadata: { uid: r.pod } };
  const d = podDisruption(pod, events);
  // a plain delete says less than the pod's own guess (a lost node's pod is deleted too)
  if (!d || (d.cause === "deleted" && r.cause !== "deleted")) return r.cause;
  return d.cause;
}

/** The run's resumes with their causes refined. */
export function refineResumes(resumes: RunResume[] | undefined, pods: V1Pod[], events: CoreV1Event[]) {
  return resumes?.map((r) => ({ ...r, cause: resumeCause(r, pods, events) }));
}

const WORD: Record<ResumeCause, string> = {
  evicted: "eviction",
  preempted: "preemption",
  "node-lost": "node loss",
  "oom-killed": "out of memory",
  deleted: "deletion",
};

/** `resumed after eviction`, `resumed 2× after eviction, node loss`; "" for a run never resumed. */
export function resumedText(resumes: RunResume[] | undefined): string {
  if (!resumes?.length) return "";
  const causes = [...new Set(resumes.map((r) => WORD[r.cause] ?? r.cause))].join(", ");
  return `resumed ${resumes.length > 1 ? `${resumes.length}× ` : ""}after ${causes}`;
}

/** An outcome's words with the resumes: `succeeded (resumed after eviction)`, `… (after 2 overloads; resumed …)`. */
export function withResumes(text: string, resumes: RunResume[] | undefined): string {
  const r = resumedText(resumes);
  if (!r) return text;
  return text.endsWith(")") ? `${text.slice(0, -1)}; ${r})` : `${text} (${r})`;
}
