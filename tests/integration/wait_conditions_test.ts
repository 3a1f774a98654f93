/**
 * wait --for as kubectl takes it: condition=TYPE[=STATUS] on pods, jsonpath with and without a value,
 * a workload's own condition (deploy/x --for condition=Available), and the reasons a pending pod shows
 * in the progress lines and the timeout summary.
 */
import { assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { deleteObjects } from "../cluster/harness.ts";
import { runKodama } from "../cli/_run.ts";
import { Kube } from "../../src/kube/client.ts";
import { busyboxPod } from "./_helpers.ts";
import { clusterTest } from "../cluster/fixture.ts";

clusterTest("wait --for condition=…, jsonpath=…, a Deployment's Available, and per-pod reasons", {
  seed: "demo",
}, async (t, c) => {
  const kube = await Kube.connect({ kubeconfig: c.kubeconfig, namespace: "dev" });
  const k = (args: string[]) => runKodama(["--kubeconfig", c.kubeconfig, ...args]);
  try {
    await kube.createObject("pods", "dev", busyboxPod("never-ready", { neverReady: true }));
    await kube.createObject("pods", "dev", busyboxPod("plain"));

    await t.step("condition=Ready=False is met by a pod that never gets ready", async () => {
      const r = await k([
        "wait",
        "-n",
        "dev",
        "pod/never-ready",
        "--for",
        "condition=Ready=False",
        "--timeout",
        "60s",
      ]);
      assertEquals(r.code, 0, r.stderr);
      assertEquals(r.stdout, "pod/never-ready condition met\n");
      // ... and condition=ready (any case) is what it never reaches: the reason says so
      const t2 = await k([
        "wait",
        "-n",
        "dev",
        "pod/never-ready",
        "--for",
        "condition=ready",
        "--timeout",
        "2s",
      ]);
      assertEquals(t2.code, 5);
      assertStringIncludes(
        t2.stderr,
        "timed out after 2s: 1 of 1 pods not ready: never-ready (Running, not ready",
      );
      // without a terminal the progress is one plain line per change, naming the pod and why
      assertMatch(
        t2.stderr,
        /^0\/1 ready: waiting for never-ready \((NotReady|ContainerCreating|Pending)\)$/m,
      );
    });

    await t.step("jsonpath: a value, or just set; kubectl's quoting", async () => {
      const set = await k([
        "wait",
        "-n",
        "dev",
        "pod/plain",
        "--for",
        "jsonpath={.status.podIP}",
        "--timeout",
        "60s",
      ]);
      assertEquals(set.code, 0, set.stderr);
      assertEquals(set.stdout, "pod/plain condition met\n");
      const val = await k([
        "wait",
        "-n",
        "dev",
        "pod/plain",
        "--for",
        `jsonpath={.status.conditions[?(@.type=="PodScheduled")].status}=True`,
        "--timeout",
        "60s",
      ]);
      assertEquals(val.code, 0, val.stderr);
      const no = await k([
        "wait",
        "-n",
        "dev",
        "pod/plain",
        "--for",
        "jsonpath={.spec.nodeName}=elsewhere",
        "--timeout",
        "1s",
      ]);
      assertEquals(no.code, 5);
      assertMatch(no.stderr, /plain \(\{\.spec\.nodeName\} is \S+, phase Running\)/);
      const bad = await k([
        "wait",
        "-n",
        "dev",
        "pod/plain",
        "--for",
        "jsonpath={.status}=x",
        "--timeout",
        "5s",
      ]);
      assertEquals(bad.code, 2);
      assertStringIncludes(bad.stderr, "jsonpath leads to a nested object or list which is not supported");
      const unparsable = await k(["wait", "-n", "dev", "pod/plain", "--for", "jsonpath={.status[}=x"]);
      assertEquals(unparsable.code, 2);
    });

    await t.step(
      "deploy/x --for condition=Available is the Deployment's condition, as kubectl",
      async () => {
        const r = await k([
          "wait",
          "-n",
          "prod",
          "deploy/web",
          "--for",
          "condition=Available",
          "--timeout",
          "60s",
        ]);
        assertEquals(r.code, 0, r.stderr);
        assertEquals(r.stdout, "deployment.apps/web condition met\n");
        const no = await k([
          "wait",
          "-n",
          "prod",
          "deploy/web",
          "--for",
          "condition=Available=False",
          "--timeout",
          "1s",
        ]);
        assertEquals(no.code, 5);
        assertStringIncludes(
          no.stderr,
          "waiting for deploy/web Available=False: Available=True (MinimumReplicasAvailable)",
        );
        // a pod condition on a workload target still means its pods
        const pods = await k([
          "wait",
          "-n",
          "prod",
          "deploy/web",
          "--for",
          "condition=PodScheduled",
          "--timeout",
          "60s",
        ]);
        assertEquals(pods.code, 0, pods.stderr);
        assertMatch(pods.stdout, /^pod\/web-\S+ condition met\n$/);
      },
    );
  } finally {
    // fixed names in a shared namespace: gone before the next run (on a real cluster nothing else removes them)
    await deleteObjects(c, "dev", "pod/never-ready", "pod/plain");
    kube.close();
  }
});
