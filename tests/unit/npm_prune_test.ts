import { assertEquals } from "@kodama/test-assert";
import { buildImports, npmName } from "../../scripts/compile.ts";
import { entryPaths, prunable } from "../../scripts/npm_prune.ts";

Deno.test("npm prune: types, maps, docs and sources go; an entry Deno resolves to stays", () => {
  const files = [
    "./index.js",
    "./index.d.ts",
    "./index.d.cts",
    "./index.js.map",
    "./README.md",
    "./src/index.ts",
    "./lib/run.ts",
    "./data.json",
    "./index.cjs",
  ];
  // zod's "@zod/source" and eventsource's "source" conditions are not Deno's: their .ts targets go
  const pkg = {
    main: "lib/run.ts",
    exports: { ".": { "@zod/source": "./src/index.ts", types: "./index.d.cts", import: "./index.js" } },
  };
  assertEquals(prunable(files, pkg), [
    "./index.d.ts",
    "./index.d.cts",
    "./index.js.map",
    "./README.md",
    "./src/index.ts",
  ]);
  assertEquals(entryPaths({ exports: "./x.ts" }), new Set(["./x.ts"]));
  assertEquals(entryPaths({ exports: { deno: "./d.ts", source: "./s.ts" } }), new Set(["./d.ts"]));
});

Deno.test("the build's import map keeps only the npm packages the graph loads", () => {
  assertEquals(npmName("npm:/@scope/pkg@1.2.3/sub/path.js"), "@scope/pkg");
  assertEquals(npmName("npm:esbuild@0.28.2"), "esbuild");
  const imports = {
    yaml: "npm:yaml@2.9.1",
    "puppeteer-core": "npm:puppeteer-core@25.16.0",
    "@kodama/test-assert": "./tests/_assert.ts",
  };
  assertEquals(buildImports(imports, new Set(["yaml"])), {
    yaml: "npm:yaml@2.9.1",
    "@kodama/test-assert": "./tests/_assert.ts",
  });
});
