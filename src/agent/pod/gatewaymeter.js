// kodama's agent gateway, its meter and budget ledger (docs/agents.md, "Metering and budgets"): required by
// gateway.js from the same directory (both are keys of the gateway's ConfigMap). Pure: no I/O, no clock.
//
//   prices     USD per million tokens; the config's `prices` first, the longest matching glob wins
//   meter      usage read from each provider's answer as it passes (SSE line by line, or one JSON)
//   estimate   what a request may cost before it goes out: its input size and its max output tokens
//   ledger     per session: what requests under way hold, so that checks and reservations are one step
"use strict";

// USD per million tokens
const DEFAULT_PRICES = {
  // the 5 family (platform.claude.com's model pages, 2026-11): Opus 5.5 is the current Opus
  "claude-fable-5*": { input: 10, output: 50 },
  "claude-opus-5-5*": { input: 4, output: 20, cacheRead: 0.2, cacheWrite: 5 },
  "claude-opus-5*": { input: 5, output: 25, cacheRead: 0.5, cacheWrite: 6.25 },
  "claude-sonnet-5*": { input: 2, output: 10 },
  "claude-opus-4-0*": { input: 15, output: 75 },
  "claude-opus-4-1*": { input: 15, output: 75 },
  "claude-opus-4*": { input: 5, output: 25 },
  "claude-sonnet-*": { input: 3, output: 15 },
  "claude-haiku-4*": { input: 1, output: 5 },
  "claude-3-5-haiku*": { input: 0.8, output: 4 },
  "gpt-5*": { input: 1.25, output: 10, cacheRead: 0.125 },
  "gpt-5*-mini*": { input: 0.25, output: 2, cacheRead: 0.025 },
  "gpt-4.1*": { input: 2, output: 8, cacheRead: 0.5 },
  "gpt-4o*": { input: 2.5, output: 10, cacheRead: 1.25 },
  "gemini-2.5-pro*": { input: 1.25, output: 10, cacheRead: 0.31 },
  "gemini-2.5-flash*": { input: 0.3, output: 2.5, cacheRead: 0.075 },
  // Qwen Code's models on Alibaba Cloud Model Studio (international, the first tier: up to 32K input tokens)
  "qwen3-coder-plus*": { input: 1, output: 5 },
  "qwen3-coder-flash*": { input: 0.3, output: 1.5 },
};

/** The output tokens a request that names no maximum is assumed to ask for. */
const DEFAULT_MAX_OUTPUT = 32_000;
/** Bytes of a request body per input token, estimated (text and code run 3–4; lower is dearer). */
const BYTES_PER_TOKEN = 3;
/** Characters of streamed output per token, estimated for an answer cut before its final usage. */
const CHARS_PER_TOKEN = 3;

const isObj = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const num = (v) => (typeof v === "number" && Number.isFinite(v) ? v : 0);

// ---- prices ------------------------------------------------------------------------------------------

