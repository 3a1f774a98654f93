/**
 * A target that exists but does not run is named with the reason, everywhere: exec, logs, cp and
 * port-forward on a pod stuck in ErrImagePull/ImagePullBackOff, and exec on a crash-looping pod, say
 * which pod and why (exit 1) — never "no pods matched … check the namespace and filters" (exit 3).
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { KODAMA_TEST_IMAGE, tempNamespace, waitUntil } from "../cluster/harness.ts";
import { Kube } from "../../src/kube/client.ts";
import { hasStackTrace, runKodama } from "../cli/_run.ts";
import type { V1Pod } from "@kubernetes/client-node";
import { clusterTest } from "../cluster/fixture.ts";

clusterTest(
  "exec, logs, cp and port-forward name a pod that is not running, and why",
  { seed: "none" },
  async (t, c) => {
    const ns = await tempNamespace(c, "fidelity-notrunning");
    const kube = await Kube.connect({ kubeconfig: c.kubeconfig });
    const k = (args: string[]) => runKodama(["--kubeconfig", c.kubeconfig, "-n", ns.name, ...args]);
    try {
      await kube.createObject("pods", ns.name, {
        metadata: { name: "badimg" },
        spec: {
          containers: [{
            name: "main",
            image: "registry.example/does-not-exist:1",
            command: ["sleep", "1d"],
          }],
        },
      });
      await kube.createObject("pods", ns.name, {
        metadata: { name: "crashy" },
        spec: { containers: [{ name: "main", image: KODAMA_TEST_IMAGE, command: ["sh", "-c", "exit 2"] }] },
      });
      const reason = async (pod: string) =>
        (await kube.getObject<V1Pod>("pods", ns.name, pod)).status?.containerStatuses?.[0]?.state?.waiting
          ?.reason;
      await waitUntil(
        async () => /ImagePull/.test(await reason("badimg") ?? ""),
        90_000,
        "badimg's pull to fail",
      );
      await waitUntil(
        async () => (await reason("crashy")) === "CrashLoopBackOff",
        90_000,
        "crashy's crash loop",
      );

      const pull =
        /pod badimg is not running: container "main" is waiting to start: image "registry\.example\/does-not-exist:1" can't be pulled \((ErrImagePull|ImagePullBackOff)\)/;
      const check = (r: { code: number; stderr: string }, what: string) => {
        assertEquals(r.code, 1, r.stderr);
        assertMatch(r.stderr, new RegExp(`error: ${what}: ${pull.source}`));
        assert(!/no pods matched/.test(r.stderr), r.stderr);
        assert(!hasStackTrace(r.stderr), r.stderr);
        assertEquals(r.stderr.trim().split("\n").length <= 3, true, r.stderr);
      };

      await t.step("logs --pod", async () => check(await k(["logs", "--pod", "badimg"]), "no logs yet"));
      await t.step("exec --pod and exec -m", async () => {
        check(await k(["exec", "--pod", "badimg", "--", "true"]), "cannot exec");
        check(await k(["exec", "-m", "badimg", "--", "true"]), "cannot exec");
      });
      await t.step("cp into it", async () => {
        const f = await Deno.makeTempFile();
        check(await k(["cp", f, `${ns.name}/badimg:/tmp/x`]), "cannot copy");
        await Deno.remove(f);
      });
      await t.step("port-forward to it", async () => {
        check(await k(["port-forward", "pod/badimg", "8080"]), "unable to forward");
      });
      await t.step("exec in a crash-looping container says how it ended", async () => {
        const r = await k(["exec", "--pod", "crashy", "--", "true"]);
        assertEquals(r.code, 1, r.stderr);
        assertStringIncludes(
          r.stderr,
          'pod crashy is not running: container "main" keeps crashing (CrashLoopBackOff',
        );
        assertStringIncludes(r.stderr, "it exited with code 2");
      });
      await t.step("the event that says why comes with it", async () => {
        const r = await k(["exec", "--pod", "badimg", "--", "true"]);
        // the kubelet's own words: the waiting message, or the event (when the state is the back-off)
        assertMatch(
          r.stderr,
          /\n {2}(Warning Failed: Failed to pull image "registry\.example\/does-not-exist:1": )?rpc error: /,
        );
      });
    } finally {
      kube.close();
      await ns.remove();
    }
  },
);
