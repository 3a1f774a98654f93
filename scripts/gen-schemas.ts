/**
 * `deno task schemas`: regenerate the published JSON Schemas (and the generated key table in docs/config.md)
 * from the zod schemas in the source. Tests fail when the committed files are stale.
 */
import { configJsonSchema } from "../src/config/schema.ts";
import { replaceGeneratedSection } from "../src/config/docs.ts";
import { workflowJsonSchema } from "../src/workflow/schema.ts";
import { fileUrlToPath, hostPlatform } from "../src/base/platform.ts";

const root = new URL("..", import.meta.url);
const write = async (rel: string, text: string) => {
  await Deno.writeTextFile(new URL(rel, root), text);
  console.log(`wrote ${rel}`);
};
await write("schemas/config.schema.json", JSON.stringify(configJsonSchema(), null, 2) + "\n");
await write("schemas/workflow.schema.json", JSON.stringify(workflowJsonSchema(), null, 2) + "\n");
const docs = new URL("docs/config.md", root);
await write("docs/config.md", replaceGeneratedSection(await Deno.readTextFile(docs)));
const fmt = await new Deno.Command(Deno.execPath(), {
  args: ["fmt", "schemas", "docs/config.md"],
  cwd: fileUrlToPath(root, hostPlatform()),
  stderr: "null",
}).output();
if (!fmt.success) console.error("deno fmt failed on the generated files");
