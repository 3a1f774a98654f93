/**
 * Issue 80, a session's pod belongs to its Job: which pod is the session's (sessionPod), why the cluster
 * took one away (podDisruption), the `Restarting: evicted 8s ago` status while it comes back (restartOf,
 * statusText), the Job's manifest, and the share rules that name the pod of the moment.
 */
import { assert, assertEquals } from "@kodama/test-assert";
import type { CoreV1Event, V1Job, V1Pod } from "@kubernetes/client-node";
import { isLegacyPod, legacyNote, sessionPod } from "../../../src/session/state/sessionpod.ts";
import { disruptionText, podDisruption, pressureOf } from "../../../src/session/state/disruption.ts";
import { restartOf, sessionView } from "../../../src/session/state/status.ts";
import { statusText } from "../../../src/session/state/list.ts";
import { buildJob, buildSession, redactedList } from "../../../src/session/spec/manifests.ts";
import { objectNames } from "../../../src/session/spec/names.ts";
import { shareRules } from "../../../src/session/access/share.ts";
import { buildBudget, expiredBudgets } from "../../../src/session/lifecycle/protect.ts";
import { resolveSpec } from "../../../src/session/spec/spec.ts";
import { configSchema } from "../../../src/config/schema.ts";

const labels = { "app.kubernetes.io/managed-by": "kodama", "kodama.dev/session": "demo" };
const JOB_UID = "job-uid-1";
const owner = [{ apiVersion: "batch/v1", kind: "Job", name: "kodama-demo", uid: JOB_UID, controller: true }];
const readyCond = [{ type: "PodScheduled", status: "True" }, { type: "Ready", status: "True" }];

function pod(
  name: string,
  created: string,
  status: V1Pod["status"],
  meta: Partial<V1Pod["metadata"]> = {},
): V1Pod {
  return {
    metadata: {
      name,
      namespace: "dev",
      uid: `uid-${name}`,
      labels,
      creationTimestamp: created as unknown as Date,
      ownerReferences: owner,
      ...meta,
    },
    spec: { containers: [{ name: "session", image: "busybox" }], nodeName: "n1" },
    status,
  };
}
const running = (name: string, created: string) =>
  pod(name, created, { phase: "Running", conditions: readyCond });
const job = (extra: Partial<V1Job> = {}): V1Job => ({
  metadata: {
    name: "kodama-demo",
    namespace: "dev",
    uid: JOB_UID,
    labels,
    creationTimestamp: "2026-01-01T00:00:00Z" as unknown as Date,
  },
  spec: { template: {} },
  status: { startTime: "2026-01-01T00:00:00Z" as unknown as Date, active: 1 },
  ...extra,
});

Deno.test("sessionPod: the newest live pod, not an older one nor one that ended or is being deleted", () => {
  const old = running("kodama-demo-aaaaa", "2026-01-01T00:00:00Z");
  const evicted = pod("kodama-demo-bbbbb", "2026-01-01T01:00:00Z", { phase: "Failed", reason: "Evicted" });
  const fresh = pod("kodama-demo-ccccc", "2026-01-01T00:30:00Z", { phase: "Pending" });
  const going = running("kodama-demo-ddddd", "2026-01-01T02:00:00Z");
  going.metadata!.deletionTimestamp = "2026-01-01T02:05:00Z" as unknown as Date;
  // the evicted one and the one being deleted are newer, the live newest wins
  assertEquals(sessionPod([old, evicted, going, fresh])?.metadata?.name, "kodama-demo-ccccc");
  // in any order
  assertEquals(sessionPod([fresh, going, evicted, old])?.metadata?.name, "kodama-demo-ccccc");
  // none live: the newest, for status (an idle stop's Succeeded pod, a Failed one)
  assertEquals(sessionPod([evicted, going])?.metadata?.name, "kodama-demo-ddddd");
  assertEquals(sessionPod([]), undefined);
});

Deno.test("isLegacyPod: a bare pod no Job owns (an older kodama), and its note", () => {
  assert(isLegacyPod({ metadata: { name: "kodama-demo" } }));
  assert(
    isLegacyPod({
      metadata: { name: "kodama-demo", ownerReferences: [{ ...owner[0], kind: "ReplicaSet" }] },
    }),
  );
  assert(!isLegacyPod(running("kodama-demo-aaaaa", "2026-01-01T00:00:00Z")));
  assert(legacyNote("demo").includes("kodama stop demo && kodama resume demo"));
});

