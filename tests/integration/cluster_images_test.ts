/**
 * Images as a kubelet with containerd handles them, checked with the real kubectl (`describe`,
 * `get events`, `logs`): an image nobody can pull goes ErrImagePull then ImagePullBackOff with the
 * kubelet's event texts; imagePullPolicy Never / IfNotPresent / Always; a pod without `command` runs
 * the image's default (busybox: `sh`, which ends at once). Runs against a real cluster too (its
 * texts were copied from one: v1.24 kubelet, containerd 1.6).
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import {
  KODAMA_TEST_IMAGE,
  kubectl,
  type PodEvent,
  podEvents,
  podEventsOnce,
  tempNamespace,
  type TestCluster,
  waitUntil,
} from "../cluster/harness.ts";
import { clusterTest } from "../cluster/fixture.ts";

async function jsonpath(c: TestCluster, ns: string, pod: string, path: string): Promise<string> {
  const r = await kubectl(c, ["get", "pod", pod, "-n", ns, "-o", `jsonpath={${path}}`]);
  return r.code === 0 ? r.stdout : "";
}

const has = (evs: PodEvent[], type: string, reason: string, message: string | RegExp) =>
  evs.some((e) =>
    e.type === type && e.reason === reason &&
    (typeof message === "string" ? e.message === message : message.test(e.message))
  );

clusterTest("images: pull failures, pull policies and default commands, as a kubelet reports them", {
  seed: "none",
}, async (t, c) => {
  const ns = await tempNamespace(c, "fidelity-images");
  const run = async (args: string[]) => {
    const r = await kubectl(c, ["run", "-n", ns.name, ...args]);
    assertEquals(r.code, 0, r.stderr);
  };
  try {
    await t.step(
      "an image that does not exist: ErrImagePull, then ImagePullBackOff, with the events",
      async () => {
        const image = "registry.example/does-not-exist:1";
        await run(["bad", `--image=${image}`, "--", "sleep", "1d"]);
        const reasons = new Set<string>();
        await waitUntil(
          async () => {
            reasons.add(
              await jsonpath(c, ns.name, "bad", ".status.containerStatuses[0].state.waiting.reason"),
            );
            return reasons.has("ImagePullBackOff");
          },
          90_000,
          "ImagePullBackOff",
        );
        const evs = await podEventsOnce(
          c,
          ns.name,
          "bad",
          (e) => has(e, "Warning", "Failed", "Error: ImagePullBackOff"),
        );
        assert(has(evs, "Normal", "Pulling", `Pulling image "${image}"`), JSON.stringify(evs));
        assert(has(evs, "Warning", "Failed", new RegExp(`^Failed to pull image "${image}": rpc error: `)));
        assert(has(evs, "Warning", "Failed", "Error: ErrImagePull"));
        assert(has(evs, "Normal", "BackOff", `Back-off pulling image "${image}"`));
        assert(has(evs, "Warning", "Failed", "Error: ImagePullBackOff"));
        assertEquals(await jsonpath(c, ns.name, "bad", ".status.phase"), "Pending");
        const d = await kubectl(c, ["describe", "pod", "bad", "-n", ns.name]);
        assertEquals(d.code, 0, d.stderr);
        // it keeps cycling (the back-off is short on the test server): either reason may be current
        assertMatch(d.stdout, /State: +Waiting\n +Reason: +(ImagePullBackOff|ErrImagePull)\n/);
        assertStringIncludes(d.stdout, `Back-off pulling image "${image}"`);
        const l = await kubectl(c, ["logs", "bad", "-n", ns.name]);
        assertEquals(l.code, 1);
        // either, as the reason cycles
        assertMatch(
          l.stderr,
          /container "bad" in pod "bad" is waiting to start: (trying and failing to pull image|image can't be pulled)/,
        );
      },
    );

    await t.step(
      "deleted before its container could start: terminated, ContainerStatusUnknown (137), no times",
      async () => {
        // a finalizer holds the pod so the kubelet's last word on it can be read (copied from v1.24)
        const hold = async (finalizers: string[] | null) => {
          const body = JSON.stringify({ metadata: { finalizers } });
          const r = await kubectl(c, ["patch", "pod", "bad", "-n", ns.name, "--type=merge", "-p", body]);
          assertEquals(r.code, 0, r.stderr);
        };
        await hold(["example.com/hold"]);
        try {
          const r = await kubectl(c, [
            "delete",
            "pod",
            "bad",
            "-n",
            ns.name,
            "--wait=false",
            "--grace-period=1",
          ]);
          assertEquals(r.code, 0, r.stderr);
          const state = ".status.containerStatuses[0].state.terminated";
          await waitUntil(async () => !!(await jsonpath(c, ns.name, "bad", state)), 60_000, "terminated");
          const t = JSON.parse(await jsonpath(c, ns.name, "bad", state));
          assertEquals(
            [t.exitCode, t.reason, t.message],
            [137, "ContainerStatusUnknown", "The container could not be located when the pod was terminated"],
          );
          assertEquals([t.startedAt ?? null, t.finishedAt ?? null], [null, null]);
          assertEquals(await jsonpath(c, ns.name, "bad", ".status.phase"), "Pending");
        } finally {
          await hold(null);
        }
      },
    );

    await t.step("imagePullPolicy: Never without the image, IfNotPresent and Always with it", async () => {
      await run(["never", "--image=mine:dev", "--image-pull-policy=Never", "--", "sleep", "1d"]);
      await run([
        "present",
        `--image=${KODAMA_TEST_IMAGE}`,
        "--image-pull-policy=IfNotPresent",
        "--",
        "sleep",
        "1d",
      ]);
      await run([
        "always",
        `--image=${KODAMA_TEST_IMAGE}`,
        "--image-pull-policy=Always",
        "--",
        "sleep",
        "1d",
      ]);
      await waitUntil(
        async () =>
          (await jsonpath(c, ns.name, "never", ".status.containerStatuses[0].state.waiting.reason")) ===
            "ErrImageNeverPull",
        60_000,
        "ErrImageNeverPull",
      );
      const never = await podEventsOnce(
        c,
        ns.name,
        "never",
        (e) =>
          has(e, "Warning", "Failed", "Error: ErrImageNeverPull") &&
          has(e, "Warning", "ErrImageNeverPull", /./),
      );
      assert(
        has(
          never,
          "Warning",
          "ErrImageNeverPull",
          'Container image "mine:dev" is not present with pull policy of Never',
        ),
        JSON.stringify(never),
      );
      assert(has(never, "Warning", "Failed", "Error: ErrImageNeverPull"));
      const w = await kubectl(c, [
        "wait",
        "--for=condition=Ready",
        "pod/present",
        "pod/always",
        "-n",
        ns.name,
        "--timeout=60s",
      ]);
      assertEquals(w.code, 0, w.stderr);
      const present = await podEvents(c, ns.name, "present");
      assert(
        has(
          present,
          "Normal",
          "Pulled",
          `Container image "${KODAMA_TEST_IMAGE}" already present on machine`,
        ),
        JSON.stringify(present),
      );
      assert(
        !present.some((e) => e.reason === "Pulling"),
        "IfNotPresent does not pull an image the node has",
      );
      const always = await podEvents(c, ns.name, "always");
      assert(
        has(always, "Normal", "Pulling", `Pulling image "${KODAMA_TEST_IMAGE}"`),
        JSON.stringify(always),
      );
      assert(
        has(
          always,
          "Normal",
          "Pulled",
          new RegExp(`^Successfully pulled image "${KODAMA_TEST_IMAGE}" in \\d`),
        ),
      );
    });

    await t.step(
      "no command: busybox runs sh, which ends at once (Completed, then a crash loop)",
      async () => {
        await run(["once", `--image=${KODAMA_TEST_IMAGE}`, "--restart=Never"]);
        await run(["loop", `--image=${KODAMA_TEST_IMAGE}`]);
        await waitUntil(
          async () => (await jsonpath(c, ns.name, "once", ".status.phase")) === "Succeeded",
          60_000,
          "pod once to succeed",
        );
        assertEquals(
          await jsonpath(c, ns.name, "once", ".status.containerStatuses[0].state.terminated.reason"),
          "Completed",
        );
        await waitUntil(
          async () =>
            (await jsonpath(c, ns.name, "loop", ".status.containerStatuses[0].state.waiting.reason")) ===
              "CrashLoopBackOff",
          60_000,
          "CrashLoopBackOff",
        );
        assertEquals(
          await jsonpath(c, ns.name, "loop", ".status.containerStatuses[0].lastState.terminated.exitCode"),
          "0",
        );
        // the STATUS column cycles (CrashLoopBackOff, then Completed while the next run ends): wait for it
        let g = "";
        await waitUntil(
          async () => {
            g = (await kubectl(c, ["get", "pod", "loop", "-n", ns.name])).stdout;
            return g.includes("CrashLoopBackOff");
          },
          60_000,
          "kubectl get pod loop to show CrashLoopBackOff",
        );
        assertStringIncludes(g, "CrashLoopBackOff");
      },
    );
  } finally {
    await ns.remove();
  }
});
