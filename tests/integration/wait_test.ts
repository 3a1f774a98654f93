/**
 * wait against the test cluster: ready on the demo pods, deleted while the test deletes a pod,
 * a timeout (exit 5) naming the pending pods, nothing matched (exit 3), exists, phase — through
 * the feature function and through the CLI.
 */
import { assert, assertEquals, assertMatch, assertRejects, assertStringIncludes } from "@kodama/test-assert";
import type { V1Pod } from "@kubernetes/client-node";
import { deleteObjects } from "../cluster/harness.ts";
import { DEMO } from "../cluster/seed.ts";
import { Kube } from "../../src/kube/client.ts";
import { waitForPods } from "../../src/pods/wait.ts";
import { KodamaError } from "../../src/base/errors.ts";
import { runKodama } from "../cli/_run.ts";
import { busyboxPod } from "./_helpers.ts";
import { clusterTest } from "../cluster/fixture.ts";

const names = (pods: V1Pod[]) => pods.map((p) => p.metadata?.name);

clusterTest("wait against the test cluster", { seed: "demo" }, async (t, cluster) => {
  const kube = await Kube.connect({ kubeconfig: cluster.kubeconfig });
  const kc = ["--kubeconfig", cluster.kubeconfig];
  try {
    await t.step("--for ready on the demo api pods (feature and CLI)", async () => {
      const progress: string[] = [];
      const pods = await waitForPods(kube, { namespace: "prod", selector: "app=api" }, {
        for: "ready",
        timeoutMs: 30_000,
        onProgress: (d, n, pending) => progress.push(`${d}/${n} ${pending.join(",")}`),
      });
      assertEquals(names(pods), [...DEMO.apiPods]);
      assert(progress.length >= 1 && progress.at(-1)!.startsWith("2/2"), progress.join("\n"));
      const r = await runKodama([
        ...kc,
        "wait",
        "-n",
        "prod",
        "-l",
        "app=api",
        "--for",
        "ready",
        "--timeout",
        "30s",
      ]);
      assertEquals(r.code, 0, r.stderr);
      assertEquals(r.stdout, DEMO.apiPods.map((n) => `pod/${n} condition met\n`).join(""));
      assertMatch(r.stderr, /2\/2 ready after \d/);
      assert(!r.stderr.includes("\r"), "no in-place updates without a TTY");
    });

    await t.step("--for phase=Running on the drive pods", async () => {
      const pods = await waitForPods(kube, { namespace: DEMO.wekaNamespace, match: ["drive"] }, {
        for: "phase=Running",
        timeoutMs: 30_000,
      });
      assertEquals(names(pods), ["weka-drive-0", "weka-drive-1", "weka-drive-2"]);
    });

    await t.step("--for deleted while the test deletes the pod", async () => {
      await kube.createObject("pods", "dev", busyboxPod("w-del", { labels: { app: "w-del" } }));
      await waitForPods(kube, { namespace: "dev", pod: "w-del" }, { for: "ready", timeoutMs: 30_000 });
      const progress: string[] = [];
      const listed = Promise.withResolvers<void>();
      const waiting = waitForPods(kube, { namespace: "dev", pod: "w-del" }, {
        for: "deleted",
        timeoutMs: 30_000,
        onProgress: (d, n, pending) => {
          progress.push(`${d}/${n} ${pending.join(",")}`);
          listed.resolve();
        },
      });
      // the wait has listed the pod (a deletion before its watch opens: wait_memory_test.ts)
      await listed.promise;
      await kube.deleteObject("pods", "dev", "w-del");
      const gone = await waiting;
      assertEquals(names(gone), ["w-del"]);
      assertEquals(progress[0], "0/1 w-del");
      assertEquals(progress.at(-1), "1/1 ");
      await assertRejects(() => kube.getObject<V1Pod>("pods", "dev", "w-del"));
      // nothing left to delete: done at once
      const r = await runKodama([
        ...kc,
        "wait",
        "-n",
        "dev",
        "--pod",
        "w-del",
        "--for",
        "deleted",
        "--timeout",
        "5s",
      ]);
      assertEquals(r.code, 0, r.stderr);
    });

    await t.step("timeout: exit 5 naming only the pods still pending", async () => {
      await kube.createObject("pods", "dev", busyboxPod("w-ok", { labels: { app: "w-mix" } }));
      await kube.createObject(
        "pods",
        "dev",
        busyboxPod("w-never", { labels: { app: "w-mix" }, neverReady: true }),
      );
      await waitForPods(kube, { namespace: "dev", pod: "w-ok" }, { for: "ready", timeoutMs: 30_000 });
      // when the timeout fires is the manual clock's to tell (wait_memory_test.ts); here, what the server says
      const e = await assertRejects(() =>
        waitForPods(kube, { namespace: "dev", selector: "app=w-mix" }, { for: "ready", timeoutMs: 1500 })
      );
      assert(e instanceof KodamaError);
      assertEquals(e.code, 5);
      assertStringIncludes(e.message, "1 of 2 pods not ready: w-never (Running, not ready: main)");

      const r = await runKodama([...kc, "wait", "-n", "dev", "-l", "app=w-mix", "--timeout", "1s"]);
      assertEquals(r.code, 5, r.stderr);
      assertStringIncludes(r.stderr, "1 of 2 pods not ready: w-never");
      assertStringIncludes(r.stderr, "1/2 ready: waiting for w-never");
      assertEquals(r.stdout, "");
    });

    await t.step(
      "nothing matches: exit 3 for ready; --for exists waits for the pod to appear",
      async () => {
        const r = await runKodama([...kc, "wait", "-n", "dev", "-l", "app=nobody", "--for", "ready"]);
        assertEquals(r.code, 3, r.stderr);
        assertStringIncludes(r.stderr, "no pods matched");
        assertStringIncludes(r.stderr, "--for exists");

        const waitingForIt = Promise.withResolvers<void>();
        const appearing = waitForPods(kube, { namespace: "dev", selector: "app=late" }, {
          for: "exists",
          timeoutMs: 30_000,
          onProgress: () => waitingForIt.resolve(),
        });
        await waitingForIt.promise; // listed, nothing there: the pod comes after the wait began
        await kube.createObject("pods", "dev", busyboxPod("w-late", { labels: { app: "late" } }));
        assertEquals(names(await appearing), ["w-late"]);
      },
    );
  } finally {
    await deleteObjects(cluster, "dev", "pod/w-del", "pod/w-ok", "pod/w-never", "pod/w-late");
  }
});
