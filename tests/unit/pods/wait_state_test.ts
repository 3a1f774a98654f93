import { assert, assertEquals, assertThrows } from "@kodama/test-assert";
import type { V1Pod } from "@kubernetes/client-node";
import {
  formatWaitProgress,
  listNames,
  parseWaitFor,
  pendingReason,
  podSatisfies,
  ProgressRenderer,
  WaitState,
} from "../../../src/pods/wait.ts";
import { memorySink } from "../../../src/base/sink.ts";
import { KodamaError } from "../../../src/base/errors.ts";

function pod(
  name: string,
  o: { ready?: boolean; phase?: string; rv?: number; ns?: string; uid?: string } = {},
): V1Pod {
  return {
    metadata: {
      name,
      namespace: o.ns ?? "prod",
      uid: o.uid ?? `uid-${name}`,
      resourceVersion: String(o.rv ?? 1),
    },
    status: {
      phase: o.phase ?? "Running",
      conditions: [{ type: "Ready", status: o.ready ? "True" : "False" }],
    },
  };
}

Deno.test("parseWaitFor: accepted spellings, bad ones are usage errors", () => {
  assertEquals(parseWaitFor("ready"), "ready");
  assertEquals(parseWaitFor("condition=Ready"), "ready");
  assertEquals(parseWaitFor("delete"), "deleted");
  assertEquals(parseWaitFor("deleted"), "deleted");
  assertEquals(parseWaitFor("phase=running"), "phase=Running");
  assertEquals(parseWaitFor("jsonpath={.status.phase}=Succeeded"), "phase=Succeeded");
  assertEquals(parseWaitFor("exists"), "exists");
  assertEquals(parseWaitFor("create"), "exists");
  // kubectl's generic forms
  assertEquals(parseWaitFor("condition=Ready=true"), "ready");
  assertEquals(parseWaitFor("condition=Ready=False"), { kind: "condition", type: "Ready", status: "False" });
  assertEquals(parseWaitFor("condition=PodScheduled"), {
    kind: "condition",
    type: "PodScheduled",
    status: "true",
  });
  assertEquals(parseWaitFor("jsonpath='{.status.phase}'=Running"), "phase=Running");
  const jp = parseWaitFor("jsonpath={.status.podIP}");
  assert(typeof jp !== "string" && jp.kind === "jsonpath" && jp.jsonpath.value === undefined);
  for (const bad of ["redy", "phase=Sleeping", "condition=", "condition==x", "jsonpath={.a}=", ""]) {
    const e = assertThrows(() => parseWaitFor(bad));
    assert(e instanceof KodamaError);
    assertEquals((e as KodamaError).code, 2, bad);
  }
});

Deno.test("podSatisfies: ready needs the Ready condition, terminating pods are not ready", () => {
  assert(podSatisfies(pod("a", { ready: true }), "ready"));
  assert(!podSatisfies(pod("a", { ready: false }), "ready"));
  const t = pod("a", { ready: true });
  t.metadata!.deletionTimestamp = new Date();
  assert(!podSatisfies(t, "ready"));
  assert(podSatisfies(pod("a", { phase: "Succeeded" }), "phase=Succeeded"));
  assert(!podSatisfies(pod("a"), "phase=Succeeded"));
});

Deno.test("WaitState ready: progress counts, new pods join, stale events are ignored", () => {
  const s = new WaitState("ready");
  s.start([pod("api-1", { ready: true }), pod("api-2"), pod("api-3")]);
  assertEquals(s.progress(), {
    done: 1,
    total: 3,
    pending: ["api-2", "api-3"],
    reasons: ["NotReady", "NotReady"],
    finished: false,
  });
  s.apply("MODIFIED", pod("api-2", { ready: true, rv: 5 }));
  s.apply("MODIFIED", pod("api-2", { ready: false, rv: 4 })); // older: ignored
  assertEquals(s.progress().pending, ["api-3"]);
  s.apply("ADDED", pod("api-4", { rv: 6 }));
  assertEquals(s.progress().pending, ["api-3", "api-4"]);
  assertEquals(s.progress().done, 2);
  s.apply("MODIFIED", pod("api-3", { ready: true, rv: 7 }));
  s.apply("DELETED", pod("api-4", { rv: 8 }));
  s.apply("ADDED", pod("api-4", { rv: 6 })); // a stale re-list cannot resurrect it
  assertEquals(s.progress(), { done: 3, total: 3, pending: [], reasons: [], finished: true });
  assertEquals(s.result().map((p) => p.metadata!.name), ["api-1", "api-2", "api-3"]);
});

