/**
 * Sync's protected places are real places, read at the moment of use (#61 point 3), and the background
 * sync's log says a refusal once (#61 point 5): a `workflows.paths` directory the user's config names
 * through a symlink, and one added to the config while the sync runs, get no workflow from the pod; a
 * link the pod makes through the user's own link out of the tree is refused, and said once however many
 * cycles follow.
 */
import { assert, assertEquals } from "@kodama/test-assert";
import { purge, SESSION_IMAGE, withSessionWorld } from "./_session.ts";
import { waitUntil } from "../cluster/harness.ts";

const NAME = "sync-protected";
const exists = (p: string) => Deno.lstat(p).then(() => true, () => false);

withSessionWorld(
  "sync: a workflows.paths directory named through a link or added while syncing gets nothing; a refusal is logged once",
  {},
  async (_t, w) => {
    const root = `${w.cwd}/project`;
    await Deno.mkdir(`${root}/ci/wf`, { recursive: true });
    try {
      new Deno.Command("git", { args: ["init", "-q"], cwd: root }).outputSync();
      await Deno.writeTextFile(`${root}/a.txt`, "a\n");
      await Deno.writeTextFile(`${root}/ci/wf/README.md`, "workflows live here\n");
      // the user's config names the directory through a link outside the tree
      await Deno.symlink(`${root}/ci/wf`, `${w.cwd}/wflink`);
      await Deno.writeTextFile(`${w.home}/config.yaml`, `workflows:\n  paths: [${w.cwd}/wflink]\n`);
      // the user's own link out of the tree: a pod link through it would lead out
      await Deno.symlink(w.cwd, `${root}/vendor`);
      const r = await w.k(["start", NAME, "--image", SESSION_IMAGE, "--sync", "project"]);
      assertEquals(r.code, 0, r.stderr);
      const pod = async (cmd: string) => {
        const p = await w.sh(NAME, `cd /workspace && ${cmd}`);
        assertEquals(p.code, 0, p.stderr);
      };
      const arrived = (p: string) => waitUntil(() => exists(`${root}/${p}`), 120_000, `${p} to come back`);
      const log = () => Deno.readTextFile(`${w.home}/sync/${NAME}/sync.log`).catch(() => "");

      await pod("echo 'steps: []' > ci/wf/deploy.yaml && ln -s vendor/outside viavendor && echo 1 > m1.txt");
      await arrived("m1.txt");
      assert(!(await exists(`${root}/ci/wf/deploy.yaml`)), `a workflow was planted: ${await log()}`);
      assert(!(await exists(`${root}/viavendor`)), "a link out through the user's link was made");

      // a directory added to the config while the sync runs is protected from the next batch on
      await Deno.writeTextFile(
        `${w.home}/config.yaml`,
        `workflows:\n  paths: [${w.cwd}/wflink, ${root}/later]\n`,
      );
      await pod(
        "mkdir -p later && echo 'steps: []' > later/x.yaml && echo data > later/notes.txt && echo 2 > m2.txt",
      );
      await arrived("m2.txt");
      await arrived("later/notes.txt"); // the directory and plain data come down
      assert(!(await exists(`${root}/later/x.yaml`)), `a workflow was planted: ${await log()}`);

      // more cycles: each plans the refused paths again, none logs them again
      for (const m of ["m3.txt", "m4.txt"]) {
        await pod(`echo x > ${m}`);
        await arrived(m);
      }
      const text = await log();
      const count = (s: string) => text.split(s).length - 1;
      assertEquals(count('not writing "viavendor"'), 1, text);
      assertEquals(count('not writing "ci/wf/deploy.yaml"'), 1, text);
      assertEquals(count('not writing "later/x.yaml"'), 1, text);
      assert(/it is in a workflows directory/.test(text), text);
    } finally {
      await purge(w, NAME);
    }
  },
);
