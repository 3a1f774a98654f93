/**
 * One sync round trip: a batch of deletes and of new or changed paths applied in the pod by ONE exec.
 *
 * stdin of `sh -c APPLY_SCRIPT sh WORKDIR` (pod/apply.sh) is
 *
 *     <archive length>\n
 *     <deleted path>\n ... \n      one line each (`\` and newline escaped as `\\` and `\n`)
 *     \n                           an empty line ends the list
 *     <tar archive>                the new and changed paths, padded to whole 10 KiB records
 *
 * The script removes the listed paths (in groups, `rm -rf`), then `tar -x`s the archive in the workdir.
 * Only POSIX sh, rm, mkdir, printf, head and tar are used, with flags busybox's applets take. The shell's
 * `read` consumes stdin one byte at a time on a pipe, so what follows starts exactly at the archive;
 * `head -c LENGTH` hands tar the archive and then an EOF, so the batch ends without waiting for stdin's
 * EOF (busybox tar reads its input to the end, and clusters before v1.30 cannot pass an EOF on a
 * WebSocket exec) — for a stream that carries several batches (the sync channel). A one-shot push, whose
 * stdin is half-closed after its one batch (v5 or SPDY), runs `tar -xof -` on stdin itself
 * (`sh -c APPLY_SCRIPT sh WORKDIR eof`): one process and one pipe copy fewer in the pod.
 *
 * The archive is built in-process from the local tree: permissions (with `umask 0`: GNU tar would mask
 * them), modification times, symlinks as links (never followed, wherever they point), hard links within
 * the batch as links, empty directories, and any file name (PAX records for long or non-ASCII ones).
 */
import { END_OF_ARCHIVE, headerSize, type TarEntry, writeHeader } from "../../pods/tarformat.ts";
import { type Entry, inRoot, type Tree } from "./scan.ts";
import { md5 as newMd5 } from "./ancestor.ts";
import APPLY from "./pod/apply.sh" with { type: "text" };

/** pod/apply.sh: `sh -c APPLY_SCRIPT sh WORKDIR [eof]` */
export const APPLY_SCRIPT: string = APPLY;

const enc = new TextEncoder();
/** tar's padding to a whole block (copied into the chunk, never handed out itself) */
const ZEROS = new Uint8Array(512);
const EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e";
/** files up to this size are read in one synchronous call */
const SMALL_FILE = 256 * 1024;
/** smaller files are compressed without a look (a chunk of them that does not shrink turns that off) */
const PROBE_MIN = 32 * 1024;

/** A delete list line: `\` -> `\\`, newline -> `\n` (the script decodes with printf %b). */
export function encodeDeletes(paths: string[]): Uint8Array {
  const lines = paths.map((p) => p.replaceAll("\\", "\\\\").replaceAll("\n", "\\n"));
  return enc.encode(lines.map((l) => l + "\n").join("") + "\n");
}

export interface Batch {
  /** paths to remove in the pod (before anything is extracted) */
  deletes: string[];
  /** paths to send, parents before children, with what was seen when the batch was made */
  sends: [string, Entry][];
}

export interface PackStats {
  files: number;
  bytes: number;
  /** bytes on the wire, when the stream was compressed */
  wire?: number;
}

/**
 * Gather pieces into chunks of `size` bytes (one stdin write each). A chunk is a buffer that pieces are
 * copied into (no array of parts, no concatenation), and a file is read straight into the chunk's free
 * space (`space`/`commit`): a byte is copied once on its way from the disk to the socket. A chunk handed
 * out is never written again (the socket may still hold it) — unless `reuse`: then a chunk's buffer is
 * `release`d once the stream is pulled again (its reader copied it by then: the stream is pulled one chunk
 * at a time, `streamOf(…, 0)`, and the exec's transport copies a reused chunk it keeps), so a push of any
 * size makes two buffers, not one per chunk (their allocation and garbage cost more CPU than the bytes).
 */
