/**
 * Issue 26 class 5: every specifier form Deno honours is in kodama's static reader — JSX pragmas,
 * triple-slash references, type directives, JSDoc imports, require, protocol-relative URLs and the
 * escaped/upper-case/file: variants of import statements — so a script graph that would make Deno
 * fetch or install code (and write kodama's lock file or cache) is refused before anything loads.
 */
import { assert, assertEquals, assertMatch } from "@kodama/test-assert";
import { join } from "node:path";
import { pragmaSpecifiers, scriptGraph } from "../../../src/workflow/sandbox/graph.ts";
import { lockEnv } from "../../_env_lock.ts";

const CASES: [string, string, RegExp][] = [
  [
    "jsx.tsx",
    `/** @jsxImportSource npm:preact */\nexport default () => <div/>;`,
    /1:22: npm: import "npm:preact"/,
  ],
  ["jsxcase.tsx", `/* @JSXIMPORTSOURCE jsr:@x/y */\nexport default () => <b/>;`, /jsr: import/],
  ["jsxline.tsx", `// @jsxImportSource https://esm.sh/preact\nexport default () => <b/>;`, /remote import/],
  ["jsxhttp.tsx", `/** @jsxImportSource http://127.0.0.1:9/r */\nexport default () => 1;`, /remote import/],
  [
    "jsxtypes.tsx",
    `/** @jsxImportSourceTypes npm:@types/react */\nexport default () => 1;`,
    /npm: import "npm:@types\/react"/,
  ],
  [
    "jsxfile.tsx",
    `/** @jsxImportSource file:///etc */\nexport default () => 1;`,
    /outside the workflow's repository|not found/,
  ],
  ["reftypes.ts", `/// <reference types="npm:@types/node" />\nexport default () => 1;`, /npm: import/],
  [
    "refpath.ts",
    `/// <reference path="/etc/passwd" />\nexport default () => 1;`,
    /outside the workflow's repository/,
  ],
  [
    "refpathup.ts",
    `/// <reference path="../outside.d.ts" />\nexport default () => 1;`,
    /outside the workflow's repository/,
  ],
  ["denotypes.ts", `// @deno-types="npm:@types/lodash"\nimport "./ok.js";`, /npm: import/],
  ["tstypes.ts", `/* @ts-types="http://x/y.d.ts" */\nimport "./ok.js";`, /remote import/],
  ["jsdoc.js", `/** @import { X } from "npm:left-pad" */\nexport default () => 1;`, /npm: import/],
  ["jsdoctype.js", `/** @type {import("jsr:@std/path").X} */\nexport default () => 1;`, /jsr: import/],
  ["importeq.ts", `import lp = require("npm:left-pad");\nexport default () => lp;`, /npm: import/],
  ["require.cjs", `const x = require("npm:left-pad");\nmodule.exports = x;`, /npm: import/],
  ["escaped.ts", `import "\\x68ttp://127.0.0.1:9/x.js";`, /remote import/],
  ["upper.ts", `import "HTTPS://127.0.0.1:9/x.js";`, /remote import/],
  [
    "fileurl.ts",
    `import x from "file://localhost/etc/passwd" with { type: "text" };`,
    /outside the workflow's repository/,
  ],
  [
    "fileurl2.ts",
    `import x from "file:/etc/passwd" with { type: "text" };`,
    /outside the workflow's repository/,
  ],
  ["protorel.ts", `import "//127.0.0.1/x.js";`, /names another host/],
];

Deno.test("module graph: every pragma and specifier form that names code outside the repo is refused", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "kodama-pragma-" });
  const unlock = await lockEnv(["KODAMA_HOME"]);
  Deno.env.set("KODAMA_HOME", join(tmp, "home"));
  try {
    const repo = join(tmp, "a", "repo");
    await Deno.mkdir(repo, { recursive: true });
    await Deno.writeTextFile(join(tmp, "a", "outside.d.ts"), "export {};\n");
    await Deno.writeTextFile(join(repo, "ok.js"), "export default 1;\n");
    for (const [name, src, want] of CASES) {
      const f = join(repo, name);
      await Deno.writeTextFile(f, src + "\n");
      let message = "";
      try {
        await scriptGraph(f, { root: repo, readPaths: [] });
      } catch (e) {
        message = (e as Error).message;
      }
      assert(message, `${name} was not refused`);
      assertMatch(message, want, name);
    }
  } finally {
    unlock();
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("module graph: pragmas naming files of the repo are followed and pinned", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "kodama-pragma-" });
  const unlock = await lockEnv(["KODAMA_HOME"]);
  Deno.env.set("KODAMA_HOME", join(tmp, "home"));
  try {
    await Deno.mkdir(join(tmp, "jsx"), { recursive: true });
    await Deno.writeTextFile(join(tmp, "jsx", "jsx-runtime"), "export const jsx = () => 1;\n");
    await Deno.writeTextFile(join(tmp, "types.d.ts"), "export type T = 1;\n");
    await Deno.writeTextFile(
      join(tmp, "main.tsx"),
      `/// <reference path="types.d.ts" />\n/// <reference types="./missing.d.ts" />\nexport default () => 1;\n`,
    );
    const g = await scriptGraph(join(tmp, "main.tsx"), { root: tmp, readPaths: [] });
    assertEquals(g.modules.map((m) => m.rel).sort(), ["main.tsx", "types.d.ts"]);
    // a relative JSX import source is followed to its jsx-runtime module, checked like any import
    await Deno.writeTextFile(join(tmp, "j.tsx"), `/** @jsxImportSource ./jsx */\nexport default () => 1;\n`);
    let message = "";
    await scriptGraph(join(tmp, "j.tsx"), { root: tmp, readPaths: [] }).catch((e) => message = e.message);
    assertMatch(message, /jsx\/jsx-runtime/);
    assertEquals(pragmaSpecifiers(`/** @jsxImportSourceTypes x */`).map((p) => p.kind), ["types"]);
  } finally {
    unlock();
    await Deno.remove(tmp, { recursive: true });
  }
});