Deno.test("WaitState ready: an empty set is never finished", () => {
  const s = new WaitState("ready");
  s.start([]);
  assertEquals(s.progress().finished, false);
  s.start([pod("a", { ready: true })]);
  s.apply("DELETED", pod("a"));
  assertEquals(s.progress().finished, false);
});

Deno.test("WaitState deleted: tracks the pods present at the start by uid", () => {
  const s = new WaitState("deleted");
  s.start([pod("api-1"), pod("api-2")]);
  assertEquals(s.progress(), {
    done: 0,
    total: 2,
    pending: ["api-1", "api-2"],
    reasons: ["Running", "Running"],
    finished: false,
  });
  s.apply("DELETED", pod("api-1"));
  // a replacement with the same name but a new uid does not count as the old pod
  s.apply("ADDED", pod("api-1", { uid: "new-uid", rv: 9 }));
  assertEquals(s.progress().pending, ["api-2"]);
  assertEquals(s.progress().done, 1);
  s.relist([pod("api-1", { uid: "new-uid", rv: 9 })]); // api-2 missing from a re-list = gone
  assertEquals(s.progress().finished, true);
  assertEquals(s.result().map((p) => p.metadata!.name), ["api-1", "api-2"]);
});

Deno.test("WaitState deleted: nothing there at the start is done at once", () => {
  const s = new WaitState("deleted");
  s.start([]);
  assert(s.progress().finished);
});

Deno.test("WaitState phase and exists; names carry the namespace with -A", () => {
  const s = new WaitState("phase=Succeeded", true);
  s.start([pod("job-1", { phase: "Running", ns: "a" }), pod("job-2", { phase: "Succeeded", ns: "b" })]);
  assertEquals(s.progress().pending, ["a/job-1"]);
  const e = new WaitState("exists");
  e.start([]);
  assertEquals(e.progress().finished, false);
  e.apply("ADDED", pod("x"));
  assertEquals(e.progress(), { done: 1, total: 1, pending: [], finished: true });
});

Deno.test("condition and jsonpath waits: met, the current value in reasons, kubectl's errors", () => {
  const notReady = pod("api-1");
  const cond = parseWaitFor("condition=ready=false"); // type and status without regard to case
  assert(podSatisfies(notReady, cond));
  assert(!podSatisfies(pod("api-2", { ready: true }), cond));
  const s = new WaitState(parseWaitFor("condition=ContainersReady"));
  s.start([notReady]);
  assertEquals(s.progress().reasons, ["no ContainersReady condition"]);
  const ip = parseWaitFor("jsonpath={.status.podIP}");
  assert(!podSatisfies(notReady, ip));
  assert(podSatisfies({ ...notReady, status: { ...notReady.status, podIP: "10.0.0.1" } }, ip));
  assertEquals(
    pendingReason(notReady, parseWaitFor("jsonpath={.status.podIP}=10.0.0.9")),
    "{.status.podIP} not set, phase Running",
  );
  const e = assertThrows(() => podSatisfies(notReady, parseWaitFor("jsonpath={.status}=x")));
  assertEquals((e as KodamaError).code, 2);
});

Deno.test("per-pod reasons: the waiting reason, Unschedulable, terminating", () => {
  const waiting = (reason: string, init = false): V1Pod => ({
    metadata: { name: "w", uid: "u-w" },
    status: {
      phase: "Pending",
      [init ? "initContainerStatuses" : "containerStatuses"]: [
        { name: "c", ready: false, restartCount: 0, image: "x", imageID: "", state: { waiting: { reason } } },
      ],
    },
  } as V1Pod);
  const s = new WaitState("ready");
  s.start([
    waiting("ImagePullBackOff"),
    { ...waiting("CrashLoopBackOff", true), metadata: { name: "v", uid: "u-v" } },
    {
      metadata: { name: "x", uid: "u-x" },
      status: {
        phase: "Pending",
        conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable" }],
      },
    },
    { metadata: { name: "y", uid: "u-y", deletionTimestamp: new Date() }, status: { phase: "Running" } },
  ]);
  assertEquals(s.progress().reasons, [
    "Init:CrashLoopBackOff",
    "ImagePullBackOff",
    "Unschedulable",
    "Terminating",
  ]);
  assertEquals(
    formatWaitProgress("ready", s.progress()),
    "0/4 ready: waiting for v (Init:CrashLoopBackOff), w (ImagePullBackOff), x (Unschedulable), y (Terminating)",
  );
});

