/**
 * The pod's side of the two-way sync, in POSIX sh and busybox applets only (sh, find, stat, md5sum, tar,
 * head, mv, rm, rmdir, mkdir, chmod, sleep, mktemp, touch); nothing is injected into the pod.
 *
 * **Change detection** (`WATCH_SCRIPT`, one kept-open exec): every TICK seconds `find -newer MARKER`
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
import { concatBytes } from "../../bytes.ts";
import { KodamaError } from "../../errors.ts";
import { END_OF_ARCHIVE, header, type TarEntry } from "../../pods/tar.ts";
import type { Kind } from "./plan.ts";
import type { SyncTarget } from "./remote.ts";

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

const STAT = "stat -c '%s %Y %f %n'";

export const WATCH_SCRIPT = [
  // it only looks: not activity for a session's idle stop (session/lifetime.ts), nor is what it runs
  "# kodama-idle-ignore",
  "export KODAMA_IDLE_IGNORE=1",
  'cd "$1" 2>/dev/null || exit 97',
  "d=$(mktemp -d) || exit 95",
  "trap 'rm -rf \"$d\"' EXIT",
  "full=$2; tick=$3; git=$4; i=0",
  'touch "$d/m0"; sleep 1; touch "$d/m1" "$d/m2"',
  'pr() { if [ "$git" = 1 ]; then find . -path ./.kodama -prune -o "$@"; ' +
  'else find . \\( -path ./.kodama -o -path ./.git \\) -prune -o "$@"; fi; }',
  'links() { while IFS= read -r l; do printf \'L %s\\t%s\\n\' "$l" "$(readlink "$l")"; done; }',
  "while :; do",
  "  if [ $((i % full)) -eq 0 ]; then",
  "    echo @full || exit 0",
  `    $(pr_placeholder)`,
  "  else",
  "    echo @since || exit 0",
  `    pr -newer "$d/m0" ! -name . -exec ${STAT} {} +`,
  '    pr -newer "$d/m0" -type f -exec md5sum {} +',
  '    pr -newer "$d/m0" -type l -print | links',
  '    pr -newer "$d/m0" -type d -print | while IFS= read -r dir; do',
  '      echo "D $dir"',
  `      find "$dir" -mindepth 1 -maxdepth 1 -exec ${STAT} {} +`,
  "    done",
  "  fi",
  "  echo @end || exit 0",
  '  mv "$d/m1" "$d/m0"; mv "$d/m2" "$d/m1"; touch "$d/m2"',
  "  i=$((i+1)); sleep $tick",
  "done",
].join("\n").replace(
  "$(pr_placeholder)",
  `pr ! -name . -exec ${STAT} {} +; pr -type l -print | links`,
);

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
    let m = /^(\d+) (\d+) ([0-9a-fA-F]+) (.*)$/.exec(line);
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
 * Returns the paths that changed. Pure but for `state`.
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
    } else changed.push(p);
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
      [
        "sh",
        "-c",
        'cd "$1" && shift && md5sum -- "$@"; exit 0',
        "sh",
        t.workdir,
        ...group.map((g) => `./${g}`),
      ],
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

export const APPLY2_SCRIPT = [
  "umask 0",
  "IFS= read -r n || exit 96",
  'mkdir -p "$1" && cd "$1" || exit 97',
  "st=.kodama/sync-stage",
  "[ -d .kodama ] || { mkdir .kodama && : > .kodama/.made-by-sync; } || exit 97",
  'rm -rf "$st" "$st.ops"; (umask 077; mkdir -p "$st") || exit 97',
  ': > "$st.ops"',
  'while IFS= read -r l; do [ -z "$l" ] && break; printf \'%s\\n\' "$l" >> "$st.ops"; done',
  'head -c "$n" | (cd "$st" && tar -xof -) || exit 99',
  'cur() { if [ -e "$1" ] || [ -L "$1" ]; then stat -c \'%s %Y %f\' -- "$1"; else echo -; fi; }',
  "tab=$(printf '\\t')",
  "while IFS= read -r l; do",
  '  op=${l%%"$tab"*}; r=${l#*"$tab"}; exp=${r%%"$tab"*}; p=${r#*"$tab"}',
  "  case $p in *\\\\*) p=$(printf '%b_' \"$p\"); p=${p%_} ;; esac",
  '  c=$(cur "./$p")',
  '  if [ "$exp" != "*" ] && [ "$c" != "$exp" ]; then printf \'skip %s\\n\' "$p"; continue; fi',
  "  case $op in",
  "    F)",
  '      if [ -d "./$p" ] && [ ! -L "./$p" ]; then rmdir "./$p" 2>/dev/null || { printf \'skip %s\\n\' "$p"; continue; }; fi',
  '      mv -f "$st/$p" "./$p" || printf \'fail %s\\n\' "$p" ;;',
  "    D*)",
  '      if [ -L "./$p" ] || { [ -e "./$p" ] && [ ! -d "./$p" ]; }; then rm -f "./$p"; fi',
  '      mkdir -p "./$p" && chmod "${op#D}" "./$p" || printf \'fail %s\\n\' "$p" ;;',
  "    R)",
  '      if [ -d "./$p" ] && [ ! -L "./$p" ]; then rmdir "./$p" 2>/dev/null || printf \'skip %s\\n\' "$p"',
  '      else rm -f "./$p" || printf \'fail %s\\n\' "$p"; fi ;;',
  "  esac",
  'done < "$st.ops"',
  'rm -rf "$st" "$st.ops"',
  "[ -f .kodama/.made-by-sync ] && rm -f .kodama/.made-by-sync && rmdir .kodama 2>/dev/null",
  "exit 0",
].join("\n");

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

/** The archive (files and links the F ops rename into place, read now from the local tree). */
export interface StagedFile {
  path: string;
  kind: "file" | "symlink";
  mode: number;
  data?: Uint8Array;
  link?: string;
  mtimeMs: number;
}

/** The stdin of APPLY2_SCRIPT for these operations and files. Pure. */
export function applyInput(ops: PodOp[], files: StagedFile[]): Uint8Array {
  const tar: Uint8Array[] = [];
  for (const f of files) {
    const t: TarEntry = f.kind === "symlink"
      ? { name: f.path, type: "symlink", size: 0, mode: f.mode, mtime: f.mtimeMs / 1000, linkname: f.link }
      : { name: f.path, type: "file", size: f.data!.length, mode: f.mode, mtime: f.mtimeMs / 1000 };
    tar.push(...header(t));
    if (f.kind === "file" && f.data!.length) {
      tar.push(f.data!);
      const pad = f.data!.length % 512;
      if (pad) tar.push(new Uint8Array(512 - pad));
    }
  }
  tar.push(END_OF_ARCHIVE);
  const archive = concatBytes(tar);
  const lines = ops.map((o) =>
    `${o.op}${o.op === "D" ? (o.mode ?? 0o755).toString(8).padStart(4, "0") : ""}\t${o.expect}\t${
      escape(o.path)
    }\n`
  ).join("");
  return concatBytes([enc.encode(`${archive.length}\n${lines}\n`), archive]);
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
