/**
 * Door git (src/session/git/doorgit.ts) against a repository that names a program in every setting git lists
 * (`git help --config`), in its config, an include, an includeIf and config.worktree, and in every hook,
 * planted before and while kodama works (tests/_hostile_git.ts): the git work of a door start (the
 * repository found, its bundle), of a fetch (the pod's bundle checked, fetched, kodama's refs written by
 * the lock protocol, the branch moved by its rule) and of a land (a merge computed, the index and work tree
 * moved under index.lock, the branch compare-and-swapped) all succeed, and no marker program ran.
 * Then the lock protocol itself: compare-and-swap, a held lock, the reflog; and the allow-list of formats.
 */
import { assert, assertEquals, assertMatch, assertRejects } from "@kodama/test-assert";
import { join } from "node:path";
import { git } from "../../_git.ts";
import { makeHostile } from "../../_hostile_git.ts";
import {
  openDoorGit,
  readRef,
  withDoorGit,
  withIndexLock,
  writeRef,
} from "../../../src/session/git/doorgit.ts";
import { localGit, localSource, makeBundle, updateRef } from "../../../src/session/git/gitrun.ts";
import { fsckBundle } from "../../../src/session/git/fetch.ts";
import { moveBranch } from "../../../src/session/git/branchmove.ts";
import { KodamaError } from "../../../src/base/errors.ts";

async function refused(fn: () => Promise<unknown>, re: RegExp): Promise<KodamaError> {
  const e = await assertRejects(fn);
  assert(e instanceof KodamaError, String(e));
  assertMatch(e.message, re);
  return e;
}

const open = { path: (p: string) => Promise.resolve(p) };
const move = { verb: "session fetch", source: "s", elsewhere: "x", reflog: "kodama session fetch s" };

