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
 * **The order.** `deno test` starts the files it is named first (in an order of its own), then the files it
 * finds in the folders it is named, sorted by path; one per free job. The shards and the OS matrix (~55 s,
 * one module, which by path would start last) are named as files, so they start first; then the rest of
 * tests/ by path.
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

/** Modules named as files, after the shards: the longest single module, which by path would start last. */
const FIRST = ["os_matrix/os_matrix_test.ts"];

/**
 * What `deno task test` names, relative to the repository: the SHARDS shard files and FIRST, then every other
 * folder of tests/ that holds test modules (tests/unit/ is run by the shards). Pure over `files` (every
 * `*_test.ts` under tests/, relative to it).
 */
export function runOrder(files: string[], shards = SHARDS): string[] {
  const folders = new Set(
    files.filter((f) => !f.startsWith("unit/") && !FIRST.includes(f)).map((f) =>
      f.includes("/") ? `${f.split("/")[0]}/` : f
    ),
  );
  return [
    ...Array.from({ length: shards }, (_, k) => `shards/unit${k}.ts`),
    ...FIRST.filter((f) => files.includes(f)),
    ...[...folders].sort(),
  ].map((f) => `tests/${f}`);
}

/** `runOrder` of this checkout's tests/. */
export function thisRunOrder(): string[] {
  return runOrder(testFiles(TESTS).map((f) => relative(TESTS, f)));
}
