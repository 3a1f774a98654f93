/**
 * Deleting a namespace, as kube-apiserver and the namespace controller do it: it is `Terminating`
 * (deletionTimestamp, finalizer `kubernetes`) while its content goes, a create in it gets the real
 * 403 ("… because it is being terminated", cause NamespaceTerminating), and kodama shows that message
 * — not "ask for a Role". Checked with the real kubectl; runs against a real cluster too.
 */
import { assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { KODAMA_TEST_IMAGE, kubectl, tempNamespace, waitUntil } from "../cluster/harness.ts";
import { Kube } from "../../src/kube/client.ts";
import { KodamaError } from "../../src/base/errors.ts";
import { waitForPods } from "../../src/pods/wait.ts";
import { busyboxPod } from "./_helpers.ts";
import { clusterTest } from "../cluster/fixture.ts";

clusterTest(
  "a namespace being deleted: Terminating, and a create in it is the real 403",
  { seed: "none" },
  async (_t, c) => {
    const ns = await tempNamespace(c, "fidelity-term");
    const kube = await Kube.connect({ kubeconfig: c.kubeconfig });
    try {
      // a pod that takes its grace period to go keeps the namespace Terminating long enough to look at
      const slow = busyboxPod("slow", { command: ["sh", "-c", "trap '' TERM; exec sleep 1d"] });
      slow.spec!.terminationGracePeriodSeconds = 5;
      await kube.createObject("pods", ns.name, slow);
      await waitForPods(kube, { namespace: ns.name, pod: "slow" }, { for: "ready", timeoutMs: 60_000 });
      const del = await kubectl(c, ["delete", "namespace", ns.name, "--wait=false"]);
      assertEquals(del.code, 0, del.stderr);

      const phase = await kubectl(c, [
        "get",
        "namespace",
        ns.name,
        "-o",
        "jsonpath={.status.phase} {.spec.finalizers}",
      ]);
      assertEquals(phase.stdout, 'Terminating ["kubernetes"]');
      const cm = await kubectl(c, ["create", "configmap", "late", "-n", ns.name, "--from-literal=a=b"]);
      assertEquals(cm.code, 1);
      assertStringIncludes(
        cm.stderr,
        `configmaps "late" is forbidden: unable to create new content in namespace ${ns.name} because it is being terminated`,
      );
      const run = await kubectl(c, ["run", "late-pod", "-n", ns.name, `--image=${KODAMA_TEST_IMAGE}`]);
      assertStringIncludes(run.stderr, "Error from server (Forbidden)");

      // kodama says what the API server said, and what to do — not "ask for a Role"
      let err: unknown;
      try {
        await kube.createObject("pods", ns.name, busyboxPod("late-kodama"));
      } catch (e) {
        err = e;
      }
      const ke = err as KodamaError;
      assertEquals(ke instanceof KodamaError && ke.code, 4);
      assertEquals(
        ke.message,
        `forbidden: pods "late-kodama" is forbidden: unable to create new content in namespace ${ns.name} because it is being terminated`,
      );
      assertStringIncludes(ke.hint ?? "", "the namespace is being deleted");

      await waitUntil(
        async () => (await kubectl(c, ["get", "namespace", ns.name])).code !== 0,
        90_000,
        "the namespace to go",
      );
      const gone = await kubectl(c, ["get", "namespace", ns.name]);
      assertStringIncludes(gone.stderr, `namespaces "${ns.name}" not found`);
    } finally {
      kube.close();
      await ns.remove();
    }
  },
);
