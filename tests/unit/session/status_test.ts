import { assert, assertEquals } from "@kodama/test-assert";
import type { V1PersistentVolumeClaim, V1Pod } from "@kubernetes/client-node";
import {
  ANNOTATION_AGENT_RUN,
  deriveStatus,
  groupSessions,
  sessionView,
} from "../../../src/session/state/status.ts";
import { PHASES, reachedPhases, verdict } from "../../../src/session/lifecycle/progress.ts";

const labels = (name: string) => ({ "app.kubernetes.io/managed-by": "kodama", "kodama.dev/session": name });
const bound = (name: string, session = "demo"): V1PersistentVolumeClaim => ({
  metadata: { name, namespace: "dev", labels: labels(session) },
  status: { phase: "Bound" },
});
const pending = (name: string): V1PersistentVolumeClaim => ({
  metadata: { name, namespace: "dev", labels: labels("demo") },
  status: { phase: "Pending" },
});
function pod(status: V1Pod["status"], extra: Partial<V1Pod> = {}): V1Pod {
  return {
    metadata: { name: "kodama-demo", namespace: "dev", labels: labels("demo"), ...extra.metadata },
    spec: { containers: [{ name: "session", image: "busybox:1.36" }], ...extra.spec },
    status,
  };
}
const readyCond = [{ type: "PodScheduled", status: "True" }, { type: "Ready", status: "True" }];
const running = pod({
  phase: "Running",
  conditions: readyCond,
  containerStatuses: [{
    name: "session",
    image: "busybox:1.36",
    imageID: "x",
    ready: true,
    restartCount: 0,
    state: { running: {} },
  }],
}, { spec: { nodeName: "n1", containers: [] } });
const waiting = (reason: string, message?: string) =>
  pod({
    phase: "Pending",
    conditions: [{ type: "PodScheduled", status: "True" }],
    containerStatuses: [{
      name: "session",
      image: "registry.example/does-not-exist:1",
      imageID: "",
      ready: false,
      restartCount: 0,
      state: { waiting: { reason, message } },
    }],
  }, { spec: { nodeName: "n1", containers: [] } });

Deno.test("status: Running, Stopped, Failed, Pending, Starting from the cluster's objects", () => {
  const pvcs = [bound("kodama-workspace-demo"), bound("kodama-claude-home-demo")];
  assertEquals(deriveStatus(running, pvcs), { status: "Running" });
  assertEquals(deriveStatus(undefined, pvcs), { status: "Stopped" });
  assertEquals(
    deriveStatus({ ...running, metadata: { ...running.metadata, deletionTimestamp: new Date() } }, pvcs)
      .status,
    "Stopped",
  );
  assertEquals(deriveStatus(waiting("ImagePullBackOff"), pvcs), {
    status: "Failed",
    reason: "ImagePullBackOff",
  });
  assertEquals(deriveStatus(waiting("CrashLoopBackOff"), pvcs).status, "Failed");
  assertEquals(deriveStatus(waiting("ContainerCreating"), pvcs), {
    status: "Starting",
    reason: "ContainerCreating",
  });
  const unsched = pod({
    phase: "Pending",
    conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable" }],
  });
  assertEquals(deriveStatus(unsched, pvcs), { status: "Pending", reason: "Unschedulable" });
  assertEquals(deriveStatus(unsched, [pending("kodama-workspace-demo")]).status, "Pending");
  assertEquals(deriveStatus(pod({ phase: "Failed", reason: "Evicted" }), pvcs), {
    status: "Failed",
    reason: "Evicted",
  });
  const initCrash = pod({
    phase: "Pending",
    initContainerStatuses: [{
      name: "clone",
      image: "x",
      imageID: "",
      ready: false,
      restartCount: 1,
      state: { waiting: { reason: "CrashLoopBackOff" } },
    }],
  });
  assertEquals(deriveStatus(initCrash, pvcs), { status: "Failed", reason: "Init:CrashLoopBackOff" });
});

