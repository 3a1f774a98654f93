/**
 * A session's gateway token at `resume` and `delete` (docs/agents.md "Inside the gateway", docs/security.md
 * "The gateway: budgets that hold, tokens that end"), for a session that records a gateway:
 *
 *   resume  a new token (a new expiry, the same claims) in place of the old one in every variable of the env
 *           Secret, before the pod that reads them is made
 *   delete  {s, before} appended to the `revoked` list of the gateway's config.json (its Secret, mounted in
 *           the gateway pod, which re-reads it): the session's tokens issued until now are refused
 *
 * The Secret's update is conditional on the version read (a concurrent delete's update is retried over).
 */
import type { V1Secret } from "@kubernetes/client-node";
import type { KubeObjects } from "../../kube/seam.ts";
import { KodamaError } from "../../base/errors.ts";
import { GATEWAY_NAME, lifetime, revokedBefore, withRevoked } from "../spec/gateway.ts";
import { namesOf, type SessionSpec } from "../spec/spec.ts";

const fromB64 = (s: string) => new TextDecoder().decode(Uint8Array.fromBase64(s));
const toB64 = (s: string) => new TextEncoder().encode(s).toBase64();
const seconds = (d: Date) => Math.floor(d.getTime() / 1000);

interface Found {
  secret: V1Secret;
  config: { signingKey: string; revoked?: unknown } & Record<string, unknown>;
}

/** The gateway's Secret and its config.json (undefined: no gateway, or not one of kodama's). */
async function gatewayConfig(kube: KubeObjects, ns: string): Promise<Found | undefined> {
  const secret = await kube.findObject<V1Secret>("secrets", ns, GATEWAY_NAME);
  const raw = secret?.data?.["config.json"];
  if (!secret || !raw) return undefined;
  try {
    const config = JSON.parse(fromB64(raw));
    return config && typeof config === "object" && typeof config.signingKey === "string"
      ? { secret, config }
      : undefined;
  } catch {
    return undefined;
  }
}

const isConflict = (e: unknown) =>
  e instanceof KodamaError && /conflict|modified|precondition|cannot be fulfilled/i.test(e.message);

/**
 * Revoke the tokens of session `name` issued until `now` at the namespace's gateway: false when there is
 * no gateway. Throws what the API server said (forbidden: the caller warns).
 */
export async function revokeGatewayTokens(
  kube: KubeObjects,
  ns: string,
  name: string,
  now: Date,
): Promise<boolean> {
  for (let i = 0;; i++) {
    const g = await gatewayConfig(kube, ns);
    if (!g) return false;
    // every token issued in this second or before
    const revoked = withRevoked(g.config.revoked, name, seconds(now) + 1, seconds(now));
    const text = JSON.stringify({ ...g.config, revoked }, null, 2);
    try {
      await kube.patchObject("secrets", ns, GATEWAY_NAME, {
        metadata: { resourceVersion: g.secret.metadata?.resourceVersion },
        data: { "config.json": toB64(text) },
      });
      return true;
    } catch (e) {
      if (!isConflict(e) || i >= 4) throw e;
    }
  }
}

const TOKEN = /kgw1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}/g;

/**
 * A new token for a session resumed through its gateway: its env Secret's token (the one the gateway's key
 * signed for this session) re-minted with a new iat and exp, in every variable that holds it (key, proxy
 * URL, git header, Codex's auth.json). The new token's `…last4`, or undefined when there was none to renew
 * (no gateway, no token of this session, or one revoked: a deleted session's name is not brought back).
 */
export async function renewGatewayToken(
  kube: KubeObjects,
  spec: SessionSpec,
  now: Date,
): Promise<string | undefined> {
  if (!spec.gateway) return undefined;
  const g = await gatewayConfig(kube, spec.namespace);
  if (!g) return undefined;
  const envName = namesOf(spec).envSecret;
  const env = await kube.findObject<V1Secret>("secrets", spec.namespace, envName);
  const vars = Object.entries(env?.data ?? {}).map(([k, v]) => [k, fromB64(v)] as const);
  const { mintToken, verifyToken } = await import("../spec/gatewaytoken.ts");
  const key = g.config.signingKey;
  const found = [...new Set(vars.flatMap(([, v]) => v.match(TOKEN) ?? []))]
    .map((t) => ({ t, c: verifyToken(key, t) }))
    .find((x) => x.c?.s === spec.name);
  if (!found?.c) return undefined;
  const before = revokedBefore(g.config.revoked, spec.name);
  if (before !== undefined && found.c.iat < before) return undefined;
  const next = mintToken(key, {
    ...found.c,
    ...lifetime(now, before !== undefined && Number.isFinite(before) ? before : 0),
  });
  const data: Record<string, string> = {};
  for (const [k, v] of vars) if (v.includes(found.t)) data[k] = toB64(v.replaceAll(found.t, next));
  await kube.patchObject("secrets", spec.namespace, envName, {
    metadata: { resourceVersion: env?.metadata?.resourceVersion },
    data,
  });
  return `…${next.slice(-4)}`;
}
