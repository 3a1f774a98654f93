/**
 * OpenCode's structured output (`run --format json`) as AgentEvents (src/agent/outcome/events.ts). Pure.
 */
import { type AgentEvent, type J, num, obj, str, toolDetail } from "../../outcome/events.ts";

/**
 * OpenCode's events (`run --format json`): every line has its `sessionID` and a `part` — `step_start`, `text`
 * (a whole text part), `tool_use` (a call with its state: completed or error, input and output),
 * `step_finish` (one model turn: `reason` tool-calls or stop, its tokens and cost) — or an `error` (`name`,
 * `data.message`, `data.statusCode`). Its run ends with a step_finish whose reason is not tool-calls: the
 * result, with the run's tokens and cost summed.
 */
export function opencodeStream(): (j: J) => AgentEvent[] {
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
