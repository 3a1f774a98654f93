import { assert, assertEquals, assertThrows } from "@kodama/test-assert";
import {
  evaluate,
  ExprError,
  interpolate,
  parseCondition,
  parseExpression,
  parseTemplate,
  references,
  usesStatusFunction,
} from "../../../src/workflow/expr.ts";

const ctx = {
  params: { cmd: "weka status", n: 3, on: true, list: ["a", "b"] },
  steps: { "probe-1": { outputs: { stdout: "  ok\n", exitCode: 0, pods: { "load-007": { exitCode: 0 } } } } },
  targets: { drive: { pods: [{ name: "weka-drive-0" }, { name: "weka-drive-1" }] } },
  env: { HOME: "/home/me" },
  status: { failed: false },
};
const ev = (src: string, c: object = ctx) => evaluate(parseExpression(src), c);

Deno.test("expr: property access, indexing, hyphenated ids", () => {
  assertEquals(ev("params.cmd"), "weka status");
  assertEquals(ev("targets.drive.pods[0].name"), "weka-drive-0");
  assertEquals(ev("targets.drive.pods[1]['name']"), "weka-drive-1");
  assertEquals(ev("steps.probe-1.outputs.exitCode"), 0);
  assertEquals(ev("steps.probe-1.outputs.pods['load-007'].exitCode == 0"), true);
  assertEquals(ev("env.HOME"), "/home/me");
  assertEquals(ev("params.missing.deeper"), undefined);
});

Deno.test("expr: no prototype walking", () => {
  assertEquals(ev("params.constructor"), undefined);
  assertEquals(ev("params['__proto__']"), undefined);
  assertEquals(ev("params.cmd.length"), 11); // own property of the string
  assertEquals(ev("params.list.map"), undefined); // methods live on the prototype
});

Deno.test("expr: literals and operators with precedence", () => {
  assertEquals(ev("1 < 2 && 'a' == 'a'"), true);
  assertEquals(ev("!(1 >= 2) || false"), true);
  assertEquals(ev("params.n == '3'"), true); // number vs numeric string compares as numbers
  assertEquals(ev("params.n != 4"), true);
  assertEquals(ev("null == params.nothing"), true);
  assertEquals(ev("true && 'x' || 'y'"), "x");
  assertEquals(ev("false || 0 || 'last'"), "last");
  assertEquals(ev("'it''s'"), "it's");
  assertEquals(ev(`"a\\"b"`), 'a"b');
  assertEquals(ev("-1.5 < 0"), true);
  assertEquals(ev("'b' > 'a'"), true);
});

Deno.test("expr: functions", () => {
  assertEquals(ev("contains(params.cmd, 'status')"), true);
  assertEquals(ev("contains(params.list, 'b')"), true);
  assertEquals(ev("startsWith(params.cmd, 'weka')"), true);
  assertEquals(ev("endsWith(params.cmd, 'tus')"), true);
  assertEquals(ev("format('{0}-{1} {{x}}', 'a', 2)"), "a-2 {x}");
  assertEquals(ev("join(params.list, '+')"), "a+b");
  assertEquals(ev("join(params.list)"), "a,b");
  assertEquals(ev("trim(steps.probe-1.outputs.stdout)"), "ok");
  assertEquals(ev("fromJSON('{\"a\": [1, 2]}').a[1]"), 2);
  assertEquals(ev("toJSON(params.list)"), '[\n  "a",\n  "b"\n]');
  assertEquals(ev("length(targets.drive.pods)"), 2);
  assertEquals(ev("success() && !failure() && always()"), true);
  assertEquals(ev("failure()", { ...ctx, status: { failed: true } }), true);
  assertEquals(ev("StartsWith('Ab', 'A')"), true); // function names are case-insensitive like GitHub's
});

Deno.test("expr: parse errors carry a column", () => {
  const col = (src: string) => {
    try {
      parseExpression(src);
    } catch (e) {
      assert(e instanceof ExprError);
      return [e.column, e.message];
    }
    throw new Error("no error for " + src);
  };
  assertEquals(col("params.x =="), [11, "unexpected end of expression"]);
  assertEquals(col("a = b"), [2, "unexpected '=' (use '==' to compare)"]);
  assertEquals(col("a & b")[0], 2);
  assertEquals(col("params.x )")[0], 9);
  assertEquals(col("'open")[0], 0);
  assertEquals(col("contians(a, 'b')"), [0, "unknown function 'contians' (did you mean 'contains'?)"]);
  assertEquals(col("trim()")[1], "trim() takes 1 argument(s), got 0");
  assertEquals(col("a.")[1], "expected a property name after '.'");
  assertEquals(col("(a || b")[1], "expected ')' but found end of expression");
});

Deno.test("expr: unknown root names are errors at evaluation", () => {
  assertThrows(() => ev("param.cmd"), "unknown name 'param' (did you mean 'params'?)");
});

Deno.test("expr: templates interpolate; a lone expression keeps its type", () => {
  assertEquals(interpolate("run ${{ params.cmd }} now", ctx), "run weka status now");
  assertEquals(interpolate("${{ params.n }}", ctx), 3);
  assertEquals(interpolate("${{ params.list }}", ctx), ["a", "b"]);
  assertEquals(interpolate("n=${{ params.n }} list=${{ params.list }}", ctx), 'n=3 list=["a","b"]');
  assertEquals(interpolate("no expressions", ctx), "no expressions");
  assertEquals(interpolate("${{ '}}' }}", ctx), "}}"); // a quoted }} does not close the expression
  assertEquals(interpolate("${{ params.none }}!", ctx), "!");
});

Deno.test("expr: template errors are offset into the whole string", () => {
  try {
    parseTemplate("echo ${{ params.x == }}");
    throw new Error("expected error");
  } catch (e) {
    assert(e instanceof ExprError);
    assertEquals(e.column, 21);
  }
  assertThrows(() => parseTemplate("a ${{ b"), "missing '}}'");
  assertThrows(() => parseTemplate("a ${{  }}"), "empty expression");
});

Deno.test("expr: conditions with or without ${{ }}; status function detection; references", () => {
  assertEquals(evaluate(parseCondition("${{ params.on }}"), ctx), true);
  assertEquals(evaluate(parseCondition("params.n > 2"), ctx), true);
  assert(usesStatusFunction(parseCondition("always() && params.on")));
  assert(!usesStatusFunction(parseCondition("params.on")));
  assertThrows(() => parseCondition("x ${{ params.on }}"), "either as a bare expression");
  const refs = references(parseExpression("steps.a.outputs.x == params.b && targets['c'].pods"));
  assertEquals(refs.map((r) => `${r.root}.${r.key}`).sort(), ["params.b", "steps.a", "targets.c"]);
});
