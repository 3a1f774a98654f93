/**
 * kube-controller-manager's part of the test server (controllers/): the Job and StatefulSet controllers
 * and the garbage collector, in the in-memory cluster (the same ClusterApi the HTTPS server runs). A test
 * plays the kubelet with `setPodStatus`; every wait is on the store's events, never a sleep.
 */
import { assert, assertEquals, assertMatch, assertRejects } from "@kodama/test-assert";
import { MemCluster } from "./memcluster.ts";
import { findResource } from "./resources.ts";
import type { Obj } from "./store.ts";
import { ApiError } from "./status.ts";

const JOBS = findResource("batch", "v1", "jobs")!;
const STS = findResource("apps", "v1", "statefulsets")!;
const PODS = findResource("", "v1", "pods")!;
const NS = "default";

/** Resolves once `cond()` holds (checked now and after each change in the store), or fails after `ms`. */
function until<T>(mem: MemCluster, cond: () => T | undefined | false, what: string, ms = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    let unsub = () => {};
    const timer = setTimeout(() => {
      unsub();
      reject(new Error(`timed out waiting for ${what}`));
    }, ms);
    const check = () => {
      const v = cond();
      if (v) {
        unsub();
        clearTimeout(timer);
        resolve(v);
        return true;
      }
      return false;
    };
    if (check()) return;
    unsub = mem.api.store.subscribe("*", () => queueMicrotask(check));
  });
}

const spec = (extra: Obj = {}) => ({
  containers: [{ name: "main", image: "busybox", command: ["sleep", "1d"] }],
  restartPolicy: "Never",
  ...extra,
});

function job(mem: MemCluster, name: string, s: Obj = {}, tpl: Obj = {}): Obj {
  return mem.api.create(JOBS, NS, { metadata: { name }, spec: { template: { spec: spec(tpl) }, ...s } });
}

const podsOf = (mem: MemCluster, owner: Obj) =>
  mem.api.store.list("pods", NS).filter((p) =>
    (p.metadata.ownerReferences ?? []).some((r: Obj) => r.uid === owner.metadata.uid)
  );
const live = (mem: MemCluster, owner: Obj) =>
  podsOf(mem, owner).filter((p) =>
    !["Succeeded", "Failed"].includes(p.status?.phase) && !p.metadata.deletionTimestamp
  );
const getJob = (mem: MemCluster, name: string) => mem.api.store.get("jobs", NS, name)!;
const cond = (o: Obj, type: string) => (o.status?.conditions ?? []).find((c: Obj) => c.type === type);

/** What the kubelet reports when the pod's container ended with `code` (plus pod conditions). */
function ended(mem: MemCluster, pod: string, code: number, conditions: Obj[] = []) {
  mem.setPodStatus(pod, {
    phase: code === 0 ? "Succeeded" : "Failed",
    conditions,
    containerStatuses: [{
      name: "main",
      ready: false,
      restartCount: 0,
      state: { terminated: { exitCode: code, reason: code === 0 ? "Completed" : "Error" } },
    }],
  }, NS);
}

const eventsFor = (mem: MemCluster, name: string) =>
  mem.api.store.list("events", NS).filter((e) => e.involvedObject.name === name).map((e) =>
    `${e.reason}: ${e.message}`
  );

