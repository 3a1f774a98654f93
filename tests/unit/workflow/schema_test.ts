import { assert, assertEquals } from "@kodama/test-assert";
import { workflowJsonSchema } from "../../../src/workflow/schema.ts";
import { formatProblem, parseWorkflowText } from "../../../src/workflow/load.ts";
import { stemOf } from "../../../src/workflow/model.ts";
import { KIND_NAMES, KINDS } from "../../../src/workflow/steps/registry.ts";
import { KIND_NAMES as LOADED_KIND_NAMES, stepKind } from "../../../src/workflow/steps/kinds.ts";

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

Deno.test("step kinds: model.ts names, the lazy loaders and the registry agree", async () => {
  assertEquals(Object.keys(KINDS), [...KIND_NAMES]);
  assertEquals([...LOADED_KIND_NAMES], [...KIND_NAMES]);
  for (const name of KIND_NAMES) {
    assertEquals(KINDS[name].name, name);
    assertEquals(await stepKind(name), KINDS[name]);
  }
});
