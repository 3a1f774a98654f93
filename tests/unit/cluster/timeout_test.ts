// tests/_timeout.ts: a hung test is failed at its limit, and what it registered with onTimeout runs (its
// finally never does); tests/cli/_session.ts stopSyncDaemons kills a home's leftover background syncs and
// nothing else.
import { assert, assertEquals, assertMatch } from "../../_assert.ts";
import { stopSyncDaemons } from "../../cli/_session.ts";

const TIMEOUT_TS = new URL("../../_timeout.ts", import.meta.url).href;

Deno.test("a test that hangs fails at its limit and its onTimeout hooks run; a finished test's do not", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kodama-timeout-" });
  try {
    await Deno.writeTextFile(
      `${dir}/hang_test.ts`,
      `import { onTimeout, TIMEOUT } from ${JSON.stringify(TIMEOUT_TS)};
Deno.test({ name: "hangs", [TIMEOUT]: 800, fn: async () => {
  onTimeout(() => Deno.writeTextFileSync(${JSON.stringify(`${dir}/hung`)}, "ran"));
  await new Promise((r) => setTimeout(r, 5000));
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

Deno.test({
  name: "stopSyncDaemons kills the processes a home's status files name that run with that home, no other",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const home = await Deno.makeTempDir({ prefix: "kodama-home-" });
    const other = await Deno.makeTempDir({ prefix: "kodama-home-" });
    const sleeper = (h: string) =>
      new Deno.Command("sleep", { args: ["30"], env: { KODAMA_HOME: h }, stdout: "null", stderr: "null" })
        .spawn();
    const mine = sleeper(home), theirs = sleeper(other);
    try {
      // this home's session, and one whose status names the other home's process (a reused pid)
      for (const [name, pid] of [["a", mine.pid], ["b", theirs.pid]] as const) {
        await Deno.mkdir(`${home}/sync/${name}`, { recursive: true });
        await Deno.writeTextFile(`${home}/sync/${name}/status.json`, JSON.stringify({ state: "error", pid }));
      }
      await Deno.mkdir(`${home}/sync/no-status`);
      stopSyncDaemons(home);
      assertEquals((await mine.status).signal, "SIGKILL");
      const still = await Promise.race([
        theirs.status.then(() => false),
        new Promise((r) => setTimeout(() => r(true), 300)),
      ]);
      assert(still, "the other home's process was killed");
      stopSyncDaemons(`${home}/missing`); // no sync directory: nothing to do, no error
    } finally {
      try {
        theirs.kill("SIGKILL");
      } catch { /* gone */ }
      await theirs.status;
      await Deno.remove(home, { recursive: true });
      await Deno.remove(other, { recursive: true });
    }
  },
});
