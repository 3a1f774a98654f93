/**
 * podstatus.ts as data: pod statuses shaped as a v1.24 kubelet and scheduler report them, and
 * what kodama says about each.
 */
import { assert, assertEquals } from "@kodama/test-assert";
import type { CoreV1Event, V1ContainerStatus, V1PersistentVolumeClaim, V1Pod } from "@kubernetes/client-node";
import {
  eventsAbout,
  explainPod,
  formatEvent,
  podClaims,
  podIsReady,
  podProblem,
  podStatusColumn,
} from "../../../src/kube/podstatus.ts";

const NOW = Date.parse("2025-01-01T12:00:00Z");
const ago = (s: number) => new Date(NOW - s * 1000).toISOString();

function cs(
  name: string,
  state: V1ContainerStatus["state"],
  o: Partial<V1ContainerStatus> = {},
): V1ContainerStatus {
  return { name, ready: false, restartCount: 0, image: "busybox:1.36", imageID: "", state, ...o };
}

function pod(o: {
  name?: string;
  phase?: string;
  images?: Record<string, string>;
  statuses?: V1ContainerStatus[];
  inits?: V1ContainerStatus[];
  conditions?: { type: string; status: string; reason?: string; message?: string }[];
  nodeName?: string | null;
  claims?: string[];
  deleting?: boolean;
} = {}): V1Pod {
  const images = o.images ?? { main: "busybox:1.36" };
  return {
    metadata: {
      name: o.name ?? "p",
      namespace: "dev",
      uid: `uid-${o.name ?? "p"}`,
      ...(o.deleting ? { deletionTimestamp: new Date(NOW) } : {}),
    },
    spec: {
      ...(o.nodeName === null ? {} : { nodeName: o.nodeName ?? "node-1" }),
      containers: Object.entries(images).filter(([n]) => !n.startsWith("init")).map(([name, image]) => ({
        name,
        image,
      })),
      ...(o.inits
        ? { initContainers: o.inits.map((i) => ({ name: i.name, image: images[i.name] ?? "busybox:1.36" })) }
        : {}),
      ...(o.claims
        ? { volumes: o.claims.map((c) => ({ name: c, persistentVolumeClaim: { claimName: c } })) }
        : {}),
    },
    status: {
      phase: o.phase ?? "Running",
      conditions: o.conditions as V1Pod["status"] extends infer S
        ? S extends { conditions?: infer C } ? C : never
        : never,
      containerStatuses: o.statuses,
      ...(o.inits ? { initContainerStatuses: o.inits } : {}),
    },
  };
}

Deno.test("a running, ready pod has no problem; not-ready counts only when asked", () => {
  const ok = pod({
    statuses: [cs("main", { running: { startedAt: new Date(NOW) } }, { ready: true })],
    conditions: [{ type: "Ready", status: "True" }],
  });
  assertEquals(podProblem(ok), undefined);
  assert(podIsReady(ok));
  const notReady = pod({
    statuses: [cs("main", { running: { startedAt: new Date(NOW) } })],
    conditions: [{ type: "Ready", status: "False", reason: "ContainersNotReady" }],
  });
  assertEquals(podProblem(notReady), undefined, "running is enough for exec and logs");
  const p = podProblem(notReady, { needReady: true })!;
  assertEquals([p.reason, p.message], ["NotReady", 'container "main" is running but not ready']);
});

Deno.test("image pull failures name the image and keep the kubelet's message", () => {
  const errPull = pod({
    name: "badimg",
    phase: "Pending",
    images: { main: "registry.example/does-not-exist:1" },
    statuses: [cs("main", {
      waiting: {
        reason: "ErrImagePull",
        message:
          'rpc error: code = NotFound desc = failed to pull and unpack image "registry.example/does-not-exist:1": not found',
      },
    })],
  });
  const e = podProblem(errPull)!;
  assertEquals(e.reason, "ErrImagePull");
  assertEquals(e.image, "registry.example/does-not-exist:1");
  assertEquals(
    e.message,
    'container "main" is waiting to start: image "registry.example/does-not-exist:1" can\'t be pulled (ErrImagePull)',
  );
  assert(e.detail?.startsWith("rpc error"));

  const backoff = pod({
    name: "badimg",
    phase: "Pending",
    images: { main: "nope:1" },
    statuses: [
      cs("main", { waiting: { reason: "ImagePullBackOff", message: 'Back-off pulling image "nope:1"' } }),
    ],
  });
  const b = podProblem(backoff)!;
  assertEquals([b.reason, b.image, b.container], ["ImagePullBackOff", "nope:1", "main"]);
  assertEquals(podStatusColumn(backoff), "ImagePullBackOff");

  const never = pod({
    phase: "Pending",
    images: { main: "mine:dev" },
    statuses: [cs("main", {
      waiting: {
        reason: "ErrImageNeverPull",
        message: 'Container image "mine:dev" is not present with pull policy of Never',
      },
    })],
  });
  assertEquals(
    podProblem(never)!.message,
    'container "main" is waiting to start: image "mine:dev" is not present and its pull policy is Never (ErrImageNeverPull)',
  );
});

