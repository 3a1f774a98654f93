/**
 * The Eviction API and PodDisruptionBudgets (controllers/eviction.ts, controllers/pdb.ts) in the in-memory
 * cluster: the budget's status as the disruption controller keeps it, the 429 and its cause, the
 * DisruptionTarget condition set before the delete, and a Job that does not count an eviction.
 */
import { assert, assertEquals, assertRejects } from "@kodama/test-assert";
import { MemCluster } from "./memcluster.ts";
import { findResource } from "./resources.ts";
import type { Obj } from "./store.ts";
import { ApiError } from "./status.ts";

const PDB = findResource("policy", "v1", "poddisruptionbudgets")!;
const STS = findResource("apps", "v1", "statefulsets")!;
const JOBS = findResource("batch", "v1", "jobs")!;
const NS = "default";

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

const pod = (mem: MemCluster, name: string) => mem.api.store.get("pods", NS, name);
const pdb = (mem: MemCluster, name: string) => mem.api.store.get("poddisruptionbudgets", NS, name)!;

/** A StatefulSet `app` with `n` Running and Ready pods. */
async function readySts(mem: MemCluster, app: string, n: number): Promise<void> {
  const labels = { app };
  mem.api.create(STS, NS, {
    metadata: { name: app },
    spec: {
      replicas: n,
      podManagementPolicy: "Parallel",
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: "main", image: "busybox" }] } },
    },
  });
  for (let i = 0; i < n; i++) {
    await until(mem, () => pod(mem, `${app}-${i}`), `${app}-${i}`);
    mem.podReady(`${app}-${i}`, true, NS);
  }
}

function budget(mem: MemCluster, name: string, app: string, spec: Obj) {
  return mem.api.create(PDB, NS, {
    metadata: { name },
    spec: { selector: { matchLabels: { app } }, ...spec },
  });
}

const eviction = (name: string, extra: Obj = {}) => ({
  apiVersion: "policy/v1",
  kind: "Eviction",
  metadata: { name, namespace: NS },
  ...extra,
});

async function refused(p: Promise<unknown>): Promise<ApiError> {
  const e = await assertRejects(() => p);
  assert(e instanceof ApiError, String(e));
  return e;
}

Deno.test("pdb: status from the pods it covers; a 429 with the budget's cause when no disruption is allowed", async () => {
  using mem = new MemCluster();
  await readySts(mem, "db", 2);
  budget(mem, "db-pdb", "db", { minAvailable: 2 });
  const st = await until(
    mem,
    () => pdb(mem, "db-pdb").status.expectedPods === 2 && pdb(mem, "db-pdb").status,
    "status",
  );
  assertEquals(
    [st.currentHealthy, st.desiredHealthy, st.disruptionsAllowed, st.observedGeneration],
    [2, 2, 0, 1],
  );
  const c = st.conditions.find((x: Obj) => x.type === "DisruptionAllowed");
  assertEquals([c.status, c.reason], ["False", "InsufficientPods"]);
  const e = await refused(mem.api.evict(NS, "db-0", eviction("db-0")));
  assertEquals(e.code, 429);
  assertEquals(e.reason, "TooManyRequests");
  assertEquals(e.message, "Cannot evict pod as it would violate the pod's disruption budget.");
  assertEquals(e.details?.causes, [{
    reason: "DisruptionBudget",
    message: "The disruption budget db-pdb needs 2 healthy pods and has 2 currently",
  }] as never);
  assertEquals(e.details?.retryAfterSeconds, undefined);
  assert(pod(mem, "db-0") && !pod(mem, "db-0")!.metadata.deletionTimestamp, "the pod stays");
});

Deno.test("pdb: maxUnavailable 1 lets one eviction through; the condition is set before the delete", async () => {
  using mem = new MemCluster();
  await readySts(mem, "web", 2);
  budget(mem, "web-pdb", "web", { maxUnavailable: 1 });
  await until(mem, () => pdb(mem, "web-pdb").status.disruptionsAllowed === 1, "1 allowed");
  const seen: Obj[] = [];
  mem.api.store.subscribe("pods", (ev) => {
    if (ev.object.metadata.name === "web-0") seen.push(structuredClone(ev.object));
  });
  const ok = await mem.api.evict(NS, "web-0", eviction("web-0"));
  assertEquals([ok.kind, ok.status, ok.code], ["Status", "Success", 201]);
  const marked = seen.find((o) =>
    (o.status?.conditions ?? []).some((c: Obj) => c.type === "DisruptionTarget")
  );
  assert(marked, "the DisruptionTarget condition was written");
  assert(!marked.metadata.deletionTimestamp, "before the delete");
  const dt = marked.status.conditions.find((c: Obj) => c.type === "DisruptionTarget");
  assertEquals([dt.status, dt.reason, dt.message], [
    "True",
    "EvictionByEvictionAPI",
    "Eviction API: evicting",
  ]);
  assertEquals(pdb(mem, "web-pdb").status.disruptionsAllowed, 0);
  // the second pod: the budget is spent
  const e = await refused(mem.api.evict(NS, "web-1", eviction("web-1")));
  assertEquals(e.code, 429);
});