Deno.test("door git: a repository naming a program everywhere — start, fetch and land work, nothing ran", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "doorgit-test-" });
  try {
    const repo = join(tmp, "repo"), pod = join(tmp, "pod");
    await Deno.mkdir(repo);
    git(["init", "-q", "-b", "main"], repo);
    for (const f of ["a", "b"]) await Deno.writeTextFile(join(repo, `${f}.txt`), `${f}\n`);
    git(["add", "-A"], repo);
    git(["commit", "-qm", "one"], repo);
    git(["clone", "-q", repo, pod], tmp);
    await Deno.writeTextFile(join(pod, "b.txt"), "pod b\n");
    git(["commit", "-qam", "pod: b"], pod);
    git(["branch", "side"], pod);
    await Deno.writeTextFile(join(repo, "a.txt"), "local a\n");
    git(["commit", "-qam", "local: a"], repo);
    const podTip = git(["rev-parse", "HEAD"], pod), mine = git(["rev-parse", "HEAD"], repo);
    const podBundle = join(tmp, "pod.bundle");
    git(["bundle", "create", podBundle, "HEAD", "--branches", `^${git(["rev-parse", "HEAD~1"], pod)}`], pod);
    const h = await makeHostile(repo, join(tmp, "marks"));
    // door git's scratch (src/session/git/doorgit.ts, fetch.ts), not another test file's directories
    const during = h.plantDuring(undefined, ["kodama-doorgit-", "kodama-fsck-"]);

    // start: the repository found and bundled
    const src = await localSource("repo", tmp, open);
    assertEquals(src, { root: repo, head: "main" });
    const b = await withDoorGit(repo, () => makeBundle(repo));
    assert(b.size > 0);

    await withDoorGit(repo, async () => {
      // fetch: checked, fetched into kodama's own refs, the branch created by the rule
      await fsckBundle(repo, podBundle);
      const f = await localGit(
        [
          "fetch",
          "--no-tags",
          "--no-write-fetch-head",
          "--quiet",
          "--end-of-options",
          podBundle,
          "HEAD",
          "+refs/heads/*:refs/remotes/kodama/s/*",
        ],
        repo,
      );
      assert(f.ok, f.err);
      assert(
        (await updateRef(repo, "refs/remotes/kodama/s/side", podTip, undefined, "kodama session fetch s")).ok,
      );
      await moveBranch(repo, "kodama/s", podTip, move);
      // land: a merge computed without a work tree, then moved here under index.lock
      const mt = await localGit(["merge-tree", "--write-tree", "--end-of-options", mine, podTip], repo);
      assert(mt.ok, mt.out);
      const merged =
        (await localGit(["commit-tree", mt.out.split("\n")[0], "-p", mine, "-p", podTip, "-m", "m"], repo))
          .out;
      const d = (await import("../../../src/session/git/doorgit.ts")).doorGit()!;
      await withIndexLock(d, async () => {
        const rt = await localGit(["read-tree", "-m", "-u", mine, merged], repo);
        assert(rt.ok, rt.err);
        await localGit(["update-index", "-q", "--refresh"], repo);
      });
      assert((await updateRef(repo, "refs/heads/main", merged, mine, "kodama land: main")).ok);
      assertEquals((await localGit(["status", "--porcelain", "--untracked-files=no"], repo)).out, "");
    });
    const planted = await during.stop();
    assert(planted > 0, "the watcher planted hooks in kodama's directories while it worked");
    assertEquals(await h.ran(), [], "a program the repository named ran");
    // the repository, read as files: its branches where kodama put them, the merged files in its work tree
    const r = (await openDoorGit(repo)).repo;
    assertEquals(await readRef(r, "refs/heads/kodama/s"), podTip);
    assertEquals(await readRef(r, "refs/remotes/kodama/s/side"), podTip);
    assertEquals(await Deno.readTextFile(join(repo, "b.txt")), "pod b\n");
    assertEquals(await Deno.readTextFile(join(repo, "a.txt")), "local a\n");
    assert(!(await Deno.stat(join(repo, ".git", "index.lock")).then(() => true, () => false)));
    assertEquals(await h.ran(), []);
    // the control: the same markers, from a config git can read, do run for the user's own git
    const script = join(tmp, "marks", "marker.sh");
    await Deno.writeTextFile(
      join(repo, ".git", "config"),
      `[core]\n\tfsmonitor = ${script}\n[url "ext::sh -c ${script} %S #"]\n\tinsteadOf = /\n` +
        `[protocol "ext"]\n\tallow = always\n`,
    );
    new Deno.Command("git", { args: ["status"], cwd: repo, stdout: "null", stderr: "null" }).outputSync();
    new Deno.Command("git", { args: ["fetch", podBundle], cwd: repo, stdout: "null", stderr: "null" })
      .outputSync();
    assert((await h.ran()).length >= 2, "the markers would have shown a program that ran");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("door git writes refs by git's lock protocol: compare-and-swap, a held lock, the reflog", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "doorgit-test-" });
  try {
    git(["init", "-q", "-b", "main"], tmp);
    git(["commit", "-q", "--allow-empty", "-m", "one"], tmp);
    git(["commit", "-q", "--allow-empty", "-m", "two"], tmp);
    const one = git(["rev-parse", "HEAD~1"], tmp), two = git(["rev-parse", "HEAD"], tmp);
    git(["pack-refs", "--all"], tmp);
    const d = await openDoorGit(tmp);
    try {
      await writeRef(d, "refs/heads/x", one, "", "create");
      await refused(() => writeRef(d, "refs/heads/x", two, "", "again"), /changed meanwhile/);
      await refused(() => writeRef(d, "refs/heads/main", one, one, "cas"), /changed meanwhile/);
      await writeRef(d, "refs/heads/main", one, two, "back"); // a packed ref, swapped
      assertEquals(git(["rev-parse", "main"], tmp), one);
      await Deno.writeTextFile(join(tmp, ".git", "refs", "heads", "x.lock"), "");
      await refused(() => writeRef(d, "refs/heads/x", two, one, "held"), /another git holds it/);
      await Deno.remove(join(tmp, ".git", "refs", "heads", "x.lock"));
      await writeRef(d, "refs/heads/x", two, one, "forward");
      assertEquals(git(["rev-parse", "x"], tmp), two);
      assertMatch(git(["reflog", "show", "--format=%gs", "x"], tmp), /^forward\ncreate$/);
      await refused(() => writeRef(d, "refs/heads/../../config", two, undefined, "no"), /not a ref/);
      assertEquals(git(["status", "--porcelain"], tmp), "");
    } finally {
      await d.close();
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("door git refuses a repository format it does not read (reftable), exit 4", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "doorgit-test-" });
  try {
    git(["init", "-q", "-b", "main"], tmp);
    await Deno.writeTextFile(
      join(tmp, ".git", "config"),
      "[core]\n\trepositoryformatversion = 1\n[extensions]\n\trefStorage = reftable\n",
    );
    const e = await refused(
      () => withDoorGit(tmp, () => Promise.resolve()),
      /a format kodama does not read through a door \(extensions\.refstorage = reftable\)/,
    );
    assertEquals(e.code, 4);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("door start reads the upstream from the repository's config as data", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "doorgit-test-" });
  try {
    git(["init", "-q", "-b", "dev"], tmp);
    git(["commit", "-q", "--allow-empty", "-m", "one"], tmp);
    git(["remote", "add", "up", "https://example.invalid/x.git"], tmp);
    git(["remote", "add", "origin", "/somewhere/on/this/machine"], tmp);
    assertEquals(await localSource(tmp, tmp, open), { root: tmp, head: "dev" }); // origin: a path here
    git(["config", "branch.dev.remote", "up"], tmp);
    assertEquals(await localSource(tmp, tmp, open), {
      root: tmp,
      head: "dev",
      upstream: "https://example.invalid/x.git",
    });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("door git: a store that outlived its call (a server's leaked async context) is never reused", async () => {
  const { doorGit, withDoorGit } = await import("../../../src/session/git/doorgit.ts");
  const { localGit } = await import("../../../src/session/git/gitrun.ts");
  const dir = await Deno.makeTempDir();
  try {
    const git = (...args: string[]) =>
      new Deno.Command("git", { args: ["-C", dir, ...args], stdout: "null", stderr: "null" }).outputSync();
    git("init", "-q");
    await Deno.writeTextFile(`${dir}/a`, "a\n");
    git("add", "a");
    git("-c", "user.name=a", "-c", "user.email=a@b", "commit", "-qm", "a");
    // a timer set during the first call fires after it ended: it runs in that call's async context
    let later: Promise<{ ok: boolean; out: string }> | undefined;
    await withDoorGit(dir, () => {
      later = new Promise((res) =>
        setTimeout(() => res(withDoorGit(dir, () => localGit(["rev-parse", "--show-toplevel"], dir))), 50)
      );
      return Promise.resolve();
    });
    const r = await later!;
    assertEquals([r.ok, r.out], [true, await Deno.realPath(dir)]);
    assertEquals(doorGit(), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