Deno.test("podDisruption: the cause from the pod's status, its DisruptionTarget, its events, OOM, a delete", () => {
  const t = "2026-01-01T00:00:00Z";
  const kubelet = pod("p1", t, {
    phase: "Failed",
    reason: "Evicted",
    message: "The node was low on resource: memory. Threshold quantity: 100Mi",
  });
  assertEquals(podDisruption(kubelet)?.cause, "evicted");
  assertEquals(podDisruption(kubelet)?.detail, "node memory pressure");
  const target = (reason: string) =>
    pod("p2", t, {
      phase: "Running",
      conditions: [{
        type: "DisruptionTarget",
        status: "True",
        reason,
        lastTransitionTime: t as unknown as Date,
      }],
    });
  assertEquals(podDisruption(target("EvictionByEvictionAPI"))?.cause, "evicted");
  assertEquals(podDisruption(target("PreemptionByScheduler"))?.cause, "preempted");
  assertEquals(podDisruption(target("DeletionByTaintManager"))?.cause, "node-lost");
  assertEquals(podDisruption(target("DeletionByPodGC"))?.cause, "node-lost");
  assertEquals(podDisruption(target("TerminationByKubelet"))?.cause, "evicted");
  assertEquals(podDisruption(target("EvictionByEvictionAPI"))?.at, t);
  // a condition that is False says nothing
  const f = target("EvictionByEvictionAPI");
  f.status!.conditions![0].status = "False";
  assertEquals(podDisruption(f), undefined);
  // events about the pod (by uid; another pod's say nothing)
  const ev = (reason: string, uid: string, name = "p3"): CoreV1Event => ({
    metadata: {},
    involvedObject: { kind: "Pod", name, uid },
    reason,
    lastTimestamp: t as unknown as Date,
  });
  const plain = pod("p3", t, { phase: "Running" });
  assertEquals(podDisruption(plain, [ev("Preempted", "uid-p3")])?.cause, "preempted");
  assertEquals(podDisruption(plain, [ev("TaintManagerEviction", "uid-p3")])?.cause, "node-lost");
  assertEquals(podDisruption(plain, [ev("Evicted", "uid-other")]), undefined);
  assertEquals(podDisruption(plain, [ev("Scheduled", "uid-p3")]), undefined);
  const oom = pod("p4", t, {
    phase: "Failed",
    containerStatuses: [{
      name: "session",
      image: "x",
      imageID: "x",
      ready: false,
      restartCount: 0,
      state: { terminated: { exitCode: 137, reason: "OOMKilled" } },
    }],
  });
  assertEquals(podDisruption(oom)?.cause, "oom-killed");
  const deleted = running("p5", t);
  deleted.metadata!.deletionTimestamp = "2026-01-01T00:00:30Z" as unknown as Date;
  deleted.metadata!.deletionGracePeriodSeconds = 30;
  assertEquals(podDisruption(deleted), {
    cause: "deleted",
    detail: "deleted",
    at: "2026-01-01T00:00:00.000Z",
  });
  assertEquals(podDisruption(running("p6", t)), undefined);
  assertEquals(pressureOf("The node was low on resource: ephemeral-storage."), "node disk pressure");
  assertEquals(
    disruptionText({ cause: "evicted", detail: "node memory pressure" }),
    "evicted (node memory pressure)",
  );
  assertEquals(disruptionText({ cause: "node-lost", detail: "" }), "node lost");
});

