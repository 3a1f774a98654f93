/**
 * kodama run from a copy of the project (as from an unpacked source release) through `deno task install`
 * shims: the shims point into the copy, not into this checkout, and everything kodama loads beside its
 * sources at run time — built-in workflows, the sandbox worker and SDK, completion scripts — comes from the
 * copy. It is the same property `deno compile --include` needs, checked where no denort is needed.
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

async function run(cmd: string, args: string[], o: { env?: Record<string, string>; cwd?: string } = {}) {
  const out = await new Deno.Command(cmd, { args, env: o.env, cwd: o.cwd, stdout: "piped", stderr: "piped" })
    .output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test({
  name: "a copied project installs shims that point into the copy and run from it",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "kodama-copy-" });
    try {
      // the project's files (tracked and new, not ignored), as a source archive would have them
      const files = (await run("git", ["ls-files", "-co", "--exclude-standard", "-z"], { cwd: ROOT })).stdout
        .split("\0").filter(Boolean);
      assert(files.includes("main.ts") && files.includes("src/workflow/sandbox/worker.js"));
      const copy = join(tmp, "kodama-src");
      for (const f of files) {
        try {
          await Deno.mkdir(dirname(join(copy, f)), { recursive: true });
          await Deno.copyFile(join(ROOT, f), join(copy, f));
        } catch (e) {
          if (!(e instanceof Deno.errors.NotFound)) throw e; // deleted in the work tree
        }
      }
      const root = join(tmp, "root");
      const inst = await run(Deno.execPath(), ["task", "install"], {
        cwd: copy,
        env: { DENO_INSTALL_ROOT: root },
      });
      assertEquals(inst.code, 0, inst.stderr);
      for (const shim of ["kodama", "kubectl-kodama", "kpod", "kwekash", "kubectl_complete-kodama"]) {
        const text = await Deno.readTextFile(join(root, "bin", shim));
        assert(!text.includes(ROOT + "/"), `${shim} points into the checkout:\n${text}`);
        assertStringIncludes(text, copy, shim);
      }
      const env = {
        PATH: `${root}/bin:${Deno.env.get("PATH")}`,
        KODAMA_HOME: join(tmp, "home"),
        NO_COLOR: "1",
        DENO_NO_UPDATE_CHECK: "1",
      };
      const bin = (n: string) => join(root, "bin", n);

      const v = await run(bin("kodama"), ["version", "--client"], { env });
      assertEquals(v.code, 0, v.stderr);
      const wf = await run(bin("kodama"), ["workflow", "list", "-o", "name"], { env, cwd: tmp });
      assertEquals(wf.stdout.split("\n").filter(Boolean).sort(), ["health", "kwekash", "shell"], wf.stderr);
      const sh = await run(bin("kodama"), ["completion", "bash"], { env });
      assertStringIncludes(sh.stdout, "__kodama_complete");
      const comp = await run(bin("kubectl_complete-kodama"), ["ex"], { env });
      assertEquals(
        comp.stdout,
        "exec\tRun a command in one matching pod, in all of them, or in tmux panes\n:4\n",
      );

      // a repo workflow's script step: the sandbox worker and the SDK come from the copy
      const repo = join(tmp, "repo");
      await Deno.mkdir(join(repo, ".git"), { recursive: true });
      await Deno.mkdir(join(repo, ".kodama", "workflows"), { recursive: true });
      await Deno.mkdir(join(repo, ".kodama", "scripts"), { recursive: true });
      await Deno.writeTextFile(
        join(repo, ".kodama", "workflows", "hello.yaml"),
        "name: hello\nsteps:\n  - id: s\n    script: { module: ../scripts/hello.ts }\n",
      );
      await Deno.writeTextFile(
        join(repo, ".kodama", "scripts", "hello.ts"),
        'import { defineStep } from "kodama/sdk";\n' +
          'export default defineStep(() => { console.log("hello from the sandbox"); return { n: 1 }; });\n',
      );
      const hello = await run(bin("kodama"), ["run", "hello"], { env, cwd: repo });
      assertEquals(hello.code, 0, hello.stdout + hello.stderr);
      assertStringIncludes(hello.stdout, "hello from the sandbox");
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
