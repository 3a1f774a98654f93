/**
 * `agent wait` when the session's pod ends between the pod's wait and the look at the run it named (an
 * eviction's grace period running out just then): a cut like any other, taken up on the pod the session's Job
 * brings back, never the wait's failure (bench churn's smoke run saw one replica's wait end with nothing).
 * In-process, on the in-memory cluster.
 */
import { assertEquals } from "@kodama/test-assert";
import type { CoreV1Event, V1Pod } from "@kubernetes/client-node";
import { agentWait } from "../../../src/agent/runs/say.ts";
import type { ExecStreams } from "../../../src/kube/exec.ts";
import { CONTAINER } from "../../../src/session/spec/spec.ts";
import { MemCluster } from "../../cluster/memcluster.ts";
import { deletedAndStarting, run, running, session } from "../../_session_memory.ts";

Deno.test("agent wait (in memory): the pod gone under the look at the run is a cut, the wait goes on", async () => {
  using mem = new MemCluster({ controllers: { backoffBaseMs: 0 } });
  const { pod, runs } = await session(mem, "w");
  const t = new Date().toISOString();
  run(runs, "1", { pid: "1", pod: pod.metadata!.uid!, started: t, ended: t, exit: "0" });
  let cut = 0;
  let next: string | undefined;
  const execIn = mem.execIn.bind(mem);
  // the first look at the runs finds the pod ended: the kubelet's answer to an exec into a container gone
  mem.execIn = async (ns: string, name: string, c: string, cmd: string[], s?: ExecStreams) => {
    if (cmd.includes("kodama-status") && name === pod.metadata!.name && cut++ === 0) {
      next = await deletedAndStarting(mem, pod as V1Pod, "w");
      queueMicrotask(() => running(mem, next!));
      throw new Error(`container "${CONTAINER}" in pod "${name}" is not running`);
    }
    return await execIn(ns, name, c, cmd, s);
  };
  const rs = await agentWait(mem, mem.namespace, "w", { timeoutMs: 30_000 });
  assertEquals(cut > 0, true);
  assertEquals(rs.map((r) => [r.session, r.run, r.state]), [["w", "1", "succeeded"]]);
  assertEquals(typeof rs[0].replaced, "string");
});

Deno.test("agent wait (in memory): a resumed run's end names the cause the cluster said, as agent status does", async () => {
  using mem = new MemCluster({ controllers: { backoffBaseMs: 0 } });
  const { pod, runs } = await session(mem, "e");
  const t = new Date().toISOString();
  const old = "0b1d-old-pod-uid";
  run(runs, "1", { pid: "1", pod: pod.metadata!.uid!, started: t, ended: t, exit: "0" });
  // the runner's guess of its old pod's end: a delete (it saw a TERM)
  Deno.writeTextFileSync(
    `${runs}/1/state.json`,
    JSON.stringify({ resumes: [{ cause: "deleted", at: t, pod: old, resumedAt: t }] }),
  );
  // what the cluster said about the old pod: the kubelet evicted it
  await mem.createObject<CoreV1Event>("events", mem.namespace, {
    metadata: { name: "old.evicted" },
    involvedObject: { kind: "Pod", name: "e-old", namespace: mem.namespace, uid: old },
    reason: "Evicted",
    message: "The node was low on resource: memory.",
    type: "Warning",
  });
  const rs = await agentWait(mem, mem.namespace, "e", { timeoutMs: 30_000 });
  assertEquals(rs.map((r) => [r.state, r.text]), [[
    "succeeded",
    "succeeded (resumed after eviction)",
  ]]);
});
