/**
 * The model APIs kodama knows, one entry each: the one provider table. Everything that names a provider is
 * built from it: the adapters' `provider` and `agent check`'s requests (./check.ts), the keys kept on this
 * machine (./keys.ts: the variable a key is stored as, what its prefix says), the gateway's key variables,
 * upstreams and session routes (./gateway/config.ts, ./gateway/claims.ts), and `agent keys test`. The
 * gateway's own program (pod/gateway.js, plain JavaScript in the pod) has its routes, default upstreams,
 * error shapes and rate-limit headers in its `PROVIDERS`; tests/unit/agent/providers_test.ts fails when the
 * two differ, so a provider added here without its route in the gateway is a red test, not a 404 in a pod.
 *
 * Adding a provider: its name in PROVIDER_NAMES (nothing compiles until PROVIDERS has its entry), its entry
 * here, its entry in pod/gateway.js's PROVIDERS (the test says what is missing), its models' prices in
 * pod/gatewaymeter.js (a test checks every adapter's default model has one).
 */
import type { PresetName } from "../../config/agentnames.ts";

export const PROVIDER_NAMES = ["anthropic", "openai", "gemini"] as const;
/** A model API, as `agent keys`, the adapters and the gateway name it. */
export type Provider = typeof PROVIDER_NAMES[number];

/** One way a CLI sends a key: its variable, the header and what goes before the value. */
export interface KeyWay {
  variable: string;
  header: string;
  prefix: string;
  /** extra headers this way needs (Claude Code's OAuth token) */
  extra?: Record<string, string>;
}

export interface ProviderSpec {
  /** how a message names one of its keys: `an Anthropic` key */
  word: string;
  /** the real API's origin: the gateway's default upstream */
  origin: string;
  /** what its CLIs' base URL has after the origin (OpenAI's `/v1`); the gateway's route keeps it */
  basePath: string;
  /** the variable its CLIs read the base URL from */
  baseVar: string;
  /** the variable its key is stored as (`agent keys`) and a session's gateway token is given in */
  keyVar: string;
  /** every variable that holds its credential, in the gateway's order, and how each is sent */
  keys: KeyWay[];
  /** what a key of it starts with (`agent keys set` names a key in the wrong variable) */
  keyPattern: RegExp;
  /** the first letter of the gateway's key ids (`a1`, `o2`) */
  idPrefix: string;
  /** the response headers that state its rate limits (`agent check` shows them; the gateway learns them);
   * none: its 429s say how long in their body */
  rateHeaders?: RegExp;
  /** the preset whose `agent check` tests a stored key (`agent keys test`) */
  checkedBy: PresetName;
}

const bearer = (variable: string): KeyWay => ({ variable, header: "authorization", prefix: "Bearer " });

export const PROVIDERS: Record<Provider, ProviderSpec> = {
  anthropic: {
    word: "an Anthropic",
    origin: "https://api.anthropic.com",
    basePath: "",
    baseVar: "ANTHROPIC_BASE_URL",
    keyVar: "ANTHROPIC_API_KEY",
    keys: [
      { variable: "ANTHROPIC_API_KEY", header: "x-api-key", prefix: "" },
      // Claude Code's subscription token: a Bearer, with the OAuth beta the API asks of it
      { ...bearer("CLAUDE_CODE_OAUTH_TOKEN"), extra: { "anthropic-beta": "oauth-2025-04-20" } },
      bearer("ANTHROPIC_AUTH_TOKEN"),
    ],
    keyPattern: /^sk-ant-/,
    idPrefix: "a",
    rateHeaders: /^anthropic-ratelimit-/,
    checkedBy: "claude",
  },
  openai: {
    word: "an OpenAI",
    origin: "https://api.openai.com",
    basePath: "/v1",
    baseVar: "OPENAI_BASE_URL",
    keyVar: "OPENAI_API_KEY",
    keys: [bearer("OPENAI_API_KEY"), bearer("CODEX_API_KEY")],
    keyPattern: /^sk-(?!ant-)/,
    idPrefix: "o",
    rateHeaders: /^x-ratelimit-/,
    checkedBy: "codex",
  },
  gemini: {
    word: "a Google (Gemini)",
    origin: "https://generativelanguage.googleapis.com",
    basePath: "",
    baseVar: "GOOGLE_GEMINI_BASE_URL",
    keyVar: "GEMINI_API_KEY",
    keys: [
      { variable: "GEMINI_API_KEY", header: "x-goog-api-key", prefix: "" },
      { variable: "GOOGLE_API_KEY", header: "x-goog-api-key", prefix: "" },
    ],
    keyPattern: /^AIza/,
    idPrefix: "g",
    checkedBy: "gemini",
  },
};

/** The key way of `variable` (one of the provider's keys). */
export function keyWay(p: Provider, variable: string): KeyWay {
  const way = PROVIDERS[p].keys.find((k) => k.variable === variable);
  if (!way) throw new Error(`${variable} is not one of ${p}'s key variables`);
  return way;
}

/** The provider whose key a variable holds (undefined: none's). */
export function providerOfKeyVar(variable: string): Provider | undefined {
  return PROVIDER_NAMES.find((p) => PROVIDERS[p].keys.some((k) => k.variable === variable));
}

/** The provider's base URL by default (its origin and base path). */
export const defaultBase = (p: Provider): string => PROVIDERS[p].origin + PROVIDERS[p].basePath;

/** Every provider's key variables, in the table's order. */
export const MODEL_KEY_VARS: string[] = PROVIDER_NAMES.flatMap((p) =>
  PROVIDERS[p].keys.map((k) => k.variable)
);
