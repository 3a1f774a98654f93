/** `compare --wait --stop-others-when-passed` (src/agent/group/stopothers.ts): which replica passed, which to stop. */
import { assertEquals } from "@kodama/test-assert";
import { passedReplica, stillGoing } from "../../../src/agent/group/stopothers.ts";
import type { ReplicaRow } from "../../../src/agent/group/compare.ts";

const row = (n: number, agent: string, check?: string, status = "Running"): ReplicaRow => ({
  name: `fix-${n}`,
  replica: n,
  status,
  agent: { run: "1", state: agent },
  ...(check ? { check: { state: check } } : {}),
});

Deno.test("stop-others: only a succeeded agent with a passed check counts; the runs still going are stopped", () => {
  const rows = [
    row(1, "succeeded", "failed"),
    row(2, "running"),
    row(3, "succeeded", "passed"),
    row(4, "checking", "running"),
    row(5, "running", undefined, "Stopped"),
    row(6, "failed"),
  ];
  const p = passedReplica(rows);
  assertEquals(p?.name, "fix-3");
  assertEquals(stillGoing(rows, p!).map((r) => r.name), ["fix-2", "fix-4"]);
  // without a check nothing "passed": no replica is stopped on an agent's word alone
  assertEquals(passedReplica([row(1, "succeeded"), row(2, "running")]), undefined);
  assertEquals(passedReplica([row(1, "succeeded", "running")]), undefined);
});
