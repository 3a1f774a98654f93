/**
 * The import rules of docs/architecture.md, read from the sources (static, dynamic and type imports):
 *
 * - a lower floor never imports a higher one: base < ui < config | kube < picker < pods <
 *   session | workflow | complete | doctor < agent < cli | web | mcp;
 * - src/picker imports nothing from src/pods (it is a widget over any items);
 * - nothing in src/kube imports src/ui (and nothing in src/base imports either);
 * - nothing outside src/session imports src/session/sync, except its front door, commands.ts;
 * - session and workflow do not import each other.
 *
 * A failure names the file, the line and the rule; the fix is to move the code down a floor (or the
 * import up), never to add an exception here.
 */
import { assertEquals } from "@kodama/test-assert";

const ROOT = new URL("../../", import.meta.url);

/** The floors, lowest first. A folder of src/ not listed here fails the test (say where it belongs). */
const FLOORS: Record<string, number> = {
  base: 0, // src/base/ (errors, platform, fs/, text/, proc/, …); a file at the root of src/ counts as base
  ui: 1,
  config: 2,
  kube: 2,
  picker: 3,
  pods: 4,
  session: 5,
  workflow: 5,
  complete: 5,
  doctor: 5,
  agent: 6, // coding-agent runs, presets, best-of-N and compare: they use sessions; a session never imports them
  cli: 7,
  web: 7, // a front end beside the CLI (DESIGN.md: `cli (| web)`); it calls the same feature functions
  mcp: 7, // the MCP server, a front end beside the CLI: it calls the same feature functions
};

/** The one module of src/session/sync that code outside src/session may import. */
const SYNC_FRONT_DOOR = "src/session/sync/commands.ts";

/** The folder a source file belongs to: `kube`, `session`, `base` (src/base/ or the root of src/), `cli` (main.ts). */
export function folderOf(path: string): string {
  if (path === "main.ts") return "cli";
  const parts = path.split("/");
  if (parts[0] !== "src") return parts[0];
  if (parts.length === 2) return "base";
  return parts[1];
}

function resolve(from: string, spec: string): string {
  const out = from.split("/").slice(0, -1);
  for (const seg of spec.split("/")) {
    if (seg === "..") out.pop();
    else if (seg !== ".") out.push(seg);
  }
  return out.join("/");
}

/** Every relative import of a file (`import … from`, `export … from`, `import()`, `import type`), by line. */
export function importsOf(path: string, text: string): { line: number; target: string }[] {
  const out: { line: number; target: string }[] = [];
  text.split("\n").forEach((l, i) => {
    const t = l.trimStart();
    if (t.startsWith("//") || t.startsWith("*")) return;
    for (const m of l.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)["'](\.{1,2}\/[^"']+)["']/g)) {
      out.push({ line: i + 1, target: resolve(path, m[1]) });
    }
  });
  return out;
}

/** The rules a single import breaks (empty: fine). Pure, so the rules themselves are tested below. */
export function broken(from: string, to: string): string[] {
  const a = folderOf(from), b = folderOf(to);
  if (!to.startsWith("src/") || a === b) return [];
  const out: string[] = [];
  const fa = FLOORS[a], fb = FLOORS[b];
  if (fa === undefined) out.push(`src/${a} has no floor in tests/unit/architecture_test.ts`);
  else if (fb !== undefined && fb > fa) out.push(`${a} (floor ${fa}) imports ${b} (floor ${fb})`);
  if (a === "picker" && b === "pods") out.push("src/picker imports nothing from src/pods");
  if (a === "kube" && b === "ui") out.push("nothing in src/kube imports src/ui");
  if (to.startsWith("src/session/sync/") && a !== "session" && to !== SYNC_FRONT_DOOR) {
    out.push(`outside src/session only ${SYNC_FRONT_DOOR} of src/session/sync may be imported`);
  }
  if ((a === "session" && b === "workflow") || (a === "workflow" && b === "session")) {
    out.push("session and workflow do not import each other");
  }
  return out;
}

async function sources(): Promise<string[]> {
  const out = ["main.ts"];
  const walk = async (rel: string) => {
    for await (const e of Deno.readDir(new URL(rel, ROOT))) {
      const p = `${rel}/${e.name}`;
      if (e.isDirectory) await walk(p);
      else if (e.name.endsWith(".ts")) out.push(p);
    }
  };
  await walk("src");
  return out.sort();
}

Deno.test("architecture: every import in src/ keeps the floors and the folder rules", async () => {
  const found: string[] = [];
  let imports = 0;
  for (const file of await sources()) {
    const text = await Deno.readTextFile(new URL(file, ROOT));
    for (const { line, target } of importsOf(file, text)) {
      imports++;
      for (const rule of broken(file, target)) found.push(`${file}:${line} -> ${target}: ${rule}`);
    }
  }
  assertEquals(found, []);
  // the scan really read the imports (a broken pattern would make this pass vacuously)
  assertEquals(imports > 500, true, `only ${imports} imports found`);
});

