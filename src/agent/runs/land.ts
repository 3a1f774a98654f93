/**
 * `session land NAME` composed on the agent floor: src/session/git/land.ts does the landing and takes "is an
 * agent run active?" as a callback, which only this floor can answer (agentrun.ts listRuns).
 */
import type { V1Pod } from "@kubernetes/client-node";
import type { Kube } from "../../kube/client.ts";
import { type Sink, stderrSink, stdoutSink } from "../../base/sink.ts";
import type { PathDoor } from "../../session/lifecycle/startio.ts";

/** `session land NAME`: the session's commits onto the current branch (src/session/git/land.ts). */
export async function landCommand(
  kube: Kube,
  name: string,
  f: {
    rebase?: boolean;
    dryRun?: boolean;
    force?: boolean;
    json?: boolean;
    only?: string;
    /** the door the call came through (MCP, web UI): each repository of several must pass it */
    door?: PathDoor;
  },
  io: { out: Sink; err: Sink } = { out: stdoutSink, err: stderrSink },
  cwd = Deno.cwd(),
  namespace = kube.namespace,
): Promise<number> {
  const [{ landSession }, { listRuns }] = await Promise.all([
    import("../../session/git/land.ts"),
    import("./agentrun.ts"),
  ]);
  const activeRun = async (pod: V1Pod) => (await listRuns(kube, pod)).find((r) => r.state === "running")?.id;
  return await landSession(kube, namespace, name, { ...f, cwd, ...io, activeRun });
}
