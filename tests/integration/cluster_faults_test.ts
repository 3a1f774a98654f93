/**
 * The cluster's faults on the HTTPS test server (tests/cluster/faults.ts ClusterFaults), seen through the
 * real kubectl: a kodama-like session Job (podFailurePolicy Ignore DisruptionTarget, podReplacementPolicy
 * Failed) whose pod is evicted by kubelet pressure (SIGTERM: its trap runs), loses its node (processes
 * killed, pod Terminating until the Node is deleted, then a replacement on the second node) and is
 * preempted — replaced each time, never counted. Test server only (faults).
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import {
  KODAMA_TEST_IMAGE,
  kubectl,
  onRealCluster,
  tempNamespace,
  type TestCluster,
} from "../cluster/harness.ts";
import { clusterTest } from "../cluster/fixture.ts";
import { NODE_NAME } from "../cluster/defaults.ts";

const NODE2 = "kodama-test-node-2";

const jsonpath = async (c: TestCluster, args: string[], path: string) => {
  const r = await kubectl(c, [...args, "-o", `jsonpath=${path}`]);
  assertEquals(r.code, 0, r.stderr);
  return r.stdout;
};

/** The name of the Job's pod that is not being deleted and runs Ready (waits for it). */
async function readyPod(c: TestCluster, ns: string, not: string[] = []): Promise<string> {
  for (let i = 0; i < 300; i++) {
    const out = await jsonpath(
      c,
      ["get", "pods", "-n", ns, "-l", "job-name=sess"],
      `{range .items[*]}{.metadata.name} {.metadata.deletionTimestamp} {.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}`,
    );
    const ready = out.split("\n").map((l) => l.split(" ")).find(([n, del, r]) =>
      n && !del && r === "True" && !not.includes(n)
    );
    if (ready) return ready[0];
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("no ready pod of job sess");
}

clusterTest(
  "cluster faults through kubectl: pressure eviction, node loss, preemption of a session Job's pod",
  {
    seed: "none",
    controllers: { backoffBaseMs: 100 },
    ignore: onRealCluster,
  },
  async (t, c) => {
    const ns = await tempNamespace(c, "faults");
    const faults = c.testServer!.faults;
    try {
      const job = {
        apiVersion: "batch/v1",
        kind: "Job",
        metadata: { name: "sess" },
        spec: {
          backoffLimit: 0,
          podFailurePolicy: {
            rules: [{ action: "Ignore", onPodConditions: [{ type: "DisruptionTarget" }] }],
          },
          template: {
            spec: {
              restartPolicy: "Never",
              terminationGracePeriodSeconds: 5,
              containers: [{
                name: "main",
                image: KODAMA_TEST_IMAGE,
                command: [
                  "sh",
                  "-c",
                  "trap 'echo got SIGTERM; exit 143' TERM; echo up; while :; do sleep 1; done",
                ],
              }],
            },
          },
        },
      };
      const r = await kubectl(c, ["apply", "-n", ns.name, "-f", "-"], { stdin: JSON.stringify(job) });
      assertEquals(r.code, 0, r.stderr);
      let pod = await readyPod(c, ns.name);

      await t.step("kubelet pressure: SIGTERM, Failed/Evicted, the Job replaces it uncounted", async () => {
        await faults.evictForPressure(`${ns.name}/${pod}`, "memory");
        const st = await jsonpath(c, ["get", "pod", pod, "-n", ns.name], "{.status.phase}/{.status.reason}");
        assertEquals(st, "Failed/Evicted");
        const msg = await jsonpath(c, ["get", "pod", pod, "-n", ns.name], "{.status.message}");
        assertMatch(msg, /^The node was low on resource: memory\. Threshold quantity: 100Mi, available: /);
        const dt = await jsonpath(
          c,
          ["get", "pod", pod, "-n", ns.name],
          `{.status.conditions[?(@.type=="DisruptionTarget")].reason}`,
        );
        assertEquals(dt, "TerminationByKubelet");
        // its TERM trap ran (exit 143; a SIGKILL would be 137)
        const code = await jsonpath(
          c,
          ["get", "pod", pod, "-n", ns.name],
          "{.status.containerStatuses[0].state.terminated.exitCode}",
        );
        assertEquals(code, "143", "the pod saw SIGTERM");
        // the kubelet keeps an evicted pod's logs
        const logs = await kubectl(c, ["logs", "-n", ns.name, pod]);
        assert(logs.stdout.startsWith("up\n"), logs.stdout + logs.stderr);
        assertStringIncludes(logs.stdout, "got SIGTERM\n");
        const ev = await kubectl(c, [
          "get",
          "events",
          "-n",
          ns.name,
          "--field-selector",
          `involvedObject.name=${pod}`,
        ]);
        assertMatch(ev.stdout, /Warning\s+Evicted\s+pod\/\S+\s+The node was low on resource: memory\./);
        const next = await readyPod(c, ns.name, [pod]);
        assert(next !== pod);
        pod = next;
        assertEquals(await jsonpath(c, ["get", "job", "sess", "-n", ns.name], "{.status.failed}"), "");
      });

      await t.step(
        "node loss: NotReady, processes gone, Terminating; the Node deleted: a replacement on node 2",
        async () => {
          faults.addNode(NODE2);
          const before = c.runtimePids();
          assert(before.length > 0, "the pod's processes run");
          await faults.loseNode(NODE_NAME, { graceMs: 200 });
          assertEquals(c.runtimePids(), [], "the dead machine's processes are gone");
          const nodes = await kubectl(c, ["get", "nodes", "--no-headers"]);
          assertMatch(nodes.stdout, new RegExp(`${NODE_NAME}\\s+NotReady\\s`));
          assertMatch(nodes.stdout, new RegExp(`${NODE2}\\s+Ready\\s`));
          for (let i = 0; i < 100; i++) {
            if (await jsonpath(c, ["get", "pod", pod, "-n", ns.name], "{.metadata.deletionTimestamp}")) break;
            await new Promise((r) => setTimeout(r, 100));
          }
          const dt = await jsonpath(
            c,
            ["get", "pod", pod, "-n", ns.name],
            `{.status.conditions[?(@.type=="DisruptionTarget")].reason}`,
          );
          assertEquals(dt, "DeletionByTaintManager");
          const ev = await kubectl(c, [
            "get",
            "events",
            "-n",
            ns.name,
            "--field-selector",
            "reason=TaintManagerEviction",
          ]);
          assertStringIncludes(ev.stdout, `Marking for deletion Pod ${ns.name}/${pod}`);
          const list = await kubectl(c, ["get", "pods", "-n", ns.name, "--no-headers"]);
          assertMatch(
            list.stdout,
            new RegExp(`${pod}\\s+\\S+\\s+Terminating`),
            "no kubelet confirms the delete",
          );
          const del = await kubectl(c, ["delete", "node", NODE_NAME]);
          assertEquals(del.code, 0, del.stderr);
          const next = await readyPod(c, ns.name, [pod]);
          assertEquals(await jsonpath(c, ["get", "pod", next, "-n", ns.name], "{.spec.nodeName}"), NODE2);
          pod = next;
        },
      );

      await t.step("preemption: event Preempted, DisruptionTarget, deleted and replaced", async () => {
        await faults.preempt(`${ns.name}/${pod}`, { byUid: "1b2c3d4e-preemptor" });
        const ev = await kubectl(c, [
          "get",
          "events",
          "-n",
          ns.name,
          "--field-selector",
          `involvedObject.name=${pod}`,
        ]);
        assertStringIncludes(ev.stdout, `Preempted by pod 1b2c3d4e-preemptor on node ${NODE2}`);
        const next = await readyPod(c, ns.name, [pod]);
        assert(next !== pod);
        const failed = await jsonpath(c, ["get", "job", "sess", "-n", ns.name], "{.status.failed}");
        assertEquals(failed, "", "no disruption counted against backoffLimit 0");
      });
      await t.step(
        "OOM kill: the container ends OOMKilled, exit 137; restartPolicy Always restarts it",
        async () => {
          const p = {
            apiVersion: "v1",
            kind: "Pod",
            metadata: { name: "hog" },
            spec: {
              terminationGracePeriodSeconds: 1,
              containers: [{ name: "main", image: KODAMA_TEST_IMAGE, command: ["sleep", "600"] }],
            },
          };
          const r = await kubectl(c, ["apply", "-n", ns.name, "-f", "-"], { stdin: JSON.stringify(p) });
          assertEquals(r.code, 0, r.stderr);
          const up = await kubectl(c, [
            "wait",
            "pod/hog",
            "-n",
            ns.name,
            "--for=condition=ready",
            "--timeout=60s",
          ], {
            timeoutMs: 70_000,
          });
          assertEquals(up.code, 0, up.stderr);
          await faults.oomKill(`${ns.name}/hog`);
          for (let i = 0; i < 100; i++) {
            const last = await jsonpath(
              c,
              ["get", "pod", "hog", "-n", ns.name],
              "{.status.containerStatuses[0].lastState.terminated.reason}/{.status.containerStatuses[0].lastState.terminated.exitCode}/{.status.containerStatuses[0].restartCount}",
            );
            if (last === "OOMKilled/137/1") return;
            await new Promise((r) => setTimeout(r, 100));
          }
          throw new Error("the container was not restarted after OOMKilled");
        },
      );
    } finally {
      await ns.remove();
    }
  },
);
