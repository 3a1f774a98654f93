/**
 * `compare --wait --stop-others-when-passed`: once one replica's agent has succeeded and its check passed,
 * the runs still going in the other replicas are stopped (agentStop: the run's process group gets SIGTERM,
 * then SIGKILL), so a group does not spend on replicas nobody will keep. Their sessions and work stay.
 */
import type { KubeSessions } from "../../kube/seam.ts";
import type { Sink } from "../../base/sink.ts";
import type { ReplicaRow } from "./compare.ts";

/** The first replica whose agent succeeded and whose check passed (none without a check). Pure. */
export function passedReplica(rows: ReplicaRow[]): ReplicaRow | undefined {
  return rows.find((r) => r.agent?.state === "succeeded" && r.check?.state === "passed");
}

/** The replicas whose runs are still going, besides the one that passed. Pure. */
export function stillGoing(rows: ReplicaRow[], passed: ReplicaRow): ReplicaRow[] {
  return rows.filter((r) =>
    r !== passed && r.status === "Running" && (r.agent?.state === "running" || r.agent?.state === "checking")
  );
}

/** Stop the others once one passed; returns how many were stopped this time. */
export async function stopOthersWhenPassed(
  kube: KubeSessions,
  namespace: string,
  rows: ReplicaRow[],
  err: Sink,
): Promise<number> {
  const passed = passedReplica(rows);
  if (!passed) return 0;
  const { agentStop } = await import("../runs/agentrun.ts");
  const quiet: Sink = { write: () => {} };
  let n = 0;
  for (const r of stillGoing(rows, passed)) {
    try {
      await agentStop(kube, namespace, r.name, { run: r.agent!.run, out: quiet, err: quiet });
      err.write(`stopped agent run ${r.agent!.run} of ${r.name}: ${passed.name} passed its check\n`);
      n++;
    } catch (e) {
      err.write(`warning: could not stop ${r.name}'s run: ${(e as Error).message.split("\n")[0]}\n`);
    }
  }
  return n;
}
