/**
 * exec over SPDY/3.1, the way kubectl falls back to it on API servers without `v5.channel.k8s.io`
 * (Kubernetes before 1.30): an HTTPS request with `Upgrade: SPDY/3.1` and
 * `X-Stream-Protocol-Version: v4.channel.k8s.io, …`, then one SPDY stream per channel, each opened by
 * the client with a `streamType` header (error, stdin, stdout, stderr, resize). What WebSocket v4 lacks
 * and SPDY has is a half-close: stdin ends with a FIN on its stream, so `cat`, `wc` and `tar -x` see
 * end-of-file.
 *
 * The connection is presented as the same channel-framed messages the WebSocket transports give
 * (`[channel, …bytes]`): stdout/stderr data become channel 1/2 messages, the error stream's bytes one
 * channel 3 message when it ends; sending `[0, …]` writes stdin, `[255, 0]` half-closes it, `[4, …]`
 * resizes. So exec.ts runs every command the same way whatever the transport.
 *
 * The SPDY subset is the one moby/spdystream (the kubelet's side) speaks: SYN_STREAM/SYN_REPLY,
 * DATA with FIN, RST_STREAM, PING (echoed), GOAWAY; no flow control (spdystream has none). Header
 * blocks we send are zlib stored blocks (no dictionary needed to read them); the server's header
 * blocks are never read — nothing in them matters here.
 */
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

/** The remotecommand protocols we offer, newest first (v4 carries a JSON Status on the error stream). */
export const SPDY_EXEC_PROTOCOLS = [
  "v4.channel.k8s.io",
  "v3.channel.k8s.io",
  "v2.channel.k8s.io",
  "channel.k8s.io",
];

const STDIN = 0, STDOUT = 1, STDERR = 2, STATUS = 3, RESIZE = 4, CLOSE = 255;

function lp(s: string): Buffer {
  const b = Buffer.alloc(4 + Buffer.byteLength(s, "latin1"));
  b.writeUInt32BE(b.length - 4, 0);
  b.write(s, 4, "latin1");
  return b;
}

/** A SPDY/3 name/value header block. */
export function headerBlock(headers: [string, string][]): Buffer {
  const n = Buffer.alloc(4);
  n.writeUInt32BE(headers.length, 0);
  return Buffer.concat([n, ...headers.flatMap(([k, v]) => [lp(k.toLowerCase()), lp(v)])]);
}

/**
 * Our side of the connection's header zlib stream: the zlib header once, then each block as stored
 * (uncompressed) deflate blocks ending in a sync-flush marker — valid for any inflater, with or
 * without the SPDY dictionary, and what Go's reader needs to hand out a block at once.
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

/** Incremental frame splitter. */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);
  push(chunk: Uint8Array): SpdyFrame[] {
    const c = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.buf = this.buf.length ? Buffer.concat([this.buf, c]) : Buffer.from(c);
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
    this.buf = off === this.buf.length ? Buffer.alloc(0) : Buffer.from(this.buf.subarray(off));
    return out;
  }
}

/** The refusal of an upgrade: the HTTP status and body (a Status JSON from the API server, usually). */
export class SpdyUpgradeError extends Error {
  constructor(readonly statusCode: number, readonly body: string) {
    super(`HTTP ${statusCode}`);
  }
}

export interface SpdyHandlers {
  message(data: Uint8Array): void;
  close(): void;
  error(message: string): void;
}

export interface SpdyChannel {
  readonly protocol: string;
  send(b: Uint8Array): void;
  buffered(): number;
  isOpen(): boolean;
  terminate(): void;
  pause(): void;
  resume(): void;
}

/**
 * Open an exec (or attach) over SPDY: `url` is the https:// URL of the pods/exec subresource with its
 * query, `options` the node:https options of the cluster (CA, client certificate, headers, proxy agent).
 * Resolves once every stream is acknowledged; rejects with SpdyUpgradeError when the server refuses.
 */
export function openSpdyExec(
  url: string,
  options: https.RequestOptions,
  o: { stdin: boolean; stdout: boolean; stderr: boolean; tty: boolean },
  h: SpdyHandlers,
  signal?: AbortSignal,
): Promise<SpdyChannel> {
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
        "X-Stream-Protocol-Version": SPDY_EXEC_PROTOCOLS,
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
      const protocol = String(res.headers["x-stream-protocol-version"] ?? "");
      const upgrade = String(res.headers.upgrade ?? "").toLowerCase();
      if (upgrade !== "spdy/3.1") {
        socket.destroy();
        return fail(
          new SpdyUpgradeError(502, `the server switched to ${upgrade || "nothing"}, not SPDY/3.1`),
        );
      }
      const conn = new SpdyExecConnection(socket, protocol || "channel.k8s.io", o, h, () => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener("abort", onAbort);
        resolve(conn);
      }, fail);
      if (head?.length) conn.feed(head);
    });
    req.end();
  });
}

type StreamType = "error" | "stdin" | "stdout" | "stderr" | "resize";