class Chunker {
  #buf: Uint8Array | undefined;
  #len = 0;
  /** reuse: buffers whose chunk was read, and the buffers this chunker made */
  #spare: Uint8Array[] = [];
  #owned = new WeakSet<ArrayBufferLike>();
  constructor(private size = 512 * 1024, private reuse = false) {}
  /** A chunk handed out was read (the stream was pulled again): with `reuse`, its buffer takes new bytes. */
  release(chunk: Uint8Array): void {
    if (this.reuse && this.#owned.has(chunk.buffer)) this.#spare.push(new Uint8Array(chunk.buffer));
  }
  #alloc(): Uint8Array {
    const b = new Uint8Array(this.size);
    if (this.reuse) this.#owned.add(b.buffer);
    return b;
  }
  add(b: Uint8Array, _incompressible = false): Uint8Array[] {
    if (b.length === 0) return [];
    // a piece as big as a chunk, with nothing gathered: it goes as it is
    if (this.#len === 0 && b.length >= this.size && !this.reuse) return this.out(b);
    const out: Uint8Array[] = [];
    let off = 0;
    while (off < b.length) {
      const free = this.space(b.length - off);
      free.set(b.subarray(off, off + free.length));
      off += free.length;
      out.push(...this.commit(free.length));
    }
    return out;
  }
  /** The chunk's free space, at most `max` bytes, to read into; then `commit` what was written. */
  space(max: number): Uint8Array {
    this.#buf ??= this.#spare.pop() ?? this.#alloc();
    return this.#buf.subarray(this.#len, this.#len + Math.min(max, this.size - this.#len));
  }
  commit(n: number): Uint8Array[] {
    this.#len += n;
    return this.#len >= this.size ? this.flush() : [];
  }
  protected take(): Uint8Array | undefined {
    if (this.#len === 0 || !this.#buf) return undefined;
    const out = this.#len === this.#buf.length ? this.#buf : this.#buf.subarray(0, this.#len);
    this.#buf = undefined;
    this.#len = 0;
    return out;
  }
  get pending(): number {
    return this.#len;
  }
  flush(): Uint8Array[] {
    const b = this.take();
    return b ? this.out(b) : [];
  }
  /** What a finished chunk goes out as (the gzip encoder compresses it). */
  protected out(b: Uint8Array): Uint8Array[] {
    return [b];
  }
}

/** What the gzip encoder needs of node:zlib (loaded lazily by the caller: it is off the hot path). */
export interface Zlib {
  gzipSync(b: Uint8Array, o: { level: number }): Uint8Array;
  deflateRawSync(b: Uint8Array, o: { level: number }): Uint8Array;
}

/**
 * Deno's zlib at level 1 leaves the bench's text at 54% of its size, at level 2 at 37% for a third more
 * time (~26 ms per MiB on this loaded machine); higher levels gain under 2% more.
 */
const LEVEL = 2;

/** A file's content is sent stored when a deflate of its first 16 KiB saves less than this share. */
const INCOMPRESSIBLE = 0.9;

/** Whether `b` (a file's first bytes) is worth compressing: random, already compressed data is not. */
export function compressible(z: Zlib, b: Uint8Array): boolean {
  const probe = b.subarray(0, 16 * 1024);
  return probe.length < 64 || z.deflateRawSync(probe, { level: 1 }).length < probe.length * INCOMPRESSIBLE;
}

/**
 * The stream as gzip members, one per chunk of about 1 MiB (`gzip -dc` reads concatenated members as one
 * stream): compressible chunks at a fast level (LEVEL), a chunk of an incompressible file's content as a stored member (level 0: a copy and a
 * CRC, nothing spent on data that does not shrink). Headers and small files are compressed; when a chunk of
 * them does not shrink by a tenth (a tree of small images), the next eight go stored before trying again.
 */
export class GzipChunker extends Chunker {
  #stored = false;
  #skip = 0;
  /** bytes in and out, for the summary */
  rawBytes = 0;
  wireBytes = 0;
  constructor(private z: Zlib, size = 1 << 20) {
    super(size);
  }
  override add(b: Uint8Array, incompressible = false): Uint8Array[] {
    if (b.length === 0) return [];
    const stored = incompressible || this.#skip > 0;
    const out = this.pending && stored !== this.#stored ? this.flush() : [];
    this.#stored = stored;
    return [...out, ...super.add(b)];
  }
  protected override out(b: Uint8Array): Uint8Array[] {
    this.rawBytes += b.length;
    let m: Uint8Array;
    if (this.#stored) {
      if (this.#skip > 0) this.#skip--;
      m = this.z.gzipSync(b, { level: 0 });
    } else {
      m = this.z.gzipSync(b, { level: LEVEL });
      if (m.length > b.length * INCOMPRESSIBLE) this.#skip = 8;
    }
    this.wireBytes += m.length;
    return [m];
  }
}

interface Planned {
  rel: string;
  entry: TarEntry;
  /** its header's bytes (headerSize) */
  headerLen: number;
  /** content bytes to read (files only) */
  size: number;
  /** a file or a hard link (counted as a file sent) */
  file: boolean;
  /** a hard link: the name it is another name of (its content's hash is that one's) */
  linkTo?: string;
}

/** The archive's entries with their headers, and its exact length (for `head -c`). */
function planArchive(batch: Batch): { items: Planned[]; length: number } {
  const items: Planned[] = [];
  const firstName = new Map<string, string>(); // dev:ino -> first name in this archive
  let length = 0;
  for (const [rel, e] of batch.sends) {
    const mtime = e.mtime / 1000;
    let t: TarEntry;
    if (e.kind === "dir") t = { name: rel, type: "directory", size: 0, mode: e.mode, mtime };
    else if (e.kind === "symlink") {
      t = { name: rel, type: "symlink", size: 0, mode: e.mode, mtime, linkname: e.link };
    } else {
      const key = `${e.dev}:${e.ino}`;
      const first = e.nlink > 1 ? firstName.get(key) : undefined;
      if (first !== undefined) {
        t = { name: rel, type: "hardlink", size: 0, mode: e.mode, mtime, linkname: first };
      } else {
        if (e.nlink > 1) firstName.set(key, rel);
        t = { name: rel, type: "file", size: e.size, mode: e.mode, mtime };
      }
    }
    const headerLen = headerSize(t);
    const size = t.type === "file" ? t.size : 0;
    length += headerLen + size + (size % 512 ? 512 - (size % 512) : 0);
    items.push({
      rel,
      entry: t,
      headerLen,
      size,
      file: t.type === "file" || t.type === "hardlink",
      linkTo: t.type === "hardlink" ? t.linkname : undefined,
    });
  }
  // no padding to a whole 10 KiB record: `head -c` gives tar its EOF, and a save stays ~2 KiB on the wire
  length += END_OF_ARCHIVE.length;
  return { items, length };
}

/**
 * The batch's stdin: the archive's length, the delete list, then the archive. A file that shrank
 * while being read is padded with zeros to the size in its header, one that grew is cut there (the
 * watcher sees the write and the next batch sends it again), so the length announced stays exact.
 * `stats` counts files and content bytes as they are read; `onBytes` reports progress.
 */
export async function* batchStream(
  root: string,
  batch: Batch,
  stats: PackStats,
  onBytes?: (n: number, file?: boolean) => void,
  z?: Zlib,
  hashes?: Map<string, string>,
  /** uncompressed: each chunk is valid only until the next is asked for (Chunker `reuse`; ExecStreams.stdinReused) */
  reuse = false,
): AsyncGenerator<Uint8Array> {
  const ch = z ? new GzipChunker(z) : new Chunker(undefined, reuse);
  for await (const c of new Packer(ch, root, stats, onBytes, z, hashes).pack(batch)) {
    yield c;
    ch.release(c); // asked for the next one: this one was read
  }
}

/** What a batch's stream has written so far, and the md5 of the file being sent. */
class Packer {
  total = 0;
  /** the md5 of each file's content as sent (what the pod now holds), for the ancestor: no second read */
  md5: Awaited<ReturnType<typeof newMd5>> | undefined;

  constructor(
    readonly ch: Chunker,
    readonly root: string,
    readonly stats: PackStats,
    readonly onBytes?: (n: number, file?: boolean) => void,
    readonly z?: Zlib,
    readonly hashes?: Map<string, string>,
  ) {}

  /** The batch's whole stream: the archive's length, the delete list, the archive, padded to that length. */
  async *pack(batch: Batch): AsyncGenerator<Uint8Array> {
    const { items, length } = planArchive(batch);
    yield* this.emit(enc.encode(`${length}\n`));
    yield* this.emit(encodeDeletes(batch.deletes));
    const archiveStart = this.total;
    for (const it of items) {
      yield* this.header(it);
      if (it.size === 0) this.empty(it);
      else yield* this.file(it);
    }
    yield* this.emit(END_OF_ARCHIVE);
    const used = this.total - archiveStart;
    if (used < length) yield* this.emit(new Uint8Array(length - used));
    yield* this.ch.flush();
    if (this.ch instanceof GzipChunker) this.stats.wire = this.ch.wireBytes;
  }

  *emit(b: Uint8Array, incompressible = false): Generator<Uint8Array> {
    this.total += b.length;
    yield* this.ch.add(b, incompressible);
  }

  /** a file's content bytes (hashed) */
  *content(b: Uint8Array, incompressible = false): Generator<Uint8Array> {
    this.md5?.update(b);
    yield* this.emit(b, incompressible);
  }

  /** bytes read from a file: counted, reported */
  read(n: number): void {
    this.stats.bytes += n;
    this.onBytes?.(n);
  }

  /**
   * Uncompressed: the header straight into the chunk (no buffer per entry); else, or across a chunk's
   * end, through a copy (the gzip chunker decides stored or deflated per piece added).
   */
  *header(it: Planned): Generator<Uint8Array> {
    const room = this.z ? undefined : this.ch.space(it.headerLen);
    if (room?.length === it.headerLen) {
      writeHeader(room, 0, it.entry);
      this.total += it.headerLen;
      yield* this.ch.commit(it.headerLen);
    } else {
      const h = new Uint8Array(it.headerLen);
      writeHeader(h, 0, it.entry);
      yield* this.emit(h);
    }
  }

  /** An empty file or a hard link: no content; a link's hash is its first name's. */
  empty(it: Planned): void {
    if (!it.file) return;
    this.stats.files++;
    this.onBytes?.(0, true);
    if (!this.hashes) return;
    if (it.linkTo === undefined) this.hashes.set(it.rel, EMPTY_MD5);
    else {
      const h = this.hashes.get(it.linkTo);
      if (h) this.hashes.set(it.rel, h);
    }
  }

  /** A file's content: `it.size` bytes whatever the file holds now (zeros for what is gone). */
  async *file(it: Planned): AsyncGenerator<Uint8Array> {
    if (this.hashes) this.md5 = await newMd5();
    if (!this.z) yield* this.rawFile(it);
    else if (it.size <= SMALL_FILE) yield* this.smallFile(it);
    else yield* this.bigFile(it);
    if (this.md5) this.hashes!.set(it.rel, this.md5.digest("hex"));
    this.md5 = undefined;
    if (it.size % 512) yield* this.emit(ZEROS.subarray(0, 512 - (it.size % 512)));
    this.stats.files++;
    this.onBytes?.(0, true);
  }

  /**
   * Uncompressed: synchronous reads straight into the outgoing chunk (no buffer per file, no copy; a big
   * file too: an async read costs a thread hop per piece, and the walk has nothing else to do).
   */
  *rawFile(it: Planned): Generator<Uint8Array> {
    let f: Deno.FsFile | undefined;
    try {
      f = Deno.openSync(inRoot(this.root, it.rel), { read: true });
    } catch {
      f = undefined; // gone since the scan: zeros now, the watcher's delete follows
    }
    let left = it.size;
    try {
      while (f && left > 0) {
        const view = this.ch.space(left);
        const n = f.readSync(view);
        if (!n) break;
        left -= n;
        this.read(n);
        this.md5?.update(view.subarray(0, n));
        this.total += n;
        yield* this.ch.commit(n);
      }
    } finally {
      f?.close();
    }
    if (left) yield* this.content(new Uint8Array(left));
  }

  /** Compressed, small: one synchronous read instead of open/read/close round trips (most files are small). */
  *smallFile(it: Planned): Generator<Uint8Array> {
    const z = this.z!;
    let data: Uint8Array | undefined;
    try {
      data = Deno.readFileSync(inRoot(this.root, it.rel));
    } catch {
      data = undefined; // gone since the scan: zeros now, the watcher's delete follows
    }
    const n = Math.min(data?.length ?? 0, it.size);
    if (n) {
      this.read(n);
      yield* this.content(data!.subarray(0, n), n >= PROBE_MIN && !compressible(z, data!));
    }
    if (n < it.size) yield* this.content(new Uint8Array(it.size - n));
  }

  /** Compressed, big: into a buffer of its own, compressed or not as its first chunk says. */
  async *bigFile(it: Planned): AsyncGenerator<Uint8Array> {
    let fh: Deno.FsFile | undefined;
    try {
      fh = await Deno.open(inRoot(this.root, it.rel), { read: true });
    } catch {
      fh = undefined; // gone since the scan: zeros now, the watcher's delete follows
    }
    let left = it.size;
    let raw: boolean | undefined; // decided on the file's first chunk
    try {
      while (left > 0) {
        const buf = new Uint8Array(Math.min(256 * 1024, left));
        const n = fh ? await fh.read(buf) : null;
        if (n === null || n === 0) {
          yield* this.content(new Uint8Array(left));
          break;
        }
        left -= n;
        this.read(n);
        const got = n === buf.length ? buf : buf.subarray(0, n);
        raw ??= !compressible(this.z!, got);
        yield* this.content(got, raw);
      }
    } finally {
      fh?.close();
    }
  }
}

/**
 * A ReadableStream over an async generator (pull-driven: the exec's backpressure reaches the disk).
 * `highWaterMark` 0: the generator is resumed only when a chunk is asked for (a reused chunk is read by then).
 */
export function streamOf(gen: AsyncGenerator<Uint8Array>, highWaterMark = 1): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(ctrl) {
      const { value, done } = await gen.next();
      if (done) ctrl.close();
      else ctrl.enqueue(value);
    },
    async cancel() {
      await gen.return(undefined);
    },
  }, { highWaterMark });
}

