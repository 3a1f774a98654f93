/**
 * `kodama agent check`: the smallest real request a session's agent would make (its variables, base URL and
 * model), and what it says: the key accepted or not, the model found, the time to the first token, tokens
 * per second, the rate-limit headroom the API's headers state.
 *
 * The request is a plan (`checkPlan`, pure): where the base URL and the key come from (variable names), the
 * path, the headers and the body, exactly the real APIs' shapes: Anthropic Messages (`max_tokens`,
 * streaming), OpenAI Responses (streaming), OpenAI Chat Completions (streaming, usage in the last chunk: Qwen
 * Code's), Gemini streamGenerateContent (SSE). From the laptop this module
 * sends it with `fetch` (`sendPlan`); from a session's pod `pod/check.js` sends the same plan with the pod's
 * variables, so the pod's key never leaves it. Both report a `Probe`, which `judge` (pure) turns into the
 * verdict and its exit code.
 */
import { ExitCode } from "../../base/errors.ts";
import * as js from "../pod/check.js";
import type { PresetName } from "../presets/presets.ts";
import { ADAPTERS, byPreset } from "../adapters/index.ts";
import type { KeyWay, Wire } from "../adapters/types.ts";
import { defaultBase, type Provider, PROVIDERS } from "./providers.ts";

/** The model each preset's check asks for when none is chosen (its adapter's: the CLI's usual default). */
export const DEFAULT_MODEL: Record<PresetName, string> = byPreset((a) => a.check.defaultModel);

export type { KeyWay } from "../adapters/types.ts";

export interface CheckPlan {
  preset: PresetName;
  model: string;
  baseVar: string;
  defaultBase: string;
  /** appended to the base URL (no trailing slash on the base) */
  path: string;
  /** the key ways, in the order the CLI prefers them */
  keys: KeyWay[];
  headers: Record<string, string>;
  body: unknown;
  /** the response headers that state rate limits (regular expressions' sources): shown in the verdict */
  rateHeaders: string[];
}

const PROMPT = "Reply with the single word: ok";

/** Where a provider's requests go (its base URL's variable and its default), and its rate-limit headers. */
const base = (p: Provider) => ({
  baseVar: PROVIDERS[p].baseVar,
  defaultBase: defaultBase(p),
  rateHeaders: [...(PROVIDERS[p].rateHeaders ? [PROVIDERS[p].rateHeaders.source] : []), "^retry-after$"],
});

/** Each request shape: where it goes and what it asks, the smallest answer (`tokens`) for `model`. */
const WIRES: Record<Wire, (model: string, tokens: number) => Omit<CheckPlan, "preset" | "model" | "keys">> = {
  messages: (model, tokens) => ({
    ...base("anthropic"),
    path: "/v1/messages",
    headers: { "anthropic-version": "2023-06-01", "content-type": "application/json" },
    body: { model, max_tokens: tokens, stream: true, messages: [{ role: "user", content: PROMPT }] },
  }),
  responses: (model, tokens) => ({
    ...base("openai"),
    path: "/responses",
    headers: { "content-type": "application/json" },
    // the Responses API's smallest output budget is 16 tokens
    body: { model, input: PROMPT, max_output_tokens: Math.max(16, tokens), stream: true, store: false },
  }),
  chat: (model, tokens) => ({
    ...base("openai"),
    path: "/chat/completions",
    headers: { "content-type": "application/json" },
    body: {
      model,
      messages: [{ role: "user", content: PROMPT }],
      max_tokens: tokens,
      stream: true,
      stream_options: { include_usage: true },
    },
  }),
  gemini: (model, tokens) => ({
    ...base("gemini"),
    path: `/v1beta/models/${encodeURIComponent(model)}:streamGenerateContent?alt=sse`,
    headers: { "content-type": "application/json" },
    body: {
      contents: [{ role: "user", parts: [{ text: PROMPT }] }],
      generationConfig: { maxOutputTokens: tokens },
    },
  }),
};

/** The request of a preset's check. `tokens`: how many output tokens to ask for (1: the smallest). */
export function checkPlan(preset: PresetName, model: string, tokens = 1): CheckPlan {
  const { wire, keys } = ADAPTERS[preset].check;
  return { preset, model, ...WIRES[wire](model, tokens), keys };
}

/** The rate-limit headers worth showing: the plan's provider's (./providers.ts), and `retry-after`. */
export function isRateHeader(plan: Pick<CheckPlan, "rateHeaders">, h: string): boolean {
  return js.rateHeaders(plan)(h);
}

