/**
 * A session's agent settings: its models (primary first, then fallbacks), the pod-side runner's retry
 * budget and the run's budgets (turns, cost, time). Chosen by flags (`start`, `agent run`), a template's
 * `agent:` and the config's `agent.models` / `agent.retry`, recorded with the session
 * (`SessionAgent.settings`), and handed to a run two ways:
 *
 * - the runner's contract: plain variables in the run's `env K=V …` prefix (KODAMA_MODELS,
 *   KODAMA_MODEL_FLAG, KODAMA_RETRY_ATTEMPTS, KODAMA_RETRY_MAX_WAIT, KODAMA_MAX_TURNS,
 *   KODAMA_MAX_COST_USD, KODAMA_MAX_SECONDS), each only when it is set;
 * - the CLI's own flags where it has them (Claude Code `--model`, `--fallback-model`, `--max-turns`,
 *   `--max-budget-usd`; codex and gemini `-m`).
 *
 * Pure.
 */
import { usageError } from "../../base/errors.ts";
import { quote } from "../../base/text/escape.ts";
import { durationValueMs } from "../../base/duration.ts";
import type { AgentSettings } from "../../session/spec/spec.ts";
import { MODEL_RE } from "../../config/modelname.ts";
import { isPresetName, type PresetName } from "../../config/agentnames.ts";
import { byPreset } from "../adapters/index.ts";
import type { Adapter } from "../adapters/types.ts";

export type { AgentSettings };

/** One layer's choice (a flag's, a template's, the config's); highest layer first in `mergeSettings`. */
export interface SettingsLayer {
  model?: string;
  fallbacks?: string[];
  retry?: { attempts?: number; maxWaitSeconds?: number };
  maxTurns?: number;
  maxCostUsd?: number;
  maxSeconds?: number;
}

/** The flags as the CLI reads them (strings; undefined = not given). */
export interface SettingsFlags {
  model?: string;
  /** `--fallback-model` (repeatable, or a comma list) */
  fallbackModel?: string[];
  maxTurns?: string;
  maxCost?: string;
  maxTime?: string;
  retry?: string;
  /** `--no-retry`: attempts 0 */
  noRetry?: boolean;
}

export function checkModel(m: string, what: string): string {
  const v = m.trim();
  if (!MODEL_RE.test(v)) {
    throw usageError(
      `invalid ${what} ${quote(m)}`,
      "a model name is letters, digits and . _ : / @ + - (e.g. claude-sonnet-4-5, gpt-5-codex, gemini-2.5-pro)",
    );
  }
  return v;
}

/** A comma list or repeated flag, each name checked. */
export function modelList(values: string[], what: string): string[] {
  return values.flatMap((v) => v.split(",")).map((v) => v.trim()).filter((v) => v).map((v) =>
    checkModel(v, what)
  );
}

function wholeNumber(v: string, what: string, min: number): number {
  if (!/^\d+$/.test(v.trim()) || Number(v) < min || Number(v) > 1_000_000) {
    throw usageError(`invalid ${what} ${quote(v)}`, `give a whole number of at least ${min}`);
  }
  return Number(v);
}

/** `--max-cost USD`: a positive amount of dollars (`2`, `0.50`, `$3`). */
export function parseUsd(v: string, what = "--max-cost"): number {
  const s = v.trim().replace(/^\$/, "");
  if (!/^\d+(\.\d+)?$/.test(s) || Number(s) <= 0 || Number(s) > 1_000_000) {
    throw usageError(`invalid ${what} ${quote(v)}`, "give a positive amount of US dollars, e.g. 5 or 0.50");
  }
  return Number(s);
}

function seconds(v: string | number, what: string, min = 1): number {
  const s = Math.round(durationValueMs(v, what) / 1000);
  if (s < min) throw usageError(`invalid ${what} ${quote(String(v))}`, `give at least ${min}s`);
  return s;
}

/** The flags as a layer; exit 2 on a bad value, before any request. */
export function flagLayer(f: SettingsFlags): SettingsLayer {
  if (f.noRetry && f.retry !== undefined) throw usageError("give either --retry N or --no-retry, not both");
  const fallbacks = f.fallbackModel?.length ? modelList(f.fallbackModel, "--fallback-model") : undefined;
  return {
    ...(f.model !== undefined ? { model: checkModel(f.model, "--model") } : {}),
    ...(fallbacks ? { fallbacks } : {}),
    ...(f.noRetry ? { retry: { attempts: 0 } } : {}),
    ...(f.retry !== undefined ? { retry: { attempts: wholeNumber(f.retry, "--retry", 0) } } : {}),
    ...(f.maxTurns !== undefined ? { maxTurns: wholeNumber(f.maxTurns, "--max-turns", 1) } : {}),
    ...(f.maxCost !== undefined ? { maxCostUsd: parseUsd(f.maxCost) } : {}),
    ...(f.maxTime !== undefined ? { maxSeconds: seconds(f.maxTime, "--max-time") } : {}),
  };
}

/** `agent.models` / `agent.retry` of the config or a template as a layer. */
export function modelsLayer(
  a: { models?: string[]; retry?: { attempts?: number; maxWait?: string | number } } | undefined,
  what: string,
): SettingsLayer | undefined {
  if (!a) return undefined;
  const models = a.models?.length ? modelList(a.models, `${what}.models`) : undefined;
  const r = a.retry;
  return {
    ...(models ? { model: models[0], fallbacks: models.slice(1) } : {}),
    ...(r && (r.attempts !== undefined || r.maxWait !== undefined)
      ? {
        retry: {
          ...(r.attempts !== undefined ? { attempts: r.attempts } : {}),
          ...(r.maxWait !== undefined
            ? { maxWaitSeconds: seconds(r.maxWait, `${what}.retry.maxWait`, 0) }
            : {}),
        },
      }
      : {}),
  };
}

