import { assertEquals, assertThrows } from "@kodama/test-assert";
import { expandContexts, globToRegExp, isMultiContext } from "../../../src/kube/contexts.ts";
import type { KodamaError } from "../../../src/base/errors.ts";

const KNOWN = ["prod-eu", "prod-us", "staging", "arn:aws:eks:eu-west-1:1:cluster/prod-x", "dev"];

Deno.test("--context: a list, '*' and globs select contexts; a plain name is one", () => {
  assertEquals(isMultiContext("prod-eu"), false);
  assertEquals(isMultiContext(undefined), false);
  assertEquals(isMultiContext("a,b"), true);
  assertEquals(isMultiContext("prod-*"), true);
  assertEquals(expandContexts("staging,prod-eu", KNOWN), ["staging", "prod-eu"]);
  assertEquals(expandContexts("*", KNOWN), KNOWN);
  assertEquals(expandContexts("prod-*", KNOWN), ["prod-eu", "prod-us"]);
  // * crosses '/', unlike a path glob
  assertEquals(expandContexts("*prod*", KNOWN), [
    "prod-eu",
    "prod-us",
    "arn:aws:eks:eu-west-1:1:cluster/prod-x",
  ]);
  assertEquals(expandContexts("prod-??,dev,prod-eu", KNOWN), ["prod-eu", "prod-us", "dev"]);
  assertEquals(expandContexts("[ds]*", KNOWN), ["staging", "dev"]);
  assertEquals(expandContexts("prod-[!e]*", KNOWN), ["prod-us"]);
  assertEquals(globToRegExp("a.b*").test("a.bc"), true);
  assertEquals(globToRegExp("a.b*").test("axbc"), false);
});

Deno.test("--context: unknown names and empty patterns are usage errors listing the contexts", () => {
  for (const spec of ["nope,dev", "qa-*", ","]) {
    const e = assertThrows(() => expandContexts(spec, KNOWN)) as KodamaError;
    assertEquals(e.code, 2, spec);
  }
  const e = assertThrows(() => expandContexts("qa-*", KNOWN)) as KodamaError;
  assertEquals(e.message, 'no context matches "qa-*"');
  assertEquals(e.hint?.startsWith("known contexts: prod-eu, prod-us"), true);
});
