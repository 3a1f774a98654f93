/**
 * The test server plays kube-controller-manager (tests/cluster/controllers/): Jobs and StatefulSets made,
 * watched, replaced and deleted with the real kubectl against the HTTPS server, whose runtime runs the
 * pods the controllers create. On a real cluster the same commands must give the same answers.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { KODAMA_TEST_IMAGE, kubectl, tempNamespace, type TestCluster } from "../cluster/harness.ts";
import { clusterTest } from "../cluster/fixture.ts";

const apply = (c: TestCluster, ns: string, obj: unknown) =>
  kubectl(c, ["apply", "-n", ns, "-f", "-"], { stdin: JSON.stringify(obj) });

function jobObj(name: string, cmd: string, spec: Record<string, unknown> = {}) {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, labels: { "test.kodama.dev/job": name } },
    spec: {
      backoffLimit: 2,
      template: {
        metadata: { labels: { "test.kodama.dev/job": name } },
        spec: {
          restartPolicy: "Never",
          terminationGracePeriodSeconds: 1,
          containers: [{ name: "main", image: KODAMA_TEST_IMAGE, command: ["sh", "-c", cmd] }],
        },
      },
      ...spec,
    },
  };
}

clusterTest("kubectl: a Job runs its pod to Complete; delete job takes the pod", {
  seed: "none",
  controllers: { backoffBaseMs: 100 },
}, async (t, c) => {
  const ns = await tempNamespace(c, "jobs");
  try {
    await t.step("a Job's pod runs and the Job completes", async () => {
      const r = await apply(c, ns.name, jobObj("hello", "echo hi from the job"));
      assertEquals(r.code, 0, r.stderr);
      assertEquals(r.stdout, "job.batch/hello created\n");
      const w = await kubectl(c, [
        "wait",
        "-n",
        ns.name,
        "job/hello",
        "--for=condition=complete",
        "--timeout=60s",
      ], {
        timeoutMs: 70_000,
      });
      assertEquals(w.code, 0, w.stderr);
      const logs = await kubectl(c, ["logs", "-n", ns.name, "job/hello"]);
      assertEquals(logs.stdout, "hi from the job\n", logs.stderr);
      const get = await kubectl(c, ["get", "jobs,pods", "-n", ns.name, "-l", "test.kodama.dev/job=hello"]);
      assertEquals(get.code, 0, get.stderr);
      assertMatch(get.stdout, /job\.batch\/hello\s+Complete\s+1\/1\s+/);
      assertMatch(get.stdout, /pod\/hello-[a-z0-9]{5}\s+0\/1\s+Completed\s+0\s+/);
      const desc = await kubectl(c, ["describe", "job", "hello", "-n", ns.name]);
      assertMatch(desc.stdout, /Pods Statuses:\s+0 Active \(0 Ready\) \/ 1 Succeeded \/ 0 Failed/);
      assertMatch(desc.stdout, /Normal\s+SuccessfulCreate\s+.*job-controller\s+Created pod: hello-/);
      assertMatch(desc.stdout, /Normal\s+Completed\s+.*job-controller\s+Job completed/);
    });

    await t.step("kubectl create job and create pdb (protobuf bodies)", async () => {
      const r = await kubectl(c, [
        "create",
        "job",
        "typed",
        "-n",
        ns.name,
        `--image=${KODAMA_TEST_IMAGE}`,
        "--",
        "echo",
        "typed",
      ]);
      assertEquals([r.code, r.stdout], [0, "job.batch/typed created\n"], r.stderr);
      const w = await kubectl(c, [
        "wait",
        "-n",
        ns.name,
        "job/typed",
        "--for=condition=complete",
        "--timeout=60s",
      ], {
        timeoutMs: 70_000,
      });
      assertEquals(w.code, 0, w.stderr);
      assertEquals((await kubectl(c, ["logs", "-n", ns.name, "job/typed"])).stdout, "typed\n");
      const p = await kubectl(c, [
        "create",
        "pdb",
        "typed",
        "-n",
        ns.name,
        "--selector=app=x",
        "--max-unavailable=50%",
      ]);
      assertEquals([p.code, p.stdout], [0, "poddisruptionbudget.policy/typed created\n"], p.stderr);
      const get = await kubectl(c, ["get", "pdb", "typed", "-n", ns.name, "--no-headers"]);
      assertMatch(get.stdout, /^typed\s+N\/A\s+50%\s+0\s+/);
    });

    await t.step("a failing Job retries to its backoffLimit and fails", async () => {
      const r = await apply(c, ns.name, jobObj("crash", "exit 3", { backoffLimit: 1 }));
      assertEquals(r.code, 0, r.stderr);
      const w = await kubectl(c, [
        "wait",
        "-n",
        ns.name,
        "job/crash",
        "--for=condition=failed",
        "--timeout=60s",
      ], {
        timeoutMs: 70_000,
      });
      assertEquals(w.code, 0, w.stderr);
      const reason = await kubectl(c, [
        "get",
        "job",
        "crash",
        "-n",
        ns.name,
        "-o",
        "jsonpath={.status.failed} {.status.conditions[?(@.type=='Failed')].reason}",
      ]);
      assertEquals(reason.stdout, "2 BackoffLimitExceeded");
    });

    await t.step("restartPolicy Always is refused with the API server's message", async () => {
      const bad = jobObj("bad", "true");
      (bad.spec.template.spec as Record<string, unknown>).restartPolicy = "Always";
      const r = await apply(c, ns.name, bad);
      assertEquals(r.code, 1);
      assertStringIncludes(
        r.stderr,
        `The Job "bad" is invalid: spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"`,
      );
    });

    await t.step(
      "a DELETE without propagationPolicy orphans the pods, with the API server's warning",
      async () => {
        const r = await apply(c, ns.name, jobObj("orph", "sleep 600"));
        assertEquals(r.code, 0, r.stderr);
        const up = await kubectl(c, [
          "wait",
          "-n",
          ns.name,
          "pod",
          "-l",
          "job-name=orph",
          "--for=condition=ready",
          "--timeout=60s",
        ], { timeoutMs: 70_000 });
        assertEquals(up.code, 0, up.stderr);
        const del = await kubectl(c, ["delete", "--raw", `/apis/batch/v1/namespaces/${ns.name}/jobs/orph`]);
        assertEquals(del.code, 0, del.stderr);
        assertStringIncludes(
          del.stderr,
          "Warning: child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to remove them or set propagationPolicy=Orphan to suppress this warning",
        );
        const owners = await kubectl(c, [
          "get",
          "pods",
          "-n",
          ns.name,
          "-l",
          "job-name=orph",
          "-o",
          "jsonpath={.items[*].metadata.name}:{.items[*].metadata.ownerReferences}",
        ]);
        assertMatch(owners.stdout, /^orph-[a-z0-9]{5}:$/, "the pod stays, orphaned");
        const gone = await kubectl(
          c,
          ["delete", "pods", "-n", ns.name, "-l", "job-name=orph", "--wait=true"],
          {
            timeoutMs: 60_000,
          },
        );
        assertEquals(gone.code, 0, gone.stderr);
      },
    );

    await t.step("kubectl delete job (background) takes its pods", async () => {
      const r = await apply(c, ns.name, jobObj("long", "sleep 600"));
      assertEquals(r.code, 0, r.stderr);
      const up = await kubectl(c, [
        "wait",
        "-n",
        ns.name,
        "pod",
        "-l",
        "job-name=long",
        "--for=condition=ready",
        "--timeout=60s",
      ], {
        timeoutMs: 70_000,
      });
      assertEquals(up.code, 0, up.stderr);
      const del = await kubectl(c, ["delete", "job", "long", "-n", ns.name, "--wait=true"], {
        timeoutMs: 60_000,
      });
      assertEquals(del.code, 0, del.stderr);
      assertEquals(del.stdout, `job.batch "long" deleted\n`);
      const gone = await kubectl(c, [
        "wait",
        "-n",
        ns.name,
        "pod",
        "-l",
        "job-name=long",
        "--for=delete",
        "--timeout=60s",
      ], {
        timeoutMs: 70_000,
      });
      assertEquals(gone.code, 0, gone.stderr);
    });
  } finally {
    await ns.remove();
  }
});

clusterTest("kubectl: a StatefulSet's pods, a deleted pod made again, rollout status, scale", {
  seed: "none",
}, async (t, c) => {
  const ns = await tempNamespace(c, "sts");
  const labels = { app: "gw" };
  const stsObj = (replicas: number, version: string) => ({
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name: "gw" },
    spec: {
      replicas,
      serviceName: "gw",
      selector: { matchLabels: labels },
      template: {
        metadata: { labels, annotations: { version } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [{ name: "main", image: KODAMA_TEST_IMAGE, command: ["sleep", "600"] }],
        },
      },
    },
  });
  const rollout = () =>
    kubectl(c, ["rollout", "status", "sts/gw", "-n", ns.name, "--timeout=90s"], { timeoutMs: 100_000 });
  try {
    await t.step("two replicas, in order, and rollout status waits for them", async () => {
      const r = await apply(c, ns.name, stsObj(2, "1"));
      assertEquals(r.code, 0, r.stderr);
      const st = await rollout();
      assertEquals(st.code, 0, st.stderr);
      assertStringIncludes(st.stdout, "partitioned roll out complete: 2 new pods have been updated...");
      const get = await kubectl(c, ["get", "sts,pods", "-n", ns.name, "-o", "name"]);
      assertEquals(get.stdout, "statefulset.apps/gw\npod/gw-0\npod/gw-1\n");
      const sts = await kubectl(c, ["get", "sts", "gw", "-n", ns.name, "--no-headers"]);
      assertMatch(sts.stdout, /^gw\s+2\/2\s+/);
    });

    await t.step("a deleted pod comes back under the same name, a new uid", async () => {
      const uid =
        (await kubectl(c, ["get", "pod", "gw-1", "-n", ns.name, "-o", "jsonpath={.metadata.uid}"])).stdout;
      const del = await kubectl(c, ["delete", "pod", "gw-1", "-n", ns.name], { timeoutMs: 60_000 });
      assertEquals(del.code, 0, del.stderr);
      const w = await kubectl(c, [
        "wait",
        "pod/gw-1",
        "-n",
        ns.name,
        "--for=condition=ready",
        "--timeout=60s",
      ], {
        timeoutMs: 70_000,
      });
      assertEquals(w.code, 0, w.stderr);
      const now =
        (await kubectl(c, ["get", "pod", "gw-1", "-n", ns.name, "-o", "jsonpath={.metadata.uid}"])).stdout;
      assert(now && now !== uid, "a new pod gw-1");
    });

    await t.step("a template change rolls both pods; scale to 1 removes gw-1", async () => {
      const r = await apply(c, ns.name, stsObj(2, "2"));
      assertEquals(r.code, 0, r.stderr);
      const st = await rollout();
      assertEquals(st.code, 0, st.stderr);
      const revs = await kubectl(c, [
        "get",
        "pods",
        "-n",
        ns.name,
        "-o",
        "jsonpath={range .items[*]}{.metadata.annotations.version}{' '}{end}",
      ]);
      assertEquals(revs.stdout, "2 2 ");
      const scale = await kubectl(c, ["scale", "sts", "gw", "-n", ns.name, "--replicas=1"]);
      assertEquals([scale.code, scale.stdout], [0, "statefulset.apps/gw scaled\n"], scale.stderr);
      const sc = await kubectl(c, [
        "get",
        "--raw",
        `/apis/apps/v1/namespaces/${ns.name}/statefulsets/gw/scale`,
      ]);
      assertEquals(JSON.parse(sc.stdout).spec, { replicas: 1 });
      const gone = await kubectl(c, ["wait", "pod/gw-1", "-n", ns.name, "--for=delete", "--timeout=60s"], {
        timeoutMs: 70_000,
      });
      assertEquals(gone.code, 0, gone.stderr);
      const del = await kubectl(c, ["delete", "sts", "gw", "-n", ns.name, "--cascade=foreground"], {
        timeoutMs: 60_000,
      });
      assertEquals(del.code, 0, del.stderr);
      const none = await kubectl(c, ["get", "sts,pods", "-n", ns.name, "-o", "name"]);
      assertEquals(none.stdout, "");
    });
  } finally {
    await ns.remove();
  }
});
