/**
 * The cache of the resolved configuration (src/config/cache.ts): the same values, origin, warnings and
 * errors as loadConfig, served without the YAML parser and zod while the files are unchanged; any edit
 * (even one of the same size) is a miss; a bad file gets loadConfig's own error every time.
 */
import { assert, assertEquals, assertNotEquals, assertRejects } from "@kodama/test-assert";
import { join } from "node:path";
import { KodamaError } from "../../../src/base/errors.ts";
import { loadConfig, originOf } from "../../../src/config/load.ts";
import { CONFIG_CODE, configCodeStamp, loadConfigCached, MAX_ENTRIES } from "../../../src/config/cache.ts";
import { configSchema } from "../../../src/config/schema.ts";
import { lockEnv } from "../../_env_lock.ts";

/**
 * The cache's key holds the home directory (HOME): files run on threads of one process, and a test of
 * another file that sets HOME under the lock moved it between two loads here (a hit read as a miss, once
 * under three jobs). Every test here holds the environment lock while it loads.
 */
function envTest(name: string, fn: () => void | Promise<void>, ignore = false): void {
  Deno.test({
    name,
    ignore,
    fn: async () => {
      const unlock = await lockEnv();
      try {
        await fn();
      } finally {
        unlock();
      }
    },
  });
}

async function world() {
  const root = await Deno.makeTempDir({ prefix: "kodama-cfg-cache-" });
  const home = join(root, "home");
  const repo = join(root, "repo");
  await Deno.mkdir(home, { recursive: true });
  await Deno.mkdir(join(repo, ".git"), { recursive: true });
  return {
    root,
    home,
    repo,
    writeGlobal: (t: string) => Deno.writeTextFile(join(home, "config.yaml"), t),
    writeRepo: (t: string) => Deno.writeTextFile(join(repo, ".kodama.yaml"), t),
    entries: async () => {
      const out: string[] = [];
      try {
        for await (const e of Deno.readDir(join(home, "cache", "config"))) out.push(e.name);
      } catch { /* no cache yet */ }
      return out;
    },
    [Symbol.asyncDispose]: () => Deno.remove(root, { recursive: true }),
  };
}

const GLOBAL =
  'defaults:\n  namespace: team-a\n  resources:\n    cpu: "2"\n  storage:\n    poolRefill: false\n' +
  "sync:\n  ignore: [dist, .cache]\nnonsense: 1\n";

envTest(
  "a config is cached (0600) and served from the cache, with the values, origin and warnings of loadConfig",
  async () => {
    await using w = await world();
    await w.writeGlobal(GLOBAL);
    const fresh = await loadConfig({ home: w.home, cwd: w.repo });
    const first = await loadConfigCached({ home: w.home, cwd: w.repo });
    assertEquals(first.hit, false);
    const names = await w.entries();
    assertEquals(names.length, 1);
    if (Deno.build.os !== "windows") {
      assertEquals((await Deno.stat(join(w.home, "cache", "config", names[0]))).mode! & 0o777, 0o600);
    }
    const second = await loadConfigCached({ home: w.home, cwd: w.repo });
    assertEquals(second.hit, true);
    assertEquals(second.values, fresh.values);
    assertEquals(second.values.defaults.namespace, "team-a");
    assertEquals(second.values.defaults.resources.cpu, "2");
    assertEquals(second.sources["defaults.namespace"], "global");
    assertEquals(second.sources["defaults.resources.memory"], "default");
    // the unknown key's warning (file:line and all) comes every time, as from the file itself
    assertEquals(second.warnings, fresh.warnings);
    assert(second.warnings.some((x) => x.includes("nonsense")), second.warnings.join("\n"));
    assertEquals(originOf(second.values)?.sources, fresh.sources);
  },
);

