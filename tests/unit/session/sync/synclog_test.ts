/** The background sync's log is bounded: past its cap it moves to sync.log.1 and starts again (synclog.ts). */
import { assert, assertEquals } from "@kodama/test-assert";
import { openSyncLog } from "../../../../src/session/sync/synclog.ts";

Deno.test("sync log: one line per write, rotated to .1 past the cap, never more than two files", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kodama-synclog-" });
  try {
    const path = `${dir}/sync.log`;
    const log = openSyncLog(path, 1000);
    for (let i = 0; i < 100; i++) log.write(`line ${i} ${"x".repeat(40)}`);
    log.write("two\nlines"); // a newline from a message cannot forge a line of its own
    log.close();
    const now = await Deno.readTextFile(path);
    const before = await Deno.readTextFile(`${path}.1`);
    assert(now.length <= 1000 && before.length <= 1000, `${now.length} ${before.length}`);
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["sync.log", "sync.log.1"]);
    assert(now.trimEnd().endsWith("two\\nlines"), now);
    assert(/line 99 x+\n/.test(now + before), "the newest lines are kept");
    assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
    // lines are whole: each starts with a timestamp
    for (const l of (before + now).trimEnd().split("\n")) assert(/^\d{4}-\d\d-\d\dT/.test(l), l);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
