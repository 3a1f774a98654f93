import { assert, assertEquals } from "@kodama/test-assert";
import { configJsonSchema, configSchema } from "../../../src/config/schema.ts";
import { replaceGeneratedSection } from "../../../src/config/docs.ts";
import { allKeys } from "../../../src/config/keys.ts";

const root = new URL("../../../", import.meta.url);

Deno.test("committed schemas/config.schema.json equals the generated schema", async () => {
  const committed = JSON.parse(await Deno.readTextFile(new URL("schemas/config.schema.json", root)));
  assertEquals(
    committed,
    configJsonSchema(),
    "schemas/config.schema.json is stale: regenerate it from configJsonSchema() in src/config/schema.ts",
  );
});

Deno.test("docs/config.md key table is up to date with the schema", async () => {
  const doc = await Deno.readTextFile(new URL("docs/config.md", root));
  // deno fmt aligns Markdown tables; compare cell contents, not padding
  const norm = (s: string) =>
    s.split("\n").map((l) => l.startsWith("|") ? l.replace(/\s*\|\s*/g, "|").replace(/-{3,}/g, "---") : l)
      .join("\n");
  assertEquals(
    norm(doc),
    norm(replaceGeneratedSection(doc)),
    "docs/config.md is stale: regenerate with replaceGeneratedSection() from src/config/docs.ts",
  );
  for (const k of allKeys()) assert(doc.includes("`" + k.key + "`"), `${k.key} missing from docs/config.md`);
});

Deno.test("JSON Schema carries descriptions and defaults for every key", () => {
  const js = configJsonSchema();
  for (const k of allKeys()) {
    // deno-lint-ignore no-explicit-any
    let node: any = js;
    for (const p of k.path) node = node.properties[p];
    assert(node, `${k.key} missing from JSON Schema`);
    assertEquals(node.description, k.description, k.key);
    if (k.default !== undefined) assertEquals(node.default, k.default, `${k.key} default`);
  }
  // quantities accept YAML numbers as well as strings
  // deno-lint-ignore no-explicit-any
  const cpu = (js as any).properties.defaults.properties.resources.properties.cpu;
  assertEquals(cpu.anyOf.map((s: { type: string }) => s.type), ["string", "number"]);
});

Deno.test("the README's complete configuration example is valid", () => {
  const r = configSchema.safeParse({
    defaults: {
      namespace: "dev-sessions",
      image: "ghcr.io/illumination-k/kodama-claude:latest",
      resources: { cpu: "2", memory: "4Gi" },
      storage: { workspace: "20Gi", claudeHome: "2Gi" },
      branchPrefix: "kodama/",
    },
    sync: { useGitignore: true, excludePatterns: ["*.log", "tmp/", ".DS_Store"] },
    git: { secretName: "git-ssh-key" },
    env: { dotenvFiles: [".env", ".env.local"], excludeVars: ["CUSTOM_VAR_TO_EXCLUDE"] },
  });
  assert(r.success, JSON.stringify(r.error?.issues));
  assertEquals(r.data.defaults.storage.claudeHome, "2Gi");
});
