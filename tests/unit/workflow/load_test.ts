import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { formatProblem, parseWorkflowText } from "../../../src/workflow/load.ts";
import { stemOf } from "../../../src/workflow/model.ts";

const dir = new URL("../../fixtures/workflows/invalid/", import.meta.url);

async function fixtures(): Promise<
  { name: string; path: string; text: string; line: number; col: number; message: string }[]
> {
  const out = [];
  for await (const e of Deno.readDir(dir)) {
    if (!e.name.endsWith(".yaml")) continue;
    const path = new URL(e.name, dir).pathname;
    const text = await Deno.readTextFile(path);
    const m = /^# expect: (\d+):(\d+) (.*)$/m.exec(text);
    assert(m, `${e.name} has no '# expect: LINE:COL message' header`);
    out.push({ name: e.name, path, text, line: Number(m[1]), col: Number(m[2]), message: m[3] });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

Deno.test("load: every malformed fixture reports its problem at file:line:col", async () => {
  const all = await fixtures();
  assert(all.length >= 15, `only ${all.length} fixtures`);
  for (const f of all) {
    const r = parseWorkflowText(f.text, f.path, { stem: stemOf(f.path), checkFiles: true });
    assertEquals(r.workflow, undefined, `${f.name} should not validate`);
    const lines = r.problems.map(formatProblem);
    const want = `${f.path}:${f.line}:${f.col}: `;
    assert(
      lines.some((l) => l.startsWith(want) && l.includes(f.message)),
      `${f.name}: expected a problem "${want}…${f.message}", got:\n${lines.join("\n")}`,
    );
  }
});

const valid = `
name: demo
params:
  cmd: { default: "weka version" }
  level: { type: enum, values: [low, high], default: low }
targets:
  drive: { namespace: weka-operator-system, match: drive, container: weka }
steps:
  - id: v
    exec: { target: drive, command: [bash, -c, "\${{ params.cmd }}"] }
  - if: steps.v.outputs.exitCode == 0 && params.level == 'low'
    parallel:
      limit: 2
      steps:
        - id: inner
          local: { command: [echo, "\${{ targets.drive.pods[0].name }}"] }
`;

Deno.test("load: a valid workflow parses to plain data, positions available", () => {
  const r = parseWorkflowText(valid, "demo.yaml", { stem: "demo" });
  assertEquals(r.problems, []);
  assertEquals(r.workflow?.name, "demo");
  assertEquals(r.workflow?.steps.length, 2);
  assertEquals(r.pos(["steps", 1, "parallel", "steps", 0, "id"]), { line: 15, col: 15 });
  assertEquals(r.pos(["targets", "drive", "match"]), { line: 7, col: 52 });
  // a missing node falls back to its nearest ancestor
  assertEquals(r.pos(["steps", 0, "exec", "nope"]), { line: 10, col: 11 });
});

Deno.test("load: name must match the file name", () => {
  const r = parseWorkflowText(valid, "/x/other.yaml", { stem: "other" });
  assertEquals(r.problems.length, 1);
  assertStringIncludes(r.problems[0].message, `name "demo" does not match the file name "other"`);
  assertEquals([r.problems[0].line, r.problems[0].col], [2, 7]);
});

Deno.test("load: a value written as one expression is type-checked at run time, not by the schema", () => {
  const r = parseWorkflowText(
    `params: { n: { type: number, default: 4 } }
targets: { t: { match: x, select: all } }
steps:
  - exec: { target: t, command: [hostname], parallel: "\${{ params.n }}" }
`,
    "a.yaml",
  );
  assertEquals(r.problems.map(formatProblem), []);
});

Deno.test("load: several problems are all reported, sorted by position", () => {
  const r = parseWorkflowText(
    `steps:
  - id: a
    local: { command: [echo], cwdd: x }
  - id: a
    exek: {}
`,
    "m.yaml",
  );
  // the duplicate id (a check of meaning) comes in the same pass as the shape problems
  assertEquals(r.problems.map((p) => `${p.line}:${p.col}`), ["3:31", "4:9", "5:5"]);
  assertStringIncludes(r.problems[0].message, 'unknown key "cwdd" (did you mean "cwd"?)');
});

Deno.test("load: non-mapping documents and non-mapping steps", () => {
  assertStringIncludes(
    parseWorkflowText("- a\n- b\n", "l.yaml").problems[0].message,
    "a workflow file is a YAML mapping",
  );
  const r = parseWorkflowText("steps:\n  - just a string\n", "s.yaml");
  assertEquals(
    formatProblem(r.problems[0]),
    "s.yaml:2:5: steps[0]: a step is a mapping with one kind key (exec, pick, tmux, logs, cp, port-forward, wait, local, script, workflow, parallel, session)",
  );
});