Deno.test("architecture: the rules catch what they are meant to", () => {
  assertEquals(broken("src/picker/mod.ts", "src/pods/choose.ts").length, 2);
  assertEquals(broken("src/kube/client.ts", "src/ui/color.ts"), ["nothing in src/kube imports src/ui"]);
  assertEquals(broken("src/kube/client.ts", "src/base/log.ts"), []);
  assertEquals(broken("src/base/log.ts", "src/ui/color.ts"), ["base (floor 0) imports ui (floor 1)"]);
  assertEquals(broken("src/base/errors.ts", "src/kube/errors.ts"), ["base (floor 0) imports kube (floor 2)"]);
  assertEquals(broken("src/pods/exec.ts", "src/session/lifecycle/start.ts"), [
    "pods (floor 4) imports session (floor 5)",
  ]);
  assertEquals(broken("src/cli/sync.ts", "src/session/sync/commands.ts"), []);
  assertEquals(broken("src/session/lifecycle/start.ts", "src/agent/runs/agentrun.ts"), [
    "session (floor 5) imports agent (floor 6)",
  ]);
  assertEquals(broken("src/agent/runs/launch.ts", "src/session/lifecycle/start.ts"), []);
  assertEquals(broken("src/agent/group/group.ts", "src/mcp/tools.ts"), [
    "agent (floor 6) imports mcp (floor 7)",
  ]);
  assertEquals(broken("src/cli/sync.ts", "src/session/sync/pull.ts").length, 1);
  assertEquals(broken("src/session/lifecycle/start.ts", "src/session/sync/session.ts"), []);
  assertEquals(broken("src/workflow/run.ts", "src/session/lifecycle/start.ts").length, 1);
  assertEquals(broken("main.ts", "src/cli/main.ts"), []);
  assertEquals(broken("src/newthing/x.ts", "src/base/errors.ts"), [
    "src/newthing has no floor in tests/unit/architecture_test.ts",
  ]);
  assertEquals(
    importsOf("src/pods/x.ts", `import { a } from "../kube/client.ts";\nconst m = await import("./y.ts");`),
    [{ line: 1, target: "src/kube/client.ts" }, { line: 2, target: "src/pods/y.ts" }],
  );
});

/** The unit tests at tests/unit/'s root: the repository's own rules, not a module's (those mirror src/). */
const ROOT_UNIT_TESTS = [
  "architecture_test.ts", // the floors and folder rules of src/
  "docs_truth_test.ts", // what the docs say against the code
  "hot_path_test.ts", // what the everyday commands load
  "counts_test.ts", // counts over the whole tree that must not grow back: fixed sleeps, client.ts, whole-Kube parameters
  "junit_files_test.ts", // scripts/junit-files.ts
  "npm_prune_test.ts", // scripts/npm_prune.ts: what the binary may leave out of node_modules
  "pod_programs_test.ts", // every program kodama runs in a pod parses as POSIX sh / node
  "relayout_test.ts", // scripts/relayout.ts
  "release_test.ts", // every URL the compiled binary loads at run time is in it
  "test_files_test.ts", // tests/_files.ts: the modules `deno task test` runs, the unit shards
];

Deno.test("architecture: a module's unit tests sit in the folder that mirrors it, not at tests/unit/'s root", () => {
  const here = new URL("./", import.meta.url);
  const loose = [...Deno.readDirSync(here)].filter((e) => e.isFile && e.name.endsWith("_test.ts"))
    .map((e) => e.name).filter((n) => !ROOT_UNIT_TESTS.includes(n)).sort();
  assertEquals(loose, [], "move these under tests/unit/<folder>/ as src/<folder>/ (docs/architecture.md)");
});

/**
 * Functions longer than `limit` lines in deno-fmt'd source: a declaration (function, method, arrow bound
 * to a name) at indent N runs to the next line at indent N that starts with `}`. A reader's view, not a
 * parser's: it sees what fmt lays out, which is what a reviewer scrolls through.
 */
