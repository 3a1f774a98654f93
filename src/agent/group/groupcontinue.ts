/**
 * `kodama agent run GROUP --continue` (and the web UI's Continue button, the MCP tool `group_continue`):
 * every replica of a best-of-N group whose latest run failed or was interrupted is continued with its
 * agent's continue arguments — what the pod's runner does by itself for a transient end, asked for once for
 * the whole group. A replica that succeeded, still runs, or was stopped on purpose is left alone.
 */
import type { KubeIdentity, KubeObjects, KubeSessions } from "../../kube/seam.ts";
import { ExitCode } from "../../base/errors.ts";
import type { Sink } from "../../base/sink.ts";
import type { Config } from "../../config/schema.ts";
import { groupMembers } from "./group.ts";
import { listRuns, startRun } from "../runs/agentrun.ts";
import { runOutcome } from "../outcome/runtruth.ts";
import { CONTINUE_PROMPT } from "../runs/prompts.ts";
import { listSessions } from "../../session/state/cluster.ts";
import { groupOf } from "../../session/state/status.ts";

/** Whether NAME is a group and not a session (`agent run NAME --continue` then continues the group). */
export async function isGroupOnly(
  kube: KubeObjects & KubeIdentity,
  namespace: string,
  name: string,
): Promise<boolean> {
  const { sessions } = await listSessions(kube, namespace);
  return !sessions.some((v) => v.name === name) && sessions.some((v) => groupOf(v) === name);
}

/** The replicas of a group named NAME when NAME is also a session's name (`agent run NAME` then says so). */
export async function alsoGroup(
  kube: KubeObjects & KubeIdentity,
  namespace: string,
  name: string,
): Promise<string[]> {
  const { sessions } = await listSessions(kube, namespace);
  return sessions.filter((v) => groupOf(v) === name).map((v) => v.name).sort();
}

export interface GroupContinueResult {
  /** the replicas continued, each with its new run */
  continued: { name: string; run: string; after: string }[];
  /** the replicas left alone, and why */
  skipped: { name: string; why: string }[];
}

/** The states of a latest run worth continuing. */
const CONTINUABLE = ["failed", "interrupted"];

export async function continueGroup(
  kube: KubeSessions,
  namespace: string,
  group: string,
  o: { prompt?: string; cfg: Config; check?: string; out: Sink; err: Sink },
): Promise<GroupContinueResult> {
  const members = await groupMembers(kube, namespace, group);
  const res: GroupContinueResult = { continued: [], skipped: [] };
  await Promise.all(members.map(async (v) => {
    if (v.status !== "Running" || !v.pod) return void res.skipped.push({ name: v.name, why: v.status });
    try {
      const last = (await listRuns(kube, v.pod)).at(-1);
      if (!last) return void res.skipped.push({ name: v.name, why: "no run" });
      if (!CONTINUABLE.includes(last.state)) {
        return void res.skipped.push({ name: v.name, why: `run ${last.id} ${runOutcome(last)}` });
      }
      const run = await startRun(kube, namespace, v.name, {
        pod: v.pod,
        prompt: o.prompt ?? CONTINUE_PROMPT,
        cfg: o.cfg,
        continues: true,
        ...(o.check ? { check: o.check } : {}),
        stallTimeout: o.cfg.agent.stallTimeout,
        out: o.out,
        err: o.err,
      });
      res.continued.push({ name: v.name, run, after: `run ${last.id} ${runOutcome(last)}` });
    } catch (e) {
      res.skipped.push({ name: v.name, why: (e as Error).message.split("\n")[0] });
    }
  }));
  res.continued.sort((a, b) => a.name.localeCompare(b.name));
  res.skipped.sort((a, b) => a.name.localeCompare(b.name));
  return res;
}

/** The CLI's words for it; exit 0 when something was continued or nothing needed it, 1 when one could not be. */
export function reportGroupContinue(group: string, r: GroupContinueResult, out: Sink, err: Sink): number {
  for (const c of r.continued) out.write(`${c.name}\t${c.run}\n`);
  for (const c of r.continued) err.write(`${c.name}: continued as run ${c.run} (after ${c.after})\n`);
  for (const s of r.skipped) err.write(`${s.name}: left alone (${s.why})\n`);
  if (!r.continued.length) err.write(`group ${group}: no replica's latest run failed: nothing to continue\n`);
  const broken = r.skipped.filter((s) => !/^(run \d+ |no run$|Stopped$|Failed$|Pending$)/.test(s.why));
  return broken.length ? ExitCode.FAILED : ExitCode.OK;
}
