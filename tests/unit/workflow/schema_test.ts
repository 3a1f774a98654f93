import { assert, assertEquals } from "@std/assert";
import { workflowJsonSchema } from "../../../src/workflow/schema.ts";
import { formatProblem, parseWorkflowText, stemOf } from "../../../src/workflow/load.ts";
import { KIND_NAMES } from "../../../src/workflow/steps/registry.ts";

const root = new URL("../../../", import.meta.url);

Deno.test("schema: the committed schemas/workflow.schema.json is current (regenerate: kodama workflow schema > schemas/workflow.schema.json)", async () => {
  const committed = JSON.parse(await Deno.readTextFile(new URL("schemas/workflow.schema.json", root)));
  assertEquals(committed, JSON.parse(JSON.stringify(workflowJsonSchema())));
});

Deno.test("schema: every step kind is in the JSON Schema", () => {
  const text = JSON.stringify(workflowJsonSchema());
  for (const k of KIND_NAMES) assert(text.includes(`"${k}"`), k);
  assert(text.includes('"continue-on-error"'));
});

Deno.test("schema: built-ins and examples validate", async () => {
  const dirs = ["workflows/", "examples/workflows/"];
  let n = 0;
  for (const d of dirs) {
    for await (const e of Deno.readDir(new URL(d, root))) {
      if (!/\.ya?ml$/.test(e.name)) continue;
      const path = new URL(d + e.name, root).pathname;
      const r = parseWorkflowText(await Deno.readTextFile(path), path, {
        stem: stemOf(path),
        checkFiles: true,
      });
      assertEquals(r.problems.map(formatProblem), [], path);
      n++;
    }
  }
  assert(n >= 6, `only ${n} workflow files`);
});
