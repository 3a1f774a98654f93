// kodama's agent gateway (docs/agents.md, "Inside the gateway"): one Node program (CommonJS, built-ins only)
// run in its own pod of the session's namespace. It holds the agents' real credentials and is the session
// pods' only way out:
//
//   /p/<provider>/…   the model APIs: a session token (kgw1.…) in, the real key out, streams piped unbuffered
//   /p/chatgpt/…      Codex's ChatGPT login: the session token in, the login's access token out; the
//                     login is refreshed here, once for all sessions, and kept in KODAMA_GATEWAY_STATE
//   /git/<host>/…     git over HTTPS with the gateway's git key for that host
//   CONNECT h:p       an HTTP(S) proxy by host name, only to the hosts the session's token allows
//   /_kodama/usage    metered totals; /healthz readiness
//   /_kodama/notify   a session's run-end event, checked and relayed to the user's webhook
//
// Per credential it governs rate limits (waits instead of sending into a 429, retries 429/529/503 before a
// byte went back, round-robin between sessions, sessions spread over a provider's keys), meters tokens from
// the providers' own usage fields and enforces a session's budget. It logs one JSON object per line on
// stdout, never a key, a token or a query string. Settings: KODAMA_GATEWAY_CONFIG, KODAMA_GATEWAY_PORT,
// KODAMA_GATEWAY_HOST, KODAMA_GATEWAY_POD_UID, KODAMA_GATEWAY_STATE (a writable directory: the refreshed login and the journal of its
// figures and budget reservations survive a restart there: gatewayjournal.js), KODAMA_GATEWAY_COMPACT_BYTES.
"use strict";
const http = require("http");
const https = require("https");
const net = require("net");
const crypto = require("crypto");
const fs = require("fs");
const meter = require("./gatewaymeter.js");
const journal = require("./gatewayjournal.js");

const CONFIG_PATH = process.env.KODAMA_GATEWAY_CONFIG || "/etc/kodama-gateway/config.json";
const PORT = Number(process.env.KODAMA_GATEWAY_PORT || 8080);
// the address to listen on (kodama's pod gives its own IP); default every interface
const HOST = process.env.KODAMA_GATEWAY_HOST || undefined;
// where a refreshed login is kept (a PVC in kodama's pod): read at start in preference to the Secret's copy
const STATE_DIR = process.env.KODAMA_GATEWAY_STATE || "/var/lib/kodama-gateway";
const LIMIT = {
  headerBytes: 32 * 1024,
  replayBytes: 32 * 1024 * 1024, // a request body kept to retry it; a larger one is streamed, not retried
  errorBody: 64 * 1024, // a retryable error's body read to decide
  meterJson: 8 * 1024 * 1024, // a non-streamed answer kept to read its usage
  queue: 1024, // waiting requests per key
  retryWindowMs: Number(process.env.KODAMA_GATEWAY_RETRY_WINDOW_MS || 5 * 60_000),
  upstreamIdleMs: 10 * 60_000,
  drainMs: 25_000,
  // a token without an `exp` (minted before expiries were) ends this long after its `iat`
  tokenLifetimeS: 7 * 24 * 3600,
};
// The model APIs the gateway routes (/p/NAME/…): their real origins, the shape of their error answers, and the
// headers that state a key's rate limits ([remaining, reset] pairs). kodama builds everything else from
// src/agent/credentials/providers.ts; tests/unit/agent/providers_test.ts fails when this table and that one differ.
const PROVIDERS = {
  anthropic: {
    upstream: "https://api.anthropic.com",
    errors: "anthropic",
    limits: ["requests", "tokens", "input-tokens", "output-tokens"]
      .map((k) => [`anthropic-ratelimit-${k}-remaining`, `anthropic-ratelimit-${k}-reset`]),
  },
  openai: {
    upstream: "https://api.openai.com",
    errors: "openai",
    limits: ["requests", "tokens"].map((k) => [`x-ratelimit-remaining-${k}`, `x-ratelimit-reset-${k}`]),
  },
  // Gemini states no limits in headers: its 429's RetryInfo says how long (retryAfterMs)
  gemini: { upstream: "https://generativelanguage.googleapis.com", errors: "gemini", limits: [] },
};
const DEFAULT_UPSTREAM = Object.fromEntries(Object.entries(PROVIDERS).map(([n, p]) => [n, p.upstream]));
const HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
  "expect",
]);

const isObj = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const num = (v) => (typeof v === "number" && Number.isFinite(v) ? v : 0);

// ---- log ----------------------------------------------------------------------------------------------

// the figures' book: in memory until main() opens the journal on the state claim
let jr = journal.memoryJournal();

function log(ev, fields) {
  const o = { t: new Date().toISOString(), ev };
  for (const [k, v] of Object.entries(fields || {})) if (v !== undefined) o[k] = v;
  process.stdout.write(JSON.stringify(o) + "\n");
  // the counts of requests and denials are the book's too (flushed within a second)
  if ((ev === "req" || ev === "conn" || ev === "deny") && o.s) {
    jr.append({ e: ev === "deny" ? "deny" : "req", t: o.t, s: o.s, g: o.g || undefined }, false);
  }
}

// ---- config ---------------------------------------------------------------------------------------------

let cfg = { signingKey: Buffer.alloc(0), providers: {}, prices: {}, revoked: new Map() };
let cfgText = "";

function loadConfig() {
  let text;
  try {
    text = fs.readFileSync(CONFIG_PATH, "utf8");
  } catch (e) {
    if (!cfgText) log("config", { status: "missing", error: e.code });
    return;
  }
  if (text === cfgText) return;
  let j;
  try {
    j = JSON.parse(text);
  } catch {
    log("config", { status: "invalid" });
    return;
  }
  cfgText = text;
  const providers = {};
  for (const [name, p] of Object.entries(isObj(j.providers) ? j.providers : {})) {
    const keys = (Array.isArray(p.keys) ? p.keys : []).filter((k) =>
      isObj(k) && typeof k.id === "string" && typeof k.header === "string" && typeof k.value === "string"
    );
    providers[name] = { upstream: String(p.upstream || DEFAULT_UPSTREAM[name] || ""), keys };
  }
  const c = isObj(j.providers) && isObj(j.providers.chatgpt) ? j.providers.chatgpt : undefined;
  if (c) {
    providers.chatgpt.upstream = String(c.upstream || CHATGPT.upstream);
    providers.chatgpt.authUrl = String(c.authUrl || CHATGPT.authUrl);
    providers.chatgpt.clientId = String(c.clientId || CHATGPT.clientId);
  }
  cfg = {
    signingKey: Buffer.from(String(j.signingKey || ""), "base64"),
    providers,
    prices: isObj(j.prices) ? j.prices : {},
    revoked: revokedList(j.revoked),
  };
  // which keys this process uses, by fingerprint (`gateway status` reads it here, never from the Secret)
  log("config", { status: "loaded", providers: Object.keys(providers), keys: keysInUse(providers) });
  if (c) adoptLogin(validLogin(c.login) ? { ...c.login, source: "secret" } : undefined);
}

/**
 * A key's id: a short, non-secret fingerprint (the first 8 hex digits of SHA-256 over a fixed prefix and the
 * key), the same as src/agent/gateway/config.ts's keyFingerprint, so a user can tell which key is in use.
 */
function keyFingerprint(value) {
  return crypto.createHash("sha256").update("kodama-gateway-key\0" + value).digest("hex").slice(0, 8);
}

function keysInUse(providers) {
  return Object.entries(providers).flatMap(([p, slot]) =>
    slot.keys.map((k) => ({ provider: p, id: k.id, keyId: keyFingerprint(k.value) }))
  );
}

// ---- tokens ---------------------------------------------------------------------------------------------

const hmac = (data) => crypto.createHmac("sha256", cfg.signingKey).update(data).digest();

function sameBytes(given, want) {
  const g = Buffer.from(given, "base64url");
  return g.length === want.length && crypto.timingSafeEqual(g, want);
}

/**
 * The config's `revoked`: a session's name (every token of it) or {s, before} (its tokens issued before
 * `before`, unix seconds: what `kodama delete` writes, so a later session of the same name is not held).
 * Session name -> the earliest `before` that is not revoked (Infinity: every token).
 */