class SpdyExecConnection implements SpdyChannel {
  private reader = new FrameReader();
  private deflater = new StoredDeflater();
  private ids = new Map<StreamType, number>();
  private byId = new Map<number, StreamType>();
  private replied = new Set<number>();
  private errorBody: Buffer[] = [];
  private errorDone = false;
  private open = false;
  private ended = false;

  constructor(
    private socket: Socket,
    readonly protocol: string,
    o: { stdin: boolean; stdout: boolean; stderr: boolean; tty: boolean },
    private h: SpdyHandlers,
    private onReady: () => void,
    private onFail: (e: unknown) => void,
  ) {
    // the order kubectl uses: error first, then the data streams, resize for a TTY (v3+)
    const types: StreamType[] = ["error"];
    if (o.stdin) types.push("stdin");
    if (o.stdout) types.push("stdout");
    if (o.stderr && !o.tty) types.push("stderr");
    if (o.tty && protocol !== "v2.channel.k8s.io" && protocol !== "channel.k8s.io") types.push("resize");
    let id = 1; // client-initiated streams are odd
    for (const t of types) {
      this.ids.set(t, id);
      this.byId.set(id, t);
      const head = Buffer.alloc(10); // stream id, associated-to 0, priority 0, slot 0
      head.writeUInt32BE(id, 0);
      this.write(
        controlFrame(
          SYN_STREAM,
          0,
          Buffer.concat([head, this.deflater.block(headerBlock([["streamtype", t]]))]),
        ),
      );
      id += 2;
    }
    socket.on("data", (d: Buffer) => this.feed(d));
    socket.on("error", (e: Error) => {
      if (!this.open) this.onFail(e);
      else this.h.error(e.message);
    });
    socket.on("close", () => this.finish());
  }

  private write(b: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(b);
  }

  feed(chunk: Buffer): void {
    for (const f of this.reader.push(chunk)) this.handle(f);
  }

  private handle(f: SpdyFrame): void {
    if (!f.control) {
      const t = this.byId.get(f.streamId);
      if (t === "stdout" && f.data.length) this.h.message(withChannel(STDOUT, f.data));
      else if (t === "stderr" && f.data.length) this.h.message(withChannel(STDERR, f.data));
      else if (t === "error" && f.data.length) this.errorBody.push(Buffer.from(f.data));
      if (t === "error" && f.flags & FLAG_FIN) this.flushStatus();
      return;
    }
    switch (f.type) {
      case SYN_REPLY: {
        this.replied.add(f.data.readUInt32BE(0) & 0x7fffffff);
        if (!this.open && [...this.ids.values()].every((id) => this.replied.has(id))) {
          this.open = true;
          this.onReady();
        }
        return;
      }
      case RST_STREAM: {
        const t = this.byId.get(f.data.readUInt32BE(0) & 0x7fffffff);
        if (t === "error") this.flushStatus();
        return;
      }
      case PING: // the server's pings: echo them
        this.write(controlFrame(PING, 0, Buffer.from(f.data)));
        return;
      case GOAWAY:
        // the kubelet's conn.Close(): the session is over (its status came first); do not wait for a TCP
        // close that a proxy in between may hold back
        this.finish();
        this.socket.destroy();
        return;
      default:
        return;
    }
  }

  /** The error stream ended: its bytes are the status (v4: a JSON Status; older: a message). */
  private flushStatus(): void {
    if (this.errorDone) return;
    this.errorDone = true;
    const body = Buffer.concat(this.errorBody);
    if (body.length) this.h.message(withChannel(STATUS, body));
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    if (!this.open) {
      this.onFail(new Error("connection closed during the SPDY exec handshake"));
      return;
    }
    this.flushStatus();
    this.h.close();
  }

  send(b: Uint8Array): void {
    if (!b.length || this.ended) return;
    const body = b.subarray(1);
    switch (b[0]) {
      case STDIN: {
        const id = this.ids.get("stdin");
        if (id === undefined) return;
        for (let off = 0; off < body.length; off += 32 * 1024) {
          this.write(dataFrame(id, 0, body.subarray(off, off + 32 * 1024)));
        }
        return;
      }
      case RESIZE: {
        const id = this.ids.get("resize");
        // the server reads a stream of JSON objects, one per line (json.Encoder)
        if (id !== undefined) this.write(dataFrame(id, 0, Buffer.concat([body, Buffer.from("\n")])));
        return;
      }
      case CLOSE: {
        const which = body[0] === STDIN ? this.ids.get("stdin") : undefined;
        if (which !== undefined) this.write(dataFrame(which, FLAG_FIN, new Uint8Array()));
        return;
      }
    }
  }

  buffered(): number {
    return this.socket.writableLength;
  }
  isOpen(): boolean {
    return this.open && !this.ended && !this.socket.destroyed;
  }
  terminate(): void {
    this.socket.destroy();
  }
  pause(): void {
    this.socket.pause();
  }
  resume(): void {
    this.socket.resume();
  }
}

function withChannel(ch: number, data: Uint8Array): Uint8Array {
  const b = new Uint8Array(data.length + 1);
  b[0] = ch;
  b.set(data, 1);
  return b;
}
