/**
 * A small streaming tar codec for `kodama cp` and sync (ustar + PAX long names; reads GNU long names too).
 * Hand-written rather than npm:tar-stream because it plugs straight into the exec stream's
 * backpressure (async chunks in, awaited writes out) and needs no untyped streamx bridge.
 *
 * Entries: regular files, directories, symlinks and hard links (a file's second name is written as a
 * link to its first, as GNU and busybox tar do, and extracted as a link again); FIFOs, sockets and
 * devices are never copied, and both packing and extracting say so through `warn` — nothing is dropped
 * silently.
 */
import { lstat, open, readdir, readlink, realpath } from "node:fs/promises";
import { basename, dirname, join, relative, resolve } from "node:path";
import { hardLinkUnder, mkdirUnder, openUnder, Refused, symlinkUnder } from "../safewrite.ts";
import { concatBytes } from "../bytes.ts";
import {
  type Folding,
  foldName,
  hostPlatform,
  type Platform,
  podMode,
  pulledNameProblem,
} from "../platform.ts";

const BLOCK = 512;
const enc = new TextEncoder();
const dec = new TextDecoder();
/** magic "ustar\0" and version "00" */
const USTAR = new TextEncoder().encode("ustar\x0000");

export interface TarEntry {
  name: string;
  type: "file" | "directory" | "symlink" | "hardlink" | "fifo" | "chardev" | "blockdev" | "other";
  size: number;
  mode: number;
  mtime: number;
  /** symlink: its target as written; hardlink: the archive name of the entry it is another name of */
  linkname?: string;
}

/** Typeflags by entry type, and back (`0`/`7`/NUL are files). */
const TYPEFLAG: Record<string, string> = {
  file: "0",
  hardlink: "1",
  symlink: "2",
  chardev: "3",
  blockdev: "4",
  directory: "5",
  fifo: "6",
};

function typeOf(flag: string): TarEntry["type"] {
  if (flag === "0" || flag === "7" || flag === "\0") return "file";
  const t = Object.entries(TYPEFLAG).find(([, f]) => f === flag)?.[0];
  return (t as TarEntry["type"] | undefined) ?? "other";
}

/** How a kind of entry is named in warnings. */
const KIND: Record<string, string> = {
  fifo: "a FIFO",
  chardev: "a character device",
  blockdev: "a block device",
  other: "an entry of a type tar copies but kodama does not",
};

/** `s` into `buf[off, off+len)`, cut at `len` bytes (even inside a character: a PAX record has it whole). */
function writeStr(buf: Uint8Array, off: number, len: number, s: string) {
  if (enc.encodeInto(s, buf.subarray(off, off + len)).read < s.length) {
    buf.set(enc.encode(s).subarray(0, len), off);
  }
}

/** `n` as `width - 1` octal digits and a NUL, written in place (ASCII: no encoder, no string). */
function writeOctal(buf: Uint8Array, off: number, width: number, n: number) {
  let i = off + width - 1;
  buf[i] = 0;
  n = Math.max(0, n);
  while (i > off) {
    buf[--i] = 0x30 + (n % 8);
    n = Math.floor(n / 8);
  }
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = body.length + 1;
  while (String(len).length + enc.encode(body).length !== len) {
    len = String(len).length + enc.encode(body).length;
  }
  return `${len}${body}`;
}

function rawHeader(
  name: string,
  size: number,
  mode: number,
  mtime: number,
  typeflag: string,
  linkname = "",
): Uint8Array {
  const h = new Uint8Array(BLOCK);
  writeStr(h, 0, 100, name);
  writeOctal(h, 100, 8, mode & 0o7777);
  writeOctal(h, 108, 8, 0);
  writeOctal(h, 116, 8, 0);
  writeOctal(h, 124, 12, size);
  writeOctal(h, 136, 12, Math.floor(mtime));
  h.fill(0x20, 148, 156); // the checksum field counts as spaces
  h[156] = typeflag.charCodeAt(0);
  if (linkname) writeStr(h, 157, 100, linkname);
  h.set(USTAR, 257);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += h[i];
  writeOctal(h, 148, 7, sum); // six digits and a NUL, then the space already there
  return h;
}

