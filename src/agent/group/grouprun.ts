/**
 * `kodama agent run GROUP --prompt …` (without --continue, which is groupcontinue.ts): the prompt runs in
 * every replica of a best-of-N group that is running, each with its own agent (a replica's variant) unless
 * --agent names one. A replica that is not running is left alone and named. The words and exit codes are
 * `agent run GROUP --continue`'s: one `NAME<TAB>RUN` line per started run on stdout, one line per replica on
 * stderr; exit 1 when a running replica's run could not be started or no replica runs.
 */
import type { KubeSessions } from "../../kube/seam.ts";
import { ExitCode } from "../../base/errors.ts";
import type { Sink } from "../../base/sink.ts";
import { groupMembers } from "./group.ts";
import { type RunOptions, startRun } from "../runs/agentrun.ts";

export interface GroupRunResult {
  /** the replicas a run was started in */
  started: { name: string; run: string }[];
  /** the replicas left alone (not running), and why */
  skipped: { name: string; why: string }[];
  /** the running replicas whose run could not be started, and the first line of the reason */
  failed: { name: string; why: string }[];
}

/** The prompt in every running replica of GROUP, in parallel. */
export async function runInGroup(
  kube: KubeSessions,
  namespace: string,
  group: string,
  o: Omit<RunOptions, "pod">,
): Promise<GroupRunResult> {
  const members = await groupMembers(kube, namespace, group);
  const res: GroupRunResult = { started: [], skipped: [], failed: [] };
  await Promise.all(members.map(async (v) => {
    if (v.status !== "Running" || !v.pod) return void res.skipped.push({ name: v.name, why: v.status });
    try {
      const run = await startRun(kube, namespace, v.name, { ...o, pod: v.pod });
      res.started.push({ name: v.name, run });
    } catch (e) {
      res.failed.push({ name: v.name, why: (e as Error).message.split("\n")[0] });
    }
  }));
  for (const l of [res.started, res.skipped, res.failed]) l.sort((a, b) => a.name.localeCompare(b.name));
  return res;
}

/** The CLI's words for it; exit 0 when every running replica started its run, else 1. */
export function reportGroupRun(group: string, r: GroupRunResult, out: Sink, err: Sink): number {
  for (const s of r.started) out.write(`${s.name}\t${s.run}\n`);
  for (const s of r.started) err.write(`${s.name}: agent run ${s.run} started\n`);
  for (const s of r.skipped) err.write(`${s.name}: left alone (${s.why})\n`);
  for (const s of r.failed) err.write(`${s.name}: not started: ${s.why}\n`);
  if (r.started.length) {
    err.write(`follow them with: kodama compare ${group} --wait (or kodama agent logs ${group}-N RUN -f)\n`);
  } else if (!r.failed.length) {
    err.write(`group ${group}: no replica is running: resume one with kodama resume ${group}-N\n`);
  }
  return r.failed.length || !r.started.length ? ExitCode.FAILED : ExitCode.OK;
}
