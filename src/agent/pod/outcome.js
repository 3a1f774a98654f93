// The outcome of an agent run, from the agent CLI's own structured output: one classifier for the pod's
// runner (runner.js, which decides from it whether to wait and continue) and for kodama on the laptop
// (truth.ts, which shows it), so both always agree. Plain JavaScript with no imports: the runner embeds
// this file (its `export`s dropped) and Deno imports it as a module. Pure: lines in, facts and a class out.
//
// Classes: succeeded, no-changes, denied, overloaded, rate-limited, quota, auth, model, budget, stalled,
// unreachable, interrupted, failed (and running while it runs). Only overloaded, rate-limited and
// unreachable are retried (the runner continues the conversation); the rest are said at once.

/** The classes kodama continues a run after. */
export const RETRYABLE = ["overloaded", "rate-limited", "unreachable"];

/** Facts gathered from a log, line by line (newFacts, then feedLine for each line). */
export function newFacts() {
  return {
    agent: undefined,
    models: [],
    apiRetries: 0,
    netRetries: 0,
    overloads: 0,
    rateLimits: 0,
    continuations: 0,
    turns: 0,
    turnIds: [],
    costUsd: 0,
    waiting: undefined,
    resetsAt: undefined,
    result: undefined,
    lastError: undefined,
    budget: undefined,
    fatal: undefined,
    lastText: undefined,
    deniedHosts: [],
    // kodama's gateway could not reach its upstream (its 502's words in the agent's output), until an answer
    gatewayDown: undefined,
    // the agent's last message to the user (its final words: a question there means it waits on you)
    lastMessage: undefined,
    geminiSaying: false,
    // pi: its last assistant message ended in an error (its agent_end is then a failed end)
    piFailed: false,
    // tool uses the agent's permissions refused (Claude Code's result lists them)
    denied: 0,
    // kodama's own refusal of the run (start.sh, runner.js: a project file sets a variable only you choose)
    refused: undefined,
  };
}

const isObj = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const str = (v) => (typeof v === "string" ? v : undefined);
const num = (v) => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

function addModel(f, raw) {
  // Claude Code's init names the model with its context window (`claude-opus-4-8[1m]`), its messages without
  const m = typeof raw === "string" ? raw.replace(/\[[^\]]*\]$/, "") : raw;
  if (m && m !== "<synthetic>" && !f.models.includes(m)) f.models.push(m);
}

/** A reset time from an API (seconds or milliseconds since the epoch) in milliseconds. */
function epochMs(v) {
  const n = num(v);
  if (n === undefined) return undefined;
  return n < 1e12 ? n * 1000 : n;
}

/** What a CLI wrote about the kind of error, in words (the HTTP status when it has one). */
function statusReason(status) {
  if (status === 429) return "429";
  if (status === 529 || status === 503) return String(status);
  return status ? String(status) : "network";
}

function onRetry(f, status, delayMs, attempt, of, now, error) {
  f.apiRetries++;
  // a key the API refused is not retried into success (Claude Code retries a 401 ten times, minutes of
  // backoff): the runner ends the agent at once
  if (status === 401 || status === 403) {
    f.fatal = {
      status,
      message: `${status === 401 ? "invalid API key" : "forbidden"} (HTTP ${status}${
        error ? " " + error : ""
      })`,
    };
  }
  if (status === 529 || status === 503 || status === 502) f.overloads++;
  else if (status === 429) f.rateLimits++;
  else if (!status) f.netRetries++;
  f.waiting = {
    reason: statusReason(status),
    ...((status === 502 || !status) && f.gatewayDown ? { via: gatewayWords(f.gatewayDown) } : {}),
    ...(delayMs !== undefined ? { until: new Date(now + delayMs).toISOString() } : {}),
    ...(attempt !== undefined ? { attempt } : {}),
    ...(of !== undefined ? { of } : {}),
  };
}

