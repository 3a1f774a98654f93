/**
 * The committed browser bundle (src/web/assets.ts) is current: it was built from the sources and the
 * pinned package versions of today (`deno task ui-build` rebuilds it), and every file of src/web/app is
 * one of its sources.
 */
import { assert, assertEquals } from "@std/assert";
import { ASSETS, SOURCE_HASH, SOURCES } from "../../../src/web/assets.ts";
import { pinnedDeps, sourceHash } from "../../../scripts/ui-hash.ts";
import { fileUrlToPath, hostPlatform } from "../../../src/platform.ts";

const root = fileUrlToPath(new URL("../../../", import.meta.url), hostPlatform()).replace(/\/$/, "");

Deno.test("src/web/assets.ts is built from today's sources and pins (else: deno task ui-build)", async () => {
  const imports = JSON.parse(await Deno.readTextFile(`${root}/deno.json`)).imports;
  assertEquals(await sourceHash(root, SOURCES, pinnedDeps(imports)), SOURCE_HASH, "run `deno task ui-build`");
  for await (const e of Deno.readDir(`${root}/src/web/app`)) {
    assert(SOURCES.includes(`src/web/app/${e.name}`), `src/web/app/${e.name} is not in the bundle`);
  }
  assert(ASSETS["app.js"].body.length > 1000 && ASSETS["app.css"].body.length > 1000);
});
