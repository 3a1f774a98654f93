/** `deno task test`'s modules and their order (tests/_files.ts): nothing run twice, nothing left out. */
import { assert, assertEquals } from "@kodama/test-assert";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { runOrder, shardOf, SHARDS, testFiles, thisRunOrder } from "../_files.ts";

const TESTS = join(dirname(fileURLToPath(import.meta.url)), "..");
const ROOT = join(TESTS, "..");

Deno.test("test order: every module once, the unit files as shards spread through the run", () => {
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
  const order = runOrder(files, 2);
  assertEquals(order, [
    "tests/shards/unit0.ts",
    "tests/os_matrix/os_matrix_test.ts",
    "tests/agents/a_test.ts",
    "tests/cli/b_test.ts",
    "tests/cli/c_test.ts",
    "tests/shards/unit1.ts",
    "tests/integration/f_test.ts",
    "tests/cluster/d_test.ts",
    "tests/forge/e_test.ts",
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
  const order = thisRunOrder();
  assertEquals(new Set(order).size, order.length, "a module named twice");
  const expected = all.filter((f) => !f.startsWith("tests/unit/"));
  for (let k = 0; k < SHARDS; k++) expected.push(`tests/shards/unit${k}.ts`);
  assertEquals([...order].sort(), expected.sort());
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