/** The layers, highest first, as one settings value: each field from the highest layer that sets it. */
export function mergeSettings(...layers: (SettingsLayer | undefined)[]): AgentSettings {
  const ls = layers.filter((l): l is SettingsLayer => l !== undefined);
  const first = <K extends keyof SettingsLayer>(k: K) => ls.find((l) => l[k] !== undefined)?.[k];
  const model = first("model") as string | undefined;
  const fallbacks = (first("fallbacks") as string[] | undefined) ?? [];
  const attempts = ls.find((l) => l.retry?.attempts !== undefined)?.retry?.attempts;
  const maxWait = ls.find((l) => l.retry?.maxWaitSeconds !== undefined)?.retry?.maxWaitSeconds;
  const models = [...(model ? [model] : []), ...fallbacks.filter((f) => f !== model)];
  const maxTurns = first("maxTurns") as number | undefined;
  const maxCostUsd = first("maxCostUsd") as number | undefined;
  const maxSeconds = first("maxSeconds") as number | undefined;
  return {
    ...(models.length ? { models } : {}),
    ...(attempts !== undefined || maxWait !== undefined
      ? {
        retry: {
          ...(attempts !== undefined ? { attempts } : {}),
          ...(maxWait !== undefined ? { maxWaitSeconds: maxWait } : {}),
        },
      }
      : {}),
    ...(maxTurns !== undefined ? { maxTurns } : {}),
    ...(maxCostUsd !== undefined ? { maxCostUsd } : {}),
    ...(maxSeconds !== undefined ? { maxSeconds } : {}),
  };
}

/** Settings as a layer again (a run's flags over the session's recorded settings). */
export function asLayer(s: AgentSettings | undefined): SettingsLayer | undefined {
  if (!s) return undefined;
  const { models, ...rest } = s;
  return { ...rest, ...(models?.length ? { model: models[0], fallbacks: models.slice(1) } : {}) };
}

/** How each CLI takes the model: its adapter's flag, other spelling and naming (src/agent/adapters/). */
const MODEL_FLAGS: Record<PresetName, Adapter["model"]> = byPreset((a) => a.model);

const modelFlags = (preset: string) => isPresetName(preset) ? MODEL_FLAGS[preset] : undefined;

/** The runner's variables: only those that are set. */
export function settingsEnv(preset: string, s: AgentSettings | undefined): Record<string, string> {
  if (!s) return {};
  const env: Record<string, string> = {};
  const f = modelFlags(preset);
  if (s.models?.length) {
    // the runner's switch after an overload passes them to the CLI's model flag as they are
    env.KODAMA_MODELS = s.models.map(f?.name ?? ((m) => m)).join(",");
    if (f) env.KODAMA_MODEL_FLAG = f.flag;
  }
  if (s.retry?.attempts !== undefined) env.KODAMA_RETRY_ATTEMPTS = String(s.retry.attempts);
  if (s.retry?.maxWaitSeconds !== undefined) env.KODAMA_RETRY_MAX_WAIT = String(s.retry.maxWaitSeconds);
  if (s.maxTurns !== undefined) env.KODAMA_MAX_TURNS = String(s.maxTurns);
  if (s.maxCostUsd !== undefined) env.KODAMA_MAX_COST_USD = formatUsd(s.maxCostUsd);
  if (s.maxSeconds !== undefined) env.KODAMA_MAX_SECONDS = String(s.maxSeconds);
  return env;
}

/** Dollars as the CLIs read them: up to 4 decimals, no trailing zeros (`1.25`, `0.3333`). */
export function formatUsd(v: number): string {
  return String(Math.round(v * 10_000) / 10_000);
}

/**
 * The CLI's own flags for the settings, after its command. A flag the command already has (a preset's
 * extra arguments: `claude --fallback-model X`) is left to it.
 */
export function settingsArgs(preset: string, command: string[], s: AgentSettings | undefined): string[] {
  if (!s) return [];
  const has = (...flags: string[]) =>
    command.some((w) => flags.some((f) => w === f || w.startsWith(`${f}=`)));
  const out: string[] = [];
  const [model, ...fallbacks] = s.models ?? [];
  const f = modelFlags(preset);
  if (f && model && !has(f.flag, ...(f.also ? [f.also] : []))) {
    out.push(f.flag, f.name ? f.name(model) : model);
  }
  if (preset === "claude") {
    if (fallbacks.length && !has("--fallback-model")) out.push("--fallback-model", fallbacks.join(","));
    if (s.maxTurns !== undefined && !has("--max-turns")) out.push("--max-turns", String(s.maxTurns));
    if (s.maxCostUsd !== undefined && !has("--max-budget-usd")) {
      out.push("--max-budget-usd", formatUsd(s.maxCostUsd));
    }
  }
  return out;
}

/** A run's agent with this run's flags over the session's recorded settings (`agent run --model X`). */
export function withSettings<A extends { settings?: AgentSettings }>(
  a: A,
  run: SettingsLayer | undefined,
): A {
  if (!run || !Object.keys(run).length) return a;
  return { ...a, settings: mergeSettings(run, asLayer(a.settings)) };
}
