/** A workflow file's problems come in one pass, and a YAML slip a person makes by hand gets a hint (issue 52.8). */
import { assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { parseWorkflowText } from "../../../src/workflow/load.ts";

Deno.test("validate: a shape problem and problems of meaning are reported together", () => {
  const text = `name: two
targets:
  t: { namespace: prod, match: api }
steps:
  - id: a
    exec: { target: t, command: [echo, hi] }
    bogus: 1
  - id: b
    exec: { target: nosuch, command: [echo, "\${{ steps.zzz.outputs.x }}"] }
`;
  const p = parseWorkflowText(text, "two.yaml").problems.map((x) => `${x.line}: ${x.message}`);
  assertEquals(p.length, 3, p.join("\n"));
  assertStringIncludes(p[0], 'unknown key "bogus"');
  assertStringIncludes(p[1], 'unknown target "nosuch"');
  assertStringIncludes(p[2], 'unknown step "zzz"');
});

Deno.test("YAML: an unquoted ': ' in a value says to quote it", () => {
  const block = parseWorkflowText("name: x\nsteps:\n  - id: a\n    run: echo a: b\n", "x.yaml").problems;
  assertStringIncludes(block[0].message, "Nested mappings are not allowed");
  assertStringIncludes(block[0].message, "quote a value that contains ': '");
  const fine = parseWorkflowText("name: x\nsteps:\n  - id: a\n    run: [echo\n", "x.yaml").problems;
  assertEquals(fine[0].message.includes("quote a value"), false, fine[0].message);
});
