/**
 * Plain `agent check` with no key here while the namespace's gateway holds the provider's (issue 84.3): it
 * says the gateway holds it (verdict `gateway`, exit 0) and how to see and check it, instead of `no key is
 * set`; a provider the gateway holds no key of is still `no-key` (exit 4). The check command in-process,
 * the gateway's Service and Secret from a fake cluster, as `start` reads them.
 */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "@kodama/test-assert";
import { agentCheckCommand, gatewayVerdict } from "../../../src/agent/credentials/checkrun.ts";
import { VERDICT_EXIT } from "../../../src/agent/credentials/check.ts";
import { buildGatewayConfig } from "../../../src/agent/gateway/config.ts";
import { KodamaError } from "../../../src/base/errors.ts";
import { configSchema } from "../../../src/config/schema.ts";
import type { Kube } from "../../../src/kube/client.ts";
import { lockEnv } from "../../_env_lock.ts";

Deno.test("check gateway: the verdict names the gateway for a provider it holds, none otherwise", () => {
  assertEquals(gatewayVerdict("claude", ["anthropic"])?.verdict, "gateway");
  assertStringIncludes(gatewayVerdict("claude", ["anthropic"])!.message, "kodama gateway status");
  // Codex's key is OpenAI's, or the gateway's ChatGPT login (gatewayHeldProviders says `chatgpt`)
  assertStringIncludes(gatewayVerdict("codex", ["openai"])!.message, "holds the openai key");
  assertStringIncludes(gatewayVerdict("codex", ["chatgpt"])!.message, "holds the ChatGPT login");
  assertEquals(gatewayVerdict("codex", ["anthropic"]), undefined);
  // the login serves Codex alone: Qwen Code (OpenAI-compatible) cannot use that backend
  assertStringIncludes(gatewayVerdict("qwen", ["openai"])!.message, "holds the openai key");
  assertEquals(gatewayVerdict("qwen", ["chatgpt"]), undefined);
  assertEquals(gatewayVerdict("gemini", []), undefined);
  assertEquals(VERDICT_EXIT.gateway, 0);
});

const VARS = [
  "ANTHROPIC_API_KEY",
  "ANTHROPIC_AUTH_TOKEN",
  "CLAUDE_CODE_OAUTH_TOKEN",
  "ANTHROPIC_BASE_URL",
  "OPENAI_API_KEY",
  "CODEX_API_KEY",
  "OPENAI_BASE_URL",
];

function clusterWith(vars: Record<string, string>): () => Promise<Kube> {
  const config = buildGatewayConfig(vars, { signingKey: "s" });
  return () =>
    Promise.resolve({
      namespace: "dev",
      findObject: (resource: string) =>
        Promise.resolve(
          resource === "services"
            ? { spec: { clusterIP: "10.0.0.9" } }
            : { data: { "config.json": btoa(JSON.stringify(config)) } },
        ),
    } as unknown as Kube);
}

Deno.test("check gateway: no key here, the gateway holds it: said, exit 0; another provider: no-key", async () => {
  // this process's environment, shared with a shard's other files: held while unset (tests/_env_lock.ts)
  const unlock = await lockEnv(VARS);
  const cwd = await Deno.makeTempDir();
  try {
    for (const v of VARS) Deno.env.delete(v);
    const out: string[] = [];
    const io = { out: { write: (c: string) => void out.push(c) }, err: { write: () => {} } };
    const kube = clusterWith({ ANTHROPIC_API_KEY: "sk-ant-held-1" });
    const code = await agentCheckCommand({ agent: "claude", cwd, output: "json" }, configSchema.parse({}), {
      ...io,
      kube,
    });
    assertEquals(code, 0);
    const r = JSON.parse(out.join(""));
    assertEquals([r.verdict, r.exitCode], ["gateway", 0]);
    assertStringIncludes(r.message, "the namespace's gateway holds the anthropic key");
    // the gateway holds no OpenAI key: codex's check has none (exit 4)
    const e = await assertRejects(
      () =>
        agentCheckCommand({ agent: "codex", cwd, output: "json" }, configSchema.parse({}), { ...io, kube }),
    ) as KodamaError;
    assert(e instanceof KodamaError, String(e));
    assertEquals(e.code, 4);
    assertStringIncludes(e.message, "no key is set");
    // a cluster that cannot be reached: the plain no-key, exit 4
    const down = () => Promise.reject(new Error("no cluster"));
    const e2 = await assertRejects(
      () => agentCheckCommand({ agent: "claude", cwd }, configSchema.parse({}), { ...io, kube: down }),
    ) as KodamaError;
    assert(e2 instanceof KodamaError, String(e2));
    assertEquals(e2.code, 4);
  } finally {
    unlock();
    await Deno.remove(cwd, { recursive: true });
  }
});
