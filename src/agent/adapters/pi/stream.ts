/**
 * pi's structured output (`--mode json`) as AgentEvents (src/agent/outcome/events.ts). Pure.
 */
import { type AgentEvent, type J, num, obj, str, toolDetail } from "../../outcome/events.ts";

/**
 * pi's `--mode json` events (0.73.1): `session` (its id, cwd), `agent_start`/`agent_end` (one prompt's
 * processing; again after each of its own retries), `turn_*`, `message_start|update|end` (the assistant's
 * message at its end: text, toolCall items, usage with cost, stopReason `error` with errorMessage),
 * `tool_execution_*`, `auto_retry_start|end`. pi exits 0 when the API refused it: the end is agent_end's.
 */
export function piStream(): (j: J) => AgentEvent[] {
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
