/**
 * The validated-workflow cache (src/workflow/cache.ts): a file checked once is served from the cache
 * while its text is the same; a changed text, a file with problems and a workflow whose script modules
 * live on disk are checked every time; a damaged entry is a miss.
 */
import { assert, assertEquals, assertRejects } from "@kodama/test-assert";
import { join } from "node:path";
import { loadWorkflowFile } from "../../../src/workflow/file.ts";
import { cacheKey, CHECKER_FILES, checkerStamp } from "../../../src/workflow/cache.ts";
import { pathKey } from "../../../src/workflow/positions.ts";

async function withHome(fn: (home: string, dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "kodama-wf-cache-test-" });
  const home = join(dir, "home");
  // the home is passed, never set in the process-wide environment (other test files run beside this one)
  try {
    await fn(home, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const entries = async (home: string) => {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(join(home, "cache", "workflows"))) out.push(e.name);
  } catch { /* no cache dir yet */ }
  return out;
};

const ONE =
  "targets:\n  d: { namespace: ns, pod: p }\nsteps:\n  - id: a\n    exec: { target: d, command: [echo, hi] }\n";

Deno.test("a valid workflow is cached (0600) and served from the cache while its text is unchanged", async () => {
  await withHome(async (home, dir) => {
    const file = join(dir, "one.yaml");
    await Deno.writeTextFile(file, ONE);
    const first = await loadWorkflowFile(file, "file", home);
    const names = await entries(home);
    assertEquals(names.length, 1);
    const entry = join(home, "cache", "workflows", names[0]);
    assertEquals((await Deno.stat(entry)).mode! & 0o777, 0o600);
    const stored = JSON.parse(await Deno.readTextFile(entry));
    assertEquals(stored.workflow, first.workflow);
    // every node's offset, in depth-first order: steps[0].exec.target is written after "target: "
    assert(stored.positions.offsets.includes(ONE.indexOf("target: d") + 8), JSON.stringify(stored.positions));

    // the second load reads the entry: prove it by planting a different (valid) workflow there
    // (of the same shape: an entry whose position table does not fit its workflow is not used)
    const planted = JSON.parse(JSON.stringify(first.workflow).replace('"hi"', '"from the cache"'));
    await Deno.writeTextFile(entry, JSON.stringify({ ...stored, workflow: planted }));
    const second = await loadWorkflowFile(file, "file", home);
    assertEquals(second.workflow, planted);
    assertEquals(second.text, ONE);

    // an entry of the earlier format (the workflow alone) is a miss
    await Deno.writeTextFile(entry, JSON.stringify(planted));
    assertEquals((await loadWorkflowFile(file, "file", home)).workflow, first.workflow);

    // a damaged entry is a miss: the file is checked again
    await Deno.writeTextFile(entry, "{not json");
    assertEquals((await loadWorkflowFile(file, "file", home)).workflow, first.workflow);
  });
});

Deno.test("a changed text is checked again; a file with problems is never cached", async () => {
  await withHome(async (home, dir) => {
    const file = join(dir, "one.yaml");
    await Deno.writeTextFile(file, ONE);
    await loadWorkflowFile(file, "file", home);
    await Deno.writeTextFile(file, ONE.replace("target: d", "target: nosuch"));
    await assertRejects(() => loadWorkflowFile(file, "file", home), "nosuch");
    assertEquals((await entries(home)).length, 1);
  });
});

Deno.test("the key covers the text, the path and whether files are checked", async () => {
  const base = { path: "/a/one.yaml", stem: "one", checkFiles: true, text: ONE };
  const k = await cacheKey(base);
  assertEquals(k, await cacheKey({ ...base }));
  for (
    const other of [{ text: ONE + "\n" }, { path: "/b/one.yaml" }, { checkFiles: false }, { stem: "two" }]
  ) {
    assert(k !== await cacheKey({ ...base, ...other }), JSON.stringify(other));
  }
});