function padding(size: number): Uint8Array {
  const r = size % BLOCK;
  return new Uint8Array(r === 0 ? 0 : BLOCK - r);
}

/** Header block(s) for an entry; long names/links get a PAX extended header first. */
export function header(e: TarEntry): Uint8Array[] {
  const typeflag = TYPEFLAG[e.type] ?? "0";
  const name = e.type === "directory" && !e.name.endsWith("/") ? e.name + "/" : e.name;
  const out: Uint8Array[] = [];
  const long = enc.encode(name).length > 99 || enc.encode(e.linkname ?? "").length > 99 ||
    e.size > 0o77777777777;
  if (long) {
    const pax = enc.encode(
      paxRecord("path", name) + (e.linkname ? paxRecord("linkpath", e.linkname) : "") +
        (e.size > 0o77777777777 ? paxRecord("size", String(e.size)) : ""),
    );
    out.push(rawHeader("PaxHeader", pax.length, 0o644, e.mtime, "x"), pax, padding(pax.length));
  }
  out.push(
    rawHeader(
      name.slice(0, 99),
      e.size > 0o77777777777 ? 0 : e.size,
      e.mode,
      e.mtime,
      typeflag,
      (e.linkname ?? "").slice(0, 99),
    ),
  );
  return out;
}

export const END_OF_ARCHIVE = new Uint8Array(BLOCK * 2);

export interface PackOptions {
  /** bytes of file content read so far (progress) */
  onBytes?: (n: number) => void;
  /** an entry that is not copied (a socket, a FIFO, a device): said here, never dropped silently */
  warn?: (message: string) => void;
  /** whose mode policy applies (default this machine's: Windows sends 0o644/0o755, never its 0o666) */
  platform?: Platform;
}

/**
 * Stream a local file or directory as tar, its top entry renamed to `asName`
 * (kubectl cp semantics: `cp ./dir pod:/tmp/x` makes /tmp/x with dir's contents). A file with several
 * names inside the tree is stored once; its other names become hard-link entries.
 */
export async function* packPath(
  src: string,
  asName: string,
  o: PackOptions | ((n: number) => void) = {},
): AsyncGenerator<Uint8Array> {
  const { onBytes, warn, platform = hostPlatform() } = typeof o === "function"
    ? { onBytes: o, warn: undefined, platform: undefined }
    : o;
  const modeOf = (st: { mode: number; isDirectory(): boolean }) =>
    podMode({ local: st.mode, isDir: st.isDirectory() }, platform);
  /** `dev:ino` of files with several links -> the archive name they were first stored under */
  const firstName = new Map<string, string>();
  const walk = async function* (abs: string, name: string): AsyncGenerator<Uint8Array> {
    const st = await lstat(abs);
    const mtime = st.mtimeMs / 1000;
    if (st.isFile() && st.nlink > 1) {
      const id = `${st.dev}:${st.ino}`;
      const first = firstName.get(id);
      if (first !== undefined) {
        yield* header({ name, type: "hardlink", size: 0, mode: modeOf(st), mtime, linkname: first });
        return;
      }
      firstName.set(id, name);
    }
    if (st.isSymbolicLink()) {
      yield* header({ name, type: "symlink", size: 0, mode: st.mode, mtime, linkname: await readlink(abs) });
    } else if (st.isDirectory()) {
      yield* header({ name, type: "directory", size: 0, mode: modeOf(st), mtime });
      for (const child of (await readdir(abs)).sort()) yield* walk(join(abs, child), `${name}/${child}`);
    } else if (st.isFile()) {
      // the walk never follows a link: a directory on the way swapped for one meanwhile is not read through
      if (await realpath(abs).catch(() => "") !== abs) {
        warn?.(`skipping ${abs}: its path changed to go through a symlink while it was being copied`);
        return;
      }
      yield* header({ name, type: "file", size: st.size, mode: modeOf(st), mtime });
      const fh = await open(abs, "r");
      try {
        let left = st.size;
        while (left > 0) {
          const buf = new Uint8Array(Math.min(256 * 1024, left));
          const { bytesRead } = await fh.read(buf, 0, buf.length, null);
          if (bytesRead === 0) throw new Error(`${abs} shrank while being copied`);
          left -= bytesRead;
          onBytes?.(bytesRead);
          yield buf.subarray(0, bytesRead);
        }
      } finally {
        await fh.close();
      }
      yield padding(st.size);
    } else {
      const kind = st.isFIFO()
        ? "a FIFO"
        : st.isSocket()
        ? "a socket"
        : st.isCharacterDevice()
        ? "a character device"
        : st.isBlockDevice()
        ? "a block device"
        : "of an unknown type";
      warn?.(`skipping ${abs}: it is ${kind}, which is not copied`);
    }
  };
  // from the real directory of the top entry, so that every file's own realpath is its walked path
  const top = resolve(src);
  yield* walk(join(await realpath(dirname(top)), basename(top)), asName);
  yield END_OF_ARCHIVE;
}

