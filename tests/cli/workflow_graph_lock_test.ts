/**
 * Issue 26 class 5 end to end: a trusted script whose pragmas name packages or remote code is refused
 * before it loads, and the run leaves kodama's deno.lock and Deno's npm cache as they were.
 */
import { assert, assertEquals, assertMatch } from "@kodama/test-assert";
import { join } from "node:path";
import { hasStackTrace, runKodama } from "./_run.ts";

const LOCK = new URL("../../deno.lock", import.meta.url);

Deno.test("a script's JSX/types pragmas never make kodama fetch code or write its lock file", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "kodama-lock-" });
  const repo = join(tmp, "repo");
  await Deno.mkdir(join(repo, ".git"), { recursive: true });
  await Deno.mkdir(join(repo, ".kodama", "workflows"), { recursive: true });
  await Deno.mkdir(join(repo, ".kodama", "scripts"), { recursive: true });
  const env = { KODAMA_HOME: join(tmp, "home"), KUBECONFIG: join(tmp, "none") };
  const lockBefore = await Deno.readTextFile(LOCK);
  try {
    const forms = [
      `/** @jsxImportSource npm:preact@10.19.2 */`,
      `/** @jsxImportSourceTypes npm:@types/react@18.2.0 */`,
      `/// <reference types="npm:@types/node@20.0.0" />`,
      `// @ts-types="npm:@types/lodash@4.14.0"\nimport "./ok.js";`,
      `/** @jsxImportSource http://127.0.0.1:9/r */`,
    ];
    await Deno.writeTextFile(join(repo, ".kodama", "scripts", "ok.js"), "export default 1;\n");
    for (const [i, head] of forms.entries()) {
      await Deno.writeTextFile(
        join(repo, ".kodama", "scripts", `s${i}.tsx`),
        `${head}\nexport default () => ({ x: <div /> ? 1 : 0 });\n`,
      );
      await Deno.writeTextFile(
        join(repo, ".kodama", "workflows", `p${i}.yaml`),
        `permissions: { env: [HOME] }\nsteps:\n  - script: { module: ../scripts/s${i}.tsx }\n`,
      );
      const r = await runKodama(["run", `p${i}`, "--trust"], { env, cwd: repo, timeoutMs: 60_000 });
      assertEquals(r.code, 2, `${head}: ${r.stderr}`);
      assertMatch(r.stderr, /s\d\.tsx:\d+:\d+: (npm: import|remote import)/);
      assert(!hasStackTrace(r.stderr), r.stderr);
    }
    assertEquals(await Deno.readTextFile(LOCK), lockBefore, "deno.lock changed");
    // the version the pragma names was never locked (kodama itself may depend on another preact: the web UI)
    assert(!lockBefore.includes("npm:preact@10.19.2"));
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
});
