/**
 * `session land` of several repositories, its local half in-process (src/session/git/landrepos.ts landLocal):
 * two local repositories whose session branch is already fetched; every move prepared, then all applied or
 * none. A failure planted after the first write (and after the last) puts back each file — a file the session
 * turned into a directory, a new link, an executable bit — the index and the branch; a conflict in the second
 * moves neither.
 */
import { assert, assertEquals, assertMatch, assertRejects } from "@kodama/test-assert";
import { type Head, headOf, landLocal } from "../../../src/session/git/landrepos.ts";
import type { RepoFetched } from "../../../src/session/git/fetchrepos.ts";

const run = (cwd: string, ...args: string[]) => {
  const r = new Deno.Command("git", { args, cwd, stdout: "piped", stderr: "piped" }).outputSync();
  if (!r.success) throw new Error(`git ${args.join(" ")}: ${new TextDecoder().decode(r.stderr)}`);
  return new TextDecoder().decode(r.stdout).trimEnd();
};

/** A repository on main, and its session's commit on kodama/s (as `session fetch` leaves it). */
async function world(conflict = false) {
  const top = await Deno.makeTempDir({ prefix: "kodama-landrepos-" });
  const a = `${top}/a`, b = `${top}/b`;
  for (const d of [a, b]) {
    await Deno.mkdir(d);
    run(d, "init", "-q", "-b", "main");
    run(d, "config", "user.name", "me");
    run(d, "config", "user.email", "me@here");
  }
  // a: the session edits a.txt, turns file x into a directory, makes run.sh executable, adds a link
  await Deno.writeTextFile(`${a}/a.txt`, "a\n");
  await Deno.writeTextFile(`${a}/x`, "x\n");
  await Deno.writeTextFile(`${a}/run.sh`, "echo\n");
  run(a, "add", "-A");
  run(a, "commit", "-qm", "one");
  run(a, "checkout", "-q", "-b", "kodama/s");
  await Deno.writeTextFile(`${a}/a.txt`, "a from the session\n");
  await Deno.remove(`${a}/x`);
  await Deno.mkdir(`${a}/x/deep`, { recursive: true });
  await Deno.writeTextFile(`${a}/x/deep/y.txt`, "y\n");
  await Deno.chmod(`${a}/run.sh`, 0o755);
  await Deno.symlink("a.txt", `${a}/l`);
  run(a, "add", "-A");
  run(a, "commit", "-qm", "session: a");
  run(a, "checkout", "-q", "main");
  // b: the session edits b.txt; main has a commit of its own (a merge), on c.txt or (conflict) on b.txt
  await Deno.writeTextFile(`${b}/b.txt`, "b\n");
  await Deno.writeTextFile(`${b}/c.txt`, "c\n");
  run(b, "add", "-A");
  run(b, "commit", "-qm", "one");
  run(b, "checkout", "-q", "-b", "kodama/s");
  await Deno.writeTextFile(`${b}/b.txt`, "b from the session\n");
  run(b, "commit", "-qam", "session: b");
  run(b, "checkout", "-q", "main");
  await Deno.writeTextFile(`${b}/${conflict ? "b" : "c"}.txt`, "mine\n");
  run(b, "commit", "-qam", "local");
  // an untracked file and a staged one beside what lands
  await Deno.writeTextFile(`${a}/untracked.txt`, "u\n");
  await Deno.writeTextFile(`${a}/staged.txt`, "s\n");
  run(a, "add", "staged.txt");
  const heads: Head[] = [];
  const fetched: RepoFetched[] = [];
  for (const [name, root] of [["a", a], ["b", b]]) {
    heads.push(await headOf({ name, path: root }, "s"));
    const head = run(root, "rev-parse", "kodama/s");
    fetched.push({
      repo: { name, path: root },
      root,
      before: head,
      f: {
        h: { head, branch: "kodama/s-1", branches: new Map(), roots: [] },
        local: "kodama/s",
        bytes: 0,
        others: [],
      },
    });
  }
  const look = async () => ({
    heads: [run(a, "rev-parse", "main"), run(b, "rev-parse", "main")],
    index: [run(a, "ls-files", "-s"), run(b, "ls-files", "-s")],
    status: [run(a, "status", "--porcelain"), run(b, "status", "--porcelain")],
    files: [
      await Deno.readTextFile(`${a}/a.txt`),
      (await Deno.lstat(`${a}/x`)).isFile,
      ((await Deno.stat(`${a}/run.sh`)).mode ?? 0) & 0o111,
      await Deno.lstat(`${a}/l`).then(() => "there", () => "absent"),
      await Deno.readTextFile(`${b}/b.txt`),
    ],
  });
  return { top, a, b, heads, fetched, look };
}

