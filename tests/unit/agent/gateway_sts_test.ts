/**
 * The gateway on a StatefulSet (docs/agents.md, "The gateway's durability"), its pure parts: the StatefulSet
 * (one replica, the pod's labels the Service selects, the state claim as a volume of its template, not a
 * volumeClaimTemplate, its digest on the template) and what `gateway status` says of its pod.
 */
import { assertEquals } from "@kodama/test-assert";
import type { V1Pod, V1StatefulSet } from "@kubernetes/client-node";
import {
  ANNOTATION_PROGRAM,
  buildGatewayPod,
  buildGatewayService,
  buildGatewayStatefulSet,
  GATEWAY_POD,
} from "../../../src/agent/gateway/manifests.ts";
import { podState, podText, replayedOf } from "../../../src/agent/gateway/podstate.ts";

Deno.test("gateway StatefulSet: one replica of the gateway pod, on kodama's own claim, rolled by its digest", () => {
  const sts = buildGatewayStatefulSet("dev", "node:22-bookworm", "d1");
  const spec = sts.spec!;
  assertEquals([sts.metadata?.name, spec.replicas, GATEWAY_POD], ["kodama-gateway", 1, "kodama-gateway-0"]);
  assertEquals(spec.volumeClaimTemplates, undefined);
  assertEquals(spec.podManagementPolicy, "OrderedReady");
  assertEquals(spec.updateStrategy, { type: "RollingUpdate" });
  // the pod is today's pod: its spec, labels (the Service's selector matches them), the digest annotation
  const pod = buildGatewayPod("dev", "node:22-bookworm", "d1");
  assertEquals(spec.template.spec, pod.spec);
  assertEquals(spec.template.metadata?.labels, pod.metadata?.labels);
  assertEquals(spec.selector.matchLabels, pod.metadata?.labels);
  for (const [k, v] of Object.entries(buildGatewayService("dev").spec!.selector!)) {
    assertEquals(spec.template.metadata?.labels?.[k], v);
  }
  assertEquals(spec.template.metadata?.annotations?.[ANNOTATION_PROGRAM], "d1");
  assertEquals(spec.template.spec?.restartPolicy, "Always");
  assertEquals(
    spec.template.spec?.volumes?.find((v) => v.name === "state")?.persistentVolumeClaim?.claimName,
    "kodama-gateway-state",
  );
  const mem = buildGatewayStatefulSet("dev", "node:22-bookworm", "d1", "memory").spec!.template.spec!;
  assertEquals(mem.volumes!.find((v) => v.name === "state")?.emptyDir, { sizeLimit: "16Mi" });
  // the pod knows its uid: the journal counts the pods it ran in
  const env = spec.template.spec!.containers[0].env!;
  assertEquals(
    env.find((e) => e.name === "KODAMA_GATEWAY_POD_UID")?.valueFrom?.fieldRef?.fieldPath,
    "metadata.uid",
  );
});

const set = { metadata: { name: "kodama-gateway" } } as V1StatefulSet;
const ready = (p: V1Pod) => !!p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
function pod(o: {
  ready?: boolean;
  restarts?: number;
  waiting?: string;
  phase?: string;
  deleting?: boolean;
  name?: string;
}): V1Pod {
  return {
    metadata: {
      name: o.name ?? "kodama-gateway-0",
      creationTimestamp: new Date("2026-11-28T10:00:00Z"),
      ...(o.deleting ? { deletionTimestamp: new Date() } : {}),
    },
    spec: { containers: [], restartPolicy: "Always" },
    status: {
      phase: o.phase ?? "Running",
      conditions: [{ type: "Ready", status: o.ready ? "True" : "False" }],
      containerStatuses: [{
        name: "gateway",
        image: "x",
        imageID: "",
        ready: !!o.ready,
        restartCount: o.restarts ?? 0,
        ...(o.waiting ? { state: { waiting: { reason: o.waiting } } } : {}),
      }],
    },
  };
}

