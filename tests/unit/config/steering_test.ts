/**
 * What only you choose (src/config/steering.ts): every agent preset's endpoint variables, the gateway's and
 * what the pod wrappers read are on the one list by construction; the names and other spellings of
 * them match in any case; a credential itself and an application's own settings do not.
 */
import { assert, assertEquals } from "@kodama/test-assert";
import { holdSteering, isSteering, STEERING, steeringNote } from "../../../src/config/steering.ts";
import { NETWORK_ENV, PRESETS } from "../../../src/agent/presets/presets.ts";
import { BASE_URL_VARS, KEY_VARS } from "../../../src/agent/gateway/config.ts";
import { PROVIDER_VARS } from "../../../src/agent/gateway/claims.ts";
import { CHATGPT_URL_VAR, REFRESH_URL_VAR } from "../../../src/agent/gateway/chatgpt.ts";
import { SYSTEM_VARS } from "../../../src/session/spec/envfile.ts";

const isKey = (n: string) => n in KEY_VARS;

Deno.test("steering: every preset's and the gateway's endpoint variables are on the list", () => {
  const endpoints = [
    ...Object.values(PRESETS).flatMap((p) => p.authEnv),
    ...Object.values(PROVIDER_VARS).flat(),
    ...Object.values(BASE_URL_VARS),
    ...NETWORK_ENV,
    CHATGPT_URL_VAR,
    REFRESH_URL_VAR,
  ].filter((n) => !isKey(n));
  assert(endpoints.length >= 10, endpoints.join(","));
  for (const n of endpoints) assert(isSteering(n), `${n} is not on the list`);
  // the keys themselves are not: a repository's .env may hold the user's own key, as it always could
  for (const n of Object.keys(KEY_VARS)) assert(!isSteering(n), `${n} (a key) is on the list`);
});

Deno.test("steering: what the pod wrappers read (but a key or a system variable) is on the list", () => {
  // every preset's wrap (its adapter's pod/wrap.sh, as the pod gets it)
  const read = new Set<string>();
  for (const text of Object.values(PRESETS).map((p) => p.wrap).filter((w) => w !== undefined)) {
    for (const m of text.matchAll(/\$\{?([A-Z_][A-Z0-9_]*)|process\.env\.([A-Z_][A-Z0-9_]*)/g)) {
      read.add(m[1] ?? m[2]);
    }
  }
  assert(read.has("OPENAI_BASE_URL") && read.has("GOOGLE_GEMINI_BASE_URL"), [...read].join(","));
  for (const n of read) {
    if (isKey(n) || SYSTEM_VARS.has(n)) continue;
    assert(isSteering(n), `${n} (read by a pod wrapper) is not on the list`);
  }
});

Deno.test("steering: the issue's names and second spellings, in any case; ordinary names are not", () => {
  const on = [
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_BEDROCK_BASE_URL",
    "ANTHROPIC_VERTEX_BASE_URL",
    "ANTHROPIC_FOUNDRY_BASE_URL",
    "OPENAI_BASE_URL",
    "OPENAI_API_BASE",
    "AZURE_OPENAI_ENDPOINT",
    "CODEX_REFRESH_TOKEN_URL_OVERRIDE",
    "GOOGLE_GEMINI_BASE_URL",
    "GEMINI_API_URL",
    "MISTRAL_BASE_URL", // a future preset's
    "PI_CODING_AGENT_DIR",
    "pi_coding_agent_dir",
    "PI_PACKAGE_DIR",
    "PI_SHARE_VIEWER_URL",
    "AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
    "HTTP_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NODE_EXTRA_CA_CERTS",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "GIT_SSL_CAINFO",
    "NODE_TLS_REJECT_UNAUTHORIZED",
    "NPM_CONFIG_REGISTRY",
    "npm_config_registry",
    "Npm_Config_Userconfig",
    "YARN_NPM_REGISTRY_SERVER",
    "BUN_CONFIG_REGISTRY",
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "UV_INDEX_URL",
    "UV_DEFAULT_INDEX",
    "CARGO_REGISTRIES_CRATES_IO_INDEX",
    "GOPROXY",
    "GONOSUMDB",
    "GOFLAGS",
    "NODE_OPTIONS",
    "node_options",
    "NODE_PATH",
    "LD_PRELOAD",
    "LD_LIBRARY_PATH",
    "DYLD_INSERT_LIBRARIES",
    "GIT_SSH_COMMAND",
    "GIT_CONFIG_COUNT",
    "GIT_CONFIG_GLOBAL",
    "BASH_ENV",
    "ENV",
    "PYTHONPATH",
    "PYTHONSTARTUP",
    "PERL5OPT",
    "RUBYOPT",
    "JAVA_TOOL_OPTIONS",
    "KODAMA_NOTIFY_URL",
  ];
  for (const n of on) assert(isSteering(n), `${n} is not on the list`);
  const off = [
    "DATABASE_URL",
    "REDIS_URL",
    "NEXT_PUBLIC_API_URL",
    "PORT",
    "NODE_ENV",
    "DEBUG",
    "FOO",
    "ANTHROPIC_API_KEY",
    "OPENAI_API_KEY",
    "GEMINI_API_KEY",
    "GITHUB_TOKEN",
    "ANTHROPIC_MODEL",
  ];
  for (const n of off) assert(!isSteering(n), `${n} is on the list`);
  // one list, each pattern once
  const all = STEERING.flatMap((g) => g.names);
  assertEquals(all.length, new Set(all).size);
});

Deno.test("steering: taken out of what you did not choose, said once by name, never by value", () => {
  const sources: { file: string; vars: Record<string, string> }[] = [
    { file: "mine.env", vars: { ANTHROPIC_BASE_URL: "https://mine.example", A: "1" } },
    { file: ".env", vars: { ANTHROPIC_BASE_URL: "https://evil.example", npm_config_registry: "r", B: "2" } },
    { file: "other.env", vars: { ANTHROPIC_BASE_URL: "https://evil2.example" } },
  ];
  const from = (s: { file: string }) =>
    s.file === "mine.env" ? undefined : `the repository's env file "${s.file}"`;
  const held = holdSteering(sources, from);
  assertEquals(held.sources[0], sources[0]);
  assertEquals(held.sources[1].vars, { B: "2" });
  assertEquals(held.sources[2].vars, {});
  assertEquals(held.notes, [
    steeringNote("ANTHROPIC_BASE_URL", `the repository's env file ".env"`),
    steeringNote("npm_config_registry", `the repository's env file ".env"`),
  ]);
  assertEquals(
    held.notes[0],
    `note: ANTHROPIC_BASE_URL from the repository's env file ".env" is ignored: only you choose where a ` +
      `credential goes (set it in your own env file or environment)`,
  );
  assert(!held.notes.join("").includes("evil"));
});