Deno.test("sessions are grouped by namespace and label; settings come from the pod or a volume", () => {
  const other = bound("kodama-workspace-other", "other");
  const views = groupSessions([running], [bound("kodama-workspace-demo"), other, {
    metadata: { name: "unlabelled" },
  }]);
  assertEquals(views.map((v) => `${v.namespace}/${v.name}:${v.status}`), [
    "dev/demo:Running",
    "dev/other:Stopped",
  ]);
});

Deno.test("the latest agent run started is read from the workspace volume, not from another volume", () => {
  const ws = bound("kodama-workspace-demo");
  ws.metadata!.annotations = { [ANNOTATION_AGENT_RUN]: "3" };
  const home = bound("kodama-home-demo");
  home.metadata!.annotations = { [ANNOTATION_AGENT_RUN]: "9" };
  assertEquals(sessionView("demo", "dev", running, [home, ws]).agentRun, "3");
  assertEquals(
    sessionView("demo", "dev", running, [home, bound("kodama-workspace-demo")]).agentRun,
    undefined,
  );
});

Deno.test("start phases and verdicts: ready, wait with a reason, or fail naming the image", () => {
  const pvcs = [bound("a"), bound("b")];
  assertEquals([...reachedPhases(running, pvcs)], [...PHASES]);
  assertEquals(verdict(running, pvcs), { ready: true });
  // ErrImagePull is the first attempt: keep waiting for the back-off
  assertEquals(verdict(waiting("ErrImagePull"), pvcs).failure, undefined);
  const f = verdict(
    waiting("ImagePullBackOff", 'Back-off pulling image "registry.example/does-not-exist:1"'),
    pvcs,
  );
  assert(f.failure?.includes('image "registry.example/does-not-exist:1"'), f.failure);
  assert(f.failure?.startsWith("ImagePullBackOff"), f.failure);
  const unbound = verdict(pod({ phase: "Pending" }), [pending("kodama-workspace-demo")], [{
    metadata: {},
    involvedObject: { kind: "PersistentVolumeClaim", name: "kodama-workspace-demo" },
    type: "Warning",
    reason: "ProvisioningFailed",
    message: 'storageclass.storage.k8s.io "nope" not found',
  }]);
  // a StorageClass that does not exist: no wait helps, it fails at once (issue 52.2)
  assertEquals(
    unbound.failure,
    'StorageClass "nope" does not exist: volume kodama-workspace-demo can never bind',
  );
  const slow = verdict(pod({ phase: "Pending" }), [pending("kodama-workspace-demo")], [{
    metadata: {},
    involvedObject: { kind: "PersistentVolumeClaim", name: "kodama-workspace-demo" },
    type: "Warning",
    reason: "ProvisioningFailed",
    message: "failed to provision volume: timed out",
  }]);
  assertEquals(
    slow.waiting,
    "volume kodama-workspace-demo is Pending: failed to provision volume: timed out",
  );
  const crash = pod({
    phase: "Running",
    conditions: [{ type: "PodScheduled", status: "True" }],
    containerStatuses: [{
      name: "session",
      image: "x",
      imageID: "x",
      ready: false,
      restartCount: 3,
      state: { waiting: { reason: "CrashLoopBackOff" } },
      lastState: { terminated: { exitCode: 127, reason: "Error", message: "sh: not found" } },
    }],
  }, { spec: { nodeName: "n", containers: [] } });
  assertEquals(
    verdict(crash, pvcs).failure,
    "container session: CrashLoopBackOff (exit code 127, Error: sh: not found)",
  );
});

Deno.test("start verdict: a clone at work is what the session waits for", () => {
  const cloning = pod({
    phase: "Pending",
    conditions: [{ type: "PodScheduled", status: "True" }],
    initContainerStatuses: [{
      name: "git-clone",
      image: "busybox:1.36",
      imageID: "x",
      ready: false,
      restartCount: 0,
      state: { running: {} },
    }],
    containerStatuses: [{
      name: "session",
      image: "busybox:1.36",
      imageID: "",
      ready: false,
      restartCount: 0,
      state: { waiting: { reason: "PodInitializing" } },
    }],
  }, { spec: { nodeName: "n1", containers: [] } });
  assertEquals(verdict(cloning, [bound("a")]), {
    ready: false,
    waiting: "the clone (init container git-clone)",
  });
});