function revokedList(v) {
  const out = new Map();
  for (const e of Array.isArray(v) ? v : []) {
    const [s, before] = typeof e === "string" ? [e, Infinity] : isObj(e) ? [e.s, e.before] : [];
    if (typeof s !== "string" || typeof before !== "number") continue;
    out.set(s, Math.max(out.get(s) || 0, before));
  }
  return out;
}

/** A token's claims, or why it is refused (one line, never the token): {c} or {why}. */
function check(token) {
  const bad = { why: "invalid session token" };
  if (typeof token !== "string" || token.length > 8192 || cfg.signingKey.length === 0) return bad;
  const parts = token.split(".");
  if (parts.length !== 3 || parts[0] !== "kgw1") return bad;
  if (!sameBytes(parts[2], hmac("kgw1." + parts[1]))) return bad;
  let c;
  try {
    c = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
  } catch {
    return bad;
  }
  if (!isObj(c) || typeof c.s !== "string") return bad;
  const iat = typeof c.iat === "number" ? c.iat : undefined;
  // a token from before expiries were minted ends a lifetime after it was issued
  const exp = typeof c.exp === "number" ? c.exp : iat !== undefined ? iat + LIMIT.tokenLifetimeS : undefined;
  if (exp === undefined || Date.now() / 1000 >= exp) {
    const when = exp === undefined ? "" : ` at ${new Date(exp * 1000).toISOString()}`;
    return { why: `session token expired${when} (kodama resume ${c.s} gives a new one)` };
  }
  const before = cfg.revoked.get(c.s);
  if (before !== undefined && (iat === undefined || iat < before)) {
    return { why: `session token revoked (session ${c.s} was deleted)` };
  }
  const list = (v) => (Array.isArray(v) ? v.filter((x) => typeof x === "string") : []);
  return {
    c: {
      s: c.s,
      g: typeof c.g === "string" ? c.g : null,
      p: list(c.p),
      allow: list(c.allow),
      git: list(c.git),
      budgetUsd: typeof c.budgetUsd === "number" ? c.budgetUsd : null,
    },
  };
}

/** The claims of a valid, unexpired, unrevoked session token, else null. */
const verify = (token) => check(token).c || null;

const isAdmin = (token) =>
  typeof token === "string" && token.startsWith("kgwadmin.") && cfg.signingKey.length > 0 &&
  sameBytes(token.slice(9), hmac("admin"));

const bearer = (h) => (typeof h === "string" && /^Bearer /i.test(h) ? h.slice(7).trim() : undefined);

// ---- errors in each provider's shape ---------------------------------------------------------------------

const ERROR_TYPE = { 400: "invalid_request_error", 401: "authentication_error", 403: "permission_error" };
const GEMINI_STATUS = { 400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED" };

const ERROR_SHAPES = {
  anthropic: (status, message) => ({
    type: "error",
    error: { type: ERROR_TYPE[status] || "api_error", message },
  }),
  openai: (status, message) => ({
    error: { message, type: ERROR_TYPE[status] || "api_error", param: null, code: null },
  }),
  gemini: (status, message) => ({
    error: { code: status, message, status: GEMINI_STATUS[status] || "UNAVAILABLE" },
  }),
};

/** An error answer as the provider's API words one (the ChatGPT backend's as OpenAI's). */
function errorBody(provider, status, message) {
  const p = PROVIDERS[provider === "chatgpt" ? "openai" : provider];
  return ERROR_SHAPES[p ? p.errors : "anthropic"](status, message);
}

function sendError(res, provider, status, message) {
  if (res.headersSent) return res.destroy();
  const body = JSON.stringify(errorBody(provider, status, message));
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

// ---- metering ------------------------------------------------------------------------------------------

const costOf = (model, u) => meter.costOf(cfg.prices, model, u);
const newMeter = (contentType, model) => meter.newMeter(contentType, model, LIMIT.meterJson);
const meterJson = meter.meterJson;

/**
 * One answer's usage into the book (the session's, group's and key's totals; fsync'd, closing its hold) and
 * its `usage` line (`cut`: cut short).
 */
function recordUsage(job, model, u, cut) {
  const cost = costOf(model, u);
  const hold = job.hold;
  jr.append({
    e: "use",
    t: new Date().toISOString(),
    s: job.claims.s,
    g: job.claims.g || undefined,
    p: job.provider,
    k: job.key ? job.key.id : undefined,
    u,
    c: cost === undefined ? null : cost,
    id: hold && hold.id,
  }, true);
  if (hold) hold.closed = true;
  log("usage", {
    s: job.claims.s,
    g: job.claims.g,
    provider: job.provider,
    key: job.key && job.key.id,
    model,
    usage: u,
    costUsd: cost,
    cut: cut || undefined,
  });
}

const spent = (s) => (jr.book.sessions.get(s) || { costUsd: 0 }).costUsd;

// ---- budgets: reserved before a request goes out, settled as its answer's usage comes ------------------

const ledger = meter.newLedger();
const usd = (n) => `$${num(n).toFixed(4)}`;
const holdIds = { pre: crypto.randomBytes(4).toString("hex"), n: 0 };

/**
 * A hold written to the journal (fsync'd) before its request goes out: after a crash it counts as spent. Its
 * amount is written again only when it rises. False when it could not be written.
 */
function journalHold(claims, hold) {
  if (hold.released) return true;
  if (hold.id === undefined) hold.id = `${holdIds.pre}-${++holdIds.n}`;
  if (hold.journaled !== undefined && hold.amount <= hold.journaled) return true;
  const ok = jr.append({
    e: "hold",
    t: new Date().toISOString(),
    s: claims.s,
    g: claims.g || undefined,
    id: hold.id,
    usd: hold.amount,
  }, true);
  if (ok) hold.journaled = hold.amount;
  return ok;
}

/** A hold given back; the journal says so unless a settled answer already closed it. */
function giveBack(hold) {
  if (!hold || hold.released) return;
  meter.release(ledger, hold);
  if (hold.id !== undefined && !hold.closed) jr.append({ e: "free", id: hold.id }, false);
}

function budgetError(res, claims, provider, reason, fields) {
  log("budget", { s: claims.s, g: claims.g, provider, costUsd: spent(claims.s), ...fields });
  sendError(
    res,
    provider === "chatgpt" ? "openai" : provider,
    400,
    `kodama-gateway: budget of $${claims.budgetUsd} for session ${claims.s} ${reason}`,
  );
}

/** The budget check of a provider route: true when it answered (the budget is spent). */
function budgetSpent(res, claims, provider) {
  if (claims.budgetUsd === null || spent(claims.s) < claims.budgetUsd) return false;
  budgetError(res, claims, provider, `is spent (${usd(spent(claims.s))})`);
  return true;
}

/** A request body read whole (it is sent as it is, or rewritten): always replayable. */
function fixedBody(buf) {
  return {
    bytes: buf.length,
    length: buf.length,
    into: (up) => (up.end(buf), true),
    replayable: () => true,
    detach: () => {},
  };
}

/**
 * The request's body and its reservation, then `go(body, est, hold)`. Read whole first when the session
 * has a budget and the request may spend (its model's price, its size and max tokens make the estimate,
 * reserved in the same synchronous step as the check), or when it is a Chat Completions stream (asked for
 * its usage: `stream_options.include_usage`); else streamed as it comes.
 */
function admit(req, res, claims, provider, metered, pathModel, chat, go) {
  const budget = claims.budgetUsd !== null && metered;
  if (!budget && !chat) return go(bodyFeeder(req), undefined, undefined);
  const chunks = [];
  let size = 0;
  req.on("data", (c) => {
    size += c.length;
    if (size <= LIMIT.replayBytes) chunks.push(c);
  });
  req.on("end", () => {
    if (res.destroyed || res.writableEnded) return; // the client went away meanwhile
    const shape = provider === "chatgpt" ? "openai" : provider;
    if (size > LIMIT.replayBytes) {
      return sendError(res, shape, 413, `kodama-gateway: a request body over ${LIMIT.replayBytes} bytes`);
    }
    let buf = Buffer.concat(chunks);
    let body;
    try {
      body = JSON.parse(buf.toString("utf8"));
    } catch { /* not JSON: sent as it is */ }
    if (chat && isObj(body) && body.stream === true) {
      const so = isObj(body.stream_options) ? body.stream_options : {};
      if (so.include_usage !== true) {
        body.stream_options = { ...so, include_usage: true };
        buf = Buffer.from(JSON.stringify(body), "utf8");
      }
    }
    if (!budget) return go(fixedBody(buf), undefined, undefined);
    const est = meter.estimateOf(body, buf.length, pathModel);
    const model = String(est.model || "").slice(0, 100);
    const cost = meter.heldCost(cfg.prices, est);
    if (cost === undefined) {
      return budgetError(
        res,
        claims,
        provider,
        `cannot meter model ${
          model || "(none named)"
        }: it has no price, and a session with a budget uses priced models only (gateway.prices in ~/.kodama/config.yaml, then kodama gateway ensure)`,
        { model: model || undefined },
      );
    }
    // the check and the reservation, one step: no other request runs in between
    const r = meter.reserve(ledger, claims.s, claims.budgetUsd, spent(claims.s), cost);
    if (r.refused) {
      return budgetError(
        res,
        claims,
        provider,
        `is spent: ${usd(spent(claims.s))} spent and ${
          usd(r.refused.held)
        } held by requests under way; this one may cost ${usd(cost)}`,
        { model, heldUsd: r.refused.held, estimateUsd: cost },
      );
    }
    if (!journalHold(claims, r.hold)) {
      // a reservation that would not survive a restart is not made: the agent retries a 503
      meter.release(ledger, r.hold);
      return sendError(
        res,
        shape,
        503,
        `kodama-gateway: cannot record the budget reservation (${jr.failed})`,
      );
    }
    go(fixedBody(buf), est, r.hold);
  });
}

/**
 * An answer's usage into the totals and its hold given back, once: at its end, or cut short (the client
 * or the upstream went away), then charged at least what it streamed; a reserved request's answer that
 * carried no usage is charged the same way.
 */
function settle(job, m, cut) {
  if (job.settled) return;
  job.settled = true;
  // a reserved request whose answer said nothing of its usage is charged as a cut one: what it sent
  const u = meter.chargedUsage(m, job.est, (cut && job.tries > 0) || (!m.seen && !!job.est));
  const model = m.model || (job.est && job.est.model);
  if (m.seen || u.input + u.output + u.cacheRead + u.cacheWrite > 0) recordUsage(job, model, u, cut);
  giveBack(job.hold);
}

// ---- rate limits ----------------------------------------------------------------------------------------

/** A reset time in ms: an ISO date, a duration (`6m0s`, `1.5s`, `20ms`) or seconds. */
function resetAt(v, now) {
  if (typeof v !== "string" || !v) return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return now + Number(v) * 1000;
  const d = /^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+)ms)?$/.exec(v);
  if (d && d[0]) {
    return now + (num(+d[1]) * 3600 + num(+d[2]) * 60 + num(+d[3])) * 1000 + num(+d[4]);
  }
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}

