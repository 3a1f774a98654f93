/**
 * `agent wait GROUP` while the cluster brings a replica's pod back (issue 80): the replica is waited for
 * (its wait takes it up on its new pod), not skipped; `agent say`/`interrupt` still address running
 * replicas only. In-process, on the in-memory cluster.
 */
import { assertEquals } from "@kodama/test-assert";
import { targets } from "../../../src/agent/runs/say.ts";
import { MemCluster } from "../../cluster/memcluster.ts";
import { deletedAndStarting, session } from "../../_session_memory.ts";

Deno.test("wait targets (in memory): a group's restarting replica is waited for, not skipped", async () => {
  using mem = new MemCluster({ controllers: { backoffBaseMs: 0 } });
  await session(mem, "g-1", { name: "g", replica: 1 });
  const { pod } = await session(mem, "g-2", { name: "g", replica: 2 });
  await deletedAndStarting(mem, pod, "g-2");
  const wait = await targets(mem, mem.namespace, "g", true);
  assertEquals(wait.group, true);
  assertEquals(wait.members.map((m) => [m.name, !!m.pod]), [["g-1", true], ["g-2", false]]);
  // say and interrupt: the running replica only
  const say = await targets(mem, mem.namespace, "g");
  assertEquals(say.members.map((m) => m.name), ["g-1"]);
});