Deno.test("restartOf / statusText: Restarting while the Job's pod comes back, with the cause and how long ago", () => {
  const now = Date.parse("2026-01-01T00:10:08Z");
  const evicted = pod("kodama-demo-aaaaa", "2026-01-01T00:00:00Z", {
    phase: "Failed",
    reason: "Evicted",
    message: "The node was low on resource: memory.",
    conditions: [{
      type: "DisruptionTarget",
      status: "True",
      reason: "TerminationByKubelet",
      lastTransitionTime: "2026-01-01T00:10:00Z" as unknown as Date,
    }],
  });
  const next = pod("kodama-demo-bbbbb", "2026-01-01T00:10:01Z", { phase: "Pending" });
  const v = sessionView("demo", "dev", [evicted, next], [], { job: job(), now });
  assertEquals(v.restart?.cause, "evicted");
  assertEquals(v.status, "Starting"); // the new pod's own (scheduled, not ready)
  assertEquals(v.pod?.metadata?.name, "kodama-demo-bbbbb");
  assertEquals(statusText(v, now), "Restarting: evicted (node memory pressure) 8s ago");
  // no pod left at all (deleted, gone from the API): what the events said about the Job's pod
  const gone: CoreV1Event = {
    metadata: {},
    involvedObject: { kind: "Pod", name: "kodama-demo-ccccc", uid: "u-c" },
    reason: "Preempted",
    lastTimestamp: "2026-01-01T00:10:00Z" as unknown as Date,
  };
  const none = sessionView("demo", "dev", [], [], { job: job(), events: [gone], now });
  assertEquals(none.restart?.cause, "preempted");
  assertEquals(statusText(none, now), "Restarting: preempted 8s ago");
  // a new pod starting, its predecessor deleted and gone from the API (`kubectl delete --wait`): only the
  // Killing event it left says so
  const killed: CoreV1Event = { ...gone, reason: "Killing", involvedObject: { ...gone.involvedObject } };
  const starting = sessionView("demo", "dev", [next], [], { job: job(), events: [killed], now });
  assertEquals(starting.restart?.cause, "deleted");
  assertEquals(starting.status, "Starting");
  // ...but one from a pod of the Job of the same name before this one (stopped, then resumed) says nothing
  const resumed = job();
  resumed.metadata!.creationTimestamp = "2026-01-01T00:10:05Z" as unknown as Date;
  assertEquals(restartOf(resumed, [next], [killed], now), undefined);
  // a pod going (a delete) with the Job active: Restarting, never Stopped
  const del = running("kodama-demo-ddddd", "2026-01-01T00:00:00Z");
  del.metadata!.deletionTimestamp = "2026-01-01T00:10:10Z" as unknown as Date;
  del.metadata!.deletionGracePeriodSeconds = 10;
  const going = sessionView("demo", "dev", [del], [], { job: job(), now });
  assertEquals(going.restart?.cause, "deleted");
  assert(going.status !== "Stopped");
  // a running pod, a Job just made (no pod yet), a Job that ended, a Job being deleted: no restart
  assertEquals(restartOf(job(), [running("kodama-demo-e", "2026-01-01T00:00:00Z")], [], now), undefined);
  const young = job();
  young.status!.startTime = "2026-01-01T00:10:05Z" as unknown as Date;
  assertEquals(restartOf(young, [], [], now), undefined);
  // ...but a young Job that already counted a pod (a plain delete counts as failed) is bringing one back
  young.status!.failed = 1;
  assertEquals(restartOf(young, [], [], now), {});
  assertEquals(statusText(sessionView("demo", "dev", [], [], { job: young, now }), now), "Restarting");
  const idle = job({ status: { conditions: [{ type: "Complete", status: "True" }] } });
  assertEquals(restartOf(idle, [], [], now), undefined);
  const stopping = job();
  stopping.metadata!.deletionTimestamp = "2026-01-01T00:10:00Z" as unknown as Date;
  assertEquals(restartOf(stopping, [del], [], now), undefined);
  // no Job (a legacy bare pod, or a stopped session): never Restarting
  assertEquals(restartOf(undefined, [del], [], now), undefined);
});

