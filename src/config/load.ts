/**
 * Resolve the effective configuration: flags > repo (.kodama.yaml) > global (~/.kodama/config.yaml)
 * > built-in defaults, remembering where each value came from.
 */
import { ExitCode, KodamaError, usageError } from "../base/errors.ts";
import { readTextBounded } from "../base/fs/boundedread.ts";
import { allKeys, hasIn, type KeyInfo, lookupKey, setIn, validateValue } from "./keys.ts";
import { displayPath, findRepo, globalConfigPath } from "./paths.ts";
import { type Config, configSchema } from "./schema.ts";
import { dirname } from "../base/fs/fspath.ts";
import { type ConfigOrigin, type ConfigSource, setOrigin } from "./origin.ts";
export { type ConfigOrigin, type ConfigSource, originOf } from "./origin.ts";

export interface ResolvedConfig extends ConfigOrigin {
  /** every setting with defaults applied (keys without a default and not configured are undefined) */
  values: Config;
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
  const held = repo
    ? await holdRepo(
      repo.data,
      repoLoc.gitRoot ?? dirname(repoLoc.configFile!),
      displayPath(repoLoc.configFile!),
    )
    : { fromRepo: {}, refused: [], warnings: [] };

  const flags: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(opts.flags ?? {})) {
    if (value === undefined) continue;
    const found = lookupKey(key);
    if (found.type !== "leaf") throw usageError(`cannot set config section ${key} from a flag`);
    validateValue(found.info, value, typeof value === "string" ? value : undefined);
    setIn(flags, found.info.path, value);
  }

  const merged = deepMerge(deepMerge(global.data, repo?.data ?? {}), flags);
  // env.excludeVars (`defaults.env.excludeVars` in the contract's spelling) is a union: what the global
  // config keeps out stays out, whatever a repo's own list says
  const excl = (d: Record<string, unknown> | undefined) =>
    ((d?.env as Record<string, unknown> | undefined)?.excludeVars ?? []) as unknown[];
  const union = [...new Set([...excl(global.data), ...excl(repo?.data), ...excl(flags)])];
  if (union.length && Array.isArray(union) && union.every((v) => typeof v === "string")) {
    merged.env = { ...(merged.env as Record<string, unknown> ?? {}), excludeVars: union };
  }
  const values = configSchema.parse(merged);

  const sources: Record<string, ConfigSource> = {};
  for (const k of allKeys()) {
    if (hasIn(flags, k.path)) sources[k.key] = "flag";
    else if (repo && hasIn(repo.data, k.path)) sources[k.key] = "repo";
    else if (hasIn(global.data, k.path)) sources[k.key] = "global";
    else if (k.default !== undefined) sources[k.key] = "default";
  }
  const origin: ConfigOrigin = {
    sources,
    files: { global: globalPath, repo: repoLoc.configFile, gitRoot: repoLoc.gitRoot },
    warnings: [...global.warnings, ...(repo?.warnings ?? []), ...held.warnings],
    fromRepo: held.fromRepo,
    refused: held.refused,
  };
  setOrigin(values, origin);
  return { values, ...origin };
}

function getIn(obj: Record<string, unknown>, path: string[]): unknown {
  let cur: unknown = obj;
  for (const p of path) cur = (cur as Record<string, unknown> | undefined)?.[p];
  return cur;
}

function deleteIn(obj: Record<string, unknown>, path: string[]): void {
  const parent = getIn(obj, path.slice(0, -1)) as Record<string, unknown> | undefined;
  if (parent) delete parent[path[path.length - 1]];
}

const LOOPBACK = /^(127(\.\d{1,3}){3}|::1|\[::1\]|localhost)$/i;

/**
 * Why a repo may not set this value (schema.ts RepoRule), or undefined when it may. A door (an MCP client,
 * a web page: src/config/doors.ts) that chooses a setting for a start is held to the same rule by this same
 * function, with `who` naming it.
 */
export async function repoProblem(
  k: KeyInfo,
  value: unknown,
  root: string,
  who = "a repository",
): Promise<string | undefined> {
  switch (k.repoRule?.rule) {
    case "userOnly":
      return `${k.repoRule.why ?? "only you choose this"}; set it in ~/.kodama/config.yaml or by a flag`;
    case "keepsLocal": {
      const allowed = k.repoRule.allowed ?? [];
      return allowed.includes(value)
        ? undefined
        : `${who} may only set ${
          allowed.map((v) => JSON.stringify(v)).join(" or ")
        } (another value could overwrite local files or send more of them); set it in ~/.kodama/config.yaml or by a flag`;
    }
    case "placement": {
      // a toleration or node selector onto control-plane nodes (placement.ts: the one allow-list)
      const { repoPlacementProblem } = await import("./placement.ts");
      const p = k.key.endsWith("tolerations")
        ? repoPlacementProblem({ tolerations: Array.isArray(value) ? value.map(String) : [] })
        : repoPlacementProblem({ nodeSelector: isPlainObject(value) ? value as Record<string, string> : {} });
      return p &&
        `${who} may not choose ${
          JSON.stringify(p.value)
        }: ${p.why}; set it in ~/.kodama/config.yaml or by a flag`;
    }
    case "loopback":
      return LOOPBACK.test(String(value))
        ? undefined
        : "a repository can only make kodama listen on a loopback address; set another in ~/.kodama/config.yaml or by a flag";
    case "repoPath": {
      const { confine } = await import("./confine.ts");
      for (const p of Array.isArray(value) ? value : [value]) {
        const c = await confine(root, String(p));
        if (c.outside) {
          return `${JSON.stringify(p)} ${c.outside}; a repository may only name files inside it`;
        }
      }
      return undefined;
    }
  }
  return undefined;
}

/**
 * Hold the repo's settings to the repo rules: a value a repo may not set is taken out (the user's or the
 * default applies) with a warning naming the file and key; what is kept is listed for `start` to show.
 */
async function holdRepo(
  data: Record<string, unknown>,
  root: string,
  shown: string,
): Promise<Pick<ResolvedConfig, "fromRepo" | "refused" | "warnings">> {
  const out: Pick<ResolvedConfig, "fromRepo" | "refused" | "warnings"> = {
    fromRepo: {},
    refused: [],
    warnings: [],
  };
  for (const k of allKeys()) {
    if (!hasIn(data, k.path)) continue;
    const value = getIn(data, k.path);
    const why = await repoProblem(k, value, root);
    if (why === undefined) {
      out.fromRepo[k.key] = value;
      continue;
    }
    deleteIn(data, k.path);
    out.refused.push({ key: k.key, value, why });
    out.warnings.push(`${shown}: ${k.key} ignored: ${why}`);
  }
  return out;
}

interface Loaded {
  data: Record<string, unknown>;
  warnings: string[];
}

/** Read one file; the YAML parser (the costly import) is loaded only when the file has content. */
async function readLight(path: string): Promise<Loaded> {
  let text: string;
  try {
    text = await readTextBounded(path, { what: "config file", kind: "config", display: displayPath(path) });
  } catch (e) {
    if (e instanceof KodamaError) throw e;
    if (e instanceof Deno.errors.NotFound) return { data: {}, warnings: [] };
    if (e instanceof Deno.errors.PermissionDenied) {
      throw new KodamaError(`cannot read ${displayPath(path)}: permission denied`, ExitCode.FAILED);
    }
    throw new KodamaError(`cannot read ${displayPath(path)}: ${(e as Error).message}`, ExitCode.FAILED);
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
