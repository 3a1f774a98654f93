/** `kodama workflow list|show|validate|schema` and `kodama run` usage errors, as a user runs them (no cluster needed). */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { hasStackTrace, runKodama } from "./_run.ts";

const root = new URL("../../", import.meta.url).pathname;
const invalidDir = join(root, "tests/fixtures/workflows/invalid");

Deno.test("workflow validate: every malformed file is reported as file:line:col and exits 2", async () => {
  const files: string[] = [];
  for await (const e of Deno.readDir(invalidDir)) {
    if (e.name.endsWith(".yaml")) files.push(join(invalidDir, e.name));
  }
  files.sort();
  assert(files.length >= 15);
  const r = await runKodama(["workflow", "validate", ...files]);
  assertEquals(r.code, 2, r.stderr);
  for (const f of files) {
    const m = /^# expect: (\d+):(\d+) (.*)$/m.exec(await Deno.readTextFile(f))!;
    const line = r.stdout.split("\n").find((l) => l.startsWith(`${f}:${m[1]}:${m[2]}: `));
    assert(line, `no ${f}:${m[1]}:${m[2]} in:\n${r.stdout}`);
    assertStringIncludes(line, m[3]);
  }
  assertStringIncludes(r.stderr, `in ${files.length} of ${files.length} file(s)`);
  assert(!hasStackTrace(r.stdout + r.stderr));
});

Deno.test("workflow validate: the examples and built-ins pass (exit 0)", async () => {
  const ex = join(root, "examples/workflows");
  const files = [...Deno.readDirSync(ex)].filter((e) => e.name.endsWith(".yaml")).map((e) =>
    join(ex, e.name)
  );
  const r = await runKodama(["workflow", "validate", ...files]);
  assertEquals(r.code, 0, r.stdout + r.stderr);
  assertEquals(r.stdout, "");
  assertStringIncludes(r.stderr, `ok: ${files.length} workflow file(s) valid`);
  const all = await runKodama(["workflow", "validate"], { cwd: "/" });
  assertEquals(all.code, 0, all.stdout);
});

