/**
 * The validated form of workflow files, cached by content hash: `kodama run` of a workflow it has run
 * before skips the YAML parse, the zod validation and the semantic checks (~45 ms of CPU; bench/README.md).
 *
 * An entry is `$KODAMA_HOME/cache/workflows/<sha256>.json` (mode 0600): the JSON of a workflow that passed
 * every check, where its nodes are written (positions.ts, for run-time messages) and where its steps
 * take any string (load.ts `freeStringPaths`, for the engine's run-time check). The key covers everything the checks read: the text, the file's path and name, whether
 * script files are checked, kodama's version and the modification times of the checking code (so a changed
 * checker, even at the same version, never trusts an old verdict). Only files whose verdict depends on
 * nothing else are stored: a workflow whose script modules are checked on disk is always checked again.
 * Workflow files with problems are never cached (their positions come from a real parse). Anything
 * unreadable, unparsable or unwritable is a miss: the cache never changes what a run does.
 */
import { join } from "../fspath.ts";
import { VERSION } from "../version.ts";
import { kodamaHome } from "../config/paths.ts";
import type { Workflow } from "./model.ts";
import { isPosTable, type PosTable } from "./positions.ts";

const FORMAT = 3;

export interface CacheEntry {
  workflow: Workflow;
  positions: PosTable;
  freeStrings: string[];
}

let checker: string | undefined;
/** The checking code's identity: the newest modification time among the workflow modules. */
function checkerStamp(): string {
  if (checker !== undefined) return checker;
  let newest = 0;
  try {
    for (const dir of ["./", "./steps/"]) {
      const url = new URL(dir, import.meta.url);
      if (url.protocol !== "file:") break;
      for (const e of Deno.readDirSync(url)) {
        if (!e.isFile || !e.name.endsWith(".ts")) continue;
        newest = Math.max(newest, Deno.statSync(new URL(e.name, url)).mtime?.getTime() ?? 0);
      }
    }
  } catch {
    // a compiled binary, or no read permission on kodama's sources: the version says it all
  }
  return (checker = String(newest));
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
