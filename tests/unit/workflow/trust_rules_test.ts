/** Issue 26 rules that need no cluster: which listen addresses are loopback, what a net grant allows. */
import { assertEquals, assertThrows } from "@kodama/test-assert";
import { checkListenAddress, isLoopback } from "../../../src/workflow/steps/port_forward.ts";

Deno.test("port-forward: only loopback addresses are free; others need a net grant", () => {
  for (
    const a of [
      "127.0.0.1",
      "127.1.2.3",
      "localhost",
      "LOCALHOST",
      "::1",
      "[::1]",
      "0:0:0:0:0:0:0:1",
      "::ffff:127.0.0.1",
    ]
  ) {
    assertEquals(isLoopback(a), true, a);
  }
  for (
    const a of [
      "0.0.0.0",
      "::",
      "[::]",
      "0",
      "192.168.1.5",
      "10.0.0.1",
      "127.0.0.1.nip.io",
      "128.0.0.1",
      "127.0.0.256",
      "example.com",
      "",
      "::ffff:0.0.0.0",
    ]
  ) {
    assertEquals(isLoopback(a), false, a);
  }
  checkListenAddress(undefined, [8080], []);
  checkListenAddress("localhost,127.0.0.1", [8080], []);
  assertThrows(() => checkListenAddress("0.0.0.0", [8080], []), "permissions.net");
  assertThrows(() => checkListenAddress("127.0.0.1,0.0.0.0", [8080], []), "0.0.0.0");
  assertThrows(() => checkListenAddress("[::]", [8080], ["0.0.0.0"]), "::");
  checkListenAddress("0.0.0.0", [8080], ["0.0.0.0"]);
  checkListenAddress("0.0.0.0", ["8080:80"], ["0.0.0.0:8080"]);
  assertThrows(() => checkListenAddress("0.0.0.0", ["9090:80"], ["0.0.0.0:8080"]), "permissions.net");
  checkListenAddress("::", [8080], ["[::]:8080"]);
});

Deno.test("describeDenial: a refusal is described once, however many layers it passes", async () => {
  const { describeDenial } = await import("../../../src/workflow/sandbox/permissions.ts");
  const raw = 'NotCapable: Requires run access to "tmux", run again with the --allow-run flag';
  const once = describeDenial(raw)!;
  assertEquals(once, 'denied: run access to "tmux" (add it to permissions.run)');
  assertEquals(describeDenial(once), once);
  assertEquals(describeDenial(`cannot load the script: ${once}`), `cannot load the script: ${once}`);
  const env = describeDenial(
    "NotCapable: Requires --allow-run permissions to spawn subprocess with LD_PRELOAD environment variable.",
  )!;
  assertEquals(describeDenial(env), env);
  assertEquals(env.match(/denied:/g)?.length, 1);
  const all = describeDenial("Requires --allow-run permissions to spawn subprocess")!;
  assertEquals(describeDenial(all), all);
  assertEquals(all.match(/denied:/g)?.length, 1);
});

Deno.test("resolveTool: the first executable on PATH, by absolute path; relative entries never count", async () => {
  const { resolveTool } = await import("../../../src/workflow/tools.ts");
  const { platformFor } = await import("../../../src/base/platform.ts");
  const tmp = await Deno.makeTempDir({ prefix: "kodama-tools-" });
  try {
    for (const d of ["a", "b", "rel"]) await Deno.mkdir(`${tmp}/${d}`);
    await Deno.writeTextFile(`${tmp}/a/tmux`, "not executable");
    await Deno.writeTextFile(`${tmp}/b/tmux`, "#!/bin/sh\n");
    await Deno.chmod(`${tmp}/b/tmux`, 0o755);
    await Deno.writeTextFile(`${tmp}/rel/tmux`, "#!/bin/sh\n");
    await Deno.chmod(`${tmp}/rel/tmux`, 0o755);
    const env = { PATH: `rel:${tmp}/a:${tmp}/b` } as Record<string, string>;
    const p = platformFor("linux", (n) => env[n], () => tmp);
    assertEquals(await resolveTool("tmux", p), `${tmp}/b/tmux`);
    assertEquals(await resolveTool("nope", p), undefined);
    assertEquals(await resolveTool("/usr/bin/x", p), "/usr/bin/x");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("programsIn: the words of a local command that name code that runs", async () => {
  const { programsIn } = await import("../../../src/workflow/sandbox/pins.ts");
  assertEquals(programsIn(["./build.sh", "arg"]), ["./build.sh"]);
  assertEquals(programsIn(["sh", "tool.sh", "x"]), ["tool.sh"]);
  assertEquals(programsIn(["bash", "-eu", "scripts/ci.sh"]), ["scripts/ci.sh"]);
  assertEquals(programsIn(["sh", "-c", "echo hi"]), []);
  assertEquals(programsIn(["python3", "-u", "tool.py"]), ["tool.py"]);
  assertEquals(programsIn(["env", "A=1", "node", "x.js"]), ["node", "x.js"]);
  assertEquals(programsIn(["kubectl", "apply", "-f", "deploy.yaml"]), []);
  assertEquals(programsIn(["cat", "README.md"]), []);
  // issue 50 class 3: a shell's -e is errexit, not inline code; inline shell strings name files too
  assertEquals(programsIn(["sh", "-e", "tools/ci.sh"]), ["tools/ci.sh"]);
  assertEquals(programsIn(["bash", "--rcfile", "x.rc", "-i"]), ["x.rc"]);
  assertEquals(programsIn(["sh", "-c", "./tools/a.sh && . lib/b.sh"]), ["./tools/a.sh", "lib/b.sh"]);
  assertEquals(programsIn(["node", "-r", "./hook.js", "main.js"]), ["./hook.js", "main.js"]);
  assertEquals(programsIn(["make", "-f", "ci.mk"]).includes("ci.mk"), true);
});
