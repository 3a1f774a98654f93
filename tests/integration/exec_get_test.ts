/**
 * A pod named with --pod (or pod/NAME) is read with one GET, as kubectl reads it: the `get` right is enough
 * where kubectl's is (a Role without `list`), the API server serves its cheapest read, and a missing pod is
 * "not found" (exit 3) — one that exists but does not run is named (not_running_test.ts).
 * Filters by substring or label still list. The test server's RBAC is
 * checked against kubectl first, so the Role below means what it would on a real cluster.
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { DEMO, kubectl, onRealCluster } from "../cluster/harness.ts";
import type { PolicyRule } from "../cluster/auth.ts";
import { hasStackTrace, runKodama } from "../cli/_run.ts";
import { clusterTest } from "../cluster/fixture.ts";

/** What `kubectl exec POD` needs: get the pod, create its exec. No list. */
const GET_AND_EXEC: PolicyRule[] = [
  { apiGroups: [""], resources: ["pods"], verbs: ["get"] },
  { apiGroups: [""], resources: ["pods/exec"], verbs: ["create", "get"] },
];

// custom users and the request log are the test server's
clusterTest("exec --pod reads the pod with a GET: kubectl's rights, one request, a missing pod is exit 3", {
  seed: "demo",
  users: [{ name: "getter", namespace: "prod", rules: GET_AND_EXEC }],
  ignore: onRealCluster,
}, async (t, c) => {
  const pod = DEMO.apiPods[0];
  const k = (args: string[], context?: string) =>
    runKodama(["--kubeconfig", c.kubeconfig, ...(context ? ["--context", context] : []), ...args]);
  await t.step("kubectl agrees on the Role: exec works, listing is forbidden", async () => {
    const ex = await kubectl(c, ["exec", "-n", "prod", pod, "--", "echo", "hi"], { context: "getter" });
    assertEquals(ex.code, 0, ex.stderr);
    assertEquals(ex.stdout, "hi\n");
    const ls = await kubectl(c, ["get", "pods", "-n", "prod"], { context: "getter" });
    assertEquals(ls.code, 1);
    assertStringIncludes(ls.stderr, "Forbidden");
  });

  await t.step("kodama exec --pod and pod/NAME work with the same Role", async () => {
    for (const target of [["--pod", pod], [`pod/${pod}`]]) {
      const r = await k(["exec", "-n", "prod", ...target, "--", "echo", "hi"], "getter");
      assertEquals(r.code, 0, `${target.join(" ")}: ${r.stderr}`);
      assertEquals(r.stdout, "hi\n");
    }
  });

  await t.step(
    "a substring still lists, so that Role is refused (exit 4), in one or two lines",
    async () => {
      const r = await k(["exec", "-n", "prod", "-m", "api", "--", "true"], "getter");
      assertEquals(r.code, 4, r.stderr);
      assertStringIncludes(r.stderr, "list pods");
      assert(r.stderr.trim().split("\n").length <= 2, r.stderr);
      assert(!hasStackTrace(r.stderr));
    },
  );

  await t.step("one GET of the pod and the exec, no list", async () => {
    const log = () => c.testServer!.requestLog();
    const start = log().length;
    const r = await k(["exec", "-n", "prod", "--pod", pod, "--", "true"]);
    assertEquals(r.code, 0, r.stderr);
    const made = log().slice(start).map((x) => `${x.method} ${x.url.split("?")[0]}`);
    assertEquals(made, [
      `GET /api/v1/namespaces/prod/pods/${pod}`,
      `GET /api/v1/namespaces/prod/pods/${pod}/exec`,
    ]);
  });

  await t.step(
    "a missing pod: exit 3, not found in the namespace, for admin and for the Role",
    async () => {
      for (const context of [undefined, "getter"]) {
        const r = await k(["exec", "-n", "prod", "--pod", "nope-0", "--", "true"], context);
        assertEquals(r.code, 3, r.stderr);
        assertStringIncludes(r.stderr, "pod nope-0 not found in namespace prod");
        assert(!hasStackTrace(r.stderr));
      }
    },
  );
});
