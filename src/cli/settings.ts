/**
 * The user's config files (`~/.kodama/config.yaml`, the repo's `.kodama.yaml`) as command defaults:
 * flags > repo > global > built-in defaults. Loaded once per process, and only when a config file
 * exists, so a machine without one never pays for the schema (zod) on the way to the cluster; and through
 * the cache of the resolved configuration (config/cache.ts), so the schema and the YAML parser load only
 * when a file changed. Unknown keys in those files are reported on stderr as warnings (with file:line:col
 * and a did-you-mean), each time.
 */
import type { Config } from "../config/schema.ts";
import { stderrSink } from "../base/sink.ts";

function fileExists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

let cached: Promise<Config | undefined> | undefined;
let quiet = false;

/** Keep the config files' warnings off stderr (shell completion must print nothing there). */
export function silenceConfigWarnings(): void {
  quiet = true;
}

export function userConfig(): Promise<Config | undefined> {
  cached ??= (async () => {
    const { findRepo, globalConfigPath } = await import("../config/paths.ts");
    const repo = await findRepo();
    if (!fileExists(globalConfigPath()) && !repo.configFile) return undefined;
    const { loadConfigCached } = await import("../config/cache.ts");
    const cfg = await loadConfigCached();
    // a misspelt key would otherwise be ignored without a word: say so, once, on stderr
    if (!quiet) { for (const w of cfg.warnings) stderrSink.write(`warning: ${w}\n`); }
    return cfg.values;
  })();
  return cached;
}

/** True when the user did not give this option (commander filled in its default, or nothing). */
export function notGiven(
  cmd: { getOptionValueSource(key: string): string | undefined },
  key: string,
): boolean {
  const src = cmd.getOptionValueSource(key);
  return src === undefined || src === "default";
}

/**
 * The effective settings, with every default applied, for commands that need them even without a config
 * file (sessions): the files when present (warnings printed once), else the schema's defaults.
 */
export async function effectiveConfig(): Promise<Config> {
  const cfg = await userConfig();
  if (cfg) return cfg;
  // the defaults alone, from the same cache (keyed by kodama's version and config code: no file to read)
  const { loadConfigCached } = await import("../config/cache.ts");
  return (await loadConfigCached()).values;
}