envTest("an edit of the file is a miss with the new values, even at the same size and time", async () => {
  await using w = await world();
  const path = join(w.home, "config.yaml");
  await w.writeGlobal("defaults:\n  namespace: aaaa\n");
  const { mtime } = await Deno.stat(path);
  assertEquals((await loadConfigCached({ home: w.home, cwd: w.repo })).values.defaults.namespace, "aaaa");
  assertEquals((await loadConfigCached({ home: w.home, cwd: w.repo })).hit, true);
  await w.writeGlobal("defaults:\n  namespace: bbbb\n");
  await Deno.utime(path, mtime!, mtime!); // same size, same modification time: only the text differs
  const after = await loadConfigCached({ home: w.home, cwd: w.repo });
  assertEquals(after.hit, false);
  assertEquals(after.values.defaults.namespace, "bbbb");
  // and back: the first entry is still good for the first text
  await w.writeGlobal("defaults:\n  namespace: aaaa\n");
  const back = await loadConfigCached({ home: w.home, cwd: w.repo });
  assertEquals([back.hit, back.values.defaults.namespace], [true, "aaaa"]);
  // a new repo file is part of the key too
  await w.writeRepo('defaults:\n  resources:\n    cpu: "3"\n');
  const repo = await loadConfigCached({ home: w.home, cwd: w.repo });
  assertEquals([repo.hit, repo.values.defaults.resources.cpu, repo.sources["defaults.resources.cpu"]], [
    false,
    "3",
    "repo",
  ]);
  assertEquals(repo.fromRepo, { "defaults.resources.cpu": "3" });
  const again = await loadConfigCached({ home: w.home, cwd: w.repo });
  assertEquals([again.hit, again.fromRepo], [true, { "defaults.resources.cpu": "3" }]);
});

envTest(
  "a bad file gets loadConfig's own error (message, exit code) every time, and nothing is cached",
  async () => {
    await using w = await world();
    await w.writeGlobal("defaults:\n  namespace: ok\n");
    await loadConfigCached({ home: w.home, cwd: w.repo });
    assertEquals((await loadConfigCached({ home: w.home, cwd: w.repo })).hit, true);
    for (
      const bad of [
        "defaults:\n  resources:\n    cpu: lots\n",
        "defaults: [\n",
        "defaults:\n  idleStop: soon\n",
      ]
    ) {
      await w.writeGlobal(bad);
      const want = await assertRejects(() => loadConfig({ home: w.home, cwd: w.repo })) as KodamaError;
      assert(want instanceof KodamaError, String(want));
      for (let i = 0; i < 2; i++) {
        const got = await assertRejects(() => loadConfigCached({ home: w.home, cwd: w.repo })) as KodamaError;
        assert(got instanceof KodamaError, String(got));
        assertEquals([got.message, got.code, got.hint], [want.message, want.code, want.hint]);
      }
    }
    assertEquals((await w.entries()).length, 1);
  },
);

envTest(
  "a repo file naming local paths (repoPath keys) is never cached: its verdict depends on the repository",
  async () => {
    await using w = await world();
    await w.writeRepo("env:\n  dotenvFiles: [.env]\n");
    const first = await loadConfigCached({ home: w.home, cwd: w.repo });
    const second = await loadConfigCached({ home: w.home, cwd: w.repo });
    assertEquals([first.hit, second.hit], [false, false]);
    assertEquals(second.values.env.dotenvFiles, [".env"]);
    assertEquals(await w.entries(), []);
    // a path leading outside it, after the repo changed: refused, as loadConfig refuses it
    await Deno.remove(join(w.repo, ".git"), { recursive: true });
    await Deno.mkdir(join(w.repo, ".git"));
    await Deno.symlink(w.root, join(w.repo, "out"));
    await w.writeRepo("env:\n  dotenvFiles: [out/x.env]\n");
    const refused = await loadConfigCached({ home: w.home, cwd: w.repo });
    assertEquals(refused.values.env.dotenvFiles, []);
    assertEquals(refused.refused.map((r) => r.key), ["env.dotenvFiles"]);
  },
);

envTest("no files: the schema's defaults, cached too", async () => {
  await using w = await world();
  const first = await loadConfigCached({ home: w.home, cwd: w.repo });
  const second = await loadConfigCached({ home: w.home, cwd: w.repo });
  assertEquals([first.hit, second.hit], [false, true]);
  assertEquals(second.values, configSchema.parse({}));
  assertEquals(second.warnings, []);
});

/** The local modules loadConfig imports, transitively, statically or by import() (type-only: nothing). */
function configImports(): string[] {
  const src = new URL("../../../src/", import.meta.url);
  const re = /(?:^(?:import|export)\s+(?!type\b)[^;]*?from\s+|\bimport\()"(\.{1,2}\/[^"]+)"/gms;
  const seen = new Set<string>();
  const todo = ["config/load.ts", "config/cache.ts"];
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

