/**
 * Positions read back from the table kept with a cached workflow (src/workflow/positions.ts) are the
 * parse's own: for every path of every workflow below — and paths that do not exist — `pos` and
 * `exprPos` (at every column of every string) answer exactly what the YAML parse answers. The corpus
 * covers what moves offsets: quoting and escapes, block scalars, flow style, comments, CRLF line
 * ends, anchors and aliases, characters outside the BMP, and the shipped workflows.
 */
import { assert, assertEquals } from "@kodama/test-assert";
import { parseWorkflowText } from "../../../src/workflow/load.ts";
import { lineCol, positionsFrom, valueAt } from "../../../src/workflow/positions.ts";
import { type Path, stemOf } from "../../../src/workflow/model.ts";

const ROOT = new URL("../../../", import.meta.url);

const SYNTHETIC: Record<string, string> = {
  quoting: `params:
  who: { default: "wörld" }
targets:
  d: { namespace: ns, pod: p }
steps:
  - id: a
    name: "say \\"\${{ params.who }}\\" \\t and \${{ params.who }}"
    exec:
      target: d
      command: ['sh', '-c', 'echo ''\${{ params.who }}'' \${{ params.who }}']
    if: "\${{ params.who == 'x' }}"
  - id: b
    if: "params.who == 'x'"
    exec: { target: d, command: [echo, "\\t\${{ params.who }}"] }
`,
  block: `params:
  n: { type: number, default: 2 }
targets:
  d:
    namespace: ns  # a comment
    pod: p
steps:
  # before the step
  - id: b
    exec:
      target: d
      command:
        - sh
        - -c
        - |
          echo one
            echo \${{ params.n }} indented
          echo \${{ params.n == 2 }}
        - >-
          folded \${{ params.n }}
          text
  - id: c
    if: >
      steps.b.outputs.exitCode == 0
    exec: { target: d, command: [echo, "\${{ steps.b.outputs.stdout }}"], parallel: "\${{ params.n }}" }
`,
  crlf:
    "targets:\r\n  d: { namespace: ns, pod: p }\r\nsteps:\r\n  - id: a\r\n    exec:\r\n      target: d\r\n" +
    '      command: [echo, "${{ targets.d.pods }}"]\r\n',
  anchors: `targets:
  base: &base { namespace: ns, pod: p, container: c }
  other: *base
steps:
  - id: a
    exec: &ex { target: base, command: [echo, "\${{ workflow.name }}"] }
  - id: b
    exec: *ex
`,
  astral: `params:
  e: { default: "🙂🙂" }
targets:
  d: { namespace: ns, pod: p }
steps:
  - id: a
    name: "🙂 \${{ params.e }} 🙂 \${{ params.e }}"
    exec: { target: d, command: ["🙂", "x \${{ params.e }} 🙂"] }
`,
  parallel: `targets:
  d: { namespace: ns, pod: p }
steps:
  - parallel:
      limit: 2
      steps:
        - { id: x, exec: { target: d, command: [echo, "\${{ workflow.file }}"] } }
        - id: y
          exec: { target: d, command: [echo, y] }
          env: { A: "\${{ workflow.name }}" }
`,
};

async function corpus(): Promise<[string, string][]> {
  const out: [string, string][] = Object.entries(SYNTHETIC).map(([k, v]) => [`${k}.yaml`, v]);
  for (const dir of ["workflows/", "examples/workflows/"]) {
    for await (const e of Deno.readDir(new URL(dir, ROOT))) {
      if (e.name.endsWith(".yaml")) out.push([e.name, await Deno.readTextFile(new URL(dir + e.name, ROOT))]);
    }
  }
  return out;
}

function paths(v: unknown, path: Path = [], out: Path[] = []): Path[] {
  out.push(path);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...path, i], out));
  else if (v && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) {
      paths(x, [...path, k], out);
    }
  }
  return out;
}

Deno.test("positions from the table are the parse's, for every path and every column", async () => {
  const files = await corpus();
  assert(files.length >= 10, `corpus: ${files.length} files`);
  for (const [name, text] of files) {
    const parsed = parseWorkflowText(text, name, { stem: stemOf(name), checkFiles: false });
    assert(parsed.workflow, `${name}: ${parsed.problems.map((p) => p.message).join("; ")}`);
    const wf = parsed.workflow;
    const table = JSON.parse(JSON.stringify(parsed.table())); // as stored on disk
    const back = positionsFrom(table, text, wf);
    let strings = 0;
    for (const p of paths(wf)) {
      for (const q of [p, [...p, "nosuch"], [...p, 99, "x"]]) {
        assertEquals(back.pos(q), parsed.pos(q), `${name}: pos ${JSON.stringify(q)}`);
      }
      const v = valueAt(wf, p);
      if (typeof v !== "string") continue;
      strings++;
      for (let col = 0; col <= v.length + 1; col++) {
        assertEquals(
          back.exprPos(p, col),
          parsed.exprPos(p, col),
          `${name}: exprPos ${JSON.stringify(p)} ${col}`,
        );
      }
    }
    assert(strings > 0, name);
  }
});

Deno.test("exprPos points at the character in the file, past quotes and escapes", () => {
  const text = SYNTHETIC.quoting;
  const parsed = parseWorkflowText(text, "quoting.yaml");
  const lines = text.split("\n");
  const at = (needle: string) => {
    const line = lines.findIndex((l) => l.includes(needle));
    return { line: line + 1, col: lines[line].indexOf(needle) + 1 };
  };
  // a quoted condition without ${{ }}: column 0 is the character after the quote
  assertEquals(parsed.exprPos(["steps", 1, "if"], 0), at(`params.who == 'x'"`));
  // after an escape (\t is two characters in the file, one in the value), aligned on the ${{
  assertEquals(parsed.exprPos(["steps", 1, "exec", "command", 1], 5), at(`params.who }}"]`));
  assertEquals(parsed.pos(["steps", 1, "exec", "target"]), at('d, command: [echo, "\\t'));
});

Deno.test("lineCol: lines start after each newline, as the parser counts them", () => {
  const text = "ab\r\ncd\n\nef";
  assertEquals(lineCol(text, 0), { line: 1, col: 1 });
  assertEquals(lineCol(text, 3), { line: 1, col: 4 });
  assertEquals(lineCol(text, 4), { line: 2, col: 1 });
  assertEquals(lineCol(text, 7), { line: 3, col: 1 });
  assertEquals(lineCol(text, 8), { line: 4, col: 1 });
  assertEquals(lineCol(text, 10), { line: 4, col: 3 });
});
