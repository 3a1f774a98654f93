/**
 * src/base/fs/safewrite.ts on the real file system: links are judged where they really lead when they are made
 * (#50 class 2), whatever their shape — chains of `..`, absolute targets, links into .git, a link made
 * through another link, a user's own link that leads out — and nothing is written through a link.
 */
import { assert, assertEquals, assertMatch, assertRejects } from "@kodama/test-assert";
import {
  hardLinkUnder,
  linkProblem,
  mkdirUnder,
  openUnder,
  parentProblem,
  Refused,
  symlinkUnder,
  targetProblem,
  writeUnder,
} from "../../../../src/base/fs/safewrite.ts";

/** The call is refused (Refused), not failed for another reason. */
async function refused(fn: () => Promise<unknown>): Promise<void> {
  const e = await assertRejects(fn);
  assert(e instanceof Refused, `not a refusal: ${e}`);
}

async function tree(): Promise<{ top: string; root: string }> {
  const top = await Deno.makeTempDir({ prefix: "kodama-safewrite-" });
  const root = `${top}/root`;
  await Deno.mkdir(`${root}/d`, { recursive: true });
  await Deno.mkdir(`${top}/.ssh`);
  await Deno.writeTextFile(`${top}/.ssh/authorized_keys`, "mine\n");
  await Deno.mkdir(`${root}/.git/hooks`, { recursive: true });
  return { top, root };
}

Deno.test("safewrite: the chain d/a -> .., d/b -> a/.., d/c -> b/.. never makes notes.md lead out", async () => {
  const { top, root } = await tree();
  try {
    await symlinkUnder(root, `${root}/d/a`, ".."); // the root itself: inside
    for (
      const [at, to] of [["d/b", "a/.."], ["d/c", "b/.."], ["notes.md", "d/c/../../.ssh/authorized_keys"]]
    ) {
      await refused(() => symlinkUnder(root, `${root}/${at}`, to));
      assert(!(await Deno.lstat(`${root}/${at}`).catch(() => false)), `${at} was made`);
    }
    // made in the other order (the far end first, its chain after) it is refused all the same
    await refused(() => symlinkUnder(root, `${root}/n2`, "d/a/../.ssh/authorized_keys"));
    // shapes that lead out only on the real disk: through the link d/a (the root), one more ..
    assertMatch((await linkProblem(root, `${root}/d/x`, "a/..")) ?? "", /climbs back/);
    // through d/a (the root) and down again: inside, made
    assertEquals(await linkProblem(root, `${root}/x`, "d/a/d"), undefined);
    assertEquals(await readBack(top), "mine\n");
  } finally {
    await Deno.remove(top, { recursive: true });
  }
});

async function readBack(top: string) {
  return await Deno.readTextFile(`${top}/.ssh/authorized_keys`);
}

Deno.test("safewrite: absolute targets, .. past the root, links into .git and out through a user's link are refused", async () => {
  const { top, root } = await tree();
  try {
    await Deno.symlink(top, `${root}/vendor`); // a link the user made, out of the tree
    const out: [string, string][] = [
      ["abs", `${top}/.ssh/authorized_keys`],
      ["abs-inside", `${root}/d`], // absolute is never kept, even into the tree
      ["up", ".."],
      ["d/up2", "../../.ssh"],
      ["hookslink", ".git/hooks"],
      ["gitroot", ".git"],
      ["GIT", ".GIT/config"],
      ["through-vendor", "vendor/.ssh/authorized_keys"],
      ["via-vendor-dir", "vendor"],
      ["empty", ""],
    ];
    for (const [at, to] of out) {
      const why = await linkProblem(root, `${root}/${at}`, to);
      assert(why, `${at} -> ${to} was allowed`);
    }
    // a link into .git through a link that names no .git
    await symlinkUnder(root, `${root}/g`, "d");
    await Deno.remove(`${root}/g`);
    await Deno.symlink(".git", `${root}/g`); // the user's, say
    assertMatch((await linkProblem(root, `${root}/h`, "g/hooks")) ?? "", /\.git/);
    // inside: kept
    for (const [at, to] of [["in", "d"], ["d/in", "../d"], ["self", "."], ["dangling", "d/not/yet"]]) {
      assertEquals(await linkProblem(root, `${root}/${at}`, to), undefined, `${at} -> ${to}`);
    }
  } finally {
    await Deno.remove(top, { recursive: true });
  }
});

