/**
 * Workload targets (deploy/, sts/, rs/, ds/, job/, svc/) against the test cluster: the test server serves
 * Deployments, ReplicaSets and DaemonSets read-only (Jobs and StatefulSets with their controllers; proved
 * with the real kubectl), and kodama's exec, logs, pods,
 * wait, cp and port-forward resolve them to their pods — exec picks the same pod kubectl picks.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import * as http from "node:http";
import {
  KODAMA_TEST_IMAGE,
  kubectl,
  needsTestServer,
  startCluster,
  type TestCluster,
} from "../cluster/harness.ts";
import { create } from "../cluster/seed.ts";
import { runKodama, spawnKodama } from "../cli/_run.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

async function withCluster(fn: (c: TestCluster, k: typeof runKodama) => Promise<void>) {
  const c = await startCluster({ seed: "demo" });
  const k = (args: string[], o = {}) => runKodama(["--kubeconfig", c.kubeconfig, ...args], o);
  try {
    // every api pod ready (the Deployment's status counts them)
    const w = await k(["wait", "-n", "prod", "deploy/api", "--for", "ready", "--timeout", "60s", "-q"]);
    assertEquals(w.code, 0, w.stderr);
    await fn(c, k);
  } finally {
    await c.stop();
  }
}

/** Pod names of `kodama pods TARGET -o name`, without the `pod/`. */
async function podsOf(k: typeof runKodama, ns: string, target: string): Promise<string[]> {
  const r = await k(["pods", "-n", ns, target, "-o", "name"]);
  assertEquals(r.code, 0, r.stderr);
  return r.stdout.trim().split("\n").map((l) => l.replace(/^pod\//, "")).sort();
}

Deno.test({
  name: "workload kinds as kubectl sees them: discovery, tables, describe, read-only",
  ...opts,
  async fn() {
    await withCluster(async (c) => {
      const res = await kubectl(c, ["api-resources", "--api-group=apps", "-o", "name"]);
      assertEquals(res.code, 0, res.stderr);
      for (const r of ["deployments.apps", "replicasets.apps", "statefulsets.apps", "daemonsets.apps"]) {
        assertStringIncludes(res.stdout, r);
      }
      assertStringIncludes(
        (await kubectl(c, ["api-resources", "--api-group=batch", "-o", "name"])).stdout,
        "jobs.batch",
      );

      const deploy = await kubectl(c, ["get", "deploy", "-n", "prod"]);
      assertEquals(deploy.code, 0, deploy.stderr);
      assertMatch(deploy.stdout, /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\n/);
      assertMatch(deploy.stdout, /\napi\s+2\/2\s+2\s+2\s+\S+\n/);
      const wide = await kubectl(c, ["get", "deploy", "api", "-n", "prod", "-o", "wide"]);
      assertMatch(wide.stdout, /CONTAINERS\s+IMAGES\s+SELECTOR\n/);
      assertMatch(wide.stdout, /\bapp=api\n/);
      const sts = await kubectl(c, ["get", "sts", "-n", "weka-operator-system"]);
      assertMatch(sts.stdout, /\nweka-drive\s+3\/3\s+/);
      const rs = await kubectl(c, ["get", "rs", "-n", "prod", "-l", "app=api"]);
      assertMatch(rs.stdout, /^NAME\s+DESIRED\s+CURRENT\s+READY\s+AGE\n\S+\s+2\s+2\s+2\s+/);
      const owner = await kubectl(c, [
        "get",
        "rs",
        "-n",
        "prod",
        "-l",
        "app=api",
        "-o",
        "jsonpath={.items[0].metadata.ownerReferences[0].kind}/{.items[0].metadata.ownerReferences[0].name}",
      ]);
      assertEquals(owner.stdout, "Deployment/api");
      const describe = await kubectl(c, ["describe", "deploy", "api", "-n", "prod"]);
      assertMatch(
        describe.stdout,
        /Replicas:\s+2 desired \| 2 updated \| 2 total \| 2 available \| 0 unavailable/,
      );
      const rollout = await kubectl(c, ["rollout", "status", "deploy/api", "-n", "prod", "--timeout", "10s"]);
      assertStringIncludes(rollout.stdout, `deployment "api" successfully rolled out`);

      const forbidden = await kubectl(c, ["get", "deploy", "-n", "prod"], { context: "dev" });
      assertEquals(forbidden.code, 1);
      assertStringIncludes(
        forbidden.stderr,
        `deployments.apps is forbidden: User "dev" cannot list resource "deployments" in API group "apps"`,
      );
      if (!needsTestServer(c)) return;
      // no Deployment controller here: Deployments (like ReplicaSets and DaemonSets) are read-only, with
      // the API server's own refusal (Jobs and StatefulSets have theirs: tests/cluster/controllers/)
      const create = await kubectl(c, [
        "create",
        "deployment",
        "x",
        `--image=${KODAMA_TEST_IMAGE}`,
        "-n",
        "dev",
      ]);
      assertEquals(create.code, 1);
      assertStringIncludes(create.stderr, "the server does not allow this method on the requested resource");
    });
  },
});

Deno.test({
  name: "exec deploy/api runs in one api pod, the one kubectl picks; --all in each; logs follow all",
  ...opts,
  async fn() {
    await withCluster(async (c, k) => {
      const apiPods = await podsOf(k, "prod", "deploy/api");
      assertEquals(apiPods.length, 2);

      const one = await k(["exec", "-n", "prod", "deploy/api", "--", "hostname"]);
      assertEquals(one.code, 0, one.stderr);
      assert(apiPods.includes(one.stdout.trim()), one.stdout);
      const kc = await kubectl(c, ["exec", "-n", "prod", "deploy/api", "--", "hostname"]);
      assertEquals(kc.code, 0, kc.stderr);
      assertEquals(one.stdout, kc.stdout, "kodama and kubectl choose the same pod");
      // svc/ and rs/ pick among the same pods
      const svc = await k(["exec", "-n", "prod", "svc/api", "--", "hostname"]);
      assertEquals(svc.stdout, kc.stdout);

      const all = await k(["exec", "-n", "prod", "deploy/api", "--all", "--", "hostname"]);
      assertEquals(all.code, 0, all.stderr);
      const lines = all.stdout.trim().split("\n").sort();
      assertEquals(lines, apiPods.map((p) => `${p} | ${p}`));

      const logs = await k(["logs", "-n", "prod", "deploy/api", "--tail", "5"]);
      assertEquals(logs.code, 0, logs.stderr);
      for (const p of apiPods) assertStringIncludes(logs.stdout, `${p} | `);

      // a pod name before -- is that pod, as in kubectl exec POD -- CMD
      const named = await k(["exec", "-n", "prod", apiPods[1], "--", "hostname"]);
      assertEquals(named.stdout.trim(), apiPods[1]);

      const missing = await k(["exec", "-n", "prod", "deploy/nope", "--", "hostname"]);
      assertEquals(missing.code, 3);
      assertStringIncludes(missing.stderr, `deployments.apps "nope" not found`);
      const badType = await k(["exec", "-n", "prod", "cronjob/x", "--", "hostname"]);
      assertEquals(badType.code, 2);
      assertStringIncludes(badType.stderr, `unknown resource type "cronjob"`);
      const withA = await k(["pods", "-A", "deploy/api"]);
      assertEquals(withA.code, 2);
    });
  },
});

Deno.test({
  name: "pods, wait, cp and port-forward take workload targets",
  ...opts,
  async fn() {
    await withCluster(async (_c, k) => {
      const drives = await podsOf(k, "weka-operator-system", "sts/weka-drive");
      assertEquals(drives, ["weka-drive-0", "weka-drive-1", "weka-drive-2"]);
      const waited = await k(["wait", "-n", "prod", "svc/web", "--for", "ready", "--timeout", "30s"]);
      assertEquals(waited.code, 0, waited.stderr);
      assertMatch(waited.stdout, /^pod\/web-\S+ condition met\n$/);

      const dir = await Deno.makeTempDir();
      try {
        await Deno.writeTextFile(`${dir}/in.txt`, "via deploy\n");
        const up = await k(["cp", "-n", "prod", `${dir}/in.txt`, "deploy/api:in.txt"]);
        assertEquals(up.code, 0, up.stderr);
        const down = await k(["cp", "-n", "prod", "deploy/api:in.txt", `${dir}/out.txt`]);
        assertEquals(down.code, 0, down.stderr);
        assertEquals(await Deno.readTextFile(`${dir}/out.txt`), "via deploy\n");
      } finally {
        await Deno.remove(dir, { recursive: true });
      }

      const pf = spawnKodama([
        "--kubeconfig",
        _c.kubeconfig,
        "port-forward",
        "-n",
        "prod",
        "deploy/api",
        ":8080",
      ]);
      try {
        const reader = pf.stdout.pipeThrough(new TextDecoderStream()).getReader();
        let out = "";
        while (!/Forwarding from 127\.0\.0\.1:(\d+)/.test(out)) {
          const { value, done } = await reader.read();
          if (done) throw new Error(`port-forward ended: ${out}`);
          out += value;
        }
        const port = Number(/127\.0\.0\.1:(\d+)/.exec(out)![1]);
        const body = await new Promise<string>((resolve, reject) => {
          http.get({ host: "127.0.0.1", port, path: "/", agent: false }, (res) => {
            let b = "";
            res.on("data", (d) => b += d);
            res.on("end", () => resolve(b));
          }).on("error", reject);
        });
        assert((await podsOf(k, "prod", "deploy/api")).includes(body.trim()), body);
        reader.releaseLock();
      } finally {
        pf.kill("SIGINT");
        await pf.status;
        await pf.stdout.cancel().catch(() => {});
        await pf.stderr.cancel().catch(() => {});
      }
    });
  },
});

Deno.test({
  name: "a Job's, a DaemonSet's and a session's pods, found through their selectors",
  ...opts,
  ignore: !!Deno.env.get("KODAMA_TEST_KUBECONFIG"),
  async fn() {
    await withCluster(async (c, k) => {
      const api = c.testServer!.api;
      const spec = {
        containers: [{ name: "main", image: KODAMA_TEST_IMAGE, command: ["sh", "-c", "echo done"] }],
      };
      // the Job controller adopts the orphan pod its selector matches (and makes none of its own)
      const job = create(api, "jobs", "dev", {
        metadata: { name: "etl" },
        spec: { template: { spec: { ...spec, restartPolicy: "Never" } } },
      })!;
      const jobLabels = job.spec.template.metadata.labels;
      create(api, "pods", "dev", {
        metadata: { name: "etl-7xk2q", labels: jobLabels },
        spec: { ...spec, restartPolicy: "Never" },
      });
      const agent = { app: "agent" };
      create(api, "daemonsets", "dev", {
        metadata: { name: "agent" },
        spec: {
          selector: { matchLabels: agent },
          template: {
            metadata: { labels: agent },
            spec: { containers: [{ name: "a", image: KODAMA_TEST_IMAGE }] },
          },
        },
      });
      create(api, "pods", "dev", {
        metadata: { name: "agent-node1", labels: agent },
        spec: { containers: [{ name: "a", image: KODAMA_TEST_IMAGE, command: ["sleep", "3600"] }] },
      });
      // session/NAME: the labels every kodama session pod carries
      create(api, "pods", "dev", {
        metadata: {
          name: "session-fix-login",
          labels: { "app.kubernetes.io/managed-by": "kodama", "kodama.dev/session": "fix-login" },
        },
        spec: { containers: [{ name: "agent", image: "busybox:1.36", command: ["sleep", "3600"] }] },
      });
      assertEquals(await podsOf(k, "dev", "session/fix-login"), ["session-fix-login"]);
      const up = await k([
        "wait",
        "-n",
        "dev",
        "session/fix-login",
        "--for",
        "ready",
        "--timeout",
        "60s",
        "-q",
      ]);
      assertEquals(up.code, 0, up.stderr);
      const inSession = await k(["exec", "-n", "dev", "session/fix-login", "--", "hostname"]);
      assertEquals(inSession.stdout, "session-fix-login\n", inSession.stderr);
      assertEquals(await podsOf(k, "dev", "job/etl"), ["etl-7xk2q"]);
      assertEquals(await podsOf(k, "dev", "ds/agent"), ["agent-node1"]);
      const done = await k([
        "wait",
        "-n",
        "dev",
        "job/etl",
        "--for",
        "phase=Succeeded",
        "--timeout",
        "30s",
        "-q",
      ]);
      assertEquals(done.code, 0, done.stderr);
      const logs = await k(["logs", "-n", "dev", "job/etl"]);
      assertEquals(logs.stdout, "etl-7xk2q | done\n");
      // the status follows the pods: kubectl shows the Job complete
      for (let i = 0; i < 100; i++) {
        const j = await kubectl(c, ["get", "job", "etl", "-n", "dev", "--no-headers"]);
        if (/^etl\s+Complete\s+1\/1\s+/.test(j.stdout)) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error("job etl never showed Complete 1/1");
    });
  },
});
