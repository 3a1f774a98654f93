import { assertEquals } from "@kodama/test-assert";
import { init, parse } from "es-module-lexer";
import { crossCheck } from "../../../src/workflow/sandbox/crosscheck.ts";

await init;

/** What kodama does: the lexer's sites, then the second opinion on the same text. */
function check(text: string, drop?: number) {
  const [imports] = parse(text);
  const sites = new Set<number>(), specs = new Set<number>();
  imports.forEach((i, n) => {
    if (n === drop) return; // pretend the lexer missed this one
    sites.add(i.importStart);
    specs.add(i.start).add(i.start - 1);
  });
  return crossCheck(text, sites, specs).map((p) => [p.offset, p.message.split(":")[0]]);
}

Deno.test("crosscheck: agrees with the lexer on ordinary modules", () => {
  const src = `import a from "./a.ts";
import type { T } from "./t.ts";
export * from "./b.ts";
export { c } from "./c.ts";
export { d };
export const e = 1;
// a comment that mentions import("./x.ts") and "npm:left-pad"
/* import "npm:x" */
const s = "import('./y.ts') is how you load it";
const t = \`template \${await import("./z.ts")} and \${"{"} braces\`;
const o = { import: 1, export: 2 };
o.import(1); this.#import?.();
const m = import.meta.url;
export default async () => await import("./w.ts");
`;
  assertEquals(check(src), []);
});

Deno.test("crosscheck: an import the lexer did not report, or a forbidden specifier anywhere, is a problem", () => {
  const src = `const x = 1;\nexport default async () => import("./a.ts");\n`;
  assertEquals(check(src, 0), [[40, "kodama's module reader does not see an import() here, but Deno might"]]);
  const stat = `import a from "./a.ts";\nexport default a;\n`;
  assertEquals(check(stat, 0).length, 1);
  const reexport = `export * from "./a.ts";\n`;
  assertEquals(check(reexport, 0).length, 1);
  const comment = `export default () => import/**/("./a.ts");\n`;
  assertEquals(check(comment, 0).length, 1);
  assertEquals(check(`const p = 'jsr:@std/path';\n`), [[10, `"jsr`]]);
  assertEquals(check("const p = `data:text/javascript,1`;\n").length, 1);
  assertEquals(check(`const p = "data:image/png;base64,AAAA";\n`), []); // data that is not code is fine
  assertEquals(check(`const p = "node:vm";\n`).length, 1);
  assertEquals(check(`const p = "node:fs";\n`), []);
});
