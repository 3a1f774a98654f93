/**
 * src/base/fs/nofollow.ts: writes below a pinned directory never go through a link, whenever it was planted —
 * a directory on the way (a link out, or swapped for a link to a copy with the same layout), the pinned
 * directory itself, the final file (a link to a `~/.bashrc`-like file, a second name), and a link planted
 * between a lock's creation and its rename. Each refusal is exit 4 naming the path once, and nothing outside
 * is created or changed.
 */
import { assert, assertEquals, assertRejects } from "@kodama/test-assert";
import { join } from "node:path";
import { appendTo, createNew, existsBelow, pinDir } from "../../../../src/base/fs/nofollow.ts";
import { ExitCode, KodamaError } from "../../../../src/base/errors.ts";

const enc = (s: string) => new TextEncoder().encode(s);

async function world(fn: (w: { root: string; out: string; bashrc: string }) => Promise<void>) {
  const tmp = await Deno.realPath(await Deno.makeTempDir({ prefix: "nofollow-test-" }));
  try {
    const root = join(tmp, "repo", ".git"), out = join(tmp, "outside");
    await Deno.mkdir(join(root, "logs", "refs", "heads"), { recursive: true });
    await Deno.mkdir(join(root, "refs", "heads"), { recursive: true });
    await Deno.mkdir(out);
    const bashrc = join(out, "bashrc");
    await Deno.writeTextFile(bashrc, "# the user's own\n");
    await fn({ root, out, bashrc });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

/** Every file below `dir` with its content: what must not change outside. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string, rel: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = join(d, e.name), r = `${rel}${e.name}`;
      if (e.isDirectory) await walk(p, `${r}/`);
      else out[r] = e.isSymlink ? `-> ${await Deno.readLink(p)}` : await Deno.readTextFile(p);
    }
  };
  await walk(dir, "");
  return out;
}

async function refused(fn: () => Promise<unknown>, path: string) {
  const e = await assertRejects(fn);
  assert(e instanceof KodamaError, String(e));
  assertEquals(e.code, ExitCode.FORBIDDEN);
  assertEquals(e.message.split(path).length, 2, `the path named once: ${e.message}`);
  return e;
}

Deno.test("nofollow: a lock created, written, renamed; a reflog made and appended; missing directories made", async () => {
  await world(async ({ root }) => {
    const pin = await pinDir(root);
    const f = await createNew(pin, "refs/heads/a/b.lock");
    await f.write(enc("1\n"));
    await f.renameTo("b");
    assertEquals(await Deno.readTextFile(join(root, "refs/heads/a/b")), "1\n");
    assert(!(await existsBelow(pin, "refs/heads/a/b.lock")));
    await appendTo(pin, "logs/refs/heads/a/b", enc("one\n"));
    await appendTo(pin, "logs/refs/heads/a/b", enc("two\n"));
    assertEquals(await Deno.readTextFile(join(root, "logs/refs/heads/a/b")), "one\ntwo\n");
    // a held lock is git's: AlreadyExists, nothing written
    await Deno.writeTextFile(join(root, "refs/heads/c.lock"), "");
    assert(
      (await assertRejects(() => createNew(pin, "refs/heads/c.lock"))) instanceof Deno.errors.AlreadyExists,
    );
  });
});

Deno.test("nofollow: a directory on the way that became a link out is refused, nothing is made outside", async () => {
  await world(async ({ root, out }) => {
    const pin = await pinDir(root);
    const before = await snapshot(out);
    await Deno.remove(join(root, "logs", "refs", "heads"), { recursive: true });
    await Deno.symlink(out, join(root, "logs", "refs", "heads"));
    await refused(() => appendTo(pin, "logs/refs/heads/main", enc("x\n")), join(root, "logs/refs/heads"));
    await refused(() => createNew(pin, "logs/refs/heads/main.lock"), join(root, "logs/refs/heads"));
    // a relative link, deeper: a missing directory is not made through it
    await Deno.remove(join(root, "refs"), { recursive: true });
    await Deno.symlink("../../outside", join(root, "refs"));
    await refused(() => createNew(pin, "refs/heads/x/y.lock"), join(root, "refs"));
    assertEquals(await snapshot(out), before);
  });
});

Deno.test("nofollow: a directory swapped for a link to a copy with the same layout, or the pinned one itself, is refused", async () => {
  await world(async ({ root, out }) => {
    const pin = await pinDir(root);
    const copy = join(out, "refs");
    await Deno.mkdir(join(copy, "heads"), { recursive: true });
    await Deno.writeTextFile(join(copy, "heads", "main"), "old\n");
    await Deno.remove(join(root, "refs"), { recursive: true });
    await Deno.symlink(copy, join(root, "refs"));
    await refused(() => createNew(pin, "refs/heads/main.lock"), join(root, "refs"));
    // the pinned directory itself replaced by another real directory with the same layout
    await Deno.remove(join(root, "refs"));
    await Deno.rename(root, `${root}-moved`);
    await Deno.mkdir(join(root, "refs", "heads"), { recursive: true });
    await refused(() => appendTo(pin, "refs/heads/main", enc("x\n")), root);
    assertEquals(await snapshot(join(root, "refs")), {});
    assertEquals(await snapshot(out), { "refs/heads/main": "old\n", bashrc: "# the user's own\n" });
  });
});

Deno.test("nofollow: the final file a link to a bashrc-like file, or a second name of it, is never appended to", async () => {
  await world(async ({ root, out, bashrc }) => {
    const pin = await pinDir(root);
    const log = join(root, "logs", "refs", "heads", "main");
    await Deno.symlink(bashrc, log);
    await refused(() => appendTo(pin, "logs/refs/heads/main", enc("x\n")), log);
    // a lock's name a link: createNew never follows it (a held lock)
    await Deno.symlink(bashrc, join(root, "refs", "heads", "main.lock"));
    assert(
      (await assertRejects(() => createNew(pin, "refs/heads/main.lock"))) instanceof
        Deno.errors.AlreadyExists,
    );
    await Deno.remove(log);
    await Deno.link(bashrc, log);
    await refused(() => appendTo(pin, "logs/refs/heads/main", enc("x\n")), log);
    await Deno.remove(log);
    // a directory where the file would be
    await Deno.mkdir(log);
    await refused(() => appendTo(pin, "logs/refs/heads/main", enc("x\n")), log);
    assertEquals(await Deno.readTextFile(bashrc), "# the user's own\n");
    assertEquals(Object.keys(await snapshot(out)), ["bashrc"]);
  });
});

Deno.test("nofollow: a link planted between a lock's creation and its rename: refused, nothing lands outside", async () => {
  await world(async ({ root, out }) => {
    const pin = await pinDir(root);
    const f = await createNew(pin, "refs/heads/main.lock");
    await f.write(enc("new\n"));
    // the directory moved away and a link to a copy planted at its name
    await Deno.rename(join(root, "refs", "heads"), join(root, "refs", "moved"));
    await Deno.mkdir(join(out, "heads"));
    await Deno.writeTextFile(join(out, "heads", "main.lock"), "theirs\n");
    await Deno.symlink(join(out, "heads"), join(root, "refs", "heads"));
    await refused(() => f.renameTo("main"), join(root, "refs/heads"));
    assertEquals(await snapshot(out), { "heads/main.lock": "theirs\n", bashrc: "# the user's own\n" });
    // a write after a swap is refused too, and its lock removed where it was made
    await Deno.remove(join(root, "refs", "heads"));
    await Deno.rename(join(root, "refs", "moved"), join(root, "refs", "heads"));
    const g = await createNew(pin, "refs/heads/x.lock");
    await Deno.rename(join(root, "refs", "heads"), join(root, "refs", "moved"));
    await Deno.symlink("moved", join(root, "refs", "heads"));
    await refused(() => g.write(enc("x\n")), join(root, "refs/heads"));
  });
});
