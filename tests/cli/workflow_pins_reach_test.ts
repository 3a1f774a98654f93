/**
 * What the shell reader cannot name pins the whole repository (#61 point 4): a pinned script that runs
 * `sh ./tools/q""ux.sh` (a word with quotes inside it), and `make` (a build tool that reads the Makefile
 * and runs its recipes). Editing what they reach after trust asks again; a file they cannot reach does not
 * matter for a script whose words are all static.
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { hasStackTrace, runKodama } from "./_run.ts";
import { holdAgainstWrites, Refused, writeUnder } from "../../src/base/fs/safewrite.ts";
import { reachesRepo } from "../../src/workflow/sandbox/pins.ts";

Deno.test("pins: unresolvable shell words and build tools reach the whole repository", () => {
  assert(reachesRepo(["sh", "-c", 'sh ./tools/q""ux.sh']));
  assert(reachesRepo(["sh", "-c", "$RUN ./x"]));
  assert(reachesRepo(["sh", "-c", ". ./lib/*.sh"]));
  assert(reachesRepo(["sh", "-c", "cd sub && make all"]));
  assert(reachesRepo(["make", "-C", "sub"]));
  assert(reachesRepo(["env", "CI=1", "npm", "run", "build"]));
  assert(!reachesRepo(["sh", "-c", '[ -f x ] && echo "$HOME/y" && ./run.sh']));
  assert(!reachesRepo(["sh", "./tools/build.sh"]));
});

Deno.test("safewrite: a held path is never written until released", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "kodama-hold-" }));
  try {
    await Deno.writeTextFile(join(dir, "lib.sh"), "pinned\n");
    const release = holdAgainstWrites([join(dir, "lib.sh")]);
    const e = await writeUnder(dir, join(dir, "lib.sh"), new TextEncoder().encode("pod\n")).catch((e) => e);
    assert(e instanceof Refused, String(e));
    assertEquals(await Deno.readTextFile(join(dir, "lib.sh")), "pinned\n");
    assertEquals([...Deno.readDirSync(dir)].map((d) => d.name), ["lib.sh"]); // no temporary left
    release();
    await writeUnder(dir, join(dir, "lib.sh"), new TextEncoder().encode("later\n"));
    assertEquals(await Deno.readTextFile(join(dir, "lib.sh")), "later\n");
    // a held directory holds everything below it
    const again = holdAgainstWrites([dir]);
    assert(
      (await writeUnder(dir, join(dir, "new.txt"), new Uint8Array()).catch((e) => e)) instanceof Refused,
    );
    again();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test('pins: q""ux.sh and a Makefile are pinned with the repository', async () => {
  const tmp = await Deno.makeTempDir({ prefix: "kodama-pinreach-" });
  const repo = join(tmp, "repo");
  const wfs = join(repo, ".kodama", "workflows");
  await Deno.mkdir(join(repo, ".git"), { recursive: true });
  await Deno.mkdir(join(repo, "tools"), { recursive: true });
  await Deno.mkdir(wfs, { recursive: true });
  const env = { KODAMA_HOME: join(tmp, "kodama"), KUBECONFIG: join(tmp, "kc") };
  const run = async (args: string[]) => {
    const r = await runKodama(["run", ...args], { env, cwd: repo, timeoutMs: 60_000 });
    assert(!hasStackTrace(r.stderr), r.stderr);
    return r;
  };
  try {
    await Deno.writeTextFile(join(repo, "tools", "build.sh"), 'sh ./tools/q""ux.sh\n');
    await Deno.writeTextFile(join(repo, "tools", "qux.sh"), "echo qux-v1\n");
    await Deno.writeTextFile(join(repo, "Makefile"), "all:\n\t@echo make-v1\n");
    await Deno.writeTextFile(
      join(wfs, "q.yaml"),
      "permissions: { run: [sh] }\nsteps:\n  - local: { command: [sh, ./tools/build.sh] }\n",
    );
    await Deno.writeTextFile(
      join(wfs, "m.yaml"),
      "permissions: { run: [make] }\nsteps:\n  - local: { command: [make] }\n",
    );
    for (const [name, says] of [["q", "qux-v1"], ["m", "make-v1"]]) {
      const ok = await run([name, "--trust"]);
      assertEquals(ok.code, 0, ok.stderr);
      assertStringIncludes(ok.stdout + ok.stderr, says);
      // the prompt showed the repository as code the step can reach
      assertStringIncludes(ok.stderr, "code it can reach: ./");
    }
    // what the unresolved word names, and the Makefile, are pinned: an edit asks again, nothing runs
    await Deno.writeTextFile(join(repo, "tools", "qux.sh"), "echo qux-v2\n");
    await Deno.writeTextFile(join(repo, "Makefile"), "all:\n\t@echo make-v2\n");
    for (const name of ["q", "m"]) {
      const r = await run([name]);
      assertEquals(r.code, 2, r.stderr);
      assertStringIncludes(r.stderr, "changed since you trusted it");
      assert(!(r.stdout + r.stderr).includes("-v2"), r.stdout);
    }
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
});