/** Build a batch: what to delete and what to send, given paths and the tree they come from. */
export function makeBatch(deletes: string[], changed: string[], now: Tree): Batch {
  const sends: [string, Entry][] = [];
  for (const p of changed) {
    const e = now.get(p);
    if (e) sends.push([p, e]);
  }
  return { deletes, sends };
}

/** Each file costs about this much besides its bytes (headers, an open, a create in the pod). */
const PER_FILE_BYTES = 16 * 1024;

/**
 * Split a batch's sends into at most `k` archives of about equal cost (bytes plus a per-file share), for
 * that many exec streams in parallel: every archive carries all the directories (parents first, so each
 * stream makes what it needs with the right modes; a directory made twice is harmless), the files and
 * links are dealt out biggest first to the lightest shard, and hard links of one inode stay together (tar
 * links only within one archive). Deletes are not split: the caller runs them first. Pure.
 */
export function shardBatch(batch: Batch, k: number): Batch[] {
  const dirs = batch.sends.filter(([, e]) => e.kind === "dir");
  type Group = { cost: number; items: [number, string, Entry][] };
  const groups: Group[] = [];
  const linked = new Map<string, Group>(); // dev:ino -> the group of an inode's names
  batch.sends.forEach(([rel, e], i) => {
    if (e.kind === "dir") return;
    const key = e.kind === "file" && e.nlink > 1 ? `${e.dev}:${e.ino}` : undefined;
    let g = key === undefined ? undefined : linked.get(key);
    if (!g) {
      g = { cost: 0, items: [] };
      groups.push(g);
      if (key !== undefined) linked.set(key, g);
    }
    g.cost += e.size + PER_FILE_BYTES;
    g.items.push([i, rel, e]);
  });
  const sorted = groups.sort((a, b) => b.cost - a.cost);
  const n = Math.max(1, Math.min(k, sorted.length));
  const shards = Array.from({ length: n }, () => ({ load: 0, items: [] as [number, string, Entry][] }));
  for (const g of sorted) {
    let best = shards[0];
    for (const s of shards) if (s.load < best.load) best = s;
    best.load += g.cost;
    for (const it of g.items) best.items.push(it);
  }
  return shards.map((s) => ({
    deletes: [],
    sends: [...dirs, ...s.items.sort((a, b) => a[0] - b[0]).map(([, rel, e]) => [rel, e] as [string, Entry])],
  }));
}
