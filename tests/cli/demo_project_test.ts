/**
 * `deno task demo` prints how to start a session (#51): in a scratch repository it made, never in the
 * kodama checkout, which `start` would upload whole (.git included) and leave under a two-way sync.
 */
import { assert, assertMatch } from "@std/assert";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

Deno.test("demo: the printed start command runs in a scratch repository, not this checkout", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kodama-demo-" });
  const checkout = fileURLToPath(new URL("../../", import.meta.url));
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--no-prompt",
      "tests/cluster/demo.ts",
      "--pods",
      "0",
      "--kubeconfig",
      join(dir, "kc"),
    ],
    cwd: checkout,
    stdout: "piped",
    stderr: "null",
    env: { NO_COLOR: "1" },
  }).spawn();
  let out = "";
  try {
    const r = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    while (!out.includes("Press Ctrl-C")) {
      const { value, done } = await r.read();
      if (done) break;
      out += value;
    }
    r.releaseLock();
    const cd = /^\s*cd (\S+)\s*$/m.exec(out)?.[1];
    assert(cd, out);
    assert(relative(checkout, cd).startsWith(".."), `the demo project ${cd} is inside the checkout`);
    assertMatch(
      out,
      new RegExp(`cd ${cd}\\s*\\n\\s*deno run -A --no-prompt /\\S+/main\\.ts start my-session`),
    );
    const log = new Deno.Command("git", { args: ["log", "--oneline"], cwd: cd, stdout: "piped" })
      .outputSync();
    assert(log.success && new TextDecoder().decode(log.stdout).trim(), "the scratch project has no commit");
    assert(
      !/^\s*deno run -A --no-prompt main\.ts start/m.test(out),
      "a start command still runs in the checkout",
    );
  } finally {
    child.kill("SIGINT");
    await child.status;
    await child.stdout.cancel().catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
