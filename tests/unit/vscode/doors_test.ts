/**
 * Issue 50 class 1 at the VS Code door. A workspace is untrusted: its `.vscode/settings.json` cannot
 * choose the program the extension runs (`kodama.path`) or the kubeconfig (`kodama.kubeconfig`) — both are
 * machine settings, restricted in an untrusted workspace. A workflow param the extension passes is one
 * argv element, and the CLI keeps it data in a local shell string (run here the way the extension runs it).
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { runArgs } from "../../../editors/vscode/src/argv.ts";
import { runKodama } from "../../cli/_run.ts";

Deno.test("vscode: the workspace cannot choose the program or the kubeconfig", () => {
  const pkg = JSON.parse(
    Deno.readTextFileSync(new URL("../../../editors/vscode/package.json", import.meta.url)),
  );
  const props = pkg.contributes.configuration.properties;
  for (const k of ["kodama.path", "kodama.kubeconfig"]) {
    assertEquals(props[k].scope, "machine", k);
    assert(pkg.capabilities.untrustedWorkspaces.restrictedConfigurations.includes(k), k);
  }
  assertEquals(pkg.capabilities.untrustedWorkspaces.supported, "limited");
});

Deno.test("vscode: a param typed in the extension is data in a local shell string", async () => {
  const tmp = await Deno.realPath(await Deno.makeTempDir({ prefix: "kodama-vsdoors-" }));
  const state = join(tmp, "kodama");
  await Deno.mkdir(join(state, "workflows"), { recursive: true });
  await Deno.writeTextFile(
    join(state, "workflows", "say.yaml"),
    `params: { msg: { required: true } }\npermissions: { run: [sh] }\nsteps:\n  - local: { command: [sh, -c, "echo said \${{ params.msg }}"] }\n`,
  );
  const evil = `"; touch PWNED; echo "$(touch PWNED2)`;
  const args = runArgs({}, "say", { msg: evil });
  assert(args.includes(`--param=msg=${evil}`), "one argv element");
  const r = await runKodama(args, {
    env: { KODAMA_HOME: state, KUBECONFIG: join(tmp, "kc") },
    cwd: tmp,
    timeoutMs: 120_000,
  });
  assertEquals(r.code, 0, r.stderr);
  assertStringIncludes(r.stdout, `said ${evil}`);
  for (const f of ["PWNED", "PWNED2"]) {
    assert(!(await Deno.stat(join(tmp, f)).then(() => true, () => false)), f);
  }
});
