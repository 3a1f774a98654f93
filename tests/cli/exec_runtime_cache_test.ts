/**
 * Right after a container starts, a kubelet answers an exec with `container not found` for a moment (its
 * runtime cache, refreshed every ~2 s, has not seen the container) though the pod already says Running;
 * kubectl fails there, and on a loaded node so did `kodama start`'s first exec. The test server copies that
 * (`faults.runtimeCacheLag`): kubectl's exec fails as a kubelet's would, kodama's waits for the kubelet and
 * runs, a container the pod does not have still fails at once (exit 3), and a session starts.
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { runKodama } from "./_run.ts";
import { clusterTest } from "../cluster/fixture.ts";
import { kubectl, onRealCluster } from "../cluster/harness.ts";
import { SESSION_IMAGE } from "./_session.ts";

const LAG_MS = 2_500;

clusterTest("exec right after a container starts: the kubelet's 'container not found' is waited out", {
  seed: "none",
  ignore: onRealCluster, // the lag is the test server's copy of a kubelet's; a real node shows it only at times
  timeoutMs: 240_000,
}, async (t, c) => {
  const home = await Deno.makeTempDir({ prefix: "kodama-runtime-cache-" });
  const env = { KODAMA_HOME: home, GIT_CONFIG_GLOBAL: "/dev/null" };
  const k = (args: string[]) => runKodama(["--kubeconfig", c.kubeconfig, ...args], { env, cwd: home });
  /** a pod, waited on until it says Running; the lag counts from its container's start */
  const running = async (name: string) => {
    const r = await kubectl(c, [
      "run",
      name,
      "--image",
      "busybox",
      "--restart",
      "Never",
      "--",
      "sleep",
      "3600",
    ]);
    assertEquals(r.code, 0, r.stderr);
    const w = await kubectl(c, [
      "wait",
      "--for=jsonpath={.status.phase}=Running",
      `pod/${name}`,
      "--timeout=60s",
    ]);
    assertEquals(w.code, 0, w.stderr);
  };
  try {
    c.faults.runtimeCacheLag(LAG_MS);
    await t.step("kubectl exec into a pod that just became Running fails as a kubelet answers", async () => {
      await running("fresh-a");
      const r = await kubectl(c, ["exec", "fresh-a", "--", "echo", "hi"]);
      assert(r.code !== 0, r.stdout);
      assertStringIncludes(r.stderr, "container not found");
    });
    await t.step("kodama exec into one waits for the kubelet and runs (exit 0)", async () => {
      await running("fresh-b");
      const r = await k(["exec", "--pod", "fresh-b", "--", "echo", "hi"]);
      assertEquals(r.code, 0, r.stderr);
      assertEquals(r.stdout.trim(), "hi");
    });
    await t.step("a container the pod does not have fails at once, exit 3", async () => {
      await running("fresh-c");
      const r = await k(["exec", "--pod", "fresh-c", "-c", "nope", "--", "echo", "hi"]);
      assertEquals(r.code, 3, r.stderr);
      assertStringIncludes(r.stderr, 'container "nope"');
    });
    await t.step("kodama start --sync: its first push right after the pod runs arrives", async () => {
      const tree = `${home}/tree`;
      await Deno.mkdir(tree);
      await Deno.writeTextFile(`${tree}/hello.txt`, "hello\n");
      const t0 = Date.now();
      const r = await k(["start", "lagged", "--image", SESSION_IMAGE, "--sync", tree]);
      assertEquals(r.code, 0, r.stderr);
      assert(Date.now() - t0 >= LAG_MS, "the start did not meet the kubelet's lag: nothing was tested");
      await k(["sync", "stop", "lagged"]);
      const got = await k(["exec", "-l", "kodama.dev/session=lagged", "--", "cat", "/workspace/hello.txt"]);
      assertEquals(got.code, 0, got.stderr);
      assertEquals(got.stdout, "hello\n");
    });
  } finally {
    c.faults.reset();
    await Deno.remove(home, { recursive: true });
  }
});
