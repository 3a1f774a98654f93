/**
 * The resolved configuration, cached by content: a session command (`start`, `resume`, …) whose config
 * files did not change since the last one skips the YAML parser (and Deno's Node loader under it) and the
 * zod schema, ~50–100 ms of CPU before the first request (bench/README.md "Session start").
 *
 * An entry is `$KODAMA_HOME/cache/config/<sha256>.json` (mode 0600, as the config file): the values and
 * their origin (sources, warnings, what a repo set or was refused) as loadConfig returned them. The key
 * covers everything loadConfig reads: the text and path of `~/.kodama/config.yaml` and of the repo's
 * `.kodama.yaml` (absent or not), the git root, the home directory (warnings name files by it), kodama's
 * version and the modification times of the config code (CONFIG_CODE, so a changed schema never trusts an
 * old result). Keyed by the text, not by a modification time, an edit of the file (even one of the same
 * size within the same second) is always a miss. Not stored: a configuration whose repo file names local
 * paths (a `repoPath` rule: its verdict depends on the repository's files too), values that are not plain
 * JSON, and anything that failed: a bad file gets loadConfig's own error, every time. Anything unreadable
 * or unwritable is a miss; the cache never changes what a command does.
 */
import { dirname, join } from "../base/fs/fspath.ts";
import { VERSION } from "../base/version.ts";
import { fileUrlToPath, homeDir, hostPlatform } from "../base/platform.ts";
import { newestSourceMtime } from "../base/stamp.ts";
import { findRepo, globalConfigPath, kodamaHome } from "./paths.ts";
import { type ConfigOrigin, setOrigin } from "./origin.ts";
import type { Config } from "./schema.ts";

const FORMAT = 1;
/** larger files are read by loadConfig alone (it has the size limit and its message) */
const MAX_TEXT = 256 * 1024;

/**
 * The config code, relative to `src/`: every module loadConfig imports, statically or by import(),
 * with this file (tests/unit/config/cache_test.ts fails when this list misses one).
 */
export const CONFIG_CODE = [
  "base/cidr.ts",
  "base/hostpattern.ts",
  "base/duration.ts",
  "base/stamp.ts",
  "base/fs/boundedread.ts",
  "config/atomic.ts",
  "config/cache.ts",
  "config/confine.ts",
  "config/file.ts",
  "config/keys.ts",
  "config/load.ts",
  "config/modelname.ts",
  "config/agentnames.ts",
  "config/origin.ts",
  "config/paths.ts",
  "config/placement.ts",
  "config/schema.ts",
  "base/errors.ts",
  "base/text/escape.ts",
  "base/fs/fspath.ts",
  "base/platform.ts",
  "base/fs/realpath.ts",
  "base/text/suggest.ts",
  "base/version.ts",
  "base/text/yamlguard.ts",
  "base/text/yamlpos.ts",
] as const;

let code: string | undefined;
/**
 * The config code's identity: the newest modification time among CONFIG_CODE under `src` (default:
 * kodama's own sources); for a compiled binary or a bundle (no sources), the program's own file.
 */
export function configCodeStamp(under?: URL): string {
  if (!under && code !== undefined) return code;
  const newest = newestSourceMtime(under ?? new URL("../", import.meta.url), CONFIG_CODE);
  // a compiled binary or a bundle has no sources to stat: the program itself (rebuilt, even at the same
  // version, it changes) stands for them
  const stamp = newest ? String(newest) : programStamp();
  if (!under) code = stamp;
  return stamp;
}

function programStamp(): string {
  const id = (path: string) => {
    try {
      const st = Deno.statSync(path);
      return `${path}:${st.size}:${st.mtime?.getTime() ?? 0}`;
    } catch {
      return path;
    }
  };
  let main = Deno.mainModule;
  try {
    if (main.startsWith("file:")) main = id(fileUrlToPath(main, hostPlatform()));
  } catch { /* not a path here */ }
  return `${id(Deno.execPath())}|${main}`;
}

