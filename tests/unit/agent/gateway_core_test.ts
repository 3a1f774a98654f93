// The pure parts of kodama's gateway (src/agent/pod/gateway.js, loaded as the CommonJS file it is): reset
// times and retry-after in the providers' forms, what rate-limit headers tell the governor, usage fields of
// each provider's answers, the egress allow-list's host matching.
import { assert, assertEquals } from "@kodama/test-assert";
import { Buffer } from "node:buffer";
import { createRequire } from "node:module";

const gw = createRequire(import.meta.url)("../../../src/agent/pod/gateway.js");
const NOW = Date.parse("2026-11-26T20:00:00Z");

Deno.test("gateway core: reset times as a date, a Go duration or seconds; retry-after in every form", () => {
  assertEquals(gw.resetAt("2026-11-26T20:00:30Z", NOW), NOW + 30_000);
  assertEquals(gw.resetAt("6m0s", NOW), NOW + 360_000);
  assertEquals(gw.resetAt("1.5s", NOW), NOW + 1500);
  assertEquals(gw.resetAt("20ms", NOW), NOW + 20);
  assertEquals(gw.resetAt("7", NOW), NOW + 7000);
  assertEquals(gw.resetAt("soon", NOW), undefined);
  assertEquals(gw.retryAfterMs({ "retry-after-ms": "250", "retry-after": "9" }, "", NOW), 250);
  assertEquals(gw.retryAfterMs({ "retry-after": "9" }, "", NOW), 9000);
  // Gemini: a 429's RetryInfo
  const gemini = JSON.stringify({
    error: {
      code: 429,
      details: [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "31s" }],
    },
  });
  assertEquals(gw.retryAfterMs({}, gemini, NOW), 31_000);
  assertEquals(gw.retryAfterMs({}, "not json", NOW), undefined);
});

