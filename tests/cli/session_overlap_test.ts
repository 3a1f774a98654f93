/**
 * One directory, one two-way session (issue 66.1), black-box: while session a syncs a directory two-way in
 * the background, `start b --sync` of the same directory, a child or a parent (also through a symlink) is
 * refused with exit 2 naming a and the ways out, before anything is created; `--sync-mode one-way-local`
 * and `--allow-overlap` go through; `sync start` follows the same rule; a sibling directory is fine.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { hasStackTrace } from "./_run.ts";
import { purge, SESSION_IMAGE, withSessionWorld } from "./_session.ts";

withSessionWorld("overlap: a second two-way sync of the same tree is refused, naming the first", {
  timeoutMs: 300_000,
}, async (t, w) => {
  const project = `${w.cwd}/project`;
  await Deno.mkdir(`${project}/sub`, { recursive: true });
  await Deno.mkdir(`${w.cwd}/sibling`);
  await Deno.writeTextFile(`${project}/a.txt`, "a\n");
  await Deno.symlink(project, `${w.cwd}/link`);
  const start = (name: string, more: string[]) => w.k(["start", name, "--image", SESSION_IMAGE, ...more]);
  try {
    const a = await start("a", ["--sync", "project"]);
    assertEquals(a.code, 0, a.stderr);

    await t.step(
      "the same tree, a child, a parent, a link to it: exit 2 naming a, nothing created",
      async () => {
        for (const dir of ["project", "project/sub", ".", "link"]) {
          const r = await start("b", ["--sync", dir]);
          assertEquals(r.code, 2, `${dir}: ${r.stderr}`);
          assertMatch(r.stderr, /error: \S+ (is|is inside|holds) the directory session a syncs two-way \(/);
          assertStringIncludes(r.stderr, "--sync-mode one-way-local");
          assertStringIncludes(r.stderr, "--no-sync");
          assertStringIncludes(r.stderr, "kodama sync stop a");
          assertStringIncludes(r.stderr, "--allow-overlap");
          assert(!hasStackTrace(r.stderr), r.stderr);
          assertEquals(r.stderr.trim().split("\n").length <= 2, true, r.stderr);
        }
        const left = await w.kc(["get", "pods,pvc", "-l", "kodama.dev/session=b", "-o", "name"]);
        assertEquals(left.stdout.trim(), "", left.stdout);
      },
    );

    await t.step("a sibling tree, and one-way-local (the pod follows): started", async () => {
      const s = await start("c", ["--sync", "sibling"]);
      assertEquals(s.code, 0, s.stderr);
      const o = await start("d", ["--sync", "project", "--sync-mode", "one-way-local"]);
      assertEquals(o.code, 0, o.stderr);
    });

    await t.step("sync start follows the rule too; --allow-overlap lets it through", async () => {
      const r = await w.k(["sync", "start", "c", "project/sub"]);
      assertEquals(r.code, 2, r.stderr);
      assertStringIncludes(r.stderr, "session a syncs two-way");
      // refused before anything was recorded: c still syncs its own tree
      const cfg = JSON.parse(await Deno.readTextFile(`${w.home}/sync/c/sync.json`));
      assertEquals(cfg.root.endsWith("/sibling"), true, cfg.root);
      const ok = await w.k(["sync", "start", "c", "project/sub", "--allow-overlap"]);
      assertEquals(ok.code, 0, ok.stderr);
    });

    await t.step("once a's sync is stopped, the tree is free", async () => {
      assertEquals((await w.k(["sync", "stop", "a"])).code, 0);
      assertEquals((await w.k(["sync", "stop", "c"])).code, 0);
      const r = await start("e", ["--sync", "project"]);
      assertEquals(r.code, 0, r.stderr);
    });
  } finally {
    for (const n of ["a", "b", "c", "d", "e"]) await purge(w, n);
  }
});
