/**
 * The agent CLIs kodama runs, one adapter each (./NAME/adapter.ts, with the programs it runs in the pod in
 * ./NAME/pod/): a Record over the preset names, so a preset named in src/config/agentnames.ts without its
 * adapter fails to compile. Adding a preset: its name there, its folder here, its line below.
 */
import type { PresetName } from "../../config/agentnames.ts";
import type { Adapter } from "./types.ts";
import { claude } from "./claude/adapter.ts";
import { codex } from "./codex/adapter.ts";
import { gemini } from "./gemini/adapter.ts";
import { opencode } from "./opencode/adapter.ts";
import { pi } from "./pi/adapter.ts";
import { qwen } from "./qwen/adapter.ts";

export const ADAPTERS: { [P in PresetName]: Adapter<P> } = { claude, codex, gemini, opencode, pi, qwen };

/**
 * What of the namespace's gateway serves `preset` (`held`: the providers whose keys it holds, and `chatgpt`
 * for a ChatGPT login): its provider's key, or the login for a CLI that runs on one; undefined: nothing,
 * the session needs a key of its own.
 */
export function gatewayServes(preset: PresetName, held: string[]): string | undefined {
  const a = ADAPTERS[preset];
  if (held.includes(a.provider)) return `${a.provider} key`;
  if (a.chatgptLogin && held.includes("chatgpt")) return "ChatGPT login";
  return undefined;
}

/** One field of every adapter, as a table over the presets. */
export function byPreset<T>(pick: <P extends PresetName>(a: Adapter<P>) => T): Record<PresetName, T> {
  return Object.fromEntries(
    (Object.keys(ADAPTERS) as PresetName[]).map((n) => [n, pick(ADAPTERS[n])]),
  ) as Record<PresetName, T>;
}
