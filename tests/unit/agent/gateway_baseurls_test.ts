/**
 * A session's own base URL that the gateway replaces (gateway/baseurls.ts, issue 84.4): `start` says which
 * variable, what the session asked for and the upstream used instead, never a URL's password or query.
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { replacedBaseLine, replacedBaseUrls, shownUrl } from "../../../src/agent/gateway/baseurls.ts";
import { buildGatewayConfig } from "../../../src/agent/gateway/config.ts";
import { PRESETS } from "../../../src/agent/presets/presets.ts";

const claude = PRESETS.claude.authEnv;
const held = buildGatewayConfig({ ANTHROPIC_API_KEY: "sk-ant-a-1", OPENAI_API_KEY: "sk-o-1" }, {
  signingKey: "s",
}).providers;

Deno.test("base urls: a session's own base URL the gateway replaces is named with the upstream used", () => {
  const r = replacedBaseUrls({ ANTHROPIC_BASE_URL: "https://proxy.example" }, claude, ["anthropic"], held);
  assertEquals(r, [{
    name: "ANTHROPIC_BASE_URL",
    provider: "anthropic",
    asked: "https://proxy.example",
    upstream: "https://api.anthropic.com",
  }]);
  const line = replacedBaseLine("s1", "kodama-gateway", r[0]);
  assertStringIncludes(line, "ANTHROPIC_BASE_URL=https://proxy.example");
  assertStringIncludes(line, "https://api.anthropic.com");
  assertStringIncludes(line, "kodama gateway ensure");
  assertEquals(line.split("\n").length, 2, "one line");
  // a second spelling: Codex's OPENAI_BASE_URL with a path, a trailing slash
  const o = replacedBaseUrls(
    { OPENAI_BASE_URL: "http://10.1.2.3:8000/v1/" },
    PRESETS.codex.authEnv,
    ["openai"],
    held,
  );
  assertEquals(o.map((x) => [x.name, x.asked, x.upstream]), [[
    "OPENAI_BASE_URL",
    "http://10.1.2.3:8000/v1/",
    "https://api.openai.com",
  ]]);
});

Deno.test("base urls: the gateway's own upstream, another agent's variable, no variable: nothing said", () => {
  assertEquals(replacedBaseUrls({}, claude, ["anthropic"], held), []);
  assertEquals(
    replacedBaseUrls({ ANTHROPIC_BASE_URL: "https://api.anthropic.com/" }, claude, ["anthropic"], held),
    [],
  );
  // a claude session does not use OPENAI_BASE_URL
  assertEquals(
    replacedBaseUrls({ OPENAI_BASE_URL: "https://proxy.example" }, claude, ["anthropic"], held),
    [],
  );
});

Deno.test("base urls: a provider the gateway does not serve: the variable is dropped, and said", () => {
  const r = replacedBaseUrls(
    { GOOGLE_GEMINI_BASE_URL: "https://gem.example" },
    PRESETS.gemini.authEnv,
    [],
    held,
  );
  assertEquals(r.map((x) => [x.name, x.upstream]), [["GOOGLE_GEMINI_BASE_URL", undefined]]);
  assertStringIncludes(replacedBaseLine("s1", "kodama-gateway", r[0]), "holds no gemini key");
});

Deno.test("base urls: a URL's password and query never appear", () => {
  const r = replacedBaseUrls(
    { ANTHROPIC_BASE_URL: "https://bob:hunter2secret@proxy.example/a?token=qs-secret" },
    claude,
    ["anthropic"],
    held,
  );
  const line = replacedBaseLine("s1", "kodama-gateway", r[0]);
  assert(!line.includes("hunter2secret") && !line.includes("qs-secret") && !line.includes("bob"), line);
  assertStringIncludes(line, "https://proxy.example/a");
  assertEquals(shownUrl("not a url at all sk-secret"), "(not a URL)");
});
