/**
 * Authentication and authorization of the Kubernetes API test server, with the real kubectl:
 * client certificates (admin), bearer tokens (dev), 401 for bad credentials, 403 Forbidden with
 * kube-apiserver's message outside namespace `dev`, and `kubectl auth can-i`.
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import YAML from "yaml";
import { kubectl } from "../cluster/harness.ts";
import { runKodama } from "../cli/_run.ts";
import { clusterTest } from "../cluster/fixture.ts";

clusterTest("cluster: users, contexts and permissions", { seed: "demo" }, async (t, c) => {
  await t.step("kubeconfig: contexts admin (current, client cert) and dev (token)", async () => {
    // deno-lint-ignore no-explicit-any
    const kc: any = YAML.parse(await Deno.readTextFile(c.kubeconfig));
    assertEquals(kc["current-context"], "admin");
    assertEquals(kc.contexts.map((x: { name: string }) => x.name).sort(), ["admin", "dev"]);
    if (c.real) return;
    assert(kc.clusters[0].cluster["certificate-authority-data"]);
    const admin = kc.users.find((u: { name: string }) => u.name === "admin").user;
    assert(
      admin["client-certificate-data"] && admin["client-key-data"],
      "admin uses a client certificate",
    );
    assert(
      kc.users.find((u: { name: string }) => u.name === "dev").user.token,
      "dev uses a bearer token",
    );
    assertEquals(c.server, kc.clusters[0].cluster.server);
  });

  await t.step("dev: get pods -n prod is Forbidden, -n dev works", async () => {
    const r = await kubectl(c, ["get", "pods", "-n", "prod"], { context: "dev" });
    assertEquals(r.code, 1);
    assertStringIncludes(
      r.stderr,
      `Error from server (Forbidden): pods is forbidden: User "dev" cannot list resource "pods" in API group "" in the namespace "prod"`,
    );
    const named = await kubectl(c, ["get", "pod", "x", "-n", "prod"], { context: "dev" });
    assertStringIncludes(
      named.stderr,
      `pods "x" is forbidden: User "dev" cannot get resource "pods" in API group "" in the namespace "prod"`,
    );
    const ok = await kubectl(c, ["get", "pods", "-n", "dev"], { context: "dev" });
    assertEquals(ok.code, 0, ok.stderr);
    const created = await kubectl(
      c,
      ["create", "configmap", "dev-cm", "-n", "dev", "--from-literal=a=b"],
      { context: "dev" },
    );
    assertEquals(created.code, 0, created.stderr);
    await kubectl(c, ["delete", "configmap", "dev-cm", "-n", "dev"], { context: "dev" });
  });

  await t.step("dev: cluster-scoped and other namespaces are Forbidden", async () => {
    const ns = await kubectl(c, ["get", "namespaces"], { context: "dev" });
    assertEquals(ns.code, 1);
    assertStringIncludes(
      ns.stderr,
      `namespaces is forbidden: User "dev" cannot list resource "namespaces" in API group "" at the cluster scope`,
    );
    const all = await kubectl(c, ["get", "pods", "-A"], { context: "dev" });
    assertStringIncludes(all.stderr, `cannot list resource "pods" in API group "" at the cluster scope`);
    const exec = await kubectl(c, ["exec", "-n", "prod", "api-6b7f9c8d4-k2x9p", "--", "true"], {
      context: "dev",
    });
    assert(exec.code !== 0);
    assertStringIncludes(exec.stderr, `User "dev" cannot`);
  });

  await t.step("auth can-i", async () => {
    const yes = await kubectl(c, ["auth", "can-i", "delete", "pods", "-n", "prod"]);
    assertEquals([yes.code, yes.stdout.trim()], [0, "yes"]);
    const no = await kubectl(c, ["auth", "can-i", "list", "pods", "-n", "prod"], { context: "dev" });
    assertEquals([no.code, no.stdout.trim()], [1, "no"]);
    const devYes = await kubectl(c, ["auth", "can-i", "create", "pods/exec", "-n", "dev"], {
      context: "dev",
    });
    assertEquals([devYes.code, devYes.stdout.trim()], [0, "yes"]);
    const nsNo = await kubectl(c, ["create", "namespace", "dev-made-this"], { context: "dev" });
    assertStringIncludes(
      nsNo.stderr,
      `namespaces is forbidden: User "dev" cannot create resource "namespaces" in API group "" at the cluster scope`,
    );
  });

  await t.step("401 for a bad token or no credentials", async () => {
    // a user with nothing but a bad token (the real cluster's dev user has a certificate too)
    const onlyToken = await variant(c.kubeconfig, () => ({ token: "not-a-token" }));
    const bad = await kubectl({ ...c, kubeconfig: onlyToken }, ["get", "pods", "-n", "dev"]);
    await Deno.remove(onlyToken);
    assertEquals(bad.code, 1);
    assertStringIncludes(bad.stderr, "Unauthorized");
    if (c.real) return;
    const r = await fetch(`${c.server}/api/v1/namespaces`, {
      client: Deno.createHttpClient({ caCerts: [await caPem(c.kubeconfig)] }),
    });
    assertEquals(r.status, 401);
    const body = await r.json();
    assertEquals([body.kind, body.reason, body.code], ["Status", "Unauthorized", 401]);
  });
  await t.step(
    "authentication is a union: a valid certificate wins over a bad token sent with it",
    async () => {
      const both = await variant(c.kubeconfig, (u) => ({ ...u, token: "not-a-token" }));
      const admin = (await YAML.parse(await Deno.readTextFile(c.kubeconfig))).users
        .find((u: { name: string }) => u.name === "admin").user;
      if (!admin["client-certificate-data"]) return; // a cluster whose admin has no certificate
      const r = await kubectl({ ...c, kubeconfig: both }, ["get", "namespaces", "-o", "name"]);
      assertEquals(r.code, 0, r.stderr);
      assertStringIncludes(r.stdout, "namespace/default");
      // kodama sends both as well
      const k = await runKodama(["--kubeconfig", both, "pods", "-A", "-o", "name"]);
      await Deno.remove(both);
      assertEquals(k.code, 0, k.stderr);
    },
  );
});

/** A copy of the kubeconfig whose admin (current) user is `edit(user)`; the path of the copy. */
async function variant(kubeconfig: string, edit: (user: Record<string, unknown>) => Record<string, unknown>) {
  // deno-lint-ignore no-explicit-any
  const kc: any = YAML.parse(await Deno.readTextFile(kubeconfig));
  const admin = kc.contexts.find((x: { name: string }) => x.name === "admin").context.user;
  for (const u of kc.users) {
    if (u.name === admin) {
      u.user = Object.fromEntries(Object.entries(edit(u.user)).filter(([, v]) => v !== undefined));
    }
  }
  const path = await Deno.makeTempFile({ prefix: "kodama-kc-", suffix: ".yaml" });
  await Deno.writeTextFile(path, YAML.stringify(kc));
  return path;
}

async function caPem(kubeconfig: string): Promise<string> {
  // deno-lint-ignore no-explicit-any
  const kc: any = YAML.parse(await Deno.readTextFile(kubeconfig));
  return atob(kc.clusters[0].cluster["certificate-authority-data"]);
}
