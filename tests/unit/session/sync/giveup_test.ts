/**
 * When the background sync stops retrying (#25): its own settings gone (the session deleted here, a
 * test's KODAMA_HOME removed) at once; the pod not found for 2 min; no answer from the cluster for 6 h;
 * otherwise it retries.
 */
import { assertEquals, assertMatch } from "@kodama/test-assert";
import { giveUpReason } from "../../../../src/session/sync/daemon.ts";
import { saveConfig } from "../../../../src/session/sync/store.ts";
import { ExitCode, KodamaError } from "../../../../src/base/errors.ts";
import { SyncConnectionError } from "../../../../src/session/sync/remote.ts";

Deno.test("sync daemon: when it gives up, and when it keeps retrying", async () => {
  const home = await Deno.makeTempDir();
  try {
    const down = new SyncConnectionError("connection refused");
    const gone = new KodamaError('pods "kodama-x" not found', ExitCode.NOT_FOUND);
    // no settings: the session was deleted here
    assertMatch((await giveUpReason("x", "kodama-x", down, 0, home))!, /sync settings of x are gone/);
    await saveConfig({
      name: "x",
      namespace: "dev",
      root: home,
      workdir: "/workspace",
      pod: "kodama-x",
      container: "main",
      syncGit: false,
      useGitignore: true,
      excludePatterns: [],
      connection: [],
    }, home);
    assertEquals(await giveUpReason("x", "kodama-x", down, 60_000, home), undefined);
    assertEquals(await giveUpReason("x", "kodama-x", gone, 60_000, home), undefined);
    assertMatch(
      (await giveUpReason("x", "kodama-x", gone, 2 * 60_000, home))!,
      /pod kodama-x has not been found for 2 min/,
    );
    assertEquals(await giveUpReason("x", "kodama-x", down, 5 * 3600_000, home), undefined);
    assertMatch(
      (await giveUpReason("x", "kodama-x", down, 6 * 3600_000, home))!,
      /has not answered for 6 h/,
    );
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
