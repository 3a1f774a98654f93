/**
 * THE specification of the two-way sync's apply protocol (one table, two programs): what the pod does with
 * one batch — `LENGTH\n` and a tar archive whose last member is `.kodama/ops`, one record a line
 * `OP<TAB>EXPECT<TAB>PATH` (src/session/sync/podside.ts applyStream) — and what it says back.
 *
 * The protocol exists as a shell program (src/session/sync/pod/apply2.sh: any image, one exec or the
 * kept-open channel) and a node program (pod/apply.js: the channel where the image has node). They are not
 * generated from one source; both are tested from this table instead
 * (tests/unit/session/sync/apply_spec_test.ts: apply2.sh under busybox sh with busybox's applets only and
 * under dash, apply.js under node). A case is the pod's tree before, the records and files sent, and the
 * tree after (every path, `.kodama` included) and the lines said (`skip PATH`, `fail PATH`, in any order).
 *
 * Records: F put the sent file or link in place (a rename from the stage; an empty directory there is
 * removed first, a full one makes it `skip`), R remove a file or link, or a directory when empty (`skip`
 * when not), D make a directory with that mode (a file or link there is removed first), X (a file that
 * changed while it streamed: `dropped` here) is skipped and said. EXPECT is the `%s %Y %f` stat key the
 * path must still have, `-` absent, `*` whatever: when it differs, the record is `skip`ped and nothing is
 * touched. A record whose work fails (no parent directory) is `fail`. A record for a path never there whose
 * expectation holds (`R`, `-`) does nothing and says nothing. Every file put in place has the archive's
 * mode and mtime. The stage (`.kodama/sync-stage`) is gone afterwards, and `.kodama` too when the apply
 * made it.
 */
import type { PodOp, StagedFile } from "../src/session/sync/podside.ts";

/** a path in a tree: a file (text, mode), a directory (mode), a link (target) */
export type Node = { f: string; mode?: number } | { d: number } | { l: string };
/** `now`: the path's key just before the batch (the plan saw exactly this) */
export type Expect = "-" | "*" | "now" | string;

export interface ApplyCase {
  name: string;
  before: Record<string, Node>;
  ops: { op: "F" | "D" | "R"; path: string; expect: Expect; mode?: number }[];
  /** what the F records put in place; `dropped`: it changed while streaming (its record goes as X) */
  files: ({ path: string; f: string; mode?: number; dropped?: true } | { path: string; l: string })[];
  said: string[];
  after: Record<string, Node>;
}

export const T0 = 1_700_000_000_000;
const STALE = "1 1 81a4";
const LONG = "deep/" + "d".repeat(60) + "/" + "e".repeat(60) + "/file-with-a-long-name.txt";

