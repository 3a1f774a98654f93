/**
 * kodama doctor against the test cluster (and a real one): the dev context is denied in prod and exits 4
 * naming the permissions, passes in dev; -o json has the same data; no kubeconfig and a dead server get their
 * own exit codes; impersonation is honoured.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { closedPortKubeconfig, hasStackTrace, runKodama } from "./_run.ts";
import { clusterTest } from "../cluster/fixture.ts";

clusterTest("kodama doctor", { seed: "sessions" }, async (t, c) => {
  const home = await Deno.makeTempDir({ prefix: "kodama-doctor-" });
  const k = (args: string[], env: Record<string, string> = {}) =>
    runKodama(["--kubeconfig", c.kubeconfig, ...args], { env: { KODAMA_HOME: home, ...env } });
  try {
    await t.step("--context dev -n prod: the denied permissions, exit 4", async () => {
      const r = await k(["doctor", "--context", "dev", "-n", "prod"]);
      assertEquals(r.code, 4, r.stderr);
      assertStringIncludes(r.stdout, "Permissions in namespace prod");
      assertMatch(r.stdout, /\n(get|create) pods\/exec +DENIED +exec, cp/);
      assertMatch(r.stdout, /\nget,list,watch pods +DENIED/);
      assertMatch(r.stdout, /\nget pods\/log +DENIED/);
      assertStringIncludes(r.stdout, "required permissions are denied");
      assertMatch(r.stdout, /\nkubeconfig +ok +.*context dev, user dev/);
      assertMatch(r.stdout, /\nserver +ok +https:\/\/\S+ v1\.\d+/);
      assertMatch(r.stdout, /\ndeno +ok +2\.\d+/);
      assertEquals(r.stderr, "");
    });

    await t.step("-n dev passes (exit 0); -o json carries the same verdict", async () => {
      const r = await k(["doctor", "--context", "dev", "-n", "dev"]);
      assertEquals(r.code, 0, r.stdout + r.stderr);
      assertStringIncludes(r.stdout, "Everything kodama needs is there.");
      const j = await k(["doctor", "--context", "dev", "-n", "prod", "-o", "json"]);
      assertEquals(j.code, 4);
      const report = JSON.parse(j.stdout);
      assertEquals(report.ok, false);
      assertEquals(report.namespace, "prod");
      const exec = report.permissions.find((p: { subresource?: string }) => p.subresource === "exec");
      assertEquals(exec.allowed, false);
      assertEquals(exec.required, true);
      assert(exec.results.every((v: { allowed: boolean }) => !v.allowed));
      const okJson = JSON.parse(
        (await k(["doctor", "--context", "dev", "-n", "dev", "-o", "json"])).stdout,
      );
      assertEquals(okJson.ok, true);
      assert(
        okJson.permissions.filter((p: { required: boolean }) => p.required).every((
          p: { allowed: boolean },
        ) => p.allowed),
      );
      // the cluster-wide ones are optional: dev may not list every namespace, and doctor still passes
      assert(
        okJson.permissions.some((p: { cluster?: boolean; allowed: boolean }) => p.cluster && !p.allowed),
      );
    });

    await t.step("--as dev: asked as the impersonated user", async () => {
      const r = await k(["doctor", "--as", "dev", "-n", "prod"]);
      assertEquals(r.code, 4, r.stdout);
      assertStringIncludes(r.stdout, "as dev");
      assertEquals((await k(["doctor", "-n", "prod"])).code, 0, "admin may do everything");
    });

    await t.step({
      name: "an unreachable server: exit 1; no kubeconfig: exit 2; one line each, no stack trace",
      ignore: c.real,
      fn: async () => {
        const dir = await Deno.makeTempDir();
        const { file } = await closedPortKubeconfig(dir);
        const down = await runKodama(["doctor", "--kubeconfig", file], { env: { KODAMA_HOME: home } });
        assertEquals(down.code, 1, down.stdout);
        assertMatch(down.stdout, /\nserver +FAILED +https:\/\/127\.0\.0\.1:\d+ .*connection refused/);
        assertStringIncludes(down.stdout, "the server cannot be reached");
        const none = await runKodama(["doctor"], {
          env: { KODAMA_HOME: home, KUBECONFIG: `${dir}/missing`, KUBERNETES_SERVICE_HOST: "" },
        });
        assertEquals(none.code, 2, none.stdout);
        assertMatch(none.stdout, /kubeconfig +FAILED +no kubeconfig found/);
        for (const r of [down, none]) assert(!hasStackTrace(r.stdout + r.stderr));
        await Deno.remove(dir, { recursive: true });
      },
    });
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
