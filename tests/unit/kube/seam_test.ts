/**
 * The seam under the cluster (src/kube/seam.ts) is types only and `Kube` implements it: a feature that takes
 * `KubeTargets` is called with the connected `Kube` by the CLI, and with the in-memory cluster by its tests.
 */
import { assertEquals } from "@kodama/test-assert";
import type { Kube } from "../../../src/kube/client.ts";
import type {
  KubeObjects,
  KubePods,
  KubeReach,
  KubeReachEvents,
  KubeSessions,
  KubeTargets,
} from "../../../src/kube/seam.ts";
import type { MemCluster } from "../../cluster/memcluster.ts";

// compile-time: `deno check` fails here when Kube or the in-memory cluster drifts from the seam
type Implements<A, B extends A> = B;
export type _KubeIsTargets = Implements<KubeObjects & KubePods & KubeReach, Kube>;
export type _MemIsTargets = Implements<KubeTargets, MemCluster>;
export type _KubeIsSessions = Implements<KubeSessions, Kube>;
export type _MemIsSessions = Implements<KubeSessions, MemCluster>;
export type _KubeHasReachEvents = Implements<KubeReachEvents, Kube>;
export type _MemHasReachEvents = Implements<KubeReachEvents, MemCluster>;

Deno.test("seam: src/kube/seam.ts imports only types (nothing loads at run time)", async () => {
  const src = await Deno.readTextFile(new URL("../../../src/kube/seam.ts", import.meta.url));
  const imports = [...src.matchAll(/^import\s+(type\s+)?[^;]*;/gm)];
  assertEquals(imports.filter((m) => !m[1]).map((m) => m[0]), []);
  assertEquals(/^export\s+(const|function|class|let|enum)\b/m.test(src), false, "no values exported");
});
