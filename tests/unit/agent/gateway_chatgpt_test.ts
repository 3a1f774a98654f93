// Codex's ChatGPT login through the gateway, the pure parts: reading the user's auth.json, the auth.json a
// session gets (only its token), what a session's claims and env get, the gateway config's chatgpt slot,
// the state claim; and in the gateway program (loaded as the CommonJS file it is) JWT expiry, the
// single-flight refresh and which login (Secret, state file, memory) wins.
import { assert, assertEquals } from "@kodama/test-assert";
import { createRequire } from "node:module";
import {
  codexAuthPaths,
  jwtExpiry,
  loginMeta,
  loginStateOf,
  parseCodexAuth,
  sessionAuthJson,
} from "../../../src/agent/gateway/chatgpt.ts";
import { gatewayEnv, sessionClaims } from "../../../src/agent/gateway/claims.ts";
import { buildGatewayConfig, keyRows } from "../../../src/agent/gateway/config.ts";
import { buildGatewayStateClaim } from "../../../src/agent/gateway/manifests.ts";

const gw = createRequire(import.meta.url)("../../../src/agent/pod/gateway.js");
const b64url = (s: string) =>
  new TextEncoder().encode(s).toBase64({ alphabet: "base64url", omitPadding: true });
const jwt = (c: unknown) => `${b64url('{"alg":"RS256"}')}.${b64url(JSON.stringify(c))}.sig`;

const ID = jwt({
  email: "u@example.com",
  "https://api.openai.com/auth": { chatgpt_plan_type: "pro", chatgpt_account_id: "acct-1" },
});
const LOGIN = {
  tokens: {
    id_token: ID,
    access_token: jwt({ exp: 1_800_000_000 }),
    refresh_token: "rt-secret",
    account_id: "acct-1",
  },
  last_refresh: "2026-11-20T10:00:00Z",
};

Deno.test("chatgpt login: the user's auth.json read; an API-key one or garbage is no login", () => {
  const text = JSON.stringify({ auth_mode: "chatgpt", OPENAI_API_KEY: null, ...LOGIN });
  assertEquals(parseCodexAuth(text), LOGIN);
  assertEquals(parseCodexAuth(JSON.stringify({ auth_mode: "apikey", OPENAI_API_KEY: "sk-x" })), undefined);
  assertEquals(parseCodexAuth(JSON.stringify({ auth_mode: "apikey", ...LOGIN })), undefined);
  assertEquals(parseCodexAuth("not json"), undefined);
  assertEquals(jwtExpiry(LOGIN.tokens.access_token)?.toISOString(), "2027-01-15T08:00:00.000Z");
  assertEquals(jwtExpiry("kgw1.e30.mac"), undefined);
  assertEquals(loginMeta(LOGIN), { accountId: "acct-1", plan: "pro" });
  assertEquals(codexAuthPaths((n) => (n === "CODEX_HOME" ? "/c/" : undefined), "/home/u"), [
    "/c/auth.json",
    "/home/u/.codex/auth.json",
  ]);
});

Deno.test("chatgpt login: a session's auth.json holds its token only, never a real token", () => {
  const now = new Date("2026-11-26T23:00:00Z");
  const a = JSON.parse(sessionAuthJson("kgw1.p.m", { accountId: "acct-1", plan: "pro" }, now));
  assertEquals(a.auth_mode, "chatgpt");
  assertEquals(a.tokens.access_token, "kgw1.p.m");
  assertEquals(a.tokens.refresh_token, "kgw1.p.m");
  assertEquals(a.tokens.account_id, "acct-1");
  assertEquals(a.last_refresh, "2026-11-26T23:00:00.000Z");
  // Codex parses the id_token's claims: account and plan, nothing else
  const claims = JSON.parse(new TextDecoder().decode(Uint8Array.fromBase64(a.tokens.id_token.split(".")[1], {
    alphabet: "base64url",
  })));
  assertEquals(claims, {
    "https://api.openai.com/auth": { chatgpt_plan_type: "pro", chatgpt_account_id: "acct-1" },
  });
  const text = JSON.stringify(a);
  for (const t of [LOGIN.tokens.access_token, LOGIN.tokens.refresh_token, "u@example.com"]) {
    assert(!text.includes(t));
  }
});

