/**
 * `agent wait GROUP` while the cluster brings a replica's pod back (issue 80): the replica is waited for
 * (its wait takes it up on its new pod), not skipped; `agent say`/`interrupt` still address running
 * replicas only. In-process, on the in-memory cluster.
 */
import { assertEquals } from "@kodama/test-assert";
import type { CoreV1Event, V1Pod } from "@kubernetes/client-node";
import { targets } from "../../../src/agent/say.ts";
import { MemCluster } from "../../cluster/memcluster.ts";
import { session } from "../../_session_memory.ts";

Deno.test("wait targets (in memory): a group's restarting replica is waited for, not skipped", async () => {
  using mem = new MemCluster({ controllers: { backoffBaseMs: 0 } });
  await session(mem, "g-1", { name: "g", replica: 1 });
  const { pod } = await session(mem, "g-2", { name: "g", replica: 2 });
  const old = pod.metadata!.name!;
  await mem.deleteObject("pods", mem.namespace, old);
  // what the kubelet said of the pod it stopped (the pod itself is gone from the API)
  const at = new Date().toISOString() as unknown as Date;
  await mem.createObject<CoreV1Event>("events", mem.namespace, {
    metadata: { name: `${old}.killing` },
    involvedObject: { kind: "Pod", name: old, namespace: mem.namespace, uid: pod.metadata!.uid },
    reason: "Killing",
    message: "Stopping container session",
    type: "Normal",
    firstTimestamp: at,
    lastTimestamp: at,
  });
  let next: string | undefined;
  for (let i = 0; i < 200 && !next; i++) {
    await new Promise((r) => setTimeout(r, 0));
    next = (await mem.listObjects<V1Pod>("pods", mem.namespace, { labelSelector: "kodama.dev/session=g-2" }))
      .items.map((p) => p.metadata!.name!).find((n) => n !== old);
  }
  mem.setPodStatus(next!, { phase: "Pending", conditions: [{ type: "PodScheduled", status: "True" }] });
  const wait = await targets(mem, mem.namespace, "g", true);
  assertEquals(wait.group, true);
  assertEquals(wait.members.map((m) => [m.name, !!m.pod]), [["g-1", true], ["g-2", false]]);
  // say and interrupt: the running replica only
  const say = await targets(mem, mem.namespace, "g");
  assertEquals(say.members.map((m) => m.name), ["g-1"]);
});
