/**
 * Claude Code's structured output (`--output-format stream-json`, one JSON object per line) as AgentEvents
 * (src/agent/outcome/events.ts). Pure. Checked against the real CLI (fixtures in tests/fixtures/agents/).
 */
import { type AgentEvent, type J, num, obj, str, toolDetail } from "../../outcome/events.ts";

/** Who writes Claude Code's stream-json: the agent's name, its version's field, and the model text that is
 * an API error (Qwen Code says its API errors as the model's text). */
export interface ClaudeDialect {
  agent: "claude" | "qwen";
  versionField: string;
  apiErrorText?: RegExp;
}

const CLAUDE: ClaudeDialect = { agent: "claude", versionField: "claude_code_version" };

/** Claude Code's events (`--output-format stream-json`), or a CLI's that writes the same (`d`). */
export function claudeEvents(j: J, d: ClaudeDialect = CLAUDE): AgentEvent[] {
  const type = str(j.type);
  if (type === "system") {
    const sub = str(j.subtype);
    if (sub === "init") {
      return [{
        kind: "init",
        agent: d.agent,
        model: str(j.model),
        session: str(j.session_id),
        version: str(j[d.versionField]),
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
          j.is_api_error_message || j.error || d.apiErrorText?.test(str(block.text)!)
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

/** Claude Code's parser (stateless). */
export const claudeStream = () => (j: J): AgentEvent[] => claudeEvents(j);