export const APPLY_CASES: ApplyCase[] = [
  {
    name: "a new file in a new directory",
    before: {},
    ops: [{ op: "D", path: "n", expect: "-", mode: 0o750 }, { op: "F", path: "n/new.txt", expect: "-" }],
    files: [{ path: "n/new.txt", f: "hello\n" }],
    said: [],
    after: { n: { d: 0o750 }, "n/new.txt": { f: "hello\n", mode: 0o644 } },
  },
  {
    name: "modes travel: an executable, a secret, a nested D",
    before: {},
    ops: [
      { op: "D", path: "n", expect: "-", mode: 0o755 },
      { op: "D", path: "n2/x/y", expect: "-", mode: 0o700 },
      { op: "F", path: "n/run.sh", expect: "-" },
      { op: "F", path: "n/secret", expect: "-" },
    ],
    files: [{ path: "n/run.sh", f: "#!/bin/sh\n", mode: 0o755 }, { path: "n/secret", f: "s\n", mode: 0o600 }],
    said: [],
    after: {
      n: { d: 0o755 },
      "n/run.sh": { f: "#!/bin/sh\n", mode: 0o755 },
      "n/secret": { f: "s\n", mode: 0o600 },
      // the directories `mkdir -p` makes on the way, under the apply's umask 0
      n2: { d: 0o777 },
      "n2/x": { d: 0o777 },
      "n2/x/y": { d: 0o700 },
    },
  },
  {
    name: "a file the plan saw is replaced",
    before: { "a.txt": { f: "old\n" } },
    ops: [{ op: "F", path: "a.txt", expect: "now" }],
    files: [{ path: "a.txt", f: "new\n" }],
    said: [],
    after: { "a.txt": { f: "new\n", mode: 0o644 } },
  },
  {
    name: "a file changed in the pod since the plan is left alone",
    before: { "a.txt": { f: "the pod changed it\n" } },
    ops: [{ op: "F", path: "a.txt", expect: STALE }],
    files: [{ path: "a.txt", f: "local\n" }],
    said: ["skip a.txt"],
    after: { "a.txt": { f: "the pod changed it\n", mode: 0o644 } },
  },
  {
    name: "a file the pod made meanwhile is not overwritten",
    before: { "a.txt": { f: "the pod made this\n" } },
    ops: [{ op: "F", path: "a.txt", expect: "-" }],
    files: [{ path: "a.txt", f: "local\n" }],
    said: ["skip a.txt"],
    after: { "a.txt": { f: "the pod made this\n", mode: 0o644 } },
  },
  {
    name: "a file replaces an empty directory, never a full one",
    before: { empty: { d: 0o755 }, full: { d: 0o755 }, "full/keep.txt": { f: "x\n" } },
    ops: [{ op: "F", path: "empty", expect: "*" }, { op: "F", path: "full", expect: "*" }],
    files: [{ path: "empty", f: "a file now\n" }, { path: "full", f: "no\n" }],
    said: ["skip full"],
    after: { empty: { f: "a file now\n", mode: 0o644 }, full: { d: 0o755 }, "full/keep.txt": { f: "x\n" } },
  },
  {
    name: "a file whose directory is missing fails",
    before: {},
    ops: [{ op: "F", path: "no-parent/x.txt", expect: "-" }],
    files: [{ path: "no-parent/x.txt", f: "nowhere to go\n" }],
    said: ["fail no-parent/x.txt"],
    after: {},
  },
  {
    name: "a file that changed while it streamed (X) is skipped",
    before: {},
    ops: [{ op: "F", path: "dropped.txt", expect: "-" }, { op: "F", path: "kept.txt", expect: "-" }],
    files: [{ path: "dropped.txt", f: "x\n", dropped: true }, { path: "kept.txt", f: "k\n" }],
    said: ["skip dropped.txt"],
    after: { "kept.txt": { f: "k\n", mode: 0o644 } },
  },
  {
    name: "removes: a file and an empty directory as seen; not a changed file, not a full directory",
    before: {
      "gone.txt": { f: "x\n" },
      "a/b": { d: 0o755 },
      "a/b/gone2.txt": { f: "x\n" },
      "raced.txt": { f: "changed\n" },
      "rm-empty": { d: 0o755 },
      "rm-full": { d: 0o755 },
      "rm-full/keep.txt": { f: "x\n" },
    },
    ops: [
      { op: "R", path: "gone.txt", expect: "now" },
      { op: "R", path: "a/b/gone2.txt", expect: "now" },
      { op: "R", path: "raced.txt", expect: STALE },
      { op: "R", path: "rm-empty", expect: "now" },
      { op: "R", path: "rm-full", expect: "*" },
      { op: "R", path: "never-there", expect: "-" },
    ],
    files: [],
    said: ["skip raced.txt", "skip rm-full"],
    after: {
      a: { d: 0o755 },
      "a/b": { d: 0o755 },
      "raced.txt": { f: "changed\n" },
      "rm-full": { d: 0o755 },
      "rm-full/keep.txt": { f: "x\n" },
    },
  },
  {
    name: "a link is removed as a link, never followed",
    before: { a: { d: 0o755 }, "a/x.txt": { f: "x\n" }, "link-to-dir": { l: "a" } },
    ops: [{ op: "R", path: "link-to-dir", expect: "now" }],
    files: [],
    said: [],
    after: { a: { d: 0o755 }, "a/x.txt": { f: "x\n" } },
  },
  {
    name: "D: over a file, over a link, and a chmod of a directory",
    before: {
      "chmod-me": { f: "a file where a directory goes\n" },
      a: { d: 0o755 },
      "d-over-link": { l: "a" },
      "keep-dir": { d: 0o700 },
    },
    ops: [
      { op: "D", path: "chmod-me", expect: "now", mode: 0o755 },
      { op: "D", path: "d-over-link", expect: "now", mode: 0o755 },
      { op: "D", path: "keep-dir", expect: "now", mode: 0o751 },
    ],
    files: [],
    said: [],
    after: {
      "chmod-me": { d: 0o755 },
      a: { d: 0o755 },
      "d-over-link": { d: 0o755 },
      "keep-dir": { d: 0o751 },
    },
  },
  {
    name: "links are sent as links, whatever they point at",
    before: { a: { d: 0o755 } },
    ops: [{ op: "F", path: "a/link", expect: "-" }, { op: "F", path: "far", expect: "-" }],
    files: [{ path: "a/link", l: "../a/mod.txt" }, { path: "far", l: "../" + "t".repeat(120) }],
    said: [],
    after: { a: { d: 0o755 }, "a/link": { l: "../a/mod.txt" }, far: { l: "../" + "t".repeat(120) } },
  },
  {
    name: "odd names: a backslash, a newline, a space and a tab; a long PAX name",
    before: { "back\\slash.txt": { f: "old\n" } },
    ops: [
      { op: "F", path: "back\\slash.txt", expect: "now" },
      { op: "F", path: "new\nline", expect: "-" },
      { op: "F", path: "sp ace\ttab", expect: "-" },
      { op: "D", path: LONG.slice(0, LONG.lastIndexOf("/")), expect: "-", mode: 0o755 },
      { op: "F", path: LONG, expect: "-" },
    ],
    files: [
      { path: "back\\slash.txt", f: "new\n" },
      { path: "new\nline", f: "a newline in the name\n" },
      { path: "sp ace\ttab", f: "odd\n" },
      { path: LONG, f: "long\n" },
    ],
    said: [],
    after: {
      "back\\slash.txt": { f: "new\n", mode: 0o644 },
      "new\nline": { f: "a newline in the name\n", mode: 0o644 },
      "sp ace\ttab": { f: "odd\n", mode: 0o644 },
      deep: { d: 0o777 },
      [`deep/${"d".repeat(60)}`]: { d: 0o777 },
      [LONG.slice(0, LONG.lastIndexOf("/"))]: { d: 0o755 },
      [LONG]: { f: "long\n", mode: 0o644 },
    },
  },
  {
    name: "a .kodama the workspace already has stays, with what is in it",
    before: { ".kodama": { d: 0o755 }, ".kodama/mine": { f: "m\n" } },
    ops: [{ op: "F", path: "x", expect: "-" }],
    files: [{ path: "x", f: "x\n" }],
    said: [],
    after: { ".kodama": { d: 0o755 }, ".kodama/mine": { f: "m\n" }, x: { f: "x\n", mode: 0o644 } },
  },
];