Deno.test("job: one pod from the template, owned and labelled as 1.32; Complete once it succeeded", async () => {
  using mem = new MemCluster();
  const j = job(mem, "etl");
  const [p] = await until(mem, () => live(mem, j).length === 1 && live(mem, j), "the Job's pod");
  assertMatch(p.metadata.name, /^etl-[a-z0-9]{5}$/);
  assertEquals(p.metadata.generateName, "etl-");
  assertEquals(p.metadata.labels["batch.kubernetes.io/job-name"], "etl");
  assertEquals(p.metadata.labels["job-name"], "etl");
  assertEquals(p.metadata.labels["controller-uid"], j.metadata.uid);
  assertEquals(p.metadata.labels["batch.kubernetes.io/controller-uid"], j.metadata.uid);
  assertEquals(p.metadata.ownerReferences, [{
    apiVersion: "batch/v1",
    kind: "Job",
    name: "etl",
    uid: j.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  }]);
  assertEquals(getJob(mem, "etl").status.active, 1);
  assert(getJob(mem, "etl").status.startTime);
  mem.podReady(p.metadata.name, true, NS);
  await until(mem, () => getJob(mem, "etl").status.ready === 1, "ready 1");
  ended(mem, p.metadata.name, 0);
  const done = await until(mem, () => cond(getJob(mem, "etl"), "Complete") && getJob(mem, "etl"), "Complete");
  assertEquals(done.status.succeeded, 1);
  assertEquals(done.status.active, undefined);
  assert(done.status.completionTime);
  assertEquals(cond(done, "SuccessCriteriaMet").reason, "CompletionsReached");
  assertEquals(cond(done, "Complete").message, "Reached expected number of succeeded pods");
  assertEquals(eventsFor(mem, "etl"), [
    `SuccessfulCreate: Created pod: ${p.metadata.name}`,
    "Completed: Job completed",
  ]);
  // a finished Job makes no more pods
  assertEquals(podsOf(mem, j).length, 1);
});

Deno.test("job: a failed pod is replaced after the back-off (doubling); past backoffLimit the Job fails", async () => {
  using mem = new MemCluster({ controllers: { backoffBaseMs: 150 } });
  const j = job(mem, "crash", { backoffLimit: 2 });
  const [p1] = await until(mem, () => live(mem, j).length === 1 && live(mem, j), "first pod");
  const t1 = Date.now();
  ended(mem, p1.metadata.name, 1);
  const [p2] = await until(mem, () => live(mem, j).length === 1 && live(mem, j), "replacement");
  assert(Date.now() - t1 >= 140, `replaced after ${Date.now() - t1} ms, before the 150 ms back-off`);
  assertEquals(getJob(mem, "crash").status.failed, 1);
  const t2 = Date.now();
  ended(mem, p2.metadata.name, 1);
  const [p3] = await until(mem, () => live(mem, j).length === 1 && live(mem, j), "second replacement");
  assert(Date.now() - t2 >= 290, `replaced after ${Date.now() - t2} ms, before the doubled 300 ms back-off`);
  ended(mem, p3.metadata.name, 1);
  const failed = await until(
    mem,
    () => cond(getJob(mem, "crash"), "Failed") && getJob(mem, "crash"),
    "Failed",
  );
  assertEquals(failed.status.failed, 3);
  assertEquals(cond(failed, "FailureTarget").reason, "BackoffLimitExceeded");
  assertEquals(cond(failed, "Failed").reason, "BackoffLimitExceeded");
  assertEquals(cond(failed, "Failed").message, "Job has reached the specified backoff limit");
  assertEquals(podsOf(mem, j).length, 3, "no fourth pod");
  assert(
    eventsFor(mem, "crash").includes("BackoffLimitExceeded: Job has reached the specified backoff limit"),
  );
});

const IGNORE_DISRUPTION = { rules: [{ action: "Ignore", onPodConditions: [{ type: "DisruptionTarget" }] }] };

