/**
 * In-cluster config (running inside a pod): a service-account directory with token, ca.crt and namespace,
 * KUBERNETES_SERVICE_HOST/PORT pointing at the test cluster. The loader's internal options stand in for
 * /var/run/secrets/kubernetes.io/serviceaccount and the environment (no user-facing knob). The token is
 * the test server's `dev` user's, which may only use namespace `dev`.
 */
import { assert, assertEquals, assertRejects, assertStringIncludes, assertThrows } from "@kodama/test-assert";
import YAML from "yaml";
import { KODAMA_TEST_IMAGE, onRealCluster, type TestCluster } from "../cluster/harness.ts";
import { Kube } from "../../src/kube/client.ts";
import { loadKubeConfig } from "../../src/kube/config.ts";
import { execInPod } from "../../src/kube/exec.ts";
import { KodamaError } from "../../src/base/errors.ts";
import type { V1Pod } from "@kubernetes/client-node";
import { clusterTest } from "../cluster/fixture.ts";

async function rejectsKodama(fn: () => Promise<unknown>): Promise<KodamaError> {
  const e = await assertRejects(fn);
  assert(e instanceof KodamaError, String(e));
  return e;
}

async function serviceAccountDir(c: TestCluster, token: string, namespace?: string): Promise<string> {
  const doc = YAML.parse(await Deno.readTextFile(c.kubeconfig));
  const dir = await Deno.makeTempDir({ prefix: "kodama-sa-" });
  await Deno.writeTextFile(`${dir}/ca.crt`, atob(doc.clusters[0].cluster["certificate-authority-data"]));
  await Deno.writeTextFile(`${dir}/token`, token);
  if (namespace !== undefined) await Deno.writeTextFile(`${dir}/namespace`, `${namespace}\n`);
  return dir;
}

function podEnv(c: TestCluster, extra: Record<string, string> = {}) {
  // no HOME and no KUBECONFIG: nothing but the in-cluster config can be found
  const env: Record<string, string> = {
    KUBERNETES_SERVICE_HOST: "127.0.0.1",
    KUBERNETES_SERVICE_PORT: new URL(c.server).port,
    ...extra,
  };
  return (name: string) => env[name];
}

