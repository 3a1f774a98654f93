/**
 * The prompt is not the agent's work (issue 66.3): a `--prompt-file` inside the synced tree is never sent
 * to the pod (so the agent's `git add -A` cannot commit it), `start` says so once, and the rest of the
 * tree is synced as before; a later `sync start` keeps it out too.
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { podOf, purge, SESSION_IMAGE, withSessionWorld } from "./_session.ts";

const AGENT = "cat > /dev/null; echo agent: ran";

withSessionWorld("prompt file: inside the synced tree it stays on this machine, said once", {
  timeoutMs: 300_000,
}, async (t, w) => {
  await Deno.writeTextFile(
    join(w.cwd, ".kodama.yaml"),
    `agent:\n  command: [sh, -c, ${JSON.stringify(AGENT)}]\n`,
  );
  await Deno.mkdir(join(w.cwd, "tasks"));
  await Deno.writeTextFile(join(w.cwd, "tasks", "task.txt"), "add a line to notes.md\n");
  await Deno.writeTextFile(join(w.cwd, "notes.md"), "# notes\n");
  const ls = async () =>
    (await w.kc([
      "exec",
      await podOf(w, "p"),
      "-c",
      "session",
      "--",
      "sh",
      "-c",
      "cd /workspace && find . -type f | sort",
    ]))
      .stdout;
  try {
    await t.step("start --prompt-file tasks/task.txt: the file is not in the workspace", async () => {
      const r = await w.k(["start", "p", "--image", SESSION_IMAGE, "--prompt-file", "tasks/task.txt"]);
      assertEquals(r.code, 0, r.stderr);
      const said = r.stderr.split("\n").filter((l) => l.includes("not syncing the prompt file"));
      assertEquals(said, [
        "not syncing the prompt file tasks/task.txt: it is the agent's task, not its work (kept out of its commits)",
      ]);
      assert(!/env file/.test(said[0]));
      const files = await ls();
      assertStringIncludes(files, "./notes.md");
      assert(!files.includes("task.txt"), files);
    });
    await t.step("a later change to it is not sent either; the sync of the rest goes on", async () => {
      await Deno.writeTextFile(join(w.cwd, "tasks", "task.txt"), "another task\n");
      await Deno.writeTextFile(join(w.cwd, "later.md"), "later\n");
      const push = await w.k(["sync", "push", "p"]);
      assertEquals(push.code, 0, push.stderr);
      const files = await ls();
      assertStringIncludes(files, "./later.md");
      assert(!files.includes("task.txt"), files);
    });
  } finally {
    await purge(w, "p");
  }
});