envTest("the config code stamp covers every module loadConfig imports", () => {
  const covered = new Set<string>(CONFIG_CODE);
  const missing = configImports().filter((f) => !covered.has(f));
  assertEquals(missing, [], "add these to CONFIG_CODE in src/config/cache.ts");
  assert(covered.has("config/schema.ts") && covered.has("config/file.ts"));
});

envTest("a changed config module changes the stamp", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kodama-cfg-stamp-test-" });
  try {
    const src = new URL(`file://${dir.replaceAll("\\", "/").replace(/^\/?/, "/")}/`);
    const old = new Date("2020-01-01T00:00:00Z");
    for (const f of CONFIG_CODE) {
      const u = new URL(f, src);
      await Deno.mkdir(new URL(".", u), { recursive: true });
      await Deno.writeTextFile(u, "");
      await Deno.utime(u, old, old);
    }
    const before = configCodeStamp(src);
    await Deno.utime(new URL("config/schema.ts", src), new Date(), new Date());
    assertNotEquals(configCodeStamp(src), before);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

envTest("the cache keeps the newest entries: each edit makes one, the oldest go on a write", async () => {
  await using w = await world();
  const dir = join(w.home, "cache", "config");
  await Deno.mkdir(dir, { recursive: true });
  const old = new Date("2020-01-01T00:00:00Z");
  for (let i = 0; i < MAX_ENTRIES + 5; i++) {
    const f = join(dir, `${String(i).padStart(64, "0")}.json`);
    await Deno.writeTextFile(f, "{}");
    await Deno.utime(f, old, old);
  }
  await w.writeGlobal("defaults:\n  namespace: newest\n");
  const r = await loadConfigCached({ home: w.home, cwd: w.repo });
  assertEquals(r.hit, false);
  const names = await w.entries();
  assertEquals(names.length, MAX_ENTRIES);
  // the entry just written is one of them, and it serves the next command
  const again = await loadConfigCached({ home: w.home, cwd: w.repo });
  assertEquals([again.hit, again.values.defaults.namespace], [true, "newest"]);
});

envTest(
  "an entry another could have written (a link, a group- or world-writable file or directory) is a miss",
  async () => {
    await using w = await world();
    await w.writeGlobal(GLOBAL);
    assertEquals((await loadConfigCached({ home: w.home, cwd: w.repo })).hit, false);
    const dir = join(w.home, "cache", "config");
    const [name] = await w.entries();
    const file = join(dir, name);
    // a forged entry: the same shape, another namespace
    const forged = JSON.parse(await Deno.readTextFile(file));
    forged.values.defaults.namespace = "evil";
    const forge = async () => {
      await Deno.remove(file).catch(() => {});
      await Deno.writeTextFile(file, JSON.stringify(forged), { mode: 0o600 });
      await Deno.chmod(file, 0o600);
    };
    // the control: a forged entry of this user's in a private directory is served (so the cases below count)
    await forge();
    assertEquals((await loadConfigCached({ home: w.home, cwd: w.repo })).values.defaults.namespace, "evil");
    // a world-writable directory
    await Deno.chmod(dir, 0o777);
    let got = await loadConfigCached({ home: w.home, cwd: w.repo });
    assertEquals([got.hit, got.values.defaults.namespace], [false, "team-a"]);
    await Deno.chmod(dir, 0o700);
    // a group-writable entry
    await forge();
    await Deno.chmod(file, 0o620);
    got = await loadConfigCached({ home: w.home, cwd: w.repo });
    assertEquals([got.hit, got.values.defaults.namespace], [false, "team-a"]);
    // a link to a forged file elsewhere
    const elsewhere = join(w.root, "forged.json");
    await Deno.writeTextFile(elsewhere, JSON.stringify(forged), { mode: 0o600 });
    await Deno.remove(file);
    await Deno.symlink(elsewhere, file);
    got = await loadConfigCached({ home: w.home, cwd: w.repo });
    assertEquals([got.hit, got.values.defaults.namespace], [false, "team-a"]);
  },
  Deno.build.os === "windows",
);
