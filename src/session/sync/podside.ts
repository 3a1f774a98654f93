/**
 * The pod's side of the two-way sync, in POSIX sh and busybox applets only (sh, find, stat, md5sum, tar,
 * head, mv, rm, rmdir, mkdir, chmod, sleep, mktemp), plus the image's own `node` when it has one (a
 * change notifier, EVENTS_JS); nothing is copied into the pod. The programs are files under `./pod/`
 * (watch.sh, events.js, apply2.sh, hash.sh), each opening with its arguments and protocol, embedded as
 * text; what they and this module must agree on (a mark, a stat format, a factor) is one literal in the
 * file, checked against the constant here by tests/unit/session/sync/pod_files_test.ts.
 *
 * **Change detection** (`WATCH_SCRIPT`, one kept-open exec): each round (one a line the local side
 * writes to its stdin, every TICK seconds) `find -newer MARKER`
 * lists what changed (with `stat` and `md5sum` of changed files) and, for each directory whose mtime
 * moved, its children — so deletions and renames are seen too. The marker is two ticks old (busybox
 * compares whole seconds: a marker at least a second older than the last round misses nothing, and what
 * is reported twice is merged). Every FULL ticks a full listing catches what keeps its mtime (a chmod,
 * `cp -p`, an extracted archive). Rounds are framed by `@full` / `@since` and `@end` lines.
 *
 * **Applying** (`APPLY2_SCRIPT`, one exec or the kept-open channel): stdin is the archive length, the
 * operation lines, an empty line and a tar archive. The archive is extracted into `.kodama/sync-stage`,
 * then each operation runs only when the path is still what the plan saw (`stat` key, `-` = absent,
 * `*` = whatever): a file or link is renamed into place (atomic per file), a directory made and chmod-ed,
 * a path removed (a directory only when empty). An operation whose path changed meanwhile is skipped
 * and reported (`skip LINE`): the next cycle sees the pod's new state and plans again.
 */
import type { Kube } from "../../kube/client.ts";
import { execInPod } from "../../kube/exec.ts";
import { concatBytes } from "../../base/text/bytes.ts";
import { KodamaError } from "../../base/errors.ts";
import { END_OF_ARCHIVE, header } from "../../pods/tarformat.ts";
import { hashFile, md5 } from "./ancestor.ts";
import type { Kind } from "./plan.ts";
import type { SyncTarget } from "./remote.ts";
import { SYNC_WATCHER_MARK } from "../lifecycle/lifetime.ts";
import WATCH from "./pod/watch.sh" with { type: "text" };
import EVENTS from "./pod/events.js" with { type: "text" };
import APPLY2 from "./pod/apply2.sh" with { type: "text" };
import HASH from "./pod/hash.sh" with { type: "text" };

/** One path in the pod as the watcher reports it. */
export interface PodEntry {
  kind: Kind;
  mode: number;
  size: number;
  /** seconds */
  mtime: number;
  link?: string;
  /** md5 when the round hashed it */
  hash?: string;
  /** the raw `%s %Y %f` stat key: what an operation checks before it touches the path */
  key: string;
}

/** The stat format of the watcher's lines (literal in pod/watch.sh and pod/apply2.sh) */
export const STAT = "stat -c '%s %Y %f %n'";
/**
 * GNU find prints the same facts itself (`%y %m`: type letter and octal mode, for stat's raw hex `%f`),
 * so a listing needs no `stat` process and no second stat of each path. busybox's find has no -printf.
 * Literal in pod/watch.sh (with `\n` for the newline).
 */
export const PRINTF = String.raw`%s %Ts %y %m %p
`;

/**
 * The pod's change notifier, where the image has `node` (most coding-agent images do: the agents are
 * Node programs). It only says *that* something changed: one inotify watch per directory (fs.watch, not
 * recursive, as Node 18 on Linux has it), and on any event it appends a byte to `$d/dirty` when that
 * file is empty. The watcher's `find` stays the only source of what changed; the notifier lets an idle
 * round skip the walk. A directory created or moved in is watched (with what is under it) before the
 * mark that follows it, so a walk after that mark sees what was written into it before its watch. It
 * writes `$d/ready` once the first walk of the tree has its watches, and ends when `$d` is gone, when
 * its parent (the watcher's sh) is, or — exit 3, the watcher then walks every round — when the kernel
 * refuses a watch (fs.inotify.max_user_watches) or the tree has more than 20,000 directories.
 * pod/events.js; the watcher gets it as its `$7`.
 */
