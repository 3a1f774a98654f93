/**
 * The files git records as executable (mode 100755), read from git's index file itself. Sync needs them on
 * a laptop without Unix modes (Windows loses the bit on disk; git keeps it). It used to ask `git ls-files -s`,
 * and reading the index runs the repository's `core.fsmonitor` program: a program the repository names ran in
 * every sync round, a door-started session's too. Reading the file runs nothing (docs/security.md, "no program
 * named by the repository runs through a door").
 *
 * The index format (git's Documentation/gitformat-index.txt): "DIRC", a version (2, 3 or 4), the entry count;
 * each entry 40 bytes of stat data (mode at byte 24), the object id (20 bytes, or 32 in a SHA-256
 * repository), 16 bits of flags (their low 12 bits the name's length; bit 14 "extended": 16 more bits in
 * version 3 and later), then the path: NUL-terminated and padded to a multiple of 8 bytes (2, 3), or in
 * version 4 a varint of bytes to drop from the previous path and the rest, NUL-terminated. A split index
 * keeps most entries in `sharedindex.<id>`: both files are read. Pure except `gitExecutablesOf`.
 */
import { gitLocations } from "../../base/fs/gitpaths.ts";
import { configValues, formatProblem } from "../git/gitrefs.ts";
import { join, resolve } from "../../base/fs/fspath.ts";

const EXECUTABLE = 0o100755;

/** Index bytes larger than this are not read (a repository of millions of files): no modes adopted. */
const MAX_INDEX = 256 * 1024 * 1024;

/** The entries of an index file as `path -> mode`, for one object-id size; undefined when it does not parse. */
export function parseIndex(data: Uint8Array, idSize: 20 | 32): Map<string, number> | undefined {
  if (data.length < 12 + idSize) return undefined;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (String.fromCharCode(...data.subarray(0, 4)) !== "DIRC") return undefined;
  const version = view.getUint32(4);
  if (version < 2 || version > 4) return undefined;
  const count = view.getUint32(8);
  const end = data.length - idSize; // the trailing checksum
  const dec = new TextDecoder();
  const out = new Map<string, number>();
  let at = 12;
  let prev: Uint8Array = new Uint8Array(0);
  for (let i = 0; i < count; i++) {
    const start = at;
    if (at + 40 + idSize + 2 > end) return undefined;
    const mode = view.getUint32(at + 24);
    at += 40 + idSize;
    const flags = view.getUint16(at);
    at += 2;
    if (flags & 0x4000) {
      if (version < 3) return undefined;
      at += 2;
    }
    let name: Uint8Array;
    if (version === 4) {
      // git's offset varint: 7 bits a byte, high bit "more", each continuation adds one
      let drop = 0, b: number;
      do {
        if (at >= end) return undefined;
        b = data[at++];
        drop = (drop << 7) | (b & 0x7f);
        if (b & 0x80) drop++;
      } while (b & 0x80);
      const nul = data.indexOf(0, at);
      if (nul < 0 || nul >= end || drop > prev.length) return undefined;
      name = new Uint8Array(prev.length - drop + (nul - at));
      name.set(prev.subarray(0, prev.length - drop));
      name.set(data.subarray(at, nul), prev.length - drop);
      at = nul + 1;
    } else {
      const nul = data.indexOf(0, at);
      if (nul < 0 || nul >= end) return undefined;
      name = data.subarray(at, nul);
      at = start + (((nul - start) + 8) & ~7); // NUL-terminated, padded to a multiple of 8
    }
    prev = name;
    out.set(dec.decode(name), mode);
  }
  return out;
}

/** The split index's shared file named in the `link` extension, if there is one (hex id). */
export function sharedIndexOf(data: Uint8Array, idSize: 20 | 32, afterEntries: number): string | undefined {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let at = afterEntries;
  const end = data.length - idSize;
  while (at + 8 <= end) {
    const sig = String.fromCharCode(...data.subarray(at, at + 4));
    const size = view.getUint32(at + 4);
    if (sig === "link" && size >= idSize) {
      return [...data.subarray(at + 8, at + 8 + idSize)].map((b) => b.toString(16).padStart(2, "0")).join("");
    }
    at += 8 + size;
  }
  return undefined;
}

