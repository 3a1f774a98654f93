/**
 * Codex's ChatGPT login through the gateway (docs/agents.md, "Subscription logins"), as pure data: the
 * user's login read from their own `~/.codex/auth.json` (`auth_mode`, `tokens.{id_token, access_token,
 * refresh_token, account_id}`, `last_refresh`), which only the gateway's Secret then holds; and the
 * auth.json a session's Codex gets instead: its access and refresh tokens are the session's gateway token,
 * its id_token a JWT-shaped claim set with nothing secret (account, plan), so Codex never refreshes against
 * the real auth host (CODEX_REFRESH_TOKEN_URL_OVERRIDE points it at the gateway, which answers with the same
 * token). The gateway refreshes the real login once, for every session (src/agent/pod/gateway.js).
 */

/** What the gateway holds of a ChatGPT login (auth.json's tokens and last refresh). */
export interface ChatgptLogin {
  tokens: { id_token: string; access_token: string; refresh_token: string; account_id?: string };
  last_refresh?: string;
}

/** The real hosts (the defaults of the gateway's `providers.chatgpt`). */
export const CHATGPT_UPSTREAM = "https://chatgpt.com";
export const CHATGPT_AUTH_URL = "https://auth.openai.com/oauth/token";
/** Codex's own variable for its refresh URL (codex-rs login/src/auth/manager.rs). */
export const REFRESH_URL_VAR = "CODEX_REFRESH_TOKEN_URL_OVERRIDE";
/** The variable that moves the gateway's ChatGPT upstream (a user's own endpoint, a stand-in). */
export const CHATGPT_URL_VAR = "KODAMA_CHATGPT_URL";
/** The session pod's variables (read by the codex preset's wrap, src/agent/presets/presets.ts). */
export const POD_URL_VAR = "KODAMA_CODEX_CHATGPT_URL";
export const POD_AUTH_VAR = "KODAMA_CODEX_AUTH_JSON";

const str = (v: unknown): v is string => typeof v === "string" && v.length > 0;

/** The login of an auth.json's text; undefined when it holds none (an API key, not JSON, no tokens). */
export function parseCodexAuth(text: string): ChatgptLogin | undefined {
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(text);
  } catch {
    return undefined;
  }
  const t = j?.tokens as Record<string, unknown> | undefined;
  if (!t || typeof t !== "object" || !str(t.access_token) || !str(t.refresh_token)) return undefined;
  if (j.auth_mode !== undefined && j.auth_mode !== "chatgpt") return undefined;
  return {
    tokens: {
      id_token: str(t.id_token) ? t.id_token : "",
      access_token: t.access_token,
      refresh_token: t.refresh_token,
      ...(str(t.account_id) ? { account_id: t.account_id } : {}),
    },
    ...(str(j.last_refresh) ? { last_refresh: j.last_refresh } : {}),
  };
}

/** A JWT's payload (no signature check: only what it says about itself), or undefined. */
export function jwtClaims(jwt: string): Record<string, unknown> | undefined {
  const parts = jwt.split(".");
  if (parts.length !== 3) return undefined;
  try {
    const v = JSON.parse(
      new TextDecoder().decode(Uint8Array.fromBase64(parts[1], { alphabet: "base64url" })),
    );
    return v && typeof v === "object" && !Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** A JWT's expiry (its `exp`), or undefined. */
export function jwtExpiry(jwt: string): Date | undefined {
  const exp = jwtClaims(jwt)?.exp;
  return typeof exp === "number" ? new Date(exp * 1000) : undefined;
}

/** What a session may know of the login: its account and plan (never a token). */
export interface LoginMeta {
  accountId?: string;
  plan?: string;
}

export function loginMeta(l: ChatgptLogin): LoginMeta {
  const auth = jwtClaims(l.tokens.id_token)?.["https://api.openai.com/auth"] as
    | Record<string, unknown>
    | undefined;
  const accountId = l.tokens.account_id ??
    (str(auth?.chatgpt_account_id) ? auth.chatgpt_account_id : undefined);
  const plan = str(auth?.chatgpt_plan_type) ? auth.chatgpt_plan_type : undefined;
  return { ...(accountId ? { accountId } : {}), ...(plan ? { plan } : {}) };
}

const b64url = (s: string) =>
  new TextEncoder().encode(s).toBase64({ alphabet: "base64url", omitPadding: true });

/**
 * The auth.json a session's Codex gets: ChatGPT mode, the session token as access and refresh token, an
 * unsigned id_token with the account and plan only, `last_refresh` now (Codex refreshes by that after 8
 * days: the gateway answers with the same token).
 */
export function sessionAuthJson(token: string, meta: LoginMeta, now: Date): string {
  const claims = {
    "https://api.openai.com/auth": {
      ...(meta.plan ? { chatgpt_plan_type: meta.plan } : {}),
      ...(meta.accountId ? { chatgpt_account_id: meta.accountId } : {}),
    },
  };
  const idToken = `${b64url('{"alg":"none","typ":"JWT"}')}.${b64url(JSON.stringify(claims))}.kodama`;
  return JSON.stringify({
    auth_mode: "chatgpt",
    OPENAI_API_KEY: null,
    tokens: {
      id_token: idToken,
      access_token: token,
      refresh_token: token,
      ...(meta.accountId ? { account_id: meta.accountId } : {}),
    },
    last_refresh: now.toISOString(),
  });
}

/** The user's own auth.json: `$CODEX_HOME/auth.json`, else `<home>/.codex/auth.json` (never a repository's). */
export function codexAuthPaths(env: (n: string) => string | undefined, home: string | undefined): string[] {
  const out: string[] = [];
  const ch = env("CODEX_HOME");
  if (ch) out.push(`${ch.replace(/[\\/]+$/, "")}/auth.json`);
  if (home) out.push(`${home.replace(/[\\/]+$/, "")}/.codex/auth.json`);
  return out;
}

/** What the gateway's log says of the login (its last `config` line about it): for `gateway status`. */
export interface LoginState {
  status: string;
  source?: string;
  expiresAt?: string;
  lastRefresh?: string;
  persisted?: boolean;
  error?: string;
}

export function loginStateOf(lines: Record<string, unknown>[]): LoginState | undefined {
  let last: LoginState | undefined;
  let persisted: boolean | undefined;
  for (const l of lines) {
    if (l.ev !== "config" || l.provider !== "chatgpt") continue;
    if (typeof l.persisted === "boolean") persisted = l.persisted;
    last = {
      status: String(l.status),
      ...(typeof l.source === "string" ? { source: l.source } : {}),
      ...(typeof l.expiresAt === "string" ? { expiresAt: l.expiresAt } : {}),
      ...(typeof l.lastRefresh === "string" ? { lastRefresh: l.lastRefresh } : {}),
      ...(typeof l.error === "string" ? { error: l.error } : {}),
    };
  }
  return last ? { ...last, ...(persisted !== undefined ? { persisted } : {}) } : undefined;
}
