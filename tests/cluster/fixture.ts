/**
 * `clusterTest(name, { seed }, fn)`: a Deno test with its own test cluster (or the real one, with
 * KODAMA_TEST_KUBECONFIG), stopped when `fn` ends however it ends. It replaces
 * `Deno.test({ sanitizeOps: false, sanitizeResources: false, … })` + `startCluster` + `try/finally stop`:
 *
 *   clusterTest("wait against the test cluster", { seed: "demo" }, async (t, cluster) => {
 *     const kube = await Kube.connect({ kubeconfig: cluster.kubeconfig });
 *     await t.step("…", async () => { … });
 *   });
 *
 * The sanitizers are off: the cluster's server, its pods' processes and the client's keep-alive sockets
 * outlive single steps by design.
 */
import { startCluster, type StartOptions, type TestCluster } from "./harness.ts";
import { TIMEOUT } from "../_timeout.ts";
import type { SideBySide } from "../_side_by_side.ts";

export interface ClusterTestOptions extends StartOptions {
  /** skip the test (e.g. `onRealCluster` for a test that needs the test server) */
  ignore?: boolean;
  only?: boolean;
  /** this test's own time limit in ms (default: tests/_timeout.ts's) */
  timeoutMs?: number;
  /** run as a step of this family, side by side with its other tests (tests/_side_by_side.ts) */
  family?: SideBySide;
}

type ClusterFn = (t: Deno.TestContext, cluster: TestCluster) => Promise<void>;

/** Start a cluster for `fn` and stop it when `fn` ends, however it ends. */
async function withCluster(start: StartOptions, t: Deno.TestContext, fn: ClusterFn): Promise<void> {
  const cluster = await startCluster(start);
  try {
    await fn(t, cluster);
  } finally {
    await cluster.stop();
  }
}

export function clusterTest(
  name: string,
  o: ClusterTestOptions,
  fn: ClusterFn,
): void {
  const { ignore, only, timeoutMs, family, ...start } = o;
  if (family) {
    if (only) throw new Error(`${name}: "only" is not for a test of a family (${family.name})`);
    return family.test(name, (t) => withCluster(start, t, fn), { ignore });
  }
  Deno.test({
    name,
    ignore,
    only,
    ...(timeoutMs ? { [TIMEOUT]: timeoutMs } : {}),
    sanitizeOps: false,
    sanitizeResources: false,
    fn: (t) => withCluster(start, t, fn),
  });
}
