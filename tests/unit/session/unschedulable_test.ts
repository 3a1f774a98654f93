/**
 * The scheduler's reasons a session start fails on at once (src/session/lifecycle/unschedulable.ts), with the flag to
 * change; the ones a wait may cure (a busy node, an autoscaler adding one) are left to the wait.
 */
import { assertEquals, assertStringIncludes } from "@kodama/test-assert";
import type { CoreV1Event, V1Pod } from "@kubernetes/client-node";
import { placementFailure } from "../../../src/session/lifecycle/unschedulable.ts";

const pod = (message: string, reason = "Unschedulable"): V1Pod => ({
  metadata: { name: "kodama-s" },
  status: { phase: "Pending", conditions: [{ type: "PodScheduled", status: "False", reason, message }] },
});
const NOT_HELPFUL = " preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.";

Deno.test("unschedulable: a taint, a selector, a device: the scheduler's words and the flag", () => {
  const taint = placementFailure(
    pod(`0/1 nodes are available: 1 node(s) had untolerated taint {gpu: true}.${NOT_HELPFUL}`),
  )!;
  assertEquals(
    taint.split(" — ")[0],
    "the scheduler cannot place it: 0/1 nodes are available: 1 node(s) had untolerated taint {gpu: true}",
  );
  assertStringIncludes(taint, "--toleration gpu=true:EFFECT");
  assertStringIncludes(
    placementFailure(pod("0/3 nodes are available: 3 node(s) had untolerated taint {spot: }."))!,
    "--toleration spot:EFFECT",
  );
  assertStringIncludes(
    placementFailure(
      pod(`0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.${NOT_HELPFUL}`),
    )!,
    "change --node-selector",
  );
  assertStringIncludes(
    placementFailure(pod("0/1 nodes are available: 1 Insufficient nvidia.com/gpu."))!,
    "lower --gpu",
  );
  assertStringIncludes(
    placementFailure(pod("0/1 nodes are available: 1 Insufficient amd.com/gpu."))!,
    "--resource amd.com/gpu=N",
  );
  // two nodes out for two placement reasons: both flags
  const both = placementFailure(pod(
    "0/2 nodes are available: 1 Insufficient nvidia.com/gpu, 1 node(s) had untolerated taint {gpu: true}.",
  ))!;
  assertStringIncludes(both, "lower --gpu");
  assertStringIncludes(both, "; add --toleration gpu=true:EFFECT");
});

Deno.test("unschedulable: v1.24's taint words (a comma inside one reason) are a taint too", () => {
  // seen on the real v1.24 cluster: the older scheduler says "had taint {k: v}, that the pod didn't tolerate"
  const old = placementFailure(
    pod("0/1 nodes are available: 1 node(s) had taint {dedicated: gpu}, that the pod didn't tolerate."),
  )!;
  assertStringIncludes(old, "--toleration dedicated=gpu:EFFECT");
  const two = placementFailure(pod(
    "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, " +
      "2 node(s) had taint {spot: true}, that the pod didn't tolerate.",
  ))!;
  assertStringIncludes(two, "change --node-selector");
  assertStringIncludes(two, "--toleration spot=true:EFFECT");
  assertEquals(
    placementFailure(
      pod(
        "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had taint {gpu: true}, that the pod didn't tolerate.",
      ),
    ),
    undefined,
  );
});

Deno.test("unschedulable: what a wait may cure is not a failure", () => {
  // a node busy with cpu may free up; one out for a claim is the claims' business
  assertEquals(placementFailure(pod("0/1 nodes are available: 1 Insufficient cpu.")), undefined);
  assertEquals(
    placementFailure(
      pod("0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {gpu: true}."),
    ),
    undefined,
  );
  assertEquals(
    placementFailure(pod("0/1 nodes are available: 1 pod has unbound immediate PersistentVolumeClaims.")),
    undefined,
  );
  assertEquals(placementFailure(pod("anything", "SchedulingGated")), undefined);
  assertEquals(placementFailure(undefined), undefined);
  // a cluster autoscaler is adding a node for it
  const scaling: CoreV1Event[] = [{
    metadata: {},
    involvedObject: { name: "kodama-s" },
    reason: "TriggeredScaleUp",
    message: "pod triggered scale-up: [{gpu-pool 0->1 (max: 3)}]",
  }];
  assertEquals(
    placementFailure(pod("0/1 nodes are available: 1 Insufficient nvidia.com/gpu."), scaling),
    undefined,
  );
});

Deno.test("unschedulable: a node's state (not ready, unreachable, under pressure) is waited out, never tolerated", () => {
  // seen on the real v1.24 cluster seconds after its node started: the start failed at once, advising a
  // toleration of node.kubernetes.io/not-ready; the node was Ready a few seconds later
  for (
    const key of [
      "node.kubernetes.io/not-ready",
      "node.kubernetes.io/unreachable",
      "node.kubernetes.io/disk-pressure",
      "node.kubernetes.io/memory-pressure",
      "node.kubernetes.io/network-unavailable",
      "node.cloudprovider.kubernetes.io/uninitialized",
    ]
  ) {
    assertEquals(
      placementFailure(
        pod(`0/1 nodes are available: 1 node(s) had taint {${key}: }, that the pod didn't tolerate.`),
      ),
      undefined,
      key,
    );
    assertEquals(
      placementFailure(pod(`0/1 nodes are available: 1 node(s) had untolerated taint {${key}: }.`)),
      undefined,
    );
  }
  // a placement taint beside a not-ready node: the other node may become ready, so still a wait
  assertEquals(
    placementFailure(pod(
      "0/2 nodes are available: 1 node(s) had untolerated taint {gpu: true}, " +
        "1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }.",
    )),
    undefined,
  );
  // a taint of the same look that is someone's placement rule is still a failure with its flag
  assertStringIncludes(
    placementFailure(
      pod("0/1 nodes are available: 1 node(s) had untolerated taint {example.com/not-ready: }."),
    )!,
    "--toleration example.com/not-ready:EFFECT",
  );
});
