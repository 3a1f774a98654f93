/**
 * Where a Config came from: `originOf(cfg)` for the values loadConfig (or the cache of it, cache.ts)
 * returned: a repo-sourced value is marked as such, so a feature can show it and hold it to the repo's
 * rules. Values built otherwise (defaults only) have no origin. No zod, no yaml: `start` imports it.
 */
export type ConfigSource = "flag" | "repo" | "global" | "default";

export interface ConfigOrigin {
  /** leaf key path ("defaults.resources.cpu") -> where its value came from; unset keys are absent */
  sources: Record<string, ConfigSource>;
  files: { global: string; repo?: string; gitRoot?: string };
  /** unknown keys found in the files, one line each; callers may print them to stderr */
  warnings: string[];
  /** what the repo's .kodama.yaml set and kodama kept, by key (`start` shows these) */
  fromRepo: Record<string, unknown>;
  /** what it set and kodama ignored (schema.ts RepoRule), with the reason; also in `warnings` */
  refused: { key: string; value: unknown; why: string }[];
}

const origins = new WeakMap<object, ConfigOrigin>();

export function originOf(values: object): ConfigOrigin | undefined {
  return origins.get(values);
}

export function setOrigin(values: object, origin: ConfigOrigin): void {
  origins.set(values, origin);
}
