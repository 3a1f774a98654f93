// The cause of a run's resume: the pod's guess refined from what the cluster said about the old pod (its uid),
// and how a table says it.
import { assertEquals } from "@kodama/test-assert";
import type { CoreV1Event, V1Pod } from "@kubernetes/client-node";
import type { RunResume } from "../../../src/agent/runs/agent.ts";
import { refineResumes, resumeCause, resumedText, withResumes } from "../../../src/agent/runs/resumecause.ts";
import { runOutcome } from "../../../src/agent/outcome/runtruth.ts";

const OLD = "0b1c-old", NEW = "9f2e-new";
const r = (cause: RunResume["cause"], pod = OLD): RunResume => ({
  cause,
  at: "2026-11-28T10:00:00Z",
  pod,
  resumedAt: "2026-11-28T10:00:09Z",
});
const pod = (uid: string, status: V1Pod["status"] = {}, deleting = false): V1Pod => ({
  metadata: {
    name: `kodama-demo-${uid}`,
    uid,
    ...(deleting
      ? { deletionTimestamp: new Date("2026-11-28T10:00:30Z"), deletionGracePeriodSeconds: 30 }
      : {}),
  },
  status,
});
const target = (reason: string): V1Pod["status"] => ({
  phase: "Running",
  conditions: [{ type: "DisruptionTarget", status: "True", reason }],
});
const event = (reason: string, uid = OLD, message = ""): CoreV1Event => ({
  metadata: { name: `e-${reason}` },
  involvedObject: { kind: "Pod", name: `kodama-demo-${uid}`, uid },
  reason,
  message,
  lastTimestamp: new Date("2026-11-28T10:00:00Z"),
});

Deno.test("resume cause: the cluster's word on the old pod (by uid) refines the pod's guess", () => {
  // a kubelet's pressure eviction: the old pod stays, Failed, Evicted
  assertEquals(resumeCause(r("deleted"), [pod(OLD, { phase: "Failed", reason: "Evicted" })], []), "evicted");
  // the DisruptionTarget condition's reasons
  assertEquals(resumeCause(r("deleted"), [pod(OLD, target("EvictionByEvictionAPI"))], []), "evicted");
  assertEquals(resumeCause(r("deleted"), [pod(OLD, target("PreemptionByScheduler"))], []), "preempted");
  assertEquals(resumeCause(r("deleted"), [pod(OLD, target("DeletionByTaintManager"))], []), "node-lost");
  assertEquals(resumeCause(r("node-lost"), [pod(OLD, target("DeletionByPodGC"))], []), "node-lost");
  assertEquals(resumeCause(r("deleted"), [pod(OLD, target("TerminationByKubelet"))], []), "evicted");
  // the old pod gone from the API: the events that name its uid
  assertEquals(resumeCause(r("deleted"), [], [event("Preempted")]), "preempted");
  assertEquals(resumeCause(r("deleted"), [], [event("Evicted")]), "evicted");
  assertEquals(resumeCause(r("node-lost"), [], [event("TaintManagerEviction")]), "node-lost");
  // a container out of memory
  const oom: V1Pod["status"] = {
    phase: "Failed",
    containerStatuses: [{
      name: "session",
      image: "x",
      imageID: "",
      ready: false,
      restartCount: 0,
      state: { terminated: { exitCode: 137, reason: "OOMKilled" } },
    }],
  };
  assertEquals(resumeCause(r("node-lost"), [pod(OLD, oom)], []), "oom-killed");
});

Deno.test("resume cause: what is about another pod, or says only 'deleted', keeps the pod's own guess", () => {
  // events and conditions of the new pod say nothing of the old one
  assertEquals(
    resumeCause(r("deleted"), [pod(NEW, target("PreemptionByScheduler"))], [event("Evicted", NEW)]),
    "deleted",
  );
  // nothing said at all
  assertEquals(resumeCause(r("node-lost"), [], []), "node-lost");
  // a plain delete of a lost node's pod does not hide the node's loss
  assertEquals(resumeCause(r("node-lost"), [pod(OLD, { phase: "Running" }, true)], []), "node-lost");
  assertEquals(resumeCause(r("deleted"), [pod(OLD, { phase: "Running" }, true)], []), "deleted");
  // no uid recorded: the guess
  assertEquals(resumeCause({ ...r("deleted"), pod: "" }, [], [event("Evicted", "")]), "deleted");
  assertEquals(refineResumes(undefined, [], []), undefined);
  assertEquals(
    refineResumes([r("deleted"), r("deleted", NEW)], [], [event("Evicted")])?.map((x) => x.cause),
    ["evicted", "deleted"],
  );
});

Deno.test("resume text: a table says how the run came through", () => {
  assertEquals(resumedText(undefined), "");
  assertEquals(resumedText([r("evicted")]), "resumed after eviction");
  assertEquals(
    resumedText([r("evicted"), r("node-lost"), r("evicted")]),
    "resumed 3× after eviction, node loss",
  );
  assertEquals(withResumes("succeeded", [r("evicted")]), "succeeded (resumed after eviction)");
  assertEquals(
    withResumes("succeeded (after 2 overloads)", [r("evicted"), r("node-lost")]),
    "succeeded (after 2 overloads; resumed 2× after eviction, node loss)",
  );
  assertEquals(withResumes("failed", []), "failed");
  assertEquals(
    runOutcome({ state: "succeeded", exitCode: 0, resumes: [r("preempted")] }),
    "succeeded (resumed after preemption)",
  );
});
