/**
 * The agents' structured output, one model: Claude Code's `--output-format stream-json`, Codex's
 * `exec --json`, the Gemini CLI's `--output-format stream-json`, OpenCode's `run --format json`, pi's `--mode
 * json` and Qwen Code's (Claude Code's format, its init naming `qwen_code_version`; one JSON object per line)
 * become
 * AgentEvents. Pure: a line in, events out. Lines that
 * are not JSON (the agent's stderr shares the run's log) are kept as `text` events, and a few of them
 * carry facts (Codex reports a rejected patch only on stderr).
 *
 * Formats checked against the real CLIs (Claude Code 2.1.332, Codex 0.169.0, Gemini CLI 0.61.0, OpenCode
 * 1.18.33, pi 0.73.1, Qwen Code 0.24.4; fixtures in tests/fixtures/agents/).
 */
import type { PresetName } from "../../config/agentnames.ts";
import { agentOfLine } from "../pod/outcome.js";

/** The agents whose output this reads: the presets (a custom command's is read as the one it prints). */
export type AgentKind = PresetName;

export type AgentEvent =
  | { kind: "init"; agent: AgentKind; model?: string; session?: string; version?: string }
  /** the model's text to the user */
  | { kind: "message"; text: string; turn?: string }
  /** a tool call: `name` (Write, Bash, shell, patch…) and one line of what it does */
  | { kind: "tool"; id?: string; name: string; detail: string; turn?: string }
  /** a tool call's end */
  | { kind: "tool-result"; id?: string; ok: boolean; text?: string }
  /** a tool use the agent's permissions refused */
  | { kind: "denied"; id?: string; name?: string; message: string }
  /** the agent retries the model API (it may be unreachable) */
  | { kind: "retry"; message: string }
  /** kodama's runner waits before continuing the run (pod/runner.js) */
  | { kind: "wait"; reason: string; via?: string; until?: string; ms?: number; attempt?: number; of?: number }
  /** kodama's runner continued the run's conversation after a transient end */
  | { kind: "continue"; reason: string; attempt?: number; of?: number }
  /** another model answers from here on (Claude's model_fallback; kodama's switch after an overload) */
  | { kind: "fallback"; model: string; reason?: string }
  /** kodama ended the run: a budget was spent */
  | { kind: "budget"; message: string }
  /** the run's end as the agent reports it */
  | {
    kind: "result";
    ok: boolean;
    text?: string;
    turns?: number;
    inputTokens?: number;
    outputTokens?: number;
    costUsd?: number;
    denied?: number;
    error?: string;
  }
  /** one model turn's token usage (Codex: per `turn.completed`) */
  | { kind: "usage"; inputTokens: number; outputTokens: number }
  /** an error the agent reported */
  | { kind: "error"; message: string }
  /** a line that is not the agent's JSON (its stderr, kodama's notes) */
  | { kind: "text"; line: string };

type J = Record<string, unknown>;

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
const obj = (
  v: unknown,
): J | undefined => (v && typeof v === "object" && !Array.isArray(v) ? v as J : undefined);

/** One line of what a tool call does: the command, the file, else its input in brief. */
export function toolDetail(name: string, input: unknown): string {
  const i = obj(input) ?? {};
  const first = str(i.command) ?? str(i.cmd) ?? str(i.file_path) ?? str(i.filePath) ?? str(i.path) ??
    str(i.pattern) ??
    str(i.url) ??
    str(i.description);
  if (first !== undefined) return first;
  const s = typeof input === "string" ? input : JSON.stringify(input ?? {});
  return name && s === "{}" ? "" : s;
}

