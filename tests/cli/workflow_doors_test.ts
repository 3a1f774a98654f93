/**
 * Issue 50 through the CLI (`kodama run`), no cluster needed:
 * - class 1: a `\${{ }}` value is data and never code on this machine — quoted into a local shell string
 *   (a trusted home workflow's `sh -c`, a shell's stdin), refused where it would be the command, inside
 *   `$( )` or another language's code — whoever runs it;
 * - class 3: a trusted `run:`/`local` pins what the program reads as code: a sourced file, `sh -e FILE`,
 *   a Python program's directory, a script that sources through a variable (the whole repository), with
 *   `\${{ }}` arguments too; an edit asks again;
 * - class 4: with a dotfiles git repository at $HOME, a project below it is confined to itself;
 * - class 7: a grant that leaves by `..` is said to be outside the repository; invisible characters in
 *   the prompt are shown escaped.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { hasStackTrace, runKodama } from "./_run.ts";

const DENO_DIR = Deno.env.get("DENO_DIR") ??
  JSON.parse(
    new TextDecoder().decode(
      (await new Deno.Command(Deno.execPath(), { args: ["info", "--json"] }).output()).stdout,
    ),
  )
    .denoDir;

async function world() {
  const tmp = await Deno.realPath(await Deno.makeTempDir({ prefix: "kodama-wfdoors-" }));
  const home = join(tmp, "home");
  const state = join(home, ".kodama");
  const repo = join(home, "src", "repo");
  await Deno.mkdir(join(state, "workflows"), { recursive: true });
  await Deno.mkdir(join(home, ".ssh"), { recursive: true });
  await Deno.writeTextFile(join(home, ".ssh", "id_rsa"), "SECRET-KEY\n");
  await Deno.mkdir(join(repo, ".git"), { recursive: true });
  await Deno.mkdir(join(repo, ".kodama", "workflows"), { recursive: true });
  const env = { HOME: home, KODAMA_HOME: state, DENO_DIR, KUBECONFIG: join(tmp, "kc") };
  const run = async (args: string[], cwd = repo) => {
    const r = await runKodama(["run", ...args], { env, cwd, timeoutMs: 120_000 });
    assert(!hasStackTrace(r.stderr), r.stderr);
    assert(!(r.stdout + r.stderr).includes("SECRET-KEY"), r.stdout + r.stderr);
    return r;
  };
  const write = async (path: string, text: string) => {
    await Deno.mkdir(join(path, ".."), { recursive: true });
    await Deno.writeTextFile(path, text);
  };
  return { tmp, home, state, repo, run, write };
}

const EVIL = `x'; touch PWNED; echo "$(touch PWNED2)" '`;

Deno.test("class 1: a param is data in a local shell string, whoever runs the workflow", async (t) => {
  const w = await world();
  await t.step(
    "a trusted home workflow: quoted in sh -c (bare, in quotes) and in a shell's stdin",
    async () => {
      await w.write(
        join(w.state, "workflows", "say.yaml"),
        `params: { msg: { required: true } }
permissions: { run: [sh] }
steps:
  - local: { command: [sh, -c, "echo bare \${{ params.msg }}"] }
  - local: { command: [sh, -c, "echo \\"double \${{ params.msg }}\\""] }
  - local: { command: [sh, -c, "echo 'single \${{ params.msg }}'"] }
  - local: { command: [sh], stdin: "echo stdin \${{ params.msg }}" }
`,
      );
      const r = await w.run(["say", "--param", `msg=${EVIL}`]);
      assertEquals(r.code, 0, r.stderr);
      for (const where of ["bare", "double", "single", "stdin"]) {
        assertStringIncludes(
          r.stdout,
          `${where} ${EVIL}`,
        );
      }
      for (const f of ["PWNED", "PWNED2"]) {
        assert(!(await Deno.stat(join(w.repo, f)).then(() => true, () => false)), `${f} was created`);
      }
    },
  );

  await t.step(
    "refused (the step fails at its file:line) where it would be the command or inside $( )",
    async () => {
      for (
        const [name, cmd] of [
          ["c1", `[sh, -c, "\${{ params.msg }}"]`],
          ["c2", `[sh, -c, "echo $(cat \${{ params.msg }})"]`],
          ["c3", `[sh, -c, "eval \${{ params.msg }}"]`],
          ["c4", `[python3, -c, "print('\${{ params.msg }}')"]`],
          ["c5", `["\${{ params.msg }}"]`],
          ["c6", `[bash, "\${{ params.msg }}"]`],
        ]
      ) {
        await w.write(
          join(w.state, "workflows", `${name}.yaml`),
          `params: { msg: { required: true } }\npermissions: { run: [sh, bash, python3, touch] }\nsteps:\n  - local: { command: ${cmd} }\n`,
        );
        const r = await w.run([name, "--param", "msg=touch PWNED"]);
        // the step fails before anything runs (exit 1), naming where the expression is written
        assertEquals(r.code, 1, `${name}: ${r.stderr}`);
        assertMatch(r.stderr, new RegExp(`${name}\\.yaml:4:\\d+: .*is data`), r.stderr);
        assert(!(await Deno.stat(join(w.repo, "PWNED")).then(() => true, () => false)));
      }
    },
  );

  await t.step("a variable the shell or a loader runs is never set from a param", async () => {
    await w.write(
      join(w.state, "workflows", "envx.yaml"),
      `params: { msg: { required: true } }\npermissions: { run: [sh] }\nsteps:\n  - env: { BASH_ENV: "\${{ params.msg }}" }\n    local: { command: [sh, -c, "true"] }\n`,
    );
    const r = await w.run(["envx", "--param", "msg=/tmp/evil.sh"]);
    assertEquals(r.code, 1, r.stderr);
    assertMatch(r.stderr, /envx\.yaml:4:\d+: .*is data/);
  });

  await t.step("a repository workflow (trusted with --trust): the same rule", async () => {
    await w.write(
      join(w.repo, ".kodama", "workflows", "rq.yaml"),
      `params: { msg: { required: true } }\npermissions: { run: [sh] }\nsteps:\n  - local: { command: [sh, -c, "echo got \${{ params.msg }}"] }\n`,
    );
    const r = await w.run(["rq", "--trust", "--param", `msg=${EVIL}`]);
    assertEquals(r.code, 0, r.stderr);
    assertStringIncludes(r.stdout, `got ${EVIL}`);
    assert(!(await Deno.stat(join(w.repo, "PWNED")).then(() => true, () => false)));
  });
});

Deno.test("class 3: a trusted program's pin covers what it reads as code", async (t) => {
  const w = await world();
  const wf = (name: string, body: string) =>
    w.write(join(w.repo, ".kodama", "workflows", `${name}.yaml`), body);
  const trustThenEdit = async (name: string, edit: () => Promise<void>, args: string[] = []) => {
    const ok = await w.run([name, "--trust", ...args]);
    assertEquals(ok.code, 0, `${name}: ${ok.stderr}`);
    const again = await w.run([name, ...args]);
    assertEquals(again.code, 0, `${name} unchanged runs without a prompt: ${again.stderr}`);
    await edit();
    const r = await w.run([name, ...args]);
    assertEquals(r.code, 2, `${name} after the edit: ${r.stderr}`);
    assertStringIncludes(r.stderr, "changed since you trusted it");
    assert(!r.stdout.includes("EVIL"), r.stdout);
  };
  await w.write(join(w.repo, "tools", "build.sh"), "#!/bin/sh\n. ./lib/common.sh\necho built\n");
  await Deno.chmod(join(w.repo, "tools", "build.sh"), 0o755);
  await w.write(join(w.repo, "lib", "common.sh"), "echo common-v1\n");
  await w.write(join(w.repo, "tools", "ci.sh"), "echo ci-v1\n");
  await w.write(join(w.repo, "tools", "py", "main.py"), "import helper\n");
  await w.write(join(w.repo, "tools", "py", "helper.py"), "print('helper-v1')\n");
  await w.write(join(w.repo, "tools", "dyn.sh"), '#!/bin/sh\n. "$LIB/x.sh"\n');
  await w.write(join(w.repo, "other", "x.sh"), "echo x-v1\n");

  await t.step("a file the run-granted script sources", async () => {
    await wf(
      "s1",
      `permissions: { run: [./tools/build.sh] }\nsteps:\n  - local: { command: [./tools/build.sh] }\n`,
    );
    await trustThenEdit("s1", () => w.write(join(w.repo, "lib", "common.sh"), "echo EVIL\n"));
  });

  await t.step("sh -e FILE: the file", async () => {
    await wf("s2", `permissions: { run: [sh] }\nsteps:\n  - local: { command: [sh, -e, tools/ci.sh] }\n`);
    await trustThenEdit("s2", () => w.write(join(w.repo, "tools", "ci.sh"), "echo EVIL\n"));
  });

  await t.step("an interpreter's program: what it imports from its directory", async () => {
    await wf(
      "s3",
      `permissions: { run: [python3] }\nsteps:\n  - local: { command: [python3, tools/py/main.py] }\n`,
    );
    await trustThenEdit("s3", () => w.write(join(w.repo, "tools", "py", "helper.py"), "print('EVIL')\n"));
  });

  await t.step("arguments with \${{ }} still pin the program and what it sources", async () => {
    await w.write(join(w.repo, "lib", "common.sh"), "echo common-v1\n");
    await wf(
      "s4",
      `params: { t: { default: x } }\npermissions: { run: [./tools/build.sh] }\nsteps:\n  - local: { command: [./tools/build.sh, "\${{ params.t }}"] }\n`,
    );
    await trustThenEdit("s4", () => w.write(join(w.repo, "lib", "common.sh"), "echo EVIL again\n"), [
      "--param",
      "t=y",
    ]);
  });

  await t.step("a script that sources through a variable: the whole repository is pinned", async () => {
    await wf(
      "s5",
      `permissions: { run: [sh] }\nsteps:\n  - env: { LIB: other }\n    local: { command: [sh, tools/dyn.sh] }\n`,
    );
    const shown = await w.run(["s5"]);
    assertEquals(shown.code, 2);
    assertStringIncludes(shown.stderr, "code it can reach: ./");
    await trustThenEdit("s5", () => w.write(join(w.repo, "other", "x.sh"), "echo EVIL\n"));
  });
});

Deno.test("class 4 and 7: home is no repository; grants leaving by .. and invisible characters are shown", async (t) => {
  const w = await world();
  await t.step("a dotfiles repository at $HOME: a project below is confined to itself", async () => {
    await Deno.mkdir(join(w.home, ".git"));
    const project = join(w.home, "work", "app");
    await w.write(
      join(project, ".kodama", "workflows", "grab.yaml"),
      `permissions: { run: [cat] }\nsteps:\n  - local: { command: [cat, id_rsa], cwd: ../../.ssh }\n`,
    );
    const r = await w.run(["grab", "--trust"], project);
    assertEquals(r.code, 4, r.stderr);
    assertMatch(r.stderr, /outside the workflow's repository/);
  });

  await t.step("a grant out by `..` is said to be outside the repository", async () => {
    await w.write(
      join(w.repo, ".kodama", "workflows", "up.yaml"),
      `permissions: { read: ["../sibling"] }\nsteps:\n  - local: { command: [echo] }\n`,
    );
    const r = await w.run(["up"]);
    assertEquals(r.code, 2, r.stderr);
    assertStringIncludes(r.stderr, "read: ../sibling (outside the repository)");
  });

  await t.step("invisible characters in the prompt are escaped", async () => {
    await w.write(
      join(w.repo, ".kodama", "workflows", "inv.yaml"),
      `permissions: { read: ["./a\u2060b", "./c\u3164d", "./e\u200bf", "./g\u202eh", "./i\u00a0j"] }\nsteps:\n  - local: { command: [echo] }\n`,
    );
    const r = await w.run(["inv"]);
    assertEquals(r.code, 2, r.stderr);
    for (const c of ["2060", "3164", "200b", "202e"]) assertStringIncludes(r.stderr, `\\u{${c}}`);
    assertStringIncludes(r.stderr, "\\xa0");
    assert(!/[\u2060\u3164\u200b\u202e\u00a0]/.test(r.stderr), r.stderr);
  });
});
