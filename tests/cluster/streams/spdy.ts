/**
 * A minimal SPDY/3.1 server side, enough for kubectl's port-forward (which since 1.31 tunnels
 * SPDY inside a WebSocket, subprotocol `SPDY/3.1+portforward.k8s.io`, and falls back to a plain
 * `Upgrade: SPDY/3.1` connection). Frames: SYN_STREAM/SYN_REPLY/RST_STREAM/SETTINGS/PING/GOAWAY/
 * HEADERS/WINDOW_UPDATE and DATA. No flow control (moby/spdystream, the peer, has none either).
 * Header blocks are zlib streams primed with the SPDY/3 dictionary; we decompress the peer's with
 * node:zlib and write ours as stored (uncompressed) deflate blocks, which any inflater accepts.
 */
import zlib from "node:zlib";
import { Buffer } from "node:buffer";

/** KODAMA_CLUSTER_DEBUG=1 logs protocol errors on stderr */
const DEBUG = (() => {
  try {
    return !!Deno.env.get("KODAMA_CLUSTER_DEBUG");
  } catch {
    return false;
  }
})();

export const SYN_STREAM = 1;
export const SYN_REPLY = 2;
export const RST_STREAM = 3;
export const SETTINGS = 4;
export const PING = 6;
export const GOAWAY = 7;
export const HEADERS = 8;
export const WINDOW_UPDATE = 9;
export const FLAG_FIN = 0x01;

function lp(s: string): Buffer {
  const b = Buffer.alloc(4 + s.length);
  b.writeUInt32BE(s.length, 0);
  b.write(s, 4, "latin1");
  return b;
}

/** The SPDY/3 header compression dictionary (draft-mbelshe-httpbis-spdy-00, 2.6.10.1). */
export const SPDY3_DICTIONARY: Buffer = Buffer.concat([
  ...[
    "options",
    "head",
    "post",
    "put",
    "delete",
    "trace",
    "accept",
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "accept-ranges",
    "age",
    "allow",
    "authorization",
    "cache-control",
    "connection",
    "content-base",
    "content-encoding",
    "content-language",
    "content-length",
    "content-location",
    "content-md5",
    "content-range",
    "content-type",
    "date",
    "etag",
    "expect",
    "expires",
    "from",
    "host",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "last-modified",
    "location",
    "max-forwards",
    "pragma",
    "proxy-authenticate",
    "proxy-authorization",
    "range",
    "referer",
    "retry-after",
    "server",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "user-agent",
    "vary",
    "via",
    "warning",
    "www-authenticate",
    "method",
    "get",
    "status",
    "200 OK",
    "version",
    "HTTP/1.1",
    "url",
    "public",
    "set-cookie",
    "keep-alive",
    "origin",
  ].map(lp),
  Buffer.from(
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505" +
      "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized" +
      "403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable" +
      "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT" +
      "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain," +
      "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.",
    "latin1",
  ),
]);

export type Frame =
  | { control: true; type: number; flags: number; data: Buffer }
  | { control: false; streamId: number; flags: number; data: Buffer };

/** Incremental frame splitter. */
export class FrameParser {
  private buf: Buffer = Buffer.alloc(0);
  push(chunk: Buffer): Frame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Frame[] = [];
    while (this.buf.length >= 8) {
      const len = this.buf.readUInt32BE(4) & 0xffffff;
      if (this.buf.length < 8 + len) break;
      const first = this.buf.readUInt32BE(0);
      const flags = this.buf[4];
      const data = Buffer.from(this.buf.subarray(8, 8 + len));
      if (first & 0x80000000) out.push({ control: true, type: first & 0xffff, flags, data });
      else out.push({ control: false, streamId: first & 0x7fffffff, flags, data });
      this.buf = this.buf.subarray(8 + len);
    }
    return out;
  }
}

export function controlFrame(type: number, flags: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(((0x8000 | 3) << 16 | type) >>> 0, 0);
  head.writeUInt32BE(((flags << 24) | payload.length) >>> 0, 4);
  return Buffer.concat([head, payload]);
}

export function dataFrame(streamId: number, flags: number, data: Buffer): Buffer {
  const out = Buffer.alloc(8 + data.length);
  out.writeUInt32BE(streamId & 0x7fffffff, 0);
  out.writeUInt32BE(((flags << 24) | data.length) >>> 0, 4);
  data.copy(out, 8);
  return out;
}

export function encodeHeaderBlock(headers: [string, string][]): Buffer {
  const parts: Buffer[] = [Buffer.alloc(4)];
  parts[0].writeUInt32BE(headers.length, 0);
  for (const [k, v] of headers) parts.push(lp(k.toLowerCase()), lp(v));
  return Buffer.concat(parts);
}

export function parseHeaderBlock(b: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let off = 4;
  const n = b.readUInt32BE(0);
  for (let i = 0; i < n; i++) {
    const kl = b.readUInt32BE(off);
    const k = b.subarray(off + 4, off + 4 + kl).toString("latin1");
    off += 4 + kl;
    const vl = b.readUInt32BE(off);
    const v = b.subarray(off + 4, off + 4 + vl).toString("latin1");
    off += 4 + vl;
    out.set(k.toLowerCase(), v.split("\0")[0]);
  }
  return out;
}

