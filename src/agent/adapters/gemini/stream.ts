/**
 * The Gemini CLI's structured output (`--output-format stream-json`) as AgentEvents
 * (src/agent/outcome/events.ts), and its retries, said only on stderr. Pure.
 */
import { type AgentEvent, type J, num, obj, str, toolDetail } from "../../outcome/events.ts";

/**
 * Tool results that are a refusal: its policy's, or a tool its approval mode took away (headless without
 * --yolo it offers no write_file, no run_shell_command, and answers a call with tool_not_registered).
 */
const GEMINI_DENIED = ["policy_violation", "permission_denied", "tool_not_registered"];

/** The Gemini CLI's model API retries, on stderr. */
const GEMINI_RETRY = /^Attempt \d+ failed\. Retrying with backoff/;

/**
 * The Gemini CLI's events: `init`, `message` (the user's prompt; the model's text in `delta` pieces),
 * `tool_use`, `tool_result`, `error` (severity warning|error) and `result` (status, stats). It reports no
 * turns: a model turn is what comes between the prompt or tool results and the next tool results. The
 * model's text is kept until something else comes, so one message is one event.
 */
export function geminiStream(): (j: J) => AgentEvent[] {
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

/** A stderr line of the Gemini CLI's that is a fact: a model API retry. */
export function geminiStderr(t: string): AgentEvent | undefined {
  return GEMINI_RETRY.test(t) ? { kind: "retry", message: t } : undefined;
}
