/**
 * The one provider table (src/agent/credentials/providers.ts) and what is built from it or must agree with it: the
 * gateway's own program (pod/gateway.js: routes, default upstreams, error shapes, rate-limit headers, the
 * headers a token comes in), its meter's prices, the adapters' providers and `agent check`'s requests, the
 * keys `agent keys` stores, and the session env a gateway gives.
 */
import { assert, assertEquals } from "@kodama/test-assert";
import { createRequire } from "node:module";
import {
  defaultBase,
  PROVIDER_NAMES,
  providerOfKeyVar,
  PROVIDERS,
} from "../../../src/agent/credentials/providers.ts";
import { ADAPTERS } from "../../../src/agent/adapters/index.ts";
import { PRESET_NAMES } from "../../../src/config/agentnames.ts";
import { checkPlan, isRateHeader } from "../../../src/agent/credentials/check.ts";
import {
  PROVIDER_VAR,
  providerOfKey,
  VAR_PROVIDER,
  wrongKeyProblem,
} from "../../../src/agent/credentials/keys.ts";
import { buildGatewayConfig, KEY_VARS, upstreamOf } from "../../../src/agent/gateway/config.ts";
import { gatewayEnv, PROVIDER_VARS } from "../../../src/agent/gateway/claims.ts";

const gw = createRequire(import.meta.url)("../../../src/agent/pod/gateway.js");
const meter = createRequire(import.meta.url)("../../../src/agent/pod/gatewaymeter.js");

Deno.test("providers: pod/gateway.js routes exactly the table's providers, to their origins", () => {
  assertEquals(Object.keys(gw.PROVIDERS).sort(), [...PROVIDER_NAMES].sort());
  for (const p of PROVIDER_NAMES) {
    assertEquals(gw.PROVIDERS[p].upstream, PROVIDERS[p].origin, p);
    // an error answer in a shape the gateway has (the provider's own: its CLI reads it)
    const body = gw.errorBody(p, 401, "no");
    assert(JSON.stringify(body).includes('"no"'), `${p}: ${JSON.stringify(body)}`);
  }
  assertEquals(gw.errorBody("gemini", 401, "x").error.status, "UNAUTHENTICATED");
  assertEquals(gw.errorBody("anthropic", 401, "x").type, "error");
  assertEquals(gw.errorBody("chatgpt", 401, "x").error.type, "authentication_error");
});

Deno.test("providers: the gateway learns the rate-limit headers the table names, and no others", () => {
  for (const p of PROVIDER_NAMES) {
    const pairs: string[][] = gw.PROVIDERS[p].limits;
    const re = PROVIDERS[p].rateHeaders;
    assertEquals(pairs.length > 0, re !== undefined, `${p}: headers in one table only`);
    for (const h of pairs.flat()) assert(re?.test(h), `${p}: ${h} is not ${re}`);
    // agent check shows them too
    const preset = PROVIDERS[p].checkedBy;
    for (const h of pairs.flat()) assert(isRateHeader(checkPlan(preset, "m"), h), `${preset}: ${h}`);
  }
  // the gateway learns a key's limits from them: none left until the reset
  const now = Date.parse("2026-11-29T00:00:00Z");
  for (const p of PROVIDER_NAMES) {
    for (const [rem, reset] of gw.PROVIDERS[p].limits as string[][]) {
      const key = { blockedUntil: 0 };
      gw.learnLimits(key, { [rem]: "0", [reset]: "2026-11-29T00:00:30Z" }, now);
      assertEquals(key.blockedUntil, now + 30_000, `${p}: ${rem}`);
    }
  }
});

Deno.test("providers: a session's token is read from every header a provider's key goes in", () => {
  const headers = new Set(PROVIDER_NAMES.flatMap((p) => PROVIDERS[p].keys.map((k) => k.header)));
  for (const h of headers) assert(gw.TOKEN_HEADERS.includes(h), `${h} is not read by the gateway`);
});

