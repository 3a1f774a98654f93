/**
 * Local stand-ins for the model APIs the real agent CLIs call, on 127.0.0.1, scripted per test:
 *
 *   Anthropic Messages  POST /v1/messages (stream: true → SSE; false → one JSON message), what
 *                       Claude Code calls; `HEAD /api/hello` and anything else answer 404 (harmless)
 *   OpenAI Responses    POST /v1/responses (SSE), what Codex calls through a custom model provider
 *   Chat Completions    POST /v1/chat/completions (stream: true → SSE `data:` chunks, its usage in a last
 *                       chunk only when asked for with `stream_options.include_usage`, as OpenAI does)
 *   Gemini API          POST /v1beta/models/MODEL:streamGenerateContent?alt=sse (SSE) and
 *                       :generateContent (one JSON answer), what the Gemini CLI calls with
 *                       GOOGLE_GEMINI_BASE_URL; :countTokens answers an estimate
 *
 * A script is a queue of turns; each "main" request (one that offers tools) takes the next turn, and a
 * turn's acts become one assistant message: `write` (Claude's Write tool; pi's write; Codex's apply_patch; Gemini's
 * write_file), `shell` (Claude's Bash; pi's bash; Codex's exec_command; Gemini's run_shell_command), `text`. A turn with tool acts ends with stop_reason tool_use;
 * when the queue is empty the answer is the final text "done.". Requests without tools (side calls: titles,
 * summaries) get a short text and take no turn. Every request is recorded, so a test can assert that a
 * `--continue` run sent the earlier conversation.
 *
 * Failure modes, scriptable per test (`faults`, `api.fault(…)`), in each API's own wire format: an HTTP
 * status (529/503 overloaded, 429 with `retry-after`/`retry-after-ms` and the rate-limit headers, 401, 404
 * for one model) for the first N main requests or always; a mid-stream error event (Anthropic's
 * `event: error` with `overloaded_error`); a real sliding-window rate limit shared by every caller
 * (`rateLimit: {requests, windowMs}`; `perKey: true`: one window per API key, as providers count); a slow first byte and slow trickles (`firstByteMs`, `trickleMs`).
 * Usage numbers are in every answer. `answered(status)` counts what was answered, and `waitFor` waits on it.
 *
 * Run by hand: `deno run -A tests/agents/_standin.ts SCRIPT.json [PORT]` prints its URL.
 */

export type Act = { write: { path: string; content: string } } | { shell: string } | { text: string };
export type Turn = Act[];

export interface Recorded {
  method: string;
  path: string;
  /** the parsed JSON body (undefined when none) */
  body: unknown;
  /** the raw body text */
  text: string;
  /** the turn this request took, if it was a main request */
  turn?: number;
  /** the status it was answered with (main requests) */
  status?: number;
  /** the request's headers (a gateway's test: which key reached the API) */
  headers?: Record<string, string>;
  /** the token counts its answer's usage fields said (input includes none cached: the stand-in caches none) */
  usage?: { input: number; output: number };
}

/** A failure the stand-in answers main requests with. */
export interface Fault {
  /** 529 / 503 (overloaded), 429 (rate limited), 401 (bad key), 404 (unknown model), 500 */
  status: 529 | 503 | 429 | 401 | 404 | 500;
  /** for this many main requests (default: every one) */
  times?: number;
  /** only requests for this model (a 404 for one model name) */
  model?: string;
  /** `retry-after` (seconds) and `retry-after-ms` headers of a 429/529 */
  retryAfterMs?: number;
  /** the status line is 200 and the stream breaks with an error event after its start (Anthropic) */
  midStream?: boolean;
}

export interface StandInOptions {
  port?: number;
  faults?: Fault[];
  /** a sliding-window rate limit over every main request, from every caller: 429 beyond it */
  rateLimit?: { requests: number; windowMs: number; perKey?: boolean };
  /** wait this long before the first byte of a main answer */
  firstByteMs?: number;
  /** send a streamed main answer event by event, this long apart */
  trickleMs?: number;
  /** the output tokens every main answer's usage says (default: a few per act): a dear answer */
  outputTokens?: number;
  /** which keys and models it accepts, and headers on every answer (agent check, start's preflight) */
  gate?: Gate;
  /**
   * each main request's turn from the request itself (its raw text and parsed body) instead of the queue:
   * a script for concurrent conversations (the demo's agent, tests/cluster/demo_agents.ts)
   */
  turnFor?: (text: string, body: Record<string, unknown>) => Turn;
}

