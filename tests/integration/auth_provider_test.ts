/**
 * Legacy auth-provider users (gcp, oidc, azure) go through @kubernetes/client-node, loaded by a computed
 * URL (src/kube/client_node.ts) so a compiled binary leaves it out unless built with --auth-provider.
 * From source it still works: a gcp provider with a cached access token authenticates as that token's user.
 */
import { assertEquals, assertStringIncludes } from "@kodama/test-assert";
import YAML from "yaml";
import { runKodama } from "../cli/_run.ts";
import { clusterTest } from "../cluster/fixture.ts";

// needs the dev user's token, which only the test server has
clusterTest("an auth-provider user authenticates through client-node", {
  seed: "sessions",
  ignore: !!Deno.env.get("KODAMA_TEST_KUBECONFIG"),
}, async (_t, c) => {
  const dir = await Deno.makeTempDir({ prefix: "kodama-authprovider-" });
  try {
    const kc = YAML.parse(await Deno.readTextFile(c.kubeconfig));
    const expiry = new Date(Date.now() + 3_600_000).toISOString();
    kc.users.push({
      name: "gcp-user",
      user: {
        "auth-provider": { name: "gcp", config: { "access-token": c.testServer!.devToken, expiry } },
      },
    });
    kc.contexts.push({ name: "gcp", context: { cluster: kc.clusters[0].name, user: "gcp-user" } });
    const file = `${dir}/kubeconfig`;
    await Deno.writeTextFile(file, YAML.stringify(kc));
    const env = { KODAMA_HOME: dir };
    // authenticated as dev: its own namespace answers (nothing there: kubectl's words, exit 0), prod is
    // forbidden (exit 4)
    const own = await runKodama(["--kubeconfig", file, "--context", "gcp", "pods", "-n", "dev"], { env });
    assertEquals(own.code, 0, own.stderr);
    assertStringIncludes(own.stderr, "No resources found in dev namespace.");
    const prod = await runKodama(["--kubeconfig", file, "--context", "gcp", "pods", "-n", "prod"], { env });
    assertEquals(prod.code, 4, prod.stderr);
    assertStringIncludes(prod.stderr, "forbidden");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
