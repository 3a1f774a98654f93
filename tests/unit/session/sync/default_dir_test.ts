/** `start` without --sync: which directory is synced by default, and the one-line refusals. */
import { assert, assertEquals, assertMatch } from "@kodama/test-assert";
import { defaultSyncDir } from "../../../../src/session/sync/session.ts";
import { lockEnv } from "../../../_env_lock.ts";

Deno.test("default sync dir: a project syncs; $HOME, / and a tree over sync.maxFiles refuse in one line", async () => {
  const unlock = await lockEnv(["HOME"]);
  const base = await Deno.makeTempDir();
  try {
    const home = `${base}/home`;
    await Deno.mkdir(`${home}/.git`, { recursive: true }); // even a home that is a repo (dotfiles) is refused
    Deno.env.set("HOME", home);
    const h = await defaultSyncDir(home, 50_000);
    assert("reason" in h && h.reason);
    assertMatch(
      h.reason!,
      /^not syncing .*: it is your home directory \(choose with --sync PATH, or --no-sync\)$/,
    );
    const root = await defaultSyncDir("/", 50_000);
    assert("reason" in root && /file system's root/.test(root.reason!));
    // not a project: nothing synced, nothing said
    await Deno.mkdir(`${base}/plain`);
    assertEquals(await defaultSyncDir(`${base}/plain`, 50_000), {});
    // each marker makes a project
    for (const m of [".git", ".kodama.yaml", ".kodamaignore"]) {
      const d = `${base}/p${m}`;
      await Deno.mkdir(d);
      if (m === ".git") await Deno.mkdir(`${d}/.git`);
      else await Deno.writeTextFile(`${d}/${m}`, "");
      assertEquals(await defaultSyncDir(d, 50_000), { dir: d });
    }
    // too many files (ignored ones do not count)
    const big = `${base}/big`;
    await Deno.mkdir(`${big}/node_modules`, { recursive: true });
    await Deno.writeTextFile(`${big}/.kodamaignore`, "node_modules/\n");
    for (let i = 0; i < 20; i++) await Deno.writeTextFile(`${big}/node_modules/f${i}`, "x");
    assertEquals(await defaultSyncDir(big, 5), { dir: big });
    for (let i = 0; i < 6; i++) await Deno.writeTextFile(`${big}/f${i}`, "x");
    const over = await defaultSyncDir(big, 5);
    assert("reason" in over);
    assertMatch(
      over.reason!,
      /it holds more than 5 files \(sync\.maxFiles; choose with --sync PATH, or --no-sync\)/,
    );
    assert(!over.reason!.includes("\n"));
  } finally {
    unlock();
    await Deno.remove(base, { recursive: true });
  }
});