function parseOctal(b: Uint8Array, off: number, len: number): number {
  const s = dec.decode(b.subarray(off, off + len)).replace(/\0.*$/, "").trim();
  return s ? parseInt(s, 8) : 0;
}

function cstr(b: Uint8Array, off: number, len: number): string {
  const sub = b.subarray(off, off + len);
  const z = sub.indexOf(0);
  return dec.decode(z >= 0 ? sub.subarray(0, z) : sub);
}

function parsePax(data: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  const text = dec.decode(data);
  let i = 0;
  while (i < text.length) {
    const sp = text.indexOf(" ", i);
    if (sp < 0) break;
    const len = Number(text.slice(i, sp));
    if (!len) break;
    const rec = text.slice(sp + 1, i + len - 1);
    const eq = rec.indexOf("=");
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    i += len;
  }
  return out;
}

/**
 * Push parser: feed chunks, get entries. `onEntry` returns a data sink for files (awaited per
 * chunk, so writes apply backpressure) or undefined to skip the data.
 */
export class TarParser {
  #buf: Uint8Array[] = [];
  #len = 0;
  #state: "header" | "data" | "pad" | "meta" | "end" = "header";
  #left = 0;
  #pad = 0;
  #entry?: TarEntry;
  #sink?: { write(b: Uint8Array): Promise<void>; close(): Promise<void> };
  #meta: Uint8Array[] = [];
  #metaKind = "";
  #pax: Record<string, string> = {};
  #longName?: string;
  #longLink?: string;

  constructor(
    private readonly onEntry: (
      e: TarEntry,
    ) => Promise<{ write(b: Uint8Array): Promise<void>; close(): Promise<void> } | undefined>,
  ) {}

  get done(): boolean {
    return this.#state === "end";
  }

  #take(n: number): Uint8Array | undefined {
    if (this.#len < n) return undefined;
    const out = new Uint8Array(n);
    let off = 0;
    while (off < n) {
      const head = this.#buf[0];
      const k = Math.min(head.length, n - off);
      out.set(head.subarray(0, k), off);
      off += k;
      if (k === head.length) this.#buf.shift();
      else this.#buf[0] = head.subarray(k);
    }
    this.#len -= n;
    return out;
  }

  #queue: Promise<void> = Promise.resolve();

  /** Resolves once every chunk fed so far has been processed. */
  idle(): Promise<void> {
    return this.#queue;
  }

