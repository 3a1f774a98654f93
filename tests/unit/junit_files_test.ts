/** scripts/junit-files.ts: a CI report names each test's own file, not the wrapper that registered it. */
import { assertEquals } from "@kodama/test-assert";
import { fileOf, relabel } from "../../scripts/junit-files.ts";

const sources = new Map([
  ["tests/cli/a_test.ts", 'clusterTest("pods: a deleted pod\'s logs say it is gone", {}, fn);'],
  [
    "tests/cli/b_test.ts",
    'const family = new SideBySide("idle stop (side by side)");\nDeno.test(`sync: ${n} files`',
  ],
  ["tests/cli/c_test.ts", 'Deno.test("sync: the same name in two files, here");'],
  ["tests/cli/d_test.ts", 'Deno.test("sync: the same name in two files, here");'],
]);

Deno.test("junit-files: a test, a step and a templated name find their file; an ambiguous one does not", () => {
  assertEquals(fileOf("pods: a deleted pod's logs say it is gone", sources), "tests/cli/a_test.ts");
  assertEquals(fileOf("idle stop (side by side) > no sync, it stops", sources), "tests/cli/b_test.ts");
  assertEquals(fileOf("sync: the same name in two files, here", sources), undefined);
  assertEquals(fileOf("not a test of these files at all", sources), undefined);
});

Deno.test("junit-files: only the wrappers' cases are relabelled, their names' entities read", () => {
  const xml = [
    `<testcase name="pods: a deleted pod&apos;s logs say it is gone" classname="./tests/_timeout.ts" time="1">`,
    `<testcase name="idle stop (side by side)" classname="./tests/_side_by_side.ts" time="2">`,
    `<testcase name="pods: a deleted pod&apos;s logs say it is gone" classname="./tests/unit/x_test.ts" time="3">`,
    `<testcase name="nowhere at all, this name" classname="./tests/_timeout.ts" time="4">`,
  ].join("\n");
  assertEquals(
    relabel(xml, sources).split("\n").map((l) => /classname="([^"]*)"/.exec(l)![1]),
    ["./tests/cli/a_test.ts", "./tests/cli/b_test.ts", "./tests/unit/x_test.ts", "./tests/_timeout.ts"],
  );
});