Deno.test("job: podFailurePolicy Ignore on DisruptionTarget does not count; Failed waits for the old pod to go", async () => {
  using mem = new MemCluster({ controllers: { backoffBaseMs: 0 } });
  const j = job(mem, "sess", { backoffLimit: 1, podFailurePolicy: IGNORE_DISRUPTION });
  assertEquals(j.spec.podReplacementPolicy, "Failed", "defaulted with a podFailurePolicy");
  const [p1] = await until(mem, () => live(mem, j).length === 1 && live(mem, j), "first pod");
  // an eviction: DisruptionTarget, then Failed
  ended(mem, p1.metadata.name, 143, [{
    type: "DisruptionTarget",
    status: "True",
    reason: "EvictionByEvictionAPI",
    message: "Eviction API: evicting",
  }]);
  const [p2] = await until(
    mem,
    () => live(mem, j).length === 1 && live(mem, j),
    "replacement after a disruption",
  );
  assert(p2.metadata.name !== p1.metadata.name);
  assertEquals(getJob(mem, "sess").status.failed, undefined, "an ignored failure is not counted");
  assertEquals(cond(getJob(mem, "sess"), "Failed"), undefined);
  // a pod held terminating (a finalizer): no replacement until it is gone
  await mem.api.patch(
    PODS,
    NS,
    p2.metadata.name,
    "merge",
    JSON.stringify({ metadata: { finalizers: ["x/hold"] } }),
  );
  await mem.api.delete(PODS, NS, p2.metadata.name, {});
  await until(mem, () => getJob(mem, "sess").status.terminating === 1, "terminating 1");
  assertEquals(live(mem, j).length, 0, "no replacement while the old pod terminates");
  await mem.api.patch(
    PODS,
    NS,
    p2.metadata.name,
    "merge",
    JSON.stringify({ metadata: { finalizers: null } }),
  );
  const [p3] = await until(
    mem,
    () => live(mem, j).length === 1 && live(mem, j),
    "replacement once the old pod is gone",
  );
  // a plain delete (no DisruptionTarget: the kubelet ends it Failed) counts: the second one fails the Job
  assertEquals(getJob(mem, "sess").status.failed, 1);
  await mem.api.delete(PODS, NS, p3.metadata.name, {});
  const f = await until(mem, () => cond(getJob(mem, "sess"), "Failed"), "Failed after two counted failures");
  assertEquals(f.reason, "BackoffLimitExceeded");
});

Deno.test("job: TerminatingOrFailed (the default) replaces a pod being deleted at once and counts it", async () => {
  using mem = new MemCluster({ controllers: { backoffBaseMs: 0 } });
  const j = job(mem, "tof");
  assertEquals(j.spec.podReplacementPolicy, "TerminatingOrFailed");
  const [p1] = await until(mem, () => live(mem, j).length === 1 && live(mem, j), "first pod");
  await mem.api.patch(
    PODS,
    NS,
    p1.metadata.name,
    "merge",
    JSON.stringify({ metadata: { finalizers: ["x/hold"] } }),
  );
  await mem.api.delete(PODS, NS, p1.metadata.name, {});
  const st = await until(mem, () => live(mem, j).length === 1 && getJob(mem, "tof").status, "replacement");
  assertEquals(st.terminating, 1, "the old pod still terminates");
  assertEquals(st.failed, 1);
});

Deno.test("job: a FailJob rule on exit codes fails the Job with the controller's message", async () => {
  using mem = new MemCluster({ controllers: { backoffBaseMs: 0 } });
  const j = job(mem, "pfp", {
    podFailurePolicy: { rules: [{ action: "FailJob", onExitCodes: { operator: "In", values: [42] } }] },
  });
  const [p] = await until(mem, () => live(mem, j).length === 1 && live(mem, j), "pod");
  ended(mem, p.metadata.name, 42);
  const f = await until(mem, () => cond(getJob(mem, "pfp"), "Failed"), "Failed");
  assertEquals(f.reason, "PodFailurePolicy");
  assertEquals(
    f.message,
    `Container main for pod ${NS}/${p.metadata.name} failed with exit code 42 matching FailJob rule at index 0`,
  );
});

Deno.test("job: activeDeadlineSeconds deletes the pods and fails the Job (DeadlineExceeded)", async () => {
  using mem = new MemCluster();
  const j = job(mem, "slow", { activeDeadlineSeconds: 1 });
  await until(mem, () => live(mem, j).length === 1, "pod");
  const f = await until(mem, () => cond(getJob(mem, "slow"), "Failed"), "Failed", 5000);
  assertEquals([f.reason, f.message], ["DeadlineExceeded", "Job was active longer than specified deadline"]);
  assertEquals(podsOf(mem, j).length, 0, "its pod was deleted");
});

Deno.test("job: suspend deletes the active pods; resume makes them again", async () => {
  using mem = new MemCluster();
  const j = job(mem, "sus");
  await until(mem, () => live(mem, j).length === 1, "pod");
  mem.api.patch(JOBS, NS, "sus", "merge", JSON.stringify({ spec: { suspend: true } }));
  await until(mem, () => podsOf(mem, j).length === 0 && cond(getJob(mem, "sus"), "Suspended"), "suspended");
  assertEquals(cond(getJob(mem, "sus"), "Suspended").reason, "JobSuspended");
  mem.api.patch(JOBS, NS, "sus", "merge", JSON.stringify({ spec: { suspend: false } }));
  await until(mem, () => live(mem, j).length === 1, "pod again");
  assertEquals(cond(getJob(mem, "sus"), "Suspended").status, "False");
});