/** A file's text; null when it does not exist; undefined when it cannot be read here (then: no cache). */
function readText(path: string): string | null | undefined {
  try {
    // only a plain file of a sane size is read here: a FIFO would block, a device never end (loadConfig
    // reads those too, to give its own error)
    const st = Deno.statSync(path);
    if (!st.isFile || st.size > MAX_TEXT) return undefined;
    const bytes = Deno.readFileSync(path);
    return bytes.length > MAX_TEXT ? undefined : new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (e) {
    return e instanceof Deno.errors.NotFound ? null : undefined;
  }
}

/** Only plain JSON survives the round trip unchanged (YAML can also give `.inf`, `.nan`, dates…). */
function plainJson(v: unknown): boolean {
  if (v === null || typeof v === "string" || typeof v === "boolean") return true;
  if (typeof v === "number") return Number.isFinite(v) && !Object.is(v, -0);
  if (Array.isArray(v)) return v.every(plainJson);
  if (typeof v !== "object" || Object.getPrototypeOf(v) !== Object.prototype) return false;
  // an absent optional key may be present as undefined: JSON drops it, and reading it gives undefined again
  return Object.values(v as Record<string, unknown>).every((x) => x === undefined || plainJson(x));
}

export interface CachedConfigOptions {
  /** directory to search for `.kodama.yaml` from (default: Deno.cwd()) */
  cwd?: string;
  /** kodama's home directory (default: $KODAMA_HOME, else ~/.kodama) */
  home?: string;
}

export interface CachedConfig extends ConfigOrigin {
  values: Config;
  /** whether this came from the cache (tests and benches count it) */
  hit: boolean;
}

/**
 * loadConfig() without flags, through the cache: the same values, origin (`originOf`) and warnings, the
 * same errors (a miss runs loadConfig itself).
 */
export async function loadConfigCached(opts: CachedConfigOptions = {}): Promise<CachedConfig> {
  const home = opts.home ?? kodamaHome();
  const globalPath = globalConfigPath(home);
  const repo = await findRepo(opts.cwd);
  const texts = () => [readText(globalPath), repo.configFile ? readText(repo.configFile) : null];
  const before = texts();
  let file: string | undefined;
  if (!before.includes(undefined)) {
    const keyText = JSON.stringify([
      FORMAT,
      VERSION,
      configCodeStamp(),
      homeDir(hostPlatform()) ?? null,
      globalPath,
      repo.configFile ?? null,
      repo.gitRoot ?? null,
      ...before,
    ]);
    const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(keyText)));
    file = join(
      home,
      "cache",
      "config",
      `${Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("")}.json`,
    );
    const hit = readEntry(file);
    if (hit) {
      setOrigin(hit.values, hit.origin);
      return { values: hit.values, ...hit.origin, hit: true };
    }
  }
  const { loadConfig } = await import("./load.ts");
  const { values, ...origin } = await loadConfig({ cwd: opts.cwd, home });
  if (file && await storable(origin) && plainJson(values) && plainJson(origin)) {
    // the files as loadConfig read them must still be the ones keyed (an edit in between: not stored)
    const after = texts();
    if (after.every((t, i) => t === before[i])) await writeEntry(file, { values, origin });
  }
  return { values, ...origin, hit: false };
}

interface Entry {
  values: Config;
  origin: ConfigOrigin;
}

/**
 * On a shared machine only what this user wrote is believed: the entry a plain file (not a link) and, with
 * its directory, owned by this user and writable by no one else (another user's forged entry could
 * otherwise accept a value a repository may not set). Windows has no such modes: its ACLs stand.
 */
function ownedHere(file: string): boolean {
  if (hostPlatform().os === "windows") return true;
  const uid = Deno.uid();
  const mine = (st: Deno.FileInfo) => st.uid === uid && ((st.mode ?? 0o022) & 0o022) === 0;
  const st = Deno.lstatSync(file);
  return st.isFile && mine(st) && mine(Deno.statSync(dirname(file)));
}

function readEntry(file: string): Entry | undefined {
  try {
    if (!ownedHere(file)) return undefined;
    // synchronous: a small local file, and an async read is a round trip through Deno's thread pool
    const e = JSON.parse(Deno.readTextFileSync(file));
    const o = e?.origin;
    const obj = (v: unknown) => v !== null && typeof v === "object" && !Array.isArray(v);
    return obj(e.values) && obj(o) && obj(o.sources) && obj(o.files) && obj(o.fromRepo) &&
        Array.isArray(o.warnings) && Array.isArray(o.refused)
      ? e
      : undefined;
  } catch {
    return undefined;
  }
}

/** A repo file's `repoPath` keys were checked against the repository's files: that verdict is not the text's alone. */
async function storable(origin: ConfigOrigin): Promise<boolean> {
  const keys = [...Object.keys(origin.fromRepo), ...origin.refused.map((r) => r.key)];
  if (!keys.length) return true;
  const { keyInfo } = await import("./keys.ts");
  return keys.every((k) => keyInfo(k)?.repoRule?.rule !== "repoPath");
}

/** Entries kept: each edit of a config file makes a new one, so on a write the oldest go past this many. */
export const MAX_ENTRIES = 64;

/** Best effort: a read-only home just means no cache. */
async function writeEntry(file: string, entry: Entry): Promise<void> {
  const tmp = `${file}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    await Deno.mkdir(dirname(file), { recursive: true, mode: 0o700 });
    await Deno.writeTextFile(tmp, JSON.stringify(entry), { mode: 0o600 });
    await Deno.rename(tmp, file);
    await prune(dirname(file));
  } catch {
    await Deno.remove(tmp).catch(() => {});
  }
}

/** Keep the newest MAX_ENTRIES entries (by modification time); on a miss only, so a hit reads no directory. */
async function prune(dir: string): Promise<void> {
  const all: { path: string; at: number }[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (!e.isFile || !e.name.endsWith(".json")) continue;
    const path = join(dir, e.name);
    const at = await Deno.stat(path).then((s) => s.mtime?.getTime() ?? 0, () => 0);
    all.push({ path, at });
  }
  if (all.length <= MAX_ENTRIES) return;
  all.sort((a, b) => b.at - a.at);
  for (const old of all.slice(MAX_ENTRIES)) await Deno.remove(old.path).catch(() => {});
}