/** How long the provider said to wait: retry-after-ms, retry-after (seconds or a date), Gemini RetryInfo. */
function retryAfterMs(h, body, now) {
  if (h["retry-after-ms"] && !Number.isNaN(Number(h["retry-after-ms"]))) return Number(h["retry-after-ms"]);
  if (h["retry-after"]) {
    const t = resetAt(h["retry-after"], now);
    if (t !== undefined) return Math.max(0, t - now);
  }
  try {
    const details = JSON.parse(body).error.details;
    for (const d of Array.isArray(details) ? details : []) {
      const t = isObj(d) ? resetAt(d.retryDelay, now) : undefined;
      if (t !== undefined) return Math.max(0, t - now);
    }
  } catch { /* no RetryInfo */ }
  return undefined;
}

const REMAINING = Object.values(PROVIDERS).flatMap((p) => p.limits);

/** What an answer's headers say about its key: none left until a time; requests left. */
function learnLimits(key, h, now) {
  for (const [rem, reset] of REMAINING) {
    if (h[rem] === undefined) continue;
    const n = Number(h[rem]);
    const at = resetAt(h[reset], now);
    if (rem.includes("requests")) {
      key.remaining = Number.isNaN(n) ? undefined : n;
      key.remainingUntil = at;
    }
    if (n <= 0 && at !== undefined && at > now) key.blockedUntil = Math.max(key.blockedUntil, at);
  }
}

// ---- the governor: per key, round-robin between sessions' queues ------------------------------------------

const keyState = new Map(); // provider/keyId -> state
const sticky = new Map(); // provider/session -> keyId

function stateOf(provider, key) {
  const id = provider + "/" + key.id;
  let k = keyState.get(id);
  if (!k) {
    k = { id, blockedUntil: 0, remaining: undefined, remainingUntil: undefined, queues: new Map(), rr: [] };
    k.timer = null;
    k.waiting = 0;
    keyState.set(id, k);
  }
  k.key = key;
  return k;
}

const free = (k, now) =>
  now >= k.blockedUntil &&
  !(k.remaining !== undefined && k.remaining <= 0 && k.remainingUntil !== undefined &&
    now < k.remainingUntil);

/** The key a session uses: sticky, unless it is rate-limited and another is not (then the least used). */
function pickKey(provider, session, now) {
  const keys = cfg.providers[provider].keys;
  if (!keys.length) return undefined;
  const states = keys.map((k) => stateOf(provider, k));
  const id = sticky.get(provider + "/" + session);
  const cur = states.find((k) => k.key.id === id);
  if (cur && free(cur, now)) return cur;
  const users = (k) => [...sticky.values()].filter((x) => x === k.key.id).length + k.waiting;
  const open = states.filter((k) => free(k, now));
  // a free key with the fewest sessions; with none free, the current one (or the one free soonest)
  const pool = open.length ? open : cur ? [cur] : states;
  let best = pool[0];
  for (const k of pool) {
    if (open.length ? users(k) < users(best) : k.blockedUntil < best.blockedUntil) best = k;
  }
  sticky.set(provider + "/" + session, best.key.id);
  return best;
}

function enqueue(k, job, front) {
  let q = k.queues.get(job.claims.s);
  if (!q) {
    q = [];
    k.queues.set(job.claims.s, q);
    k.rr.push(job.claims.s);
  }
  if (front) q.unshift(job);
  else q.push(job);
  k.waiting++;
  pump(k);
}

function pump(k) {
  const now = Date.now();
  while (k.rr.length) {
    if (!free(k, now)) {
      const until = Math.max(k.blockedUntil, k.remainingUntil || 0);
      expire(k, until);
      if (!k.rr.length) return;
      if (!k.timer) {
        k.timer = setTimeout(() => {
          k.timer = null;
          if (Date.now() >= (k.remainingUntil || 0)) k.remaining = undefined;
          pump(k);
        }, Math.max(10, until - now));
      }
      return;
    }
    const s = k.rr.shift();
    const q = k.queues.get(s);
    const job = q.shift();
    k.waiting--;
    if (q.length) k.rr.push(s);
    else k.queues.delete(s);
    if (job.gone) continue;
    if (k.remaining !== undefined) k.remaining--;
    job.key = k.key;
    attempt(job, k);
  }
}

/**
 * Requests that could not go out within their window (a reset hours away: a daily limit) are sent now, so
 * the agent gets the provider's own answer rather than a wait past its CLI's timeout.
 */
function expire(k, until) {
  for (const [s, q] of [...k.queues]) {
    for (const job of q.filter((j) => j.t0 + LIMIT.retryWindowMs < until)) {
      q.splice(q.indexOf(job), 1);
      k.waiting--;
      if (!job.gone) (job.key = k.key), attempt(job, k);
    }
    if (!q.length) {
      k.queues.delete(s);
      k.rr.splice(k.rr.indexOf(s), 1);
    }
  }
}

// ---- forwarding ------------------------------------------------------------------------------------------

/** Pipe a request to its upstream and the answer back, counting bytes both ways; `done` with the status. */
function relay(req, up, res, stats, done) {
  up.on("response", (ur) => {
    res.writeHead(ur.statusCode, forwardHeaders(ur.headers, []));
    ur.on("data", (c) => (stats.bytesOut += c.length));
    ur.pipe(res);
    ur.on("end", () => done(ur.statusCode));
  });
  req.on("data", (c) => (stats.bytesIn += c.length));
  req.pipe(up);
}

function forwardHeaders(src, drop) {
  const out = {};
  const conn = String(src.connection || "").toLowerCase().split(",").map((x) => x.trim());
  for (const [k, v] of Object.entries(src)) {
    if (HOP.has(k) || conn.includes(k) || drop.includes(k)) continue;
    out[k] = v;
  }
  return out;
}

