/**
 * The cluster's faults (controllers/disruptions.ts via faults.ts) in the in-memory cluster: a lost node
 * and the taint manager, the Node deleted (PodGC), a second node for the replacement, kubelet pressure
 * eviction and preemption — each with v1.32's condition, event and status words, and what a Job with
 * kodama's podFailurePolicy and a StatefulSet do about it.
 */
import { assert, assertEquals, assertMatch } from "@kodama/test-assert";
import { MemCluster } from "./memcluster.ts";
import { findResource } from "./resources.ts";
import type { Obj } from "./store.ts";
import { NODE_NAME } from "./defaults.ts";

const JOBS = findResource("batch", "v1", "jobs")!;
const STS = findResource("apps", "v1", "statefulsets")!;
const NODES = findResource("", "v1", "nodes")!;
const PODS = findResource("", "v1", "pods")!;
const NS = "default";
const NODE2 = "kodama-test-node-2";

function until<T>(mem: MemCluster, cond: () => T | undefined | false, what: string, ms = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    let unsub = () => {};
    const timer = setTimeout(() => {
      unsub();
      reject(new Error(`timed out waiting for ${what}`));
    }, ms);
    const check = () => {
      const v = cond();
      if (!v) return false;
      unsub();
      clearTimeout(timer);
      resolve(v);
      return true;
    };
    if (!check()) unsub = mem.api.store.subscribe("*", () => queueMicrotask(check));
  });
}

/** A Job as kodama makes a session's: evictions, preemptions and node loss do not count. */
function sessionJob(mem: MemCluster, name: string): Obj {
  return mem.api.create(JOBS, NS, {
    metadata: { name },
    spec: {
      backoffLimit: 0,
      podFailurePolicy: { rules: [{ action: "Ignore", onPodConditions: [{ type: "DisruptionTarget" }] }] },
      template: { spec: { restartPolicy: "Never", containers: [{ name: "main", image: "busybox" }] } },
    },
  });
}
const podsOf = (mem: MemCluster, job: Obj) =>
  mem.api.store.list("pods", NS).filter((p) => p.metadata.ownerReferences?.[0]?.uid === job.metadata.uid);
const live = (mem: MemCluster, job: Obj) => podsOf(mem, job).filter((p) => !p.metadata.deletionTimestamp);
const cond = (o: Obj | undefined, type: string) =>
  (o?.status?.conditions ?? []).find((c: Obj) => c.type === type);
const events = (mem: MemCluster, name: string) =>
  mem.api.store.list("events").filter((e) => e.involvedObject.name === name).map((e) =>
    `${e.type} ${e.reason} ${e.source.component}: ${e.message}`
  );
const jobOf = (mem: MemCluster, name: string) => mem.api.store.get("jobs", NS, name)!;

