/**
 * Loading and computing are bounded (issue 10): each limit is refused with a clear message at the
 * file:line:col it applies to, before the work it would cost is done.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes, assertThrows } from "@kodama/test-assert";
import { formatProblem, parseWorkflowText } from "../../../src/workflow/load.ts";
import {
  boundedJson,
  evaluate,
  ExprError,
  ExprLimitError,
  interpolate,
  parseExpression,
  parseTemplate,
} from "../../../src/workflow/expr.ts";
import { MAX_EXPR_DEPTH, MAX_FILE_BYTES, MAX_RESULT_CHARS, MAX_STEPS } from "../../../src/workflow/limits.ts";
import { flowTooDeep } from "../../../src/base/text/yamlguard.ts";

const problems = (text: string) => parseWorkflowText(text, "w.yaml").problems.map(formatProblem);

Deno.test("limits: a workflow file over 1 MiB is refused before it is parsed", () => {
  const step = "  - local: { command: [echo, hi] }\n";
  const text = "steps:\n" + step.repeat(Math.ceil(MAX_FILE_BYTES / step.length) + 1);
  const p = problems(text);
  assertEquals(p.length, 1);
  assertMatch(p[0], /^w\.yaml:1:1: the workflow file is 1 MiB; a workflow file may be at most 1 MiB/);
  // multi-byte characters count as bytes
  const wide = "steps:\n  - local: { command: [echo, '" + "é".repeat(MAX_FILE_BYTES / 2) + "'] }\n";
  assertStringIncludes(problems(wide)[0], "may be at most 1 MiB");
});

Deno.test("limits: more than 1,000 steps, counting the steps of parallel groups, is refused at the 1,001st", () => {
  const flat = "steps:\n" + "  - local: { command: [echo] }\n".repeat(MAX_STEPS + 5);
  assertEquals(problems(flat), [
    `w.yaml:${
      MAX_STEPS + 2
    }:5: more than 1000 steps (counting the steps of parallel groups); split the workflow into workflows it calls`,
  ]);
  assertEquals(problems("steps:\n" + "  - local: { command: [echo] }\n".repeat(MAX_STEPS)), []);
  // 500 + a group of 501: the 1,001st is inside the group
  const nested = "steps:\n" + "  - local: { command: [echo] }\n".repeat(500) +
    "  - parallel:\n      steps:\n" + "        - local: { command: [echo] }\n".repeat(501);
  const p = problems(nested);
  assertEquals(p.length, 1);
  assertMatch(p[0], /^w\.yaml:1003:11: more than 1000 steps/); // the group itself is a step
  // steps repeated through an alias count each time
  const aliased = "x: &s { local: { command: [echo] } }\nsteps: [" +
    Array(MAX_STEPS + 1).fill("*s").join(", ") +
    "]\n";
  assertMatch(problems(aliased).join("\n"), /more than 100 YAML aliases|more than 1000 steps/);
});

Deno.test("limits: a YAML alias bomb is refused at the alias, without expanding it", () => {
  const lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x"]'];
  for (let i = 1; i < 10; i++) lines.push(`a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(",")}]`);
  const p = problems(lines.join("\n") + "\nsteps:\n  - local: { command: [echo, *a9] }\n");
  assertEquals(p.length, 1);
  assertMatch(
    p[0],
    /^w\.yaml:5:10: YAML aliases expand to more than 10000 nodes at \*a3 \(an alias bomb\?\)$/,
  );
  // the same bomb through mappings
  const maps = ["m0: &m0 {a: x, b: x, c: x, d: x, e: x, f: x, g: x, h: x}"];
  for (let i = 1; i < 8; i++) {
    maps.push(`m${i}: &m${i} {${"abcdefgh".split("").map((k) => `${k}: *m${i - 1}`).join(", ")}}`);
  }
  assertMatch(problems(maps.join("\n") + "\nsteps: []\n")[0], /YAML aliases expand to more than 10000 nodes/);
  // too many aliases, a recursive alias, an alias without anchor
  const many = "x: &x 1\nsteps: [" + Array(101).fill("{ local: { command: [echo, *x] } }").join(", ") + "]\n";
  assertMatch(problems(many)[0], /^w\.yaml:2:\d+: more than 100 YAML aliases/);
  assertMatch(problems("steps: &s [ { parallel: { steps: *s } } ]\n")[0], /recursive alias/);
  // a few aliases are fine
  const fine = "x-step: &echo { local: { command: [echo, hi] } }\nsteps: [*echo, *echo]\n";
  assertMatch(problems(fine).join("\n"), /unknown key "x-step"/); // the key itself, not the aliases
});

Deno.test("limits: YAML nested deeper than 64 flow levels is refused before parsing; quotes and scalars do not count", () => {
  const deep = "steps: " + "[".repeat(20_000) + "]".repeat(20_000) + "\n";
  const p = problems(deep);
  assertEquals(p, ["w.yaml:1:72: YAML: collections nest deeper than 64 levels"]);
  assertEquals(flowTooDeep("a: '" + "[".repeat(100) + "'\nb: echo a{b{c{d\n# [[[[[[[[\n", 3), undefined);
  assertEquals(flowTooDeep('a: "\\"[[[[[[["\nb: [[[[x]]]]\n', 3), 21);
});

Deno.test("limits: duplicate keys are found without comparing every pair", () => {
  const keys = Array.from({ length: 20_000 }, (_, i) => `  k${i % 10_000}: 1`).join("\n");
  const p = problems(`env:\n${keys}\nsteps: [{ local: { command: [echo] } }]\n`);
  assertStringIncludes(p[0], "w.yaml:10002:3: YAML: Map keys must be unique");
  assertStringIncludes(p.at(-1)!, "stopped after 100 problems");
});

Deno.test("limits: expressions nest at most 64 levels, refused at the column where they go deeper", () => {
  const col = (src: string) => {
    try {
      parseExpression(src);
    } catch (e) {
      assert(e instanceof ExprLimitError, String(e));
      return e.column;
    }
    throw new Error("parsed: " + src.slice(0, 40));
  };
  assertEquals(col("(".repeat(20_000) + "1" + ")".repeat(20_000)), MAX_EXPR_DEPTH);
  assert(col("!".repeat(100) + "true") > 0);
  assert(col("format(".repeat(100) + "'x'" + ")".repeat(100)) > 0);
  assert(col("params" + ".a".repeat(100)) > 0); // property chains are built without recursion
  assert(col(Array(100).fill("true").join(" || ")) > 0); // so are operator chains
  assert(col("params" + "[params".repeat(70) + "]".repeat(70)) > 0);
  // the template reports it inside the whole string, and the loader at file:line:col
  const t = assertThrows(() => parseTemplate("x ${{ " + "(".repeat(100) + "1" + ")".repeat(100) + " }}"));
  assert(t instanceof ExprError && t.column === 6 + MAX_EXPR_DEPTH, String(t));
  const p = problems(
    `steps:\n  - local: { command: [echo, "\${{ ${"(".repeat(20_000)}1${")".repeat(20_000)} }}"] }\n`,
  );
  assertEquals(p, [
    "w.yaml:2:99: steps[0].local.command[1]: bad expression: the expression nests deeper than 64 levels",
  ]);
  // 64 levels still parse
  assertEquals(evaluate(parseExpression("(".repeat(60) + "1" + ")".repeat(60)), {}), 1);
});

Deno.test("limits: an expression's value is bounded while it is computed", () => {
  const ctx = { env: { A: "0123456789abcdef" }, params: { big: "x".repeat(MAX_RESULT_CHARS + 1) } };
  const fails = (src: string, want: RegExp) => {
    const e = assertThrows(() => interpolate(src, ctx));
    assert(e instanceof ExprLimitError, String(e));
    assertMatch(e.message, want);
    return e;
  };
  // format('{0}{0}…') of a value that is itself a format(): refused at the call that goes over
  const f32 = (x: string) => `format('${"{0}".repeat(32)}', ${x})`;
  const e = fails(`\${{ ${f32(f32(f32(f32("env.A"))))} }}`, /the value of format\(\) would be over 1 MiB/);
  assertEquals(e.column, 4); // the outermost format(), in the whole string
  fails(
    `\${{ join(fromJSON('[${Array(40).fill('"' + "y".repeat(30_000) + '"').join(",")}]'), '') }}`,
    /join\(\)/,
  );
  fails("${{ params.big }}", /the value would be over 1 MiB/);
  // a template of several values that are fine on their own
  const half = { env: { H: "h".repeat(MAX_RESULT_CHARS / 2 + 1) } };
  assertThrows(() => interpolate("${{ env.H }}${{ env.H }}", half), "the value of the string");
  // toJSON and JSON of data: as large, and as deep, as the limits allow
  const deep = "[".repeat(200) + "]".repeat(200);
  fails(`\${{ fromJSON('${deep}') }}`, /nests deeper than 128 levels/);
  assertThrows(() => boundedJson({ a: "z".repeat(MAX_RESULT_CHARS) }), "the JSON text would be over 1 MiB");
});

Deno.test("limits: boundedJson writes what JSON.stringify writes", () => {
  const samples: unknown[] = [
    null,
    1.5,
    'a"b\n',
    [],
    {},
    [1, [2, { a: [] }], "x", null, true],
    { a: 1, b: { c: [1, 2], d: {} }, e: undefined, "k-ey": "v" },
    [undefined, () => 1],
  ];
  for (const s of samples) {
    assertEquals(boundedJson(s), JSON.stringify(s));
    assertEquals(boundedJson(s, 2), JSON.stringify(s, null, 2));
  }
});
