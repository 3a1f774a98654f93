/**
 * The gateway's session tokens (docs/agents.md, "Inside the gateway"): what goes into a session pod instead
 * of a real key. Here, below the agent floor, because `resume` renews a session's token and `delete`
 * revokes it (src/session/lifecycle/gatewaytokens.ts); kodama's gateway commands reach it through
 * src/agent/gateway/gatewaytoken.ts. `kgw1.<payload>.<mac>`: payload is base64url(JSON claims), mac is
 * base64url(HMAC-SHA256(signingKey, "kgw1." + payload)), the signing key being the base64 of 32 random bytes
 * in the gateway's config. Pure: kodama mints them, tests verify them; the gateway (pod/gateway.js) has its
 * own verification of the same format. A token means nothing without the gateway that holds the key.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { TOKEN_LIFETIME_S } from "./gateway.ts";

/** What a token says about its session. */
export interface GatewayClaims {
  /** session name */
  s: string;
  /** replica group, or null */
  g: string | null;
  /** namespace */
  ns: string;
  /** providers it may use: anthropic, openai, gemini */
  p: string[];
  /** extra hosts CONNECT may reach (`*.x.org` matches subdomains; `host:port` another port than 443) */
  allow: string[];
  /** git hosts `/git/<host>/…` may reach with the gateway's git key */
  git: string[];
  /** USD the session may spend through the gateway, or null */
  budgetUsd: number | null;
  /** issued at, unix seconds */
  iat: number;
  /** expires at, unix seconds: the gateway refuses the token from then on (a token without one: iat + 7 days) */
  exp: number;
  /** the session's webhook generation, when the gateway relays its webhooks (notifykey.ts) */
  n?: string;
}

const PREFIX = "kgw1";

const b64url = (b: Uint8Array | string) => Buffer.from(b).toString("base64url");

function mac(signingKey: string, data: string): Buffer {
  return createHmac("sha256", Buffer.from(signingKey, "base64")).update(data).digest();
}

/** A new signing key: the base64 of 32 random bytes. */
export function newSigningKey(): string {
  return randomBytes(32).toString("base64");
}

/** A session token for these claims (iat defaults to now, exp to a lifetime after iat). */
export function mintToken(
  signingKey: string,
  claims: Omit<GatewayClaims, "iat" | "exp"> & { iat?: number; exp?: number },
): string {
  const iat = claims.iat ?? Math.floor(Date.now() / 1000);
  const full: GatewayClaims = { ...claims, iat, exp: claims.exp ?? iat + TOKEN_LIFETIME_S };
  const payload = b64url(JSON.stringify(full));
  return `${PREFIX}.${payload}.${b64url(mac(signingKey, `${PREFIX}.${payload}`))}`;
}

/** The admin token `kgwadmin.<mac of "admin">`: `GET /_kodama/usage` answers every session's figures. */
export function adminToken(signingKey: string): string {
  return `kgwadmin.${b64url(mac(signingKey, "admin"))}`;
}

/** The claims of a token this key signed (compared in constant time), or undefined. */
export function verifyToken(signingKey: string, token: string): GatewayClaims | undefined {
  const parts = token.split(".");
  if (parts.length !== 3 || parts[0] !== PREFIX) return undefined;
  const want = mac(signingKey, `${PREFIX}.${parts[1]}`);
  const got = Buffer.from(parts[2], "base64url");
  if (got.length !== want.length || !timingSafeEqual(got, want)) return undefined;
  try {
    const c = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
    return c && typeof c === "object" && typeof c.s === "string" ? c as GatewayClaims : undefined;
  } catch {
    return undefined;
  }
}
