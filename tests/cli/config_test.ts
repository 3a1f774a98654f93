/** Black-box tests of `kodama config ...` run as a subprocess with KODAMA_HOME in a temp dir and cwd in a temp git repo. */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { hasStackTrace, runKodama } from "./_run.ts";

async function sandbox() {
  const root = await Deno.makeTempDir({ prefix: "kodama-cli-config-" });
  const home = join(root, "kodama-home");
  const repo = join(root, "repo");
  const cwd = join(repo, "src");
  await Deno.mkdir(join(repo, ".git"), { recursive: true });
  await Deno.mkdir(cwd, { recursive: true });
  return {
    home,
    repo,
    cwd,
    file: join(home, "config.yaml"),
    run: (...args: string[]) => runKodama(["config", ...args], { env: { KODAMA_HOME: home }, cwd }),
    [Symbol.asyncDispose]: () => Deno.remove(root, { recursive: true }),
  };
}

Deno.test("config set with a bad CPU value: exit 2, key path and expected format, no stack trace", async () => {
  await using s = await sandbox();
  const r = await s.run("set", "defaults.resources.cpu", "banana");
  assertEquals(r.code, 2);
  assertStringIncludes(
    r.stderr,
    'invalid value for defaults.resources.cpu: "banana" is not a CPU quantity (expected e.g. 2, 500m, 1.5)',
  );
  assert(!hasStackTrace(r.stderr), r.stderr);
  assertEquals(r.stdout, "");
  // nothing was written
  await Deno.stat(s.file).then(() => assert(false, "file must not exist"), () => {});

  const unknown = await s.run("set", "defaults.resources.cpus", "2");
  assertEquals(unknown.code, 2);
  assertStringIncludes(unknown.stderr, "did you mean defaults.resources.cpu?");
  assert(!hasStackTrace(unknown.stderr));
});

Deno.test("config set/get round trip keeps comments in the file", async () => {
  await using s = await sandbox();
  await Deno.mkdir(s.home, { recursive: true });
  await Deno.writeTextFile(s.file, "# my kodama config\ndefaults:\n  image: my/img:2 # pinned\n");
  const set = await s.run("set", "defaults.resources.cpu", "2");
  assertEquals(set.code, 0, set.stderr);
  const text = await Deno.readTextFile(s.file);
  assertStringIncludes(text, "# my kodama config");
  assertStringIncludes(text, "image: my/img:2 # pinned");
  assertStringIncludes(text, 'cpu: "2"');
  assertEquals((await Deno.stat(s.file)).mode! & 0o777, 0o600);
  const get = await s.run("get", "defaults.resources.cpu");
  assertEquals([get.code, get.stdout], [0, "2\n"]);
  const view = await s.run("view");
  assertEquals(view.stdout, text);
  const path = await s.run("path");
  assertEquals(path.stdout, s.file + "\n");
});

Deno.test("config view --resolved shows flag/repo/global/default sources", async () => {
  await using s = await sandbox();
  assertEquals((await s.run("set", "exec.maxParallel", "12")).code, 0);
  assertEquals((await s.run("set", "defaults.namespace", "team-a", "--repo")).code, 0);
  assertEquals((await s.run("path", "--repo")).stdout, join(s.repo, ".kodama.yaml") + "\n");
  const table = await s.run("view", "--resolved", "--context", "kind-dev");
  assertEquals(table.code, 0, table.stderr);
  assertMatch(table.stdout, /^KEY\s+VALUE\s+SOURCE\n/);
  assertMatch(table.stdout, /^defaults\.namespace\s+team-a\s+repo$/m);
  assertMatch(table.stdout, /^defaults\.context\s+kind-dev\s+flag$/m);
  assertMatch(table.stdout, /^exec\.maxParallel\s+12\s+global$/m);
  assertMatch(table.stdout, /^defaults\.resources\.cpu\s+1\s+default$/m);
  const json = await s.run("view", "--resolved", "-o", "json", "-n", "override");
  const data = JSON.parse(json.stdout);
  assertEquals(data["defaults.namespace"], { value: "override", source: "flag" });
  assertEquals(data["exec.maxParallel"], { value: 12, source: "global" });
});

Deno.test("config get of an unset key exits 3; path --repo outside a repo config exits 3", async () => {
  await using s = await sandbox();
  const r = await s.run("get", "defaults.context");
  assertEquals(r.code, 3);
  assertStringIncludes(r.stderr, "defaults.context is not set");
  const p = await s.run("path", "--repo");
  assertEquals(p.code, 3);
  assertStringIncludes(p.stderr, ".kodama.yaml");
});

Deno.test("malformed YAML: exit 2 with file:line:column, no stack trace", async () => {
  await using s = await sandbox();
  await Deno.mkdir(s.home, { recursive: true });
  await Deno.writeTextFile(s.file, "defaults:\n  namespace: [unclosed\n");
  const r = await s.run("view", "--resolved");
  assertEquals(r.code, 2);
  assertMatch(r.stderr, new RegExp(`^error: ${s.file.replaceAll("/", "\\/")}:\\d+:\\d+: invalid YAML: `));
  assert(!hasStackTrace(r.stderr), r.stderr);
});

Deno.test("config unset removes the key; config --help shows examples", async () => {
  await using s = await sandbox();
  await s.run("set", "picker.preview", "false");
  const u = await s.run("unset", "picker.preview");
  assertEquals(u.code, 0);
  assert(!(await Deno.readTextFile(s.file)).includes("preview"));
  const help = await s.run("--help");
  assertEquals(help.code, 0);
  for (const sub of ["view", "get", "set", "unset", "path", "keys"]) {
    assertMatch(help.stdout, new RegExp(`\\n  ${sub}\\b`));
  }
  assertStringIncludes(help.stdout, "kodama config set defaults.resources.cpu 2");
  // set --help-all lists every key with its type and description, taken from the schema (--help stays short)
  const setHelp = await s.run("set", "--help-all");
  assertEquals(setHelp.code, 0);
  assertStringIncludes(
    setHelp.stdout,
    "defaults.resources.cpu  CPU quantity (e.g. 2, 500m, 1.5)  (default 1)",
  );
  assertStringIncludes(setHelp.stdout, "How many pods `exec` runs a command in at the same time");
});

Deno.test("a misspelt key in the config file is a warning on stderr for every command that reads it", async () => {
  await using s = await sandbox();
  await Deno.mkdir(s.home, { recursive: true });
  await Deno.writeTextFile(s.file, "defualts:\n  namespace: dev\n");
  const r = await runKodama(["pods", "--kubeconfig", join(s.home, "missing-kubeconfig")], {
    env: { KODAMA_HOME: s.home },
    cwd: s.cwd,
  });
  assertMatch(
    r.stderr,
    /^warning: .*config\.yaml:1:1: unknown config key "defualts" ignored — did you mean defaults\?$/m,
  );
  assertEquals(r.stderr.match(/^warning:/gm)?.length, 1, r.stderr);
  assert(!hasStackTrace(r.stderr), r.stderr);
});