/** Our side of the header zlib stream: a zlib header once, then stored blocks + a sync-flush marker per header block. */
export class HeaderCompressor {
  private started = false;
  compress(block: Buffer): Buffer {
    const parts: Buffer[] = [];
    if (!this.started) {
      parts.push(Buffer.from([0x78, 0x01]));
      this.started = true;
    }
    for (let off = 0; off < block.length; off += 0xffff) {
      const chunk = block.subarray(off, off + 0xffff);
      const h = Buffer.alloc(5);
      h.writeUInt16LE(chunk.length, 1);
      h.writeUInt16LE(~chunk.length & 0xffff, 3);
      parts.push(h, chunk);
    }
    // an empty stored block, like zlib's Z_SYNC_FLUSH: Go's inflater hands out buffered output only here
    parts.push(Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff]));
    return Buffer.concat(parts);
  }
}

/** The peer's header zlib stream (one inflate context for the whole connection). */
export class HeaderDecompressor {
  private inflate = zlib.createInflate({ dictionary: SPDY3_DICTIONARY });
  private out: Buffer[] = [];
  private error?: Error;
  constructor() {
    this.inflate.on("data", (d: Buffer) => this.out.push(d));
    this.inflate.on("error", (e: Error) => (this.error = e));
  }
  decompress(block: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      if (this.error) return reject(this.error);
      this.inflate.write(block);
      this.inflate.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        if (this.error) return reject(this.error);
        const b = Buffer.concat(this.out);
        this.out = [];
        resolve(b);
      });
    });
  }
  close(): void {
    this.inflate.close();
  }
}

export class SpdyStream {
  onData: (b: Buffer) => void = () => {};
  onFin: () => void = () => {};
  onReset: () => void = () => {};
  remoteFin = false;
  localFin = false;
  constructor(readonly conn: SpdyConnection, readonly id: number, readonly headers: Map<string, string>) {}

  write(data: Buffer): void {
    if (this.localFin || this.conn.closed) return;
    for (let off = 0; off < data.length; off += 32768) {
      this.conn.send(dataFrame(this.id, 0, data.subarray(off, off + 32768)));
    }
  }
  end(): void {
    if (this.localFin || this.conn.closed) return;
    this.localFin = true;
    this.conn.send(dataFrame(this.id, FLAG_FIN, Buffer.alloc(0)));
    this.conn.maybeForget(this);
  }
  reset(status = 5 /* CANCEL */): void {
    if (this.conn.closed) return;
    const p = Buffer.alloc(8);
    p.writeUInt32BE(this.id, 0);
    p.writeUInt32BE(status, 4);
    this.conn.send(controlFrame(RST_STREAM, 0, p));
    this.localFin = this.remoteFin = true;
    this.conn.maybeForget(this);
  }
}

/** Server side of one SPDY connection over any byte transport. */
export class SpdyConnection {
  closed = false;
  private parser = new FrameParser();
  private inflater = new HeaderDecompressor();
  private deflater = new HeaderCompressor();
  private streams = new Map<number, SpdyStream>();
  private queue: Promise<void> = Promise.resolve();
  private lastStreamId = 0;

  constructor(
    private out: (b: Buffer) => void,
    private onStream: (s: SpdyStream) => void,
    private onClose: () => void,
  ) {}

  send(b: Buffer): void {
    if (!this.closed) this.out(b);
  }

  feed(chunk: Buffer): void {
    for (const f of this.parser.push(chunk)) {
      this.queue = this.queue.then(() => this.handle(f)).catch((e) => {
        if (DEBUG) console.error("[spdy]", e);
        this.close();
      });
    }
  }

  maybeForget(s: SpdyStream): void {
    if (s.localFin && s.remoteFin) this.streams.delete(s.id);
  }

  private async handle(f: Frame): Promise<void> {
    if (this.closed) return;
    if (!f.control) {
      const s = this.streams.get(f.streamId);
      if (!s) return;
      if (f.data.length) s.onData(f.data);
      if (f.flags & FLAG_FIN) {
        s.remoteFin = true;
        s.onFin();
        this.maybeForget(s);
      }
      return;
    }
    switch (f.type) {
      case SYN_STREAM: {
        const id = f.data.readUInt32BE(0) & 0x7fffffff;
        const headers = parseHeaderBlock(await this.inflater.decompress(f.data.subarray(10)));
        this.lastStreamId = id;
        const s = new SpdyStream(this, id, headers);
        this.streams.set(id, s);
        // reply at once (empty headers), like spdystream's server does
        const head = Buffer.alloc(4);
        head.writeUInt32BE(id, 0);
        this.send(
          controlFrame(SYN_REPLY, 0, Buffer.concat([head, this.deflater.compress(encodeHeaderBlock([]))])),
        );
        if (f.flags & FLAG_FIN) s.remoteFin = true;
        this.onStream(s);
        if (s.remoteFin) s.onFin();
        return;
      }
      case HEADERS:
      case SYN_REPLY:
        // keep the shared zlib context in step even though we have no use for these headers
        await this.inflater.decompress(f.data.subarray(4));
        return;
      case RST_STREAM: {
        const s = this.streams.get(f.data.readUInt32BE(0) & 0x7fffffff);
        if (s) {
          s.remoteFin = s.localFin = true;
          this.streams.delete(s.id);
          s.onReset();
        }
        return;
      }
      case PING:
        // the peer's pings have odd ids; echo them
        this.send(controlFrame(PING, 0, f.data));
        return;
      case GOAWAY:
        this.close();
        return;
      default: // SETTINGS, WINDOW_UPDATE: nothing to do without flow control
        return;
    }
  }

  /** Tear down: reset every stream callback and tell the transport. */
  close(): void {
    if (this.closed) return;
    try {
      const p = Buffer.alloc(8);
      p.writeUInt32BE(this.lastStreamId, 0);
      this.out(controlFrame(GOAWAY, 0, p));
    } catch { /* transport gone */ }
    this.closed = true;
    for (const s of this.streams.values()) s.onReset();
    this.streams.clear();
    this.inflater.close();
    this.onClose();
  }
}