Deno.test("formatWaitProgress: the live line", () => {
  assertEquals(
    formatWaitProgress("ready", { done: 3, total: 5, pending: ["api-1", "api-2"], finished: false }),
    "3/5 ready: waiting for api-1, api-2",
  );
  assertEquals(formatWaitProgress("ready", { done: 5, total: 5, pending: [], finished: true }), "5/5 ready");
  assertEquals(
    formatWaitProgress("phase=Running", { done: 0, total: 1, pending: ["x"], finished: false }),
    "0/1 Running: waiting for x",
  );
  assertEquals(
    formatWaitProgress("deleted", { done: 1, total: 2, pending: ["b"], finished: false }),
    "1/2 deleted: waiting for b",
  );
  assertEquals(
    formatWaitProgress("exists", { done: 0, total: 0, pending: [], finished: false }),
    "waiting for matching pods to appear",
  );
  assertEquals(
    formatWaitProgress("exists", { done: 2, total: 2, pending: [], finished: true }),
    "2 pods present",
  );
  const many = Array.from({ length: 8 }, (_, i) => `p${i}`);
  assertEquals(listNames(many), "p0, p1, p2, p3, p4 +3 more");
  assertEquals(
    formatWaitProgress("ready", { done: 0, total: 8, pending: many, finished: false }, 2),
    "0/8 ready: waiting for p0, p1 +6 more",
  );
});

Deno.test("ProgressRenderer: plain lines without a TTY (one per change), in place on a TTY", () => {
  const plain = memorySink();
  const r = new ProgressRenderer(plain, false);
  r.update("1/2 ready: waiting for b");
  r.update("1/2 ready: waiting for b");
  r.update("2/2 ready");
  r.done("2/2 ready after 1s");
  assertEquals(plain.text(), "1/2 ready: waiting for b\n2/2 ready\n2/2 ready after 1s\n");

  const tty = memorySink();
  const t = new ProgressRenderer(tty, true);
  t.update("0/1 ready: waiting for a");
  t.done("1/1 ready after 2s");
  const out = tty.text();
  assert(out.startsWith("\r\x1b[2K"), JSON.stringify(out));
  assert(out.includes("0/1 ready: waiting for a ("), JSON.stringify(out));
  assert(out.endsWith("\r\x1b[2K1/1 ready after 2s\n"), JSON.stringify(out));
  assert(!out.slice(0, -1).includes("\n"), "in-place updates never add lines");
});

Deno.test("pendingReason says what a pending pod is stuck on", () => {
  const pulling = pod("a", { phase: "Pending" });
  pulling.status!.containerStatuses = [{
    name: "web",
    ready: false,
    restartCount: 0,
    image: "x",
    imageID: "",
    state: { waiting: { reason: "ImagePullBackOff" } },
  }];
  assertEquals(pendingReason(pulling, "ready"), "Pending, web ImagePullBackOff");
  const notReady = pod("b");
  notReady.status!.containerStatuses = [
    { name: "web", ready: false, restartCount: 0, image: "x", imageID: "", state: { running: {} } },
    { name: "side", ready: true, restartCount: 0, image: "x", imageID: "", state: { running: {} } },
  ];
  assertEquals(pendingReason(notReady, "ready"), "Running, not ready: web");
  const crashing = pod("c");
  crashing.status!.containerStatuses = [
    {
      name: "web",
      ready: false,
      restartCount: 3,
      image: "x",
      imageID: "",
      state: { waiting: { reason: "CrashLoopBackOff" } },
    },
  ];
  assertEquals(pendingReason(crashing, "ready"), "Running, web CrashLoopBackOff");
  assertEquals(pendingReason(pod("d"), "phase=Succeeded"), "phase Running");
  const dying = pod("e");
  dying.metadata!.deletionTimestamp = new Date();
  assertEquals(pendingReason(dying, "deleted"), "terminating");
  assertEquals(pendingReason(pod("f"), "deleted"), "Running, not being deleted");

  const s = new WaitState("ready");
  s.start([pod("z"), pod("y", { ready: true }), pod("x")]);
  assertEquals(s.pendingPods().map((p) => p.metadata!.name), ["x", "z"]);
});
