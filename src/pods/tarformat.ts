/**
 * The tar format itself (ustar + PAX long names; GNU long names read): entry headers and a streaming
 * parser, with no file system access, so the sync push loads it without Deno's node:fs (`./tar.ts`
 * packs and extracts files with it).
 */
import { concatBytes } from "../bytes.ts";

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

export function padding(size: number): Uint8Array {
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