Deno.test("job: parallelism and completions", async () => {
  using mem = new MemCluster();
  const j = job(mem, "par", { parallelism: 2, completions: 3 });
  const two = await until(mem, () => live(mem, j).length === 2 && live(mem, j), "two pods");
  ended(mem, two[0].metadata.name, 0);
  await until(mem, () => live(mem, j).length === 2 && getJob(mem, "par").status.succeeded === 1, "a third");
  for (const p of live(mem, j)) ended(mem, p.metadata.name, 0);
  await until(mem, () => cond(getJob(mem, "par"), "Complete"), "Complete");
  assertEquals(getJob(mem, "par").status.succeeded, 3);
  assertEquals(podsOf(mem, j).length, 3);
});

async function invalid(fn: () => unknown): Promise<string> {
  const e = await assertRejects(async () => await fn());
  assert(e instanceof ApiError && e.code === 422, String(e));
  return e.message;
}

Deno.test("job validation: restartPolicy, podReplacementPolicy with podFailurePolicy, the immutable template", async () => {
  using mem = new MemCluster();
  assertEquals(
    await invalid(() =>
      mem.api.create(JOBS, NS, {
        metadata: { name: "a" },
        spec: { template: { spec: { containers: [{ name: "c", image: "busybox" }] } } },
      })
    ),
    `Job.batch "a" is invalid: spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"`,
  );
  // a second spelling: OnFailure with a podFailurePolicy
  assertEquals(
    await invalid(() =>
      job(mem, "of", { podFailurePolicy: IGNORE_DISRUPTION }, { restartPolicy: "OnFailure" })
    ),
    `Job.batch "of" is invalid: spec.template.spec.restartPolicy: Invalid value: "OnFailure": only "Never" is supported when podFailurePolicy is specified`,
  );
  assertMatch(
    await invalid(() =>
      job(mem, "b", { podFailurePolicy: IGNORE_DISRUPTION, podReplacementPolicy: "TerminatingOrFailed" })
    ),
    /spec\.podReplacementPolicy: Unsupported value: "TerminatingOrFailed": supported values: "Failed"/,
  );
  job(mem, "c");
  assertMatch(
    await invalid(() =>
      mem.api.patch(
        JOBS,
        NS,
        "c",
        "strategic",
        JSON.stringify({ spec: { template: { spec: { containers: [{ name: "main", image: "other" }] } } } }),
      )
    ),
    /spec\.template: Invalid value: .*: field is immutable/,
  );
});

// ---------------------------------------------------------------- StatefulSet

function sts(mem: MemCluster, name: string, s: Obj = {}): Obj {
  const labels = { app: name };
  return mem.api.create(STS, NS, {
    metadata: { name },
    spec: {
      replicas: 2,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: "main", image: "busybox" }] } },
      ...s,
    },
  });
}
const getSts = (mem: MemCluster, name: string) => mem.api.store.get("statefulsets", NS, name)!;
const pod = (mem: MemCluster, name: string) => mem.api.store.get("pods", NS, name);

