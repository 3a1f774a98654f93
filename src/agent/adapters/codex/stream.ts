/**
 * Codex's structured output (`exec --json`) as AgentEvents (src/agent/outcome/events.ts), and what it says
 * only on stderr (a rejected patch). Pure.
 */
import { type AgentEvent, type J, num, obj, str, toolDetail } from "../../outcome/events.ts";

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

/** What Codex says only on stderr: a patch its sandbox or approval policy rejected. */
const CODEX_REJECTED = /patch rejected: (.*)$/;

/** Codex's parser: it keeps which items started (a quick one is reported once, completed). */
export function codexStream(): (j: J) => AgentEvent[] {
  const seen = new Set<string>();
  return (j) => codexEvents(j, seen);
}

/** A stderr line of Codex's that is a fact. */
export function codexStderr(t: string): AgentEvent | undefined {
  const rej = CODEX_REJECTED.exec(t);
  return rej ? { kind: "denied", name: "patch", message: `patch rejected: ${rej[1]}` } : undefined;
}