Deno.test("loseNode: NotReady, tainted, pods not Ready; the taint manager deletes them; restore lets them go", async () => {
  using mem = new MemCluster({ controllers: { backoffBaseMs: 0 } });
  const job = sessionJob(mem, "s1");
  const [p] = await until(mem, () => live(mem, job).length === 1 && live(mem, job), "pod");
  mem.podReady(p.metadata.name, true, NS);
  await mem.faults.loseNode(NODE_NAME, { graceMs: 50 });
  const node = mem.api.store.get("nodes", "", NODE_NAME)!;
  const ready = cond(node, "Ready");
  assertEquals([ready.status, ready.reason, ready.message], [
    "Unknown",
    "NodeStatusUnknown",
    "Kubelet stopped posting node status.",
  ]);
  assertEquals(
    node.spec.taints.map((t: Obj) => `${t.key}:${t.effect}`),
    ["node.kubernetes.io/unreachable:NoSchedule", "node.kubernetes.io/unreachable:NoExecute"],
  );
  assertEquals(cond(mem.api.store.get("pods", NS, p.metadata.name), "Ready").status, "False");
  // the kubelet of a lost node reports nothing
  mem.podReady(p.metadata.name, true, NS);
  assertEquals(cond(mem.api.store.get("pods", NS, p.metadata.name), "Ready").status, "False");
  const gone = await until(
    mem,
    () =>
      mem.api.store.get("pods", NS, p.metadata.name)?.metadata.deletionTimestamp &&
      mem.api.store.get("pods", NS, p.metadata.name),
    "the taint manager's delete",
  );
  const dt = cond(gone, "DisruptionTarget");
  assertEquals([dt.reason, dt.message], [
    "DeletionByTaintManager",
    "Taint manager: deleting due to NoExecute taint",
  ]);
  assertEquals(events(mem, p.metadata.name), [
    "Warning NodeNotReady node-controller: Node is not ready",
    `Normal TaintManagerEviction taint-eviction-controller: Marking for deletion Pod ${NS}/${p.metadata.name}`,
  ]);
  // no kubelet confirms the delete: the pod stays Terminating, and podReplacementPolicy Failed waits
  assertEquals(live(mem, job).length, 0);
  assertEquals(jobOf(mem, "s1").status.terminating, 1);
  await mem.faults.restoreNode(NODE_NAME);
  assertEquals(cond(mem.api.store.get("nodes", "", NODE_NAME), "Ready").status, "True");
  const [r] = await until(
    mem,
    () => live(mem, job).length === 1 && podsOf(mem, job).length === 1 && live(mem, job),
    "replacement",
  );
  assert(r.metadata.uid !== p.metadata.uid);
  assertEquals(r.spec.nodeName, NODE_NAME);
  assertEquals(jobOf(mem, "s1").status.failed, undefined, "node loss did not count");
});

Deno.test("loseNode + Node deleted: PodGC force-deletes its pods; the replacement goes to the second node", async () => {
  using mem = new MemCluster({ controllers: { backoffBaseMs: 0 } });
  mem.faults.addNode(NODE2);
  const job = sessionJob(mem, "s2");
  const [p] = await until(mem, () => live(mem, job).length === 1 && live(mem, job), "pod");
  assertEquals(p.spec.nodeName, NODE_NAME, "the first node first");
  await mem.faults.loseNode(NODE_NAME, { graceMs: 60_000 });
  const seen: Obj[] = [];
  mem.api.store.subscribe("pods", (ev) => {
    if (ev.object.metadata.uid === p.metadata.uid) seen.push(ev.object);
  });
  await mem.api.delete(NODES, "", NODE_NAME, {});
  const [r] = await until(mem, () => live(mem, job).length === 1 && live(mem, job), "replacement");
  assertEquals(r.spec.nodeName, NODE2);
  assertEquals(cond(seen.at(-1), "DisruptionTarget").reason, "DeletionByPodGC");
  assertEquals(cond(seen.at(-1), "DisruptionTarget").message, "PodGC: node no longer exists");
  assertEquals(seen.at(-1)!.status.phase, "Failed", "marked Failed before the force delete");
  assertEquals(mem.api.store.get("pods", NS, p.metadata.name), undefined);
});

Deno.test("scheduler: a lost node takes no new pod; with none left the message counts both nodes' reasons", async () => {
  using mem = new MemCluster();
  mem.faults.addNode(NODE2);
  await mem.faults.loseNode(NODE_NAME, { graceMs: 60_000 });
  const a = mem.api.create(PODS, NS, {
    metadata: { name: "a" },
    spec: { containers: [{ name: "c", image: "b" }] },
  });
  assertEquals(a.spec.nodeName, NODE2);
  mem.api.patch(NODES, "", NODE2, "strategic", JSON.stringify({ spec: { unschedulable: true } }));
  const b = mem.api.create(PODS, NS, {
    metadata: { name: "b" },
    spec: { containers: [{ name: "c", image: "b" }] },
  });
  assertEquals(b.spec.nodeName, undefined);
  assertEquals(
    cond(b, "PodScheduled").message,
    "0/2 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, 1 node(s) were unschedulable. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.",
  );
});

