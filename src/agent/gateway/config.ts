/**
 * The gateway's config.json (the contract: signing key, providers with their upstreams and keys, prices,
 * revoked sessions), built from the user's keys as pure data. The keys come from this machine (the local
 * environment, then `kodama agent keys`); the upstreams from the user's base URLs (a stand-in, a proxy of
 * their own), else the providers' real hosts. Only the gateway's own Secret ever holds the result.
 */
import { maskKey } from "../credentials/keys.ts";
import { revokedBefore as revokedIn, type RevokedEntry } from "../../session/spec/gateway.ts";
import type { GatewayProvider } from "./claims.ts";
import { PROVIDER_NAMES, PROVIDERS } from "../credentials/providers.ts";
import { CHATGPT_AUTH_URL, CHATGPT_UPSTREAM, type ChatgptLogin } from "./chatgpt.ts";

export interface GatewayKey {
  id: string;
  /** a git key's host */
  host?: string;
  header: string;
  value: string;
}

/** Codex's ChatGPT login: no key, a login the gateway refreshes (src/agent/gateway/chatgpt.ts). */
export interface ChatgptSlot {
  upstream: string;
  authUrl: string;
  keys: GatewayKey[];
  login: ChatgptLogin;
}

export interface GatewayConfig {
  signingKey: string;
  providers: Partial<Record<GatewayProvider | "git", { upstream?: string; keys: GatewayKey[] }>> & {
    chatgpt?: ChatgptSlot;
  };
  prices?: Record<string, Record<string, number>>;
  revoked: RevokedEntry[];
  /**
   * the user's webhook (notify.webhook, the key of ~/.kodama/notify.key, notify.on), which the gateway
   * relays its sessions' events to (pod/gateway.js, `POST /_kodama/notify`); only this Secret holds it
   */
  notify?: { url: string; key: string; on: string[] };
}

export type { RevokedEntry } from "../../session/spec/gateway.ts";

/** The latest `before` of the name's revocations in the config (undefined: none; Infinity: every token). */
export function revokedBefore(c: GatewayConfig, name: string): number | undefined {
  return revokedIn(c.revoked, name);
}

/** The providers' real API hosts (the default upstreams). */
export const DEFAULT_UPSTREAMS: Record<GatewayProvider, string> = Object.fromEntries(
  PROVIDER_NAMES.map((p) => [p, PROVIDERS[p].origin]),
) as Record<GatewayProvider, string>;

/** How the gateway sends a credential: whose it is, its key ids' prefix, the header and the value. */
export interface KeyVar {
  provider: GatewayProvider | "git";
  prefix: string;
  header: string;
  value: (v: string) => string;
}

/** Each credential variable the gateway holds (the providers' keys in the table's order, then git's). */
export const KEY_VARS: Record<string, KeyVar> = {
  ...Object.fromEntries(PROVIDER_NAMES.flatMap((p) =>
    PROVIDERS[p].keys.map((k) => [k.variable, {
      provider: p,
      prefix: PROVIDERS[p].idPrefix,
      header: k.header,
      value: (v: string) => k.prefix + v,
    }])
  )),
  GITHUB_TOKEN: {
    provider: "git",
    prefix: "gh",
    header: "authorization",
    value: (v) => `Basic ${new TextEncoder().encode(`x-access-token:${v}`).toBase64()}`,
  },
};

/** The base URL variables that become upstreams (the gateway adds the path the agent asks for). */
export const BASE_URL_VARS: Record<GatewayProvider, string> = Object.fromEntries(
  PROVIDER_NAMES.map((p) => [p, PROVIDERS[p].baseVar]),
) as Record<GatewayProvider, string>;

/** An upstream from a base URL: no trailing slash, nor the provider's base path (the session's own route
 * has it: /p/openai/v1). */
export function upstreamOf(p: GatewayProvider, url: string): string {
  const u = url.trim().replace(/\/+$/, "");
  const path = PROVIDERS[p].basePath;
  return path && u.endsWith(path) ? u.slice(0, -path.length) : u;
}

