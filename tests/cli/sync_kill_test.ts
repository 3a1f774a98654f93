/**
 * The two-way sync SIGKILLed at each point of a cycle (#25), black-box: the background process is started
 * with KODAMA_SYNC_HALT_AT=POINT (twoway.ts), which stops its cycle for good at POINT and says so in the
 * log; the test then SIGKILLs it there, starts the sync again, and checks that nothing was lost and
 * nothing came back:
 *
 *   scan      one changed file hashed, the rest of the local tree not yet
 *   applied   the pod's side of the plan applied, nothing written here yet
 *   placing   a pulled file written under its temporary name here, not yet renamed into place
 *   ancestor  both sides applied, the new common ancestor not yet written
 *
 * Each round makes the same kinds of change on both sides while the sync is stopped (new files, an
 * edit, a delete), so every point has work on both sides to be killed in the middle of.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { purge, SESSION_IMAGE, withSessionWorld } from "./_session.ts";
import { readLocal, syncSide } from "./_sync.ts";

const NAME = "sync-kill";
const POINTS = ["scan", "applied", "placing", "ancestor"] as const;

withSessionWorld(
  "sync two-way: SIGKILL mid-scan, mid-apply, mid-write and before the ancestor loses and resurrects nothing",
  { timeoutMs: 12 * 60_000 },
  async (t, w) => {
    const { podCat, pod, until, sums, log } = syncSide(w, NAME);
    const root = `${w.cwd}/project`;
    const dir = `${w.home}/sync/${NAME}`;
    await Deno.mkdir(`${root}/src`, { recursive: true });
    const sync = async (verb: "start" | "stop", env?: Record<string, string>) => {
      const r = await w.k(["sync", verb, NAME], { env });
      assertEquals(r.code, 0, r.stderr);
    };
    const watching = () =>
      until(
        "the sync watching",
        async () => (await w.k(["sync", "status", NAME])).stdout.includes("watching"),
      );
    const leftovers = () => {
      const r = new Deno.Command("find", { args: [root, "-name", ".kodama-pull-*"], stdout: "piped" })
        .outputSync();
      return new TextDecoder().decode(r.stdout).trim();
    };
    try {
      await Deno.writeTextFile(`${root}/src/a.txt`, "a\n");
      await Deno.writeTextFile(`${root}/src/b.txt`, "b\n");
      // a repository: start syncs it by default
      for (
        const a of [["init", "-q"], ["add", "-A"], [
          "-c",
          "user.name=t",
          "-c",
          "user.email=t@e",
          "commit",
          "-qm",
          "one",
        ]]
      ) {
        new Deno.Command("git", { args: a, cwd: root, stdout: "null", stderr: "null" }).outputSync();
      }
      const r = await w.k(["start", NAME, "--image", SESSION_IMAGE], { cwd: root });
      assertEquals(r.code, 0, r.stderr);
      await watching();

      for (const point of POINTS) {
        await t.step(`SIGKILL at ${point}`, async () => {
          // both sides hold two files that one side will delete
          await Deno.writeTextFile(`${root}/src/gone-here-${point}.txt`, "x\n");
          await pod(`echo y > src/gone-there-${point}.txt`);
          await until(
            "the files to delete on both sides",
            async () =>
              (await podCat(`src/gone-here-${point}.txt`)) === "x\n" &&
              (await readLocal(`${root}/src/gone-there-${point}.txt`)) === "y\n",
          );
          await sync("stop");
          // while stopped: new files, an edit and a delete here; the same in the pod
          for (let i = 0; i < 40; i++) {
            await Deno.writeTextFile(`${root}/src/l-${point}-${i}.txt`, `${point} ${i}\n`.repeat(50));
          }
          await Deno.writeTextFile(`${root}/src/a.txt`, `a ${point}\n`, { append: true });
          await Deno.remove(`${root}/src/gone-here-${point}.txt`);
          await pod(
            `for i in 0 1 2 3 4 5 6 7 8 9; do echo "pod ${point} $i" > src/p-${point}-$i.txt; done; ` +
              `echo "b ${point}" >> src/b.txt; rm src/gone-there-${point}.txt`,
          );
          const before = (await log()).length;
          await sync("start", { KODAMA_SYNC_HALT_AT: point });
          await until(
            `the halt at ${point}`,
            async () => (await log()).slice(before).includes(`halted at ${point}`),
          );
          const { pid } = JSON.parse(await Deno.readTextFile(`${dir}/status.json`));
          // what shows that the process stopped where it was meant to
          if (point === "applied") {
            assertEquals(await podCat(`src/l-${point}-39.txt`), `${point} 39\n`.repeat(50));
            assertEquals(await readLocal(`${root}/src/p-${point}-0.txt`), undefined);
          } else if (point === "placing") {
            assertMatch(leftovers(), new RegExp(`/src/\\.kodama-pull-${NAME}\\.[0-9a-f]{8}$`));
          } else if (point === "ancestor") {
            assertEquals(await readLocal(`${root}/src/p-${point}-9.txt`), `pod ${point} 9\n`);
            const anc = JSON.parse(await Deno.readTextFile(`${dir}/ancestor.json`)).entries;
            assert(!anc[`src/p-${point}-9.txt`], "the ancestor was written before the kill");
            assert(anc[`src/gone-there-${point}.txt`], "the ancestor was written before the kill");
          }
          Deno.kill(pid, "SIGKILL");
          await sync("start");
          await until("both sides equal, with every change", async () => {
            const x = await sums(root);
            return x.local === x.pod && x.local.includes(`src/p-${point}-9.txt`) &&
              x.local.includes(`src/l-${point}-39.txt`);
          }, 60_000);
          // no version lost: both sides' new files and edits are on both sides
          for (let i = 0; i < 40; i += 13) {
            assertEquals(await podCat(`src/l-${point}-${i}.txt`), `${point} ${i}\n`.repeat(50));
          }
          for (let i = 0; i < 10; i += 3) {
            assertEquals(await readLocal(`${root}/src/p-${point}-${i}.txt`), `pod ${point} ${i}\n`);
          }
          assertStringIncludes((await readLocal(`${root}/src/a.txt`))!, `a ${point}\n`);
          assertStringIncludes((await podCat("src/a.txt"))!, `a ${point}\n`);
          assertStringIncludes((await readLocal(`${root}/src/b.txt`))!, `b ${point}\n`);
          // nothing resurrected: the deletes hold on both sides
          for (const f of [`gone-here-${point}`, `gone-there-${point}`]) {
            assertEquals(await readLocal(`${root}/src/${f}.txt`), undefined, `${f} came back here`);
            assertEquals(await podCat(`src/${f}.txt`), undefined, `${f} came back in the pod`);
          }
          // no conflict made up, no temporary file left behind
          const st = await w.k(["sync", "status", NAME]);
          assertEquals(st.code, 0, st.stdout);
          assertEquals(leftovers(), "");
          if (point === "placing") {
            assertMatch(await log(), /removed src\/\.kodama-pull-sync-kill\.\S+: a pulled file/);
          }
        });
      }
    } finally {
      await purge(w, NAME);
    }
  },
);
