/**
 * Public API of the config feature for other features:
 *
 * ```ts
 * import { loadConfig } from "./mod.ts";
 * const cfg = await loadConfig({ flags: { "defaults.namespace": opts.namespace, "defaults.resources.cpu": opts.cpu } });
 * cfg.values.defaults.resources.cpu;      // "2" (typed, defaults applied)
 * cfg.sources["defaults.resources.cpu"];  // "flag" | "repo" | "global" | "default"
 * ```
 */
export {
  type ConfigSource,
  deepMerge,
  loadConfig,
  type LoadConfigOptions,
  type ResolvedConfig,
} from "./load.ts";
export { type Config, type ConfigInput, configJsonSchema, configSchema } from "./schema.ts";
export { displayPath, findRepo, globalConfigPath, kodamaHome, REPO_CONFIG_FILE } from "./paths.ts";
export { acquireLock, atomicWrite } from "./atomic.ts";