Deno.test("a workflow with a script step on disk is checked every time (its module may be gone)", async () => {
  await withHome(async (home, dir) => {
    const file = join(dir, "s.yaml");
    await Deno.writeTextFile(join(dir, "mod.ts"), "export default () => ({});\n");
    await Deno.writeTextFile(file, "steps:\n  - script: { module: mod.ts }\n");
    await loadWorkflowFile(file, "file", home);
    assertEquals(await entries(home), []);
    await Deno.remove(join(dir, "mod.ts"));
    await assertRejects(() => loadWorkflowFile(file, "file", home), "mod.ts");
  });
});

Deno.test("a workflow served from the cache still knows its positions (run-time messages)", async () => {
  await withHome(async (home, dir) => {
    const file = join(dir, "one.yaml");
    await Deno.writeTextFile(
      file,
      "params:\n  x: { default: a }\n" + ONE.replace("[echo, hi]", '[echo, "${{ params.x }}"]'),
    );
    const first = await loadWorkflowFile(file, "file", home);
    assertEquals((await entries(home)).length, 1);
    const second = await loadWorkflowFile(file, "file", home);
    const path = ["steps", 0, "exec", "command", 1];
    assertEquals(second.pos!(path), first.pos!(path));
    assertEquals(second.exprPos!(path, 4), first.exprPos!(path, 4));
    assertEquals(first.pos!(path).line, 7);
    // and where its expressions may give any string (the engine's run-time check without zod)
    assertEquals([...second.freeStrings!], [pathKey(path)]);
    assertEquals([...first.freeStrings!], [pathKey(path)]);
  });
});

/** The local modules the loader imports, transitively, by value (type-only imports check nothing). */
function loaderImports(): string[] {
  const src = new URL("../../../src/", import.meta.url);
  const re = /^(?:import|export)\s+(?!type\b)[^;]*?from\s+"(\.{1,2}\/[^"]+)"/gms;
  const seen = new Set<string>();
  const todo = ["workflow/load.ts"];
  while (todo.length) {
    const f = todo.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    for (const m of Deno.readTextFileSync(new URL(f, src)).matchAll(re)) {
      todo.push(new URL(m[1], new URL(f, src)).href.slice(src.href.length));
    }
  }
  return [...seen].sort();
}

Deno.test("the checker stamp covers every module the loader imports, also outside src/workflow/", () => {
  const covered = new Set<string>(CHECKER_FILES);
  const missing = loaderImports().filter((f) => !covered.has(f));
  assertEquals(missing, [], "add these to CHECKER_FILES in src/workflow/cache.ts");
  for (
    const f of ["base/text/yamlguard.ts", "base/text/yamlpos.ts", "workflow/file.ts", "workflow/cache.ts"]
  ) {
    assert(covered.has(f), f);
  }
});

Deno.test("a changed checker module changes the stamp, wherever it lives", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kodama-wf-stamp-test-" });
  try {
    const src = new URL(`file://${dir.replaceAll("\\", "/").replace(/^\/?/, "/")}/`);
    const old = new Date("2020-01-01T00:00:00Z");
    for (const f of CHECKER_FILES) {
      const u = new URL(f, src);
      await Deno.mkdir(new URL(".", u), { recursive: true });
      await Deno.writeTextFile(u, "");
      await Deno.utime(u, old, old);
    }
    const before = checkerStamp(src);
    assertEquals(before, String(old.getTime()));
    for (const [i, f] of CHECKER_FILES.entries()) {
      const t = new Date(old.getTime() + (i + 1) * 1000);
      await Deno.utime(new URL(f, src), t, t);
      const now = checkerStamp(src);
      assert(now !== before && now === String(t.getTime()), f);
    }
    // a missing checker source (a compiled binary) falls back to the version alone
    await Deno.remove(new URL("base/text/yamlpos.ts", src));
    assertEquals(checkerStamp(src), "0");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("kodama's own stamp is a real modification time", () => {
  assert(Number(checkerStamp()) > 0);
});