/** Where the entries of a parsed index end (for the extensions after them). */
function entriesEnd(data: Uint8Array, idSize: 20 | 32): number | undefined {
  // parse again, counting: cheap next to the read, and keeps parseIndex's result a plain map
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const version = view.getUint32(4);
  const count = view.getUint32(8);
  let at = 12;
  for (let i = 0; i < count; i++) {
    const start = at;
    at += 40 + idSize;
    const flags = view.getUint16(at);
    at += 2 + (flags & 0x4000 ? 2 : 0);
    if (version === 4) {
      while (data[at++] & 0x80);
      at = data.indexOf(0, at) + 1;
    } else at = start + (((data.indexOf(0, at) - start) + 8) & ~7);
    if (at <= 0) return undefined;
  }
  return at;
}

/** The modes of an index file of a repository whose object ids are `idSize` bytes. */
function modesOf(
  data: Uint8Array,
  idSize: 20 | 32,
): { modes: Map<string, number>; idSize: 20 | 32 } | undefined {
  const modes = parseIndex(data, idSize);
  return modes ? { modes, idSize } : undefined;
}

/** 32 in a SHA-256 repository (its config, read as data: `extensions.objectFormat`), else 20. */
async function idSizeOf(commonDir: string): Promise<20 | 32> {
  const text = await Deno.readTextFile(join(commonDir, "config")).catch(() => "");
  return formatProblem(configValues(text)).objectFormat === "sha256" ? 32 : 20;
}

async function readIndex(path: string): Promise<Uint8Array | undefined> {
  try {
    const st = await Deno.lstat(path);
    if (!st.isFile || st.size > MAX_INDEX) return undefined;
    return await Deno.readFile(path);
  } catch {
    return undefined;
  }
}

/**
 * The files under `root` git records as executable, as root-relative paths; empty when `root` is in no
 * work tree or its index cannot be read. Nothing runs.
 */
export async function gitExecutablesOf(root: string): Promise<Set<string>> {
  const out = new Set<string>();
  for (const [p, m] of await indexUnder(root)) if (m === EXECUTABLE) out.add(p);
  return out;
}

/**
 * The files under `root` git tracks (its index holds them), as root-relative paths: what a clone of the
 * repository brought (config/steering.ts: a tracked `.env` is the repository's). Empty as above.
 */
export async function gitTrackedOf(root: string): Promise<Set<string>> {
  return new Set((await indexUnder(root)).keys());
}

/** The index's entries under `root`, root-relative, with their modes; empty as above. Nothing runs. */
async function indexUnder(root: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const at = await gitLocations(root).catch(() => undefined);
  if (!at?.workTree) return out;
  const data = await readIndex(join(at.gitDir, "index"));
  if (!data) return out;
  const idSize = await idSizeOf(at.commonDir);
  const own = modesOf(data, idSize);
  if (!own) return out;
  const modes = new Map<string, number>();
  const end = entriesEnd(data, own.idSize);
  const shared = end ? sharedIndexOf(data, own.idSize, end) : undefined;
  if (shared) {
    const s = await readIndex(join(at.gitDir, `sharedindex.${shared}`));
    const base = s ? modesOf(s, idSize) : undefined;
    for (const [p, m] of base?.modes ?? []) modes.set(p, m);
  }
  for (const [p, m] of own.modes) modes.set(p, m);
  // the root's place in the work tree, as the index spells paths (`/`, relative to the top)
  const top = resolve(at.workTree), here = resolve(root);
  const under = here === top ? "" : here.slice(top.length + 1).replaceAll("\\", "/");
  const prefix = under ? `${under}/` : "";
  for (const [p, m] of modes) if (p.startsWith(prefix)) out.set(p.slice(prefix.length), m);
  return out;
}
