/**
 * `kubectl drain` and `kubectl uncordon` against the test server: the Eviction API (policy/v1, found by
 * kubectl in /api/v1's `pods/eviction`), a PodDisruptionBudget that makes drain wait and retry with the
 * API server's 429, and the cordon (the node's `spec.unschedulable`, its taint, and a scheduler that then
 * places nothing there). Test server only: a real cluster's node is the whole cluster here.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import {
  KODAMA_TEST_IMAGE,
  KUBECTL,
  kubectl,
  onRealCluster,
  tempNamespace,
  type TestCluster,
} from "../cluster/harness.ts";
import { clusterTest } from "../cluster/fixture.ts";
import { NODE_NAME } from "../cluster/defaults.ts";

const apply = (c: TestCluster, ns: string, obj: unknown) =>
  kubectl(c, ["apply", "-n", ns, "-f", "-"], { stdin: JSON.stringify(obj) });

/** Start the real kubectl in the background; `text()` is what it printed so far (stdout + stderr). */
function spawnKubectl(c: TestCluster, args: string[]) {
  const cache = c.testServer ? ["--cache-dir", `${c.testServer.stateDir}/kubectl-cache`] : [];
  const child = new Deno.Command(KUBECTL, {
    args: ["--kubeconfig", c.kubeconfig, ...cache, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  const listeners = new Set<() => void>();
  const pump = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s.pipeThrough(new TextDecoderStream())) {
      out += chunk;
      for (const l of [...listeners]) l();
    }
  };
  const done = Promise.all([pump(child.stdout), pump(child.stderr)]).then(() => child.status);
  return {
    text: () => out,
    done,
    /** resolves once the output contains `s` (fails if kubectl ends first) */
    printed(s: string): Promise<void> {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!out.includes(s)) return;
          listeners.delete(check);
          resolve();
        };
        listeners.add(check);
        check();
        done.then(() =>
          out.includes(s) ? resolve() : reject(new Error(`kubectl ended without "${s}":\n${out}`))
        );
      });
    },
    kill() {
      try {
        child.kill("SIGKILL");
      } catch { /* ended */ }
    },
  };
}

clusterTest("kubectl drain waits on a PodDisruptionBudget, finishes once it is gone; uncordon", {
  seed: "none",
  ignore: onRealCluster,
}, async (t, c) => {
  const ns = await tempNamespace(c, "drain");
  const labels = { app: "gw" };
  let drain: ReturnType<typeof spawnKubectl> | undefined;
  try {
    await t.step("a StatefulSet of two and a budget that allows no disruption", async () => {
      const r = await apply(c, ns.name, {
        apiVersion: "apps/v1",
        kind: "StatefulSet",
        metadata: { name: "gw" },
        spec: {
          replicas: 2,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              terminationGracePeriodSeconds: 1,
              containers: [{ name: "main", image: KODAMA_TEST_IMAGE, command: ["sleep", "600"] }],
            },
          },
        },
      });
      assertEquals(r.code, 0, r.stderr);
      const st = await kubectl(c, ["rollout", "status", "sts/gw", "-n", ns.name, "--timeout=90s"], {
        timeoutMs: 100_000,
      });
      assertEquals(st.code, 0, st.stderr);
      const p = await apply(c, ns.name, {
        apiVersion: "policy/v1",
        kind: "PodDisruptionBudget",
        metadata: { name: "gw-pdb" },
        spec: { minAvailable: 2, selector: { matchLabels: labels } },
      });
      assertEquals(p.code, 0, p.stderr);
      assertEquals(p.stdout, "poddisruptionbudget.policy/gw-pdb created\n");
      const get = await kubectl(c, ["get", "pdb", "-n", ns.name]);
      assertMatch(get.stdout, /^NAME\s+MIN AVAILABLE\s+MAX UNAVAILABLE\s+ALLOWED DISRUPTIONS\s+AGE\n/);
      assertMatch(get.stdout, /\ngw-pdb\s+2\s+N\/A\s+0\s+\S+\n/);
    });

    await t.step("drain cordons the node and retries the eviction the budget refuses", async () => {
      drain = spawnKubectl(c, [
        "drain",
        NODE_NAME,
        "--ignore-daemonsets",
        "--delete-emptydir-data",
        "--timeout=120s",
      ]);
      await drain.printed("Cannot evict pod as it would violate the pod's disruption budget.");
      assertStringIncludes(drain.text(), `node/${NODE_NAME} cordoned`);
      assertStringIncludes(drain.text(), "(will retry after 5s)");
      const node = await kubectl(c, ["get", "node", NODE_NAME, "--no-headers"]);
      assertMatch(node.stdout, /Ready,SchedulingDisabled/);
      const taint = await kubectl(c, ["get", "node", NODE_NAME, "-o", "jsonpath={.spec.taints[*].key}"]);
      assertStringIncludes(taint.stdout, "node.kubernetes.io/unschedulable");
      const pods = await kubectl(c, ["get", "pods", "-n", ns.name, "-o", "name"]);
      assertEquals(pods.stdout, "pod/gw-0\npod/gw-1\n", "both still there");
    });

    await t.step("without the budget drain evicts both and finishes", async () => {
      const del = await kubectl(c, ["delete", "pdb", "gw-pdb", "-n", ns.name]);
      assertEquals(del.code, 0, del.stderr);
      const code = (await drain!.done).code;
      assertEquals(code, 0, drain!.text());
      assertStringIncludes(drain!.text(), "pod/gw-0 evicted");
      assertStringIncludes(drain!.text(), "pod/gw-1 evicted");
      assertStringIncludes(drain!.text(), `node/${NODE_NAME} drained`);
      // the StatefulSet made its pods again; the cordoned node takes none of them
      const sched = await kubectl(c, [
        "get",
        "pod",
        "gw-0",
        "-n",
        ns.name,
        "-o",
        `jsonpath={.status.conditions[?(@.type=="PodScheduled")].message}`,
      ]);
      assertStringIncludes(sched.stdout, "0/1 nodes are available: 1 node(s) were unschedulable.");
    });

    await t.step("uncordon: the pods are placed and run again", async () => {
      const u = await kubectl(c, ["uncordon", NODE_NAME]);
      assertEquals(u.code, 0, u.stderr);
      assertEquals(u.stdout, `node/${NODE_NAME} uncordoned\n`);
      const st = await kubectl(c, ["rollout", "status", "sts/gw", "-n", ns.name, "--timeout=90s"], {
        timeoutMs: 100_000,
      });
      assertEquals(st.code, 0, st.stderr);
      const taint = await kubectl(c, ["get", "node", NODE_NAME, "-o", "jsonpath={.spec.taints}"]);
      assert(!taint.stdout.includes("unschedulable"), taint.stdout);
    });
  } finally {
    drain?.kill();
    await drain?.done.catch(() => {});
    await ns.remove();
  }
});
