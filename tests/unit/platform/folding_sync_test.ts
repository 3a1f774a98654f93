/**
 * The case-folding conflict rule of sync (#36), over a case-folding in-memory file system behind the
 * interface sync's scan reads through: two pod names that fold to one local name are a conflict, never
 * an overwrite; a case-only rename is seen as one; hostile pod names are refused with Windows' rules.
 */
import { assert, assertEquals } from "../../_assert.ts";
import { FoldingFs } from "./folding_fs.ts";
import { IgnoreRules } from "../../../src/session/sync/ignore.ts";
import { scanTree, statPathSync, type Tree } from "../../../src/session/sync/scan.ts";
import { formatItems, planPull } from "../../../src/session/sync/pull.ts";
import type { RemoteEntry } from "../../../src/session/sync/remote.ts";
import { defaultFolding, type Folding, platformFor } from "../../../src/base/platform.ts";

const ROOT = "/mem/project";
const APFS = defaultFolding(platformFor("darwin"));
const NTFS = defaultFolding(platformFor("windows"));
const EXT4 = defaultFolding(platformFor("linux"));
const NFC = "caf\u00e9.txt";
const NFD = "cafe\u0301.txt";

const rules = () =>
  new IgnoreRules("/nonexistent-kodama-root", { useGitignore: false, excludePatterns: [], syncGit: false });
const file = (size: number, mtime = 1_700_000_100): RemoteEntry => ({
  kind: "file",
  size,
  mtime,
  mode: 0o644,
});
const dir = (): RemoteEntry => ({ kind: "dir", size: 0, mtime: 1_700_000_000, mode: 0o755 });

async function localOf(fs: FoldingFs): Promise<Tree> {
  return await scanTree(ROOT, rules(), { fs });
}

function plan(remote: [string, RemoteEntry][], local: Tree, folding: Folding | undefined, os = "linux") {
  return planPull(new Map(remote), new Map(), local, () => false, undefined, {
    folding,
    platform: platformFor(os),
  });
}

Deno.test("pull on a case-insensitive disk: a pod name that folds onto a local one is a conflict, not an overwrite", async () => {
  for (const [what, folding] of [["APFS", APFS], ["NTFS", NTFS]] as const) {
    const fs = new FoldingFs(ROOT, folding);
    fs.writeFile("src/Foo.ts", "local Foo\n");
    const local = await localOf(fs);
    assertEquals([...local.keys()], ["src", "src/Foo.ts"]);
    const items = plan([["src", dir()], ["src/foo.ts", file(9)]], local, folding);
    assertEquals(
      items.map((i) => [i.path, i.conflict, i.foldsOnto]),
      [["src/foo.ts", true, "src/Foo.ts"]],
      what,
    );
    assertEquals(formatItems(items), "C src/foo.ts (this disk stores it as the same file as src/Foo.ts)\n");
    // a directory spelled differently is the same trap: Src/x.ts would land in src/
    const viaDir = plan([["Src", dir()], ["Src/x.ts", file(1)]], local, folding);
    assertEquals(viaDir.map((i) => i.foldsOnto), ["src"], what);
  }
  // the same pod names on a case-sensitive disk: an ordinary new file
  const fs = new FoldingFs(ROOT, EXT4);
  fs.writeFile("src/Foo.ts", "local Foo\n");
  const items = plan([["src", dir()], ["src/foo.ts", file(9)]], await localOf(fs), EXT4);
  assertEquals(formatItems(items), "A src/foo.ts\n");
});

Deno.test("pull: two pod names that fold to one local name are both conflicts (README and readme)", async () => {
  const fs = new FoldingFs(ROOT, NTFS);
  const items = plan([["README", file(1)], ["readme", file(2)], ["other", file(3)]], await localOf(fs), NTFS);
  assertEquals(items.map((i) => [i.path, i.conflict]), [["README", true], ["other", false], [
    "readme",
    true,
  ]]);
  assertEquals(items.find((i) => i.path === "README")!.foldsOnto, "readme");
});

Deno.test("pull: NFC and NFD spellings are one file on APFS, two on NTFS and ext4", async () => {
  const remote: [string, RemoteEntry][] = [[NFD, file(4)]];
  for (const [folding, conflict] of [[APFS, true], [NTFS, false], [EXT4, false]] as const) {
    const fs = new FoldingFs(ROOT, folding);
    fs.writeFile(NFC, "nfc\n");
    const items = plan(remote, await localOf(fs), folding);
    assertEquals(items.map((i) => i.conflict), [conflict], JSON.stringify(folding));
  }
});