// connections to the upstreams are kept and reused: no TCP/TLS set-up on a request's first byte
const AGENTS = {
  "http:": new http.Agent({ keepAlive: true, maxFreeSockets: 64 }),
  "https:": new https.Agent({ keepAlive: true, maxFreeSockets: 64 }),
};

function upstreamRequest(target, method, headers) {
  const lib = target.protocol === "http:" ? http : https;
  return lib.request({
    agent: AGENTS[target.protocol],
    protocol: target.protocol,
    hostname: target.hostname.replace(/^\[|\]$/g, ""),
    port: target.port || (target.protocol === "http:" ? 80 : 443),
    method,
    path: target.pathname + target.search,
    headers: { ...headers, host: target.host },
    timeout: LIMIT.upstreamIdleMs,
  });
}

/** The request body: streamed to the first attempt and kept (bounded) for a retry. */
function bodyFeeder(req) {
  const b = { chunks: [], size: 0, done: false, keep: true, sink: null, bytes: 0, waiters: [] };
  req.on("data", (c) => {
    b.bytes += c.length;
    if (b.keep) {
      b.size += c.length;
      if (b.size > LIMIT.replayBytes) (b.keep = false), (b.chunks = []);
      else b.chunks.push(c);
    }
    if (b.sink && !b.sink.destroyed && !b.sink.write(c)) {
      req.pause();
      b.sink.once("drain", () => req.resume());
    }
  });
  req.on("end", () => {
    b.done = true;
    if (b.sink) b.sink.end();
    for (const w of b.waiters.splice(0)) w();
  });
  req.pause();
  b.first = true;
  b.into = (up) => {
    if (b.first) {
      b.first = false;
      b.sink = up;
      if (b.done) up.end();
      else req.resume();
      return true;
    }
    if (!b.keep) return false;
    const go = () => {
      for (const c of b.chunks) up.write(c);
      up.end();
    };
    if (b.done) go();
    else b.waiters.push(go);
    return true;
  };
  b.replayable = () => b.keep;
  // an attempt that failed: the rest of the body is only kept, for the next one
  b.detach = () => {
    b.sink = null;
    if (!b.first && !b.done) req.resume();
  };
  return b;
}

const RETRYABLE = new Set([429, 529, 503]);

function attempt(job, k) {
  const { req, res } = job;
  const headers = bodyHeaders(forwardHeaders(req.headers, job.drop), job);
  headers["accept-encoding"] = "identity"; // usage is read from the answer as it passes
  const [h, v] = [job.key.header.toLowerCase(), job.key.value];
  headers[h] = v;
  if (job.provider === "anthropic" && h === "authorization") {
    // a subscription's OAuth token is accepted with its beta flag (Claude Code sends it only when it holds one)
    const beta = String(headers["anthropic-beta"] || "").split(",").map((x) => x.trim()).filter(Boolean);
    if (!beta.includes("oauth-2025-04-20")) {
      headers["anthropic-beta"] = [...beta, "oauth-2025-04-20"].join(",");
    }
  }
  const up = upstreamRequest(job.target, req.method, headers);
  job.up = up;
  job.tries++;
  let failed = false;
  up.on("timeout", () => up.destroy(new Error("timed out")));
  up.on("error", (e) => {
    if (failed) return;
    failed = true;
    job.body.detach();
    if (res.headersSent || job.gone) return res.destroy();
    if (job.tries < 3 && job.body.replayable() && Date.now() - job.t0 < LIMIT.retryWindowMs) {
      // the session's wait, named with the host it cannot reach (`gateway cannot reach H (502)`)
      waitLog(job, 502, 500 * job.tries, "unreachable");
      return setTimeout(() => enqueue(k, job, true), 500 * job.tries);
    }
    // its `req` line says why: the session's wait stays named while the agent retries (figures.ts)
    job.down = String(e.code || "error").slice(0, 40);
    end(job, 502);
    sendError(
      res,
      job.provider,
      502,
      `kodama-gateway: upstream ${job.target.hostname} unreachable (${e.code || e.message})`,
    );
  });
  up.on("response", (ur) => onAnswer(job, k, ur));
  if (!job.body.into(up)) {
    up.destroy();
    end(job, 502);
    sendError(res, job.provider, 502, "kodama-gateway: upstream error and the request is too large to retry");
  }
}

function onAnswer(job, k, ur) {
  const now = Date.now();
  learnLimits(k, ur.headers, now);
  if (RETRYABLE.has(ur.statusCode) && !job.gone) {
    const chunks = [];
    let size = 0;
    ur.on("data", (c) => {
      size += c.length;
      if (size <= LIMIT.errorBody) chunks.push(c);
    });
    ur.on("end", () => retryOrPass(job, k, ur, Buffer.concat(chunks)));
    ur.on("error", () => job.res.destroy());
    return;
  }
  passThrough(job, ur, null);
}

function retryOrPass(job, k, ur, body) {
  const now = Date.now();
  job.body.detach();
  const st = ur.statusCode;
  const said = retryAfterMs(ur.headers, body.toString("utf8"), now);
  const wait = said !== undefined ? said : Math.min(30_000, 1000 * 2 ** Math.min(job.tries, 5));
  if (st === 429) k.blockedUntil = Math.max(k.blockedUntil, now + wait);
  const inTime = now + wait - job.t0 <= LIMIT.retryWindowMs;
  if (job.gone || !inTime || !job.body.replayable()) return passThrough(job, ur, body);
  waitLog(job, st, wait);
  if (st === 429) {
    // another key of the provider that is not limited takes the session
    const next = pickKey(job.provider, job.claims.s, now);
    return enqueue(next || k, job, true);
  }
  setTimeout(() => enqueue(k, job, true), wait);
}

/**
 * A request of a session that waits here (an upstream retry): one `retry` line, each retry once, with what
 * `list`, `compare` and `agent status` show as the run's wait (src/agent/gateway/figures.ts, gatewayWaits).
 */
function waitLog(job, status, ms, why) {
  job.waited = true;
  log("retry", {
    s: job.claims.s,
    g: job.claims.g,
    provider: job.provider,
    key: job.key.id,
    status,
    ms,
    until: new Date(Date.now() + ms).toISOString(),
    attempt: job.tries,
    host: job.target.hostname,
    why,
  });
}

function passThrough(job, ur, buffered) {
  const { res } = job;
  if (job.gone) return;
  const st = ur.statusCode;
  // its wait is over once the answer starts (the `req` line comes at the answer's end)
  if (job.waited) log("waited", { s: job.claims.s, g: job.claims.g, status: st });
  const m = newMeter(ur.headers["content-type"], job.model);
  // an answer that may cost goes out chunked: with the upstream's length the client would have it whole at
  // its last byte, before the upstream's end settled it in the journal (a crash then charged the reservation)
  res.writeHead(st, forwardHeaders(ur.headers, st < 300 && !buffered ? ["content-length"] : []));
  if (typeof res.flushHeaders === "function") res.flushHeaders();
  if (buffered) {
    job.bytesOut += buffered.length;
    res.end(buffered);
    return end(job, st);
  }
  // an answer that may cost: metered as it passes, settled at its end or when it is cut
  if (st < 300) job.settle = (cut) => settle(job, m, cut);
  ur.on("data", (c) => {
    job.bytesOut += c.length;
    if (st < 300) {
      const seen = m.version;
      m.feed(c);
      // the usage so far (message_start's input, a delta's output) replaces the estimate it held
      if (m.version !== seen && job.hold) {
        meter.rehold(ledger, job.hold, meter.heldCost(cfg.prices, job.est, m));
        journalHold(job.claims, job.hold);
      }
    }
    if (!res.write(c)) {
      ur.pause();
      res.once("drain", () => ur.resume());
    }
  });
  ur.on("end", () => {
    // settled (journaled) before the answer's end is released
    if (st < 300) {
      m.end();
      settle(job, m, false);
    }
    res.end();
    end(job, st);
  });
  ur.on("error", () => {
    res.destroy();
    end(job, 502);
  });
  ur.on("close", () => {
    if (ur.complete) return;
    // the upstream went away mid-answer
    res.destroy();
    end(job, 502);
  });
}