/**
 * config.json from the user's variables (name → value; the first value of each distinct secret counts
 * once), the kept signing key and revoked list, the user's prices (`gateway.prices`). Keys are numbered per provider in the order of KEY_VARS.
 */
export function buildGatewayConfig(
  vars: Record<string, string>,
  kept: { signingKey: string; revoked?: RevokedEntry[] },
  chatgpt?: ChatgptLogin,
  prices?: GatewayConfig["prices"],
): GatewayConfig {
  const providers: GatewayConfig["providers"] = {};
  for (const [name, how] of Object.entries(KEY_VARS)) {
    const v = vars[name]?.trim();
    if (!v) continue;
    const slot = providers[how.provider] ??= { keys: [] };
    const value = how.value(v);
    if (slot.keys.some((k) => k.value === value)) continue;
    slot.keys.push({
      id: `${how.prefix}${slot.keys.length + 1}`,
      ...(how.provider === "git" ? { host: "github.com" } : {}),
      header: how.header,
      value,
    });
  }
  for (const p of Object.keys(BASE_URL_VARS) as GatewayProvider[]) {
    const slot = providers[p];
    if (!slot) continue;
    const base = vars[BASE_URL_VARS[p]]?.trim();
    slot.upstream = base ? upstreamOf(p, base) : DEFAULT_UPSTREAMS[p];
  }
  if (chatgpt) {
    const base = vars.KODAMA_CHATGPT_URL?.trim();
    providers.chatgpt = {
      // an origin: the session's Codex asks for /backend-api/… as it does of chatgpt.com
      upstream: base ? base.replace(/\/+$/, "").replace(/\/backend-api$/, "") : CHATGPT_UPSTREAM,
      authUrl: vars.CODEX_REFRESH_TOKEN_URL_OVERRIDE?.trim() || CHATGPT_AUTH_URL,
      keys: [],
      login: chatgpt,
    };
  }
  return {
    signingKey: kept.signingKey,
    providers,
    ...(prices && Object.keys(prices).length ? { prices } : {}),
    revoked: kept.revoked ?? [],
  };
}

/** What `gateway status` may show of the keys: provider, id and a masked suffix, never the key. */
export function keyRows(c: GatewayConfig): { provider: string; id: string; host?: string; suffix: string }[] {
  return Object.entries(c.providers).flatMap(([provider, slot]) =>
    (slot?.keys ?? []).map((k) => ({
      provider,
      id: k.id,
      ...(k.host ? { host: k.host } : {}),
      suffix: maskKey(k.value),
    }))
  );
}

/**
 * A key's id: a short, non-secret fingerprint (8 hex digits of SHA-256 over a fixed prefix and the key), the
 * same as pod/gateway.js's keyFingerprint, which logs the ids it loaded (tests/unit/agent/gateway_keyid_test.ts).
 */
export async function keyFingerprint(value: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`kodama-gateway-key\0${value}`));
  return [...new Uint8Array(d).slice(0, 4)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** What decides which keys a running gateway uses: each key's provider, id and fingerprint, each upstream. */
export async function keySetOf(c: GatewayConfig): Promise<string> {
  const rows = await Promise.all(
    Object.entries(c.providers).flatMap(([p, slot]) =>
      (slot?.keys ?? []).map(async (k) => `${p} ${k.id} ${await keyFingerprint(k.value)}`)
    ),
  );
  const ups = Object.entries(c.providers).map(([p, slot]) => `${p} ${slot?.upstream ?? ""}`);
  return [...rows, ...ups].sort().join("\n");
}

/** The config.json of a Secret's data (undefined when missing or not ours). */
export function parseGatewayConfig(raw: string | undefined): GatewayConfig | undefined {
  if (!raw) return undefined;
  try {
    const c = JSON.parse(raw);
    return c && typeof c === "object" && typeof c.signingKey === "string" && c.providers
      ? c as GatewayConfig
      : undefined;
  } catch {
    return undefined;
  }
}