Deno.test("chatgpt login: claims and env of a Codex session; an OpenAI key wins over the login", () => {
  const base = {
    session: "s1",
    namespace: "dev",
    forwardEnv: ["OPENAI_API_KEY", "OPENAI_BASE_URL"],
    gitHosts: [],
    hosts: [],
    now: new Date(0),
  };
  const only = sessionClaims({ ...base, gatewayProviders: [], chatgptLogin: true });
  assertEquals(only.p, ["chatgpt"]);
  const env = gatewayEnv({ OPENAI_API_KEY: "sk-real", KODAMA_CODEX_AUTH_JSON: "{}" }, {
    url: "http://10.0.0.9:8080",
    token: "kgw1.p.m",
    claims: only,
    gitTokenEnv: "GITHUB_TOKEN",
    chatgpt: { meta: { accountId: "acct-1" }, now: new Date(0) },
  });
  assertEquals(env.KODAMA_CODEX_CHATGPT_URL, "http://10.0.0.9:8080/p/chatgpt/backend-api");
  assertEquals(env.CODEX_REFRESH_TOKEN_URL_OVERRIDE, "http://10.0.0.9:8080/p/chatgpt-auth/oauth/token");
  assertEquals(JSON.parse(env.KODAMA_CODEX_AUTH_JSON).tokens.access_token, "kgw1.p.m");
  assertEquals(env.OPENAI_API_KEY, undefined);
  assertEquals(env.OPENAI_BASE_URL, undefined);
  // a Claude session never gets the login
  assertEquals(
    sessionClaims({ ...base, forwardEnv: ["ANTHROPIC_API_KEY"], gatewayProviders: [], chatgptLogin: true }).p,
    [],
  );
  // with an OpenAI key too: the key's route, no ChatGPT variables
  const both = sessionClaims({ ...base, gatewayProviders: ["openai"], chatgptLogin: true });
  assertEquals(both.p, ["openai", "chatgpt"]);
  const env2 = gatewayEnv({}, {
    url: "http://10.0.0.9:8080",
    token: "kgw1.p.m",
    claims: both,
    gitTokenEnv: "GITHUB_TOKEN",
    chatgpt: { meta: {}, now: new Date(0) },
  });
  assertEquals(env2.OPENAI_BASE_URL, "http://10.0.0.9:8080/p/openai/v1");
  assertEquals(env2.KODAMA_CODEX_CHATGPT_URL, undefined);
});

Deno.test("chatgpt login: the gateway config's slot, its endpoints from the user's variables; no key row", () => {
  const c = buildGatewayConfig({}, { signingKey: "k" }, LOGIN);
  assertEquals(c.providers.chatgpt, {
    upstream: "https://chatgpt.com",
    authUrl: "https://auth.openai.com/oauth/token",
    keys: [],
    login: LOGIN,
  });
  const own = buildGatewayConfig(
    {
      KODAMA_CHATGPT_URL: "http://127.0.0.1:9/backend-api/",
      CODEX_REFRESH_TOKEN_URL_OVERRIDE: "http://127.0.0.1:9/oauth/token",
    },
    { signingKey: "k" },
    LOGIN,
  );
  assertEquals(own.providers.chatgpt?.upstream, "http://127.0.0.1:9");
  assertEquals(own.providers.chatgpt?.authUrl, "http://127.0.0.1:9/oauth/token");
  assertEquals(keyRows(c), []);
  assertEquals(buildGatewayStateClaim("dev").spec, {
    accessModes: ["ReadWriteOnce"],
    resources: { requests: { storage: "16Mi" } },
  });
});

Deno.test("chatgpt login: gateway status reads the log's last login line, never a token", () => {
  const lines = [
    { ev: "config", status: "login", provider: "chatgpt", source: "secret", lastRefresh: "a" },
    { ev: "req", s: "x" },
    {
      ev: "config",
      status: "login-refreshed",
      provider: "chatgpt",
      source: "refresh",
      persisted: false,
      expiresAt: "e",
      lastRefresh: "b",
    },
  ];
  assertEquals(loginStateOf(lines), {
    status: "login-refreshed",
    source: "refresh",
    expiresAt: "e",
    lastRefresh: "b",
    persisted: false,
  });
  assertEquals(loginStateOf([{ ev: "config", status: "loaded" }]), undefined);
});

Deno.test("gateway program: JWT expiry, one refresh for concurrent callers, the newest login wins", async () => {
  assertEquals(gw.jwtExp(jwt({ exp: 100 })), 100_000);
  assertEquals(gw.jwtExp(jwt({})), undefined);
  assertEquals(gw.jwtExp("kgw1.e30"), undefined);
  assertEquals(gw.jwtExp(undefined), undefined);
  let calls = 0;
  let release = () => {};
  const once = gw.singleFlight(() => {
    calls++;
    return new Promise<number>((r) => (release = () => r(calls)));
  });
  const waiting = [once(), once(), once(), once()];
  await Promise.resolve();
  release();
  assertEquals(await Promise.all(waiting), [1, 1, 1, 1]);
  assertEquals(calls, 1);
  // after it settled, the next call runs again
  const next = once();
  await Promise.resolve();
  release();
  assertEquals(await next, 2);
  const tokens = { access_token: "a", refresh_token: "r" };
  const secret = { tokens, last_refresh: "2026-11-20T00:00:00Z", source: "secret" };
  const state = { tokens, last_refresh: "2026-11-25T00:00:00Z", source: "state" };
  assertEquals(gw.newestLogin([undefined, state, secret]).source, "state");
  // a newer login from the Secret (the user logged in again, gateway ensure) wins over the state file
  assertEquals(gw.newestLogin([state, { ...secret, last_refresh: "2026-11-26T00:00:00Z" }]).source, "secret");
  assertEquals(gw.newestLogin([{ tokens: {} }]), undefined);
});
