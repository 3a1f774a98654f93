/** `start` fails at once on conditions no wait can cure (issue 52, point 2), and only on those. */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import type { CoreV1Event, V1PersistentVolumeClaim, V1Pod } from "@kubernetes/client-node";
import { claimsNeverBind, neverFits, verdict } from "../../../src/session/lifecycle/progress.ts";

const claim = (name: string): V1PersistentVolumeClaim => ({
  metadata: { name },
  spec: { storageClassName: "nosuch-class" },
  status: { phase: "Pending" },
});
// the words of kube-controller-manager's persistentvolume-controller (v1.24)
const provisioningFailed = (name: string): CoreV1Event => ({
  metadata: { name: `${name}.1` },
  involvedObject: { kind: "PersistentVolumeClaim", name },
  type: "Warning",
  reason: "ProvisioningFailed",
  message: 'storageclass.storage.k8s.io "nosuch-class" not found',
});

Deno.test("a claim whose StorageClass does not exist fails the wait; a slow provisioner does not", () => {
  const pvcs = [claim("kodama-workspace-x"), claim("kodama-claude-home-x")];
  const events = pvcs.map((c) => provisioningFailed(c.metadata!.name!));
  const never = claimsNeverBind(pvcs, events);
  assertEquals(
    never,
    'StorageClass "nosuch-class" does not exist: volumes kodama-claude-home-x, kodama-workspace-x can never bind',
  );
  const pod: V1Pod = { metadata: { name: "kodama-x" }, status: { phase: "Pending" } };
  assertEquals(verdict(pod, pvcs, events).failure, never);
  const slow: CoreV1Event = { ...events[0], message: "failed to provision volume: timeout" };
  assertEquals(claimsNeverBind(pvcs, [slow]), undefined);
  assert(verdict(pod, pvcs, [slow]).waiting);
});

Deno.test("an invalid image reference and ErrImageNeverPull fail at once", () => {
  for (const reason of ["InvalidImageName", "ErrImageNeverPull"]) {
    const pod: V1Pod = {
      metadata: { name: "kodama-x" },
      spec: { containers: [{ name: "session", image: "Bad:Image" }] },
      status: {
        phase: "Pending",
        conditions: [{ type: "PodScheduled", status: "True" }],
        containerStatuses: [{
          name: "session",
          image: "Bad:Image",
          imageID: "",
          ready: false,
          restartCount: 0,
          state: { waiting: { reason, message: "x" } },
        }],
      },
    };
    assertStringIncludes(verdict(pod, []).failure ?? "", reason);
  }
});

Deno.test("an unschedulable pod fails only when it asks for more than every node has", () => {
  const pod = (memory: string): V1Pod => ({
    metadata: { name: "kodama-x" },
    spec: { containers: [{ name: "session", resources: { requests: { memory, cpu: "250m" } } }] },
    status: {
      phase: "Pending",
      conditions: [{
        type: "PodScheduled",
        status: "False",
        reason: "Unschedulable",
        // kube-scheduler v1.24's words
        message:
          "0/1 nodes are available: 1 Insufficient memory. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.",
      }],
    },
  });
  const nodes = [{ name: "n1", allocatable: { cpu: "2", memory: "8029184Ki" } }];
  const huge = neverFits(pod("64Gi"), nodes);
  assertStringIncludes(huge ?? "", "no node can ever fit it: it requests memory 64Gi");
  assertEquals(verdict(pod("64Gi"), [], [], nodes).failure, huge);
  // it fits a node, only not now (other pods use the room): waiting may help
  assertEquals(neverFits(pod("4Gi"), nodes), undefined);
  assert(verdict(pod("4Gi"), [], [], nodes).waiting);
  // the nodes are not readable: nothing is known, it waits
  assertEquals(neverFits(pod("64Gi"), []), undefined);
});
