// tests/_timeout.ts: a hung test is failed at its limit, and what it registered with onTimeout runs (its
// finally never does); tests/cli/_session.ts stopSyncDaemons kills a home's leftover background syncs (the
// holders of their daemon claims) and nothing else.
import { assert, assertEquals, assertMatch } from "../../_assert.ts";
import { stopSyncDaemons } from "../../cli/_session.ts";
import { DAEMON_CLAIM } from "../../../src/session/sync/column.ts";

const TIMEOUT_TS = new URL("../../_timeout.ts", import.meta.url).href;

Deno.test("a test that hangs fails at its limit and its onTimeout hooks run; a finished test's do not", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kodama-timeout-" });
  try {
    await Deno.writeTextFile(
      `${dir}/hang_test.ts`,
      `import { onTimeout, TIMEOUT } from ${JSON.stringify(TIMEOUT_TS)};
Deno.test({ name: "hangs", [TIMEOUT]: 800, fn: async () => {
  onTimeout(() => Deno.writeTextFileSync(${JSON.stringify(`${dir}/hung`)}, "ran"));
  await new Promise(() => {}); // a hang: never settles (only the limit's timer keeps the test going)
}, sanitizeOps: false, sanitizeResources: false });
Deno.test({ name: "finishes", [TIMEOUT]: 800, fn: () => {
  const forget = onTimeout(() => Deno.writeTextFileSync(${JSON.stringify(`${dir}/finished`)}, "ran"));
  forget();
} });
`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["test", "-A", "--no-check", `${dir}/hang_test.ts`],
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert(!out.success, text);
    assertMatch(text, /test "hangs" did not finish within 0\.8 s/);
    assertEquals(await Deno.readTextFile(`${dir}/hung`), "ran");
    assert(!(await Deno.stat(`${dir}/finished`).then(() => true, () => false)), "a finished test's hook ran");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const LIVENESS = new URL("../../../src/base/proc/liveness.ts", import.meta.url).href;

Deno.test("stopSyncDaemons kills the process holding a session's daemon claim, never a pid a status file names", async () => {
  const home = await Deno.makeTempDir({ prefix: "kodama-home-" });
  // a background sync of session a: holds the claim, as the daemon does (src/base/proc/liveness.ts)
  const daemon = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `import { claim } from ${JSON.stringify(LIVENESS)};
       await claim(${JSON.stringify(`${home}/sync/a`)}, ${JSON.stringify(DAEMON_CLAIM)});
       console.log("ready"); setInterval(() => {}, 1000);`,
    ],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  // session b's status names a live process that is not its sync (a dead sync's pid, reused)
  const other = new Deno.Command("sleep", { args: ["30"], stdout: "null", stderr: "null" }).spawn();
  try {
    const r = daemon.stdout.pipeThrough(new TextDecoderStream()).getReader();
    assertEquals(((await r.read()).value ?? "").trim(), "ready");
    r.releaseLock();
    await Deno.mkdir(`${home}/sync/b`, { recursive: true });
    await Deno.writeTextFile(
      `${home}/sync/b/status.json`,
      JSON.stringify({ state: "error", pid: other.pid }),
    );
    await Deno.mkdir(`${home}/sync/no-status`);
    stopSyncDaemons(home);
    assertEquals((await daemon.status).signal, "SIGKILL");
    const still = await Promise.race([
      other.status.then(() => false),
      new Promise((r) => setTimeout(() => r(true), 300)),
    ]);
    assert(still, "a process a status file names was killed");
    stopSyncDaemons(`${home}/missing`); // no sync directory: nothing to do, no error
  } finally {
    for (const c of [daemon, other]) {
      try {
        c.kill("SIGKILL");
      } catch { /* gone */ }
      await c.status;
    }
    await daemon.stdout.cancel().catch(() => {});
    await Deno.remove(home, { recursive: true });
  }
});
