/**
 * Issue 26 class 5: a script step never makes kodama write into the user's Deno cache. Deno writes the
 * JavaScript it emits from TypeScript (DENO_DIR/gen) and V8's code cache (DENO_DIR/v8_code_cache_v2) for
 * every module a Worker loads; a script's Worker therefore runs in a process of its own whose DENO_DIR is
 * under $KODAMA_HOME (and without a code cache). After a run of a TypeScript script graph, DENO_DIR holds
 * nothing of it — no emitted file, no code-cache row naming its snapshot — and kodama's own state does.
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { runKodama } from "./_run.ts";

/** The Deno cache the tests share (a private one would download every dependency again). */
const DENO_DIR = JSON.parse(
  new TextDecoder().decode(
    (await new Deno.Command(Deno.execPath(), { args: ["info", "--json"], stdout: "piped", stderr: "null" })
      .output()).stdout,
  ),
).denoDir as string;

const exists = (p: string) => Deno.lstat(p).then(() => true, () => false);

/** Rows of V8's code cache whose module is under `dir` (the cache may be missing or busy: then none). */
function codeCacheRows(dir: string): string[] {
  try {
    const db = new DatabaseSync(join(DENO_DIR, "v8_code_cache_v2"), { readOnly: true });
    try {
      return (db.prepare("SELECT specifier FROM codecache WHERE specifier LIKE ?").all(`%${dir}%`) as {
        specifier: string;
      }[]).map((r) => r.specifier);
    } finally {
      db.close();
    }
  } catch {
    return [];
  }
}

Deno.test("a script step writes nothing into the user's Deno cache, only under $KODAMA_HOME", async () => {
  const tmp = await Deno.realPath(await Deno.makeTempDir({ prefix: "kodama-denodir-" }));
  const repo = join(tmp, "repo");
  const home = join(tmp, "home");
  try {
    await Deno.mkdir(join(repo, ".git"), { recursive: true });
    await Deno.mkdir(join(repo, ".kodama", "workflows"), { recursive: true });
    await Deno.mkdir(join(repo, ".kodama", "scripts"), { recursive: true });
    await Deno.writeTextFile(
      join(repo, ".kodama", "scripts", "main.ts"),
      `import { twice } from "./lib.ts";\ninterface Out { n: number }\n` +
        `export default (): Out => { console.log("ran " + twice(21)); return { n: twice(21) }; };\n`,
    );
    await Deno.writeTextFile(
      join(repo, ".kodama", "scripts", "lib.ts"),
      `export const twice = (n: number): number => n * 2;\n`,
    );
    await Deno.writeTextFile(
      join(repo, ".kodama", "workflows", "ts.yaml"),
      `steps:\n  - id: s\n    script: { module: ../scripts/main.ts }\n  - local: { command: [x] }\n    if: false\n`,
    );
    const r = await runKodama(["run", "ts"], {
      cwd: repo,
      env: { KODAMA_HOME: home, HOME: home, DENO_DIR, KUBECONFIG: join(tmp, "none") },
      timeoutMs: 120_000,
    });
    assertEquals(r.code, 0, r.stderr);
    assertStringIncludes(r.stdout + r.stderr, "ran 42");
    // nothing of the run in the user's cache: no emitted JavaScript, no code cache
    assert(!(await exists(join(DENO_DIR, "gen", "file", tmp))), `DENO_DIR/gen holds ${tmp}`);
    assertEquals(codeCacheRows(tmp), []);
    // Deno's emit went to kodama's own state
    assert(await exists(join(home, "cache", "deno", "gen")), "no emit under $KODAMA_HOME/cache/deno");
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
});
