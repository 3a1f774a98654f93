/**
 * updateTree: the local tree the background sync keeps, brought up to date from the paths a file watcher
 * named, must equal a fresh walk of the whole tree after each kind of change (create, edit, delete, a new
 * directory with contents, an edit through one name of a hard link, a directory renamed or replaced by a file and back, an ignored path, a path
 * below a directory the tree does not know yet). A directory's mtime is left out: sync compares its mode only.
 * Every file it changed is named in what it reports as changed (or was an event).
 */
import { assert, assertEquals } from "@kodama/test-assert";
import { join } from "node:path";
import { scanTree, type Tree, updateTree } from "../../../../src/session/sync/scan.ts";
import { IgnoreRules } from "../../../../src/session/sync/ignore.ts";

const rulesOf = (root: string) =>
  new IgnoreRules(root, { useGitignore: true, excludePatterns: [], syncGit: false, secretFiles: [] });

// a directory's mtime and link count move with its contents, which sync never compares (only its mode)
const plain = (t: Tree) =>
  Object.fromEntries(
    [...t].map(([p, e]) => [p, e.kind === "dir" ? { ...e, mtime: 0, nlink: 0 } : { ...e }]).sort(([a], [b]) =>
      a < b ? -1 : 1
    ),
  );

Deno.test("updateTree from watcher paths equals a fresh walk after every kind of change", async () => {
  const root = await Deno.makeTempDir({ prefix: "kodama-update-tree-" });
  const w = (p: string, t = "x\n") => Deno.writeTextFile(join(root, p), t);
  try {
    await Deno.mkdir(join(root, "src/a"), { recursive: true });
    await w(".gitignore", "build/\n*.log\n");
    await w("src/a/one.ts", "1\n");
    await w("src/two.ts", "2\n");
    await Deno.mkdir(join(root, ".git"));
    const rules = rulesOf(root);
    const tree = await scanTree(root, rules);
    const steps: [string, () => Promise<unknown>, string[]][] = [
      ["a new file in a known directory", () => w("src/a/three.ts"), ["src/a/three.ts"]],
      ["an edit", () => w("src/two.ts", "two, longer\n"), ["src/two.ts"]],
      ["a hard link made", () => Deno.link(join(root, "src/two.ts"), join(root, "src/hard.ts")), [
        "src/hard.ts",
      ]],
      ["an edit through one name of a hard link", () => w("src/hard.ts", "through the other name\n"), [
        "src/hard.ts",
      ]],
      ["a delete", () => Deno.remove(join(root, "src/a/one.ts")), ["src/a/one.ts"]],
      ["a new directory with contents, named by its deepest file only", async () => {
        await Deno.mkdir(join(root, "lib/deep/er"), { recursive: true });
        await w("lib/deep/er/x.ts");
        await w("lib/top.ts");
      }, ["lib/deep/er/x.ts"]],
      ["a directory renamed", () => Deno.rename(join(root, "lib"), join(root, "lib2")), ["lib", "lib2"]],
      ["a directory replaced by another at the same name", async () => {
        await Deno.mkdir(join(root, "other"));
        await w("other/o.ts");
        await Deno.rename(join(root, "lib2"), join(root, "gone"));
        await Deno.rename(join(root, "other"), join(root, "lib2"));
      }, ["lib2", "gone", "other"]],
      ["a directory replaced by a file", async () => {
        await Deno.remove(join(root, "gone"), { recursive: true });
        await w("gone", "now a file\n");
      }, ["gone"]],
      ["a file replaced by a directory", async () => {
        await Deno.remove(join(root, "gone"));
        await Deno.mkdir(join(root, "gone"));
        await w("gone/in.ts");
      }, ["gone", "gone/in.ts"]],
      ["ignored paths", async () => {
        await Deno.mkdir(join(root, "build"));
        await w("build/out.js");
        await w("src/debug.log");
        await w(".git/HEAD");
      }, ["build/out.js", "build", "src/debug.log", ".git/HEAD"]],
      ["a chmod", () => Deno.chmod(join(root, "src/two.ts"), 0o755), ["src/two.ts"]],
      ["a symlink", () => Deno.symlink("two.ts", join(root, "src/link")), ["src/link"]],
      ["a whole directory removed", () => Deno.remove(join(root, "src"), { recursive: true }), ["src"]],
    ];
    for (const [what, change, events] of steps) {
      await change();
      const before = plain(tree);
      const changed = new Set<string>();
      updateTree(tree, root, rules, events, undefined, changed);
      const after = plain(tree);
      assertEquals(after, plain(await scanTree(root, rulesOf(root))), what);
      // every file or link it set or removed is named (an incremental cycle plans only those and the events)
      for (const p of new Set([...Object.keys(before), ...Object.keys(after)])) {
        const b = before[p], a = after[p];
        if ((b?.kind ?? a?.kind) === "dir" && b?.kind === a?.kind) continue;
        if (JSON.stringify(b) !== JSON.stringify(a)) {
          assert(changed.has(p) || events.includes(p), `${what}: ${p}`);
        }
      }
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