/**
 * The records and files of a case, its `now` expectations read by `keyOf` (the pod tree's `%s %Y %f`);
 * a dropped file is read from `droppedSource` (outside the tree), whose md5 is not the planned one.
 */
export function caseBatch(c: ApplyCase, keyOf: (path: string) => string, droppedSource: string): {
  ops: PodOp[];
  files: StagedFile[];
} {
  const enc = new TextEncoder();
  const ops: PodOp[] = c.ops.map((o) => ({
    op: o.op,
    path: o.path,
    expect: o.expect === "now" ? keyOf(o.path) : o.expect,
    ...(o.mode !== undefined ? { mode: o.mode } : {}),
  }));
  const files: StagedFile[] = c.files.map((f) =>
    "l" in f ? { path: f.path, kind: "symlink", mode: 0o777, link: f.l, mtimeMs: T0 } : f.dropped
      // read while the archive streams, and not what the plan hashed: sent as X
      ? {
        path: f.path,
        kind: "file",
        mode: f.mode ?? 0o644,
        abs: droppedSource,
        size: 2,
        hash: "0".repeat(32),
        mtimeMs: T0,
      }
      : { path: f.path, kind: "file", mode: f.mode ?? 0o644, data: enc.encode(f.f), mtimeMs: T0 }
  );
  return { ops, files };
}
