/**
 * Port-forward over one SPDY/3.1 connection per pod, as kubectl does it: `POST …/pods/NAME/portforward`
 * upgraded with `Upgrade: SPDY/3.1` and `X-Stream-Protocol-Version: portforward.k8s.io`, then for each
 * local connection a pair of streams sharing a `requestid` header — an error stream (the server writes
 * a message there when it cannot reach the pod port) and a data stream (the bytes each way, with a real
 * half-close). So a new local connection costs one SYN_STREAM on a connection already open, instead of
 * a TLS handshake and an HTTP upgrade per connection (the WebSocket v4 way); that is what lets kubectl
 * answer ten times the requests per second.
 *
 * The SPDY subset is moby/spdystream's (the kubelet's and API server's side): SYN_STREAM/SYN_REPLY,
 * DATA with FIN, RST_STREAM, PING (echoed), GOAWAY; no flow control — a slow local reader pauses the
 * connection's socket, as Go's io.Copy does for kubectl. Header blocks we send are zlib stored blocks
 * (valid for any inflater, dictionary or not); the server's are never read.
 */
import { Duplex } from "node:stream";
import type { Socket } from "node:net";
import https from "node:https";
import http from "node:http";
import { Buffer } from "node:buffer";

const SYN_STREAM = 1;
const SYN_REPLY = 2;
const RST_STREAM = 3;
const PING = 6;
const GOAWAY = 7;
const FLAG_FIN = 0x01;
/** RST_STREAM status CANCEL: what kubectl's RemoveStreams sends when a connection is done */
const CANCEL = 5;
/** the largest DATA frame we send (spdystream reads any size up to 16 MiB) */
const MAX_DATA = 64 * 1024;

// ---------------------------------------------------------------------------------- framing

function lp(s: string): Buffer {
  const b = Buffer.alloc(4 + Buffer.byteLength(s, "latin1"));
  b.writeUInt32BE(b.length - 4, 0);
  b.write(s, 4, "latin1");
  return b;
}

/** A SPDY/3 name/value header block (names lower-case). */
export function headerBlock(headers: [string, string][]): Buffer {
  const n = Buffer.alloc(4);
  n.writeUInt32BE(headers.length, 0);
  return Buffer.concat([n, ...headers.flatMap(([k, v]) => [lp(k.toLowerCase()), lp(v)])]);
}

/**
 * Our side of the connection's header zlib stream: the zlib header once, then each block as stored
 * deflate blocks ending in a sync-flush marker, readable by any inflater with or without the SPDY
 * dictionary.
 */
export class StoredDeflater {
  private started = false;
  block(data: Buffer): Buffer {
    const parts: Buffer[] = [];
    if (!this.started) {
      parts.push(Buffer.from([0x78, 0x01]));
      this.started = true;
    }
    for (let off = 0; off < data.length; off += 0xffff) {
      const chunk = data.subarray(off, off + 0xffff);
      const h = Buffer.alloc(5);
      h.writeUInt16LE(chunk.length, 1);
      h.writeUInt16LE(~chunk.length & 0xffff, 3);
      parts.push(h, chunk);
    }
    parts.push(Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff]));
    return Buffer.concat(parts);
  }
}

export function controlFrame(type: number, flags: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(((0x8000 | 3) << 16 | type) >>> 0, 0);
  head.writeUInt32BE(((flags << 24) | payload.length) >>> 0, 4);
  return Buffer.concat([head, payload]);
}

export function dataFrame(streamId: number, flags: number, data: Uint8Array): Buffer {
  const out = Buffer.alloc(8 + data.length);
  out.writeUInt32BE(streamId & 0x7fffffff, 0);
  out.writeUInt32BE(((flags << 24) | data.length) >>> 0, 4);
  out.set(data, 8);
  return out;
}

export type SpdyFrame =
  | { control: true; type: number; flags: number; data: Buffer }
  | { control: false; streamId: number; flags: number; data: Buffer };

/**
 * Incremental frame splitter. Frames are views into the chunks given (no copy): a socket hands out a
 * fresh buffer per read, so they stay valid.
 */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);
  push(chunk: Uint8Array): SpdyFrame[] {
    const c = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.buf = this.buf.length ? Buffer.concat([this.buf, c]) : c;
    const out: SpdyFrame[] = [];
    let off = 0;
    while (this.buf.length - off >= 8) {
      const len = this.buf.readUInt32BE(off + 4) & 0xffffff;
      if (this.buf.length - off < 8 + len) break;
      const first = this.buf.readUInt32BE(off);
      const flags = this.buf[off + 4];
      const data = this.buf.subarray(off + 8, off + 8 + len);
      if (first & 0x80000000) out.push({ control: true, type: first & 0xffff, flags, data });
      else out.push({ control: false, streamId: first & 0x7fffffff, flags, data });
      off += 8 + len;
    }
    this.buf = off === this.buf.length ? Buffer.alloc(0) : this.buf.subarray(off);
    return out;
  }
}

