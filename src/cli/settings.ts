/**
 * The user's config files (`~/.kodama/config.yaml`, the repo's `.kodama.yaml`) as command defaults:
 * flags > repo > global > built-in defaults. Loaded once per process, and only when a config file
 * exists, so a machine without one never pays for the schema (zod) on the way to the cluster.
 */
import type { Config } from "../config/schema.ts";

function fileExists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

let cached: Promise<Config | undefined> | undefined;

export function userConfig(): Promise<Config | undefined> {
  cached ??= (async () => {
    const { findRepo, globalConfigPath } = await import("../config/paths.ts");
    const repo = await findRepo();
    if (!fileExists(globalConfigPath()) && !repo.configFile) return undefined;
    const { loadConfig } = await import("../config/load.ts");
    return (await loadConfig()).values;
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