function globMatch(pattern, s) {
  const re = "^" + pattern.split("*").map((x) => x.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*") + "$";
  return new RegExp(re).test(s);
}

/** The price of a model: the config's table first, then the built-in one (undefined: none). */
function priceOf(prices, model) {
  if (!model) return undefined;
  for (const table of [prices || {}, DEFAULT_PRICES]) {
    const hits = Object.keys(table).filter((p) => globMatch(p, model)).sort((a, b) => b.length - a.length);
    if (hits.length && isObj(table[hits[0]])) return table[hits[0]];
  }
  return undefined;
}

/** USD of usage {input, output, cacheRead, cacheWrite} at the model's price (undefined: no price). */
function costOf(prices, model, u) {
  const p = priceOf(prices, model);
  if (!p) return undefined;
  const inP = num(p.input);
  const c = num(u.input) * inP + num(u.output) * num(p.output) +
    num(u.cacheRead) * (p.cacheRead !== undefined ? num(p.cacheRead) : inP * 0.1) +
    num(u.cacheWrite) * (p.cacheWrite !== undefined ? num(p.cacheWrite) : inP * 1.25);
  return c / 1e6;
}

// ---- the meter -------------------------------------------------------------------------------------------

/** Characters of output one stream event carries (text, tool input, reasoning), for a cut answer's estimate. */
function streamedChars(j) {
  let n = 0;
  const s = (v) => (typeof v === "string" ? v.length : 0);
  if (isObj(j.delta)) n += s(j.delta.text) + s(j.delta.partial_json) + s(j.delta.thinking); // Anthropic
  if (typeof j.type === "string" && j.type.endsWith(".delta")) n += s(j.delta); // OpenAI Responses
  for (const c of Array.isArray(j.choices) ? j.choices : []) { // Chat Completions
    const d = isObj(c) && isObj(c.delta) ? c.delta : {};
    n += s(d.content) + s(d.reasoning_content);
    for (const t of Array.isArray(d.tool_calls) ? d.tool_calls : []) {
      n += isObj(t) && isObj(t.function) ? s(t.function.arguments) : 0;
    }
  }
  for (const c of Array.isArray(j.candidates) ? j.candidates : []) { // Gemini
    const parts = isObj(c) && isObj(c.content) && Array.isArray(c.content.parts) ? c.content.parts : [];
    for (const p of parts) {
      n += isObj(p) ? s(p.text) + (p.functionCall ? JSON.stringify(p.functionCall).length : 0) : 0;
    }
  }
  return n;
}

/** Usage from one JSON object of any provider's answer or stream event, into m (last figures win). */
function meterJson(m, j) {
  if (!isObj(j)) return;
  const set = (u) => {
    m.seen = true;
    m.version++;
    for (const k of Object.keys(u)) if (u[k] !== undefined) m.usage[k] = u[k];
  };
  if (j.type === "message_start" && isObj(j.message)) return meterJson(m, j.message);
  if (/^response\.(completed|incomplete|failed)$/.test(j.type) && isObj(j.response)) {
    return meterJson(m, j.response);
  }
  m.chars += streamedChars(j);
  if (typeof j.model === "string") m.model = j.model;
  if (typeof j.modelVersion === "string") m.model = j.modelVersion;
  const u = j.usage;
  if (isObj(u) && ("input_tokens" in u || "output_tokens" in u) && !("input_tokens_details" in u)) {
    // Anthropic (message_start, message_delta: cumulative)
    set({
      input: u.input_tokens,
      output: u.output_tokens,
      cacheRead: u.cache_read_input_tokens,
      cacheWrite: u.cache_creation_input_tokens,
    });
  } else if (isObj(u) && "input_tokens_details" in u) {
    // OpenAI Responses: input counts the cached tokens
    const cached = num(isObj(u.input_tokens_details) ? u.input_tokens_details.cached_tokens : 0);
    set({ input: num(u.input_tokens) - cached, output: num(u.output_tokens), cacheRead: cached });
  } else if (isObj(u) && "prompt_tokens" in u) {
    // OpenAI Chat Completions (a stream's last chunk, when asked for with stream_options.include_usage)
    const cached = num(isObj(u.prompt_tokens_details) ? u.prompt_tokens_details.cached_tokens : 0);
    set({ input: num(u.prompt_tokens) - cached, output: num(u.completion_tokens), cacheRead: cached });
  }
  const g = j.usageMetadata;
  if (isObj(g)) {
    const cached = num(g.cachedContentTokenCount);
    set({
      input: num(g.promptTokenCount) - cached,
      output: num(g.candidatesTokenCount) + num(g.thoughtsTokenCount),
      cacheRead: cached,
    });
  }
}

/**
 * A meter for one answer: SSE lines parsed as they pass (nothing held but the current line), or JSON.
 * `seen`: a usage figure came; `version` counts them; `chars`: output characters streamed so far.
 */
function newMeter(contentType, model, jsonLimit) {
  const m = {
    sse: /event-stream/i.test(contentType || ""),
    model,
    seen: false,
    version: 0,
    chars: 0,
    usage: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
    line: "",
    json: [],
    jsonBytes: 0,
  };
  const limit = jsonLimit || 8 * 1024 * 1024;
  const dataLine = (l) => {
    if (!l.startsWith("data:")) return;
    try {
      meterJson(m, JSON.parse(l.slice(5)));
    } catch { /* not JSON: [DONE], a comment */ }
  };
  m.feed = (chunk) => {
    if (!m.sse) {
      if (m.jsonBytes + chunk.length <= limit) m.json.push(chunk);
      m.jsonBytes += chunk.length;
      return;
    }
    const lines = (m.line + chunk.toString("utf8")).split(/\r?\n/);
    m.line = lines.pop();
    if (m.line.length > 4 * 1024 * 1024) m.line = ""; // a line past any usage event: not kept
    for (const l of lines) dataLine(l);
  };
  m.end = () => {
    if (m.sse) return dataLine(m.line);
    if (m.jsonBytes > limit) return;
    try {
      const j = JSON.parse(Buffer.concat(m.json).toString("utf8"));
      for (const x of Array.isArray(j) ? j : [j]) meterJson(m, x);
    } catch { /* not JSON */ }
  };
  return m;
}

/**
 * What an answer is charged: its usage; for one cut short (`cut`), at least the output it streamed
 * (characters / 3) and, when no usage came at all, the request's estimated input.
 */
function chargedUsage(m, est, cut) {
  const u = {
    input: num(m.usage.input),
    output: num(m.usage.output),
    cacheRead: num(m.usage.cacheRead),
    cacheWrite: num(m.usage.cacheWrite),
  };
  if (!cut) return u;
  u.output = Math.max(u.output, Math.ceil(m.chars / CHARS_PER_TOKEN));
  if (!m.seen && est) u.input = est.input;
  return u;
}

// ---- estimates -----------------------------------------------------------------------------------------

/** Paths that count tokens and cost nothing (Anthropic, Gemini, OpenAI Responses). */
const FREE = [/\/messages\/count_tokens$/, /:countTokens$/, /\/responses\/input_tokens$/];

/** Whether a request of a budgeted session is reserved for: every one that may spend (not a read, not a count). */
function spends(method, path) {
  if (method === "GET" || method === "HEAD" || method === "OPTIONS") return false;
  return !FREE.some((re) => re.test(path));
}

/**
 * The most a request may use, from its body (parsed JSON or undefined) and its size: the model (the body's,
 * else the path's: Gemini), input tokens at one per 3 bytes, output tokens at its maximum (Anthropic
 * max_tokens, Responses max_output_tokens, Chat max_completion_tokens/max_tokens, Gemini maxOutputTokens),
 * else 32,000.
 */
function estimateOf(body, bytes, pathModel) {
  const j = isObj(body) ? body : {};
  const gc = isObj(j.generationConfig) ? j.generationConfig : {};
  const max = [j.max_tokens, j.max_output_tokens, j.max_completion_tokens, gc.maxOutputTokens]
    .find((v) => typeof v === "number" && Number.isFinite(v) && v > 0);
  return {
    model: typeof j.model === "string" && j.model ? j.model : pathModel,
    input: Math.ceil(num(bytes) / BYTES_PER_TOKEN),
    output: max !== undefined ? Math.ceil(max) : DEFAULT_MAX_OUTPUT,
  };
}

/** What an answer under way may still cost: the usage seen so far, its output at least the estimate's. */
function heldCost(prices, est, m) {
  const u = m && m.seen
    ? { ...chargedUsage(m, est, false) }
    : { input: est.input, output: 0, cacheRead: 0, cacheWrite: 0 };
  u.output = Math.max(u.output, est.output);
  return costOf(prices, est.model || (m && m.model), u);
}

// ---- the ledger ----------------------------------------------------------------------------------------

/**
 * Per session: `held`, what its requests under way may cost, and `open`, how many hold something. The
 * check and the reservation are one synchronous step (the gateway is one Node process: nothing else runs
 * between them).
 */
function newLedger() {
  return new Map();
}

/**
 * Reserve `cost` for a request of session `s` whose budget is `budget` and that has spent `spent`: when
 * it fits in what is left beside what the session's requests under way hold, or when none is under way
 * and something is left (a session's one request may then overshoot the budget by its own cost: it is
 * bounded by its max tokens). A hold, or a refusal {refused: {held, open}}.
 */
function reserve(ledger, s, budget, spent, cost) {
  const e = ledger.get(s) || { held: 0, open: 0 };
  const fits = spent + e.held + cost <= budget || (e.open === 0 && spent < budget);
  if (!fits) return { refused: { held: e.held, open: e.open } };
  e.held += cost;
  e.open++;
  ledger.set(s, e);
  return { hold: { s, amount: cost, released: false } };
}

/** A hold's amount set anew (usage seen so far, what is left of the estimate). */
function rehold(ledger, hold, cost) {
  if (!hold || hold.released || cost === undefined) return;
  const e = ledger.get(hold.s);
  if (!e) return;
  e.held += cost - hold.amount;
  hold.amount = cost;
}

/** A hold given back (the answer's cost is in the session's spent from now on). */
function release(ledger, hold) {
  if (!hold || hold.released) return;
  hold.released = true;
  const e = ledger.get(hold.s);
  if (!e) return;
  e.open--;
  e.held = e.open > 0 ? Math.max(0, e.held - hold.amount) : 0;
  if (e.open <= 0) ledger.delete(hold.s);
}

module.exports = {
  DEFAULT_PRICES,
  priceOf,
  costOf,
  meterJson,
  newMeter,
  chargedUsage,
  spends,
  estimateOf,
  heldCost,
  newLedger,
  reserve,
  rehold,
  release,
};
