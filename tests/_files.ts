/**
 * Which test modules `deno task test` runs, and in what order (issue #83, CI time).
 *
 * **The unit tests run as shards.** `deno test` gives every test module a fresh worker that loads and compiles
 * its modules again (test workers get no V8 code cache): ~0.15 CPU-s a unit file, 270 files. A shard
 * (`tests/shards/unitK.ts`) imports every SHARDS-th unit file into one worker, so the modules they share load
 * once: the unit tests took 111 CPU-s as 270 modules and 65-71 as 4 or 8 shards (1,564 tests, the same
 * results). Each unit file stays a test module of its own: `deno test tests/unit/x_test.ts` runs it alone,
 * `deno test tests/unit/` runs them all, and `deno check` checks each as a root. A shard file's name does
 * not end in `_test.ts`, so `deno test tests/` does not run the unit tests twice.
 *
 * **The order.** `deno test` starts the modules in the order it is given them, one per free job. The OS
 * matrix (~55 s, one module) comes first; a shard (~40 s in a loaded run) every eighth of the way, so the
 * CPU-bound unit tests run beside the files that mostly wait on pods; the many small modules of
 * tests/cluster and tests/forge come last, so the run's tail is short pieces, as it was when the 270 unit
 * files came last by name.
 */
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** How many shards the unit tests run as (tests/shards/unit0.ts … unit7.ts). */
export const SHARDS = 8;

const TESTS = dirname(fileURLToPath(import.meta.url));

/** Every `*_test.ts` under `dir` (folders starting with "." skipped: the test server's state), sorted. */
export function testFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of Deno.readDirSync(d)) {
      const p = join(d, e.name);
      if (e.isDirectory && !e.name.startsWith(".")) walk(p);
      else if (e.isFile && e.name.endsWith("_test.ts")) out.push(p);
    }
  };
  walk(dir);
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Shard `k` of `n`: every n-th file from the k-th, so each shard has files of every folder. Pure. */
export function shardOf<T>(files: T[], k: number, n: number): T[] {
  return files.filter((_, i) => i % n === k);
}

/** Import shard `k` of the unit test files, one after another (their tests register as they load). */
export async function loadShard(k: number): Promise<void> {
  for (const f of shardOf(testFiles(join(TESTS, "unit")), k, SHARDS)) await import(pathToFileURL(f).href);
}

/** Folders whose modules come last, in this order: many short files, a granular tail. */
const LAST = ["cluster", "forge"];
/** Modules that come first: the longest single module. */
const FIRST = ["os_matrix/os_matrix_test.ts"];

/**
 * The run's modules, relative to the repository (`tests/…`), in the order `deno task test` names them: every
 * `*_test.ts` under tests/ except tests/unit/ once, the SHARDS shard files among them. Pure over `files`
 * (paths relative to tests/).
 */
export function runOrder(files: string[], shards = SHARDS): string[] {
  const rest = files.filter((f) => !f.startsWith("unit/"));
  const folder = (f: string) => f.split("/")[0];
  const rank = (f: string) =>
    FIRST.includes(f) ? 0 : LAST.includes(folder(f)) ? 2 + LAST.indexOf(folder(f)) : 1;
  const ordered = [...rest].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  const out: string[] = [];
  let next = 0;
  ordered.forEach((f, i) => {
    while (next < shards && i >= Math.round((next * ordered.length) / shards)) {
      out.push(`shards/unit${next++}.ts`);
    }
    out.push(f);
  });
  while (next < shards) out.push(`shards/unit${next++}.ts`);
  return out.map((f) => `tests/${f}`);
}

/** `runOrder` of this checkout's tests/. */
export function thisRunOrder(): string[] {
  return runOrder(testFiles(TESTS).map((f) => relative(TESTS, f)));
}
