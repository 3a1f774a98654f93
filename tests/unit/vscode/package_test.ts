/**
 * The VS Code extension's manifest (editors/vscode/package.json) against its code: every command the
 * extension registers is declared (and the reverse), menus name declared commands, the workflow schema
 * association points at the file the build copies; and the packaged .vsix (built by .ci/run: required
 * in CI, checked when present elsewhere) holds the bundle, the schema and the manifest.
 */
import { assert, assertEquals } from "@kodama/test-assert";

const dir = new URL("../../../editors/vscode/", import.meta.url);
const pkg = JSON.parse(await Deno.readTextFile(new URL("package.json", dir)));
const ext = await Deno.readTextFile(new URL("src/extension.ts", dir));

Deno.test("vscode package.json: the commands it declares are the ones extension.ts registers", () => {
  const declared = (pkg.contributes.commands as { command: string }[]).map((c) => c.command).sort();
  const registered = [...ext.matchAll(/reg\(\s*[`"](kodama\.[A-Za-z]+|kodama\.\$\{verb\}Session)[`"]/g)]
    .flatMap((m) =>
      m[1] === "kodama.${verb}Session"
        ? ["attach", "stop", "resume", "delete", "fetch", "land"].map((v) => `kodama.${v}Session`)
        : [m[1]]
    ).sort();
  assertEquals(registered, declared);
  for (const c of pkg.contributes.commands) {
    if (c.command !== "kodama.refresh") assertEquals(c.category, "Kodama");
  }
  const menus = Object.values(pkg.contributes.menus).flat() as { command: string }[];
  for (const m of menus) assert(declared.includes(m.command), `menu names undeclared ${m.command}`);
  // the command titles, as the Command Palette shows them
  const titles = (pkg.contributes.commands as { title: string }[]).map((c) => `Kodama: ${c.title}`);
  for (
    const t of [
      "Kodama: Exec in Pod…",
      "Kodama: Exec in All Matching Pods…",
      "Kodama: Run Workflow…",
      "Kodama: Logs…",
      "Kodama: Port-Forward…",
      "Kodama: Stop Port-Forward…",
      "Kodama: Start Session…",
      "Kodama: Attach to Session…",
      "Kodama: Stop Session…",
      "Kodama: Resume Session…",
      "Kodama: Delete Session…",
      "Kodama: Fetch Session Branch",
    ]
  ) assert(titles.includes(t), t);
});

Deno.test("vscode package.json: workflow schema association, the tree view, settings, pinned tools", () => {
  assertEquals(pkg.contributes.yamlValidation, [{
    fileMatch: [".kodama/workflows/*.yaml", ".kodama/workflows/*.yml"],
    url: "./schemas/workflow.schema.json",
  }]);
  const build = Deno.readTextFileSync(new URL("scripts/build.mjs", dir));
  assert(build.includes('"schemas/workflow.schema.json"'));
  assertEquals(pkg.contributes.views.explorer[0].id, "kodama.view");
  assert(ext.includes('registerTreeDataProvider("kodama.view"'));
  assert(pkg.contributes.configuration.properties["kodama.path"]);
  // the task type the extension runs commands whose output must stay as (extension.ts openTerminal)
  assertEquals(pkg.contributes.taskDefinitions[0].type, "kodama");
  assertEquals(pkg.contributes.taskDefinitions[0].required, ["run"]);
  assert(ext.includes('{ type: "kodama", run: '));
  // exact versions (no ^ or ~), and a lockfile
  for (const [name, v] of Object.entries({ ...pkg.dependencies, ...pkg.devDependencies })) {
    assert(/^\d+\.\d+\.\d+$/.test(v as string), `${name}@${v} is not pinned`);
  }
  Deno.statSync(new URL("package-lock.json", dir));
  // the extension talks to kodama only: no Kubernetes client, no shell
  assert(!/@kubernetes|shell:\s*true|exec\(/.test(ext + Deno.readTextFileSync(new URL("src/cli.ts", dir))));
});

const vsix = new URL("kodama.vsix", dir);
const built = await Deno.stat(vsix).then(() => true, () => false);

Deno.test({
  name: "the packaged .vsix: bundle, schema, manifest (built by .ci/run)",
  ignore: !built && !Deno.env.get("CI"),
  async fn() {
    assert(built, "editors/vscode/kodama.vsix was not built (.ci/run builds it: npm ci && npm run package)");
    const { unzipSync, strFromU8 } = await import("fflate");
    const files = unzipSync(await Deno.readFile(vsix));
    const names = Object.keys(files).sort();
    for (
      const f of [
        "extension/dist/extension.js",
        "extension/package.json",
        "extension/schemas/workflow.schema.json",
      ]
    ) {
      assert(names.includes(f), `${f} missing from the vsix: ${names.join(", ")}`);
    }
    // nothing else of the source tree or node_modules
    assert(
      !names.some((n) => n.includes("node_modules") || n.startsWith("extension/src/")),
      names.join(", "),
    );
    const schema = strFromU8(files["extension/schemas/workflow.schema.json"]);
    assertEquals(schema, await Deno.readTextFile(new URL("../../schemas/workflow.schema.json", dir)));
    const bundled = JSON.parse(strFromU8(files["extension/package.json"]));
    assertEquals(bundled.contributes.commands.length, pkg.contributes.commands.length);
    const js = strFromU8(files["extension/dist/extension.js"]);
    assert(js.includes('require("vscode")'), "vscode must stay external");
  },
});
