/**
 * Resolve the effective configuration: flags > repo (.kodama.yaml) > global (~/.kodama/config.yaml)
 * > built-in defaults, remembering where each value came from.
 */
import { ExitCode, KodamaError, usageError } from "../errors.ts";
import { allKeys, hasIn, lookupKey, setIn, validateValue } from "./keys.ts";
import { displayPath, findRepo, globalConfigPath } from "./paths.ts";
import { type Config, configSchema } from "./schema.ts";

export type ConfigSource = "flag" | "repo" | "global" | "default";

export interface ResolvedConfig {
  /** every setting with defaults applied (keys without a default and not configured are undefined) */
  values: Config;
  /** leaf key path ("defaults.resources.cpu") -> where its value came from; unset keys are absent */
  sources: Record<string, ConfigSource>;
  files: { global: string; repo?: string; gitRoot?: string };
  /** unknown keys found in the files, one line each; callers may print them to stderr */
  warnings: string[];
}

export interface LoadConfigOptions {
  /** directory to search for `.kodama.yaml` from (default: Deno.cwd()) */
  cwd?: string;
  /**
   * Values given on the command line, by key path, e.g. `{ "defaults.namespace": opts.namespace }`.
   * `undefined` entries are ignored, so option values can be passed straight through.
   */
  flags?: Record<string, unknown>;
  /** kodama's home directory (default: $KODAMA_HOME, else ~/.kodama) */
  home?: string;
}

/** Load and merge global and repo config plus flags. Reads at most two small files. */
export async function loadConfig(opts: LoadConfigOptions = {}): Promise<ResolvedConfig> {
  const globalPath = globalConfigPath(opts.home);
  const [global, repoLoc] = await Promise.all([readLight(globalPath), findRepo(opts.cwd)]);
  const repo = repoLoc.configFile ? await readLight(repoLoc.configFile) : undefined;

  const flags: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(opts.flags ?? {})) {
    if (value === undefined) continue;
    const found = lookupKey(key);
    if (found.type !== "leaf") throw usageError(`cannot set config section ${key} from a flag`);
    validateValue(found.info, value, typeof value === "string" ? value : undefined);
    setIn(flags, found.info.path, value);
  }

  const merged = deepMerge(deepMerge(global.data, repo?.data ?? {}), flags);
  const values = configSchema.parse(merged);

  const sources: Record<string, ConfigSource> = {};
  for (const k of allKeys()) {
    if (hasIn(flags, k.path)) sources[k.key] = "flag";
    else if (repo && hasIn(repo.data, k.path)) sources[k.key] = "repo";
    else if (hasIn(global.data, k.path)) sources[k.key] = "global";
    else if (k.default !== undefined) sources[k.key] = "default";
  }
  return {
    values,
    sources,
    files: { global: globalPath, repo: repoLoc.configFile, gitRoot: repoLoc.gitRoot },
    warnings: [...global.warnings, ...(repo?.warnings ?? [])],
  };
}

interface Loaded {
  data: Record<string, unknown>;
  warnings: string[];
}

/** Read one file; the YAML parser (the costly import) is loaded only when the file has content. */
async function readLight(path: string): Promise<Loaded> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { data: {}, warnings: [] };
    if (e instanceof Deno.errors.PermissionDenied) {
      throw new KodamaError(`cannot read ${displayPath(path)}: permission denied`, ExitCode.FAILED);
    }
    throw e;
  }
  if (!text.trim()) return { data: {}, warnings: [] };
  const { parseConfigText } = await import("./file.ts");
  return parseConfigText(path, text);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Merge `over` onto `base`: nested mappings merge, everything else (scalars, lists) is replaced. */
export function deepMerge(
  base: Record<string, unknown>,
  over: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = isPlainObject(v) && isPlainObject(out[k]) ? deepMerge(out[k] as Record<string, unknown>, v) : v;
  }
  return out;
}