function end(job, status) {
  // a cut answer is charged what it streamed; a request that got no answer gives its hold back
  if (job.settle) job.settle(true);
  else giveBack(job.hold);
  if (job.ended) return;
  job.ended = true;
  log("req", {
    s: job.claims.s,
    g: job.claims.g,
    provider: job.provider,
    key: job.key && job.key.id,
    path: job.target.pathname,
    status,
    bytesIn: job.body.bytes,
    bytesOut: job.bytesOut,
    ms: Date.now() - job.t0,
    model: job.model,
    ...(job.down ? { why: "unreachable", host: job.target.hostname, error: job.down } : {}),
  });
}

// ---- subscription logins: Codex's ChatGPT login, refreshed once for all -----------------------------------

const CHATGPT = {
  upstream: "https://chatgpt.com",
  authUrl: "https://auth.openai.com/oauth/token",
  clientId: "app_EMoamEEZ73f0CkXaXp7hrann", // Codex CLI's OAuth client
};
const STATE_FILE = "chatgpt-login.json";
// refreshed this long before its access token's expiry
const REFRESH_MARGIN_MS = 60_000;

/** A JWT's `exp` in ms (undefined: not a JWT, or none). */
function jwtExp(token) {
  const parts = typeof token === "string" ? token.split(".") : [];
  if (parts.length !== 3) return undefined;
  try {
    const c = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
    return isObj(c) && typeof c.exp === "number" ? c.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** f() run once at a time: calls while it runs share its promise. */
function singleFlight(f) {
  let running = null;
  return () => {
    if (!running) running = Promise.resolve().then(f).finally(() => (running = null));
    return running;
  };
}

const validLogin = (l) =>
  isObj(l) && isObj(l.tokens) && typeof l.tokens.access_token === "string" &&
  typeof l.tokens.refresh_token === "string";
const refreshedAt = (l) => (l && Date.parse(l.last_refresh)) || 0;

/** The newest of the logins (by last_refresh); the first wins a tie. */
function newestLogin(list) {
  let best;
  for (const l of list) if (validLogin(l) && (!best || refreshedAt(l) > refreshedAt(best))) best = l;
  return best;
}

let login; // { tokens, last_refresh, source: "secret" | "state" | "refresh", persisted }

function readState() {
  try {
    const l = JSON.parse(fs.readFileSync(STATE_DIR + "/" + STATE_FILE, "utf8"));
    return validLogin(l) ? { tokens: l.tokens, last_refresh: l.last_refresh, source: "state" } : undefined;
  } catch {
    return undefined;
  }
}

/** Written atomically (a temporary file renamed over), mode 0600; false when the directory is not writable. */
function writeState(l) {
  const tmp = `${STATE_DIR}/.${STATE_FILE}.${process.pid}`;
  try {
    fs.writeFileSync(tmp, JSON.stringify({ tokens: l.tokens, last_refresh: l.last_refresh }), {
      mode: 0o600,
    });
    fs.renameSync(tmp, STATE_DIR + "/" + STATE_FILE);
    return true;
  } catch (e) {
    try {
      fs.unlinkSync(tmp);
    } catch { /* never written */ }
    log("config", {
      status: "warning",
      message: `login state not writable (${e.code}): kept in memory only`,
    });
    return false;
  }
}

function logLogin(status, extra) {
  const exp = jwtExp(login.tokens.access_token);
  log("config", {
    status,
    provider: "chatgpt",
    source: login.source,
    expiresAt: exp ? new Date(exp).toISOString() : undefined,
    lastRefresh: login.last_refresh,
    persisted: login.persisted,
    ...extra,
  });
}

/** The login to use: the Secret's, the state file's or the one in memory, whichever was refreshed last. */
function adoptLogin(fromSecret) {
  const next = newestLogin([login, readState(), fromSecret]);
  if (!next || next === login) return;
  login = { ...next, persisted: next.source === "state" ? true : login ? login.persisted : undefined };
  logLogin("login");
}

/** POST the refresh token to the auth host; the answer's tokens replace the old ones for every session. */
async function doRefresh() {
  const p = cfg.providers.chatgpt;
  const body = JSON.stringify({
    client_id: p.clientId,
    grant_type: "refresh_token",
    refresh_token: login.tokens.refresh_token,
  });
  const { status, text } = await postJson(new URL(p.authUrl), body);
  let j;
  try {
    j = JSON.parse(text);
  } catch { /* not JSON */ }
  if (status !== 200 || !isObj(j) || typeof j.access_token !== "string") {
    const e = isObj(j) && (isObj(j.error) ? j.error.code : j.error);
    logLogin("login-refresh-failed", {
      upstreamStatus: status,
      error: typeof e === "string" ? e : undefined,
    });
    // the login is spent or revoked: the agent sees an auth failure, not an outage
    throw Object.assign(
      new Error(`kodama-gateway: upstream refused to refresh the ChatGPT login (${status})`),
      {
        status: 401,
      },
    );
  }
  const tokens = { ...login.tokens, access_token: j.access_token };
  if (typeof j.refresh_token === "string") tokens.refresh_token = j.refresh_token;
  if (typeof j.id_token === "string") tokens.id_token = j.id_token;
  login = { tokens, last_refresh: new Date().toISOString(), source: "refresh" };
  login.persisted = writeState(login);
  logLogin("login-refreshed");
  return login;
}
const refreshLogin = singleFlight(doRefresh);

/** The login, refreshed first when its access token is near expiry (or `spent`: upstream said 401 to it). */
function currentLogin(spent) {
  if (!login) return Promise.reject(new Error("kodama-gateway: no ChatGPT login"));
  const exp = jwtExp(login.tokens.access_token);
  const stale = spent
    ? login.tokens.access_token === spent
    : exp !== undefined && exp - Date.now() < REFRESH_MARGIN_MS;
  return stale ? refreshLogin() : Promise.resolve(login);
}

function postJson(target, body) {
  return new Promise((resolve, reject) => {
    const up = upstreamRequest(target, "POST", {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
      accept: "application/json",
    });
    up.on("timeout", () => up.destroy(new Error("timed out")));
    up.on("error", reject);
    up.on("response", (ur) => {
      const chunks = [];
      let size = 0;
      ur.on("data", (c) => (size += c.length) <= LIMIT.errorBody && chunks.push(c));
      ur.on("end", () => resolve({ status: ur.statusCode, text: Buffer.concat(chunks).toString("utf8") }));
      ur.on("error", reject);
    });
    up.end(body);
  });
}

/** `/p/chatgpt/…`: chatgpt.com's backend with the login's access token and account; one retry after a 401. */
function chatgptRoute(req, res, rest, url) {
  const p = cfg.providers.chatgpt;
  const t = check(bearer(req.headers.authorization));
  const claims = t.c;
  if (!p || !login) return sendError(res, "openai", 404, "kodama-gateway: no ChatGPT login");
  if (!claims || !claims.p.includes("chatgpt")) {
    return sendError(res, "openai", 401, `kodama-gateway: ${claims ? "invalid session token" : t.why}`);
  }
  if (budgetSpent(res, claims, "chatgpt")) return;
  const t0 = Date.now();
  let job;
  onGone(res, () => job);
  // Codex's turns (…/responses) are what may spend; its other calls carry no model
  const metered = meter.spends(req.method, rest) && /\/responses$/.test(rest);
  admit(req, res, claims, "chatgpt", metered, undefined, false, (body, est, hold) => {
    job = {
      req,
      res,
      claims,
      provider: "chatgpt",
      key: { id: "chatgpt" },
      target: joinUrl(p.upstream, rest, url.search),
      body,
      est,
      hold,
      t0,
      tries: 0,
      bytesOut: 0,
    };
    chatgptSend(job);
  });
}

/** A job of the ChatGPT route: sent with the current login, once more after a 401 with a refreshed one. */
function chatgptSend(job) {
  const { req, res } = job;
  const send = (l) => {
    if (job.gone) return;
    const headers = bodyHeaders(forwardHeaders(req.headers, ["authorization", "chatgpt-account-id"]), job);
    headers["accept-encoding"] = "identity";
    headers.authorization = `Bearer ${l.tokens.access_token}`;
    if (l.tokens.account_id) headers["chatgpt-account-id"] = l.tokens.account_id;
    const used = l.tokens.access_token;
    const up = upstreamRequest(job.target, req.method, headers);
    job.up = up;
    job.tries++;
    up.on("timeout", () => up.destroy(new Error("timed out")));
    up.on("error", (e) => {
      job.body.detach();
      if (res.headersSent || job.gone) return res.destroy();
      end(job, 502);
      sendError(
        res,
        "openai",
        502,
        `kodama-gateway: upstream ${job.target.hostname} unreachable (${e.code || e.message})`,
      );
    });
    up.on("response", (ur) => {
      if (ur.statusCode === 401 && job.tries === 1 && job.body.replayable()) {
        ur.resume();
        job.body.detach();
        return currentLogin(used).then(send, (e) => {
          end(job, 401);
          sendError(res, "openai", 401, e.message);
        });
      }
      passThrough(job, ur, null);
    });
    if (!job.body.into(up)) up.destroy(new Error("request too large to retry"));
  };
  currentLogin().then(send, (e) => {
    const status = e.status || 502; // 502: the auth host unreachable (the message says `upstream`)
    end(job, status);
    sendError(
      res,
      "openai",
      status,
      e.status
        ? e.message
        : `kodama-gateway: upstream ${cfg.providers.chatgpt.authUrl} unreachable (${e.message})`,
    );
  });
}

/**
 * `/p/chatgpt-auth/oauth/token`: where the session's Codex refreshes its login (CODEX_REFRESH_TOKEN_URL_OVERRIDE).
 * Its refresh token is its session token: the answer is the same token again, never the real login.
 */
function chatgptAuthRoute(req, res) {
  const chunks = [];
  let size = 0;
  req.on("data", (c) => (size += c.length) <= LIMIT.headerBytes && chunks.push(c));
  req.on("end", () => {
    let token;
    try {
      token = JSON.parse(Buffer.concat(chunks).toString("utf8")).refresh_token;
    } catch { /* not JSON */ }
    const claims = verify(token);
    if (!claims || !claims.p.includes("chatgpt")) {
      const body = JSON.stringify({
        error: {
          message: "kodama-gateway: invalid session token",
          type: "invalid_request_error",
          code: "refresh_token_invalidated",
        },
      });
      res.writeHead(401, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
      return res.end(body);
    }
    log("req", { s: claims.s, g: claims.g, provider: "chatgpt", path: "/oauth/token", status: 200 });
    const body = JSON.stringify({ access_token: token, refresh_token: token });
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
}

// ---- routes ----------------------------------------------------------------------------------------------

function joinUrl(base, rest, search) {
  const u = new URL(base);
  u.pathname = (u.pathname.replace(/\/$/, "") + "/" + rest.replace(/^\//, "")).replace(/\/\/+/g, "/");
  u.search = search;
  return u;
}

/** The headers a session's token comes in: the ones the providers' keys are sent in (providers.ts's). */
const TOKEN_HEADERS = ["x-api-key", "authorization", "x-goog-api-key"];
const tokenIn = (h) =>
  TOKEN_HEADERS.map((n) => (n === "authorization" ? bearer(h[n]) : h[n])).find((v) =>
    typeof v === "string" && v
  );

function providerRoute(req, res, provider, rest, url) {
  const p = cfg.providers[provider];
  if (!p) return sendError(res, provider, 404, `kodama-gateway: no provider ${provider}`);
  const h = req.headers;
  let token = tokenIn(h);
  if (provider === "gemini" && !token) token = url.searchParams.get("key") || undefined;
  url.searchParams.delete("key");
  const t = check(token);
  const claims = t.c;
  if (!claims || !claims.p.includes(provider)) {
    const why = claims ? "invalid session token" : t.why;
    return sendError(res, provider, 401, `kodama-gateway: ${why} (invalid x-api-key)`);
  }
  if (budgetSpent(res, claims, provider)) return;
  const now = Date.now();
  const k = pickKey(provider, claims.s, now);
  if (!k) return sendError(res, provider, 401, `kodama-gateway: no key for ${provider}`);
  if (k.waiting >= LIMIT.queue) return sendError(res, provider, 429, "kodama-gateway: queue full");
  const gm = /\/models\/([^/:]+)/.exec(rest);
  const model = gm ? gm[1] : undefined;
  const chat = provider === "openai" && req.method === "POST" && /\/chat\/completions$/.test(rest);
  let job;
  onGone(res, () => job);
  admit(req, res, claims, provider, meter.spends(req.method, rest), model, chat, (body, est, hold) => {
    const at = Date.now();
    job = {
      req,
      res,
      claims,
      provider,
      target: joinUrl(p.upstream, rest, url.search),
      drop: TOKEN_HEADERS, // wherever the token came in
      body,
      est,
      hold,
      t0: now,
      tries: 0,
      bytesOut: 0,
      model,
      queuedAt: free(k, at) ? 0 : at,
    };
    if (job.queuedAt) {
      // the key's limit is reached: the request waits its turn here rather than going into a 429
      job.waited = true;
      const until = Math.max(k.blockedUntil, k.remainingUntil || 0);
      log("queue", {
        s: claims.s,
        g: claims.g,
        provider,
        key: k.key.id,
        waiting: k.waiting + 1,
        until: until > now ? new Date(until).toISOString() : undefined,
      });
    }
    enqueue(k, job, false);
  });
}

/** The client went away before its answer was done: the upstream request ends, a cut answer is charged. */
function onGone(res, jobOf) {
  res.on("close", () => {
    const job = jobOf();
    if (res.writableFinished || !job) return;
    job.gone = true;
    if (job.settle) job.settle(true);
    if (job.up) job.up.destroy();
    end(job, 499);
  });
}

/** A body read whole goes with its own length (a rewritten one has another). */
function bodyHeaders(headers, job) {
  if (typeof job.body.length === "number") headers["content-length"] = String(job.body.length);
  return headers;
}

function gitRoute(req, res, host, rest, url) {
  const t = check(req.headers["x-kodama-gateway-token"]);
  const claims = t.c;
  const t0 = Date.now();
  if (!claims) return plain(res, 401, `kodama-gateway: ${t.why}\n`);
  if (!claims.git.includes(host)) {
    log("deny", { s: claims.s, g: claims.g, host, path: "/git/" + host });
    return plain(res, 403, `kodama-gateway: host ${host} is not in session ${claims.s}'s git hosts\n`);
  }
  const keys = (cfg.providers.git || { keys: [] }).keys;
  const key = keys.find((k) => k.host === host);
  const base = key && typeof key.upstream === "string" ? key.upstream : "https://" + host;
  const headers = forwardHeaders(req.headers, ["x-kodama-gateway-token", "authorization"]);
  if (key) headers[key.header.toLowerCase()] = key.value;
  const target = joinUrl(base, rest, url.search);
  const up = upstreamRequest(target, req.method, headers);
  const stats = { bytesIn: 0, bytesOut: 0 };
  const done = (status) =>
    log("req", {
      s: claims.s,
      g: claims.g,
      host,
      path: target.pathname,
      status,
      ...stats,
      ms: Date.now() - t0,
    });
  up.on("error", (e) => {
    done(502);
    if (!res.headersSent) {
      plain(res, 502, `kodama-gateway: upstream ${host} unreachable (${e.code || "error"})\n`);
    } else res.destroy();
  });
  relay(req, up, res, stats, done);
}

function plain(res, status, text, extra) {
  if (res.headersSent) return res.destroy();
  res.writeHead(status, {
    "content-type": "text/plain",
    "content-length": Buffer.byteLength(text),
    ...extra,
  });
  res.end(text);
}

function usageRoute(req, res) {
  const h = req.headers;
  const token = bearer(h.authorization) || h["x-api-key"] || h["x-kodama-gateway-token"];
  const obj = (m) => Object.fromEntries(m.entries());
  let body;
  const book = jr.book;
  if (isAdmin(token)) body = { sessions: obj(book.sessions), groups: obj(book.groups), keys: obj(book.keys) };
  else {
    const { c, why } = check(token);
    if (!c) return plain(res, 401, `kodama-gateway: ${why}\n`);
    body = { sessions: { [c.s]: book.sessions.get(c.s) || null } };
  }
  const text = JSON.stringify(body);
  res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

// ---- egress by host name ------------------------------------------------------------------------------------

/** The proxy's session: from `Proxy-Authorization: Basic base64("kodama:<token>")`. */
function proxyClaims(h) {
  const v = h["proxy-authorization"];
  if (typeof v !== "string" || !/^Basic /i.test(v)) return null;
  const dec = Buffer.from(v.slice(6).trim(), "base64").toString("utf8");
  const i = dec.indexOf(":");
  return i < 0 ? null : verify(dec.slice(i + 1));
}

const hostOk = (h) => /^[a-z0-9.-]{1,253}$/.test(h) || net.isIP(h) !== 0;

/** Whether a session may reach host:port: its providers' real hosts on 443, its `allow` entries. */
function allowed(claims, host, port) {
  host = host.toLowerCase().replace(/\.$/, "");
  if (!hostOk(host)) return false;
  for (const p of claims.p) {
    if (p === "chatgpt") continue; // its backend is reached through /p/chatgpt only, with the login
    for (const u of [DEFAULT_UPSTREAM[p], cfg.providers[p] && cfg.providers[p].upstream]) {
      if (!u || port !== 443) continue;
      try {
        if (new URL(u).hostname.toLowerCase() === host) return true;
      } catch { /* not a URL */ }
    }
  }
  for (const entry of claims.allow) {
    const m = /^(.*?)(?::(\d+))?$/.exec(entry.toLowerCase());
    const want = m[2] ? [Number(m[2])] : [443, 80];
    if (!want.includes(port)) continue;
    const pat = m[1];
    if (pat.startsWith("*.") ? host.endsWith(pat.slice(1)) && host.length > pat.length - 1 : host === pat) {
      return true;
    }
  }
  return false;
}

function splitHostPort(s, def) {
  const m = /^\[?([^\]]*?)\]?(?::(\d{1,5}))?$/.exec(s || "");
  return m ? [m[1], m[2] ? Number(m[2]) : def] : [undefined, undefined];
}

function refuseSocket(sock, status, text, extra) {
  const body = text + "\n";
  sock.end(
    `HTTP/1.1 ${status}\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${
      extra || ""
    }connection: close\r\n\r\n${body}`,
  );
}

function onConnect(req, sock, head) {
  sock.on("error", () => {});
  const t0 = Date.now();
  const claims = proxyClaims(req.headers);
  if (!claims) {
    return refuseSocket(
      sock,
      "407 Proxy Authentication Required",
      "kodama-gateway: invalid session token",
      'proxy-authenticate: Basic realm="kodama-gateway"\r\n',
    );
  }
  const [host, port] = splitHostPort(req.url, 443);
  if (!host || !allowed(claims, host, port)) {
    log("deny", { s: claims.s, g: claims.g, host: host ? `${host}:${port}` : "?" });
    return refuseSocket(
      sock,
      "403 Forbidden",
      `kodama-gateway: host ${host} is not in session ${claims.s}'s egress allow-list`,
    );
  }
  const stats = { bytesIn: head.length, bytesOut: 0 };
  const up = net.connect(port, host);
  let logged = false;
  const done = (status) => {
    if (logged) return;
    logged = true;
    log("conn", { s: claims.s, g: claims.g, host: `${host}:${port}`, status, ...stats, ms: Date.now() - t0 });
  };
  up.setTimeout(LIMIT.upstreamIdleMs, () => up.destroy());
  up.on("connect", () => {
    sock.write("HTTP/1.1 200 Connection Established\r\n\r\n");
    if (head.length) up.write(head);
    sock.on("data", (c) => (stats.bytesIn += c.length));
    up.on("data", (c) => (stats.bytesOut += c.length));
    sock.pipe(up);
    up.pipe(sock);
  });
  let open = false;
  up.on("connect", () => (open = true));
  up.on("error", () => {
    if (open) return sock.destroy();
    refuseSocket(sock, "502 Bad Gateway", `kodama-gateway: upstream ${host} unreachable`);
    done(502);
  });
  up.on("close", () => {
    if (!open) return;
    sock.destroy();
    done(200);
  });
  sock.on("close", () => up.destroy());
}

/** A plain-HTTP proxy request (absolute URI): the same allow-list. */
function proxyHttp(req, res) {
  const t0 = Date.now();
  const claims = proxyClaims(req.headers);
  if (!claims) {
    return plain(res, 407, "kodama-gateway: invalid session token\n", {
      "proxy-authenticate": 'Basic realm="kodama-gateway"',
    });
  }
  let target;
  try {
    target = new URL(req.url);
  } catch {
    return plain(res, 400, "kodama-gateway: bad request\n");
  }
  const port = Number(target.port || 80);
  if (target.protocol !== "http:" || !allowed(claims, target.hostname, port)) {
    log("deny", { s: claims.s, g: claims.g, host: `${target.hostname}:${port}` });
    return plain(
      res,
      403,
      `kodama-gateway: host ${target.hostname} is not in session ${claims.s}'s egress allow-list\n`,
    );
  }
  const stats = { bytesIn: 0, bytesOut: 0 };
  const up = upstreamRequest(target, req.method, forwardHeaders(req.headers, []));
  const done = (status) =>
    log("conn", {
      s: claims.s,
      g: claims.g,
      host: `${target.hostname}:${port}`,
      status,
      ...stats,
      ms: Date.now() - t0,
    });
  up.on("error", () => {
    done(502);
    plain(res, 502, `kodama-gateway: upstream ${target.hostname} unreachable\n`);
  });
  relay(req, up, res, stats, done);
}

// ---- webhooks ------------------------------------------------------------------------------------------------
//
// POST /_kodama/notify: a run's end from a session pod (pod/notify.js), relayed to the user's webhook. The pod
// holds neither the webhook's URL nor the user's key (config.json's `notify`, this Secret only): it signs
// `TIMESTAMP.BODY` with its session's own key, HMAC-SHA256(userKey, "kodama-notify/v1\0" + NAMESPACE + "\0" +
// SESSION + "\0" + GENERATION), and sends its token, which names the session, its namespace and generation
// (`ns`, `n`). Relayed only when the token is valid and unrevoked, the body's session is the token's, the timestamp is within 5 minutes and the signature is the one the key derived here makes; then
// the body goes on (its `namespace` the token's) signed with the user's key, as receivers check it
// (docs/agents.md).

const NOTIFY = { bodyBytes: 64 * 1024, skewS: 300, attemptMs: 10_000 };
const NOTIFY_EVENTS = ["done", "failed", "needs-input"];
let notifyCache = { text: null, n: undefined };

/** The user's webhook from config.json (`notify: {url, key, on}`), or undefined. */
function notifyConfig() {
  if (notifyCache.text === cfgText) return notifyCache.n;
  let n;
  try {
    n = JSON.parse(cfgText).notify;
  } catch {
    n = undefined;
  }
  const ok = isObj(n) && typeof n.url === "string" && /^https?:\/\//.test(n.url) &&
    typeof n.key === "string" && n.key.length > 0;
  const on = ok && Array.isArray(n.on) ? n.on.filter((e) => typeof e === "string") : [];
  notifyCache = { text: cfgText, n: ok ? { url: n.url, key: n.key, on } : undefined };
  return notifyCache.n;
}

const hmacHex = (key, data) => crypto.createHmac("sha256", key).update(data).digest("hex");

/** A verified token's payload as signed (its namespace and webhook generation), or {}. */
function tokenPayload(token) {
  try {
    const p = JSON.parse(Buffer.from(String(token).split(".")[1], "base64url").toString("utf8"));
    return isObj(p) ? p : {};
  } catch {
    return {};
  }
}

/** The relay's decision on one event: { status, text } to refuse, or { body, s } to send on. */
function checkEvent(n, h, token, raw, nowS) {
  const c = verify(token);
  if (!c) return { status: 401, text: "invalid session token" };
  const p = tokenPayload(token);
  if (typeof p.n !== "string" || !p.n || typeof p.ns !== "string") {
    return { status: 403, text: "this session has no webhook" };
  }
  const ts = String(h["x-kodama-timestamp"] || "");
  if (!/^\d{1,12}$/.test(ts) || Math.abs(nowS - Number(ts)) > NOTIFY.skewS) {
    return { status: 401, text: "stale or missing timestamp" };
  }
  const key = hmacHex(n.key, `kodama-notify/v1\0${p.ns}\0${c.s}\0${p.n}`);
  const want = Buffer.from(`sha256=${hmacHex(key, `${ts}.${raw}`)}`);
  const got = Buffer.from(String(h["x-kodama-signature"] || ""));
  if (got.length !== want.length || !crypto.timingSafeEqual(got, want)) {
    return { status: 401, text: "bad signature" };
  }
  let b;
  try {
    b = JSON.parse(raw);
  } catch {
    return { status: 400, text: "the body is not JSON" };
  }
  if (!isObj(b) || b.session !== c.s) return { status: 403, text: "the event is not this session's" };
  if (!NOTIFY_EVENTS.includes(b.event)) return { status: 400, text: "unknown event" };
  // the receiver is told the session's namespace as the token says it, whatever the pod wrote
  return { body: JSON.stringify({ ...b, namespace: p.ns }), s: c.s, event: b.event };
}

/** POST the body to the user's webhook, signed with the user's key; resolves { status } or { error }. */
function sendWebhook(n, body) {
  const ts = String(Math.floor(Date.now() / 1000));
  const u = new URL(n.url);
  const lib = u.protocol === "https:" ? https : http;
  return new Promise((resolve) => {
    const req = lib.request(u, {
      method: "POST",
      timeout: NOTIFY.attemptMs,
      headers: {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(body),
        "user-agent": "kodama-notify",
        "x-kodama-timestamp": ts,
        "x-kodama-signature": `sha256=${hmacHex(n.key, `${ts}.${body}`)}`,
      },
    }, (r) => {
      r.resume();
      r.on("end", () => resolve({ status: r.statusCode }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (e) => resolve({ error: e.code || "error" }));
    req.end(body);
  });
}

function notifyRoute(req, res) {
  const n = notifyConfig();
  if (!n) return plain(res, 404, "kodama-gateway: no webhook to relay to (kodama gateway ensure)\n");
  const h = req.headers;
  const token = bearer(h.authorization) || h["x-kodama-gateway-token"];
  const chunks = [];
  let size = 0;
  req.on("data", (d) => {
    size += d.length;
    if (size > NOTIFY.bodyBytes) {
      plain(res, 413, "kodama-gateway: event too large\n");
      req.destroy();
    } else chunks.push(d);
  });
  req.on("end", async () => {
    if (size > NOTIFY.bodyBytes) return;
    const d = checkEvent(n, h, token, Buffer.concat(chunks).toString("utf8"), Date.now() / 1000);
    if (!d.body) {
      log("notify", { status: d.status, refused: d.text });
      return plain(res, d.status, `kodama-gateway: ${d.text}\n`);
    }
    if (n.on.length && !n.on.includes(d.event)) {
      log("notify", { s: d.s, status: 202, skipped: d.event });
      return plain(res, 202, `kodama-gateway: ${d.event} is not in notify.on\n`);
    }
    const r = await sendWebhook(n, d.body);
    log("notify", { s: d.s, status: r.status, error: r.error });
    if (r.error) return plain(res, 502, `kodama-gateway: webhook unreachable: ${r.error}\n`);
    plain(res, r.status < 300 ? 200 : 502, `kodama-gateway: webhook answered ${r.status}\n`);
  });
}

// ---- the server ------------------------------------------------------------------------------------------

function route(req, res) {
  req.on("error", () => {});
  res.on("error", () => {});
  if (!req.url.startsWith("/")) return proxyHttp(req, res);
  let url;
  try {
    url = new URL(req.url, "http://gateway");
  } catch {
    return plain(res, 400, "kodama-gateway: bad request\n");
  }
  const path = url.pathname;
  if (path === "/healthz") return plain(res, 200, "ok");
  if (path === "/_kodama/usage" && req.method === "GET") return usageRoute(req, res);
  if (path === "/_kodama/notify" && req.method === "POST") return notifyRoute(req, res);
  if (path === "/p/chatgpt-auth/oauth/token" && req.method === "POST") return chatgptAuthRoute(req, res);
  let m = /^\/p\/chatgpt(\/.*)?$/.exec(path);
  if (m) return chatgptRoute(req, res, m[1] || "/", url);
  m = /^\/p\/([a-z0-9-]+)(\/.*)?$/.exec(path);
  if (m && Object.hasOwn(PROVIDERS, m[1])) return providerRoute(req, res, m[1], m[2] || "/", url);
  m = /^\/git\/([a-z0-9.-]+(?::\d+)?)(\/.*)?$/i.exec(path);
  if (m) return gitRoute(req, res, m[1].toLowerCase(), m[2] || "/", url);
  plain(res, 404, "kodama-gateway: no such route\n");
}

/** The status line of a request the parser refused: headers over the limit are 431, anything else 400. */
function clientErrorStatus(e) {
  const code = e && e.code;
  if (code === "HPE_HEADER_OVERFLOW") return "431 Request Header Fields Too Large";
  if (code === "HPE_REQUEST_TIMEOUT" || code === "ERR_HTTP_REQUEST_TIMEOUT") return "408 Request Timeout";
  return "400 Bad Request";
}

/**
 * The book replayed from the state claim's journal; then the figures carried over are logged, one `carried`
 * line per session, group and day (what `kodama gateway usage` and `status` add to this pod's own lines).
 */
function openBook() {
  const j = journal.openJournal(STATE_DIR, {
    compactBytes: Number(process.env.KODAMA_GATEWAY_COMPACT_BYTES) || undefined,
    pod: process.env.KODAMA_GATEWAY_POD_UID || undefined,
    onError: (code) => log("config", { status: "warning", message: `meter journal not writable (${code})` }),
  });
  jr = j;
  const r = j.report || {};
  if (j.error) {
    log("config", {
      status: "warning",
      message: `meter journal not kept (${j.error}): figures and budgets start from zero at a restart`,
    });
  }
  if (r.badSnapshot) {
    log("config", { status: "warning", message: `meter snapshot unreadable (${r.badSnapshot}): ignored` });
  }
  for (const b of j.book.buckets.values()) {
    log("carried", {
      s: b.s,
      g: b.g,
      day: b.day,
      requests: b.calls,
      denied: b.denied,
      metered: b.metered,
      usage: { input: b.input, output: b.output, cacheRead: b.cacheRead, cacheWrite: b.cacheWrite },
      costUsd: b.costUsd,
      unpriced: b.unpriced || undefined,
    });
  }
  log("config", {
    status: "replayed",
    durable: j.durable,
    snapshot: !!r.snapshot,
    entries: r.entries || 0,
    torn: r.torn || undefined,
    settledAsSpent: r.settled || undefined,
    // the pods this journal was replayed in, and every start (a container restart in the same pod too)
    pods: j.durable ? j.book.pods : undefined,
    starts: j.durable ? j.book.starts : undefined,
  });
  process.on("exit", () => jr.flush());
}

function main() {
  loadConfig();
  adoptLogin(undefined);
  openBook();
  fs.watchFile(CONFIG_PATH, { interval: 1000 }, () => loadConfig());
  setInterval(loadConfig, 10_000).unref(); // a Secret's update swaps a symlink the stat may not see
  if (typeof process.getuid === "function" && process.getuid() === 0) {
    log("config", { status: "warning", message: "running as root: run the gateway as a non-root user" });
  }
  const server = http.createServer({ maxHeaderSize: LIMIT.headerBytes }, route);
  server.headersTimeout = 30_000;
  server.requestTimeout = 0; // a streamed answer may take many minutes
  server.on("connect", onConnect);
  server.on("clientError", (e, sock) => {
    if (!sock.writable) return sock.destroy();
    sock.end(`HTTP/1.1 ${clientErrorStatus(e)}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
  });
  server.listen(PORT, HOST, () => log("config", { status: "listening", port: server.address().port }));
  process.on("SIGTERM", () => {
    log("config", { status: "draining" });
    server.close(() => process.exit(0));
    // keep-alive connections end as soon as their answer is done
    setInterval(() => server.closeIdleConnections(), 100).unref();
    setTimeout(() => process.exit(0), LIMIT.drainMs).unref();
  });
  process.on("uncaughtException", (e) => log("config", { status: "error", message: String(e && e.message) }));
}

if (require.main === module) main();
module.exports = {
  PROVIDERS,
  TOKEN_HEADERS,
  errorBody,
  keyFingerprint,
  verify,
  check,
  clientErrorStatus,
  allowed,
  newMeter,
  meterJson,
  resetAt,
  retryAfterMs,
  costOf,
  learnLimits,
  jwtExp,
  singleFlight,
  newestLogin,
};
