/** scripts/test-order.ts: the long test files start first, longest first; a file gone is left out. */
import { assertEquals } from "@kodama/test-assert";
import { durationsOf, LONG_S, longFirst } from "../../scripts/test-order.ts";

Deno.test("test-order: a file's time is its tests' (not their steps'), wrappers and short files left out", () => {
  const xml = [
    `<testcase name="sync: a" classname="./tests/cli/sync_test.ts" time="30.4">`,
    `<testcase name="sync: a &gt; a step" classname="./tests/cli/sync_test.ts" time="30">`,
    `<testcase name="sync: b" classname="./tests/cli/sync_test.ts" time="12">`,
    `<testcase name="docs: every example" classname="./tests/cli/doc_examples_test.ts" time="${
      LONG_S + 90
    }">`,
    `<testcase name="named at run time" classname="./tests/_timeout.ts" time="99">`,
    `<testcase name="quick" classname="./tests/unit/x_test.ts" time="${LONG_S - 1}">`,
  ].join("\n");
  assertEquals(durationsOf(xml), {
    "tests/cli/doc_examples_test.ts": LONG_S + 90,
    "tests/cli/sync_test.ts": 42,
  });
});

Deno.test("test-order: longest first, by name between equals; files that no longer exist are left out", () => {
  const d = {
    "tests/b_test.ts": 30,
    "tests/a_test.ts": 30,
    "tests/gone_test.ts": 500,
    "tests/c_test.ts": 90,
  };
  assertEquals(longFirst(d, (f) => f !== "tests/gone_test.ts"), [
    "tests/c_test.ts",
    "tests/a_test.ts",
    "tests/b_test.ts",
  ]);
});
