/**
 * An unterminated last log line is held back until its newline arrives (or the container exits), as
 * containerd writes container logs: `kubectl logs` never shows half a line. Runs on a real cluster too.
 */
import { assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { kubectl, tempNamespace, waitUntil } from "../cluster/harness.ts";
import { Kube } from "../../src/kube/client.ts";
import { waitForPods } from "../../src/pods/wait.ts";
import { busyboxPod } from "./_helpers.ts";
import { clusterTest } from "../cluster/fixture.ts";

clusterTest("logs: half a line is held back until its newline", { seed: "none" }, async (_t, c) => {
  const ns = await tempNamespace(c, "fidelity-logs");
  const kube = await Kube.connect({ kubeconfig: c.kubeconfig });
  try {
    // prints a whole line, then half of one, and finishes it only once the test says so
    const script =
      "echo start; printf held; while [ ! -f /data/go ]; do sleep 0.2; done; echo ' back'; exec sleep 1d";
    await kube.createObject(
      "pods",
      ns.name,
      busyboxPod("half", { command: ["sh", "-c", script], dir: "/data" }),
    );
    await waitForPods(kube, { namespace: ns.name, pod: "half" }, { for: "ready", timeoutMs: 60_000 });
    const logs = async () => (await kubectl(c, ["logs", "half", "-n", ns.name])).stdout;
    await waitUntil(async () => (await logs()).includes("start\n"), 30_000, "the first line");
    // the old test server let a partial line out after 50 ms; containerd waits for the newline
    await new Promise((r) => setTimeout(r, 500));
    assertEquals(await logs(), "start\n", "no half line");
    const go = await kubectl(c, ["exec", "half", "-n", ns.name, "--", "touch", "/data/go"]);
    assertEquals(go.code, 0, go.stderr);
    await waitUntil(async () => (await logs()).includes("back"), 30_000, "the rest of the line");
    assertEquals(await logs(), "start\nheld back\n");
    const ts = await kubectl(c, ["logs", "half", "-n", ns.name, "--timestamps"]);
    assertStringIncludes(ts.stdout.split("\n")[1], " held back"); // one timestamp for the whole line
  } finally {
    kube.close();
    await ns.remove();
  }
});