Deno.test("evictForPressure: Failed, Evicted, the kubelet's message, TerminationByKubelet; the Job replaces it", async () => {
  using mem = new MemCluster({ controllers: { backoffBaseMs: 0 } });
  const job = sessionJob(mem, "s3");
  const [p] = await until(mem, () => live(mem, job).length === 1 && live(mem, job), "pod");
  mem.podReady(p.metadata.name, true, NS);
  await mem.faults.evictForPressure(`${NS}/${p.metadata.name}`, "memory");
  const ev = mem.api.store.get("pods", NS, p.metadata.name)!;
  assertEquals([ev.status.phase, ev.status.reason], ["Failed", "Evicted"]);
  assertMatch(
    ev.status.message,
    /^The node was low on resource: memory\. Threshold quantity: 100Mi, available: \d+Ki\. Container main was using \d+Ki, request is 0, has larger consumption of memory\. $/,
  );
  const dt = cond(ev, "DisruptionTarget");
  assertEquals([dt.reason, dt.message], ["TerminationByKubelet", ev.status.message]);
  assertEquals(events(mem, p.metadata.name), [`Warning Evicted kubelet: ${ev.status.message}`]);
  const [r] = await until(
    mem,
    () =>
      live(mem, job).some((x) => x.metadata.uid !== p.metadata.uid) &&
      live(mem, job).filter((x) => x.metadata.uid !== p.metadata.uid),
    "replacement",
  );
  assert(r);
  assertEquals(jobOf(mem, "s3").status.failed, undefined, "an eviction does not count");
});

Deno.test("preempt: DisruptionTarget PreemptionByScheduler, event Preempted, deleted; a StatefulSet makes it again", async () => {
  using mem = new MemCluster();
  const labels = { app: "gw" };
  mem.api.create(STS, NS, {
    metadata: { name: "gw" },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: "main", image: "busybox" }] } },
    },
  });
  const p = await until(mem, () => mem.api.store.get("pods", NS, "gw-0"), "gw-0");
  const seen: Obj[] = [];
  mem.api.store.subscribe("pods", (ev) => {
    if (ev.object.metadata.uid === p.metadata.uid) seen.push(ev.object);
  });
  await mem.faults.preempt(`${NS}/gw-0`, { byUid: "0d4f-preemptor" });
  assertEquals(cond(seen[0], "DisruptionTarget").reason, "PreemptionByScheduler");
  assertEquals(
    cond(seen[0], "DisruptionTarget").message,
    "default-scheduler: preempting to accommodate a higher priority pod",
  );
  assert(
    events(mem, "gw-0").includes(
      `Normal Preempted default-scheduler: Preempted by pod 0d4f-preemptor on node ${NODE_NAME}`,
    ),
  );
  await until(
    mem,
    () =>
      mem.api.store.get("pods", NS, "gw-0")?.metadata.uid !== p.metadata.uid &&
      mem.api.store.get("pods", NS, "gw-0"),
    "gw-0 again",
  );
});

Deno.test("oomKill: OOMKilled, exit 137; a Job counts it (not a disruption)", async () => {
  using mem = new MemCluster({ controllers: { backoffBaseMs: 0 } });
  const job = sessionJob(mem, "s4");
  const [p] = await until(mem, () => live(mem, job).length === 1 && live(mem, job), "pod");
  mem.podReady(p.metadata.name, true, NS);
  await mem.faults.oomKill(`${NS}/${p.metadata.name}`);
  const st = mem.api.store.get("pods", NS, p.metadata.name)!.status;
  assertEquals(st.phase, "Failed");
  assertEquals(st.containerStatuses[0].state.terminated.reason, "OOMKilled");
  assertEquals(st.containerStatuses[0].state.terminated.exitCode, 137);
  const failed = await until(mem, () => cond(jobOf(mem, "s4"), "Failed") && jobOf(mem, "s4"), "Job Failed");
  assertEquals(failed.status.failed, 1);
  assertEquals(cond(failed, "Failed").reason, "BackoffLimitExceeded");
});
