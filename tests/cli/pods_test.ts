/** Foundation acceptance against the test cluster: `kodama pods` filtering, -o json, forbidden, nothing matched. */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { DEMO, kubectl, startCluster, tempNamespace, type TestCluster } from "../cluster/harness.ts";
import { hasStackTrace, runKodama } from "./_run.ts";

let cluster: TestCluster;
const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name: "kodama pods against the test cluster",
  ...opts,
  async fn(t) {
    cluster = await startCluster({ seed: "demo" });
    const kc = ["--kubeconfig", cluster.kubeconfig];
    try {
      await t.step("-m drive lists exactly the drive pods", async () => {
        const r = await runKodama([...kc, "pods", "-n", "weka-operator-system", "-m", "drive", "-o", "name"]);
        assertEquals(r.code, 0, r.stderr);
        assertEquals(r.stdout, "pod/weka-drive-0\npod/weka-drive-1\npod/weka-drive-2\n");
        const table = await runKodama([...kc, "pods", "-n", "weka-operator-system", "-m", "drive"]);
        const lines = table.stdout.trimEnd().split("\n");
        assertEquals(lines[0].split(/\s+/), ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]);
        assertEquals(lines.slice(1).map((l) => l.split(/\s+/)[0]), [
          "weka-drive-0",
          "weka-drive-1",
          "weka-drive-2",
        ]);
      });

      await t.step("-o json is a valid v1 List of the matched pods", async () => {
        const r = await runKodama([...kc, "pods", "-n", "weka-operator-system", "-m", "drive", "-o", "json"]);
        assertEquals(r.code, 0, r.stderr);
        const list = JSON.parse(r.stdout);
        assertEquals(list.kind, "List");
        assertEquals(list.items.length, 3);
        assertEquals(list.items[0].kind, "Pod");
        assertEquals(list.items[0].metadata.labels.app, "weka-drive");
      });

      await t.step("-A -l app=api -o wide adds NAMESPACE, IP, NODE, CONTAINERS", async () => {
        const r = await runKodama([...kc, "pods", "-A", "-l", "app=api", "-o", "wide"]);
        assertEquals(r.code, 0, r.stderr);
        const [head, ...rows] = r.stdout.trimEnd().split("\n");
        assertEquals(head.split(/\s{2,}/), [
          "NAMESPACE",
          "NAME",
          "READY",
          "STATUS",
          "RESTARTS",
          "AGE",
          "IP",
          "NODE",
          "CONTAINERS",
        ]);
        // other namespaces may hold app=api pods too (other tests, on a shared real cluster): look at prod's
        const prod = rows.filter((row) => row.startsWith("prod "));
        assertEquals(prod.map((row) => row.split(/\s+/)[1]).sort(), [...DEMO.apiPods].sort());
      });

      await t.step("--regex and the yaml output", async () => {
        const r = await runKodama([
          ...kc,
          "pods",
          "-n",
          "weka-operator-system",
          "--regex",
          "^weka-(drive|compute)-0$",
          "-o",
          "yaml",
        ]);
        assertEquals(r.code, 0, r.stderr);
        assertStringIncludes(r.stdout, "name: weka-drive-0");
        assertStringIncludes(r.stdout, "name: weka-compute-0");
        assert(!r.stdout.includes("name: weka-drive-1"));
      });

      await t.step(
        "nothing listed is exit 0 with kubectl's words; a namespace that does not exist is 3",
        async () => {
          const r = await runKodama([...kc, "pods", "-n", "weka-operator-system", "-m", "nomatch"]);
          assertEquals(r.code, 0, r.stderr);
          assertEquals(r.stdout, "");
          assertEquals(r.stderr, "No resources found in weka-operator-system namespace.\n");
          // as kubectl: the same words for an empty namespace, nothing with -o name, an empty List with -o json
          // (a namespace of its own: on a real cluster `dev` has other tests' pods)
          const empty = await tempNamespace(cluster, "pods-empty");
          try {
            const k = await kubectl(cluster, ["get", "pods", "-n", empty.name]);
            const ours = await runKodama([...kc, "pods", "-n", empty.name]);
            assertEquals([ours.code, ours.stdout, ours.stderr], [k.code, k.stdout, k.stderr]);
            assertEquals((await runKodama([...kc, "pods", "-n", empty.name, "-o", "name"])).stderr, "");
            const json = await runKodama([...kc, "pods", "-n", empty.name, "-o", "json"]);
            assertEquals(JSON.parse(json.stdout).items, []);
          } finally {
            await empty.remove();
          }
          const all = await runKodama([...kc, "pods", "-A", "-l", "app=nothing-has-this"]);
          assertEquals([all.code, all.stderr], [0, "No resources found\n"]);
          const gone = await runKodama([...kc, "pods", "-n", "no-such-namespace"]);
          assertEquals(gone.code, 3, gone.stderr);
          assertStringIncludes(gone.stderr, 'namespaces "no-such-namespace" not found');
          // a command that needs a pod still exits 3
          const ex = await runKodama([
            ...kc,
            "exec",
            "-n",
            "weka-operator-system",
            "-m",
            "nomatch",
            "--",
            "true",
          ]);
          assertEquals(ex.code, 3);
          assertStringIncludes(
            ex.stderr,
            'no pods matched (namespace weka-operator-system, name contains "nomatch"',
          );
        },
      );

      await t.step("the restricted user is refused elsewhere with exit 4 naming the namespace", async () => {
        const r = await runKodama([...kc, "--context", "dev", "pods", "-n", "prod"]);
        assertEquals(r.code, 4);
        assertStringIncludes(r.stderr, "forbidden: cannot list pods in namespace prod");
        assert(!hasStackTrace(r.stderr));
        assert(r.stderr.trim().split("\n").length <= 2, r.stderr);
        const ok = await runKodama([...kc, "--context", "dev", "pods", "-n", "dev"]);
        assertEquals(ok.code, 0, ok.stderr); // allowed: listed, or "No resources found"
      });

      await t.step(
        "invalid names are usage errors (exit 2) before any request; a missing pod is exit 3",
        async () => {
          const ns = await runKodama([...kc, "pods", "-n", "Bad_NS"]);
          assertEquals(ns.code, 2);
          assertStringIncludes(ns.stderr, 'invalid namespace "Bad_NS"');
          const pod = await runKodama([...kc, "exec", "-n", "prod", "--pod", "Bad_Name", "--", "true"]);
          assertEquals(pod.code, 2);
          assertStringIncludes(pod.stderr, 'invalid pod name "Bad_Name"');
          const missing = await runKodama([...kc, "exec", "-n", "prod", "--pod", "nope-0", "--", "true"]);
          assertEquals(missing.code, 3);
          assertStringIncludes(missing.stderr, "pod nope-0 not found in namespace prod");
          for (const r of [ns, pod, missing]) assert(!hasStackTrace(r.stderr));
        },
      );

      await t.step("config defaults.namespace applies when -n is not given; -n still wins", async () => {
        const home = await Deno.makeTempDir();
        await Deno.writeTextFile(`${home}/config.yaml`, "defaults:\n  namespace: weka-operator-system\n");
        const env = { KODAMA_HOME: home };
        const r = await runKodama([...kc, "pods", "-m", "drive", "-o", "name"], { env });
        assertEquals(r.code, 0, r.stderr);
        assertEquals(r.stdout, "pod/weka-drive-0\npod/weka-drive-1\npod/weka-drive-2\n");
        const flag = await runKodama([...kc, "pods", "-n", "prod", "-m", "drive"], { env });
        assertEquals(flag.code, 0);
        assertStringIncludes(flag.stderr, "No resources found in prod namespace.");
        await Deno.remove(home, { recursive: true });
      });

      await t.step("namespace defaults to the context's namespace (KUBECONFIG honoured)", async () => {
        const r = await runKodama([
          "pods",
          "-m",
          "drive",
          "-o",
          "name",
          "--context",
          "admin",
          "-n",
          "weka-operator-system",
        ], {
          env: { KUBECONFIG: cluster.kubeconfig },
        });
        assertEquals(r.code, 0, r.stderr);
        assertEquals(r.stdout.split("\n").filter(Boolean).length, 3);
      });
    } finally {
      await cluster.stop();
    }
  },
});
