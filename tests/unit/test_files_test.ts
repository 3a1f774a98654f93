/** `deno task test`'s modules and their order (tests/_files.ts): nothing run twice, nothing left out. */
import { assert, assertEquals } from "@kodama/test-assert";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { runOrder, shardOf, SHARDS, testFiles, thisRunOrder } from "../_files.ts";

const TESTS = join(dirname(fileURLToPath(import.meta.url)), "..");
const ROOT = join(TESTS, "..");

Deno.test("test order: the shards and the OS matrix first, then every folder but tests/unit/", () => {
  const files = [
    "agents/a_test.ts",
    "cli/b_test.ts",
    "cli/c_test.ts",
    "cluster/d_test.ts",
    "forge/e_test.ts",
    "integration/f_test.ts",
    "os_matrix/os_matrix_test.ts",
    "unit/g_test.ts",
    "unit/kube/h_test.ts",
  ];
  assertEquals(runOrder(files, 2), [
    "tests/shards/unit0.ts",
    "tests/shards/unit1.ts",
    "tests/os_matrix/os_matrix_test.ts",
    "tests/agents/",
    "tests/cli/",
    "tests/cluster/",
    "tests/forge/",
    "tests/integration/",
  ]);
  assertEquals(runOrder([], 3), ["tests/shards/unit0.ts", "tests/shards/unit1.ts", "tests/shards/unit2.ts"]);
});

Deno.test("test order: the shards partition the unit files", () => {
  const xs = Array.from({ length: 19 }, (_, i) => i);
  const parts = Array.from({ length: 8 }, (_, k) => shardOf(xs, k, 8));
  assertEquals(parts.flat().sort((a, b) => a - b), xs);
  assert(parts.every((p) => p.length === 2 || p.length === 3), JSON.stringify(parts));
});

Deno.test("test order: this checkout's run names every test module but the unit files, and each shard", () => {
  const all = testFiles(TESTS).map((f) => `tests/${relative(TESTS, f)}`);
  const named = thisRunOrder();
  assertEquals(new Set(named).size, named.length, "named twice");
  const covered = (f: string) => named.some((n) => n === f || (n.endsWith("/") && f.startsWith(n)));
  assertEquals(all.filter((f) => !f.startsWith("tests/unit/") && !covered(f)), [], "not run");
  assertEquals(
    all.filter((f) => f.startsWith("tests/unit/") && covered(f)),
    [],
    "run twice (also in a shard)",
  );
  for (let k = 0; k < SHARDS; k++) assert(named.includes(`tests/shards/unit${k}.ts`), `shard ${k}`);
  const onDisk = [...Deno.readDirSync(join(TESTS, "shards"))].map((e) => e.name).sort();
  assertEquals(onDisk, Array.from({ length: SHARDS }, (_, k) => `unit${k}.ts`).sort());
  for (const name of onDisk) {
    const k = Number(/\d+/.exec(name)![0]);
    assert(Deno.readTextFileSync(join(TESTS, "shards", name)).includes(`await loadShard(${k});`), name);
  }
  const task = JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.json"))).tasks.test as string;
  assert(
    task.includes("deno test --allow-all --no-check --parallel $(deno run -A scripts/test-files.ts)"),
    task,
  );
});
