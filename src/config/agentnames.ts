/**
 * The agent presets kodama knows, by name: the one list every enum of them derives from (the config's
 * agent.preset, a template's, the MCP door's `agent`, the stream parser's agent kinds, a run's recorded
 * agent). What each preset runs is src/agent/presets/presets.ts's table, typed by this list: a name added here and
 * not there fails to compile. Here, on the config floor, because the config schema names them too.
 */
export const PRESET_NAMES = ["claude", "codex", "gemini", "opencode", "pi", "qwen"] as const;
export type PresetName = typeof PRESET_NAMES[number];

/** What may choose a session's agent: a preset, or `custom` (agent.command). */
export const AGENT_CHOICES = [...PRESET_NAMES, "custom"] as const;
export type AgentKindName = typeof AGENT_CHOICES[number];

/** Is `s` a preset's name? */
export function isPresetName(s: unknown): s is PresetName {
  return typeof s === "string" && (PRESET_NAMES as readonly string[]).includes(s);
}
