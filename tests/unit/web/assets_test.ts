/**
 * The committed browser bundle (src/web/assets.ts) is current: it was built from the sources and the
 * pinned package versions of today (`deno task ui-build` rebuilds it), and every file of src/web/app is
 * one of its sources. The first page's script holds what the lists need; the terminal (xterm.js) and the
 * diff (diff2html, highlight.js) are chunks of their own, and every chunk a script names is served.
 */
import { assert, assertEquals } from "@kodama/test-assert";
import { ASSETS, PRELOAD, SOURCE_HASH, SOURCES } from "../../../src/web/assets.ts";
import { pinnedDeps, sourceHash } from "../../../scripts/ui-hash.ts";
import { fileUrlToPath, hostPlatform } from "../../../src/base/platform.ts";

const root = fileUrlToPath(new URL("../../../", import.meta.url), hostPlatform()).replace(/\/$/, "");

Deno.test("src/web/assets.ts is built from today's sources and pins (else: deno task ui-build)", async () => {
  const imports = JSON.parse(await Deno.readTextFile(`${root}/deno.json`)).imports;
  assertEquals(await sourceHash(root, SOURCES, pinnedDeps(imports)), SOURCE_HASH, "run `deno task ui-build`");
  for await (const e of Deno.readDir(`${root}/src/web/app`)) {
    assert(SOURCES.includes(`src/web/app/${e.name}`), `src/web/app/${e.name} is not in the bundle`);
  }
  assert(ASSETS["app.js"].body.length > 1000 && ASSETS["app.css"].body.length > 1000);
});

Deno.test("the first page's script leaves xterm.js and diff2html to chunks loaded on demand", () => {
  const app = ASSETS["app.js"].body;
  // a class name each library writes into the page, and highlight.js's registry
  for (const marker of ["xterm-helper-textarea", "d2h-file-list", "registerLanguage"]) {
    assert(!app.includes(marker), `app.js carries ${marker}`);
    assert(Object.values(ASSETS).some((a) => a.body.includes(marker)), `no chunk carries ${marker}`);
  }
  assert(app.length < 200_000, `app.js is ${app.length} bytes`);
});

Deno.test("every chunk a script imports, statically or on demand, is served, and the page preloads the static ones", () => {
  const statics = new Set<string>();
  for (const [name, a] of Object.entries(ASSETS)) {
    if (!name.endsWith(".js")) continue;
    for (const m of a.body.matchAll(/(?:from\s*|import\s*\(?\s*)["']\.\/([^"']+)["']/g)) {
      assert(Object.hasOwn(ASSETS, m[1]), `${name} imports ${m[1]}, which is not an asset`);
    }
    if (name === "app.js") {
      for (const m of a.body.matchAll(/(?:from\s*|import\s*)["']\.\/([^"']+)["']/g)) statics.add(m[1]);
    }
  }
  assertEquals([...PRELOAD].sort(), [...statics].sort());
  for (const f of PRELOAD) assert(Object.hasOwn(ASSETS, f), f);
});