// ---------------------------------------------------------------------------------- session

/** The server refused the upgrade: its HTTP status and body (a Status JSON, usually). */
export class SpdyUpgradeError extends Error {
  constructor(readonly statusCode: number, readonly body: string) {
    super(`HTTP ${statusCode}`);
  }
}

interface Pair {
  data: number;
  error: number;
  duplex: Duplex;
  errorText: string;
  /** the data stream's remote side ended (FIN) */
  remoteDone: boolean;
}

/**
 * One SPDY connection to one pod's portforward subresource; `dial(port)` opens a connection to a port
 * of the pod as a Duplex (write = to the pod, read = from it; end() half-closes). A duplex is destroyed
 * with `onStreamError(message)`'s error when the server reports one on the error stream.
 */
export class SpdyPortForwardSession {
  private reader = new FrameReader();
  private deflater = new StoredDeflater();
  private nextId = 1; // client-initiated streams are odd
  private nextRequest = 0;
  private byStream = new Map<number, Pair>();
  private blocked = new Set<Duplex>();
  closed = false;

  private constructor(
    private socket: Socket,
    private onStreamError: (message: string) => Error,
  ) {
    socket.setNoDelay?.(true);
    socket.on("data", (d: Buffer) => this.feed(d));
    socket.on("error", () => this.shutdown());
    socket.on("close", () => this.shutdown());
  }

