/**
 * `deno task install` from a checkout whose path holds a space (#36): the installer once took
 * `URL.pathname` as a path, so it passed `my%20checkout/deno.json` to `deno install` and failed on
 * every OS. Copies the files the shims need into `…/my checkout/`, installs into a temp root, and runs
 * the installed `kodama`.
 */
import { assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

async function copyTree(from: string, to: string): Promise<void> {
  const st = await Deno.stat(from);
  if (st.isFile) {
    await Deno.mkdir(dirname(to), { recursive: true });
    return await Deno.copyFile(from, to);
  }
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) await copyTree(join(from, e.name), join(to, e.name));
}

Deno.test({
  name: "install: works from a checkout whose path has a space; the shims run",
  sanitizeResources: false,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "kodama-install-" });
    try {
      const checkout = join(tmp, "my checkout");
      for (const f of ["main.ts", "deno.json", "deno.lock", "bin", "src", "workflows", "scripts"]) {
        await copyTree(join(ROOT, f), join(checkout, f));
      }
      const root = join(tmp, "install root");
      const inst = await new Deno.Command(Deno.execPath(), {
        args: ["task", "install"],
        cwd: checkout,
        env: { DENO_INSTALL_ROOT: root },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const said = new TextDecoder().decode(inst.stdout) + new TextDecoder().decode(inst.stderr);
      assertEquals(inst.code, 0, said);
      assertStringIncludes(said, `into ${join(root, "bin")}`);
      // quiet: no download lines of its own, and one line says the shims run from this clone
      assertStringIncludes(said, `they run kodama from this clone (${checkout})`);
      assertEquals(
        inst.stdout.length > 0 && new TextDecoder().decode(inst.stdout).split("\n").length <= 4,
        true,
        said,
      );
      const shim = await Deno.readTextFile(join(root, "bin", "kodama"));
      assertStringIncludes(shim, "my%20checkout/main.ts"); // a file URL, as deno install writes it
      const run = await new Deno.Command(join(root, "bin", "kodama"), {
        args: ["version", "--client"],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assertEquals(run.code, 0, new TextDecoder().decode(run.stderr));
      assertStringIncludes(new TextDecoder().decode(run.stdout), "Client Version: v");
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