Deno.test("buildJob: one pod, disruptions ignored, replacement after the old pod is gone, the pod as template", () => {
  const cfg = configSchema.parse({});
  const spec = resolveSpec({ name: "demo", namespace: "dev" }, cfg, {
    envVars: [],
    editorFiles: [],
    now: new Date("2026-01-01T00:00:00Z"),
  });
  const o = buildSession(spec, { env: {}, editor: {} });
  const j = o.job;
  assertEquals(j.kind, "Job");
  assertEquals(j.apiVersion, "batch/v1");
  assertEquals(j.metadata?.name, objectNames("demo").workload);
  assertEquals(j.metadata?.name, "kodama-demo");
  assertEquals(j.spec?.parallelism, 1);
  assertEquals(j.spec?.completions, 1);
  assertEquals(j.spec?.backoffLimit, 20);
  assertEquals(j.spec?.podReplacementPolicy, "Failed");
  assertEquals(j.spec?.podFailurePolicy?.rules[0], {
    action: "Ignore",
    onPodConditions: [{ type: "DisruptionTarget", status: "True" }],
  });
  const t = j.spec!.template;
  assertEquals(t.spec?.restartPolicy, "Never");
  assertEquals(t.metadata?.labels?.["kodama.dev/session"], "demo");
  assertEquals((t.metadata as { name?: string }).name, undefined);
  // the template is the pod's own spec: a late change (the CLI cache) is the Job's
  assert(t.spec === o.pod.spec);
  // --dry-run prints the Job, not a bare pod
  const kinds = redactedList(o).map((x) => x.kind);
  assert(kinds.includes("Job") && !kinds.includes("Pod"));
  assertEquals(buildJob(spec).spec?.template.spec?.containers[0].name, "session");
});

Deno.test("shareRules: the pod of the moment and the Job by name; never an empty resourceNames", () => {
  const full = shareRules({ pod: "kodama-demo-x7k2p", job: "kodama-demo", pvcs: ["a"] }, false);
  for (const r of full) assert(r.resourceNames && r.resourceNames.length > 0, JSON.stringify(r));
  assert(
    full.some((r) => r.apiGroups[0] === "batch" && r.resources[0] === "jobs" && r.verbs.join() === "get"),
  );
  assert(full.some((r) => r.resources.includes("pods/exec") && r.resourceNames![0] === "kodama-demo-x7k2p"));
  // stopped: no pod named, and no rule that would name every pod
  const stopped = shareRules({ job: "kodama-demo", pvcs: ["a"] }, false);
  for (const r of stopped) assert(r.resourceNames && r.resourceNames.length > 0, JSON.stringify(r));
  assert(!stopped.some((r) => r.resources.some((x) => x.startsWith("pods"))));
});

Deno.test("protect: the budget selects the session's pod, minAvailable 1, until; gc takes the expired only", () => {
  const b = buildBudget({ name: "demo", namespace: "dev" }, new Date("2026-01-01T06:00:00Z"), "3");
  assertEquals(b.spec?.minAvailable, 1);
  assertEquals(b.spec?.selector?.matchLabels, labels);
  assertEquals(b.metadata.annotations?.["kodama.dev/protect-until"], "2026-01-01T06:00:00.000Z");
  const later = buildBudget({ name: "other", namespace: "dev" }, new Date("2026-01-02T00:00:00Z"));
  const gone = expiredBudgets([b, later], Date.parse("2026-01-01T07:00:00Z"));
  assertEquals(gone.map((x) => x.metadata.name), ["kodama-protect-demo"]);
});

Deno.test("createRefusal: the Job controller's FailedCreate for the session's Job, without its lead", async () => {
  const { createRefusal } = await import("../../../src/session/lifecycle/wait.ts");
  const ev = (kind: string, name: string, reason: string, message: string): CoreV1Event => ({
    metadata: {},
    involvedObject: { kind, name },
    reason,
    message,
  });
  const quota = 'Error creating: pods "kodama-s-abcde" is forbidden: exceeded quota: room, requested: pods=1';
  assertEquals(
    createRefusal([ev("Job", "kodama-s", "FailedCreate", quota)], "kodama-s"),
    'pods "kodama-s-abcde" is forbidden: exceeded quota: room, requested: pods=1',
  );
  // another Job's, another reason, or the pod's own: not this
  assertEquals(createRefusal([ev("Job", "kodama-t", "FailedCreate", quota)], "kodama-s"), undefined);
  assertEquals(
    createRefusal([ev("Job", "kodama-s", "SuccessfulCreate", "Created pod: x")], "kodama-s"),
    undefined,
  );
  assertEquals(createRefusal([ev("Pod", "kodama-s", "FailedCreate", quota)], "kodama-s"), undefined);
});