Deno.test("a crash loop says how the last run ended and how often it restarted", () => {
  const crashing = pod({
    statuses: [cs("main", {
      waiting: {
        reason: "CrashLoopBackOff",
        message: "back-off 40s restarting failed container=main pod=p_dev(uid-p)",
      },
    }, {
      restartCount: 3,
      lastState: { terminated: { exitCode: 2, reason: "Error", finishedAt: new Date(NOW) } },
    })],
  });
  const c = podProblem(crashing)!;
  assertEquals(c.reason, "CrashLoopBackOff");
  assertEquals(c.exitCode, 2);
  assertEquals(
    c.message,
    'container "main" keeps crashing (CrashLoopBackOff, 3 restarts): it exited with code 2',
  );
  const oom = pod({
    statuses: [cs("main", { waiting: { reason: "CrashLoopBackOff" } }, {
      restartCount: 1,
      lastState: { terminated: { exitCode: 137, reason: "OOMKilled", finishedAt: new Date(NOW) } },
    })],
  });
  assertEquals(
    podProblem(oom)!.message,
    'container "main" keeps crashing (CrashLoopBackOff, 1 restart): it exited with code 137 (OOMKilled)',
  );
});

Deno.test("waiting reasons the kubelet explains in its message, and ContainerCreating", () => {
  const cfg = pod({
    phase: "Pending",
    statuses: [
      cs("main", { waiting: { reason: "CreateContainerConfigError", message: 'secret "creds" not found' } }),
    ],
  });
  const p = podProblem(cfg)!;
  assertEquals(p.reason, "CreateContainerConfigError");
  assertEquals(
    p.message,
    'container "main" is waiting to start: secret "creds" not found (CreateContainerConfigError)',
  );
  const creating = pod({
    phase: "Pending",
    statuses: [cs("main", { waiting: { reason: "ContainerCreating" } })],
  });
  assertEquals(podProblem(creating)!.message, 'container "main" is being created (ContainerCreating)');
  const fresh = pod({ phase: "Pending" });
  assertEquals(podProblem(fresh)!.reason, "ContainerCreating");
});

Deno.test("init containers: running, crash-looping, failed, and a container asked for by name", () => {
  const base = { phase: "Pending", images: { main: "busybox", "init-a": "busybox", "init-b": "busybox" } };
  const running = pod({
    ...base,
    inits: [
      cs("init-a", { terminated: { exitCode: 0, reason: "Completed", finishedAt: new Date(NOW) } }),
      cs("init-b", { running: { startedAt: new Date(NOW) } }),
    ],
    statuses: [cs("main", { waiting: { reason: "PodInitializing" } })],
  });
  const r = podProblem(running)!;
  assertEquals([r.reason, r.container, r.init], ["Init:1/2", "init-b", true]);
  assertEquals(r.message, 'init container "init-b" is still running');
  assertEquals(podStatusColumn(running), "Init:1/2");
  // asking for the main container still reports the init container that holds it back
  assertEquals(podProblem(running, { container: "main" })!.container, "init-b");

  const looping = pod({
    ...base,
    inits: [cs("init-a", { waiting: { reason: "CrashLoopBackOff" } }, {
      restartCount: 2,
      lastState: { terminated: { exitCode: 1, reason: "Error", finishedAt: new Date(NOW) } },
    })],
  });
  const l = podProblem(looping)!;
  assertEquals(l.reason, "Init:CrashLoopBackOff");
  assertEquals(
    l.message,
    'init container "init-a" keeps crashing (CrashLoopBackOff, 2 restarts): it exited with code 1',
  );
  assertEquals(podStatusColumn(looping), "Init:CrashLoopBackOff");

  const failed = pod({
    ...base,
    phase: "Failed",
    inits: [cs("init-a", { terminated: { exitCode: 3, reason: "Error", finishedAt: new Date(NOW) } })],
    statuses: [cs("main", { waiting: { reason: "PodInitializing" } })],
  });
  const f = podProblem(failed)!;
  assert(f.final);
  assertEquals(f.reason, "Init:Error");
  assertEquals(f.message, "pod has failed (phase Failed)");
  // the init container itself, asked for by name (logs -c init-a)
  const pendingInit = pod({ ...base, inits: [cs("init-a", { waiting: { reason: "ImagePullBackOff" } })] });
  assertEquals(podProblem(pendingInit, { container: "init-a" })!.reason, "Init:ImagePullBackOff");
});