for (const at of ["a", "b"]) {
  Deno.test(`land of several: a failure after ${at}'s write puts every repository back as it was`, async () => {
    const w = await world();
    try {
      const was = await w.look();
      const written: string[] = [];
      const e = await assertRejects(() =>
        landLocal(w.heads, w.fetched, "s", {
          afterWrite: (r) => {
            written.push(r);
            if (r === at) throw new Error(`planted after ${r}`);
          },
        })
      );
      assertMatch(e.message, new RegExp(`repository ${at}: planted after ${at}`));
      assertEquals(written, at === "a" ? ["a"] : ["a", "b"]);
      assertEquals(await w.look(), was);
      assertEquals(await Deno.readTextFile(`${w.a}/x`), "x\n");
      assertEquals(await Deno.readTextFile(`${w.a}/untracked.txt`), "u\n");
      // the session's branches are where they were
      assertEquals(
        w.fetched.map((f) => run(f.root, "rev-parse", "kodama/s")),
        w.fetched.map((f) => f.f.h.head),
      );
    } finally {
      await Deno.remove(w.top, { recursive: true });
    }
  });
}

Deno.test("land of several: a fast-forward in one, a merge in the other, both written", async () => {
  const w = await world();
  try {
    const plans = await landLocal(w.heads, w.fetched, "s", {});
    assertEquals(plans.map((p) => p.kind), ["fast-forward", "merge"]);
    assertEquals(run(w.a, "rev-parse", "main"), w.fetched[0].f.h.head);
    assertEquals(await Deno.readTextFile(`${w.a}/x/deep/y.txt`), "y\n");
    assertEquals(await Deno.readLink(`${w.a}/l`), "a.txt");
    assert(((await Deno.stat(`${w.a}/run.sh`)).mode ?? 0) & 0o100);
    assertEquals(run(w.a, "status", "--porcelain").split("\n").sort(), ["?? untracked.txt", "A  staged.txt"]);
    assertEquals(run(w.b, "rev-list", "--parents", "-1", "main").split(" ").length, 3);
    assertEquals(run(w.b, "status", "--porcelain"), "");
  } finally {
    await Deno.remove(w.top, { recursive: true });
  }
});

Deno.test("land of several: a conflict in the second moves neither; a dry run writes nothing", async () => {
  const w = await world(true);
  try {
    const was = await w.look();
    const e = await assertRejects(() => landLocal(w.heads, w.fetched, "s", {}));
    assertMatch(
      e.message,
      /^session land: repository b: the merge of session s \(\w+\) into main conflicts: b\.txt/,
    );
    assertEquals(await w.look(), was);
    const w2 = await world();
    try {
      const was2 = await w2.look();
      const plans = await landLocal(w2.heads, w2.fetched, "s", { dryRun: true });
      assertEquals(plans.map((p) => p.kind), ["fast-forward", "merge"]);
      assertEquals(await w2.look(), was2);
    } finally {
      await Deno.remove(w2.top, { recursive: true });
    }
  } finally {
    await Deno.remove(w.top, { recursive: true });
  }
});