Deno.test("statefulset: OrderedReady makes NAME-0, then NAME-1 once -0 is Ready; labels; status", async () => {
  using mem = new MemCluster();
  const s = sts(mem, "gw", { serviceName: "gw" });
  const p0 = await until(mem, () => pod(mem, "gw-0"), "gw-0");
  assertEquals(p0.metadata.labels["apps.kubernetes.io/pod-index"], "0");
  assertEquals(p0.metadata.labels["statefulset.kubernetes.io/pod-name"], "gw-0");
  assertMatch(p0.metadata.labels["controller-revision-hash"], /^gw-[bcdfghjklmnpqrstvwxz2456789]+$/);
  assertEquals(p0.spec.hostname, "gw-0");
  assertEquals(p0.spec.subdomain, "gw");
  assertEquals(p0.metadata.ownerReferences[0].uid, s.metadata.uid);
  assertEquals(pod(mem, "gw-1"), undefined, "gw-1 waits for gw-0 to be Ready");
  mem.podReady("gw-0", true, NS);
  await until(mem, () => pod(mem, "gw-1"), "gw-1");
  mem.podReady("gw-1", true, NS);
  const st = await until(
    mem,
    () => getSts(mem, "gw").status.readyReplicas === 2 && getSts(mem, "gw").status,
    "2 ready",
  );
  assertEquals(st.replicas, 2);
  assertEquals(st.availableReplicas, 2);
  assertEquals(st.currentReplicas, 2);
  assertEquals(st.updatedReplicas, 2);
  assertEquals(st.currentRevision, st.updateRevision);
  assertEquals(st.observedGeneration, 1);
  assertEquals(st.currentRevision, p0.metadata.labels["controller-revision-hash"]);
});

Deno.test("statefulset: a deleted pod comes back only once the old one is gone; a Failed one is replaced", async () => {
  using mem = new MemCluster();
  const s = sts(mem, "one", { replicas: 1 });
  const p0 = await until(mem, () => pod(mem, "one-0"), "one-0");
  mem.podReady("one-0", true, NS);
  await mem.api.patch(PODS, NS, "one-0", "merge", JSON.stringify({ metadata: { finalizers: ["x/hold"] } }));
  await mem.api.delete(PODS, NS, "one-0", {});
  await until(mem, () => getSts(mem, "one").status.replicas === 0, "replicas 0");
  assertEquals(
    pod(mem, "one-0")!.metadata.uid,
    p0.metadata.uid,
    "still the old pod: at most one per ordinal",
  );
  await mem.api.patch(PODS, NS, "one-0", "merge", JSON.stringify({ metadata: { finalizers: null } }));
  const p1 = await until(
    mem,
    () => pod(mem, "one-0")?.metadata.uid !== p0.metadata.uid && pod(mem, "one-0"),
    "new one-0",
  );
  mem.setPodStatus("one-0", { phase: "Failed", reason: "Evicted" }, NS);
  await until(
    mem,
    () => pod(mem, "one-0") && pod(mem, "one-0")!.metadata.uid !== p1.metadata.uid,
    "one-0 again",
  );
  assert(
    eventsFor(mem, "one").some((e) =>
      e === "SuccessfulDelete: delete Pod one-0 in StatefulSet one successful"
    ),
  );
  assertEquals(s.metadata.name, "one");
});

Deno.test("statefulset: scale down from the highest ordinal; a template change rolls from the highest", async () => {
  using mem = new MemCluster();
  sts(mem, "db", { replicas: 3, podManagementPolicy: "Parallel" });
  await until(mem, () => pod(mem, "db-0") && pod(mem, "db-1") && pod(mem, "db-2"), "three pods at once");
  for (const i of [0, 1, 2]) mem.podReady(`db-${i}`, true, NS);
  mem.api.patch(STS, NS, "db", "merge", JSON.stringify({ spec: { replicas: 2 } }));
  await until(mem, () => !pod(mem, "db-2"), "db-2 gone");
  assert(pod(mem, "db-0") && pod(mem, "db-1"));
  const old = getSts(mem, "db").status.currentRevision;
  const before = pod(mem, "db-0")!.metadata.uid;
  mem.api.patch(
    STS,
    NS,
    "db",
    "merge",
    JSON.stringify({ spec: { template: { metadata: { annotations: { v: "2" } } } } }),
  );
  assertEquals(getSts(mem, "db").metadata.generation, 3);
  const p1 = await until(
    mem,
    () => pod(mem, "db-1")?.metadata.labels["controller-revision-hash"] !== old && pod(mem, "db-1"),
    "db-1 at the new revision",
  );
  assertEquals(pod(mem, "db-0")!.metadata.uid, before, "db-0 waits for db-1 to be Ready");
  assertEquals(p1.metadata.annotations, { v: "2" });
  mem.podReady("db-1", true, NS);
  await until(mem, () => pod(mem, "db-0") && pod(mem, "db-0")!.metadata.uid !== before, "db-0 replaced");
  mem.podReady("db-0", true, NS);
  const st = await until(
    mem,
    () => getSts(mem, "db").status.currentRevision !== old && getSts(mem, "db").status,
    "rolled",
  );
  assertEquals(st.updatedReplicas, 2);
  assertEquals(st.currentRevision, st.updateRevision);
});