Deno.test("Unschedulable from the PodScheduled condition, and a pending claim named", () => {
  const cpu = pod({
    phase: "Pending",
    nodeName: null,
    conditions: [{
      type: "PodScheduled",
      status: "False",
      reason: "Unschedulable",
      message: "0/1 nodes are available: 1 Insufficient cpu.",
    }],
  });
  const u = podProblem(cpu)!;
  assertEquals(u.reason, "Unschedulable");
  assertEquals(u.message, "pod can't be scheduled: 0/1 nodes are available: 1 Insufficient cpu.");

  const unbound = pod({
    phase: "Pending",
    nodeName: null,
    claims: ["ws"],
    conditions: [{
      type: "PodScheduled",
      status: "False",
      reason: "Unschedulable",
      message:
        "0/1 nodes are available: 1 pod has unbound immediate PersistentVolumeClaims. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
    }],
  });
  const c = podProblem(unbound)!;
  assertEquals(c.claims, ["ws"]);
  assertEquals(c.message, 'pod can\'t be scheduled: PersistentVolumeClaim "ws" is not bound');

  // with the namespace's claims, only the pending one is named
  const two = pod({ ...{ phase: "Pending", nodeName: null }, claims: ["home", "ws"] });
  two.status!.conditions = unbound.status!.conditions;
  const claims: V1PersistentVolumeClaim[] = [
    { metadata: { name: "home", namespace: "dev" }, status: { phase: "Bound" } },
    { metadata: { name: "ws", namespace: "dev" }, status: { phase: "Pending" } },
  ];
  assertEquals(podProblem(two, { claims })!.claims, ["ws"]);
  assertEquals(podClaims(two), ["home", "ws"]);

  const missing = pod({
    phase: "Pending",
    nodeName: null,
    claims: ["gone"],
    conditions: [{
      type: "PodScheduled",
      status: "False",
      reason: "Unschedulable",
      message: '0/1 nodes are available: 1 persistentvolumeclaim "gone" not found.',
    }],
  });
  assertEquals(
    podProblem(missing)!.message,
    'pod can\'t be scheduled: PersistentVolumeClaim "gone" does not exist',
  );
  // not yet looked at by the scheduler
  assertEquals(
    podProblem(pod({ phase: "Pending", nodeName: null }))!.message,
    "pod is not scheduled to a node yet",
  );
});

Deno.test("completed, failed, evicted and terminating pods are final", () => {
  const done = pod({
    phase: "Succeeded",
    statuses: [cs("main", { terminated: { exitCode: 0, reason: "Completed", finishedAt: new Date(NOW) } })],
  });
  assertEquals(podProblem(done), {
    reason: "Completed",
    final: true,
    container: "main",
    exitCode: 0,
    detail: undefined,
    message: "pod has completed (phase Succeeded)",
  });
  const failed = pod({
    phase: "Failed",
    statuses: [cs("main", { terminated: { exitCode: 1, reason: "Error", finishedAt: new Date(NOW) } })],
  });
  assertEquals(
    podProblem(failed)!.message,
    'pod has failed (phase Failed): container "main" exited with code 1',
  );
  const evicted = pod({ phase: "Failed" });
  evicted.status!.reason = "Evicted";
  evicted.status!.message = "The node was low on resource: memory.";
  assertEquals(podProblem(evicted)!.message, "pod failed: Evicted (The node was low on resource: memory.)");
  const dying = pod({ deleting: true, statuses: [cs("main", { running: {} }, { ready: true })] });
  assertEquals(podProblem(dying)!.reason, "Terminating");
  // a container of a running pod that exited (restartPolicy Never, another container still runs)
  const half = pod({
    images: { main: "busybox", side: "busybox" },
    statuses: [
      cs("main", { terminated: { exitCode: 0, reason: "Completed", finishedAt: new Date(NOW) } }),
      cs("side", { running: {} }, { ready: true }),
    ],
  });
  assertEquals(podProblem(half, { container: "main" })!.message, 'container "main" exited with code 0');
  assertEquals(podProblem(half, { container: "side" }), undefined);
});