Deno.test("gateway status: ready, restarting while the replacement comes, restarts and replacements counted", () => {
  const up = podState(set, pod({ ready: true, restarts: 2 }), ready, { pods: 3 });
  assertEquals([up.state, up.restarts, up.replacements, up.workload], ["ready", 2, 2, "StatefulSet"]);
  assertEquals(
    podText(up, "kodama-gateway"),
    "kodama-gateway-0 (StatefulSet kodama-gateway), 2 restarts, 2 replacements, since 2026-11-28T10:00:00.000Z",
  );
  // the pod gone, or going: the StatefulSet brings the next
  assertEquals(podState(set, undefined, ready).state, "restarting");
  assertEquals(podState(set, pod({ ready: true, deleting: true }), ready).state, "restarting");
  // a crashed container restarting in place
  const crash = podState(set, pod({ restarts: 3, waiting: "CrashLoopBackOff" }), ready);
  assertEquals([crash.state, crash.reason], ["restarting", "CrashLoopBackOff"]);
  // a new pod not yet ready is just not ready; nothing at all is missing
  assertEquals(podState(set, pod({ waiting: "ContainerCreating" }), ready).state, "not ready");
  assertEquals(podState(undefined, undefined, ready).state, "missing");
  // a bare pod of an older kodama: said so, and nothing brings it back when it goes
  const bare = podState(undefined, pod({ ready: true, name: "kodama-gateway" }), ready);
  assertEquals(bare.workload, "Pod");
  assertEquals(
    podState(undefined, pod({ deleting: true, name: "kodama-gateway" }), ready).state,
    "not ready",
  );
  assertEquals(
    podText(bare, "kodama-gateway").startsWith("kodama-gateway (a bare pod from an older kodama"),
    true,
  );
  // a StatefulSet the user may not read: its pod's owner says what runs it
  const owned = pod({ ready: true, deleting: true });
  owned.metadata!.ownerReferences = [{
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    name: "kodama-gateway",
    uid: "u",
  }];
  assertEquals([podState(undefined, owned, ready).workload, podState(undefined, owned, ready).state], [
    "StatefulSet",
    "restarting",
  ]);
  // no journal (a gateway that could not keep one): replacements unknown
  assertEquals(podState(set, pod({ ready: true }), ready).replacements, null);
});

Deno.test("gateway status: the journal's counts from the first `replayed` line of the pod's log", () => {
  assertEquals(replayedOf([]), {});
  assertEquals(
    replayedOf([
      { ev: "config", status: "loaded" },
      { ev: "config", status: "replayed", pods: 2, starts: 5 },
      { ev: "config", status: "replayed", pods: 9, starts: 9 },
    ]),
    { pods: 2, starts: 5 },
  );
  assertEquals(replayedOf([{ ev: "config", status: "replayed", pods: "2" }]), {
    pods: undefined,
    starts: undefined,
  });
});

Deno.test("gateway pod: the state folder is given to the gateway's user only when asked, by a fixed command with CHOWN alone", () => {
  // volumes that ignore fsGroup (hostPath, local PVs) mount root's 0755 folder: the journal could not be written
  assertEquals(buildGatewayPod("dev", "img", "d").spec?.initContainers, undefined);
  assertEquals(buildGatewayPod("dev", "img", "d", "memory", true).spec?.initContainers, undefined);
  const init = buildGatewayPod("dev", "img", "d", "claim", true).spec!.initContainers!;
  assertEquals(init.map((c) => [c.name, c.command]), [
    ["state-owner", ["chown", "1000:1000", "/var/lib/kodama-gateway"]],
  ]);
  assertEquals(init[0].securityContext?.capabilities, { drop: ["ALL"], add: ["CHOWN", "FOWNER"] });
  assertEquals(init[0].securityContext?.allowPrivilegeEscalation, false);
  assertEquals(init[0].volumeMounts, [{ name: "state", mountPath: "/var/lib/kodama-gateway" }]);
  // the gateway itself stays non-root
  const main = buildGatewayPod("dev", "img", "d", "claim", true).spec!.containers[0].securityContext!;
  assertEquals([main.runAsNonRoot, main.runAsUser], [true, 1000]);
});
