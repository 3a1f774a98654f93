/**
 * A run's log as AgentEvents (./events.ts): each line goes to the parser of the agent that wrote it, its
 * adapter's (src/agent/adapters/NAME/stream.ts: Claude Code's `--output-format stream-json`, Codex's `exec
 * --json`, the Gemini CLI's `--output-format stream-json`, OpenCode's `run --format json`, pi's `--mode json`,
 * Qwen Code's Claude-like stream-json), the agent told by pod/outcome.js's one rule (`agentOfLine`). Pure: a
 * line in, events out. Lines that are not JSON (the agent's stderr shares the run's log) are kept as `text`
 * events, and a few of them carry facts (an adapter's `stderr`: Codex reports a rejected patch only there).
 *
 * Formats checked against the real CLIs (Claude Code 2.1.332, Codex 0.169.0, Gemini CLI 0.61.0, OpenCode
 * 1.18.33, pi 0.73.1, Qwen Code 0.24.4; fixtures in tests/fixtures/agents/).
 */
import type { PresetName } from "../../config/agentnames.ts";
import { agentOfLine } from "../pod/outcome.js";
import { ADAPTERS } from "../adapters/index.ts";
import { type AgentEvent, type AgentKind, type J, num, obj, str } from "./events.ts";

export type { AgentEvent, AgentKind } from "./events.ts";
export { toolDetail } from "./events.ts";
export { unwrapShell } from "../adapters/codex/stream.ts";

/** Every adapter's stderr rule, tried on a line that is not JSON. */
const STDERR = Object.values(ADAPTERS).flatMap((a) => a.stream.stderr ? [a.stream.stderr] : []);

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

/** A parser keeps what spans lines (each agent's parser its own state: which Codex items started). */
export function createParser(): (line: string) => AgentEvent[] {
  const parsers = new Map<PresetName, (j: J) => AgentEvent[]>();
  const parserOf = (k: PresetName) => {
    let p = parsers.get(k);
    if (!p) parsers.set(k, p = ADAPTERS[k].stream.parser());
    return p;
  };
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
        // before any line names its agent: an `error` is Codex's (its first line may be one), else Claude's
        return parserOf(kind ?? (j.type === "error" ? "codex" : "claude"))(j);
      }
    }
    for (const rule of STDERR) {
      const e = rule(t);
      if (e) return [e];
    }
    return [{ kind: "text", line: line.replace(/\r$/, "") }];
  };
}

/** Every event of a whole log. */
export function parseStream(text: string): AgentEvent[] {
  const p = createParser();
  return text.split("\n").flatMap(p);
}
