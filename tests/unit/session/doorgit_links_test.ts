/**
 * Issue 79, escape 3: door git writes nothing through a link planted during a call. The door's start check
 * passes a clean repository; then, at a seam between that check and the write (the test plants it after
 * openDoorGit, before the write), a link is planted — a directory of `.git` (`logs/refs/heads`,
 * `refs/heads`, `objects/pack`) turned into a link out, the final file (the reflog) a link to a
 * `~/.bashrc`-like file, a directory (or `.git` itself) swapped for a link to a copy with the same layout.
 * Each write is refused with exit 4, nothing outside is created or changed, and the repository's refs are
 * as they were. A clean call still lands its objects where the user's own git finds them.
 */
import { assert, assertEquals, assertRejects } from "@kodama/test-assert";
import { join } from "node:path";
import { git } from "../../_git.ts";
import {
  doorGit,
  openDoorGit,
  withDoorGit,
  withIndexLock,
  writeRef,
} from "../../../src/session/git/doorgit.ts";
import { localGit } from "../../../src/session/git/gitrun.ts";
import { moveBranch } from "../../../src/session/git/branchmove.ts";
import { ExitCode, KodamaError } from "../../../src/base/errors.ts";

const move = { verb: "session fetch", source: "s", elsewhere: "x", reflog: "kodama session fetch s" };

interface World {
  repo: string;
  dotgit: string;
  out: string;
  bashrc: string;
  one: string;
  two: string;
}

