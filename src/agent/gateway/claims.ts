/**
 * A session through the gateway, as pure functions: what its token may do (the claims of
 * src/agent/gateway/gatewaytoken.ts) and what its env Secret holds instead of the real keys (the contract in
 * docs/agents.md "The gateway"). The real values of the credential variables never come out of here:
 * every one of them is removed, and only the token and the gateway's URLs go in.
 */
import type { GatewayClaims } from "./gatewaytoken.ts";
import { type Provider, PROVIDER_NAMES, PROVIDERS } from "../credentials/providers.ts";
import { coversHost } from "../../base/hostpattern.ts";
import { type LoginMeta, POD_AUTH_VAR, POD_URL_VAR, REFRESH_URL_VAR, sessionAuthJson } from "./chatgpt.ts";

export { lifetime, TOKEN_LIFETIME_S } from "../../session/spec/gateway.ts";
import { lifetime } from "../../session/spec/gateway.ts";

/** The model providers the gateway swaps keys for (the contract's `p`): ../providers.ts's. */
export const GATEWAY_PROVIDERS = PROVIDER_NAMES;
export type GatewayProvider = Provider;

/** The variables that hold a provider's credential or endpoint: each is removed from a session's env. */
export const PROVIDER_VARS: Record<GatewayProvider, string[]> = Object.fromEntries(
  PROVIDER_NAMES.map((p) => [p, [...PROVIDERS[p].keys.map((k) => k.variable), PROVIDERS[p].baseVar]]),
) as Record<GatewayProvider, string[]>;

/** Proxy variables: whatever the user had is replaced by the gateway's. */
const PROXY_VARS = ["HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "https_proxy", "http_proxy", "no_proxy"];

/** What the session's env gets per provider: its base URL (under the gateway) and the token's variable. */
function providerEnv(p: GatewayProvider): { base: string; path: string; key: string } {
  return { base: PROVIDERS[p].baseVar, path: `/p/${p}${PROVIDERS[p].basePath}`, key: PROVIDERS[p].keyVar };
}

/** The provider whose credential a variable holds (undefined: none of theirs). */
export function providerOfVar(name: string): GatewayProvider | undefined {
  return GATEWAY_PROVIDERS.find((p) => PROVIDER_VARS[p].includes(name));
}

/**
 * The session's extra CONNECT hosts: the user's list (`session.egress.hosts`), narrowed by a repository's
 * or template's when it gives one. Built from the user's list only: a narrowing entry is kept when one of
 * the user's covers it, so the result never holds a host the user did not allow.
 */
export function allowedHosts(user: string[], narrow?: string[]): string[] {
  const own = [...new Set(user.map((h) => h.toLowerCase()))];
  if (narrow === undefined) return own;
  const out = new Set<string>();
  for (const n of narrow.map((h) => h.toLowerCase())) {
    if (own.some((u) => coversHost(u, n))) out.add(n);
  }
  return [...out];
}

/** What the claims are made from (the session's settings and the gateway's config). */
export interface ClaimsInput {
  session: string;
  group?: string;
  namespace: string;
  /** the variables the session's agent forwards (presets.ts forwardedEnv): which providers it uses */
  forwardEnv: string[];
  /** the providers the gateway holds a key for */
  gatewayProviders: string[];
  /** git hosts the gateway holds a key for */
  gitHosts: string[];
  hosts: string[];
  budgetUsd?: number;
  /** the gateway holds Codex's ChatGPT login: a session whose agent uses OpenAI may use it (`chatgpt`) */
  chatgptLogin?: boolean;
  /** the latest revocation of this session's name (a deleted session's, unix seconds): the token is newer */
  revokedBefore?: number;
  now: Date;
}

/** The token's claims: only the providers the agent uses and the gateway can serve. */
export function sessionClaims(i: ClaimsInput): GatewayClaims {
  const used = new Set(i.forwardEnv.map(providerOfVar).filter((p) => p !== undefined));
  return {
    s: i.session,
    g: i.group ?? null,
    ns: i.namespace,
    p: [
      ...GATEWAY_PROVIDERS.filter((p) => used.has(p) && i.gatewayProviders.includes(p)),
      ...(i.chatgptLogin && used.has("openai") ? ["chatgpt"] : []),
    ],
    allow: i.hosts,
    git: [...i.gitHosts],
    budgetUsd: i.budgetUsd ?? null,
    ...lifetime(i.now, i.revokedBefore),
  };
}

/**
 * The env Secret's variables through the gateway: every provider credential and endpoint, the git token
 * (`gitTokenEnv`) and the proxy variables removed; for each provider of the claims its base URL under
 * the gateway and the token; the proxy (`http://kodama:TOKEN@GW`), and git's insteadOf and header through
 * git's GIT_CONFIG_* variables (no file in the pod to write). `url`: `http://CLUSTERIP:8080`.
 */
export function gatewayEnv(
  env: Record<string, string>,
  o: {
    url: string;
    token: string;
    claims: GatewayClaims;
    gitTokenEnv: string;
    /** the ChatGPT login's account and plan (when the claims hold `chatgpt`); `now` its auth.json's time */
    chatgpt?: { meta: LoginMeta; now: Date };
  },
): Record<string, string> {
  const drop = new Set([
    ...Object.values(PROVIDER_VARS).flat(),
    ...PROXY_VARS,
    o.gitTokenEnv,
    "GITHUB_TOKEN",
    POD_URL_VAR,
    POD_AUTH_VAR,
    REFRESH_URL_VAR,
  ]);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    // the user's own git config variables would be renumbered over ours: ours win
    if (!drop.has(k) && !/^GIT_CONFIG_(COUNT|KEY_\d+|VALUE_\d+)$/.test(k)) out[k] = v;
  }
  for (const p of o.claims.p.filter((p) => p in PROVIDERS) as GatewayProvider[]) {
    const e = providerEnv(p);
    out[e.base] = `${o.url}${e.path}`;
    out[e.key] = o.token;
  }
  // Codex's ChatGPT login, when no OpenAI key serves the session: an auth.json holding only the token
  if (o.claims.p.includes("chatgpt") && !o.claims.p.includes("openai") && o.chatgpt) {
    out[POD_URL_VAR] = `${o.url}/p/chatgpt/backend-api`;
    out[POD_AUTH_VAR] = sessionAuthJson(o.token, o.chatgpt.meta, o.chatgpt.now);
    out[REFRESH_URL_VAR] = `${o.url}/p/chatgpt-auth/oauth/token`;
  }
  const host = new URL(o.url).host;
  const proxy = `http://kodama:${o.token}@${host}`;
  for (const k of ["HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"]) out[k] = proxy;
  // the base URLs are the gateway itself: no CONNECT for them
  const noProxy = ["localhost", "127.0.0.1", "::1", new URL(o.url).hostname].join(",");
  out.NO_PROXY = out.no_proxy = noProxy;
  const git: [string, string][] = o.claims.git.flatMap((h) => [
    [`url.${o.url}/git/${h}/.insteadOf`, `https://${h}/`] as [string, string],
  ]);
  if (git.length) git.push([`http.${o.url}/git/.extraHeader`, `X-Kodama-Gateway-Token: ${o.token}`]);
  if (git.length) {
    out.GIT_CONFIG_COUNT = String(git.length);
    git.forEach(([k, v], i) => {
      out[`GIT_CONFIG_KEY_${i}`] = k;
      out[`GIT_CONFIG_VALUE_${i}`] = v;
    });
  }
  return out;
}

/** `…abcd`: a token's last four characters (what `session get` and `gateway status` show). */
export function tokenSuffix(token: string): string {
  return `…${token.slice(-4)}`;
}
