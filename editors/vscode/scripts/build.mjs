// Bundles the extension (src/extension.ts and the yaml parser) into dist/extension.js and copies the
// workflow JSON Schema (generated from the CLI's schemas: `deno task schemas`) beside it.
import { build } from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
await build({
  entryPoints: [join(root, "src/extension.ts")],
  bundle: true,
  outfile: join(root, "dist/extension.js"),
  platform: "node",
  format: "cjs",
  target: "node18",
  external: ["vscode"],
  minify: true,
  sourcemap: false,
  logLevel: "warning",
});
mkdirSync(join(root, "schemas"), { recursive: true });
copyFileSync(
  join(root, "../../schemas/workflow.schema.json"),
  join(root, "schemas/workflow.schema.json"),
);