Deno.test("explainPod folds in the pod's recent events, newest first, warnings kept", () => {
  const p = pod({
    name: "badimg",
    phase: "Pending",
    images: { main: "nope:1" },
    statuses: [
      cs("main", { waiting: { reason: "ImagePullBackOff", message: 'Back-off pulling image "nope:1"' } }),
    ],
  });
  const ev = (reason: string, type: string, message: string, s: number, o: Partial<CoreV1Event> = {}) =>
    ({
      metadata: { name: `badimg.${s}` },
      involvedObject: { kind: "Pod", name: "badimg", namespace: "dev", uid: "uid-badimg" },
      reason,
      type,
      message,
      lastTimestamp: new Date(ago(s)),
      count: 1,
      ...o,
    }) as CoreV1Event;
  const events = [
    ev("Scheduled", "Normal", "Successfully assigned dev/badimg to node-1", 60),
    ev("Pulling", "Normal", 'Pulling image "nope:1"', 40, { count: 3 }),
    ev(
      "Failed",
      "Warning",
      'Failed to pull image "nope:1": rpc error: code = NotFound desc = not found',
      40,
      {
        count: 3,
      },
    ),
    ev("Failed", "Warning", "Error: ErrImagePull", 40, { count: 3 }),
    ev("BackOff", "Normal", 'Back-off pulling image "nope:1"', 5, { count: 4 }),
    ev("Failed", "Warning", "Error: ImagePullBackOff", 5, { count: 4 }),
    // another pod's event, and an older incarnation of the same name
    { ...ev("Failed", "Warning", "other", 1), involvedObject: { kind: "Pod", name: "other", uid: "x" } },
    { ...ev("Failed", "Warning", "old pod", 1), involvedObject: { kind: "Pod", name: "badimg", uid: "old" } },
  ];
  const lines = explainPod(p, podProblem(p)!, events, { now: NOW });
  assertEquals(lines, [
    'pod badimg is not running: container "main" is waiting to start: image "nope:1" can\'t be pulled (ImagePullBackOff)',
    "  Warning Failed: Error: ImagePullBackOff (x4, 5s ago)",
    '  Warning Failed: Failed to pull image "nope:1": rpc error: code = NotFound desc = not found (x3, 40s ago)',
    "  Warning Failed: Error: ErrImagePull (x3, 40s ago)",
  ]);
  assertEquals(eventsAbout(events, { name: "badimg", uid: "uid-badimg" }, 10).length, 6);
  assertEquals(
    formatEvent(events[0], NOW),
    "Normal Scheduled: Successfully assigned dev/badimg to node-1 (60s ago)",
  );
});

Deno.test("explainPod names a pending claim and adds the claim's own events", () => {
  const p = pod({
    name: "sess",
    phase: "Pending",
    nodeName: null,
    claims: ["ws"],
    conditions: [{
      type: "PodScheduled",
      status: "False",
      reason: "Unschedulable",
      message: "0/1 nodes are available: 1 pod has unbound immediate PersistentVolumeClaims.",
    }],
  });
  const events: CoreV1Event[] = [{
    metadata: { name: "ws.1" },
    involvedObject: { kind: "PersistentVolumeClaim", name: "ws", namespace: "dev" },
    reason: "ProvisioningFailed",
    type: "Warning",
    message: 'storageclass.storage.k8s.io "nope" not found',
    lastTimestamp: new Date(ago(2)),
    count: 5,
  }];
  assertEquals(explainPod(p, podProblem(p)!, events, { now: NOW }), [
    'pod sess can\'t be scheduled: PersistentVolumeClaim "ws" is not bound',
    "  0/1 nodes are available: 1 pod has unbound immediate PersistentVolumeClaims.",
    '  Warning ProvisioningFailed: storageclass.storage.k8s.io "nope" not found (x5, 2s ago)',
  ]);
});