export const EVENTS_JS: string = EVENTS;

/**
 * With the notifier, a `since` round walks only when it marked something, and in any case every
 * EVENT_WALK_EVERY rounds (a lost event's backstop), and the full listing comes every FULL x
 * EVENT_FULL_FACTOR rounds (a chmod or an mtime-keeping copy is an inotify event too). A round says
 * `@events` while the notifier is up: the sync loop then keeps the rounds TICK_S apart even when idle
 * (they cost the pod two builtin tests), so a save in the pod after a quiet spell comes back as fast as
 * during work.
 */
export const EVENT_WALK_EVERY = 12;
export const EVENT_FULL_FACTOR = 3;
// both literal in pod/watch.sh

/**
 * One walk of the tree per round: `find` picks what changed (or everything, in a full round) and `stat`s
 * it, the awk above sorts the lines, and only what it wrote down costs more processes (md5sum in groups
 * of 200, a readlink per link, a listing per changed directory). An idle round, where nothing changed,
 * starts one process, its `find`: the local side paces the rounds by writing a line to the watcher's
 * stdin (`read` is a shell builtin, where a `sleep` was a process), and the marker is rewritten by a
 * redirection (which moves its mtime in dash, bash and busybox sh), not a `touch`. When stdin ends (the
 * local side is gone) the watcher ends. Markers rotate through three files, so the marker a walk
 * compares with is the one written at the end of the walk two before. busybox 1.35's find never runs
 * an `-exec … {} +` inside parentheses, so no walk has one. Where find has `-printf` (GNU; checked
 * against `stat` once), it prints each path's line itself: a full listing of 5,000 paths is one process.
 * A chmod (or an mtime-keeping `cp -p`, `tar -x`) moves only the ctime: GNU find compares it with the
 * marker (-cnewer); busybox's find has no -cnewer, so what changed in the last minute is listed (-cmin).
 * It only looks: `kodama-idle-ignore` keeps it from counting as activity for a session's idle stop.
 * SYNC_WATCHER_MARK tells that watchdog a sync is connected; a round that finds its stop announced says
 * so (`@stopping DEADLINE`, before `@end`; a builtin test, no process), and the sync flushes and
 * acknowledges (session/lifecycle/lifetime.ts).
 * With `$5` = 1 and `node` in the image, the notifier (EVENTS_JS) runs beside it: once it is ready, a
 * `since` round whose `$d/dirty` is empty starts no process at all (builtin tests) and reports nothing,
 * unless EVENT_WALK_EVERY rounds went by without a walk; a round that walks empties `$d/dirty` first.
 * Every round while the notifier is up says `@events` (before `@end`). `prewalk` (before each walk)
 * checks the notifier and empties the mark: if the notifier ended, every round walks again and full
 * listings come every FULL rounds again. The first walk after `$d/ready` appears is always made.
 * `postwalk` rotates the markers.
 */
export const WATCH_SCRIPT: string = WATCH;

/**
 * The watcher's command: the sync loop's (`tick` its pace in seconds, SYNC_WATCHER_MARK on the command
 * line), or with `once` the first round alone (a full listing), then it ends: `listPod`'s. The notifier
 * runs only with `events` (and where the pod has node).
 */
export function watcherCommand(
  workdir: string,
  o: { full: number; tick: number | "once"; git: boolean; events?: boolean },
): string[] {
  return [
    "sh",
    "-c",
    WATCH_SCRIPT,
    "sh",
    workdir,
    String(o.full),
    String(o.tick),
    o.git ? "1" : "0",
    o.events ? "1" : "0",
    o.tick === "once" ? "" : SYNC_WATCHER_MARK,
    o.events ? EVENTS_JS : "",
  ];
}

/** find's `%y` letters for what the sync handles, as the type bits of a raw mode */
const PRINTF_TYPES: Record<string, number | undefined> = { f: 0o100000, d: 0o040000, l: 0o120000 };

const kindOf = (raw: number): Kind | undefined => {
  const fmt = raw & 0o170000;
  return fmt === 0o040000 ? "dir" : fmt === 0o120000 ? "symlink" : fmt === 0o100000 ? "file" : undefined;
};

/** One round of the watcher's output, parsed. Pure. */
export interface Round {
  full: boolean;
  entries: Map<string, PodEntry>;
  /** directories listed whole (children not among `entries` are gone) */
  dirs: string[];
}