/** What one request showed, wherever it was sent from. */
export interface Probe {
  /** the variable the key came from (undefined: none was set) */
  keyVar?: string;
  baseUrl: string;
  /** the HTTP status (undefined: no answer) */
  status?: number;
  /** a network failure's words */
  error?: string;
  /** the start of an error answer's body */
  body?: string;
  headers: Record<string, string>;
  /** ms from the request to its first content event, and to the stream's end */
  firstTokenMs?: number;
  doneMs?: number;
  outputTokens?: number;
  /** a stream's own error event (Anthropic's `event: error`) */
  streamError?: string;
}

/** A stream's content and usage, from its SSE `data:` lines (the APIs' shapes): pod/check.js's. */
export const sseFacts: (line: string) => { content?: boolean; outputTokens?: number; error?: string } =
  js.sseFacts;

/**
 * Send a plan from this machine with `env`'s variables; `timeoutMs` bounds the whole request. The same code
 * a session's pod sends it with (pod/check.js): the request is written once.
 */
export async function sendPlan(
  plan: CheckPlan,
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<Probe> {
  return await js.sendPlan(plan, env, timeoutMs) as Probe;
}

export type Verdict =
  | "ok"
  | "no-key"
  | "wrong-key"
  | "auth"
  | "model"
  | "overloaded"
  | "rate-limited"
  | "unreachable"
  | "timeout"
  | "failed"
  | "gateway";

/** The exit code of each verdict (docs/agents.md, docs/reference.md). */
export const VERDICT_EXIT: Record<Verdict, number> = {
  ok: ExitCode.OK,
  "no-key": ExitCode.FORBIDDEN,
  "wrong-key": ExitCode.FORBIDDEN,
  auth: ExitCode.FORBIDDEN,
  model: ExitCode.NOT_FOUND,
  overloaded: ExitCode.FAILED,
  "rate-limited": ExitCode.FAILED,
  unreachable: ExitCode.FAILED,
  timeout: ExitCode.TIMEOUT,
  failed: ExitCode.FAILED,
  // no key here, and the namespace's gateway holds the provider's: a start through it needs none here
  gateway: ExitCode.OK,
};

/** The API's own error words from its body (`{error: {message}}` or `[{error: …}]`), one line. */
export function apiMessage(body: string | undefined): string | undefined {
  if (!body) return undefined;
  try {
    const v = JSON.parse(body);
    const e = (Array.isArray(v) ? v[0] : v)?.error;
    const m = typeof e === "string" ? e : e?.message ?? e?.type;
    return typeof m === "string" ? m.split("\n")[0].slice(0, 200) : undefined;
  } catch {
    return body.split("\n")[0].slice(0, 200) || undefined;
  }
}

/** A probe's verdict (pure). */
export function judge(p: Probe): { verdict: Verdict; message: string } {
  const api = apiMessage(p.body);
  const said = api ? `: ${api}` : "";
  if (!p.keyVar) return { verdict: "no-key", message: "no key is set" };
  if (p.status === undefined) {
    if (p.error?.startsWith("no answer")) return { verdict: "timeout", message: p.error };
    return { verdict: "unreachable", message: `cannot reach ${p.baseUrl}: ${p.error ?? "no answer"}` };
  }
  const s = p.status;
  if (s === 401 || s === 403) return { verdict: "auth", message: `the key was refused (${s})${said}` };
  // Gemini answers a bad key with 400 API_KEY_INVALID
  if (s === 400 && /API[_ ]KEY|api key/i.test(p.body ?? "")) {
    return { verdict: "auth", message: `the key was refused (${s})${said}` };
  }
  if (s === 404 || /not_found_error|model_not_found|does not exist/.test(p.body ?? "")) {
    return { verdict: "model", message: `the model was not found (${s})${said}` };
  }
  if (s === 429) {
    const after = p.headers["retry-after"];
    return {
      verdict: "rate-limited",
      message: `rate limited (429${after ? `, retry after ${after}s` : ""})${said}`,
    };
  }
  if (s === 529 || s === 503 || s === 502 || s === 500) {
    return { verdict: "overloaded", message: `the API is overloaded (${s})${said}` };
  }
  if (s >= 400) return { verdict: "failed", message: `the API answered ${s}${said}` };
  if (p.streamError) {
    const v: Verdict = /overload/i.test(p.streamError) ? "overloaded" : "failed";
    return { verdict: v, message: `the stream ended with an error: ${p.streamError}` };
  }
  return { verdict: "ok", message: "the key was accepted and the model answered" };
}

/** Tokens per second over the stream's output (after the first token), when it can be told. */
export function tokensPerSecond(p: Probe): number | undefined {
  if (!p.outputTokens || p.firstTokenMs === undefined || p.doneMs === undefined) return undefined;
  const ms = p.doneMs - p.firstTokenMs;
  if (p.outputTokens < 2 || ms <= 0) return undefined;
  return Math.round(((p.outputTokens - 1) / ms) * 1000 * 10) / 10;
}