Deno.test("providers: every adapter speaks a provider of the table, checked at its base URL with its keys", () => {
  for (const name of PRESET_NAMES) {
    const a = ADAPTERS[name];
    const spec = PROVIDERS[a.provider];
    assert(spec, `${name}: ${a.provider}`);
    const plan = checkPlan(name, "m");
    assertEquals([plan.baseVar, plan.defaultBase], [spec.baseVar, defaultBase(a.provider)], name);
    for (const k of a.check.keys) {
      assertEquals(providerOfKeyVar(k.variable), a.provider, `${name}: ${k.variable}`);
      // the way the gateway sends it is the way the CLI does
      const kv = KEY_VARS[k.variable];
      assertEquals([kv.header, kv.value("K")], [k.header, `${k.prefix}K`], k.variable);
    }
    // its default model has a price, so a budget through the gateway can meter it
    const cost = meter.costOf({}, a.check.defaultModel, { input: 1e6, output: 1e6 });
    assert(typeof cost === "number" && cost > 0, `${name}: no price for ${a.check.defaultModel}`);
  }
});

Deno.test("providers: agent keys and the gateway's config come from the table", () => {
  for (const p of PROVIDER_NAMES) {
    assertEquals(PROVIDER_VAR[p], PROVIDERS[p].keyVar);
    for (const k of PROVIDERS[p].keys) assertEquals(VAR_PROVIDER[k.variable], p, k.variable);
    assertEquals(PROVIDER_VARS[p].includes(PROVIDERS[p].baseVar), true);
  }
  assertEquals(providerOfKey("sk-ant-api03-x"), "anthropic");
  assertEquals(providerOfKey("sk-proj-x"), "openai");
  assertEquals(providerOfKey("AIzaSy"), "gemini");
  assertEquals(providerOfKey("ghp_x"), "github");
  assertEquals(
    wrongKeyProblem("CLAUDE_CODE_OAUTH_TOKEN", "sk-proj-x"),
    "this is an OpenAI key in CLAUDE_CODE_OAUTH_TOKEN (it belongs in OPENAI_API_KEY)",
  );
  // key ids: the table's prefix, numbered in its order
  const c = buildGatewayConfig(
    {
      ANTHROPIC_AUTH_TOKEN: "t2",
      ANTHROPIC_API_KEY: "t1",
      GOOGLE_API_KEY: "g",
      OPENAI_BASE_URL: "https://o/v1/",
    },
    { signingKey: "s" },
  );
  assertEquals(c.providers.anthropic?.keys.map((k) => [k.id, k.header, k.value]), [
    ["a1", "x-api-key", "t1"],
    ["a2", "authorization", "Bearer t2"],
  ]);
  assertEquals(c.providers.gemini?.keys.map((k) => k.id), ["g1"]);
  assertEquals(c.providers.gemini?.upstream, PROVIDERS.gemini.origin);
  assertEquals(upstreamOf("openai", "https://o/v1/"), "https://o");
});

Deno.test("providers: a session through the gateway gets each provider's base URL under its route", () => {
  const env = gatewayEnv({ ANTHROPIC_API_KEY: "real", OPENAI_BASE_URL: "https://mine" }, {
    claims: { p: [...PROVIDER_NAMES], git: [] } as unknown as Parameters<typeof gatewayEnv>[1]["claims"],
    url: "http://10.0.0.9:8080",
    token: "kgw1.t",
    gitTokenEnv: "GITHUB_TOKEN",
  });
  for (const p of PROVIDER_NAMES) {
    const base = env[PROVIDERS[p].baseVar];
    assertEquals(base, `http://10.0.0.9:8080/p/${p}${PROVIDERS[p].basePath}`);
    // the gateway routes it: its first segment is a provider of gw.PROVIDERS
    assert(Object.hasOwn(gw.PROVIDERS, new URL(base).pathname.split("/")[2]), base);
    assertEquals(env[PROVIDERS[p].keyVar], "kgw1.t");
  }
  assert(!Object.values(env).includes("real"), "the real key is gone");
});