export interface StandIn {
  /** http://127.0.0.1:PORT (Claude Code: ANTHROPIC_BASE_URL; Codex: a provider's base_url + "/v1") */
  url: string;
  requests: Recorded[];
  /** answer the next main requests with a failure (after the ones already queued) */
  fault(f: Fault): void;
  /** how many main requests were answered with this HTTP status (200: answered well) */
  answered(status: number): number;
  /** resolves once `pred()` holds (checked after every answer); rejects after `ms` */
  waitFor(pred: () => boolean, ms?: number): Promise<void>;
  /** more turns, taken after the ones already queued */
  push(...turns: Turn[]): void;
  /** main requests so far */
  mainRequests(): Recorded[];
  /**
   * Hold main requests (a turn kept open): each waits, unanswered, until the returned release is called;
   * `held()` counts the requests waiting now.
   */
  hold(): () => void;
  held(): number;
  close(): Promise<void>;
}

const enc = new TextEncoder();

/** How a main answer is paced: a slow first byte, then event by event. */
interface Pace {
  firstByteMs?: number;
  trickleMs?: number;
}
let pace: Pace = {};

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The output tokens main answers report (StandInOptions.outputTokens), set per answer like `pace`. */
let outputTokens: number | undefined;

function sse(events: { event: string; data: unknown }[]): Response {
  const chunks = events.map((e) => `event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`);
  const p = pace;
  const body = !p.firstByteMs && !p.trickleMs ? enc.encode(chunks.join("")) : new ReadableStream<Uint8Array>({
    async start(c) {
      // fixed: the stand-in's latency, set by the test (a slow API is what is tested), not a wait
      if (p.firstByteMs) await delay(p.firstByteMs);
      for (const [i, ch] of chunks.entries()) {
        if (i && p.trickleMs) await delay(p.trickleMs);
        c.enqueue(enc.encode(ch));
      }
      c.close();
    },
  });
  return new Response(body, {
    headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
  });
}

const json = (v: unknown, status = 200) =>
  new Response(JSON.stringify(v), { status, headers: { "content-type": "application/json" } });

/**
 * The working directory an agent says it runs in (Claude's system prompt; Codex's environment_context;
 * OpenCode's `<env>`; pi's; Qwen's).
 */