clusterTest(
  "in-cluster config: service-account token, CA and namespace files",
  { seed: "sessions", ignore: onRealCluster },
  async (t, c) => {
    const devToken = c.testServer!.devToken;
    const dirs: string[] = [];
    const kubes: Kube[] = [];
    const connect = async (dir: string, extra: Record<string, string> = {}) => {
      const k = await Kube.connect({}, { serviceAccountDir: dir, env: podEnv(c, extra) });
      kubes.push(k);
      return k;
    };
    try {
      await t.step("listPods works; the namespace comes from the namespace file", async () => {
        const dir = await serviceAccountDir(c, devToken, "dev");
        dirs.push(dir);
        const kube = await connect(dir);
        assertEquals(kube.namespace, "dev");
        assertEquals(kube.contextName, "in-cluster");
        assertEquals(kube.server, c.server);
        await kube.createObject("pods", "dev", {
          metadata: { name: "incluster-probe" },
          spec: { containers: [{ name: "main", image: KODAMA_TEST_IMAGE, command: ["sleep", "1d"] }] },
        });
        const pods = await kube.listPods(kube.namespace);
        assert(
          pods.some((p) => p.metadata?.name === "incluster-probe"),
          JSON.stringify(pods.map((p) => p.metadata?.name)),
        );
        // the token is the identity: dev may not list pods in prod
        const e = await rejectsKodama(() => kube.listPods("prod"));
        assertEquals(e.code, 4);
        // POD_NAMESPACE (the downward API) wins over the file, as in client-go
        assertEquals((await connect(dir, { POD_NAMESPACE: "staging" })).namespace, "staging");
      });

      await t.step("a token file that changes is re-read (after a 401)", async () => {
        const dir = await serviceAccountDir(c, "expired-token", "dev");
        dirs.push(dir);
        const kube = await connect(dir);
        const e = await rejectsKodama(() => kube.listPods("dev"));
        assertEquals(e.code, 4);
        assertStringIncludes(e.message, "unauthorized");
        await Deno.writeTextFile(`${dir}/token`, devToken); // the kubelet rotates the projected token
        assert(Array.isArray(await kube.listPods("dev")));
        // streams too: the exec target is recomputed after a 401
        const dir2 = await serviceAccountDir(c, "expired-token", "dev");
        dirs.push(dir2);
        const kube2 = await connect(dir2);
        await kube.call({ verb: "get", resource: "pods" }, async () => {
          // wait until the probe pod runs (created in the first step)
          for (let i = 0; i < 100; i++) {
            const p = await kube.getObject<V1Pod>("pods", "dev", "incluster-probe");
            if (p.status?.phase === "Running") return;
            await new Promise((r) => setTimeout(r, 100));
          }
        });
        const ex = await rejectsKodama(() => execInPod(kube2, "dev", "incluster-probe", "main", ["true"]));
        assertEquals(ex.code, 4);
        await Deno.writeTextFile(`${dir2}/token`, devToken);
        let out = "";
        const r = await execInPod(kube2, "dev", "incluster-probe", "main", ["echo", "hi"], {
          stdout: (b) => void (out += new TextDecoder().decode(b)),
        });
        assertEquals(r.exitCode, 0, r.error);
        assertEquals(out.trim(), "hi");
      });

      await t.step("the token file is re-read periodically, without waiting for a 401", async () => {
        const dir = await serviceAccountDir(c, devToken, "dev");
        dirs.push(dir);
        const ttl = 1000;
        const kube = await Kube.connect({}, { serviceAccountDir: dir, env: podEnv(c), authTtlMs: ttl });
        kubes.push(kube);
        const t0 = Date.now(); // the credentials are read after this, so their period ends after t0 + ttl
        assert(Array.isArray(await kube.listPods("dev")));
        await Deno.writeTextFile(`${dir}/token`, "revoked-token");
        const early = await kube.listPods("dev").then(() => "cached", (e) => String(e));
        // a loaded machine may already be past the period: only a request inside it proves the cache
        if (Date.now() - t0 < ttl) assertEquals(early, "cached", "re-read before the period ended");
        // fixed: what is waited for is the credentials' period itself ending (time is the condition)
        await new Promise((r) => setTimeout(r, Math.max(0, t0 + ttl + 50 - Date.now())));
        const e = await rejectsKodama(() => kube.listPods("dev"));
        assertEquals(e.code, 4);
      });

      await t.step("no namespace file: namespace default", async () => {
        const dir = await serviceAccountDir(c, devToken);
        dirs.push(dir);
        assertEquals((await connect(dir)).namespace, "default");
      });

      await t.step("missing token: a clear usage error", async () => {
        const dir = await Deno.makeTempDir({ prefix: "kodama-sa-" });
        dirs.push(dir);
        const e = assertThrows(() =>
          loadKubeConfig({}, { serviceAccountDir: dir, env: podEnv(c) })
        ) as KodamaError;
        assertEquals(e.code, 2);
        assertStringIncludes(
          e.message,
          `KUBERNETES_SERVICE_HOST is set but the service account token ${dir}/token is missing`,
        );
        assertEquals(e.message.split("\n").length, 1);
        // the token disappears while running: the next re-read says which file
        const dir2 = await serviceAccountDir(c, devToken, "dev");
        dirs.push(dir2);
        const kube = await connect(dir2);
        await Deno.remove(`${dir2}/token`);
        const e2 = await rejectsKodama(() => kube.listPods("dev"));
        assertEquals(e2.code, 4);
        assertStringIncludes(e2.message, `cannot read token file ${dir2}/token`);
      });
    } finally {
      for (const k of kubes) k.close();
      for (const d of dirs) await Deno.remove(d, { recursive: true }).catch(() => {});
    }
  },
);
