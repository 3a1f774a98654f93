/**
 * `deno task demo` prints how to start a session (#51): in a scratch repository it made, never in the
 * kodama checkout, which `start` would upload whole (.git included) and leave under a two-way sync.
 */
import { assert, assertEquals, assertMatch } from "@kodama/test-assert";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const checkout = fileURLToPath(new URL("../../", import.meta.url));
const git = (args: string[], cwd: string) => {
  const r = new Deno.Command("git", { args, cwd, stdout: "piped", stderr: "null" }).outputSync();
  return { ok: r.success, out: new TextDecoder().decode(r.stdout).trim() };
};

/** Run the demo with its state in `dir`; `check` gets what it printed and the project it names. */
async function withDemo(dir: string, check: (out: string, cd: string) => void): Promise<void> {
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
    check(out, cd);
  } finally {
    child.kill("SIGINT");
    await child.status;
    await child.stdout.cancel().catch(() => {});
  }
}

Deno.test("demo: the printed start command runs in a scratch repository, not this checkout", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kodama-demo-" });
  try {
    await withDemo(dir, (out, cd) => {
      assert(relative(checkout, cd).startsWith(".."), `the demo project ${cd} is inside the checkout`);
      assertMatch(
        out,
        new RegExp(`cd ${cd}\\s*\\n\\s*deno run -A --no-prompt /\\S+/main\\.ts start my-session`),
      );
      const log = git(["log", "--oneline"], cd);
      assert(log.ok && log.out, "the scratch project has no commit");
      assert(
        !/^\s*deno run -A --no-prompt main\.ts start/m.test(out),
        "a start command still runs in the checkout",
      );
    });
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("demo: state inside another repository (the default: the checkout's tests/cluster/.state) still gets its own", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kodama-demo-" });
  try {
    assert(git(["init", "-q"], dir).ok);
    assert(
      git(["-c", "user.name=x", "-c", "user.email=x@y", "commit", "-q", "--allow-empty", "-m", "outer"], dir)
        .ok,
    );
    await withDemo(dir, (_out, cd) => {
      // git finds the scratch repository itself there, not the one around it
      assertEquals(git(["rev-parse", "--show-toplevel"], cd).out, Deno.realPathSync(cd));
      assertEquals(git(["log", "--format=%s"], cd).out, "demo project");
    });
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
