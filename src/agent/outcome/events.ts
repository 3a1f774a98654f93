/**
 * The agents' structured output, one model: the events every adapter's parser (src/agent/adapters/NAME/
 * stream.ts) turns its CLI's lines into, and the small readers they share. Pure.
 */
import type { PresetName } from "../../config/agentnames.ts";

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

export type J = Record<string, unknown>;

export const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
export const num = (
  v: unknown,
): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
export const obj = (
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
