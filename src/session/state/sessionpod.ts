/**
 * Which of a session's pods is *the* session's pod (issue 80). A session's pod belongs to its Job
 * (`kodama-NAME`), whose pods are named by the cluster (`kodama-NAME-x7k2p`) and replaced when the cluster
 * moves one (an eviction, a lost node, a delete): so nothing addresses the pod by a fixed name. Every command
 * lists the session's pods by its labels and picks one here: the live one (not terminal, not being deleted,
 * the newest), else the newest of all (for status: an idle stop's Succeeded pod, a Failed one). Pure.
 */
import type { V1Pod } from "@kubernetes/client-node";

/** The pod ended (Succeeded or Failed): nothing runs in it any more. */
export function isTerminal(p: V1Pod): boolean {
  return p.status?.phase === "Succeeded" || p.status?.phase === "Failed";
}

/** The pod runs or may run: not ended, not being deleted. */
export function isLive(p: V1Pod): boolean {
  return !isTerminal(p) && !p.metadata?.deletionTimestamp;
}

const created = (p: V1Pod) => {
  const t = p.metadata?.creationTimestamp as unknown as string | Date | undefined;
  return t instanceof Date ? t.getTime() : t ? Date.parse(t) || 0 : 0;
};

/** Newest first (by creation time, then by name for a stable order within one second). */
export function newestFirst(pods: V1Pod[]): V1Pod[] {
  return [...pods].sort((a, b) =>
    created(b) - created(a) || (b.metadata?.name ?? "").localeCompare(a.metadata?.name ?? "")
  );
}

/** The session's pod among its pods: the newest live one, else the newest; undefined for none. */
export function sessionPod(pods: V1Pod[]): V1Pod | undefined {
  const sorted = newestFirst(pods);
  return sorted.find(isLive) ?? sorted[0];
}

/**
 * A pod from an older kodama: a bare Pod (`kodama-NAME`) that no Job owns. It keeps working (it is found
 * by its labels like any other), but nothing brings it back when the cluster takes it away.
 */
export function isLegacyPod(p: V1Pod): boolean {
  return !p.metadata?.ownerReferences?.some((r) => r.kind === "Job" && r.controller !== false);
}

/** What `list`, `get` and `resume` say of a running legacy pod (issue 80's wording). */
export function legacyNote(name: string): string {
  return `session ${name} runs on a bare pod from an older kodama: the cluster will not bring it back; ` +
    `\`kodama stop ${name} && kodama resume ${name}\` hands it to a Job`;
}
