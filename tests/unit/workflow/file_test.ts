/**
 * Reading a workflow file (src/workflow/file.ts `readWorkflowText`): the text as written (UTF-8 split
 * across reads included), and never more than MAX_FILE_BYTES of it — also from a pipe, whose size is
 * unknown until it ends (`kodama run -f <(generate)`), where the stat check cannot refuse it up front.
 */
import { assertEquals, assertRejects } from "@std/assert";
import { join } from "node:path";
import { readWorkflowText } from "../../../src/workflow/file.ts";
import { MAX_FILE_BYTES } from "../../../src/workflow/limits.ts";

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "kodama-wf-file-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A FIFO at `path` fed `data` by a writer that runs beside the reader (`done` when it has finished). */
async function fifo(path: string, data: Uint8Array): Promise<{ done: Promise<void> }> {
  const made = await new Deno.Command("mkfifo", { args: [path] }).output();
  if (!made.success) throw new Error("mkfifo failed");
  const done = (async () => {
    const w = await Deno.open(path, { write: true });
    try {
      for (let i = 0; i < data.length; i += 65536) await w.write(data.subarray(i, i + 65536));
    } catch {
      // the reader stopped early (over the limit): nothing more to write
    } finally {
      w.close();
    }
  })();
  return { done };
}

Deno.test("readWorkflowText: the file's text, multi-byte characters included", async () => {
  await withDir(async (dir) => {
    const text = "name: é\nsteps:\n  - local: { command: [echo, '🙂'] }\n".repeat(500);
    await Deno.writeTextFile(join(dir, "w.yaml"), text);
    assertEquals(await readWorkflowText(join(dir, "w.yaml")), text);
  });
});

Deno.test({
  name: "readWorkflowText: a pipe is read to its end, and refused once it is over the limit",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    await withDir(async (dir) => {
      const small = "steps:\n  - local: { command: [echo, 'ü'] }\n".repeat(3000); // > 64 KiB, < 1 MiB
      const writing = await fifo(join(dir, "small"), new TextEncoder().encode(small));
      assertEquals(await readWorkflowText(join(dir, "small")), small);
      await writing.done;

      const big = new Uint8Array(MAX_FILE_BYTES + 100_000).fill(0x61);
      const writingBig = await fifo(join(dir, "big"), big);
      await assertRejects(() => readWorkflowText(join(dir, "big")), "may be at most 1 MiB");
      await writingBig.done;
    });
  },
});