Deno.test("statefulset validation: restartPolicy must be Always", async () => {
  using mem = new MemCluster();
  const labels = { app: "x" };
  assertEquals(
    await invalid(() =>
      mem.api.create(STS, NS, {
        metadata: { name: "x" },
        spec: {
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: { restartPolicy: "Never", containers: [{ name: "c", image: "b" }] },
          },
        },
      })
    ),
    `StatefulSet.apps "x" is invalid: spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"`,
  );
});

// ---------------------------------------------------------------- garbage collector

Deno.test("gc: Background deletes the dependents, Orphan (batch/v1 Job's default) keeps them, Foreground waits", async () => {
  using mem = new MemCluster();
  const bg = job(mem, "bg");
  const orph = job(mem, "orph");
  const fg = job(mem, "fg");
  await until(mem, () => live(mem, bg).length && live(mem, orph).length && live(mem, fg).length, "pods");
  const kept = live(mem, orph)[0];
  await mem.deleteObject("jobs", NS, "bg", { propagationPolicy: "Background" });
  await until(mem, () => podsOf(mem, bg).length === 0, "bg's pod collected");
  await mem.deleteObject("jobs", NS, "orph");
  assertEquals(getJob(mem, "orph"), undefined);
  const orphaned = pod(mem, kept.metadata.name)!;
  assertEquals(orphaned.metadata.ownerReferences, undefined, "the pod stays, without its owner");
  // Foreground: the Job stays marked until its pod is gone (held here by a finalizer)
  const fgPod = live(mem, fg)[0];
  await mem.api.patch(
    PODS,
    NS,
    fgPod.metadata.name,
    "merge",
    JSON.stringify({ metadata: { finalizers: ["x/hold"] } }),
  );
  await mem.deleteObject("jobs", NS, "fg", { propagationPolicy: "Foreground" });
  const marked = await until(
    mem,
    () => pod(mem, fgPod.metadata.name)?.metadata.deletionTimestamp && getJob(mem, "fg"),
    "pod deleted",
  );
  assert(marked.metadata.deletionTimestamp);
  assertEquals(marked.metadata.finalizers, ["foregroundDeletion"]);
  await mem.api.patch(
    PODS,
    NS,
    fgPod.metadata.name,
    "merge",
    JSON.stringify({ metadata: { finalizers: null } }),
  );
  await until(mem, () => !getJob(mem, "fg"), "the Job goes once its pod is gone");
});

Deno.test("gc: a dependent whose owner does not exist (by uid) is collected", async () => {
  using mem = new MemCluster();
  const cm = findResource("", "v1", "configmaps")!;
  const owner = mem.api.create(cm, NS, { metadata: { name: "owner" } });
  const ref = (uid: string) => [{ apiVersion: "v1", kind: "ConfigMap", name: "owner", uid }];
  mem.api.create(cm, NS, { metadata: { name: "kept", ownerReferences: ref(owner.metadata.uid) } });
  mem.api.create(cm, NS, {
    metadata: { name: "stale", ownerReferences: ref("00000000-0000-0000-0000-000000000000") },
  });
  // an owner of a kind this server does not serve cannot be looked up: the dependent stays (as the real
  // collector leaves what it cannot resolve)
  mem.api.create(cm, NS, {
    metadata: {
      name: "crd-owned",
      ownerReferences: [{
        apiVersion: "example.com/v1",
        kind: "Widget",
        name: "w",
        uid: crypto.randomUUID(),
      }],
    },
  });
  await until(mem, () => !mem.api.store.get("configmaps", NS, "stale"), "stale collected");
  assert(mem.api.store.get("configmaps", NS, "kept"));
  assert(mem.api.store.get("configmaps", NS, "crd-owned"));
});
