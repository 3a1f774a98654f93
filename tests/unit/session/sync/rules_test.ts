/** Pure parts of sync: ignore rules as git applies them, tree diffs, pull plans, status text. */
import { assert, assertEquals } from "@kodama/test-assert";
import { join } from "node:path";
import { globalExcludesFile, IgnoreRules } from "../../../../src/session/sync/ignore.ts";
import {
  diffTrees,
  type Entry,
  inRoot,
  pruneNested,
  scanTree,
  sortWalk,
  walkOrder,
} from "../../../../src/session/sync/scan.ts";
import { recordBatch } from "../../../../src/session/sync/store.ts";
import { progressLine } from "../../../../src/session/sync/push.ts";
import { EXCLUDE_PATTERNS, IGNORED, makeTree } from "../../../_sync_tree.ts";

const file = (size: number, mtime: number, extra: Partial<Entry> = {}): Entry => ({
  kind: "file",
  mode: 0o644,
  size,
  mtime,
  ino: 1,
  dev: 1,
  nlink: 1,
  ...extra,
});

Deno.test("ignore: nested .gitignore, negations, .kodamaignore, excludePatterns, .kodama/ and .git/", async () => {
  const root = await Deno.makeTempDir();
  try {
    await makeTree(root);
    await Deno.mkdir(`${root}/.git/info`, { recursive: true });
    await Deno.writeTextFile(`${root}/.git/HEAD`, "ref: refs/heads/main\n");
    await Deno.writeTextFile(`${root}/.git/info/exclude`, "local-only.txt\n");
    await Deno.writeTextFile(`${root}/local-only.txt`, "x");
    const rules = (o: Partial<{ useGitignore: boolean; syncGit: boolean }>) =>
      new IgnoreRules(root, { useGitignore: true, excludePatterns: EXCLUDE_PATTERNS, syncGit: false, ...o });
    const t = await scanTree(root, rules({}));
    for (const p of [...IGNORED, "local-only.txt", ".git"]) assert(!t.has(p), `${p} should be ignored`);
    for (
      const p of ["sub/keep.log", "a.txt", "sub/link-out", "empty/nested-empty", "with space/a file name.txt"]
    ) {
      assert(t.has(p), `${p} should be synced`);
    }
    // a path inside an ignored directory stays ignored whatever a deeper rule says
    await Deno.writeTextFile(`${root}/build/.gitignore`, "!out/\n");
    assert(!(await scanTree(root, rules({}))).has("build/out/app"));
    // .kodamaignore re-includes what git ignores
    await Deno.writeTextFile(`${root}/.kodamaignore`, "*.tmp\n!x.log\n");
    assert((await scanTree(root, rules({}))).has("x.log"));
    // useGitignore: false keeps .kodamaignore, .kodama/ and excludePatterns
    const all = await scanTree(root, rules({ useGitignore: false }));
    for (const p of ["sub/secret.txt", "build/out/app", "local-only.txt"]) assert(all.has(p), p);
    for (const p of ["notes.tmp", "old.bak", ".kodama"]) assert(!all.has(p), p);
    // .git/ only when asked for
    assert((await scanTree(root, rules({ syncGit: true }))).has(".git/HEAD"));
    assert(IgnoreRules.isPatternFile("sub/.gitignore") && IgnoreRules.isPatternFile(".kodamaignore"));
    // kodama's own files, whatever the rules: its lock files and a clone's bundle
    const none = rules({ useGitignore: false });
    for (const p of [".kodama.yaml.lock", "sub/.kodama-state.lock", ".kodama-clone.bundle.part"]) {
      assert(none.ignoredPath(p, false), p);
    }
    for (const p of ["yarn.lock", "kodama.lock", "sub/.kodama.yaml"]) assert(!none.ignoredPath(p, false), p);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("ignore: a nested pattern with a slash is anchored at its own directory, as git reads it", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${root}/sub/deep/deeper`, { recursive: true });
    await Deno.mkdir(`${root}/sub/other/deep`, { recursive: true });
    // `/only-here.txt`: sub/only-here.txt and nothing deeper; `deep/x.out`: sub/deep/x.out, not other/deep/x.out
    await Deno.writeTextFile(`${root}/sub/.gitignore`, "/only-here.txt\ndeep/x.out\n");
    for (
      const p of ["sub/only-here.txt", "sub/deep/only-here.txt", "sub/deep/x.out", "sub/other/deep/x.out"]
    ) {
      await Deno.writeTextFile(`${root}/${p}`, "x");
    }
    const rules = new IgnoreRules(root, { useGitignore: true, excludePatterns: [], syncGit: false });
    assertEquals(rules.ignoredPath("sub/only-here.txt", false), true);
    assertEquals(rules.ignoredPath("sub/deep/only-here.txt", false), false);
    assertEquals(rules.ignoredPath("sub/deep/x.out", false), true);
    assertEquals(rules.ignoredPath("sub/other/deep/x.out", false), false);
    // the same answers through a walk of the tree
    const t = await scanTree(
      root,
      new IgnoreRules(root, { useGitignore: true, excludePatterns: [], syncGit: false }),
    );
    assertEquals(
      ["sub/only-here.txt", "sub/deep/only-here.txt", "sub/deep/x.out", "sub/other/deep/x.out"].map((p) =>
        t.has(p)
      ),
      [false, true, false, true],
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("ignore: git's global excludes file (core.excludesFile, else XDG's git/ignore), below the repo's own rules", async () => {
  const root = await Deno.makeTempDir();
  const home = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${root}/keep.swp`, "x");
    await Deno.writeTextFile(`${root}/a.swp`, "x");
    await Deno.writeTextFile(`${root}/.gitignore`, "!keep.swp\n");
    // no core.excludesFile: git's default place under XDG_CONFIG_HOME
    const noConfig = {
      GIT_CONFIG_GLOBAL: `${home}/none`,
      GIT_CONFIG_NOSYSTEM: "1",
      XDG_CONFIG_HOME: `${home}/xdg`,
    };
    assertEquals(globalExcludesFile(root, noConfig), `${home}/xdg/git/ignore`);
    // core.excludesFile set, with ~ expanded as git does
    await Deno.writeTextFile(`${home}/gitconfig`, "[core]\n\texcludesFile = ~/my-ignore\n");
    const withConfig = { GIT_CONFIG_GLOBAL: `${home}/gitconfig`, GIT_CONFIG_NOSYSTEM: "1", HOME: home };
    const file = globalExcludesFile(root, withConfig);
    assertEquals(file, `${home}/my-ignore`);
    await Deno.writeTextFile(file!, "*.swp\n");
    const rules = (globalExcludes?: string, useGitignore = true) =>
      new IgnoreRules(root, { useGitignore, excludePatterns: [], syncGit: false, globalExcludes });
    const t = await scanTree(root, rules(file));
    assert(!t.has("a.swp"), "the global excludes file applies");
    assert(t.has("keep.swp"), "the repo's .gitignore re-includes over it");
    assert((await scanTree(root, rules(undefined))).has("a.swp"));
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("diff: new, changed, deleted, kind changes; hard links travel together; deletes pruned", () => {
  const then = new Map<string, Entry>([
    ["a", file(1, 1)],
    ["d", { ...file(0, 0), kind: "dir", mode: 0o755 }],
    ["d/x", file(1, 1)],
    ["d/y", file(1, 1)],
    ["k", file(1, 1)],
    ["h1", file(5, 5, { ino: 9, nlink: 2 })],
    ["h2", file(5, 5, { ino: 9, nlink: 2 })],
  ]);
  const now = new Map<string, Entry>([
    ["a", file(2, 1)], // size changed
    ["k", { ...file(0, 0), kind: "dir", mode: 0o755 }], // file -> dir
    ["n", file(1, 1)], // new
    ["h1", file(6, 6, { ino: 9, nlink: 2 })], // one name of a hard-linked inode changed
    ["h2", file(6, 5, { ino: 9, nlink: 2 })],
  ]);
  const d = diffTrees(then, now);
  assertEquals(d.deleted, ["d", "k"]);
  assertEquals(d.changed, ["a", "h1", "h2", "k", "n"]);
  assertEquals(diffTrees(now, now), { changed: [], deleted: [] });
  assertEquals(pruneNested(["a/b", "a", "c/d", "a/b/c", "ab"]), ["a", "ab", "c/d"]);
  assertEquals(sortWalk(["b", "a/b", "a", "a-b"]), ["a", "a/b", "a-b", "b"]);
  const t = new Map(then);
  recordBatch(t, ["d"], [["n", file(1, 1)]]);
  assertEquals([...t.keys()].sort(), ["a", "h1", "h2", "k", "n"]);
});

Deno.test("progress line: files, bytes, bar, rate", () => {
  assertEquals(
    progressLine(50, 100, 5 * 1024 * 1024, 10 * 1024 * 1024, 1000),
    "syncing 50/100 files  5.0 MiB/10 MiB  [==========          ] 50%  5.0 MiB/s",
  );
});

Deno.test("ignore: a pattern file that is a FIFO or a device is skipped, not waited on; one too big is an error (#26)", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${root}/a.txt`, "a");
    await new Deno.Command("mkfifo", { args: [`${root}/.kodamaignore`] }).output();
    await Deno.symlink("/dev/zero", `${root}/.gitignore`);
    const rules = new IgnoreRules(root, { useGitignore: true, excludePatterns: [], syncGit: false });
    const t = await scanTree(root, rules);
    assert(t.has("a.txt"));
    await Deno.remove(`${root}/.kodamaignore`);
    const f = await Deno.open(`${root}/.kodamaignore`, { write: true, create: true });
    await f.truncate(5 * 1024 * 1024);
    f.close();
    let refused = "";
    try {
      await scanTree(
        root,
        new IgnoreRules(root, { useGitignore: true, excludePatterns: [], syncGit: false }),
      );
    } catch (e) {
      refused = (e as Error).message;
    }
    assert(refused.includes(".kodamaignore: it is larger than 4 MiB"), refused);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("sortWalk orders paths component by component, as splitting them at / does", () => {
  const bySplit = (a: string, b: string) => {
    const pa = a.split("/"), pb = b.split("/");
    for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
      if (pa[i] !== pb[i]) return pa[i] < pb[i] ? -1 : 1;
    }
    return pa.length - pb.length;
  };
  // names from characters around '/' (0x2f): '-', '.', '0', 'a', 'é', an astral one, and '/' itself
  const chars = ["-", ".", "0", "a", "b", "é", "😀", " "];
  let seed = 7;
  const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  const name = () => Array.from({ length: 1 + rnd(3) }, () => chars[rnd(chars.length)]).join("");
  const paths = Array.from({ length: 400 }, () => Array.from({ length: 1 + rnd(3) }, name).join("/"));
  const sign = (n: number) => Math.sign(n);
  for (let i = 0; i < paths.length; i++) {
    for (let j = 0; j < 40; j++) {
      const a = paths[i], b = paths[rnd(paths.length)];
      assertEquals(sign(walkOrder(a, b)), sign(bySplit(a, b)), `${a} vs ${b}`);
    }
  }
  assertEquals(sortWalk(paths), [...paths].sort(bySplit));
});

Deno.test("inRoot joins a root and a tree path as node's join does", () => {
  const roots = ["/w", "/w/", "/", "/a/./b", "/a//b/", "rel/dir", ".", ""];
  const rels = [
    "",
    "a",
    "a/b.txt",
    "a/b/c",
    ".hidden",
    "..x",
    "a/..b",
    "a/./b",
    "a/../b",
    "../up",
    "/abs",
    "a//b",
    "a/",
  ];
  for (const r of roots) for (const p of rels) assertEquals(inRoot(r, p), join(r, p), `${r} + ${p}`);
});
