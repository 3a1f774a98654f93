/**
 * What a session knows of the namespace's gateway (`kodama gateway`, src/agent/gateway/): its names, the
 * record a session keeps of it (`SessionSpec.gateway`), and the session's egress NetworkPolicy when it uses
 * one: only the gateway pod (port 8080) and the cluster's DNS (UDP/TCP 53 in kube-system). Pure.
 *
 * A session never imports an agent: the gateway's objects and tokens are built above (src/agent/gateway/);
 * this floor holds only what the session's own manifests and `kodama doctor` need.
 */
import type { V1NetworkPolicy } from "@kubernetes/client-node";
import type { PolicyMeta } from "./sandbox.ts";

/** The name of every object of the gateway: Secret, ConfigMap, StatefulSet, Service, NetworkPolicy. */
export const GATEWAY_NAME = "kodama-gateway";
/** The gateway's pod: its StatefulSet's one (ordinal 0); an older kodama made a bare pod named GATEWAY_NAME. */
export const GATEWAY_POD = `${GATEWAY_NAME}-0`;
/** The label that tells kodama's components apart; the gateway pod's value is `gateway`. */
export const LABEL_COMPONENT = "kodama.dev/component";
export const GATEWAY_COMPONENT = "gateway";
/** One port for the API routes and the CONNECT proxy (the contract's KODAMA_GATEWAY_PORT default). */
export const GATEWAY_PORT = 8080;

/** The gateway pod's labels (the Service's selector, the session policy's egress target). */
export const GATEWAY_POD_LABELS: Record<string, string> = {
  "app.kubernetes.io/managed-by": "kodama",
  [LABEL_COMPONENT]: GATEWAY_COMPONENT,
};

/**
 * How long a session token lasts (its `exp`): `start` mints one, `resume` gives the session a new one. A
 * pod that runs longer without a resume gets 401s naming the expiry.
 */
export const TOKEN_LIFETIME_S = 7 * 24 * 3600;

/**
 * A token's iat and exp: now, or the second a revocation of its name ends when that is later (a `start`
 * right after `delete` of the same name, in the same second, is not caught by the revocation).
 */
export function lifetime(now: Date, revokedBefore = 0): { iat: number; exp: number } {
  const iat = Math.max(Math.floor(now.getTime() / 1000), revokedBefore);
  return { iat, exp: iat + TOKEN_LIFETIME_S };
}

/**
 * A revocation in the gateway's config (`revoked`): a session's name (every token of it), or its tokens
 * issued before `before` (unix seconds), what `delete` writes so that a later session of the same name is
 * not held by it.
 */
export type RevokedEntry = string | { s: string; before: number };

/** The latest `before` of the name's revocations (undefined: none; Infinity: every token of it). */
export function revokedBefore(revoked: unknown, name: string): number | undefined {
  let out: number | undefined;
  for (const e of Array.isArray(revoked) ? revoked : []) {
    const b = typeof e === "string"
      ? (e === name ? Infinity : undefined)
      : e && typeof e === "object" && e.s === name && typeof e.before === "number"
      ? e.before
      : undefined;
    if (b !== undefined) out = Math.max(out ?? 0, b);
  }
  return out;
}

/**
 * The list with the name's tokens issued before `before` revoked (one entry per name, the latest), and the
 * entries whose tokens have all expired by `now` (unix seconds) dropped: the list stays short.
 */
export function withRevoked(revoked: unknown, name: string, before: number, now: number): RevokedEntry[] {
  const keep = (Array.isArray(revoked) ? revoked : []).filter((e): e is RevokedEntry =>
    typeof e === "string" ||
    (!!e && typeof e === "object" && typeof e.s === "string" && typeof e.before === "number" &&
      e.s !== name && e.before + TOKEN_LIFETIME_S > now)
  );
  const prev = revokedBefore(revoked, name);
  if (prev === Infinity) return keep;
  return [...keep, { s: name, before: Math.max(before, prev ?? 0) }];
}