  /**
   * Upgrade `url` (https://…/portforward) with the cluster's node:https options. Rejects with
   * SpdyUpgradeError when the server answers with anything but 101 SPDY/3.1.
   */
  static open(
    url: string,
    options: https.RequestOptions,
    onStreamError: (message: string) => Error,
    signal?: AbortSignal,
  ): Promise<SpdyPortForwardSession> {
    const u = new URL(url);
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (e: unknown) => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener("abort", onAbort);
        reject(e);
      };
      const mod = u.protocol === "http:" ? http : https;
      const req = mod.request({
        ...options,
        method: "POST",
        host: u.hostname.replace(/^\[|\]$/g, ""),
        port: u.port || (u.protocol === "http:" ? 80 : 443),
        path: u.pathname + u.search,
        headers: {
          ...(options.headers as Record<string, string> | undefined),
          Connection: "Upgrade",
          Upgrade: "SPDY/3.1",
          "X-Stream-Protocol-Version": "portforward.k8s.io",
        },
      });
      const onAbort = () => {
        req.destroy();
        fail(new Error("cancelled"));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      req.on("error", (e) => fail(e));
      req.on("response", (res) => {
        const parts: Buffer[] = [];
        res.on("data", (d: Buffer) => parts.push(d));
        res.on(
          "end",
          () => fail(new SpdyUpgradeError(res.statusCode ?? 500, Buffer.concat(parts).toString("utf8"))),
        );
        res.on("error", (e) => fail(e));
      });
      req.on("upgrade", (res, socket: Socket, head: Buffer) => {
        if (String(res.headers.upgrade ?? "").toLowerCase() !== "spdy/3.1") {
          socket.destroy();
          return fail(
            new SpdyUpgradeError(502, `the server switched to ${res.headers.upgrade || "nothing"}`),
          );
        }
        if (settled) return socket.destroy();
        settled = true;
        signal?.removeEventListener("abort", onAbort);
        const s = new SpdyPortForwardSession(socket, onStreamError);
        if (head?.length) s.feed(head);
        resolve(s);
      });
      req.end();
    });
  }

  /** Is the connection still usable for new streams? */
  get usable(): boolean {
    return !this.closed && !this.socket.destroyed;
  }

  /** Write a frame; false when the socket's buffer is full (wait for "drain"). */
  private write(b: Buffer): boolean {
    if (this.socket.destroyed) return true;
    return this.socket.write(b);
  }

  private syn(id: number, headers: [string, string][]): void {
    const head = Buffer.alloc(10); // stream id, associated-to 0, priority 0, slot 0
    head.writeUInt32BE(id, 0);
    this.write(controlFrame(SYN_STREAM, 0, Buffer.concat([head, this.deflater.block(headerBlock(headers))])));
  }

  private rst(id: number): void {
    const b = Buffer.alloc(8);
    b.writeUInt32BE(id, 0);
    b.writeUInt32BE(CANCEL, 4);
    this.write(controlFrame(RST_STREAM, 0, b));
  }

  /** A connection to `port` of the pod. The streams are opened at once (no wait for the replies). */
  dial(port: number): Duplex {
    if (!this.usable) throw new Error("the SPDY connection is closed");
    const request = String(this.nextRequest++);
    const error = this.nextId;
    const data = this.nextId + 2;
    this.nextId += 4;
    let finished = false;
    const done = () => {
      if (finished) return;
      finished = true;
      this.byStream.delete(error);
      this.byStream.delete(data);
      this.blocked.delete(duplex);
      if (!this.blocked.size) this.socket.resume();
      this.rst(data);
      this.rst(error);
    };
    const duplex: Duplex = new Duplex({
      allowHalfOpen: true,
      // room for a burst from the pod before the connection is paused for a slow local reader
      readableHighWaterMark: 1 << 20,
      write: (chunk: Buffer, _enc, cb) => {
        let ok = true;
        for (let off = 0; off < chunk.length; off += MAX_DATA) {
          ok = this.write(dataFrame(data, 0, chunk.subarray(off, off + MAX_DATA)));
        }
        // the API server reads slower than the local side writes: hold the local side
        if (ok || this.socket.destroyed) cb();
        else this.socket.once("drain", () => cb());
      },
      final: (cb) => {
        this.write(dataFrame(data, FLAG_FIN, new Uint8Array())); // half-close, as kubectl's dataStream.Close()
        cb();
      },
      read: () => {
        if (this.blocked.delete(duplex) && !this.blocked.size) this.socket.resume();
      },
      destroy: (err, cb) => {
        done();
        cb(err);
      },
    });
    const pair: Pair = { data, error, duplex, errorText: "", remoteDone: false };
    this.byStream.set(error, pair);
    this.byStream.set(data, pair);
    const headers = (type: string): [string, string][] => [["streamtype", type], ["port", String(port)], [
      "requestid",
      request,
    ]];
    this.syn(error, headers("error"));
    this.write(dataFrame(error, FLAG_FIN, new Uint8Array())); // we never write on the error stream
    this.syn(data, headers("data"));
    duplex.once("close", done);
    return duplex;
  }

  private feed(chunk: Buffer): void {
    for (const f of this.reader.push(chunk)) this.handle(f);
  }

  private handle(f: SpdyFrame): void {
    if (!f.control) {
      const p = this.byStream.get(f.streamId);
      if (!p || p.duplex.destroyed) return;
      if (f.streamId === p.error) {
        p.errorText += f.data.toString("utf8");
        if (f.flags & FLAG_FIN && p.errorText.trim()) {
          p.duplex.destroy(this.onStreamError(p.errorText.trim()));
        }
        return;
      }
      if (f.data.length && !p.duplex.push(f.data)) {
        // a slow local reader: hold the whole connection, as kubectl's io.Copy does
        this.blocked.add(p.duplex);
        this.socket.pause();
      }
      if (f.flags & FLAG_FIN) {
        p.remoteDone = true;
        p.duplex.push(null);
      }
      return;
    }
    switch (f.type) {
      case SYN_REPLY:
        return;
      case RST_STREAM: {
        const p = this.byStream.get(f.data.readUInt32BE(0) & 0x7fffffff);
        if (!p || p.duplex.destroyed) return;
        // the server gave up on the connection: its message first, if it sent one
        if (p.errorText.trim()) p.duplex.destroy(this.onStreamError(p.errorText.trim()));
        else if (!p.remoteDone) {
          p.remoteDone = true;
          p.duplex.push(null);
        }
        return;
      }
      case PING:
        this.write(controlFrame(PING, 0, Buffer.from(f.data)));
        return;
      case GOAWAY:
        // no new streams on this connection; the open ones may finish
        this.closed = true;
        return;
    }
  }

  private shutdown(): void {
    this.closed = true;
    for (const p of new Set(this.byStream.values())) {
      if (p.duplex.destroyed) continue;
      if (p.errorText.trim()) p.duplex.destroy(this.onStreamError(p.errorText.trim()));
      else if (p.remoteDone) p.duplex.destroy();
      else p.duplex.destroy(this.onStreamError("the port-forward connection to the API server closed"));
    }
    this.byStream.clear();
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }
}
