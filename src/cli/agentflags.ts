/**
 * The agent-settings flags `start` and `agent run` share (src/agent/presets/settings.ts reads them): models,
 * retry and budgets. One table, so both commands spell and describe them the same way.
 */
import { collect } from "./optspec.ts";
import { type Options, opts } from "./opttypes.ts";
import type { SettingsFlags } from "../agent/presets/settings.ts";

export const SETTINGS_OPTIONS = opts([
  {
    flags: "--model <model>",
    description:
      "the agent's model (Claude Code --model, codex/gemini -m; default: agent.models' first, else the CLI's own)",
  },
  {
    flags: "--fallback-model <model>",
    description:
      "a model to fall back to when the primary is overloaded (repeatable or a comma list; Claude Code's --fallback-model, the others by kodama's continuation)",
    parse: collect,
    default: [],
  },
  {
    flags: "--retry <n>",
    description:
      "continue a run that ended overloaded, rate-limited or unreachable up to N times, in the pod (default: agent.retry.attempts, else 6)",
  },
  { flags: "--no-retry", description: "never continue a run on transient API trouble (--retry 0)" },
  { flags: "--max-turns <n>", description: "end the run after N agent turns (Claude Code's --max-turns)" },
  {
    flags: "--max-cost <usd>",
    description: "end the run once it has cost this many US dollars (Claude Code's --max-budget-usd)",
  },
  { flags: "--max-time <duration>", description: "end the run after this long (e.g. 45m)" },
]);

/** The parsed options as settings flags (commander's `--no-retry` is `retry: false`). */
export function settingsFlagsOf(o: Partial<Options<typeof SETTINGS_OPTIONS>>): SettingsFlags {
  const s = (v: unknown) => (typeof v === "string" ? v : undefined);
  const fb = o.fallbackModel;
  return {
    ...(s(o.model) !== undefined ? { model: s(o.model) } : {}),
    ...(fb?.length ? { fallbackModel: fb } : {}),
    ...(s(o.retry) !== undefined ? { retry: s(o.retry) } : {}),
    ...(o.retry === false ? { noRetry: true } : {}),
    ...(s(o.maxTurns) !== undefined ? { maxTurns: s(o.maxTurns) } : {}),
    ...(s(o.maxCost) !== undefined ? { maxCost: s(o.maxCost) } : {}),
    ...(s(o.maxTime) !== undefined ? { maxTime: s(o.maxTime) } : {}),
  };
}