export function parseRound(lines: string[], full: boolean): Round {
  const entries = new Map<string, PodEntry>();
  const dirs: string[] = [];
  const hashes = new Map<string, string>();
  const links = new Map<string, string>();
  const rel = (p: string) => (p === "." ? "" : p.startsWith("./") ? p.slice(2) : undefined);
  for (const line of lines) {
    // GNU find's -printf line (`%s %Ts %y %m %p`), made into stat's (`%s %Y %f %n`: the raw mode in hex)
    const g = /^(\d+) (\d+) ([a-zA-Z]) ([0-7]+) (.*)$/.exec(line);
    const type = g ? PRINTF_TYPES[g[3]] : undefined;
    if (g && type === undefined) continue; // a fifo, socket or device: not synced
    let m: string[] | null = g && type !== undefined
      ? [line, g[1], g[2], (type | parseInt(g[4], 8)).toString(16), g[5]]
      : /^(\d+) (\d+) ([0-9a-fA-F]+) (.*)$/.exec(line);
    if (m) {
      const r = rel(m[4]);
      const raw = parseInt(m[3], 16);
      const kind = kindOf(raw);
      if (r === undefined || r === "" || !kind) continue;
      entries.set(r, {
        kind,
        mode: raw & 0o7777,
        size: kind === "file" ? Number(m[1]) : 0,
        mtime: Number(m[2]),
        key: `${m[1]} ${m[2]} ${m[3]}`,
      });
      continue;
    }
    m = /^([0-9a-f]{32}) {2}(.*)$/.exec(line);
    if (m) {
      const r = rel(m[2]);
      if (r) hashes.set(r, m[1]);
      continue;
    }
    m = /^L (.*?)\t(.*)$/.exec(line);
    if (m) {
      const r = rel(m[1]);
      if (r) links.set(r, m[2]);
      continue;
    }
    m = /^D (.*)$/.exec(line);
    if (m) {
      const r = rel(m[1]);
      if (r !== undefined) dirs.push(r);
    }
  }
  for (const [p, h] of hashes) {
    const e = entries.get(p);
    if (e?.kind === "file") e.hash = h;
  }
  for (const [p, l] of links) {
    const e = entries.get(p);
    if (e?.kind === "symlink") e.link = l;
  }
  return { full, entries, dirs };
}

/**
 * Merge a round into the pod state: a full round replaces it (keeping hashes whose key did not move),
 * a `since` round updates what it lists and drops the children of listed directories it did not list.
 * Returns the paths that changed as the plan compares them (a directory whose mtime alone moved, as it
 * does when the sync itself puts a file in it, is not one). Pure but for `state`.
 */
export function mergeRound(
  state: Map<string, PodEntry>,
  r: Round,
  skip: (p: string) => boolean = () => false,
): string[] {
  const changed: string[] = [];
  const put = (p: string, e: PodEntry) => {
    if (skip(p)) return;
    const old = state.get(p);
    // a link listed as a directory's child carries no target line: it is the one known if unchanged
    if (e.kind === "symlink" && e.link === undefined && old?.kind === "symlink" && old.key === e.key) {
      e.link = old.link;
    }
    if (old && old.key === e.key && old.link === e.link) {
      if (!e.hash && old.hash) e.hash = old.hash;
      if (e.hash && old.hash && e.hash !== old.hash) changed.push(p);
    } else if (old?.kind === "dir" && e.kind === "dir" && old.mode === e.mode) {
      // only its mtime moved (an entry made or removed in it, reported on its own path): nothing to plan
    } else if (!(old?.key === "?" && confirms(old, e))) changed.push(p);
    state.set(p, e);
  };
  if (r.full) {
    for (const p of [...state.keys()]) {
      if (!r.entries.has(p) && !skip(p)) {
        state.delete(p);
        changed.push(p);
      }
    }
    for (const [p, e] of r.entries) put(p, e);
    return changed;
  }
  for (const d of r.dirs) {
    for (const p of [...state.keys()]) {
      const parent = p.includes("/") ? p.slice(0, p.lastIndexOf("/")) : "";
      if (parent !== d || r.entries.has(p) || skip(p)) continue;
      // gone: it and everything below it
      for (const q of [...state.keys()]) {
        if ((q === p || q.startsWith(p + "/")) && !skip(q)) {
          state.delete(q);
          changed.push(q);
        }
      }
    }
  }
  for (const [p, e] of r.entries) put(p, e);
  return changed;
}

