/**
 * Issue 26 class 2: a grant is what the prompt showed. Grants are shown and pinned by the real path
 * they land on (a symlink at the grant or at a parent), the repo files a `run` grant or a `local`
 * command executes are pinned by content, and anything re-pointed or edited after trust — before the
 * next run, or by an earlier step of the same run — asks again or stops the run.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { hasStackTrace, runKodama } from "./_run.ts";

Deno.test("grants are pinned by real path and content", async (t) => {
  const tmp = await Deno.makeTempDir({ prefix: "kodama-pins-" });
  const home = join(tmp, "home");
  const repo = join(tmp, "repo");
  const wfs = join(repo, ".kodama", "workflows");
  await Deno.mkdir(join(home, ".ssh"), { recursive: true });
  await Deno.writeTextFile(join(home, ".ssh", "id_rsa"), "PINNED-KEY\n");
  await Deno.mkdir(join(repo, ".git"), { recursive: true });
  await Deno.mkdir(join(repo, "data"), { recursive: true });
  await Deno.mkdir(join(repo, ".kodama", "scripts"), { recursive: true });
  await Deno.mkdir(wfs, { recursive: true });
  await Deno.writeTextFile(join(repo, "data", "x.txt"), "data\n");
  const env = { KODAMA_HOME: join(tmp, "kodama"), KUBECONFIG: join(tmp, "kc") };
  const run = async (args: string[]) => {
    const r = await runKodama(["run", ...args], { env, cwd: repo, timeoutMs: 60_000 });
    assert(!hasStackTrace(r.stderr), r.stderr);
    assert(!r.stdout.includes("PINNED-KEY") && !r.stderr.includes("PINNED-KEY"), r.stdout + r.stderr);
    return r;
  };
  const script = join(repo, ".kodama", "scripts", "read.ts");
  await Deno.writeTextFile(
    script,
    `export default async ({ inputs }) => ({ text: await Deno.readTextFile(String(inputs.path)).catch((e) => "ERR " + e.message) });\n`,
  );
  try {
    await t.step("a grant through a symlink at the path or at a parent shows where it lands", async () => {
      await Deno.symlink(join(home, ".ssh"), join(repo, "docs"));
      await Deno.symlink(home, join(repo, "up"));
      for (const [name, grant] of [["g1", "./docs"], ["g2", "./up/.ssh"]]) {
        await Deno.writeTextFile(
          join(wfs, `${name}.yaml`),
          `permissions: { read: ["${grant}"] }\nsteps:\n  - script: { module: ../scripts/read.ts, with: { path: x } }\n`,
        );
        const r = await run([name]);
        assertEquals(r.code, 2, r.stderr);
        assertStringIncludes(
          r.stderr,
          `${grant} → ${join(home, ".ssh")} (outside the repository, through a symlink)`,
        );
      }
      await Deno.remove(join(repo, "docs"));
    });

    await t.step("a link re-pointed after trust asks again", async () => {
      await Deno.symlink(join(repo, "data"), join(repo, "docs"));
      await Deno.writeTextFile(
        join(wfs, "g3.yaml"),
        `permissions: { read: ["./docs"] }\nsteps:\n  - script: { module: ../scripts/read.ts, with: { path: ./docs/x.txt } }\n`,
      );
      const ok = await run(["g3", "--trust"]);
      assertEquals(ok.code, 0, ok.stderr);
      await Deno.remove(join(repo, "docs"));
      await Deno.symlink(join(home, ".ssh"), join(repo, "docs"));
      const again = await run(["g3"]);
      assertEquals(again.code, 2, again.stderr);
      assertStringIncludes(again.stderr, "changed since you trusted it");
      await Deno.remove(join(repo, "docs"));
      await Deno.symlink(join(repo, "data"), join(repo, "docs"));
    });

    await t.step("a link re-pointed by an earlier step of the run stops the next step", async () => {
      await Deno.writeTextFile(
        join(wfs, "g4.yaml"),
        `permissions: { read: ["./docs"], run: [ln] }
steps:
  - local: { command: [ln, -sfn, "${join(home, ".ssh")}", docs] }
  - script: { module: ../scripts/read.ts, with: { path: ./docs/id_rsa } }
`,
      );
      const r = await run(["g4", "--trust"]);
      assertEquals(r.code, 4, r.stderr);
      assertStringIncludes(r.stderr, `permissions.read "./docs" now lands on ${join(home, ".ssh")}`);
      await Deno.remove(join(repo, "docs"));
      await Deno.symlink(join(repo, "data"), join(repo, "docs"));
    });

    await t.step("an edited run-granted script or local command file asks again", async () => {
      await Deno.writeTextFile(join(repo, "build.sh"), "#!/bin/sh\necho build-v1\n");
      await Deno.chmod(join(repo, "build.sh"), 0o755);
      await Deno.writeTextFile(join(repo, "tool.sh"), "echo tool-v1\n");
      for (
        const [name, body] of [
          ["r1", `permissions: { run: [./build.sh] }\nsteps:\n  - local: { command: [./build.sh] }\n`],
          ["r2", `permissions: { run: [sh] }\nsteps:\n  - local: { command: [sh, tool.sh] }\n`],
        ]
      ) {
        await Deno.writeTextFile(join(wfs, `${name}.yaml`), body);
        const ok = await run([name, "--trust"]);
        assertEquals(ok.code, 0, ok.stderr);
        assertStringIncludes(ok.stderr, "runs ");
      }
      await Deno.writeTextFile(join(repo, "build.sh"), "#!/bin/sh\necho build-v2\n");
      await Deno.writeTextFile(join(repo, "tool.sh"), "echo tool-v2\n");
      for (const name of ["r1", "r2"]) {
        const r = await run([name]);
        assertEquals(r.code, 2, r.stderr);
        assertStringIncludes(r.stderr, "changed since you trusted it");
        assert(!r.stdout.includes("v2"), r.stdout);
      }
    });

    await t.step("a script edited by an earlier step of the run is not run", async () => {
      await Deno.writeTextFile(join(repo, "tool.sh"), "echo tool-v1\n");
      await Deno.writeTextFile(
        join(wfs, "r3.yaml"),
        `permissions: { run: [sh], write: [./tool.sh] }
steps:
  - local: { command: [sh, -c, "echo 'echo evil' > tool.sh"] }
  - local: { command: [sh, tool.sh] }
`,
      );
      const r = await run(["r3", "--trust"]);
      assertEquals(r.code, 4, r.stderr);
      assertStringIncludes(r.stderr, "was changed since the run was trusted");
      assert(!r.stdout.includes("evil"), r.stdout);
    });

    await t.step(
      "a run grant through a repo link to a program outside: shown where it lands; re-pointed, asked again",
      async () => {
        await Deno.symlink("/bin/echo", join(repo, "tool"));
        await Deno.writeTextFile(
          join(wfs, "r4.yaml"),
          `permissions: { run: [./tool] }\nsteps:\n  - local: { command: [./tool, -c, "echo PWNED-LINK"] }\n`,
        );
        const asked = await run(["r4"]);
        assertEquals(asked.code, 2, asked.stderr);
        assertMatch(asked.stderr, /runs \.\/tool → \S*echo \(outside the repository, through a symlink\)/);
        const ok = await run(["r4", "--trust"]);
        assertEquals(ok.code, 0, ok.stderr);
        assertStringIncludes(ok.stdout, "-c echo PWNED-LINK"); // echo printed its arguments
        // a pull that re-points the committed link: the trusted arguments would now run in a shell
        await Deno.remove(join(repo, "tool"));
        await Deno.symlink("/bin/sh", join(repo, "tool"));
        const again = await run(["r4"]);
        assertEquals(again.code, 2, again.stderr);
        assertStringIncludes(again.stderr, "changed since you trusted it");
        assert(!again.stdout.includes("PWNED-LINK"), again.stdout);
      },
    );

    await t.step("a repo link re-pointed by an earlier step of the run stops the run", async () => {
      await Deno.remove(join(repo, "tool"));
      await Deno.symlink("/bin/echo", join(repo, "tool"));
      await Deno.writeTextFile(
        join(wfs, "r5.yaml"),
        `permissions: { run: [./tool, ln] }
steps:
  - local: { command: [ln, -sfn, /bin/sh, tool] }
  - local: { command: [./tool, -c, "echo PWNED-MIDRUN"] }
`,
      );
      const r = await run(["r5", "--trust"]);
      assertEquals(r.code, 4, r.stderr);
      assertMatch(r.stderr, /"\.\/tool" now lands on \S+ \(it landed on \S*echo\) since the run was trusted/);
      assert(!r.stdout.includes("PWNED-MIDRUN"), r.stdout);
    });
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
});