Deno.test("workflow list/show: a repo workflow shadows a built-in and list says so", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "kodama-wf-cli-" });
  try {
    await Deno.mkdir(join(tmp, ".git"));
    await Deno.mkdir(join(tmp, ".kodama", "workflows"), { recursive: true });
    const mine = "description: my team's kwekash\nsteps:\n  - local: { command: [echo, hi] }\n";
    await Deno.writeTextFile(join(tmp, ".kodama", "workflows", "kwekash.yaml"), mine);
    const env = { KODAMA_HOME: join(tmp, "home") };
    const r = await runKodama(["workflow", "list"], { cwd: tmp, env });
    assertEquals(r.code, 0, r.stderr);
    const rows = r.stdout.trimEnd().split("\n").map((l) => l.split(/\s{2,}/));
    assertEquals(rows[0], ["NAME", "SOURCE", "DESCRIPTION", "FILE"]);
    assertEquals(rows[1].slice(0, 3), ["kwekash", "repo", "my team's kwekash"]);
    assert(rows.some((row) => row[0] === "kwekash" && row[1] === "builtin (shadowed by repo)"), r.stdout);
    const json = JSON.parse((await runKodama(["workflow", "list", "-o", "json"], { cwd: tmp, env })).stdout);
    assertEquals(
      json.find((w: { source: string; name: string }) => w.source === "builtin" && w.name === "kwekash")
        .shadowedBy.source,
      "repo",
    );
    const show = await runKodama(["workflow", "show", "kwekash"], { cwd: tmp, env });
    assertEquals(show.stdout, mine);
    assertStringIncludes(show.stderr, "# shadows builtin:");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("workflow schema prints the committed JSON Schema", async () => {
  const r = await runKodama(["workflow", "schema"]);
  assertEquals(r.code, 0);
  assertEquals(
    JSON.parse(r.stdout),
    JSON.parse(await Deno.readTextFile(join(root, "schemas/workflow.schema.json"))),
  );
});

Deno.test("run: unknown workflow exit 3 with did-you-mean; param errors exit 2 naming --param", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "kodama-wf-cli-" });
  try {
    const env = { KODAMA_HOME: join(tmp, "home") };
    const r = await runKodama(["run", "kwekahs"], { cwd: tmp, env });
    assertEquals(r.code, 3);
    assertStringIncludes(r.stderr, 'no workflow named "kwekahs" (did you mean "kwekash"?)');
    const file = join(tmp, "p.yaml");
    await Deno.writeTextFile(
      file,
      "params:\n  who: { required: true, description: whom to greet }\nsteps:\n  - local: { command: [echo, hi] }\n",
    );
    const missing = await runKodama(["run", file], { cwd: tmp, env });
    assertEquals(missing.code, 2);
    assertStringIncludes(missing.stderr, 'missing required param "who" (whom to greet)');
    assertStringIncludes(missing.stderr, "pass --param who=VALUE");
    const unknown = await runKodama(["run", file, "--param", "woh=x"], { cwd: tmp, env });
    assertEquals(unknown.code, 2);
    assertStringIncludes(unknown.stderr, 'unknown param "woh" (did you mean "who"?)');
    const bad = await runKodama(["run", file, "--param", "noequals"], { cwd: tmp, env });
    assertEquals(bad.code, 2);
    assertStringIncludes(bad.stderr, "expected NAME=VALUE");
    const invalid = join(invalidDir, "unknown_kind.yaml");
    const inv = await runKodama(["run", invalid], { cwd: tmp, env });
    assertEquals(inv.code, 2);
    assertStringIncludes(inv.stderr, `${invalid}:5:5: steps[0]: unknown step kind "exek"`);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("workflow show -o json: params and the trust question; run --trust-hash trusts only that version", async () => {
  const repo = await Deno.makeTempDir();
  const home = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(repo, ".git"));
    await Deno.mkdir(join(repo, ".kodama/workflows"), { recursive: true });
    const file = join(repo, ".kodama/workflows/greet.yaml");
    const text = `name: greet
description: Say hello locally
params:
  who: { required: true, description: whom }
  loud: { type: boolean, default: false }
permissions: { run: [echo] }
steps:
  - local: { command: [echo, "hello", "\${{ params.who }}"] }
`;
    await Deno.writeTextFile(file, text);
    const env = { KODAMA_HOME: home };
    const builtin = JSON.parse(
      (await runKodama(["workflow", "show", "kwekash", "-o", "json"], { env }))
        .stdout,
    );
    assertEquals(builtin.source, "builtin");
    assertEquals(builtin.params[0].name, "cmd");
    assertEquals(builtin.trust.needed, false);
    const show = await runKodama(["workflow", "show", "-o", "json", "greet"], {
      cwd: repo,
      env,
    });
    assertEquals(show.code, 0, show.stderr);
    const info = JSON.parse(show.stdout);
    assertEquals(info.params, [
      { name: "who", type: "string", description: "whom", required: true },
      { name: "loud", type: "boolean", default: false, required: false },
    ]);
    assertEquals(info.trust.needed, true);
    assertEquals(info.trust.trusted, false);
    assertEquals(info.trust.permissions, { run: ["echo"] });
    assertStringIncludes(
      info.trust.lines.join("\n"),
      "workflow greet (.kodama/workflows/greet.yaml): run: echo",
    );
    assert(/^[0-9a-f]{64}$/.test(info.trust.sha256));
    // another hash: refused, nothing trusted, nothing run
    const wrong = await runKodama([
      "run",
      "greet",
      "-p",
      "who=x",
      "--trust-hash",
      "0".repeat(64),
    ], { cwd: repo, env });
    assertEquals(wrong.code, 2);
    assertStringIncludes(wrong.stderr, "is not the version shown to you");
    assert(!wrong.stdout.includes("hello"));
    assert(!hasStackTrace(wrong.stderr));
    // the hash shown: trusted and run; show now says trusted
    const ok = await runKodama([
      "run",
      "greet",
      "-p",
      "who=x",
      "--trust-hash",
      info.trust.sha256,
    ], { cwd: repo, env });
    assertEquals(ok.code, 0, ok.stderr);
    assertStringIncludes(ok.stdout + ok.stderr, "hello x");
    const again = JSON.parse(
      (await runKodama(["workflow", "show", "-o", "json", "greet"], {
        cwd: repo,
        env,
      })).stdout,
    );
    assertEquals([again.trust.trusted, again.trust.changed], [true, false]);
    // edited: no longer trusted, and marked changed
    await Deno.writeTextFile(file, text + "# edit\n");
    const edited = JSON.parse(
      (await runKodama(["workflow", "show", "-o", "json", "greet"], {
        cwd: repo,
        env,
      })).stdout,
    );
    assertEquals([edited.trust.trusted, edited.trust.changed], [false, true]);
  } finally {
    await Deno.remove(repo, { recursive: true });
    await Deno.remove(home, { recursive: true });
  }
});