  /** Feed a chunk; calls are serialized, so callers may fire several without awaiting. */
  push(chunk: Uint8Array): Promise<void> {
    const run = this.#queue.then(() => this.#push(chunk));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #push(chunk: Uint8Array): Promise<void> {
    this.#buf.push(chunk);
    this.#len += chunk.length;
    while (this.#state !== "end") {
      if (this.#state === "header") {
        const h = this.#take(BLOCK);
        if (!h) return;
        if (h.every((b) => b === 0)) {
          this.#state = "end";
          return;
        }
        const typeflag = String.fromCharCode(h[156] || 48);
        const size = parseOctal(h, 124, 12);
        if (!checksumOk(h)) throw new Error("not a tar stream (bad header checksum)");
        if (typeflag === "x" || typeflag === "g" || typeflag === "L" || typeflag === "K") {
          if (size > 1 << 20) throw new Error(`tar extended header too large (${size} bytes)`);
          this.#metaKind = typeflag;
          this.#meta = [];
          this.#left = size;
          this.#pad = padding(size).length;
          this.#state = "meta";
          continue;
        }
        const prefix = cstr(h, 345, 155);
        let name = this.#pax.path ?? this.#longName ??
          (prefix ? `${prefix}/${cstr(h, 0, 100)}` : cstr(h, 0, 100));
        const linkname = this.#pax.linkpath ?? this.#longLink ?? cstr(h, 157, 100);
        const realSize = this.#pax.size ? Number(this.#pax.size) : size;
        this.#pax = {};
        this.#longName = this.#longLink = undefined;
        const type = typeOf(typeflag);
        if (type === "directory") name = name.replace(/\/+$/, "");
        this.#entry = {
          name,
          type,
          size: realSize,
          mode: parseOctal(h, 100, 8),
          mtime: parseOctal(h, 136, 12),
          linkname,
        };
        this.#sink = await this.onEntry(this.#entry);
        // only files (and unknown types, whose data must be skipped) carry data; a hard link carries none
        this.#left = type === "file" || type === "other" ? realSize : 0;
        this.#pad = padding(this.#left).length;
        this.#state = "data";
      }
      if (this.#state === "meta") {
        while (this.#left > 0 && this.#len > 0) {
          const part = this.#take(Math.min(this.#left, this.#len))!;
          this.#meta.push(part);
          this.#left -= part.length;
        }
        if (this.#left > 0) return;
        const data = concatBytes(this.#meta);
        if (this.#metaKind === "x") this.#pax = parsePax(data);
        else if (this.#metaKind === "L") this.#longName = cstr(data, 0, data.length);
        else if (this.#metaKind === "K") this.#longLink = cstr(data, 0, data.length);
        this.#state = "pad";
        continue;
      }
      if (this.#state === "data") {
        while (this.#left > 0 && this.#len > 0) {
          const part = this.#take(Math.min(this.#left, this.#len, 1 << 20))!;
          this.#left -= part.length;
          if (this.#sink) await this.#sink.write(part);
        }
        if (this.#left > 0) return;
        if (this.#sink) await this.#sink.close();
        this.#sink = undefined;
        this.#state = "pad";
      }
      if (this.#state === "pad") {
        if (this.#pad > 0) {
          if (!this.#take(this.#pad)) return;
        }
        this.#pad = 0;
        this.#state = "header";
      }
    }
  }
}

function checksumOk(h: Uint8Array): boolean {
  const want = parseOctal(h, 148, 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i];
  return sum === want;
}

/**
 * Where an archive entry lands locally: `srcBase/...` is renamed to `dest/...`. Entries that
 * would escape `dest` (absolute paths, `..`) return undefined and are skipped.
 */
export function localPathFor(
  entryName: string,
  srcBase: string,
  dest: string,
  p: Platform = hostPlatform(),
): string | undefined {
  return entryProblem(entryName, srcBase, p) ? undefined : landing(entryName, dest, p);
}

function landing(entryName: string, dest: string, p: Platform): string | undefined {
  const parts = entryName.split("/").filter((x) => x !== "" && x !== ".");
  const out = p.path.resolve(dest, ...parts.slice(1));
  const root = p.path.resolve(dest);
  if (out !== root && !out.startsWith(root.endsWith(p.path.sep) ? root : root + p.path.sep)) return undefined;
  return out;
}

/**
 * Why an archive entry must not be written under the destination, or undefined: outside the copied
 * tree, or (src/platform.ts) a name this OS cannot hold as written — on Windows `a\b`, `..\x`, `C:x`,
 * `CON`, a trailing dot.
 */
export function entryProblem(
  entryName: string,
  srcBase: string,
  p: Platform = hostPlatform(),
): string | undefined {
  const parts = entryName.split("/").filter((x) => x !== "" && x !== ".");
  if (parts.length === 0 || parts.includes("..") || entryName.startsWith("/")) {
    return "outside the destination";
  }
  if (parts[0] !== srcBase) return "outside the destination";
  if (parts.length > 1) {
    const why = pulledNameProblem(parts.slice(1).join("/"), p);
    if (why) return why;
  }
  return undefined;
}

export interface ExtractOptions {
  /** whose naming rules apply (default this machine's) */
  platform?: Platform;
  /**
   * How the destination's file system folds names (src/platform.ts probeFolding): a second entry
   * that folds onto an earlier one (`Foo` then `foo`, NFC then NFD) would overwrite it, so it is skipped
   * with a warning instead.
   */
  folding?: Folding;
  /** why a local path must not be written (a workflow never writes `.git`), or undefined */
  refuse?: (target: string) => string | undefined;
  /** told each entry refused by the link rule (src/safewrite.ts), after its warning */
  onRefused?: (name: string) => void;
}

/**
 * Write the entries of a tar stream under `dest` (the archive's top entry is `srcBase`), the one safe
 * way (src/safewrite.ts): never through a symlink (an archive can chain `x/y -> ..` and `x/y/z -> ..`,
 * the class of bug behind kubectl cp's CVEs, or plant a link and then a file through it), each file
 * under a temporary name renamed into place, and a symlink only when, resolved against the disk as it is
 * when it is made, it stays inside the destination and out of .git. A refused entry is a warning.
 */
export function extractTo(
  dest: string,
  srcBase: string,
  warn: (m: string) => void,
  o: ExtractOptions = {},
): TarParser {
  const p = o.platform ?? hostPlatform();
  const written = new Map<string, string>();
  // a directory's entries stay inside it; a single file or link stays in the directory it lands in
  let root: string | undefined;
  return new TarParser(async (e) => {
    const target = localPathFor(e.name, srcBase, dest, p);
    if (!target) {
      warn(`skipping ${e.name}: ${entryProblem(e.name, srcBase, p) ?? "outside the destination"}`);
      return undefined;
    }
    root ??= target === resolve(dest) && e.type !== "directory" ? dirname(target) : resolve(dest);
    if (o.folding && e.type !== "directory") {
      const key = foldName(e.name.replace(/\/+$/, ""), o.folding);
      const earlier = written.get(key);
      if (earlier !== undefined && earlier !== e.name) {
        warn(`skipping ${e.name}: this file system stores it as the same file as ${earlier}`);
        return undefined;
      }
      written.set(key, e.name);
    }
    const refused = o.refuse?.(target);
    if (refused) {
      warn(`skipping ${e.name}: ${refused}`);
      return undefined;
    }
    const shown = relative(dirname(resolve(dest)), target) || e.name;
    try {
      if (e.type === "directory") {
        await mkdirUnder(root, target);
        return undefined;
      }
      if (e.type !== "file" && e.type !== "symlink" && e.type !== "hardlink") {
        warn(`skipping ${e.name}: it is ${KIND[e.type] ?? KIND.other}, which is not copied`);
        return undefined;
      }
      await mkdirUnder(root, dirname(target));
      if (e.type === "symlink") {
        await symlinkUnder(root, target, e.linkname ?? "");
        return undefined;
      }
      if (e.type === "hardlink") {
        // another name of a file extracted earlier: link it, if that file is inside the destination
        const to = localPathFor(e.linkname ?? "", srcBase, dest, p);
        if (!to) throw new Refused("its target is outside the destination");
        await hardLinkUnder(root, to, target);
        return undefined;
      }
      return await openUnder(root, target, { mode: e.mode & 0o777 || 0o644 });
    } catch (err) {
      if (!(err instanceof Refused)) throw err;
      const what = e.type === "symlink"
        ? `symlink ${shown} -> ${e.linkname}`
        : e.type === "hardlink"
        ? `hard link ${shown} -> ${e.linkname}`
        : shown;
      warn(`skipping ${what}: ${err.message}`);
      o.onRefused?.(e.name);
      return undefined;
    }
  });
}
