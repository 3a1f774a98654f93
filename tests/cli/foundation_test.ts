import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { argvFor } from "../../main.ts";
import { closedPortKubeconfig, hasStackTrace, runKodama } from "./_run.ts";

Deno.test("--help lists the command groups, --version prints the version", async () => {
  const help = await runKodama(["--help"]);
  assertEquals(help.code, 0);
  for (const group of ["pods", "version"]) assertMatch(help.stdout, new RegExp(`\\n  ${group}\\b`));
  assertStringIncludes(help.stdout, "Exit codes:");
  const v = await runKodama(["--version"]);
  assertEquals(v.code, 0);
  assertMatch(v.stdout, /^kodama \d+\.\d+\.\d+\n$/);
});

Deno.test("unknown flags and commands are usage errors (exit 2) without a stack trace", async () => {
  const r = await runKodama(["pods", "--bogus"]);
  assertEquals(r.code, 2);
  assertStringIncludes(r.stderr, "unknown option '--bogus'");
  assert(!hasStackTrace(r.stderr));
  const c = await runKodama(["podz"]);
  assertEquals(c.code, 2);
  assertStringIncludes(c.stderr, 'unknown command "podz" for "kodama"');
  assertStringIncludes(c.stderr, "pods"); // suggestion
  const o = await runKodama(["pods", "-o", "xml"]);
  assertEquals(o.code, 2);
});

Deno.test("kpod and kwekash are kodama exec / kodama run kwekash", () => {
  assertEquals(argvFor("kpod", ["-n", "prod", "--", "bash"]), ["exec", "-n", "prod", "--", "bash"]);
  assertEquals(argvFor("kwekash", ["--dry-run"]), ["run", "kwekash", "--dry-run"]);
  assertEquals(argvFor("kodama", ["pods"]), ["pods"]);
});

Deno.test("an unreachable cluster is a one-line error naming the server; bad kubeconfig paths are usage errors", async () => {
  const dir = await Deno.makeTempDir();
  const { port } = await closedPortKubeconfig(dir);
  const r = await runKodama(["pods", "--kubeconfig", `${dir}/kc`]);
  assertEquals(r.code, 1);
  const lines = r.stderr.trim().split("\n");
  assert(lines.length <= 2, r.stderr);
  assertEquals(
    lines[0],
    `error: cannot reach https://127.0.0.1:${port} (context closed): connection refused`,
  );
  assert(!hasStackTrace(r.stderr));
  const dbg = await runKodama(["pods", "--kubeconfig", `${dir}/kc`, "--log-level", "debug"]);
  assert(hasStackTrace(dbg.stderr), "debug shows the stack");
  const missing = await runKodama(["pods", "--kubeconfig", `${dir}/nope`]);
  assertEquals(missing.code, 2);
  assertStringIncludes(missing.stderr, "does not exist");
});

Deno.test("deno task install makes kodama a kubectl plugin (kubectl plugin list, kubectl kodama version)", async () => {
  const root = await Deno.makeTempDir();
  const env = { DENO_INSTALL_ROOT: root, PATH: `${root}/bin:${Deno.env.get("PATH")}` };
  const inst = await new Deno.Command(Deno.execPath(), {
    args: ["task", "install"],
    cwd: new URL("../..", import.meta.url).pathname,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(inst.code, 0, new TextDecoder().decode(inst.stderr));
  for (const n of ["kodama", "kubectl-kodama", "kpod", "kwekash", "kubectl_complete-kodama"]) {
    await Deno.stat(`${root}/bin/${n}`);
  }
  const list = await new Deno.Command("kubectl", {
    args: ["plugin", "list"],
    env,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  assertStringIncludes(new TextDecoder().decode(list.stdout), `${root}/bin/kubectl-kodama`);
  const v = await new Deno.Command("kubectl", {
    args: ["kodama", "version", "--client"],
    env,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  assertEquals(v.code, 0, new TextDecoder().decode(v.stderr));
  assertMatch(new TextDecoder().decode(v.stdout), /^Client Version: v\d+\.\d+\.\d+/);
  await Deno.remove(root, { recursive: true });
});