/** What a session records of the gateway it was started with (never the token: its last four characters). */
export interface SessionGateway {
  /** the Service's name (kodama-gateway) */
  service: string;
  /** `http://CLUSTERIP:8080`: the base of every URL the session was given */
  url: string;
  /** `…abcd`: the token's last four characters, for `session get` */
  tokenSuffix: string;
}

/**
 * The gateway's metered figures of one session (read from its log by src/agent/gateway/figures.ts, once
 * per command for a whole namespace): what `list`, `compare`, `agent status`, the web UI and MCP show.
 * Counts only: no key, token, host list or query string.
 */
export interface GatewayFigures {
  /** requests and CONNECTs it forwarded */
  requests: number;
  /** connections it refused (a host outside the session's allow-list) */
  denied: number;
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  /** USD by the gateway's prices; null when a model had no price (tokens counted, cost unknown) */
  costUsd: number | null;
  /** the budget the session was started with (`--max-cost`), null without one */
  budgetUsd: number | null;
  /** what is left of it (never below 0), null without a budget or a known cost */
  budgetLeftUsd: number | null;
  /** the last host it refused this session */
  lastDenied?: string;
  /** 429s the gateway met and retried for this session, each once (its `retry` lines) */
  rateLimits?: number;
  /** a request of the session waits in the gateway now (its queue, or an upstream retry) */
  waiting?: GatewayWait;
  /**
   * the gateway's last answer to the session was that it cannot reach the upstream (after its own retries):
   * `gateway cannot reach api.example.com (502)`, what names the agent's own retry of that 502
   */
  unreachable?: string;
}

/** A session's wait in the gateway, shaped as a run's own wait (src/agent/outcome/outcome.ts Waiting). */
export interface GatewayWait {
  /** `gateway: 429`, `gateway queue`, `gateway cannot reach api.example.com (502)` */
  reason: string;
  until?: string;
  attempt?: number;
}

/** `12.3k tok $0.41` (input + output tokens and cost: the list's and the web UI's USAGE cell); `-` without. */
export function usageText(f: GatewayFigures | null | undefined): string {
  if (!f) return "-";
  const n = f.input + f.output;
  const tok = n >= 10_000_000
    ? `${Math.round(n / 1e6)}M`
    : n >= 1_000_000
    ? `${(n / 1e6).toFixed(1)}M`
    : n >= 10_000
    ? `${Math.round(n / 1000)}k`
    : n >= 1000
    ? `${(n / 1000).toFixed(1)}k`
    : String(n);
  // cents, as a bill reads (`$0.41`); a start that cost less than a cent says so rather than `$0.00`
  const cost = f.costUsd === null
    ? "$?"
    : f.costUsd > 0 && f.costUsd < 0.005
    ? "<$0.01"
    : `$${f.costUsd.toFixed(2)}`;
  return `${tok} tok ${cost}`;
}

/**
 * The egress NetworkPolicy of a session that uses the gateway: the gateway pod on its port, and DNS in
 * kube-system. No address block at all: the real keys are in the gateway, and nothing else is reachable.
 */
export function gatewayEgressPolicy(
  meta: PolicyMeta,
  podLabels: Record<string, string>,
): V1NetworkPolicy {
  const dnsPorts = [{ protocol: "UDP", port: 53 }, { protocol: "TCP", port: 53 }];
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: meta,
    spec: {
      podSelector: { matchLabels: podLabels },
      policyTypes: ["Egress"],
      egress: [
        {
          to: [{
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
          }],
          ports: dnsPorts,
        },
        {
          to: [{ podSelector: { matchLabels: { [LABEL_COMPONENT]: GATEWAY_COMPONENT } } }],
          ports: [{ protocol: "TCP", port: GATEWAY_PORT }],
        },
      ],
    },
  } as V1NetworkPolicy;
}
