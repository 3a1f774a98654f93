/**
 * A pod-supplied hard link in `sync pull` (#36): it may only give a second name to a regular file the
 * same pull wrote, inside the tree — never pull an outside file in (macOS's link(2) follows symlinks),
 * never give a local secret the pod did not send a second, synced, name.
 */
import { assertEquals } from "../../_assert.ts";
import { hardLinkSource } from "../../../src/session/sync/pull.ts";

Deno.test("hardLinkSource: only a regular file of this pull, inside the tree, not through a link", async () => {
  const base = await Deno.makeTempDir();
  const root = `${base}/tree`;
  try {
    await Deno.mkdir(`${root}/sub`, { recursive: true });
    await Deno.writeTextFile(`${base}/outside`, "outside\n");
    await Deno.writeTextFile(`${root}/a.txt`, "pulled\n");
    await Deno.writeTextFile(`${root}/.env`, "TOKEN=local\n");
    await Deno.symlink("../outside", `${root}/link-out`);
    await Deno.symlink("..", `${root}/up`);
    const group = ["a.txt", "link-out", "up/outside", "../outside", "sub"];
    const table: [string, string | undefined][] = [
      ["a.txt", `${root}/a.txt`],
      ["link-out", undefined], // a symlink to outside: link(2) on macOS would link the outside file
      ["up/outside", undefined], // through a symlinked directory
      ["../outside", undefined], // climbs out
      [".env", undefined], // a local file this pull did not write
      ["sub", undefined], // not a file
      ["", undefined],
      ["/etc/passwd", undefined],
    ];
    for (const [to, want] of table) assertEquals(hardLinkSource(root, to, group), want, to);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});