Deno.test("safewrite: nothing is written through a link, and a link planted at the name is replaced, not followed", async () => {
  const { top, root } = await tree();
  try {
    await Deno.symlink(`${top}/.ssh`, `${root}/keys`); // a link to a parent's dir, then a file through it
    await refused(() => writeUnder(root, `${root}/keys/authorized_keys`, new TextEncoder().encode("x")));
    await refused(() => mkdirUnder(root, `${root}/keys/sub`));
    await refused(() => symlinkUnder(root, `${root}/keys/l`, "x"));
    await refused(() => writeUnder(root, `${root}/.git/hooks/post-checkout`, new Uint8Array(1)));
    // a link planted where the file goes: the file replaces it, the link's target is untouched
    await Deno.symlink(`${top}/.ssh/authorized_keys`, `${root}/notes.md`);
    await writeUnder(root, `${root}/notes.md`, new TextEncoder().encode("notes\n"), { mode: 0o640 });
    assertEquals(await Deno.readTextFile(`${root}/notes.md`), "notes\n");
    assert((await Deno.lstat(`${root}/notes.md`)).isFile);
    assertEquals(await readBack(top), "mine\n");
    // planted between the open and the close: the rename sees it
    await Deno.mkdir(`${root}/late`);
    const f = await openUnder(root, `${root}/late/x`);
    await f.write(new TextEncoder().encode("late\n"));
    await Deno.remove(`${root}/late`, { recursive: true });
    await Deno.symlink(`${top}/.ssh`, `${root}/late`);
    await refused(() => f.close());
    assert(!(await Deno.lstat(`${top}/.ssh/x`).catch(() => false)));
    // a hard link only to a regular file inside, never through a link
    await refused(() => hardLinkUnder(root, `${root}/keys/authorized_keys`, `${root}/hl`));
    await hardLinkUnder(root, `${root}/notes.md`, `${root}/hl`);
    assertEquals(await Deno.readTextFile(`${root}/hl`), "notes\n");
  } finally {
    await Deno.remove(top, { recursive: true });
  }
});

Deno.test("safewrite: targetProblem judges a target by its text alone, as linkProblem starts", () => {
  for (
    const t of [
      "",
      "/etc/passwd",
      "C:/x",
      "\\\\host\\x",
      "d/up/../x",
      "a/../..",
      "../a/../b",
      ".git/hooks",
      "d/.GIT",
    ]
  ) {
    assert(targetProblem(t), `${JSON.stringify(t)} was allowed`);
  }
  assertMatch(targetProblem("d/up/../victim.txt")!, /climbs back with \.\. after a name/);
  for (const t of ["x", "../../lib/x", "./a/b", "..", "."]) assertEquals(targetProblem(t), undefined, t);
});

Deno.test("safewrite: parentProblem refuses a symlinked parent; with filesEnd a file parent ends the walk", async () => {
  const { top, root } = await tree();
  try {
    await Deno.symlink("..", `${root}/d/up`);
    await Deno.writeTextFile(`${root}/f`, "a file\n");
    assertMatch((await parentProblem(root, `${root}/d/up/notes.md`))!, /through a symlink \(up\)/);
    assertMatch((await parentProblem(root, `${root}/d/up/notes.md`, { filesEnd: true }))!, /symlink/);
    assertMatch((await parentProblem(root, `${root}/f/x`))!, /through a file \(f\)/);
    assertEquals(await parentProblem(root, `${root}/f/x`, { filesEnd: true }), undefined);
    assertEquals(await parentProblem(root, `${root}/d/new/x`, { filesEnd: true }), undefined);
    assertMatch((await parentProblem(root, `${root}/../x`, { filesEnd: true }))!, /outside the tree/);
  } finally {
    await Deno.remove(top, { recursive: true });
  }
});