Deno.test("scan on a folding disk: after a case-only rename the old spelling is gone, though lstat still finds it", () => {
  const fs = new FoldingFs(ROOT, APFS);
  fs.writeFile("Foo.ts", "x\n");
  fs.rename("Foo.ts", "foo.ts");
  // what the watcher's per-path stat did: lstat("Foo.ts") succeeds on such a disk
  assert(fs.lstatSync(`${ROOT}/Foo.ts`).isFile);
  assertEquals(
    statPathSync(ROOT, "Foo.ts", fs, APFS),
    undefined,
    "Foo.ts is gone: the pod's copy is deleted",
  );
  assert(statPathSync(ROOT, "foo.ts", fs, APFS)?.kind === "file");
  // without the folding rule the stale name would count, and both names would stay in the pod
  assert(statPathSync(ROOT, "Foo.ts", fs)?.kind === "file");
});

Deno.test("pull with Windows' rules: hostile pod names never reach the plan; Linux plans them", async () => {
  const hostile = ["a\\b", "..\\..\\AppData\\x.cmd", "CON", "x:y", "trailing.", "dir/nul.txt"];
  const remote = [
    ...hostile.map((h) => [h, file(1)] as [string, RemoteEntry]),
    ["ok.txt", file(1)] as [string, RemoteEntry],
  ];
  const win = plan(remote, await localOf(new FoldingFs(ROOT, NTFS)), NTFS, "windows");
  assertEquals(win.map((i) => i.path), ["ok.txt"]);
  const linux = plan(remote, await localOf(new FoldingFs(ROOT, EXT4)), EXT4, "linux");
  assertEquals(linux.length, hostile.length + 1);
});

Deno.test("watch: FSEvents' canonical paths map into a root reached through a symlink (/tmp is /private/tmp)", async () => {
  const { eventPath } = await import("../../../src/session/sync/twoway.ts");
  const table: [string, string, string | undefined, string][] = [
    ["/private/tmp/proj/src/a.ts", "/tmp/proj", "/private/tmp/proj", "src/a.ts"],
    ["/tmp/proj/src/a.ts", "/tmp/proj", "/private/tmp/proj", "src/a.ts"],
    ["/private/var/folders/xy/T/p/b", "/var/folders/xy/T/p", "/private/var/folders/xy/T/p", "b"],
    ["/private/tmp/proj", "/tmp/proj", "/private/tmp/proj", ""],
  ];
  for (const [abs, root, real, want] of table) assertEquals(eventPath(abs, root, real), want, abs);
  assert(
    eventPath("/elsewhere/x", "/tmp/proj", "/private/tmp/proj").startsWith(".."),
    "outside stays outside",
  );
  // without the real root, every canonical event fell outside the tree and was dropped
  assert(eventPath("/private/tmp/proj/src/a.ts", "/tmp/proj").startsWith(".."));
});

Deno.test("ignore rules match letter case as git does: exactly on ext4, either case where the disk folds", async () => {
  const { hostPlatform } = await import("../../../src/base/platform.ts");
  const rulesWith = (ignoreCase?: boolean) =>
    new IgnoreRules("/nonexistent-kodama-root", {
      useGitignore: false,
      excludePatterns: ["build/", "*.LOG"],
      syncGit: false,
      ignoreCase,
    });
  const sensitive = rulesWith(false), insensitive = rulesWith(true);
  assertEquals([sensitive.ignoredPath("build", true), sensitive.ignoredPath("Build", true)], [true, false]);
  assertEquals([sensitive.ignoredPath("x.LOG", false), sensitive.ignoredPath("x.log", false)], [true, false]);
  assertEquals([insensitive.ignoredPath("Build", true), insensitive.ignoredPath("x.log", false)], [
    true,
    true,
  ]);
  // by default, this OS's usual disk: Linux exact, macOS and Windows either case (run as darwin by tests/os_matrix)
  const folds = defaultFolding(hostPlatform()).caseInsensitive;
  assertEquals(rulesWith().ignoredPath("Build", true), folds);
});