Deno.test("pdb: percents round up; a Job's pods have no scale (SyncFailed); validation", async () => {
  using mem = new MemCluster();
  await readySts(mem, "q", 3);
  budget(mem, "half", "q", { minAvailable: "50%" });
  const st = await until(
    mem,
    () => pdb(mem, "half").status.expectedPods === 3 && pdb(mem, "half").status,
    "3 expected",
  );
  assertEquals([st.desiredHealthy, st.disruptionsAllowed], [2, 1]);
  const job = mem.api.create(JOBS, NS, {
    metadata: { name: "j" },
    spec: {
      template: {
        metadata: { labels: { app: "j" } },
        spec: { restartPolicy: "Never", containers: [{ name: "main", image: "busybox" }] },
      },
    },
  });
  await until(
    mem,
    () => mem.api.store.list("pods", NS).some((p) => p.metadata.labels?.app === "j"),
    "job pod",
  );
  budget(mem, "jb", "j", { maxUnavailable: 1 });
  const f = await until(
    mem,
    () => pdb(mem, "jb").status.conditions?.[0]?.reason === "SyncFailed" && pdb(mem, "jb"),
    "SyncFailed",
  );
  assertEquals(f.status.disruptionsAllowed, 0);
  assert(f.status.conditions[0].message.startsWith("found no controllers for pod"));
  assert(job.metadata.uid);
  const both = await refused(
    Promise.resolve().then(() => budget(mem, "bad", "q", { minAvailable: 1, maxUnavailable: 1 })),
  );
  assertEquals(both.code, 422);
  assertEquals(
    both.message,
    `PodDisruptionBudget.policy "bad" is invalid: spec: Invalid value: "policy.PodDisruptionBudgetSpec{...}": minAvailable and maxUnavailable cannot be both set`,
  );
  const pct = await refused(
    Promise.resolve().then(() => budget(mem, "bad2", "q", { maxUnavailable: "150%" })),
  );
  assertEquals(pct.code, 422);
});

Deno.test("eviction: unhealthy pods (AlwaysAllow, IfHealthyBudget), terminal pods, dryRun, a wrong name", async () => {
  using mem = new MemCluster();
  await readySts(mem, "u", 2);
  budget(mem, "u-pdb", "u", { minAvailable: 2 });
  await until(mem, () => pdb(mem, "u-pdb").status.currentHealthy === 2, "2 healthy");
  mem.podReady("u-1", false, NS);
  await until(mem, () => pdb(mem, "u-pdb").status.currentHealthy === 1, "1 healthy");
  // IfHealthyBudget (the default): the budget is not healthy, the unready pod stays
  assertEquals((await refused(mem.api.evict(NS, "u-1", eviction("u-1")))).code, 429);
  mem.api.patch(
    PDB,
    NS,
    "u-pdb",
    "merge",
    JSON.stringify({ spec: { unhealthyPodEvictionPolicy: "AlwaysAllow" } }),
  );
  await until(mem, () => pdb(mem, "u-pdb").status.observedGeneration === 2, "observed");
  // dryRun: answered, nothing done
  await mem.api.evict(NS, "u-1", eviction("u-1", { deleteOptions: { dryRun: ["All"] } }));
  assert(!pod(mem, "u-1")!.metadata.deletionTimestamp);
  const uid = pod(mem, "u-1")!.metadata.uid;
  await mem.api.evict(NS, "u-1", eviction("u-1"));
  await until(mem, () => pod(mem, "u-1")?.metadata.uid !== uid, "u-1 evicted");
  // a terminal pod goes whatever the budget says
  mem.setPodStatus("u-0", { phase: "Failed" }, NS);
  const u0 = pod(mem, "u-0")!.metadata.uid;
  await mem.api.evict(NS, "u-0", eviction("u-0"));
  await until(mem, () => pod(mem, "u-0")?.metadata.uid !== u0, "u-0 evicted");
  const bad = await refused(mem.api.evict(NS, "u-0", eviction("other")));
  assertEquals([bad.code, bad.message], [400, "name in URL does not match name in Eviction object"]);
  const unnamed = await refused(mem.api.evict(NS, "u-0", { apiVersion: "policy/v1", kind: "Eviction" }));
  assertEquals([unnamed.code, unnamed.message], [400, "name in URL does not match name in Eviction object"]);
  assertEquals((await refused(mem.api.evict(NS, "nope", eviction("nope")))).code, 404);
});

Deno.test("eviction: a Job with podFailurePolicy Ignore DisruptionTarget replaces an evicted pod, uncounted", async () => {
  using mem = new MemCluster({ controllers: { backoffBaseMs: 0 } });
  const job = mem.api.create(JOBS, NS, {
    metadata: { name: "sess" },
    spec: {
      backoffLimit: 0,
      podFailurePolicy: { rules: [{ action: "Ignore", onPodConditions: [{ type: "DisruptionTarget" }] }] },
      template: { spec: { restartPolicy: "Never", containers: [{ name: "main", image: "busybox" }] } },
    },
  });
  const mine = () =>
    mem.api.store.list("pods", NS).filter((p) => p.metadata.ownerReferences?.[0]?.uid === job.metadata.uid);
  const [p1] = await until(mem, () => mine().length === 1 && mine(), "pod");
  mem.podReady(p1.metadata.name, true, NS);
  await mem.api.evict(NS, p1.metadata.name, eviction(p1.metadata.name));
  const [p2] = await until(
    mem,
    () => mine().length === 1 && mine()[0].metadata.uid !== p1.metadata.uid && mine(),
    "replacement",
  );
  assert(p2);
  const j = mem.api.store.get("jobs", NS, "sess")!;
  assertEquals(j.status.failed, undefined, "the eviction did not count against backoffLimit 0");
  assert(!(j.status.conditions ?? []).some((c: Obj) => c.type === "Failed"));
});
