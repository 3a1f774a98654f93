/**
 * Issue 26 class 4: a script cannot change kodama itself. With `env` granted for every variable that
 * steers tool lookup or loading, a script still cannot set or delete any of them (Deno.env,
 * process.env) for kodama or later steps, and signalling kodama (its pid, its parent, its process
 * group; Deno.kill and process.kill) is refused, so `always()` steps still run.
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { hasStackTrace, runKodama } from "./_run.ts";

const NAMES = [
  "PATH",
  "LD_PRELOAD",
  "LD_LIBRARY_PATH",
  "DYLD_INSERT_LIBRARIES",
  "DYLD_LIBRARY_PATH",
  "DYLD_FRAMEWORK_PATH",
  "KUBECONFIG",
  "HOME",
  "DENO_DIR",
  "NODE_OPTIONS",
  "KODAMA_HOME",
  "TMUX",
  "SHELL",
];

Deno.test("a script cannot change kodama's environment or signal kodama", async (t) => {
  const tmp = await Deno.makeTempDir({ prefix: "kodama-envlock-" });
  const repo = join(tmp, "repo");
  const scripts = join(repo, ".kodama", "scripts");
  const wfs = join(repo, ".kodama", "workflows");
  await Deno.mkdir(join(repo, ".git"), { recursive: true });
  await Deno.mkdir(scripts, { recursive: true });
  await Deno.mkdir(wfs, { recursive: true });
  const env = { KODAMA_HOME: join(tmp, "home"), KUBECONFIG: join(tmp, "kc"), DYLD_LIBRARY_PATH: "/orig" };
  const run = (args: string[]) => runKodama(args, { env, cwd: repo, timeoutMs: 60_000 });
  const perms = `permissions: { env: [${NAMES.join(", ")}], run: [sh] }\n`;
  try {
    await t.step(
      "Deno.env.set/delete and process.env for each variable are refused; later steps see the old values",
      async () => {
        await Deno.writeTextFile(
          join(scripts, "set.ts"),
          `export default () => {
  const refused = [];
  for (const k of ${JSON.stringify(NAMES)}) {
    try { Deno.env.set(k, "/evil"); } catch { refused.push("set " + k); }
    try { Deno.env.delete(k); } catch { refused.push("delete " + k); }
    try { globalThis.process.env[k] = "/evil2"; } catch { refused.push("process " + k); }
  }
  return { refused: refused.length };
};
`,
        );
        await Deno.writeTextFile(
          join(scripts, "get.ts"),
          `export default () => Object.fromEntries(${
            JSON.stringify(NAMES)
          }.map((k) => [k, Deno.env.get(k) ?? null]));\n`,
        );
        await Deno.writeTextFile(
          join(scripts, "say.ts"),
          `export default ({ inputs }) => { console.log(inputs.line); };\n`,
        );
        await Deno.writeTextFile(
          join(wfs, "envset.yaml"),
          `${perms}steps:
  - id: before
    script: { module: ../scripts/get.ts }
  - id: set
    continue-on-error: true
    script: { module: ../scripts/set.ts }
  - id: after
    script: { module: ../scripts/get.ts }
  - id: show
    script:
      module: ../scripts/say.ts
      with: { line: "refused=\${{ steps.set.outputs.refused }} same=\${{ toJSON(steps.before.outputs) == toJSON(steps.after.outputs) }}" }
`,
        );
        const r = await run(["run", "envset", "--trust"]);
        assertEquals(r.code, 0, r.stderr);
        assertStringIncludes(r.stdout, `refused=${NAMES.length * 3} same=true`);
        assert(!hasStackTrace(r.stderr), r.stderr);
      },
    );

    for (
      const [name, code] of [
        ["Deno.kill(Deno.pid)", `Deno.kill(Deno.pid, "SIGTERM")`],
        ["Deno.kill(Deno.pid, SIGKILL)", `Deno.kill(Deno.pid, "SIGKILL")`],
        ["Deno.kill(0)", `Deno.kill(0, "SIGTERM")`],
        ["Deno.kill(-pgid)", `Deno.kill(-Deno.pid, "SIGKILL")`],
        ["Deno.kill(Deno.ppid)", `Deno.kill(Deno.ppid, "SIGTERM")`],
        ["process.kill(process.pid)", `globalThis.process.kill(globalThis.process.pid, "SIGKILL")`],
      ]
    ) {
      await t.step(`${name} does not skip always() steps`, async () => {
        await Deno.writeTextFile(join(scripts, "kill.ts"), `export default () => { ${code}; return {}; };\n`);
        await Deno.writeTextFile(
          join(wfs, "kill.yaml"),
          `permissions: { run: [sh] }\nsteps:
  - script: { module: ../scripts/kill.ts }
  - id: cleanup
    if: always()
    local: { command: [sh, -c, "echo always-ran"] }
`,
        );
        const r = await run(["run", "kill", "--trust"]);
        assertEquals(r.code, 1, r.stderr);
        assertStringIncludes(r.stdout, "always-ran");
        assertStringIncludes(r.stderr, "cannot signal");
      });
    }
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
});
