/**
 * #36 in the two-way planner, with the platform passed in (src/base/platform.ts), as a Mac or a PC would run it:
 * names that fold to one on the local disk (APFS, NTFS) are a conflict, never an overwrite; a case-only
 * rename in the pod goes through; on Windows a file's mode is the ancestor's or git's, never the OS's 0666.
 */
import { assertEquals } from "@kodama/test-assert";
import {
  type Action,
  foldConflicts,
  planSync,
  type Snap,
  type SnapTree,
} from "../../../../src/session/sync/plan.ts";
import { defaultFolding, foldName, platformFor } from "../../../../src/base/platform.ts";
import { localSnaps } from "../../../../src/session/sync/twoway.ts";
import { IgnoreRules } from "../../../../src/session/sync/ignore.ts";

const file = (hash: string, mode = 0o644): Snap => ({ kind: "file", mode, size: hash.length, hash });
const dir: Snap = { kind: "dir", mode: 0o755, size: 0 };
const tree = (o: Record<string, Snap>): SnapTree => new Map(Object.entries(o));

function plan(os: string, anc: SnapTree, local: SnapTree, pod: SnapTree): Action[] {
  const f = defaultFolding(platformFor(os));
  const p = planSync(anc, local, pod);
  return f.caseInsensitive || f.normalizing ? foldConflicts(p, local, pod, anc, (n) => foldName(n, f)) : p;
}

const ops = (p: Action[]) =>
  p.map((x) =>
    x.op === "conflict"
      ? `C ${x.path}: ${x.why}`
      : x.op === "copy"
      ? `${x.to === "pod" ? ">" : "<"} ${x.path}`
      : x.op === "delete"
      ? `- ${x.on} ${x.path}`
      : `= ${x.path}`
  ).sort();

Deno.test("two-way on a folding disk: a pod name landing on a local name spelled differently is a conflict", () => {
  const anc = tree({ "Foo.ts": file("a") });
  const local = tree({ "Foo.ts": file("a") });
  const pod = tree({ "Foo.ts": file("a"), "foo.ts": file("b") });
  for (const os of ["darwin", "windows"]) {
    assertEquals(
      ops(plan(os, anc, local, pod)),
      ["C foo.ts: this disk stores it as the same file as Foo.ts"],
      os,
    );
  }
  // linux keeps both names: the new one simply comes down
  assertEquals(ops(plan("linux", anc, local, pod)), ["< foo.ts"]);
});

Deno.test("two-way on a folding disk: two new pod names that fold to one both conflict; a directory too", () => {
  const pod = tree({ "A.txt": file("x"), "a.txt": file("y"), "Src": dir, "Src/x.ts": file("z") });
  const local = tree({ "src": dir });
  const anc = tree({ "src": dir });
  // the pod renamed src -> Src and made A.txt / a.txt: nothing is written over anything
  const got = ops(plan("windows", anc, local, pod));
  assertEquals(
    got,
    [
      "- local src",
      "< Src",
      "< Src/x.ts",
      "C A.txt: this disk stores it as the same file as a.txt",
      "C a.txt: this disk stores it as the same file as A.txt",
    ].sort(),
  );
});

Deno.test("two-way on a folding disk: a case-only rename in the pod goes through (delete, then copy)", () => {
  const anc = tree({ "Readme.md": file("r") });
  const local = tree({ "Readme.md": file("r") });
  const pod = tree({ "README.md": file("r") });
  assertEquals(ops(plan("darwin", anc, local, pod)), ["- local Readme.md", "< README.md"].sort());
});

Deno.test("two-way on APFS: NFC and NFD spellings of one name conflict", () => {
  const nfc = "caf\u00e9.txt", nfd = "cafe\u0301.txt";
  const anc = tree({ [nfc]: file("a") });
  const local = tree({ [nfc]: file("a") });
  const pod = tree({ [nfc]: file("a"), [nfd]: file("b") });
  assertEquals(ops(plan("darwin", anc, local, pod)), [
    `C ${nfd}: this disk stores it as the same file as ${nfc}`,
  ]);
  // NTFS does not normalize: both come down
  assertEquals(ops(plan("windows", anc, local, pod)), [`< ${nfd}`]);
});

Deno.test("two-way on Windows: modes come from the ancestor or git, never the OS's 0666", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${root}/run.sh`, "#!/bin/sh\n");
    await Deno.writeTextFile(`${root}/new.txt`, "n\n");
    await Deno.chmod(`${root}/new.txt`, 0o666);
    await Deno.mkdir(`${root}/d`);
    const rules = new IgnoreRules(root, {
      useGitignore: false,
      excludePatterns: [],
      syncGit: false,
      secretFiles: [],
    });
    const anc = new Map([["run.sh", { ...file("x", 0o755), size: 10 }], ["d", { ...dir, mode: 0o750 }]]);
    const win = await localSnaps(root, rules, anc, new Map(), platformFor("windows"));
    assertEquals(win.snaps.get("run.sh")!.mode, 0o755, "the ancestor's mode: no spurious chmod");
    assertEquals(win.snaps.get("new.txt")!.mode, 0o644, "a new file: 0644, never world-writable");
    assertEquals(win.snaps.get("d")!.mode, 0o750);
    // so a pod that made run.sh executable sees no change here: nothing is planned
    const p = planSync(
      anc as SnapTree,
      win.snaps,
      tree({
        "run.sh": { ...file("x", 0o755), size: 10, hash: win.snaps.get("run.sh")!.hash },
        d: { ...dir, mode: 0o750 },
        "new.txt": win.snaps.get("new.txt")!,
      }),
    );
    assertEquals(p.filter((x) => x.op === "copy" || x.op === "conflict").map((x) => x.path), []);
    // linux: the OS's own bits
    const lin = await localSnaps(root, rules, anc, new Map(), platformFor("linux"));
    assertEquals(lin.snaps.get("new.txt")!.mode, 0o666);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
