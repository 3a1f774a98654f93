/**
 * Reading a workflow file (src/workflow/file.ts `readWorkflowText`): the text as written (UTF-8 split
 * across reads included), and never more than MAX_FILE_BYTES of it — also from a pipe, whose size is
 * unknown until it ends (`kodama run -f <(generate)`), where the stat check cannot refuse it up front.
 */
import { assertEquals, assertMatch, assertRejects } from "@kodama/test-assert";
import { join } from "node:path";
import { loadWorkflowFile, readWorkflowText } from "../../../src/workflow/file.ts";
import { KodamaError } from "../../../src/base/errors.ts";
import { MAX_FILE_BYTES } from "../../../src/workflow/limits.ts";

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "kodama-wf-file-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("readWorkflowText: the file's text, multi-byte characters included", async () => {
  await withDir(async (dir) => {
    const text = "name: é\nsteps:\n  - local: { command: [echo, '🙂'] }\n".repeat(500);
    await Deno.writeTextFile(join(dir, "w.yaml"), text);
    assertEquals(await readWorkflowText(join(dir, "w.yaml")), text);
  });
});

Deno.test({
  name: "readWorkflowText: a process substitution's pipe is read to its end, and refused once over the limit",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    await withDir(async (dir) => {
      const script = join(dir, "read.ts");
      const mod = new URL("../../../src/workflow/file.ts", import.meta.url).href;
      await Deno.writeTextFile(
        script,
        `import { readWorkflowText } from ${JSON.stringify(mod)};\n` +
          `try { const t = await readWorkflowText(Deno.args[0]); console.log(Deno.args[0], t.length); }\n` +
          `catch (e) { console.log(Deno.args[0], (e as Error).message); }\n`,
      );
      const run = async (gen: string) => {
        const out = await new Deno.Command("bash", {
          args: ["-c", `"$0" run -A --no-check "$1" <(${gen})`, Deno.execPath(), script],
          stdout: "piped",
          stderr: "piped",
        }).output();
        return new TextDecoder().decode(out.stdout).trim();
      };
      const small = "steps:\n  - local: { command: [echo, 'ü'] }\n".repeat(3000); // > 64 KiB, < 1 MiB
      await Deno.writeTextFile(join(dir, "small"), small);
      assertMatch(await run(`cat ${join(dir, "small")}`), new RegExp(`^/dev/fd/\\d+ ${small.length}$`));
      assertMatch(await run(`head -c ${MAX_FILE_BYTES + 100_000} /dev/zero`), /may be at most 1 MiB/);
    });
  },
});

Deno.test({
  name: "readWorkflowText: a named FIFO or a device is refused, not waited on (#26)",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    await withDir(async (dir) => {
      const made = await new Deno.Command("mkfifo", { args: [join(dir, "fifo")] }).output();
      assertEquals(made.success, true);
      await assertRejects(() => readWorkflowText(join(dir, "fifo")), "not a regular file");
      await assertRejects(() => readWorkflowText("/dev/zero"), "not a regular file");
    });
  },
});

Deno.test("loadWorkflowFile: a repository's workflow file is read only inside the repository", async () => {
  await withDir(async (tmp) => {
    const dir = await Deno.realPath(tmp);
    const repo = join(dir, "repo");
    const wfDir = join(repo, ".kodama", "workflows");
    await Deno.mkdir(join(repo, ".git"), { recursive: true });
    await Deno.mkdir(wfDir, { recursive: true });
    await Deno.mkdir(join(repo, "tools"));
    await Deno.mkdir(join(dir, ".ssh"));
    await Deno.writeTextFile(join(dir, ".ssh", "creds.yaml"), "aws_secret_access_key: s3cr3t\n");
    await Deno.writeTextFile(join(repo, "tools", "ok.yaml"), "steps:\n  - local: { command: [echo, hi] }\n");
    // committed links: one out of the repository, one inside it
    await Deno.symlink("../../../.ssh/creds.yaml", join(wfDir, "keys.yaml"));
    await Deno.symlink("../../tools/ok.yaml", join(wfDir, "ok.yaml"));
    const home = join(dir, "kodama-home");
    assertEquals((await loadWorkflowFile(join(wfDir, "ok.yaml"), "repo", home)).workflow.steps.length, 1);
    const e = await loadWorkflowFile(join(wfDir, "keys.yaml"), "repo", home).then(
      () => undefined,
      (x: unknown) => x,
    );
    if (!(e instanceof KodamaError)) throw new Error(`a workflow file that leads out was read: ${e}`);
    assertEquals(e.code, 4, e.message);
    assertMatch(
      e.message,
      /refusing to read workflow file .*keys\.yaml: it leads to .*creds\.yaml, outside the repository/,
    );
    assertEquals(/aws_secret|s3cr3t/.test(e.message + (e.hint ?? "")), false);
  });
});