/** Qwen Code's words for a model API error, as the model's text: `[API Error: 529 The server is overloaded…]`. */
const QWEN_API_ERROR = /^\[API Error: /;

function claudeLine(f, j, now) {
  const type = str(j.type);
  if (type === "system") {
    const sub = str(j.subtype);
    if (sub === "init") {
      // Qwen Code 0.24 writes Claude Code's stream-json; its init names its own version
      f.agent = "qwen_code_version" in j ? "qwen" : "claude";
      addModel(f, str(j.model));
    } else if (sub === "api_retry") {
      onRetry(
        f,
        num(j.error_status),
        num(j.retry_delay_ms),
        num(j.attempt),
        num(j.max_retries),
        now,
        str(j.error),
      );
    } else if (sub === "model_fallback") {
      addModel(f, str(j.fallback_model));
    }
    return;
  }
  if (type === "rate_limit_event") {
    const i = isObj(j.rate_limit_info) ? j.rate_limit_info : {};
    if (i.status === "rejected") f.resetsAt = epochMs(i.resetsAt ?? i.resets_at);
    return;
  }
  f.waiting = undefined;
  if (type === "assistant") {
    const m = isObj(j.message) ? j.message : {};
    const b0 = Array.isArray(m.content) ? m.content.find((x) => isObj(x) && str(x.text)) : undefined;
    if (
      j.is_api_error_message || j.error || (f.agent === "qwen" && QWEN_API_ERROR.test(str(b0?.text) ?? ""))
    ) {
      const b = b0;
      f.lastError = {
        message: str(b?.text) ?? str(j.error) ?? "error",
        kind: str(j.api_error) ?? str(j.error),
      };
      return;
    }
    addModel(f, str(m.model));
    f.gatewayDown = undefined;
    const said = Array.isArray(m.content)
      ? m.content.filter((x) => isObj(x) && x.type === "text" && str(x.text)).map((x) => x.text).join("\n")
      : "";
    if (said) f.lastMessage = said.slice(-2000);
    const id = str(m.id);
    if (id && !f.turnIds.includes(id)) {
      f.turnIds.push(id);
      if (f.turnIds.length > 64) f.turnIds.shift();
      f.turns++;
    }
    return;
  }
  if (type === "result") {
    f.costUsd += num(j.total_cost_usd) ?? 0;
    if (Array.isArray(j.permission_denials)) f.denied += j.permission_denials.length;
    const sub = str(j.subtype);
    const ok = j.is_error !== true && (sub === undefined || sub === "success");
    // Qwen Code: its error in `error.message` (`[API Error: 401 Incorrect API key …]`), the status in it
    const err = isObj(j.error) ? str(j.error.message) : undefined;
    f.result = {
      ok,
      status: num(j.api_error_status) ?? (err && !ok ? httpStatusIn(err) : undefined),
      kind: str(j.api_error),
      terminal: str(j.terminal_reason),
      subtype: sub,
      message: str(j.result) ?? (ok ? undefined : err) ?? str(j.terminal_reason) ?? sub,
    };
  }
}

function codexLine(f, j, now) {
  const type = str(j.type);
  if (type === "thread.started") f.agent = "codex";
  else if (type === "turn.completed") {
    f.turns++;
    f.gatewayDown = undefined;
    f.waiting = undefined;
  } else if (type === "turn.failed") {
    const m = str(isObj(j.error) ? j.error.message : undefined) ?? "the turn failed";
    f.result = { ok: false, message: m, status: httpStatusIn(m) };
  } else if (type === "error") {
    const m = str(j.message) ?? "error";
    if (/^Reconnecting\b/.test(m)) onRetry(f, httpStatusIn(m), undefined, ...retryCount(m), now);
    else f.lastError = { message: m };
  } else if (type === "item.started" || type === "item.completed") {
    f.waiting = undefined;
    const item = isObj(j.item) ? j.item : {};
    if (type === "item.completed" && item.type === "agent_message" && str(item.text)) {
      f.lastMessage = item.text.slice(-2000);
    }
  }
}

function geminiLine(f, j) {
  const type = str(j.type);
  if (type === "init") {
    f.agent = "gemini";
    addModel(f, str(j.model));
  } else if (type === "result") {
    const err = isObj(j.error) ? j.error : {};
    const st = isObj(j.stats) ? j.stats : {};
    for (const m of Object.keys(isObj(st.models) ? st.models : {})) {
      const u = st.models[m];
      if (isObj(u) && (num(u.total_tokens) ?? 0) > 0) addModel(f, m);
    }
    f.result = {
      ok: j.status === "success",
      kind: str(err.type),
      message: str(err.message) ?? str(err.type),
      status: httpStatusIn(str(err.message) ?? ""),
    };
  } else if (type === "error" && j.severity !== "warning") {
    f.lastError = { message: str(j.message) ?? "error" };
  } else {
    f.waiting = undefined;
    // the model's text comes in `delta` pieces; a message of another role or a tool use starts anew
    if (type === "message" && j.role === "assistant" && str(j.content)) {
      f.gatewayDown = undefined;
      f.lastMessage = ((j.delta === true && f.geminiSaying ? f.lastMessage ?? "" : "") + j.content).slice(
        -2000,
      );
      f.geminiSaying = true;
    } else f.geminiSaying = false;
  }
}

// pi --mode json (0.73.1): it exits 0 even when the API refused it; agent_end after an assistant message
// whose stopReason is `error` (errorMessage `401 {…}`, `429 …`, `529 …`) is the failed end. Its own
// retries (overloads, 5xx: auto_retry_start with delayMs) are waits; its SDK waits out a 429 quietly.
function piLine(f, j, now) {
  const type = str(j.type);
  const m = isObj(j.message) ? j.message : undefined;
  if (type === "auto_retry_start") {
    const e = str(j.errorMessage) ?? "";
    onRetry(f, httpStatusIn(e), num(j.delayMs), num(j.attempt), num(j.maxAttempts), now, e.slice(0, 200));
  } else if (type === "message_end" && m?.role === "assistant") {
    f.waiting = undefined;
    addModel(f, str(m.model));
    const u = isObj(m.usage) ? m.usage : {};
    f.costUsd += num(isObj(u.cost) ? u.cost.total : undefined) ?? 0;
    if (m.stopReason === "error" || m.stopReason === "aborted") {
      f.lastError = { message: str(m.errorMessage) ?? String(m.stopReason) };
      f.piFailed = true;
      return;
    }
    f.piFailed = false;
    f.turns++;
    const said = Array.isArray(m.content)
      ? m.content.filter((x) => isObj(x) && x.type === "text" && str(x.text)).map((x) => x.text).join("\n")
      : "";
    if (said) f.lastMessage = said.slice(-2000);
  } else if (type === "agent_end") {
    const e = f.piFailed ? f.lastError?.message : undefined;
    f.result = e !== undefined ? { ok: false, message: e, status: httpStatusIn(e) } : { ok: true };
  }
}

/** pi's event types (its first line is `session` with its cwd). */
const PI_TYPES =
  /^(agent_start|agent_end|turn_start|turn_end|message_start|message_update|message_end|tool_execution_\w+|auto_retry_\w+)$/;

/**
 * Which agent a JSON line of a run's log is from (undefined: not sure yet, e.g. a bare `error`): the one rule,
 * here and in src/agent/outcome/stream.ts's parser, which imports it. Qwen Code writes Claude Code's stream-json; its
 * init names its own version.
 */
export function agentOfLine(j) {
  const type = String(j.type);
  if ("sessionID" in j && ("part" in j || type === "error")) return "opencode";
  if (/^(thread|turn|item)\./.test(type)) return "codex";
  if ((type === "session" && "cwd" in j) || PI_TYPES.test(type)) return "pi";
  if (["init", "message", "tool_use", "tool_result"].includes(type) || "severity" in j) return "gemini";
  if (type === "result" && "stats" in j) return "gemini";
  if (type === "error") return undefined;
  if (type === "system" && "qwen_code_version" in j) return "qwen";
  return "claude";
}

// OpenCode (`run --format json`): step_start, text, tool_use, step_finish (a model turn: its reason, tokens,
// cost), and an `error` line with the API's status (`error.data.statusCode`) when it gives up (it retries a
// 429 or an overload itself a few times first, and ends with exit 1)
function opencodeLine(f, j) {
  const type = str(j.type);
  const part = isObj(j.part) ? j.part : {};
  if (type === "error") {
    const e = isObj(j.error) ? j.error : {};
    const d = isObj(e.data) ? e.data : {};
    const m = str(d.message) ?? str(e.name) ?? "error";
    // the API's own time to come back (its answer's retry-after), from when OpenCode gave up
    const at = retryAtOf(d.responseHeaders, num(j.timestamp) ?? Date.now());
    f.result = {
      ok: false,
      status: num(d.statusCode),
      kind: str(e.name),
      message: m,
      ...(at ? { retryAt: at } : {}),
    };
    return;
  }
  f.waiting = undefined;
  if (type === "text" && str(part.text)) f.lastMessage = part.text.slice(-2000);
  else if (type === "step_start") f.result = undefined;
  else if (type === "step_finish") {
    f.turns++;
    f.costUsd += num(part.cost) ?? 0;
    if (part.reason !== "tool-calls") f.result = { ok: true, message: f.lastMessage };
  }
}

/**
 * When an API answer's headers say to come back (ms since the epoch), counted from `at` (when it was
 * answered): `retry-after-ms` (Anthropic, OpenAI), else `retry-after` in seconds or as an HTTP date.
 */
function retryAtOf(headers, at) {
  if (!isObj(headers)) return undefined;
  const h = {};
  for (const [k, v] of Object.entries(headers)) if (str(v)) h[k.toLowerCase()] = v.trim();
  if (/^\d+(\.\d+)?$/.test(h["retry-after-ms"] ?? "")) return at + Number(h["retry-after-ms"]);
  const ra = h["retry-after"];
  if (!ra) return undefined;
  if (/^\d+(\.\d+)?$/.test(ra)) return at + Number(ra) * 1000;
  const d = Date.parse(ra);
  return Number.isNaN(d) ? undefined : d;
}

/** `Reconnecting... 2/5 (…)` → [2, 5] */
function retryCount(m) {
  const r = /\b(\d+)\/(\d+)\b/.exec(m);
  return r ? [Number(r[1]), Number(r[2])] : [undefined, undefined];
}

/** The HTTP status an error message names (`429 Too Many Requests`, `status 529`, `HTTP 503`). */
export function httpStatusIn(m) {
  const r =
    /\b(?:status:? |HTTP |code )?(401|403|404|408|429|500|502|503|504|529)\b(?! ?(?:ms|s\b|seconds|tokens))/
      .exec(m);
  return r ? Number(r[1]) : undefined;
}

/** kodama's own lines in the log: `{"type":"kodama","event":"continue"|"wait"|"budget"|"model"|"turn"|"say",…}`. */
function kodamaLine(f, j) {
  if (j.event === "continue") {
    f.continuations++;
    f.waiting = undefined;
    f.result = undefined;
    f.lastError = undefined;
    if (j.reason === "overloaded") f.overloads++;
    if (j.reason === "rate-limited") f.rateLimits++;
  } else if (j.event === "turn") {
    // a turn of messages said to the run (agent say): the run's end is that turn's
    f.waiting = undefined;
    f.result = undefined;
    f.lastError = undefined;
  } else if (j.event === "budget") {
    f.budget = str(j.message) ?? "budget";
  } else if (j.event === "model") addModel(f, str(j.model));
}

/** One line of the log into the facts; `now` (ms) dates a wait the line announces. */
export function feedLine(f, line, now = Date.now()) {
  const t = line.trim();
  if (!t) return;
  gatewayDenial(f, t);
  if (t.includes("kodama-gateway: upstream")) gatewayUnreachable(f, t);
  if (t[0] !== "{") {
    // the Gemini CLI's retries are on stderr; other text (warnings, stack traces) neither starts nor ends a wait
    if (/^Attempt \d+ failed\. Retrying with backoff/.test(t)) {
      onRetry(f, httpStatusIn(t), undefined, ...retryCount(t), now);
    } else if (/^kodama: refused: /.test(line)) f.refused = t.slice("kodama: ".length, 300);
    else if (!/^ +at |^kodama: /.test(line)) f.lastText = t.slice(0, 300);
    return;
  }
  let j;
  try {
    j = JSON.parse(t);
  } catch {
    return;
  }
  if (!isObj(j) || typeof j.type !== "string") return;
  if (j.type === "kodama") return kodamaLine(f, j);
  if (!f.agent) f.agent = agentOfLine(j);
  if (f.agent === "codex" || (!f.agent && j.type === "error")) codexLine(f, j, now);
  else if (f.agent === "gemini") geminiLine(f, j);
  else if (f.agent === "pi") piLine(f, j, now);
  else if (f.agent === "opencode") opencodeLine(f, j);
  else claudeLine(f, j, now);
}

/** kodama's gateway refused a host (`kodama-gateway: host H is not in …`, in a tool's output): remembered. */
function gatewayDenial(f, t) {
  const d = /kodama-gateway: host ([^\s"\\]+) is not in/.exec(t);
  if (d && !f.deniedHosts.includes(d[1]) && f.deniedHosts.length < 8) f.deniedHosts.push(d[1]);
}

/**
 * kodama's gateway could not reach its upstream (its 502 `kodama-gateway: upstream H unreachable (CODE)`,
 * in whatever the agent printed of the answer): remembered, to name the run's wait.
 */
function gatewayUnreachable(f, t) {
  const d = /kodama-gateway: upstream ([A-Za-z0-9.:[\]-]{1,253}) unreachable(?: \(([A-Za-z0-9_ .-]{1,40})\))?/
    .exec(t);
  if (d) f.gatewayDown = { host: d[1], ...(d[2] ? { error: d[2] } : {}) };
}

/** `gateway cannot reach api.example.com (ECONNREFUSED)`: the words of a wait on the gateway's upstream. */
export function gatewayWords(d) {
  return `gateway cannot reach ${d.host} (${d.error ?? "502"})`;
}

/** The facts of a whole log. */
export function factsOf(text, now = Date.now()) {
  const f = newFacts();
  for (const line of text.split("\n")) feedLine(f, line, now);
  return f;
}

/** What an error's status and words say it was: a class, or undefined when they say nothing known. */
export function causeOf(status, kind, message) {
  const m = `${kind ?? ""} ${message ?? ""}`.toLowerCase();
  // kodama's gateway says its own errors first: they come in the provider's shape (a 400, a 502)
  if (/kodama-gateway: budget/.test(m)) return "budget";
  if (/kodama-gateway: upstream/.test(m)) return "unreachable";
  if (
    status === 401 || status === 403 ||
    /authentication|invalid.{0,12}api.?key|x-api-key|unauthori[sz]ed|not logged in|\/login|oauth token|permission_error|credential/
      .test(m)
  ) return "auth";
  if (
    /insufficient_quota|quota|usage limit|credit balance|billing|out of credits|exceeded your current/.test(m)
  ) {
    return "quota";
  }
  if (status === 429 || /rate.?limit|too many requests/.test(m)) return "rate-limited";
  if (
    status === 529 || status === 503 || status === 502 || /overloaded|service unavailable|capacity/.test(m)
  ) {
    return "overloaded";
  }
  if (
    status === 404 ||
    /model.{0,40}(not found|not exist|not_found|unknown|invalid|not supported)|model_not_found|not_found_error|invalid model/
      .test(m)
  ) return "model";
  if (
    /econnrefused|econnreset|enotfound|etimedout|connection (refused|error|failed|reset)|connection_failed|fetch failed|network|stream disconnected|error sending request|socket hang up|timed? ?out|(cannot|unable to) connect/
      .test(m)
  ) return "unreachable";
  if (status !== undefined && status >= 500) return "overloaded";
  return undefined;
}

/**
 * Whether an ended run waits on the user, and why: its tool uses were refused (`denied`), a budget or turn
 * limit stopped it (`budget`), or its last message to the user is a question (`question`). Undefined when
 * it does not (it succeeded, or failed for a cause that is not the user's to answer). `o` is classify's.
 */
export function needsInput(f, o, end = {}) {
  if (o.class === "running" || o.class === "interrupted") return undefined;
  if (o.class === "denied" || (end.denied ?? f.denied ?? 0) > 0) return "denied";
  if (o.class === "budget") return "budget";
  const last = f.result?.ok !== false ? (f.result?.message ?? f.lastMessage) : undefined;
  if (typeof last === "string" && isQuestion(last)) return "question";
  return undefined;
}

/** A message whose last sentence asks something: it ends in `?` (after closing quotes, brackets, emphasis). */
export function isQuestion(text) {
  const t = text.replace(/[\s`*_"')\]}>.\u201d\u2019]+$/u, "");
  return /[?\uff1f]$/u.test(t);
}

/** Words of a class for a failed run (`failed: overloaded (retryable)`). */
const WORDS = {
  overloaded: "overloaded",
  "rate-limited": "rate-limited",
  quota: "quota or usage limit reached",
  auth: "not authenticated",
  model: "model not found",
  budget: "budget spent",
  stalled: "stalled",
  unreachable: "model API unreachable",
  denied: "tool uses denied",
};

/**
 * The run's outcome: `{class, retryable, retryAt?, message}` from the facts and how it ended.
 * end: {state: running|succeeded|failed|stopped|interrupted, exitCode?, endedBy?: stalled|unreachable|budget|interrupted|taken-over,
 * changed?: false when it changed and committed nothing, denied?: tool uses refused}.
 */
export function classify(f, end) {
  const out = (cls, message, retryAt) => ({
    class: cls,
    retryable: RETRYABLE.includes(cls),
    ...(retryAt ? { retryAt: new Date(retryAt).toISOString() } : {}),
    message: String(message ?? cls).slice(0, 500),
  });
  if (end.state === "running") return out("running", "running");
  if (end.state === "stopped") {
    return out(
      "interrupted",
      end.endedBy === "taken-over" ? "taken over (agent attach)" : "stopped (agent stop)",
    );
  }
  if (end.state === "interrupted" && end.endedBy === "interrupted") {
    return out("interrupted", "interrupted (agent interrupt): agent say or agent run --continue goes on");
  }
  if (end.state === "interrupted") {
    return out("interrupted", "the pod it ran in is gone (agent run --continue)");
  }
  if (f.refused && end.state === "failed") return out("failed", f.refused);
  if (end.endedBy === "budget" || f.budget) return out("budget", f.budget ?? "a budget was spent");
  if (end.endedBy === "stalled") return out("stalled", "no output for agent.stallTimeout");
  if (end.endedBy === "unreachable") return out("unreachable", "the agent only retried its model API");
  const r = f.result;
  if (f.fatal && end.exitCode !== 0) {
    return out(causeOf(f.fatal.status, undefined, f.fatal.message) ?? "auth", f.fatal.message);
  }
  if (end.exitCode === 0 && (!r || r.ok)) {
    if (end.changed === false && (end.denied ?? 0) > 0) {
      return out("denied", `${end.denied} tool uses denied`);
    }
    if (end.changed === false) return out("no-changes", r?.message ?? "changed nothing");
    return out("succeeded", r?.message ?? "succeeded");
  }
  if (r && !r.ok) {
    if (/max_turns|max_budget|budget/.test(`${r.subtype ?? ""} ${r.terminal ?? ""}`)) {
      return out("budget", r.message);
    }
  }
  if (end.exitCode === 53) return out("budget", r?.message ?? "turn limit reached");
  if (end.exitCode === 41) return out("auth", r?.message ?? "authentication failed");
  // the end's own words, else the last error, else the retry it was in when it ended
  const cause = (r && !r.ok ? causeOf(r.status, r.kind, r.message) : undefined) ??
    (f.lastError ? causeOf(undefined, f.lastError.kind, f.lastError.message) : undefined) ??
    (f.waiting
      ? causeOf(f.waiting.reason === "network" ? undefined : Number(f.waiting.reason), undefined, "") ??
        (f.waiting.reason === "network" ? "unreachable" : undefined)
      : undefined) ??
    (!f.agent && !r && f.lastText ? causeOf(httpStatusIn(f.lastText), undefined, f.lastText) : undefined);
  // a command with no structured output (a custom agent): its last line of text says what happened
  const text = !f.agent && !r ? f.lastText : undefined;
  const denied = f.deniedHosts?.length ? ` (the gateway denied egress to ${f.deniedHosts.join(", ")})` : "";
  const message = ((r && !r.ok ? r.message : undefined) ?? f.lastError?.message ?? text ??
    (end.exitCode !== undefined ? `exited ${end.exitCode}` : "failed")) + denied;
  if (cause === "rate-limited" || cause === "overloaded") {
    // the API's retry-after where the CLI passed its answer's headers on (OpenCode), else what it said
    const at = (r && !r.ok ? r.retryAt : undefined) ??
      (cause === "rate-limited" ? f.resetsAt ?? retryAfterIn(message) : retryAfterIn(message));
    return out(cause, message, at);
  }
  if (cause) return out(cause, message);
  return out("failed", message);
}

/** `try again in 20s`, `retry after 3 seconds`, `Please try again in 1.5s` → a time, from now. */
function retryAfterIn(m, now = Date.now()) {
  const r = /(?:try again|retry) (?:in|after) (\d+(?:\.\d+)?) ?(ms|s|sec|seconds|m|min|minutes)\b/i.exec(
    m ?? "",
  );
  if (!r) return undefined;
  const n = Number(r[1]), u = r[2].toLowerCase();
  return now + n * (u === "ms" ? 1 : u.startsWith("m") ? 60_000 : 1000);
}

/** The words tables show: `failed: overloaded (retryable)`, `succeeded (after 2 overloads)`. */
export function outcomeText(o, f) {
  if (o.class === "running") return "running";
  if (o.class === "interrupted") return o.message.startsWith("stopped") ? "stopped" : "interrupted";
  if (o.class === "succeeded" || o.class === "no-changes" || o.class === "denied") {
    // denied: it ended well but changed nothing, its tool uses refused (the notes say how many)
    const base = o.class === "succeeded" ? "succeeded" : "succeeded (no changes)";
    const after = [];
    if (f?.overloads) after.push(`${f.overloads} overload${f.overloads === 1 ? "" : "s"}`);
    if (f?.rateLimits) after.push(`${f.rateLimits} rate limit${f.rateLimits === 1 ? "" : "s"}`);
    return after.length ? `${base} (after ${after.join(", ")})` : base;
  }
  if (o.class === "auth" && /invalid.{0,12}api.?key|x-api-key/i.test(o.message)) {
    return "failed: invalid API key";
  }
  if (o.class === "failed") return "failed";
  return `failed: ${WORDS[o.class] ?? o.class}${o.retryable ? " (retryable)" : ""}`;
}

/** `running (429, retry 3/10 in 15s)` for a run that waits on its model API. */
export function waitingText(w, now = Date.now()) {
  if (!w) return "running";
  const parts = [w.via ?? w.reason];
  const until = w.until ? Date.parse(w.until) : NaN;
  const left = Number.isNaN(until) ? undefined : Math.max(0, Math.round((until - now) / 1000));
  const of = w.attempt !== undefined ? ` ${w.attempt}${w.of !== undefined ? `/${w.of}` : ""}` : "";
  // the wait is over: the retry is on its way (not "in 0s")
  parts.push(left !== undefined && left > 0 ? `retry${of} in ${left}s` : `retrying${of}`);
  return `running (${parts.join(", ")})`;
}
