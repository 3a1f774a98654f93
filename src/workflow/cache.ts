/**
 * The validated form of workflow files, cached by content hash: `kodama run` of a workflow it has run
 * before skips the YAML parse, the zod validation and the semantic checks (~45 ms of CPU; bench/README.md).
 *
 * An entry is `$KODAMA_HOME/cache/workflows/<sha256>.json` (mode 0600): the JSON of a workflow that passed
 * every check, where its nodes are written (positions.ts, for run-time messages) and where its steps
 * take any string (load.ts `freeStringPaths`, for the engine's run-time check). The key covers everything the checks read: the text, the file's path and name, whether
 * script files are checked, kodama's version and the modification times of the checking code (CHECKER_FILES:
 * the loader's imports inside and outside src/workflow/, so a changed checker, even at the same version,
 * never trusts an old verdict). Only files whose verdict depends on
 * nothing else are stored: a workflow whose script modules are checked on disk is always checked again.
 * Workflow files with problems are never cached (their positions come from a real parse). Anything
 * unreadable, unparsable or unwritable is a miss: the cache never changes what a run does.
 */
import { join } from "../base/fs/fspath.ts";
import { VERSION } from "../base/version.ts";
import { kodamaHome } from "../config/paths.ts";
import { newestSourceMtime } from "../base/stamp.ts";
import type { Workflow } from "./model.ts";
import { isPosTable, type PosTable } from "./positions.ts";

const FORMAT = 3;

export interface CacheEntry {
  workflow: Workflow;
  positions: PosTable;
  freeStrings: string[];
}

/**
 * The checking code, relative to `src/`: the text-level imports of the loader (load.ts, found by
 * tests/unit/workflow/cache_test.ts, which fails when this list misses one), with this file and file.ts
 * (which decides what is stored). Only these are stat-ed: a changed checker, even at the same version,
 * never trusts an old verdict, and no directory is read for it.
 */
export const CHECKER_FILES = [
  "base/duration.ts",
  "base/errors.ts",
  "base/text/escape.ts",
  "base/fs/fspath.ts",
  "base/text/suggest.ts",
  "workflow/cache.ts",
  "workflow/expr.ts",
  "workflow/file.ts",
  "workflow/limits.ts",
  "workflow/load.ts",
  "workflow/model.ts",
  "workflow/positions.ts",
  "workflow/problems.ts",
  "workflow/schema.ts",
  "workflow/speckit.ts",
  "workflow/steps/kinds.ts",
  "workflow/steps/registry.ts",
  "base/text/yamlguard.ts",
  "base/text/yamlpos.ts",
] as const;

let checker: string | undefined;
/**
 * The checking code's identity: the newest modification time among CHECKER_FILES under `src` (default:
 * kodama's own sources). A compiled binary or unreadable sources give "0": the version says it all.
 */
export function checkerStamp(under?: URL): string {
  if (!under && checker !== undefined) return checker;
  // 0: a compiled binary, or no read permission on kodama's sources
  const stamp = String(newestSourceMtime(under ?? new URL("../", import.meta.url), CHECKER_FILES));
  if (!under) checker = stamp;
  return stamp;
}

function dir(home = kodamaHome()): string {
  return join(home, "cache", "workflows");
}

export interface CacheKeyParts {
  path: string;
  stem?: string;
  checkFiles?: boolean;
  text: string;
}

/** The cache key for a workflow file (hex SHA-256). */
export async function cacheKey(p: CacheKeyParts): Promise<string> {
  const data = new TextEncoder().encode(
    JSON.stringify([FORMAT, VERSION, checkerStamp(), p.path, p.stem ?? null, p.checkFiles ?? false, p.text]),
  );
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  return Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The entry stored under `key`, if there is one. */
// deno-lint-ignore require-await
export async function cachedEntry(key: string, home?: string): Promise<CacheEntry | undefined> {
  try {
    // synchronous: a small local file, and an async read is a round trip through Deno's thread pool
    const e = JSON.parse(Deno.readTextFileSync(join(dir(home), `${key}.json`)));
    const wf = e?.workflow;
    return wf && typeof wf === "object" && !Array.isArray(wf) && Array.isArray(wf.steps) &&
        isPosTable(e.positions, wf) && Array.isArray(e.freeStrings) && e.freeStrings.every((k: unknown) =>
          typeof k === "string"
        )
      ? e
      : undefined;
  } catch {
    return undefined;
  }
}

/** Only plain JSON survives the round trip unchanged (YAML can also give `.inf`, `.nan`, dates…). */
function plainJson(v: unknown): boolean {
  if (v === null || typeof v === "string" || typeof v === "boolean") return true;
  if (typeof v === "number") return Number.isFinite(v) && !Object.is(v, -0);
  if (Array.isArray(v)) return v.every(plainJson);
  if (typeof v !== "object" || Object.getPrototypeOf(v) !== Object.prototype) return false;
  return Object.values(v as Record<string, unknown>).every(plainJson);
}

/** Store a workflow that passed every check (best effort: a read-only home just means no cache). */
export async function rememberEntry(key: string, entry: CacheEntry, home?: string): Promise<void> {
  if (!plainJson(entry.workflow)) return;
  const path = join(dir(home), `${key}.json`);
  const tmp = `${path}.${Deno.pid}.tmp`;
  try {
    await Deno.mkdir(dir(home), { recursive: true, mode: 0o700 });
    await Deno.writeTextFile(tmp, JSON.stringify(entry), { mode: 0o600 });
    await Deno.rename(tmp, path);
  } catch {
    await Deno.remove(tmp).catch(() => {});
  }
}