export function cwdOf(text: string): string | undefined {
  const m = /Primary working directory: ([^\\\n"]+)/.exec(text) ?? /<cwd>([^<]+)<\/cwd>/.exec(text) ??
    /<env>\\n\s*Working directory: ([^\\\n"]+)/.exec(text) ??
    // pi's system prompt
    /Current working directory: ([^\\\n"]+)/.exec(text) ??
    // Qwen Code (and the Gemini CLI it forks): its first user message
    /I'm currently working in the directory: ([^\\\n"]+)/.exec(text);
  return m?.[1];
}

// ---- Anthropic Messages --------------------------------------------------------------------------

type Block =
  | { type: "text"; text: string }
  | { type: "tool_use"; id: string; name: string; input: Record<string, unknown> };

/**
 * Whose tools an Anthropic request offers: pi's (`write` {path, content}, `bash` {command}), OpenCode's
 * (`write` with a `filePath`, `bash`), else Claude Code's.
 */
function toolsOf(body: Record<string, unknown> | undefined): "pi" | "opencode" | undefined {
  const tools = Array.isArray(body?.tools) ? body.tools as { name?: unknown; input_schema?: unknown }[] : [];
  const write = tools.find((t) => t?.name === "write");
  if (!write) return undefined;
  const props = (write.input_schema as { properties?: Record<string, unknown> } | undefined)?.properties ??
    {};
  if ("filePath" in props) return "opencode";
  return tools.some((t) => t?.name === "bash") ? "pi" : "opencode";
}

function claudeBlocks(turn: Turn, cwd: string, n: number, flavor?: "pi" | "opencode"): Block[] {
  const pi = flavor === "pi", opencode = flavor === "opencode";
  return turn.map((a, i): Block => {
    const id = `toolu_standin_${n}_${i}`;
    if ("write" in a) {
      const path = a.write.path.startsWith("/") ? a.write.path : `${cwd}/${a.write.path}`;
      if (pi) return { type: "tool_use", id, name: "write", input: { path, content: a.write.content } };
      return opencode
        ? { type: "tool_use", id, name: "write", input: { filePath: path, content: a.write.content } }
        : { type: "tool_use", id, name: "Write", input: { file_path: path, content: a.write.content } };
    }
    if ("shell" in a && pi) return { type: "tool_use", id, name: "bash", input: { command: a.shell } };
    if ("shell" in a) {
      return {
        type: "tool_use",
        id,
        name: opencode ? "bash" : "Bash",
        input: { command: a.shell, description: "Run a command" },
      };
    }
    return { type: "text", text: a.text };
  });
}

function anthropicUsage(inputChars: number, out: number) {
  return {
    input_tokens: Math.max(1, Math.round(inputChars / 400)),
    output_tokens: out,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
  };
}

function anthropicAnswer(body: Record<string, unknown>, blocks: Block[], inputChars: number, n: number) {
  const stop = blocks.some((b) => b.type === "tool_use") ? "tool_use" : "end_turn";
  const model = String(body.model ?? "claude-standin");
  const id = `msg_standin_${n}`;
  const usage = anthropicUsage(inputChars, outputTokens ?? 7 * blocks.length + 3);
  if (!body.stream) {
    return json({
      id,
      type: "message",
      role: "assistant",
      model,
      content: blocks,
      stop_reason: stop,
      stop_sequence: null,
      usage,
    });
  }
  const ev: { event: string; data: unknown }[] = [{
    event: "message_start",
    data: {
      type: "message_start",
      message: {
        id,
        type: "message",
        role: "assistant",
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { ...usage, output_tokens: 1 },
      },
    },
  }];
  blocks.forEach((b, index) => {
    if (b.type === "text") {
      ev.push({
        event: "content_block_start",
        data: { type: "content_block_start", index, content_block: { type: "text", text: "" } },
      });
      ev.push({
        event: "content_block_delta",
        data: { type: "content_block_delta", index, delta: { type: "text_delta", text: b.text } },
      });
    } else {
      ev.push({
        event: "content_block_start",
        data: {
          type: "content_block_start",
          index,
          content_block: { type: "tool_use", id: b.id, name: b.name, input: {} },
        },
      });
      const js = JSON.stringify(b.input);
      const cut = Math.floor(js.length / 2); // two deltas, as the API splits partial JSON
      for (const part of [js.slice(0, cut), js.slice(cut)]) {
        ev.push({
          event: "content_block_delta",
          data: {
            type: "content_block_delta",
            index,
            delta: { type: "input_json_delta", partial_json: part },
          },
        });
      }
    }
    ev.push({ event: "content_block_stop", data: { type: "content_block_stop", index } });
  });
  ev.push({
    event: "message_delta",
    data: {
      type: "message_delta",
      delta: { stop_reason: stop, stop_sequence: null },
      usage: { output_tokens: usage.output_tokens },
    },
  });
  ev.push({ event: "message_stop", data: { type: "message_stop" } });
  return sse(ev);
}

// ---- OpenAI Responses (Codex) ----------------------------------------------------------------------

/** Codex 0.169's tools are nested in its `exec` (JavaScript "code mode") tool: one exec call per act. */
function codexItems(turn: Turn, n: number, codeMode: boolean): Record<string, unknown>[] {
  return turn.map((a, i) => {
    const id = `item_standin_${n}_${i}`;
    const call_id = `call_standin_${n}_${i}`;
    if ("text" in a) {
      return {
        type: "message",
        id,
        role: "assistant",
        status: "completed",
        content: [{ type: "output_text", text: a.text, annotations: [] }],
      };
    }
    const patch = "write" in a
      ? `*** Begin Patch\n*** Add File: ${a.write.path}\n${
        a.write.content.replace(/\n$/, "").split("\n").map((l) => "+" + l).join("\n")
      }\n*** End Patch\n`
      : "";
    if (codeMode) {
      const js = "write" in a
        ? `const r = await tools.apply_patch(${JSON.stringify(patch)});\ntext(r);`
        : `const r = await tools.exec_command({ cmd: ${
          JSON.stringify(a.shell)
        }, tty: false });\ntext(r.output); text("exit " + r.exit_code);`;
      return { type: "custom_tool_call", id, call_id, name: "exec", input: js, status: "completed" };
    }
    if ("write" in a) {
      return {
        type: "custom_tool_call",
        id,
        call_id,
        name: "apply_patch",
        input: patch,
        status: "completed",
      };
    }
    return {
      type: "function_call",
      id,
      call_id,
      name: "exec_command",
      arguments: JSON.stringify({ cmd: a.shell }),
      status: "completed",
    };
  });
}

function openaiAnswer(items: Record<string, unknown>[], inputChars: number, n: number) {
  const id = `resp_standin_${n}`;
  const ev: { event: string; data: unknown }[] = [
    {
      event: "response.created",
      data: { type: "response.created", response: { id, status: "in_progress" } },
    },
  ];
  items.forEach((item, output_index) => {
    const empty = item.type === "message"
      ? { ...item, content: [], status: "in_progress" }
      : item.type === "custom_tool_call"
      ? { ...item, input: "", status: "in_progress" }
      : { ...item, arguments: "", status: "in_progress" };
    ev.push({
      event: "response.output_item.added",
      data: { type: "response.output_item.added", output_index, item: empty },
    });
    if (item.type === "message") {
      const text = (item.content as { text: string }[])[0].text;
      ev.push({
        event: "response.output_text.delta",
        data: {
          type: "response.output_text.delta",
          item_id: item.id,
          output_index,
          content_index: 0,
          delta: text,
        },
      });
    }
    ev.push({
      event: "response.output_item.done",
      data: { type: "response.output_item.done", output_index, item },
    });
  });
  const input_tokens = Math.max(1, Math.round(inputChars / 400));
  const output_tokens = outputTokens ?? 9 * items.length + 3;
  ev.push({
    event: "response.completed",
    data: {
      type: "response.completed",
      response: {
        id,
        status: "completed",
        usage: {
          input_tokens,
          input_tokens_details: { cached_tokens: 0 },
          output_tokens,
          output_tokens_details: { reasoning_tokens: 0 },
          total_tokens: input_tokens + output_tokens,
        },
      },
    },
  });
  return sse(ev);
}

/** Whether a Responses request offers Codex's code-mode `exec` tool (else plain function tools). */
function offersCodeMode(text: string): boolean {
  return text.includes('"name":"exec"') || text.includes('"name": "exec"');
}

// ---- OpenAI Chat Completions --------------------------------------------------------------------

/** The function tools a Chat Completions request offers, by name. */
function chatTools(body: Record<string, unknown>): string[] {
  const tools = Array.isArray(body.tools) ? body.tools as { function?: { name?: unknown } }[] : [];
  return tools.flatMap((t) => typeof t?.function?.name === "string" ? [t.function.name] : []);
}

/**
 * A turn's acts as Chat Completions tool calls: Qwen Code's own tools when the request offers them
 * (write_file {file_path, content}, run_shell_command {command}), else a plain `exec_command {cmd}`.
 */
function chatCalls(body: Record<string, unknown>, turn: Turn, n: number, cwd?: string) {
  const qwen = chatTools(body).includes("run_shell_command");
  const call = (i: number, name: string, args: Record<string, unknown>) => ({
    index: i,
    id: `call_standin_${n}_${i}`,
    type: "function",
    function: { name, arguments: JSON.stringify(args) },
  });
  return turn.flatMap((a, i) => {
    if ("shell" in a) {
      return [
        qwen
          ? call(i, "run_shell_command", {
            command: a.shell,
            description: "Run a command",
            is_background: false,
          })
          : call(i, "exec_command", { cmd: a.shell }),
      ];
    }
    if ("write" in a && qwen) {
      // its write_file takes an absolute path only
      const path = a.write.path.startsWith("/") ? a.write.path : `${cwd ?? ""}/${a.write.path}`;
      return [call(i, "write_file", { file_path: path, content: a.write.content })];
    }
    return [];
  }).map((c, i) => ({ ...c, index: i }));
}

/** A Chat Completions answer: the turn's text (its acts as tool calls), usage as OpenAI gives it. */
function chatAnswer(body: Record<string, unknown>, turn: Turn, input: string, n: number) {
  const inputChars = input.length;
  const model = String(body.model ?? "gpt-standin");
  const id = `chatcmpl-standin-${n}`;
  const text = turn.flatMap((a) => "text" in a ? [a.text] : []).join("\n");
  const calls = chatCalls(body, turn, n, cwdOf(input));
  const prompt_tokens = Math.max(1, Math.round(inputChars / 400));
  const completion_tokens = outputTokens ?? 9 * turn.length + 3;
  const usage = { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens };
  if (!body.stream) {
    return json({
      id,
      object: "chat.completion",
      model,
      choices: [{
        index: 0,
        message: { role: "assistant", content: text, ...(calls.length ? { tool_calls: calls } : {}) },
        finish_reason: calls.length ? "tool_calls" : "stop",
      }],
      usage,
    });
  }
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => ({
    id,
    object: "chat.completion.chunk",
    model,
    choices,
    ...extra,
  });
  const chunks: unknown[] = [chunk([{ index: 0, delta: { role: "assistant", content: "" } }])];
  // the text in pieces of 16 characters, as a model streams it
  for (let i = 0; i < text.length; i += 16) {
    chunks.push(chunk([{ index: 0, delta: { content: text.slice(i, i + 16) } }]));
  }
  if (calls.length) chunks.push(chunk([{ index: 0, delta: { tool_calls: calls } }]));
  chunks.push(chunk([{ index: 0, delta: {}, finish_reason: calls.length ? "tool_calls" : "stop" }]));
  const so = body.stream_options as { include_usage?: boolean } | undefined;
  if (so?.include_usage === true) chunks.push(chunk([], { usage }));
  const lines = [...chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`), "data: [DONE]\n\n"];
  const p = pace;
  const stream = new ReadableStream<Uint8Array>({
    async start(c) {
      // fixed: the stand-in's latency, set by the test (a slow API is what is tested), not a wait
      if (p.firstByteMs) await delay(p.firstByteMs);
      for (const [i, l] of lines.entries()) {
        if (i && p.trickleMs) await delay(p.trickleMs);
        c.enqueue(enc.encode(l));
      }
      c.close();
    },
  });
  return new Response(stream, { headers: { "content-type": "text/event-stream" } });
}

// ---- Gemini API (the Gemini CLI) ---------------------------------------------------------------

type GeminiPart = { text: string } | { functionCall: { name: string; args: Record<string, unknown> } };

function geminiParts(turn: Turn): GeminiPart[] {
  return turn.map((a): GeminiPart => {
    if ("write" in a) {
      return {
        functionCall: { name: "write_file", args: { file_path: a.write.path, content: a.write.content } },
      };
    }
    if ("shell" in a) {
      return {
        functionCall: { name: "run_shell_command", args: { command: a.shell, description: "Run a command" } },
      };
    }
    return { text: a.text };
  });
}

function geminiChunk(parts: GeminiPart[], inputChars: number, model: string, n: number) {
  const prompt = Math.max(1, Math.round(inputChars / 400));
  const out = 8 * parts.length + 3;
  return {
    candidates: [{ content: { role: "model", parts }, finishReason: "STOP", index: 0 }],
    usageMetadata: { promptTokenCount: prompt, candidatesTokenCount: out, totalTokenCount: prompt + out },
    modelVersion: model,
    responseId: `standin_${n}`,
  };
}

/**
 * An answer to a side call that asks for JSON (the CLI's model router: a complexity score; its
 * next-speaker check): each required property with a plain value of its type (an enum's first value).
 */
export function jsonFor(schema: unknown): unknown {
  const s = (schema ?? {}) as Record<string, unknown>;
  if (Array.isArray(s.enum) && s.enum.length) return s.enum[0];
  switch (String(s.type ?? "").toLowerCase()) {
    case "object": {
      const props = (s.properties ?? {}) as Record<string, unknown>;
      return Object.fromEntries(Object.entries(props).map(([k, v]) => [k, jsonFor(v)]));
    }
    case "array":
      return [];
    case "integer":
    case "number":
      return 10;
    case "boolean":
      return false;
    default:
      return "ok";
  }
}

/** `/v1beta/models/gemini-2.5-pro:streamGenerateContent` → [model, method] */
function geminiRoute(path: string): [string, string] | undefined {
  const m = /^\/v1(?:beta|alpha)?\/models\/([^/:]+):(\w+)$/.exec(path);
  return m ? [m[1], m[2]] : undefined;
}

// ---- failures, in each API's own format ----------------------------------------------------------------

type Api = "anthropic" | "openai" | "gemini";

const ANTHROPIC_ERROR: Record<number, [string, string]> = {
  529: ["overloaded_error", "Overloaded"],
  503: ["api_error", "Service Unavailable"],
  500: ["api_error", "Internal server error"],
  429: [
    "rate_limit_error",
    "This request would exceed the rate limit for your organization of 5 requests per minute.",
  ],
  401: ["authentication_error", "invalid x-api-key"],
  404: ["not_found_error", "model: MODEL"],
};

const OPENAI_ERROR: Record<number, [string, string | null, string]> = {
  529: ["server_error", null, "The server is overloaded. Please try again later."],
  503: ["server_error", null, "The server is overloaded. Please try again later."],
  500: ["server_error", null, "The server had an error while processing your request."],
  429: [
    "requests",
    "rate_limit_exceeded",
    "Rate limit reached for MODEL on requests per min (RPM): Limit 5, Used 5, Requested 1. Please try again in WAITs.",
  ],
  401: [
    "invalid_request_error",
    "invalid_api_key",
    "Incorrect API key provided: sk-stand***. You can find your API key at https://platform.openai.com/account/api-keys.",
  ],
  404: [
    "invalid_request_error",
    "model_not_found",
    "The model `MODEL` does not exist or you do not have access to it.",
  ],
};

const GEMINI_STATUS: Record<number, string> = {
  529: "UNAVAILABLE",
  503: "UNAVAILABLE",
  500: "INTERNAL",
  429: "RESOURCE_EXHAUSTED",
  401: "UNAUTHENTICATED",
  404: "NOT_FOUND",
};

/** The HTTP answer of a failure, with the headers the real API sends. */
export function failure(api: Api, status: number, model: string, retryAfterMs?: number): Response {
  const wait = retryAfterMs ?? (status === 429 || status === 529 ? 1000 : undefined);
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (wait !== undefined) {
    headers["retry-after"] = String(Math.max(0, Math.ceil(wait / 1000)));
    headers["retry-after-ms"] = String(wait);
  }
  const reset = new Date(Date.now() + (wait ?? 0)).toISOString();
  if (api === "anthropic") {
    headers["request-id"] = `req_standin_${crypto.randomUUID().slice(0, 8)}`;
    if (status === 429) {
      Object.assign(headers, {
        "anthropic-ratelimit-requests-limit": "5",
        "anthropic-ratelimit-requests-remaining": "0",
        "anthropic-ratelimit-requests-reset": reset,
      });
    }
    const [type, message] = ANTHROPIC_ERROR[status] ?? ["api_error", "error"];
    return new Response(
      JSON.stringify({
        type: "error",
        error: { type, message: message.replace("MODEL", model) },
        request_id: headers["request-id"],
      }),
      { status, headers },
    );
  }
  if (api === "openai") {
    if (status === 429) {
      Object.assign(headers, {
        "x-ratelimit-limit-requests": "5",
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": `${Math.ceil((wait ?? 0) / 1000)}s`,
      });
    }
    const [type, code, message] = OPENAI_ERROR[status] ?? ["server_error", null, "error"];
    const text = message.replace("MODEL", model).replace("WAIT", String(Math.ceil((wait ?? 0) / 1000)));
    return new Response(JSON.stringify({ error: { message: text, type, param: null, code } }), {
      status,
      headers,
    });
  }
  const st = GEMINI_STATUS[status] ?? "INTERNAL";
  const message = status === 429
    ? "Resource has been exhausted (e.g. check quota)."
    : status === 404
    ? `models/${model} is not found for API version v1beta`
    : status === 401
    ? "API key not valid. Please pass a valid API key."
    : "The model is overloaded. Please try again later.";
  return new Response(JSON.stringify({ error: { code: status, message, status: st } }), { status, headers });
}

/** Anthropic's stream that breaks after its start with an error event (`overloaded_error`). */
function anthropicMidStreamError(model: string, n: number): Response {
  return sse([
    {
      event: "message_start",
      data: {
        type: "message_start",
        message: {
          id: `msg_standin_${n}`,
          type: "message",
          role: "assistant",
          model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: anthropicUsage(400, 1),
        },
      },
    },
    { event: "error", data: { type: "error", error: { type: "overloaded_error", message: "Overloaded" } } },
  ]);
}

// ---- the server ------------------------------------------------------------------------------------

/** `startStandIn`'s gate (agent check, start's preflight): which keys and models it accepts, its headers. */
export interface Gate {
  /** the keys it accepts (x-api-key, Bearer, x-goog-api-key); others get 401 (Gemini: 400 API_KEY_INVALID) */
  keys?: string[];
  /** the models it knows; another gets 404 (Anthropic not_found_error, OpenAI model_not_found) */
  models?: string[];
  /** headers on every answer (the rate-limit headroom a real API states) */
  headers?: Record<string, string>;
}

/** The gate's answer to a request it refuses (undefined: let it through). */
function gateAnswer(req: Request, path: string, body: Record<string, unknown> | undefined, g: Gate) {
  const h = req.headers;
  const key = h.get("x-api-key") ?? h.get("x-goog-api-key") ??
    h.get("authorization")?.replace(/^Bearer /, "");
  const gemini = geminiRoute(path);
  const model = gemini ? gemini[0] : String(body?.model ?? "");
  const err = (status: number, type: string, message: string) =>
    new Response(JSON.stringify({ type: "error", error: { type, code: type, message } }), {
      status,
      headers: { "content-type": "application/json", ...g.headers },
    });
  if (g.keys && !g.keys.includes(key ?? "")) {
    return gemini
      ? err(400, "API_KEY_INVALID", "API key not valid. Please pass a valid API key.")
      : err(401, "authentication_error", "invalid x-api-key");
  }
  if (g.models && model && !g.models.includes(model)) {
    return err(404, path === "/v1/responses" ? "model_not_found" : "not_found_error", `model: ${model}`);
  }
  return undefined;
}

export function startStandIn(turns: Turn[] = [], o: StandInOptions = {}): Promise<StandIn> {
  const queue = [...turns];
  const requests: Recorded[] = [];
  let taken = 0;
  const ac = new AbortController();
  let current: { text: string; body: Record<string, unknown> } = { text: "", body: {} };
  const takeTurn = (): Turn =>
    o.turnFor ? o.turnFor(current.text, current.body) : queue.shift() ?? [{ text: "done." }];
  const faults: Fault[] = (o.faults ?? []).map((f) => ({ ...f }));
  const windows = new Map<string, number[]>();
  /** The sliding window this request counts in: everyone's, or its key's. */
  const windowOf = (rec: Recorded): number[] => {
    const h = rec.headers ?? {};
    const id = o.rateLimit?.perKey ? h["x-api-key"] ?? h["authorization"] ?? h["x-goog-api-key"] ?? "" : "";
    if (!windows.has(id)) windows.set(id, []);
    return windows.get(id)!;
  };
  const waiters: { pred: () => boolean; resolve: () => void }[] = [];
  let gate: Promise<void> | undefined;
  let waiting = 0;
  const settle = () => {
    for (const w of [...waiters]) {
      if (w.pred()) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  /** A failure for this main request, if one is due: a scripted fault, else the rate limit. */
  const failureFor = (api: Api, model: string, rec: Recorded): Response | undefined => {
    const i = faults.findIndex((f) =>
      (f.times === undefined || f.times > 0) && (!f.model || f.model === model)
    );
    const now = Date.now();
    const window = windowOf(rec);
    if (o.rateLimit) {
      while (window.length && window[0] <= now - o.rateLimit.windowMs) window.shift();
    }
    if (i >= 0) {
      const f = faults[i];
      if (f.times !== undefined) f.times--;
      rec.status = f.midStream ? 200 : f.status;
      if (f.midStream && api === "anthropic") return anthropicMidStreamError(model, ++taken);
      return failure(api, f.status, model, f.retryAfterMs);
    }
    if (o.rateLimit && window.length >= o.rateLimit.requests) {
      rec.status = 429;
      return failure(api, 429, model, window[0] + o.rateLimit.windowMs - now);
    }
    if (o.rateLimit) window.push(now);
    return undefined;
  };
  const answered = (r: Response, rec: Recorded) => {
    rec.status ??= r.status;
    queueMicrotask(settle);
    return r;
  };
  return new Promise((resolve) => {
    const server = Deno.serve({
      hostname: "127.0.0.1",
      port: o.port ?? 0,
      signal: ac.signal,
      onListen: ({ port }) => {
        resolve({
          url: `http://127.0.0.1:${port}`,
          requests,
          push: (...t) => queue.push(...t),
          fault: (f) => faults.push({ ...f }),
          answered: (status) => requests.filter((r) => r.status === status).length,
          waitFor: (pred, ms = 120_000) =>
            new Promise((resolve, reject) => {
              if (pred()) return resolve();
              const t = setTimeout(() => reject(new Error(`stand-in: not seen within ${ms} ms`)), ms);
              waiters.push({ pred, resolve: () => (clearTimeout(t), resolve()) });
            }),
          mainRequests: () => requests.filter((r) => r.turn !== undefined),
          hold: () => {
            let release = () => {};
            gate = new Promise<void>((r) => release = r);
            const g = gate;
            return () => {
              if (gate === g) gate = undefined;
              release();
            };
          },
          held: () => waiting,
          close: async () => {
            ac.abort();
            await server.finished;
          },
        });
      },
      onError: (e) => json({ error: String(e) }, 500),
    }, async (req) => {
      const res = await answer(req);
      for (const [k, v] of Object.entries(o.gate?.headers ?? {})) res.headers.set(k, v);
      return res;
    });
    const answer = async (req: Request): Promise<Response> => {
      const url = new URL(req.url);
      const text = await req.text();
      let body: Record<string, unknown> | undefined;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch { /* not JSON */ }
      const rec: Recorded = {
        method: req.method,
        path: url.pathname,
        body,
        text,
        headers: Object.fromEntries(req.headers),
      };
      current = { text, body: body ?? {} };
      requests.push(rec);
      if (o.gate && req.method === "POST") {
        const refused = gateAnswer(req, url.pathname, body, o.gate);
        if (refused) return refused;
      }
      pace = {};
      outputTokens = undefined;
      if (req.method === "POST" && url.pathname === "/v1/messages") {
        const main = Array.isArray(body?.tools) && (body.tools as unknown[]).length > 0;
        if (main && gate) {
          waiting++;
          queueMicrotask(settle);
          await gate;
          waiting--;
        }
        if (main) {
          const fail = failureFor("anthropic", String(body?.model ?? ""), rec);
          if (fail) return answered(fail, rec);
          pace = { firstByteMs: o.firstByteMs, trickleMs: o.trickleMs };
          outputTokens = o.outputTokens;
        }
        const n = main ? ++taken : 0;
        if (main) rec.turn = n;
        const blocks = main
          ? claudeBlocks(takeTurn(), cwdOf(text) ?? "/", n, toolsOf(body))
          : [{ type: "text" as const, text: "ok" }];
        rec.usage = {
          input: anthropicUsage(text.length, 0).input_tokens,
          output: outputTokens ?? 7 * blocks.length + 3,
        };
        return answered(anthropicAnswer(body ?? {}, blocks, text.length, n), rec);
      }
      if (req.method === "POST" && url.pathname === "/v1/messages/count_tokens") {
        return json({ input_tokens: Math.max(1, Math.round(text.length / 400)) });
      }
      const gemini = req.method === "POST" ? geminiRoute(url.pathname) : undefined;
      if (gemini) {
        const [model, method] = gemini;
        if (method === "countTokens") {
          return json({ totalTokens: Math.max(1, Math.round(text.length / 400)) });
        }
        // the CLI's side calls (its model router, the next-speaker check) offer no tools
        const main = Array.isArray(body?.tools) && (body.tools as unknown[]).length > 0;
        if (main) {
          const fail = failureFor("gemini", model, rec);
          if (fail) return answered(fail, rec);
        }
        const n = main ? ++taken : 0;
        if (main) rec.turn = n;
        const cfg = (body?.generationConfig ?? {}) as Record<string, unknown>;
        const schema = cfg.responseJsonSchema ?? cfg.responseSchema;
        const parts = main
          ? geminiParts(takeTurn())
          : [{ text: schema ? JSON.stringify(jsonFor(schema)) : "ok" }];
        const chunk = geminiChunk(parts, text.length, model, n);
        rec.usage = {
          input: chunk.usageMetadata.promptTokenCount,
          output: chunk.usageMetadata.candidatesTokenCount,
        };
        if (method === "streamGenerateContent") {
          return new Response(enc.encode(`data: ${JSON.stringify(chunk)}\r\n\r\n`), {
            headers: { "content-type": "text/event-stream" },
          });
        }
        return json(chunk);
      }
      if (req.method === "POST" && url.pathname === "/v1/responses") {
        if (gate) {
          waiting++;
          queueMicrotask(settle);
          await gate;
          waiting--;
        }
        const fail = failureFor("openai", String(body?.model ?? ""), rec);
        if (fail) return answered(fail, rec);
        pace = { firstByteMs: o.firstByteMs, trickleMs: o.trickleMs };
        outputTokens = o.outputTokens;
        const n = ++taken;
        rec.turn = n;
        const items = codexItems(takeTurn(), n, offersCodeMode(text));
        rec.usage = {
          input: Math.max(1, Math.round(text.length / 400)),
          output: outputTokens ?? 9 * items.length + 3,
        };
        return answered(openaiAnswer(items, text.length, n), rec);
      }
      if (req.method === "POST" && url.pathname === "/v1/chat/completions") {
        if (gate) {
          waiting++;
          queueMicrotask(settle);
          await gate;
          waiting--;
        }
        const fail = failureFor("openai", String(body?.model ?? ""), rec);
        if (fail) return answered(fail, rec);
        pace = { firstByteMs: o.firstByteMs, trickleMs: o.trickleMs };
        outputTokens = o.outputTokens;
        const n = ++taken;
        rec.turn = n;
        const turn = takeTurn();
        rec.usage = {
          input: Math.max(1, Math.round(text.length / 400)),
          output: outputTokens ?? 9 * turn.length + 3,
        };
        return answered(chatAnswer(body ?? {}, turn, text, n), rec);
      }
      return json({
        type: "error",
        error: { type: "not_found_error", message: `stand-in: no ${url.pathname}` },
      }, 404);
    };
  });
}

/** The usual three-turn task: write a file, commit it, say so. */
export function commitScript(
  file = "hello.txt",
  content = "hello from the agent\n",
  message = "agent: add hello",
): Turn[] {
  return [
    [{ text: `I'll write ${file}.` }, { write: { path: file, content } }],
    // the identity given here: a test image may have none configured
    [{
      shell: `git add -A && git -c user.name=Agent -c user.email=agent@example.com commit -q -m '${message}'`,
    }],
    [{ text: `Wrote ${file} and committed it.` }],
  ];
}

if (import.meta.main) {
  const [file, port] = Deno.args;
  const turns: Turn[] = file ? JSON.parse(await Deno.readTextFile(file)) : commitScript();
  const s = await startStandIn(turns, { port: port ? Number(port) : undefined });
  console.log(s.url);
  const log = Deno.env.get("STANDIN_LOG");
  if (log) {
    setInterval(
      () => Deno.writeTextFileSync(log, JSON.stringify(s.requests.map((r) => ({ ...r, text: undefined })))),
      500,
    );
  }
}
