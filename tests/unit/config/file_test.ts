import { assert, assertEquals, assertRejects, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { KodamaError } from "../../../src/base/errors.ts";
import {
  configGetCommand,
  configKeysCommand,
  configPathCommand,
  configSetCommand,
  configUnsetCommand,
  configViewCommand,
} from "../../../src/config/commands.ts";
import { acquireLock, atomicWrite } from "../../../src/config/atomic.ts";

async function tmp() {
  const root = await Deno.makeTempDir({ prefix: "kodama-cfgfile-" });
  const home = join(root, "home");
  const repo = join(root, "repo");
  await Deno.mkdir(join(repo, ".git"), { recursive: true });
  return {
    root,
    home,
    repo,
    file: join(home, "config.yaml"),
    [Symbol.asyncDispose]: () => Deno.remove(root, { recursive: true }),
  };
}

const COMMENTED = `# kodama settings — hand-written
defaults:
  # where my sessions go
  namespace: dev # team namespace
  image: my/image:1
  resources:
    memory: 4Gi # plenty
exec:
  maxParallel: 8

# trailing comment
`;

Deno.test("set keeps comments and key order; values are typed in YAML", async () => {
  await using t = await tmp();
  await Deno.mkdir(t.home);
  await Deno.writeTextFile(t.file, COMMENTED);
  await configSetCommand("defaults.resources.cpu", "2", { home: t.home, cwd: t.repo });
  await configSetCommand("exec.maxParallel", "64", { home: t.home, cwd: t.repo });
  await configSetCommand("picker.preview", "false", { home: t.home, cwd: t.repo });
  const text = await Deno.readTextFile(t.file);
  for (
    const c of [
      "# kodama settings — hand-written",
      "# where my sessions go",
      "# team namespace",
      "# plenty",
      "# trailing comment",
    ]
  ) {
    assertStringIncludes(text, c);
  }
  assertStringIncludes(text, '    memory: 4Gi # plenty\n    cpu: "2"\n');
  assertStringIncludes(text, "  maxParallel: 64\n");
  assertStringIncludes(text, "picker:\n  preview: false\n");
  // original key order kept
  assert(text.indexOf("namespace:") < text.indexOf("image:"));
  assert(text.indexOf("defaults:") < text.indexOf("exec:"));
  assertEquals(
    (await configGetCommand("defaults.resources.cpu", { home: t.home, cwd: t.repo })).stdout,
    "2\n",
  );
});

Deno.test("unset removes the key, prunes emptied sections and keeps other comments", async () => {
  await using t = await tmp();
  await Deno.mkdir(t.home);
  await Deno.writeTextFile(t.file, COMMENTED);
  await configUnsetCommand("defaults.resources.memory", { home: t.home, cwd: t.repo });
  await configUnsetCommand("exec.maxParallel", { home: t.home, cwd: t.repo });
  const text = await Deno.readTextFile(t.file);
  assert(!text.includes("memory"), text);
  assert(!text.includes("resources"), text);
  assert(!text.includes("exec"), text);
  assertStringIncludes(text, "namespace: dev # team namespace");
  assertStringIncludes(text, "# trailing comment");
  const r = await configUnsetCommand("exec.maxParallel", { home: t.home, cwd: t.repo });
  assertStringIncludes(r.stderr ?? "", "was not set");
});

Deno.test("set creates the file with mode 0600 atomically, leaving no temp or lock files", async () => {
  await using t = await tmp();
  await configSetCommand("defaults.namespace", "dev", { home: t.home, cwd: t.repo });
  assertEquals((await Deno.stat(t.file)).mode! & 0o777, 0o600);
  assertEquals(await Deno.readTextFile(t.file), "defaults:\n  namespace: dev\n");
  const names = [];
  for await (const e of Deno.readDir(t.home)) names.push(e.name);
  assertEquals(names, ["config.yaml"]);
  // an existing file with a loose mode is rewritten as 0600
  await Deno.chmod(t.file, 0o644);
  await configSetCommand("defaults.namespace", "dev2", { home: t.home, cwd: t.repo });
  assertEquals((await Deno.stat(t.file)).mode! & 0o777, 0o600);
});

Deno.test("atomicWrite replaces content in one step", async () => {
  await using t = await tmp();
  const p = join(t.root, "x", "f.yaml");
  await atomicWrite(p, "a: 1\n");
  await atomicWrite(p, "a: 2\n");
  assertEquals(await Deno.readTextFile(p), "a: 2\n");
  assertEquals([...Deno.readDirSync(join(t.root, "x"))].map((e) => e.name), ["f.yaml"]);
});

Deno.test("concurrent sets all land (lock file serialises read-modify-write)", async () => {
  await using t = await tmp();
  const keys: [string, string][] = [
    ["defaults.namespace", "ns1"],
    ["defaults.context", "ctx"],
    ["exec.maxParallel", "7"],
    ["picker.preview", "false"],
    ["logs.maxStreams", "9"],
    ["defaults.resources.cpu", "250m"],
  ];
  await Promise.all(keys.map(([k, v]) => configSetCommand(k, v, { home: t.home, cwd: t.repo })));
  for (const [k, v] of keys) {
    assertEquals((await configGetCommand(k, { home: t.home, cwd: t.repo })).stdout, v + "\n", k);
  }
  assert(![...Deno.readDirSync(t.home)].some((e) => e.name.endsWith(".lock") || e.name.endsWith(".tmp")));
});

Deno.test("a held lock blocks, a stale lock (>10 s) is broken", async () => {
  await using t = await tmp();
  await Deno.mkdir(t.home);
  const release = await acquireLock(t.file);
  let done = false;
  const pending = configSetCommand("defaults.namespace", "late", { home: t.home, cwd: t.repo }).then(() =>
    done = true
  );
  // fixed: proves set does not go on while the lock is held (what does not happen has no event)
  await new Promise((r) => setTimeout(r, 150));
  assertEquals(done, false, "set must wait for the lock");
  await release();
  await pending;
  assertEquals(
    (await configGetCommand("defaults.namespace", { home: t.home, cwd: t.repo })).stdout,
    "late\n",
  );

  // stale: lock file left by a crashed process 30 s ago
  const lock = t.file + ".lock";
  await Deno.writeTextFile(lock, "99999\n");
  const old = new Date(Date.now() - 30_000);
  await Deno.utime(lock, old, old);
  await configSetCommand("defaults.namespace", "after-stale", { home: t.home, cwd: t.repo });
  assertEquals(
    (await configGetCommand("defaults.namespace", { home: t.home, cwd: t.repo })).stdout,
    "after-stale\n",
  );
});

Deno.test("--repo writes .kodama.yaml at the git root; path --repo is exit 3 when missing", async () => {
  await using t = await tmp();
  const cwd = join(t.repo, "a", "b");
  await Deno.mkdir(cwd, { recursive: true });
  const e = await assertRejects(() => configPathCommand({ repo: true, home: t.home, cwd }));
  assert(e instanceof KodamaError);
  assertEquals(e.code, 3);
  await configSetCommand("defaults.namespace", "team", { repo: true, home: t.home, cwd });
  assertEquals(
    (await configPathCommand({ repo: true, home: t.home, cwd })).stdout,
    join(t.repo, ".kodama.yaml") + "\n",
  );
  assertEquals((await configPathCommand({ home: t.home, cwd })).stdout, join(t.home, "config.yaml") + "\n");
  // outside a repo, --repo set is not found
  const outside = join(t.root, "elsewhere");
  await Deno.mkdir(outside);
  const e2 = await assertRejects(() =>
    configSetCommand("defaults.namespace", "x", { repo: true, home: t.home, cwd: outside })
  );
  assertEquals((e2 as KodamaError).code, 3);
});

Deno.test("view --resolved shows value and source for each key", async () => {
  await using t = await tmp();
  await configSetCommand("defaults.resources.cpu", "2", { home: t.home, cwd: t.repo });
  await configSetCommand("defaults.namespace", "team", { repo: true, home: t.home, cwd: t.repo });
  const flags = { "defaults.context": "kind-dev" };
  const json = JSON.parse(
    (await configViewCommand({ resolved: true, output: "json", flags, home: t.home, cwd: t.repo })).stdout,
  );
  assertEquals(json["defaults.resources.cpu"], { value: "2", source: "global" });
  assertEquals(json["defaults.namespace"], { value: "team", source: "repo" });
  assertEquals(json["defaults.context"], { value: "kind-dev", source: "flag" });
  assertEquals(json["exec.maxParallel"], { value: 32, source: "default" });
  const table = (await configViewCommand({ resolved: true, flags, home: t.home, cwd: t.repo })).stdout;
  assertEquals(table.split("\n")[0].split(/\s+/), ["KEY", "VALUE", "SOURCE"]);
  assert(/^defaults\.namespace\s+team\s+repo$/m.test(table), table);
  assert(/^defaults\.resources\.cpu\s+2\s+global$/m.test(table), table);
  const yaml =
    (await configViewCommand({ resolved: true, output: "yaml", home: t.home, cwd: t.repo })).stdout;
  assertStringIncludes(yaml, "defaults.namespace:\n  value: team\n  source: repo\n");
});

Deno.test("view prints the file as written; -o json as data; get handles sections, lists, unset", async () => {
  await using t = await tmp();
  await Deno.mkdir(t.home);
  await Deno.writeTextFile(t.file, COMMENTED);
  assertEquals((await configViewCommand({ home: t.home, cwd: t.repo })).stdout, COMMENTED);
  const data = JSON.parse((await configViewCommand({ output: "json", home: t.home, cwd: t.repo })).stdout);
  assertEquals(data.exec.maxParallel, 8);
  const section = await configGetCommand("defaults.resources", { output: "json", home: t.home, cwd: t.repo });
  assertEquals(JSON.parse(section.stdout), { cpu: "1", memory: "4Gi" });
  await configSetCommand("workflows.paths", "[a, b]", { home: t.home, cwd: t.repo });
  assertEquals((await configGetCommand("workflows.paths", { home: t.home, cwd: t.repo })).stdout, "a\nb\n");
  const e = await assertRejects(() => configGetCommand("defaults.context", { home: t.home, cwd: t.repo }));
  assertEquals((e as KodamaError).code, 3);
  const e2 = await assertRejects(() =>
    configSetCommand("defaults.resources", "2", { home: t.home, cwd: t.repo })
  );
  assertStringIncludes(e2.message, "is a section");
  const missing = await configViewCommand({ home: join(t.root, "nohome"), cwd: t.repo });
  assertEquals(missing.stdout, "");
  assertStringIncludes(missing.stderr ?? "", "no config file");
});

Deno.test("set can repair a hand-edited invalid value", async () => {
  await using t = await tmp();
  await Deno.mkdir(t.home);
  await Deno.writeTextFile(t.file, "defaults:\n  resources:\n    cpu: banana # oops\n");
  await assertRejects(
    () => configGetCommand("defaults.resources.cpu", { home: t.home, cwd: t.repo }),
    "banana",
  );
  await configSetCommand("defaults.resources.cpu", "3", { home: t.home, cwd: t.repo });
  assertEquals(
    (await configGetCommand("defaults.resources.cpu", { home: t.home, cwd: t.repo })).stdout,
    "3\n",
  );
  assertStringIncludes(await Deno.readTextFile(t.file), "# oops");
});

Deno.test("keys lists every key with type and default", () => {
  const out = configKeysCommand({}).stdout;
  assertStringIncludes(out, "defaults.resources.cpu  CPU quantity (e.g. 2, 500m, 1.5)  (default 1)");
  const json = JSON.parse(configKeysCommand({ output: "json" }).stdout) as { key: string }[];
  assert(json.some((k) => k.key === "exec.maxParallel"));
});

Deno.test("notify.webhook is a secret: set, get, view and view --resolved show it masked", async () => {
  await using t = await tmp();
  const url = "https://hooks.example.com/services/T0/B0/s3cr3tXYZ?token=alsoSecret";
  const s = { home: t.home, cwd: t.repo };
  const set = await configSetCommand("notify.webhook", url, s);
  assertStringIncludes(set.stderr!, "notify.webhook = https://hooks.example.com/***");
  assertStringIncludes(await Deno.readTextFile(t.file), url);
  const shown = [
    set.stderr!,
    (await configGetCommand("notify.webhook", s)).stdout,
    (await configGetCommand("notify", s)).stdout,
    (await configViewCommand(s)).stdout,
    (await configViewCommand({ ...s, output: "json" })).stdout,
    (await configViewCommand({ ...s, resolved: true })).stdout,
    (await configViewCommand({ ...s, resolved: true, output: "json" })).stdout,
  ];
  for (const out of shown) {
    assert(!out.includes("s3cr3tXYZ") && !out.includes("alsoSecret"), out);
  }
  assertStringIncludes(shown[3], "webhook: https://hooks.example.com/***");
  // the file itself keeps the real value
  assertStringIncludes(await Deno.readTextFile(t.file), url);
  const e = await configSetCommand("notify.webhook", "file:///etc/passwd", s).catch((x) => x);
  assert(e instanceof KodamaError, String(e));
  assertStringIncludes(e.message, "must be an http:// or https:// URL");
});