async function world(fn: (w: World) => Promise<void>) {
  const tmp = await Deno.realPath(await Deno.makeTempDir({ prefix: "doorgit-links-test-" }));
  try {
    const repo = join(tmp, "repo"), out = join(tmp, "home");
    await Deno.mkdir(repo);
    await Deno.mkdir(out);
    git(["init", "-q", "-b", "main"], repo);
    git(["commit", "-q", "--allow-empty", "-m", "one"], repo);
    git(["commit", "-q", "--allow-empty", "-m", "two"], repo);
    const bashrc = join(out, ".bashrc");
    await Deno.writeTextFile(bashrc, "# the user's own\n");
    await fn({
      repo,
      dotgit: join(repo, ".git"),
      out,
      bashrc,
      one: git(["rev-parse", "HEAD~1"], repo),
      two: git(["rev-parse", "HEAD"], repo),
    });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

/** Every file below `dir` (links as their targets) with its content. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string, rel: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = join(d, e.name), r = `${rel}${e.name}`;
      if (e.isSymlink) out[r] = `-> ${await Deno.readLink(p)}`;
      else if (e.isDirectory) await walk(p, `${r}/`);
      else out[r] = await Deno.readTextFile(p);
    }
  };
  await walk(dir, "");
  return out;
}

async function forbidden(fn: () => Promise<unknown>, path: string): Promise<void> {
  const e = await assertRejects(fn);
  assert(e instanceof KodamaError, String(e));
  assertEquals(e.code, ExitCode.FORBIDDEN, e.message);
  assertEquals(e.message.split(path).length, 2, `names ${path} once: ${e.message}`);
}

/** Replace `dir` by a link to `to` (made a copy of it first when `copy`). */
async function swap(dir: string, to: string, copy = false) {
  if (copy) await new Deno.Command("cp", { args: ["-R", dir, to] }).output();
  await Deno.remove(dir, { recursive: true });
  await Deno.symlink(to, dir);
}

Deno.test("door git: logs/refs/heads made a link out during the call: no reflog line outside, exit 4, the branch unchanged", async () => {
  await world(async (w) => {
    const d = await openDoorGit(w.repo);
    try {
      await Deno.writeTextFile(join(w.out, "main"), "# theirs\n");
      const before = await snapshot(w.out);
      await swap(join(w.dotgit, "logs", "refs", "heads"), w.out);
      await forbidden(
        () => writeRef(d, "refs/heads/main", w.one, w.two, "x"),
        join(w.dotgit, "logs/refs/heads"),
      );
      assertEquals(await snapshot(w.out), before);
      assertEquals(git(["rev-parse", "main"], w.repo), w.two);
      assert(!(await Deno.lstat(join(w.dotgit, "refs", "heads", "main.lock")).then(() => true, () => false)));
    } finally {
      await d.close();
    }
  });
});

Deno.test("door git: refs/heads made a link out during a fetch's branch move: exit 4 (not 1), nothing made outside", async () => {
  await world(async (w) => {
    await withDoorGit(w.repo, async () => {
      await swap(join(w.dotgit, "refs", "heads"), w.out);
      await forbidden(() => moveBranch(w.repo, "kodama/s", w.one, move), join(w.dotgit, "refs/heads"));
    });
    assertEquals(await snapshot(w.out), { ".bashrc": "# the user's own\n" });
  });
});

Deno.test("door git: the reflog itself a link to a bashrc-like file: never appended to, the branch unchanged", async () => {
  await world(async (w) => {
    const d = await openDoorGit(w.repo);
    try {
      const log = join(w.dotgit, "logs", "refs", "heads", "main");
      await Deno.remove(log);
      await Deno.symlink(w.bashrc, log);
      await forbidden(() => writeRef(d, "refs/heads/main", w.one, w.two, "x"), log);
      // a second name of it (a hard link) is refused the same way
      await Deno.remove(log);
      await Deno.link(w.bashrc, log);
      await forbidden(() => writeRef(d, "refs/heads/main", w.one, w.two, "x"), log);
      assertEquals(await Deno.readTextFile(w.bashrc), "# the user's own\n");
      assertEquals(git(["rev-parse", "main"], w.repo), w.two);
      // the lock's own name a link out: never followed (a held lock, exit 1)
      await Deno.symlink(w.bashrc, join(w.dotgit, "refs", "heads", "x.lock"));
      const e = await assertRejects(() => writeRef(d, "refs/heads/x", w.one, undefined, "x"));
      assert(e instanceof KodamaError && e.code === ExitCode.FAILED, String(e));
      assertEquals(await Deno.readTextFile(w.bashrc), "# the user's own\n");
    } finally {
      await d.close();
    }
  });
});

Deno.test("door git: refs, or .git itself, swapped for a link to a copy with the same layout: refused, the copy unchanged", async () => {
  await world(async (w) => {
    const d = await openDoorGit(w.repo);
    try {
      const copy = join(w.out, "refs");
      await swap(join(w.dotgit, "refs"), copy, true);
      const before = await snapshot(w.out);
      await forbidden(() => writeRef(d, "refs/heads/main", w.one, w.two, "x"), join(w.dotgit, "refs"));
      assertEquals(await snapshot(w.out), before);
      await Deno.remove(join(w.dotgit, "refs"));
      await Deno.rename(copy, join(w.dotgit, "refs"));
      // .git itself: moved away, a link to a copy of it at its name
      const other = join(w.out, "git-copy");
      await swap(w.dotgit, other, true);
      const copied = await snapshot(other);
      await forbidden(() => writeRef(d, "refs/heads/main", w.one, w.two, "x"), w.dotgit);
      await forbidden(() => withIndexLock(d, () => Promise.resolve()), w.dotgit);
      assertEquals(await snapshot(other), copied);
    } finally {
      await d.close();
    }
  });
});

Deno.test("door git: objects/pack made a link out during a fetch: git's pack never lands outside; a clean fetch lands where git finds it", async () => {
  await world(async (w) => {
    const pod = join(w.out, "..", "pod");
    git(["clone", "-q", w.repo, pod], w.out);
    await Deno.writeTextFile(join(pod, "f"), "pod\n");
    git(["add", "f"], pod);
    git(["commit", "-qm", "pod"], pod);
    const tip = git(["rev-parse", "HEAD"], pod);
    const bundle = join(w.out, "..", "pod.bundle");
    git(["bundle", "create", bundle, "HEAD", `^${w.two}`], pod);
    const fetch = () =>
      localGit(
        ["fetch", "--no-tags", "--no-write-fetch-head", "--quiet", "--end-of-options", bundle, "HEAD"],
        w.repo,
      );
    const outside = join(w.out, "packs");
    await Deno.mkdir(outside);
    await withDoorGit(w.repo, async () => {
      await swap(join(w.dotgit, "objects", "pack"), outside);
      assert((await fetch()).ok);
      await forbidden(() => moveBranch(w.repo, "kodama/s", tip, move), join(w.dotgit, "objects/pack"));
    });
    assertEquals(await snapshot(outside), {});
    await Deno.remove(join(w.dotgit, "objects", "pack"));
    await Deno.mkdir(join(w.dotgit, "objects", "pack"));
    // the control: the same fetch, nothing planted, lands its objects and the branch for the user's git
    await withDoorGit(w.repo, async () => {
      assert((await fetch()).ok);
      await moveBranch(w.repo, "kodama/s", tip, move);
    });
    assertEquals(git(["rev-parse", "kodama/s"], w.repo), tip);
    assertEquals(git(["show", "kodama/s:f"], w.repo), "pod");
    git(["fsck", "--no-dangling"], w.repo);
  });
});

Deno.test("door git: .git swapped for a link to a copy while the index is being changed: the copy's index untouched, exit 4", async () => {
  await world(async (w) => {
    const other = join(w.out, "git-copy");
    const index = () => Deno.readFile(join(other, "index")).then((b) => b.join(","), () => "none");
    let before = "";
    await withDoorGit(w.repo, async () => {
      await forbidden(
        () =>
          withIndexLock(doorGit()!, async () => {
            // the seam: index.lock is held, the scratch's copy taken; now .git becomes a link to a copy
            await Deno.rename(w.dotgit, join(w.out, "git-moved"));
            await new Deno.Command("cp", { args: ["-R", join(w.out, "git-moved"), other] }).output();
            await Deno.symlink(other, w.dotgit);
            before = await index();
            await Deno.writeTextFile(join(w.repo, "new.txt"), "x\n");
            const added = await localGit(["add", "new.txt"], w.repo);
            assert(added.ok, added.err);
          }),
        w.dotgit,
      );
    });
    assertEquals(await index(), before);
    assertEquals(git(["--git-dir", other, "ls-files"], w.out).includes("new.txt"), false);
  });
});