/** Qwen Code's words for a model API error, as the model's text: `[API Error: 401 Incorrect API key …]`. */
const QWEN_API_ERROR = /^\[API Error: /;

/** Claude Code's events; Qwen Code's (`qwen`) are the same, its API errors said as the model's text. */
function claudeEvents(j: J, qwen = false): AgentEvent[] {
  const type = str(j.type);
  if (type === "system") {
    const sub = str(j.subtype);
    if (sub === "init") {
      return [{
        kind: "init",
        agent: qwen ? "qwen" : "claude",
        model: str(j.model),
        session: str(j.session_id),
        version: str(qwen ? j.qwen_code_version : j.claude_code_version),
      }];
    }
    if (sub === "permission_denied") {
      return [{
        kind: "denied",
        id: str(j.tool_use_id),
        name: str(j.tool_name),
        message: str(j.message) ?? "permission denied",
      }];
    }
    if (sub === "api_retry") {
      const a = num(j.attempt), m = num(j.max_retries);
      const st = num(j.error_status), d = num(j.retry_delay_ms);
      return [{
        kind: "retry",
        message: `model API retry ${a ?? "?"}/${m ?? "?"}${st ? ` (HTTP ${st})` : ""}${
          str(j.error) && j.error !== "unknown" ? `: ${j.error}` : ""
        }${d !== undefined && d >= 1000 ? `, in ${Math.round(d / 1000)}s` : ""}`,
      }];
    }
    if (sub === "model_fallback" && str(j.fallback_model)) {
      return [{ kind: "fallback", model: str(j.fallback_model)!, reason: str(j.trigger) }];
    }
    return [];
  }
  if (type === "assistant") {
    const m = obj(j.message) ?? {};
    const turn = str(m.id);
    const out: AgentEvent[] = [];
    for (const b of Array.isArray(m.content) ? m.content : []) {
      const block = obj(b) ?? {};
      if (block.type === "text" && str(block.text)?.trim()) {
        out.push(
          j.is_api_error_message || j.error || (qwen && QWEN_API_ERROR.test(str(block.text)!))
            ? { kind: "error", message: str(block.text)! }
            : { kind: "message", text: str(block.text)!, turn },
        );
      } else if (block.type === "tool_use") {
        const name = str(block.name) ?? "tool";
        out.push({ kind: "tool", id: str(block.id), name, detail: toolDetail(name, block.input), turn });
      }
    }
    return out;
  }
  if (type === "user") {
    const m = obj(j.message) ?? {};
    const out: AgentEvent[] = [];
    for (const b of Array.isArray(m.content) ? m.content : []) {
      const block = obj(b) ?? {};
      if (block.type !== "tool_result") continue;
      const c = block.content;
      const text = typeof c === "string"
        ? c
        : Array.isArray(c)
        ? c.map((x) => str(obj(x)?.text) ?? "").join("")
        : undefined;
      out.push({ kind: "tool-result", id: str(block.tool_use_id), ok: block.is_error !== true, text });
    }
    return out;
  }
  if (type === "result") {
    const u = obj(j.usage) ?? {};
    const input = (num(u.input_tokens) ?? 0) + (num(u.cache_read_input_tokens) ?? 0) +
      (num(u.cache_creation_input_tokens) ?? 0);
    const isError = j.is_error === true || (str(j.subtype) !== undefined && str(j.subtype) !== "success");
    const text = str(j.result);
    return [{
      kind: "result",
      ok: !isError,
      text,
      turns: num(j.num_turns),
      inputTokens: input,
      outputTokens: num(u.output_tokens),
      costUsd: num(j.total_cost_usd),
      denied: Array.isArray(j.permission_denials) ? j.permission_denials.length : undefined,
      // an interrupt (agent interrupt: the control request) aborts the turn's stream
      ...(isError
        ? {
          error: str(j.terminal_reason) === "aborted_streaming"
            ? "interrupted: the turn was aborted"
            : text ?? str(obj(j.error)?.message) ?? str(j.terminal_reason) ?? str(j.subtype) ?? "error",
        }
        : {}),
    }];
  }
  return [];
}

function codexItem(item: J, done: boolean): AgentEvent[] {
  const type = str(item.type);
  const id = str(item.id);
  if (type === "agent_message" && done) return [{ kind: "message", text: str(item.text) ?? "" }];
  if (type === "command_execution") {
    if (!done) return [{ kind: "tool", id, name: "shell", detail: unwrapShell(str(item.command) ?? "") }];
    const code = num(item.exit_code);
    return [{
      kind: "tool-result",
      id,
      ok: item.status !== "failed" && (code ?? 0) === 0,
      text: str(item.aggregated_output),
    }];
  }
  if (type === "file_change") {
    const changes = Array.isArray(item.changes) ? item.changes.map((c) => obj(c) ?? {}) : [];
    const detail = changes.map((c) => `${str(c.kind) ?? "edit"} ${str(c.path) ?? "?"}`).join(", ");
    if (!done) return [{ kind: "tool", id, name: "patch", detail }];
    return [{ kind: "tool-result", id, ok: item.status !== "failed" }];
  }
  if (type === "mcp_tool_call" || type === "web_search") {
    const name = type === "web_search"
      ? "web_search"
      : `${str(item.server) ?? "mcp"}.${str(item.tool) ?? "tool"}`;
    if (!done) {
      return [{ kind: "tool", id, name, detail: str(item.query) ?? toolDetail(name, item.arguments) }];
    }
    return [{ kind: "tool-result", id, ok: item.status !== "failed" }];
  }
  if (type === "error" && done) return [{ kind: "error", message: str(item.message) ?? "error" }];
  return [];
}

/** `/bin/bash -lc "git commit …"` → `git commit …` (Codex wraps every command in a login shell). */
export function unwrapShell(cmd: string): string {
  const m = /^\S*\b(?:ba|z)?sh -l?c (["'])([\s\S]*)\1$/.exec(cmd);
  return m ? m[2].replaceAll('\\"', '"') : cmd;
}

function codexEvents(j: J, seen: Set<string>): AgentEvent[] {
  const type = str(j.type);
  if (type === "thread.started") return [{ kind: "init", agent: "codex", session: str(j.thread_id) }];
  if (type === "item.started" || type === "item.completed") {
    const item = obj(j.item) ?? {};
    const id = str(item.id);
    const out: AgentEvent[] = [];
    // an item that completes without having started (Codex reports quick ones once) still was a call
    if (type === "item.completed" && id && !seen.has(id)) {
      const start = codexItem(item, false).filter((e) => e.kind === "tool");
      out.push(...start);
    }
    if (type === "item.started" && id) seen.add(id);
    out.push(...codexItem(item, type === "item.completed"));
    return out;
  }
  if (type === "turn.completed") {
    const u = obj(j.usage) ?? {};
    return [{
      kind: "usage",
      inputTokens: num(u.input_tokens) ?? 0,
      outputTokens: num(u.output_tokens) ?? 0,
    }];
  }
  if (type === "turn.failed") {
    return [{ kind: "result", ok: false, error: str(obj(j.error)?.message) ?? "the turn failed" }];
  }
  if (type === "error") {
    const m = str(j.message) ?? "error";
    return [/^Reconnecting\b/.test(m) ? { kind: "retry", message: m } : { kind: "error", message: m }];
  }
  return [];
}

/**
 * The Gemini CLI's events: `init`, `message` (the user's prompt; the model's text in `delta` pieces),
 * `tool_use`, `tool_result`, `error` (severity warning|error) and `result` (status, stats). It reports no
 * turns: a model turn is what comes between the prompt or tool results and the next tool results. The
 * model's text is kept until something else comes, so one message is one event.
 */
function geminiParser() {
  let text = "", textTurn: string | undefined;
  let turn = 0, inTurn = false;
  const names = new Map<string, string>();
  const turnId = () => {
    if (!inTurn) {
      turn++;
      inTurn = true;
    }
    return `g${turn}`;
  };
  const flush = (): AgentEvent[] => {
    const t = text;
    text = "";
    return t.trim() ? [{ kind: "message", text: t, turn: textTurn }] : [];
  };
  return (j: J): AgentEvent[] => {
    const type = str(j.type);
    if (type === "message" && j.role === "assistant") {
      textTurn = turnId();
      text += str(j.content) ?? "";
      return j.delta === true ? [] : flush();
    }
    const out = flush();
    if (type === "init") {
      out.push({ kind: "init", agent: "gemini", model: str(j.model), session: str(j.session_id) });
    } else if (type === "message") {
      inTurn = false; // the user's prompt: the next text is a new turn
    } else if (type === "tool_use") {
      const name = str(j.tool_name) ?? "tool";
      if (str(j.tool_id)) names.set(str(j.tool_id)!, name);
      out.push({
        kind: "tool",
        id: str(j.tool_id),
        name,
        detail: toolDetail(name, j.parameters),
        turn: turnId(),
      });
    } else if (type === "tool_result") {
      inTurn = false;
      const ok = j.status === "success";
      const err = obj(j.error);
      const id = str(j.tool_id);
      if (!ok && GEMINI_DENIED.includes(str(err?.type) ?? "")) {
        out.push({ kind: "denied", id, name: names.get(id ?? ""), message: str(err?.message) ?? "denied" });
      } else out.push({ kind: "tool-result", id, ok, text: ok ? str(j.output) : str(err?.message) });
    } else if (type === "error") {
      const m = str(j.message) ?? "error";
      out.push(
        j.severity === "warning" ? { kind: "text", line: `warning: ${m}` } : { kind: "error", message: m },
      );
    } else if (type === "result") {
      const st = obj(j.stats) ?? {};
      const ok = j.status === "success";
      const err = obj(j.error);
      out.push({
        kind: "result",
        ok,
        inputTokens: num(st.input_tokens),
        outputTokens: num(st.output_tokens),
        ...(ok ? {} : { error: str(err?.message) ?? str(err?.type) ?? "error" }),
      });
    }
    return out;
  };
}

/**
 * pi's `--mode json` events (0.73.1): `session` (its id, cwd), `agent_start`/`agent_end` (one prompt's
 * processing; again after each of its own retries), `turn_*`, `message_start|update|end` (the assistant's
 * message at its end: text, toolCall items, usage with cost, stopReason `error` with errorMessage),
 * `tool_execution_*`, `auto_retry_start|end`. pi exits 0 when the API refused it: the end is agent_end's.
 */
function piParser() {
  let input = 0, output = 0, cost = 0, last: J | undefined;
  return (j: J): AgentEvent[] => {
    const type = str(j.type);
    if (type === "session") return [{ kind: "init", agent: "pi", session: str(j.id) }];
    if (type === "auto_retry_start") {
      return [{
        kind: "retry",
        message: `retry ${num(j.attempt)}/${num(j.maxAttempts)}: ${str(j.errorMessage)}`,
      }];
    }
    if (type === "tool_execution_end") {
      const r = obj(j.result);
      const c = Array.isArray(r?.content)
        ? r.content.map((x) => str(obj(x)?.text) ?? "").join("\n")
        : undefined;
      return [{ kind: "tool-result", id: str(j.toolCallId), ok: j.isError !== true, text: c }];
    }
    const m = obj(j.message);
    if (type === "message_end" && m?.role === "assistant") {
      last = m;
      const u = obj(m.usage) ?? {};
      input += (num(u.input) ?? 0) + (num(u.cacheRead) ?? 0) + (num(u.cacheWrite) ?? 0);
      output += num(u.output) ?? 0;
      cost += num(obj(u.cost)?.total) ?? 0;
      const turn = str(m.responseId);
      const out: AgentEvent[] = [];
      for (const c of Array.isArray(m.content) ? m.content.map(obj) : []) {
        if (c?.type === "text" && str(c.text)?.trim()) {
          out.push({ kind: "message", text: str(c.text)!, turn });
        }
        if (c?.type === "toolCall") {
          const name = str(c.name) ?? "tool";
          out.push({ kind: "tool", id: str(c.id), name, detail: toolDetail(name, c.arguments), turn });
        }
      }
      if (m.stopReason === "error") out.push({ kind: "error", message: str(m.errorMessage) ?? "error" });
      return out;
    }
    if (type === "agent_end") {
      const ok = last !== undefined && last.stopReason !== "error" && last.stopReason !== "aborted";
      return [{
        kind: "result",
        ok,
        inputTokens: input,
        outputTokens: output,
        ...(cost > 0 ? { costUsd: cost } : {}),
        ...(ok ? {} : { error: str(last?.errorMessage) ?? str(last?.stopReason) ?? "no answer" }),
      }];
    }
    return [];
  };
}

/**
 * OpenCode's events (`run --format json`): every line has its `sessionID` and a `part` — `step_start`, `text`
 * (a whole text part), `tool_use` (a call with its state: completed or error, input and output),
 * `step_finish` (one model turn: `reason` tool-calls or stop, its tokens and cost) — or an `error` (`name`,
 * `data.message`, `data.statusCode`). Its run ends with a step_finish whose reason is not tool-calls: the
 * result, with the run's tokens and cost summed.
 */
function opencodeParser() {
  let started = false, steps = 0, inTok = 0, outTok = 0, cost = 0;
  return (j: J): AgentEvent[] => {
    const type = str(j.type);
    const part = obj(j.part) ?? {};
    const out: AgentEvent[] = [];
    if (!started) {
      started = true;
      out.push({ kind: "init", agent: "opencode", session: str(j.sessionID) });
    }
    if (type === "text" && str(part.text)?.trim()) {
      out.push({ kind: "message", text: str(part.text)!, turn: str(part.messageID) });
    } else if (type === "tool_use") {
      const st = obj(part.state) ?? {};
      const name = str(part.tool) ?? "tool";
      const id = str(part.callID);
      out.push({ kind: "tool", id, name, detail: toolDetail(name, st.input), turn: str(part.messageID) });
      if (st.status === "completed" || st.status === "error") {
        const ok = st.status === "completed";
        out.push({ kind: "tool-result", id, ok, text: ok ? str(st.output) : str(st.error) });
      }
    } else if (type === "step_finish") {
      const t = obj(part.tokens) ?? {};
      steps++;
      inTok += (num(t.input) ?? 0) + (num(obj(t.cache)?.read) ?? 0);
      outTok += (num(t.output) ?? 0) + (num(t.reasoning) ?? 0);
      cost += num(part.cost) ?? 0;
      if (part.reason !== "tool-calls") {
        out.push({
          kind: "result",
          ok: true,
          turns: steps,
          inputTokens: inTok,
          outputTokens: outTok,
          costUsd: cost,
        });
      }
    } else if (type === "error") {
      const e = obj(j.error) ?? {};
      const d = obj(e.data) ?? {};
      const status = num(d.statusCode);
      const m = str(d.message) ?? str(e.name) ?? "error";
      out.push({ kind: "result", ok: false, error: status ? `${m} (HTTP ${status})` : m });
    }
    return out;
  };
}

/**
 * Tool results that are a refusal: its policy's, or a tool its approval mode took away (headless without
 * --yolo it offers no write_file, no run_shell_command, and answers a call with tool_not_registered).
 */
const GEMINI_DENIED = ["policy_violation", "permission_denied", "tool_not_registered"];

/** The Gemini CLI's model API retries, on stderr. */
const GEMINI_RETRY = /^Attempt \d+ failed\. Retrying with backoff/;

/** What Codex says only on stderr: a patch its sandbox or approval policy rejected. */
const CODEX_REJECTED = /patch rejected: (.*)$/;

/** kodama's own lines in the log (pod/runner.js): its waits, continuations, model switches, budgets. */
function kodamaEvents(j: J): AgentEvent[] {
  const reason = str(j.reason) ?? "";
  if (j.event === "wait") {
    return [{
      kind: "wait",
      reason,
      ...(str(j.via) ? { via: str(j.via) } : {}),
      until: str(j.until),
      ms: num(j.ms),
      attempt: num(j.attempt),
      of: num(j.of),
    }];
  }
  if (j.event === "continue") return [{ kind: "continue", reason, attempt: num(j.attempt), of: num(j.of) }];
  if (j.event === "model" && str(j.model)) return [{ kind: "fallback", model: str(j.model)!, reason }];
  if (j.event === "budget") return [{ kind: "budget", message: str(j.message) ?? "budget" }];
  // agent say / agent interrupt (say.ts): the message itself is not logged, only how it was delivered
  if (j.event === "say") {
    return [{
      kind: "text",
      line: `<< a message (agent say, ${num(j.bytes) ?? 0} bytes): ${str(j.how) ?? "sent"}`,
    }];
  }
  if (j.event === "interrupt") return [{ kind: "text", line: "<< interrupted (agent interrupt)" }];
  if (j.event === "turn") return [{ kind: "text", line: "<< a new turn with the messages said (agent say)" }];
  return [];
}

/** A parser keeps what spans lines (which Codex items started). */
export function createParser(): (line: string) => AgentEvent[] {
  const seen = new Set<string>();
  const gemini = geminiParser();
  const pi = piParser();
  const opencode = opencodeParser();
  let kind: AgentKind | undefined;
  return (line) => {
    const t = line.trim();
    if (!t) return [];
    if (t.startsWith("{")) {
      let j: J | undefined;
      try {
        j = obj(JSON.parse(t));
      } catch { /* not JSON after all */ }
      if (j && j.type === "kodama") return kodamaEvents(j);
      if (j && typeof j.type === "string") {
        kind ??= agentOfLine(j) as AgentKind | undefined;
        if (kind === "gemini") return gemini(j);
        if (kind === "pi") return pi(j);
        if (kind === "opencode") return opencode(j);
        return kind === "codex" || (kind === undefined && j.type === "error")
          ? codexEvents(j, seen)
          : claudeEvents(j, kind === "qwen");
      }
    }
    if (GEMINI_RETRY.test(t)) return [{ kind: "retry", message: t }];
    const rej = CODEX_REJECTED.exec(t);
    if (rej) return [{ kind: "denied", name: "patch", message: `patch rejected: ${rej[1]}` }];
    return [{ kind: "text", line: line.replace(/\r$/, "") }];
  };
}

/** Every event of a whole log. */
export function parseStream(text: string): AgentEvent[] {
  const p = createParser();
  return text.split("\n").flatMap(p);
}