export function longFunctions(text: string, limit: number): { line: number; lines: number; head: string }[] {
  const head =
    /^(\s*)(export\s+)?(default\s+)?(async\s+)?(function\*?\s*\w*|((private|public|protected|static|readonly)\s+)*(async\s+)?\*?\s*((get|set)\s+)?#?\w+\s*(<[^>]*>)?\s*\(|(const|let)\s+\w+\s*=\s*(async\s+)?(function\b|(\([^)]*\)|\w+)\s*(:[^=]*)?=>))/;
  const lines = text.split("\n");
  const out: { line: number; lines: number; head: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = head.exec(lines[i]);
    if (!m || /^\s*(if|for|while|switch|catch|return|await|yield)\b/.test(lines[i])) continue;
    const ind = m[1];
    for (let j = i + 1; j < lines.length; j++) {
      if (lines[j].startsWith(ind + "}")) {
        if (j - i + 1 > limit) {
          out.push({ line: i + 1, lines: j - i + 1, head: lines[i].trim().slice(0, 60) });
        }
        break;
      }
      const l = lines[j];
      if (l.trim() !== "" && !l.startsWith(ind + " ") && !l.startsWith(ind + ")")) break;
    }
  }
  return out;
}

Deno.test("architecture: sync stays readable: no file over 800 lines, no function over ~100 (#63)", () => {
  const dir = new URL("src/session/sync/", ROOT);
  const found: string[] = [];
  for (const e of Deno.readDirSync(dir)) {
    if (!e.isFile || !e.name.endsWith(".ts")) continue;
    const text = Deno.readTextFileSync(new URL(e.name, dir));
    const n = text.split("\n").length;
    if (n > 800) found.push(`${e.name}: ${n} lines`);
    for (const f of longFunctions(text, 105)) found.push(`${e.name}:${f.line}: ${f.head} (${f.lines} lines)`);
  }
  assertEquals(found.sort(), [], "split these (docs/sync.md, 'Where the code is')");
});

Deno.test("architecture: the function-length reader sees functions, methods and arrows, and their ends", () => {
  const body = (n: number, ind = "  ") => Array.from({ length: n }, (_, i) => `${ind}x${i}();`).join("\n");
  const text = [
    `export async function* a(\n  p: number,\n): AsyncGenerator<number> {\n${body(10)}\n}`,
    `class C {\n  async *m(o: { a: string }): Generator<number> {\n${body(10, "    ")}\n  }\n}`,
    `const f = async (x: number) => {\n${body(3)}\n};`,
    `function short() {\n  return 1;\n}`,
  ].join("\n");
  assertEquals(longFunctions(text, 5).map((f) => [f.head, f.lines]), [
    ["export async function* a(", 14],
    ["async *m(o: { a: string }): Generator<number> {", 12],
  ]);
  assertEquals(longFunctions(text, 3).map((f) => f.lines), [14, 12, 5]);
});

/** Every relative import of a file that loads code (`import type` / `export type` do not), by target. */
function valueImportsOf(path: string, text: string): string[] {
  const typeOnly = /^\s*(?:import|export)\s+type\s/;
  return importsOf(path, text).filter(({ line }) => {
    // the statement's first line (a multi-line import names its module on its last)
    const lines = text.split("\n");
    let i = line - 1;
    while (i > 0 && !/^\s*(?:import|export)\b/.test(lines[i]) && !/\bimport\s*\(/.test(lines[i])) i--;
    return !typeOnly.test(lines[i]) || /\bimport\s*\(/.test(lines[line - 1]);
  }).map((x) => x.target);
}

/** The circles of a graph (each once, as the list of its nodes from the smallest name). Pure. */
export function circles(graph: Map<string, string[]>): string[][] {
  const out = new Map<string, string[]>();
  const walk = (start: string, at: string, path: string[]) => {
    for (const next of graph.get(at) ?? []) {
      if (next === start) {
        const min = path.reduce((a, b) => (a < b ? a : b));
        const i = path.indexOf(min);
        const c = [...path.slice(i), ...path.slice(0, i)];
        out.set(c.join(" -> "), c);
      } else if (!path.includes(next) && next > start && path.length < 8) walk(start, next, [...path, next]);
    }
  };
  for (const n of [...graph.keys()].sort()) walk(n, n, [n]);
  return [...out.values()];
}

Deno.test("architecture: src/agent has no import circles (issue 84: agentcmd, groupcontinue and say had one)", async () => {
  const graph = new Map<string, string[]>();
  for (const file of (await sources()).filter((f) => f.startsWith("src/agent/"))) {
    const text = await Deno.readTextFile(new URL(file, ROOT));
    graph.set(
      file,
      valueImportsOf(file, text).filter((t) => t.startsWith("src/agent/") && t.endsWith(".ts")),
    );
  }
  assertEquals(graph.size > 40, true, `only ${graph.size} files read`);
  assertEquals(circles(graph).map((c) => c.join(" -> ")), []);
  // the finder finds one, through a dynamic import too
  assertEquals(
    circles(new Map([["a", ["b"]], ["b", ["c"]], ["c", ["a"]], ["d", ["a"]]])),
    [["a", "b", "c"]],
  );
  const dyn = valueImportsOf(
    "src/agent/x.ts",
    'import type { T } from "./t.ts";\nconst m = await import("./y.ts");\n',
  );
  assertEquals(dyn, ["src/agent/y.ts"]);
});
