import { assert, assertEquals, assertRejects, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { KodamaError } from "../../../src/base/errors.ts";
import { loadConfig } from "../../../src/config/mod.ts";
import { findRepo } from "../../../src/config/paths.ts";

async function world() {
  const root = await Deno.makeTempDir({ prefix: "kodama-cfg-" });
  const home = join(root, "home");
  const repo = join(root, "outer", "repo");
  const cwd = join(repo, "pkg", "sub");
  await Deno.mkdir(home, { recursive: true });
  await Deno.mkdir(join(repo, ".git"), { recursive: true });
  await Deno.mkdir(cwd, { recursive: true });
  return {
    root,
    home,
    repo,
    cwd,
    writeGlobal: (t: string) => Deno.writeTextFile(join(home, "config.yaml"), t),
    writeRepo: (t: string, dir = repo) => Deno.writeTextFile(join(dir, ".kodama.yaml"), t),
    [Symbol.asyncDispose]: () => Deno.remove(root, { recursive: true }),
  };
}

Deno.test("no files: built-in defaults, sources say default, unset keys absent", async () => {
  await using w = await world();
  const cfg = await loadConfig({ home: w.home, cwd: w.cwd });
  assertEquals(cfg.values.defaults.resources.cpu, "1");
  assertEquals(cfg.values.exec.maxParallel, 32);
  assertEquals(cfg.values.defaults.namespace, undefined);
  assertEquals(cfg.sources["defaults.resources.cpu"], "default");
  assertEquals("defaults.namespace" in cfg.sources, false);
  assertEquals(cfg.files.global, join(w.home, "config.yaml"));
  assertEquals(cfg.files.repo, undefined);
  assertEquals(cfg.files.gitRoot, w.repo);
});

Deno.test("precedence flags > repo > global > default, with sources", async () => {
  await using w = await world();
  await w.writeGlobal(
    "defaults:\n  namespace: global-ns\n  resources:\n    cpu: 2\n    memory: 8Gi\nexec:\n  maxParallel: 10\nworkflows:\n  paths: [g1, g2]\n",
  );
  await w.writeRepo(
    "defaults:\n  namespace: repo-ns\n  resources:\n    cpu: 500m\nworkflows:\n  paths: [r1]\n",
  );
  const cfg = await loadConfig({
    home: w.home,
    cwd: w.cwd,
    flags: { "exec.maxParallel": 3, "defaults.context": undefined },
  });
  assertEquals(cfg.values.defaults.namespace, "repo-ns");
  assertEquals(cfg.sources["defaults.namespace"], "repo");
  assertEquals(cfg.values.defaults.resources.cpu, "500m");
  assertEquals(cfg.sources["defaults.resources.cpu"], "repo");
  // sibling keys of a merged mapping come from the lower level
  assertEquals(cfg.values.defaults.resources.memory, "8Gi");
  assertEquals(cfg.sources["defaults.resources.memory"], "global");
  assertEquals(cfg.values.exec.maxParallel, 3);
  assertEquals(cfg.sources["exec.maxParallel"], "flag");
  // lists replace, not concatenate
  assertEquals(cfg.values.workflows.paths, ["r1"]);
  assertEquals(cfg.values.defaults.image, "ghcr.io/illumination-k/kodama-claude:latest");
  assertEquals(cfg.sources["defaults.image"], "default");
  assertEquals("defaults.context" in cfg.sources, false);
  assertEquals(cfg.files.repo, join(w.repo, ".kodama.yaml"));
});

Deno.test("YAML numbers for quantities become strings", async () => {
  await using w = await world();
  await w.writeGlobal("defaults:\n  resources:\n    cpu: 1.5\n");
  const cfg = await loadConfig({ home: w.home, cwd: w.cwd });
  assertEquals(cfg.values.defaults.resources.cpu, "1.5");
});

Deno.test("repo search stops at the git root", async () => {
  await using w = await world();
  // a .kodama.yaml above the git root must not be used
  await w.writeRepo("defaults:\n  namespace: outside\n", join(w.root, "outer"));
  let cfg = await loadConfig({ home: w.home, cwd: w.cwd });
  assertEquals(cfg.values.defaults.namespace, undefined);
  // the nearest one below the git root wins
  await w.writeRepo("defaults:\n  namespace: pkg\n", join(w.repo, "pkg"));
  await w.writeRepo("defaults:\n  namespace: root\n");
  cfg = await loadConfig({ home: w.home, cwd: w.cwd });
  assertEquals(cfg.values.defaults.namespace, "pkg");
  assertEquals((await findRepo(w.cwd)).gitRoot, w.repo);
  // outside any repository the walk goes up to / and finds the outer file
  const loc = await findRepo(join(w.root, "outer"));
  assertEquals(loc.configFile, join(w.root, "outer", ".kodama.yaml"));
});

Deno.test("malformed YAML: usage error with file:line:column on one line", async () => {
  await using w = await world();
  await w.writeGlobal("defaults:\n  namespace: a\n  resources: b: c\n");
  const e = await assertRejects(() => loadConfig({ home: w.home, cwd: w.cwd }));
  assert(e instanceof KodamaError);
  assertEquals(e.code, 2);
  assertStringIncludes(e.message, join(w.home, "config.yaml") + ":3:");
  assertStringIncludes(e.message, "invalid YAML");
  assert(!e.message.includes("\n"));
});

Deno.test("invalid value in a file: error names file, position, key and format", async () => {
  await using w = await world();
  await w.writeRepo("# team settings\ndefaults:\n  resources:\n    cpu: banana\n");
  const e = await assertRejects(() => loadConfig({ home: w.home, cwd: w.cwd }));
  assert(e instanceof KodamaError);
  assertEquals(e.code, 2);
  assertStringIncludes(
    e.message,
    `${
      join(w.repo, ".kodama.yaml")
    }:4:10: invalid value for defaults.resources.cpu: "banana" is not a CPU quantity`,
  );
  assertStringIncludes(e.hint ?? "", "kodama config set defaults.resources.cpu --repo");
});

Deno.test("unknown keys are ignored with a positioned warning and a suggestion", async () => {
  await using w = await world();
  await w.writeGlobal("defaults:\n  namespace: x\n  resoures:\n    cpu: 2\nfuture: 1\n");
  const cfg = await loadConfig({ home: w.home, cwd: w.cwd });
  assertEquals(cfg.values.defaults.namespace, "x");
  assertEquals(cfg.warnings.length, 2);
  assertStringIncludes(cfg.warnings[0], ':3:3: unknown config key "defaults.resoures" ignored');
  assertStringIncludes(cfg.warnings[0], "did you mean defaults.resources?");
  assertStringIncludes(cfg.warnings[1], 'unknown config key "future"');
});

Deno.test("README spelling defaults.env.* is read as env.*; empty values mean unset", async () => {
  await using w = await world();
  await w.writeGlobal("defaults:\n  namespace:\n  env:\n    excludeVars: [SYSTEM_SPECIFIC_VAR]\n");
  const cfg = await loadConfig({ home: w.home, cwd: w.cwd });
  assertEquals(cfg.values.env.excludeVars, ["SYSTEM_SPECIFIC_VAR"]);
  assertEquals(cfg.sources["env.excludeVars"], "global");
  assertEquals(cfg.values.defaults.namespace, undefined);
  assertEquals(cfg.warnings, []);
});

Deno.test("flags are validated and must be known keys", async () => {
  await using w = await world();
  let e = await assertRejects(() =>
    loadConfig({ home: w.home, cwd: w.cwd, flags: { "defaults.namespace": "Not OK" } })
  );
  assertStringIncludes(e.message, "invalid value for defaults.namespace");
  e = await assertRejects(() =>
    loadConfig({ home: w.home, cwd: w.cwd, flags: { "defaults.nmespace": "x" } })
  );
  assertStringIncludes(e.message, "did you mean defaults.namespace?");
});
