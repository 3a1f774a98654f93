/**
 * Issue 50 class 7: a file from a repository that nests its collections past what kodama reads — a
 * devcontainer.json, a `.kodama.yaml`, a session template, flow (`[[[[`) or block (`- - - -`) — is one
 * line naming the file and where, never "Maximum call stack size exceeded".
 */
import { assert, assertMatch } from "@kodama/test-assert";
import { join } from "node:path";
import { devcontainerFile } from "../../../src/session/spec/devcontainer.ts";
import { templateFile } from "../../../src/session/spec/template.ts";
import { parseConfigText } from "../../../src/config/file.ts";

async function message(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected an error");
}

function oneLineNaming(msg: string, file: string) {
  assert(!/call stack/i.test(msg), msg);
  assert(!msg.includes("\n"), msg);
  assert(msg.includes(file), msg);
}

Deno.test("deep nesting: devcontainer.json, .kodama.yaml and templates fail in one line naming the file", async () => {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "kodama-nest-" }));
  await Deno.mkdir(join(root, ".devcontainer"));
  const n = 200_000;
  for (
    const [name, text] of [
      ["arrays.json", `{"image": "x", "a": ${"[".repeat(n)}${"]".repeat(n)}}`],
      ["objects.json", `{"image": "x", ${'"a": {'.repeat(n)}${"}".repeat(n)}}`],
      ["commented.json", `// a comment\n{"image": "x", "a": ${"[".repeat(n)}${"]".repeat(n)}}`],
    ]
  ) {
    const file = join(root, ".devcontainer", name);
    await Deno.writeTextFile(file, text);
    const msg = await message(() => devcontainerFile(file, root));
    oneLineNaming(msg, name);
    assertMatch(msg, /nest/);
  }
  for (
    const text of [
      `labels: ${"[".repeat(n)}${"]".repeat(n)}\n`,
      `labels: ${"{a: ".repeat(5000)}${"}".repeat(5000)}\n`,
      `labels:\n  ${"- ".repeat(n)}x\n`,
    ]
  ) {
    const msg = await message(() => parseConfigText(join(root, ".kodama.yaml"), text));
    oneLineNaming(msg, ".kodama.yaml");
    const tfile = join(root, "t.yaml");
    await Deno.writeTextFile(tfile, `image: x\n${text}`);
    const tmsg = await message(() => templateFile(tfile, root));
    oneLineNaming(tmsg, "t.yaml");
  }
});
