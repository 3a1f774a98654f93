/**
 * Which providers' keys the namespace's gateway holds (gateway/session.ts gatewayHeldProviders), read from its
 * Service and Secret as a start through it reads them: `start --replicas` asks this machine for no key of those
 * (issue 84.3). No gateway, or one without a ClusterIP: none.
 */
import { assertEquals } from "@kodama/test-assert";
import type { KubeObjects } from "../../../src/kube/seam.ts";
import { gatewayHeldProviders } from "../../../src/agent/gateway/session.ts";
import { buildGatewayConfig } from "../../../src/agent/gateway/config.ts";

const b64 = (s: string) => btoa(s);

function kubeWith(vars: Record<string, string> | undefined, clusterIP = "10.0.0.9"): KubeObjects {
  return {
    findObject: (resource: string) =>
      Promise.resolve(
        vars === undefined
          ? undefined
          : resource === "services"
          ? { spec: { clusterIP } }
          : { data: { "config.json": b64(JSON.stringify(buildGatewayConfig(vars, { signingKey: "s" }))) } },
      ),
  } as unknown as KubeObjects;
}

Deno.test("gateway held: the providers whose keys the gateway's config holds", async () => {
  assertEquals(await gatewayHeldProviders(kubeWith(undefined), "dev"), []);
  assertEquals(await gatewayHeldProviders(kubeWith({ ANTHROPIC_API_KEY: "sk-ant-a-1234" }), "dev"), [
    "anthropic",
  ]);
  assertEquals(
    (await gatewayHeldProviders(
      kubeWith({ ANTHROPIC_API_KEY: "sk-ant-a-1234", OPENAI_API_KEY: "sk-o-1" }),
      "dev",
    ))
      .sort(),
    ["anthropic", "openai"],
  );
  // a git token is no model provider's key
  assertEquals(await gatewayHeldProviders(kubeWith({ GITHUB_TOKEN: "ghp_x" }), "dev"), []);
  assertEquals(await gatewayHeldProviders(kubeWith({ ANTHROPIC_API_KEY: "sk-ant-a" }, "None"), "dev"), []);
});
