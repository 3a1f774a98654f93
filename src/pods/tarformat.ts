/**
 * The tar format itself (ustar + PAX long names; GNU long names read): entry headers and a streaming
 * parser, with no file system access, so the sync push loads it without Deno's node:fs (`./tar.ts`
 * packs and extracts files with it).
 */
import { concatBytes } from "../base/text/bytes.ts";

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
export const KIND: Record<string, string> = {
  fifo: "a FIFO",
  chardev: "a character device",
  blockdev: "a block device",
  other: "an entry of a type tar copies but kodama does not",
};

/**
 * `s` into `buf[off, off+len)` (zeroed), cut at `len` bytes (even inside a character: a PAX record has it
 * whole). ASCII, the common case, byte by byte: no encoder call, no string made.
 */
function writeStr(buf: Uint8Array, off: number, len: number, s: string) {
  const n = Math.min(s.length, len);
  let i = 0;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) break;
    buf[off + i] = c;
  }
  if (i === s.length || i === len) return;
  const rest = buf.subarray(off + i, off + len);
  if (enc.encodeInto(s.slice(i), rest).read < s.length - i) {
    rest.set(enc.encode(s.slice(i)).subarray(0, rest.length));
  }
}

/** The UTF-8 length of `s` (a lone surrogate counts as the 3 bytes of U+FFFD, as TextEncoder writes it). */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n++;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
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
  const bytes = utf8Length(body);
  let len = bytes + 1;
  while (String(len).length + bytes !== len) len = String(len).length + bytes;
  return `${len}${body}`;
}

/** One ustar header block at `h[off, off+512)`, which is zeroed first (it may be a reused buffer). */
function rawHeader(
  h: Uint8Array,
  off: number,
  name: string,
  size: number,
  mode: number,
  mtime: number,
  typeflag: string,
  linkname = "",
): void {
  h.fill(0, off, off + BLOCK);
  writeStr(h, off, 100, name);
  writeOctal(h, off + 100, 8, mode & 0o7777);
  writeOctal(h, off + 108, 8, 0);
  writeOctal(h, off + 116, 8, 0);
  writeOctal(h, off + 124, 12, size);
  writeOctal(h, off + 136, 12, Math.floor(mtime));
  h.fill(0x20, off + 148, off + 156); // the checksum field counts as spaces
  h[off + 156] = typeflag.charCodeAt(0);
  if (linkname) writeStr(h, off + 157, 100, linkname);
  h.set(USTAR, off + 257);
  let sum = 0;
  for (let i = off; i < off + BLOCK; i++) sum += h[i];
  writeOctal(h, off + 148, 7, sum); // six digits and a NUL, then the space already there
}

export function padding(size: number): Uint8Array {
  const r = size % BLOCK;
  return new Uint8Array(r === 0 ? 0 : BLOCK - r);
}

/** The name an entry is archived under (a directory's ends in `/`). */
function archiveName(e: TarEntry): string {
  return e.type === "directory" && !e.name.endsWith("/") ? e.name + "/" : e.name;
}

/** Over 99 bytes in UTF-8 (up to 33 code units never are: 3 bytes each at most; over 99 always are). */
function overUstar(s: string): boolean {
  return s.length > 33 && (s.length > 99 || utf8Length(s) > 99);
}

/** The PAX extended header's records an entry needs (a long name or link, a huge size), or "". */
function paxOf(e: TarEntry): string {
  const name = archiveName(e);
  const long = overUstar(name) || (e.linkname !== undefined && overUstar(e.linkname));
  const huge = e.size > 0o77777777777;
  if (!long && !huge) return "";
  return paxRecord("path", name) + (e.linkname ? paxRecord("linkpath", e.linkname) : "") +
    (huge ? paxRecord("size", String(e.size)) : "");
}

const roundUp = (n: number) => Math.ceil(n / BLOCK) * BLOCK;

/** How many bytes an entry's header takes: one block, or a PAX header, its records and then the block. */
export function headerSize(e: TarEntry): number {
  const pax = paxOf(e);
  return pax ? BLOCK + roundUp(utf8Length(pax)) + BLOCK : BLOCK;
}

/**
 * An entry's header written into `out` at `off`, which has room for `headerSize(e)` bytes (all written,
 * padding zeroed): a sync push writes it straight into the chunk it sends. Returns the bytes written.
 */
export function writeHeader(out: Uint8Array, off: number, e: TarEntry): number {
  const typeflag = TYPEFLAG[e.type] ?? "0";
  const name = archiveName(e);
  const paxText = paxOf(e);
  let at = off;
  if (paxText) {
    const pax = enc.encode(paxText);
    rawHeader(out, at, "PaxHeader", pax.length, 0o644, e.mtime, "x");
    at += BLOCK;
    out.set(pax, at);
    out.fill(0, at + pax.length, at + roundUp(pax.length));
    at += roundUp(pax.length);
  }
  const size = e.size > 0o77777777777 ? 0 : e.size;
  rawHeader(out, at, name.slice(0, 99), size, e.mode, e.mtime, typeflag, (e.linkname ?? "").slice(0, 99));
  return at + BLOCK - off;
}

/** Header block(s) for an entry; long names/links get a PAX extended header first. */
export function header(e: TarEntry): Uint8Array[] {
  const out = new Uint8Array(headerSize(e));
  writeHeader(out, 0, e);
  return [out];
}

export const END_OF_ARCHIVE = new Uint8Array(BLOCK * 2);

function parseOctal(b: Uint8Array, off: number, len: number): number {
  const s = dec.decode(b.subarray(off, off + len)).replace(/\0.*$/, "").trim();
  return s ? parseInt(s, 8) : 0;
}

function cstr(b: Uint8Array, off: number, len: number): string {
  const sub = b.subarray(off, off + len);
  const z = sub.indexOf(0);
  return dec.decode(z >= 0 ? sub.subarray(0, z) : sub);
}

/** PAX records (`LEN key=value\n`, LEN counting bytes, the value UTF-8): parsed on the bytes. */
function parsePax(data: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < data.length) {
    const sp = data.indexOf(0x20, i);
    if (sp < 0) break;
    const len = Number(dec.decode(data.subarray(i, sp)));
    if (!len || i + len > data.length) break;
    const rec = dec.decode(data.subarray(sp + 1, i + len - 1)); // without the record's newline
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