/**
 * What this process just put in the pod (key `?`: sent, not yet seen) is seen as it was sent: the same
 * kind and mode, and for a file the same size and md5, for a link the same target. Not a change to plan
 * for (the next cycle would only agree).
 */
function confirms(sent: PodEntry, seen: PodEntry): boolean {
  if (sent.kind !== seen.kind || sent.mode !== seen.mode) return false;
  if (seen.kind === "file") return !!seen.hash && seen.hash === sent.hash && seen.size === sent.size;
  if (seen.kind === "symlink") return seen.link !== undefined && seen.link === sent.link;
  return true;
}

/** md5 of pod files (one exec per 500 paths). */
export async function podHashes(kube: Kube, t: SyncTarget, rels: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const dec = new TextDecoder();
  for (let i = 0; i < rels.length; i += 500) {
    const group = rels.slice(i, i + 500);
    const parts: Uint8Array[] = [];
    const res = await execInPod(
      kube,
      t.namespace,
      t.pod,
      t.container,
      ["sh", "-c", HASH, "sh", t.workdir, ...group.map((g) => `./${g}`)],
      { stdout: (c) => void parts.push(c.slice()) },
    );
    if (res.error) throw new KodamaError(`cannot hash files in ${t.pod}: ${res.error}`);
    for (const line of dec.decode(concatBytes(parts)).split("\n")) {
      const m = /^([0-9a-f]{32}) {2}\.\/(.*)$/.exec(line);
      if (m) out.set(m[2], m[1]);
    }
  }
  return out;
}

/**
 * The two-way apply (one exec, or the kept-open channel). stdin is `LENGTH\n` and a tar archive of that
 * length: the files and links to put in place at their paths, and last `.kodama/ops` (a workspace path
 * never holds `.kodama/`, so it cannot collide), one operation a line: `OP<TAB>EXPECT<TAB>PATH`.
 *
 * The archive is extracted into `.kodama/sync-stage` (made 0700 whatever the umask; `.kodama` too when
 * the sync makes it), then every path an operation expects a state of is `stat`-ed in groups of 200, and
 * awk joins the keys with the operations: an operation runs only when its path is still what the plan saw
 * (`-` absent, `*` whatever). Files of one directory are renamed into place by one `mv` (atomic per file:
 * a rename on the same file system), removed files by one `rm -f`: a batch of 10,000 files costs a few
 * hundred processes, not 30,000. `X` is an operation the sender dropped while streaming (the local file
 * changed under it). Skipped and failed paths are reported (`skip PATH`, `fail PATH`). pod/apply2.sh;
 * the node program pod/apply.js (podapply.ts) speaks the same protocol, and tests/_apply_spec.ts is its
 * one specification, run against both.
 */
export const APPLY2_SCRIPT: string = APPLY2;

export interface PodOp {
  op: "F" | "D" | "R";
  path: string;
  /** stat key the path must still have (`-` absent, `*` anything) */
  expect: string;
  /** D: the directory's mode */
  mode?: number;
}

const enc = new TextEncoder();
const escape = (p: string) => p.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");

/** A file or link the F ops rename into place: its bytes, or the local file read while streaming. */
export interface StagedFile {
  path: string;
  kind: "file" | "symlink";
  mode: number;
  data?: Uint8Array;
  /** a file read while the archive streams: its absolute path, and the size and md5 the plan saw */
  abs?: string;
  size?: number;
  hash?: string;
  link?: string;
  mtimeMs: number;
}

/** The archive as it streams: its exact length up front, and the F ops dropped (filled in while streaming). */
export interface ApplyStream {
  length: number;
  chunks: AsyncGenerator<Uint8Array>;
  /** paths whose local file no longer matched the plan when read (sent as `X`: the pod skips them) */
  dropped: Set<string>;
}

const BLOCK = 512;
const padTo = (n: number) => (n % BLOCK ? BLOCK - (n % BLOCK) : 0);
const lenOf = (parts: Uint8Array[]) => parts.reduce((s, b) => s + b.length, 0);

function opLine(o: PodOp): string {
  return `${o.op}${o.op === "D" ? (o.mode ?? 0o755).toString(8).padStart(4, "0") : ""}\t${o.expect}\t${
    escape(o.path)
  }\n`;
}

