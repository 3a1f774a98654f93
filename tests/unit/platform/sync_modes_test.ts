/**
 * Modes sync sends from a system without Unix modes (Windows reports 0o666 or 0o444): the ancestor's,
 * else git's executable bit, else 0644/0755 — never world-writable. Asked of windows and linux.
 */
import { assertEquals } from "../../_assert.ts";
import {
  adoptMode,
  adoptModes,
  type Entry,
  entryOf,
  gitExecutables,
  type Tree,
} from "../../../src/session/sync/scan.ts";
import { platformFor } from "../../../src/base/platform.ts";

const win = platformFor("windows");
const linux = platformFor("linux");
const f = (mode: number, kind: Entry["kind"] = "file"): Entry => ({
  kind,
  mode,
  size: 1,
  mtime: 1,
  ino: 1,
  dev: 1,
  nlink: 1,
});

Deno.test("entryOf: Windows' reported 0666/0444 become 0644 (0755 for a directory); POSIX bits stay", () => {
  const st = (mode: number, isDirectory = false) =>
    ({
      mode,
      isDirectory,
      isFile: !isDirectory,
      isSymlink: false,
      size: 1,
      mtime: new Date(1),
    }) as Deno.FileInfo;
  assertEquals(entryOf(st(0o100666), undefined, win)!.mode, 0o644);
  assertEquals(entryOf(st(0o100444), undefined, win)!.mode, 0o644);
  assertEquals(entryOf(st(0o40666, true), undefined, win)!.mode, 0o755);
  assertEquals(entryOf(st(0o100666), undefined, linux)!.mode, 0o666);
  assertEquals(entryOf(st(0o100755), undefined, linux)!.mode, 0o755);
});

Deno.test("adoptMode on Windows: the ancestor's mode, else git's +x, else 0644; never o+w; POSIX untouched", () => {
  const table: [string, Entry, Entry | undefined, Set<string> | undefined, number][] = [
    ["run.sh", f(0o644), f(0o755), undefined, 0o755], // the pod had +x: it keeps it
    ["run.sh", f(0o644), undefined, new Set(["run.sh"]), 0o755], // new, and git says executable
    ["x.txt", f(0o644), undefined, new Set(["run.sh"]), 0o644],
    ["open.txt", f(0o644), f(0o777), undefined, 0o775], // never world-writable
    ["priv", f(0o644), f(0o600), undefined, 0o600],
    ["d", f(0o755, "dir"), f(0o700, "dir"), undefined, 0o700],
    ["d2", f(0o755, "dir"), f(0o644, "file"), undefined, 0o755], // the ancestor was another kind
  ];
  for (const [rel, e, anc, git, want] of table) {
    assertEquals(adoptMode(rel, e, anc, win, git).mode.toString(8), want.toString(8), rel);
    assertEquals(adoptMode(rel, e, anc, linux, git), e, `linux leaves ${rel} alone`);
  }
  const link: Entry = { ...f(0o777, "symlink"), link: "x" };
  assertEquals(adoptMode("l", link, undefined, win), link);
  const now: Tree = new Map([["a", f(0o644)], ["b", f(0o644)]]);
  adoptModes(now, new Map([["a", f(0o750)]]), win, new Set(["b"]));
  assertEquals([now.get("a")!.mode, now.get("b")!.mode], [0o750, 0o755]);
});

Deno.test("gitExecutables: the 100755 files of the index, relative to a root below the repo's", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const git = (...args: string[]) =>
      new Deno.Command("git", { args: ["-C", dir, ...args], stdout: "null", stderr: "null" }).outputSync();
    git("init", "-q");
    await Deno.mkdir(`${dir}/sub/bin`, { recursive: true });
    await Deno.writeTextFile(`${dir}/sub/bin/run.sh`, "#!/bin/sh\n");
    await Deno.chmod(`${dir}/sub/bin/run.sh`, 0o755);
    await Deno.writeTextFile(`${dir}/sub/readme`, "x\n");
    await Deno.writeTextFile(`${dir}/top.sh`, "#!/bin/sh\n");
    await Deno.chmod(`${dir}/top.sh`, 0o755);
    git("add", "-A");
    assertEquals([...await gitExecutables(`${dir}/sub`)], ["bin/run.sh"]);
    assertEquals([...await gitExecutables(dir)].sort(), ["sub/bin/run.sh", "top.sh"]);
    assertEquals([...await gitExecutables(await Deno.makeTempDir())], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("gitExecutables: index versions 2, 3 and 4, a split index, SHA-256; the repository's fsmonitor never runs", async () => {
  for (
    const [label, init, after] of [
      ["v2", [], []],
      ["v3 (intent-to-add)", [], [["add", "-N", "later.sh"]]],
      ["v4", [], [["update-index", "--index-version", "4"]]],
      ["split index", [], [["update-index", "--split-index"], ["add", "deep/x/y/z.sh"]]],
      ["sha256", ["--object-format=sha256"], []],
    ] as [string, string[], string[][]][]
  ) {
    const dir = await Deno.makeTempDir();
    try {
      const git = (...args: string[]) =>
        new Deno.Command("git", { args: ["-C", dir, ...args], stdout: "null", stderr: "null" }).outputSync();
      git("init", "-q", ...init);
      await Deno.mkdir(`${dir}/deep/x/y`, { recursive: true });
      for (
        const [p, mode] of [["a.sh", 0o755], ["b.txt", 0o644], ["deep/x/y/z.sh", 0o755], [
          "later.sh",
          0o755,
        ]] as const
      ) {
        await Deno.writeTextFile(`${dir}/${p}`, "#!/bin/sh\n");
        await Deno.chmod(`${dir}/${p}`, mode);
      }
      git("add", "a.sh", "b.txt");
      for (const a of after) git(...a);
      // a program the repository names: reading the index through git would run it
      await Deno.writeTextFile(`${dir}/mon.sh`, `#!/bin/sh\ntouch "${dir}/RAN"\n`);
      await Deno.chmod(`${dir}/mon.sh`, 0o755);
      git("config", "core.fsmonitor", `${dir}/mon.sh`);
      const want = [
        "a.sh",
        ...after.some((a) => a.includes("-N")) ? ["later.sh"] : [],
        ...after.some((a) => a.includes("deep/x/y/z.sh")) ? ["deep/x/y/z.sh"] : [],
      ].sort();
      assertEquals([...await gitExecutables(dir)].sort(), want, label);
      assertEquals(await Deno.stat(`${dir}/RAN`).then(() => true, () => false), false, label);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});

Deno.test("autocrlfWarning: one line when git's core.autocrlf is true in the tree, nothing otherwise", async () => {
  const { autocrlfWarning } = await import("../../../src/session/sync/session.ts");
  const dir = await Deno.makeTempDir();
  try {
    const git = (...args: string[]) =>
      new Deno.Command("git", { args: ["-C", dir, ...args], stdout: "null", stderr: "null" }).outputSync();
    git("init", "-q");
    assertEquals(await autocrlfWarning(dir), undefined);
    git("config", "core.autocrlf", "input");
    assertEquals(await autocrlfWarning(dir), undefined);
    git("config", "core.autocrlf", "true");
    const w = await autocrlfWarning(dir);
    assertEquals(w?.split("\n").length, 2, "one line");
    assertEquals(
      w?.startsWith("warning: git's core.autocrlf is true here: files go to the pod as they are on disk"),
      true,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