Deno.test("gateway core: the headers saying none remain block the key until their reset", () => {
  const key = { blockedUntil: 0 } as Record<string, unknown>;
  gw.learnLimits(key, {
    "anthropic-ratelimit-requests-remaining": "3",
    "anthropic-ratelimit-requests-reset": "2026-11-26T20:00:10Z",
  }, NOW);
  assertEquals([key.remaining, key.blockedUntil], [3, 0]);
  gw.learnLimits(key, {
    "anthropic-ratelimit-tokens-remaining": "0",
    "anthropic-ratelimit-tokens-reset": "2026-11-26T20:00:20Z",
  }, NOW);
  assertEquals(key.blockedUntil, NOW + 20_000);
  const o = { blockedUntil: 0 } as Record<string, unknown>;
  gw.learnLimits(o, { "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "2s" }, NOW);
  assertEquals([o.remaining, o.blockedUntil], [0, NOW + 2000]);
});

function meter(contentType: string, chunks: string[], model?: string) {
  const m = gw.newMeter(contentType, model);
  for (const c of chunks) m.feed(Buffer.from(c));
  m.end();
  return m;
}

Deno.test("gateway core: usage from each provider's stream and answer, split anywhere", () => {
  const anthropic = [
    'event: message_start\ndata: {"type":"message_start","message":{"model":"claude-sonnet-4-5","usage":',
    '{"input_tokens":12,"output_tokens":1,"cache_read_input_tokens":100,"cache_creation_input_tokens":7}}}\n\n',
    'event: message_delta\ndata: {"type":"message_delta","usage":{"output_tokens":42}}\n\n',
  ];
  const a = meter("text/event-stream", anthropic);
  assertEquals([a.model, a.usage], ["claude-sonnet-4-5", {
    input: 12,
    output: 42,
    cacheRead: 100,
    cacheWrite: 7,
  }]);
  const openai = meter("text/event-stream; charset=utf-8", [
    'data: {"type":"response.completed","response":{"model":"gpt-5","usage":{"input_tokens":50,',
    '"input_tokens_details":{"cached_tokens":20},"output_tokens":9}}}\r\n\r\n',
  ]);
  assertEquals([openai.model, openai.usage.input, openai.usage.cacheRead, openai.usage.output], [
    "gpt-5",
    30,
    20,
    9,
  ]);
  const chat = meter("application/json", [
    '{"model":"gpt-4o","usage":{"prompt_tokens":5,"completion_tokens":6}}',
  ]);
  assertEquals([chat.usage.input, chat.usage.output], [5, 6]);
  const gemini = meter("text/event-stream", [
    'data: {"usageMetadata":{"promptTokenCount":8,"candidatesTokenCount":1}}\r\n\r\n',
    'data: {"usageMetadata":{"promptTokenCount":8,"candidatesTokenCount":4,"thoughtsTokenCount":2}}\r\n\r\n',
  ], "gemini-2.5-pro");
  assertEquals([gemini.model, gemini.usage.input, gemini.usage.output], ["gemini-2.5-pro", 8, 6]);
  assert(!meter("text/event-stream", ["data: [DONE]\n\n", "garbage\n"]).seen);
  assertEquals(gw.costOf("claude-sonnet-4-5", { input: 1e6, output: 1e6, cacheRead: 0, cacheWrite: 0 }), 18);
  assertEquals(
    gw.costOf("some-unknown-model", { input: 1, output: 1, cacheRead: 0, cacheWrite: 0 }),
    undefined,
  );
});

Deno.test("gateway core: the allow-list matches hosts by name, subdomains only by *., ports as given", () => {
  const c = { s: "s", p: ["anthropic"], allow: ["registry.npmjs.org", "*.pypi.org", "10.0.0.5:5000"] };
  const yes = [
    ["api.anthropic.com", 443],
    ["registry.npmjs.org", 443],
    ["files.pypi.org", 443],
    [
      "a.b.pypi.org",
      443,
    ],
    ["10.0.0.5", 5000],
    ["Registry.NPMJS.org.", 443],
  ];
  const no = [
    ["api.openai.com", 443],
    ["api.anthropic.com", 80],
    ["pypi.org", 443],
    ["evilpypi.org", 443],
    [
      "registry.npmjs.org",
      22,
    ],
    ["10.0.0.5", 443],
    ["registry.npmjs.org.evil.com", 443],
    ["bad host", 443],
  ];
  for (const [h, p] of yes) assert(gw.allowed(c, h, p), `${h}:${p} refused`);
  for (const [h, p] of no) assert(!gw.allowed(c, h, p), `${h}:${p} allowed`);
});

// ---- the meter and budget ledger (src/agent/pod/gatewaymeter.js) ----------------------------------------

const gm = createRequire(import.meta.url)("../../../src/agent/pod/gatewaymeter.js");

Deno.test("gateway meter: a request's estimate from its body: model, input by size, each API's max output", () => {
  assertEquals(gm.estimateOf({ model: "claude-x", max_tokens: 500 }, 300), {
    model: "claude-x",
    input: 100,
    output: 500,
  });
  assertEquals(gm.estimateOf({ model: "gpt-5", max_output_tokens: 7 }, 3).output, 7);
  assertEquals(gm.estimateOf({ model: "gpt-4o", max_completion_tokens: 9 }, 3).output, 9);
  assertEquals(gm.estimateOf({ generationConfig: { maxOutputTokens: 11 } }, 3, "gemini-2.5-pro"), {
    model: "gemini-2.5-pro",
    input: 1,
    output: 11,
  });
  // none named, or nonsense: 32,000
  assertEquals(gm.estimateOf({ model: "m", max_tokens: -1 }, 0).output, 32_000);
  assertEquals(gm.estimateOf(undefined, 10).model, undefined);
  assert(!gm.spends("GET", "/v1/models") && !gm.spends("POST", "/v1/messages/count_tokens"));
  assert(!gm.spends("POST", "/v1beta/models/g:countTokens") && gm.spends("POST", "/v1/messages"));
});

Deno.test("gateway ledger: a reservation fits beside the others, or goes alone; holds follow usage and are given back", () => {
  const l = gm.newLedger();
  // $1 budget: three of $0.30 fit at once, a fourth does not
  const h = [0, 1, 2].map(() => gm.reserve(l, "s", 1, 0, 0.3).hold);
  assert(h.every(Boolean));
  assertEquals(gm.reserve(l, "s", 1, 0, 0.3).refused.open, 3);
  // another session is not held by them
  assert(gm.reserve(l, "t", 1, 0, 0.3).hold);
  // usage seen replaces an estimate: room for another
  gm.rehold(l, h[0], 0.01);
  const fourth = gm.reserve(l, "s", 1, 0, 0.3).hold;
  assert(fourth);
  for (const x of [...h, fourth]) gm.release(l, x);
  gm.release(l, h[0]); // twice: nothing more
  // one dearer than the budget goes alone while something is left, never beside another, never once spent
  const alone = gm.reserve(l, "s", 1, 0.5, 5).hold;
  assert(alone);
  assert(gm.reserve(l, "s", 1, 0.5, 0.01).refused);
  gm.release(l, alone);
  assert(gm.reserve(l, "s", 1, 1, 0.01).refused);
  assertEquals(l.has("s"), false);
});

Deno.test("gateway meter: a held cost follows the usage seen; a cut answer is charged what it streamed", () => {
  const est = { model: "claude-sonnet-4-5", input: 1000, output: 2000 };
  // before any usage: the estimate (input 1000 at $3, output 2000 at $15)
  assertEquals(gm.heldCost({}, est), (1000 * 3 + 2000 * 15) / 1e6);
  const m = gm.newMeter("text/event-stream", undefined);
  m.feed(
    Buffer.from(
      'data: {"type":"message_start","message":{"model":"claude-sonnet-4-5","usage":{"input_tokens":10,"output_tokens":1}}}\n\n',
    ),
  );
  assertEquals(gm.heldCost({}, est, m), (10 * 3 + 2000 * 15) / 1e6);
  m.feed(
    Buffer.from(
      `data: {"type":"content_block_delta","delta":{"type":"text_delta","text":"${"x".repeat(300)}"}}\n\n`,
    ),
  );
  assertEquals(gm.chargedUsage(m, est, true), { input: 10, output: 100, cacheRead: 0, cacheWrite: 0 });
  assertEquals(gm.chargedUsage(m, est, false).output, 1);
  // nothing seen, cut: the estimated input
  const none = gm.newMeter("text/event-stream", undefined);
  assertEquals(gm.chargedUsage(none, est, true).input, 1000);
  // a model without a price has no cost
  assertEquals(gm.heldCost({}, { ...est, model: "mystery" }), undefined);
  assertEquals(gm.heldCost({ "*": { input: 1, output: 1 } }, { ...est, model: "mystery" }), 3000 / 1e6);
});