/**
 * The stdin of APPLY2_SCRIPT, streamed: `LENGTH\n`, then each file's header and content read in 1 MiB
 * pieces (never the whole batch in memory), then the operations. A file whose bytes no longer hash to
 * what the plan saw is still sent at its planned length (the archive's length is fixed) but its op
 * becomes `X`, so the pod skips it and the next cycle plans it again.
 */
export function applyStream(ops: PodOp[], files: StagedFile[]): ApplyStream {
  const entries = files.map((f) => {
    const size = f.kind === "symlink" ? 0 : f.data ? f.data.length : f.size ?? 0;
    const h = header(
      f.kind === "symlink"
        ? { name: f.path, type: "symlink", size: 0, mode: f.mode, mtime: f.mtimeMs / 1000, linkname: f.link }
        : { name: f.path, type: "file", size, mode: f.mode, mtime: f.mtimeMs / 1000 },
    );
    return { f, size, h };
  });
  const lines = ops.map(opLine);
  const opsBytes = enc.encode(lines.join(""));
  const opsHeader = header({
    name: ".kodama/ops",
    type: "file",
    size: opsBytes.length,
    mode: 0o600,
    mtime: Date.now() / 1000,
  });
  let length = lenOf(opsHeader) + opsBytes.length + padTo(opsBytes.length) + END_OF_ARCHIVE.length;
  for (const e of entries) length += lenOf(e.h) + e.size + padTo(e.size);
  const dropped = new Set<string>();
  async function* chunks(): AsyncGenerator<Uint8Array> {
    yield enc.encode(`${length}\n`);
    for (const { f, size, h } of entries) {
      yield* h;
      if (f.kind !== "file" || size === 0) {
        if (f.kind === "file" && f.hash && f.abs && (await hashFile(f.abs)) !== f.hash) dropped.add(f.path);
        continue;
      }
      if (f.data) yield f.data;
      else yield* readExactly(f, size, dropped);
      if (padTo(size)) yield new Uint8Array(padTo(size));
    }
    const text = dropped.size
      ? enc.encode(
        lines.map((l, i) => (ops[i].op === "F" && dropped.has(ops[i].path) ? "X" + l.slice(1) : l)).join(""),
      )
      : opsBytes;
    yield* opsHeader;
    yield text;
    if (padTo(text.length)) yield new Uint8Array(padTo(text.length));
    yield END_OF_ARCHIVE;
  }
  return { length, chunks: chunks(), dropped };
}

/** `size` bytes of a local file (zeros after an early end), its md5 checked against the plan's. */
async function* readExactly(f: StagedFile, size: number, dropped: Set<string>): AsyncGenerator<Uint8Array> {
  const h = await md5();
  let left = size;
  let file: Deno.FsFile | undefined;
  try {
    file = await Deno.open(f.abs!);
  } catch {
    dropped.add(f.path);
  }
  try {
    while (left > 0 && file) {
      const buf = new Uint8Array(Math.min(left, 1 << 20));
      const n = await file.read(buf);
      if (n === null) break;
      h.update(buf.subarray(0, n));
      left -= n;
      yield buf.subarray(0, n);
    }
    // a file that grew since the plan (still being written) is not the planned file, though its first
    // `size` bytes may hash as planned: drop it, and plan it again
    if (left === 0 && file && (await file.read(new Uint8Array(1))) !== null) dropped.add(f.path);
  } finally {
    file?.close();
  }
  if (left > 0) {
    dropped.add(f.path);
    for (; left > 0; left -= Math.min(left, 1 << 20)) yield new Uint8Array(Math.min(left, 1 << 20));
  } else if (f.hash && h.digest("hex") !== f.hash) dropped.add(f.path);
}

/** The whole stdin in memory (small batches, the kept-open channel; tests). */
export async function applyBytes(s: ApplyStream): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of s.chunks) parts.push(c.slice());
  return concatBytes(parts);
}

/** The stdin of APPLY2_SCRIPT for these operations and files, in memory. */
export function applyInput(ops: PodOp[], files: StagedFile[]): Promise<Uint8Array> {
  return applyBytes(applyStream(ops, files));
}

/** The paths an apply skipped or failed (from its output). Pure. */
export function parseApplyOutput(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split("\n")) {
    const m = /^(?:skip|fail) (.*)$/.exec(line);
    if (m) out.add(m[1]);
  }
  return out;
}

/** The stat key `%s %Y %f` of a pod entry as the apply script computes it. */
export function keyOf(e: PodEntry | undefined): string {
  return e ? e.key : "-";
}
