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
 * Frames and the upgrade: ./spdy_frames.ts (shared with port-forward).
 */
import type https from "node:https";
import { Buffer } from "node:buffer";
import {
  controlFrame,
  dataFrame,
  dataFrameHeader,
  FLAG_FIN,
  FrameReader,
  GOAWAY,
  PING,
  RST_STREAM,
  type SpdyFrame,
  spdyUpgrade,
  StoredDeflater,
  SYN_REPLY,
  synStreamFrame,
  type UpgradeLimit,
} from "./spdy_frames.ts";

import { nativeSpdyUpgrade, type NativeTls, type SpdySocket } from "./tls_upgrade.ts";

export { SpdyUpgradeError } from "./spdy_frames.ts";

/** The remotecommand protocols we offer, newest first (v4 carries a JSON Status on the error stream). */
export const SPDY_EXEC_PROTOCOLS = [
  "v4.channel.k8s.io",
  "v3.channel.k8s.io",
  "v2.channel.k8s.io",
  "channel.k8s.io",
];

/**
 * The largest stdin data frame: a frame's length field has 24 bits and spdystream (the kubelet's and the
 * runtime's reader) takes any length up to 16 MiB. 4 MiB frames: a file read as stdin goes out in a quarter
 * of the reads and writes of 256 KiB ones, ~0.2 CPU-s less a GB on a v1.24 cluster (bench/README.md, stop
 * 89); a pipe's read still returns what the pipe holds, so a slow producer's bytes go out as they come.
 */
const STDIN_FRAME = 4 * 1024 * 1024;
const STDIN = 0, STDOUT = 1, STDERR = 2, STATUS = 3, RESIZE = 4, CLOSE = 255;

export interface SpdyHandlers {
  message(data: Uint8Array): void;
  close(): void;
  error(message: string): void;
}

export interface SpdyChannel {
  readonly protocol: string;
  send(b: Uint8Array): void;
  /**
   * stdin bytes without the channel byte: written as they are, after each frame's 8-byte header (no copy);
   * `reused` (rewritten after the call): copied into one buffer a frame
   */
  sendStdin(b: Uint8Array, reused?: boolean): void;
  /** stdin read from `r` into the frames themselves (SpdyExecConnection.pumpReader) */
  pumpReader(
    r: { read(p: Uint8Array): Promise<number | null> },
    drain: () => Promise<void>,
  ): Promise<boolean>;
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
 * `native`: the connection is Deno's own TLS (./tls_upgrade.ts) with this material and these headers.
 */
export async function openSpdyExec(
  url: string,
  options: https.RequestOptions,
  o: { stdin: boolean; stdout: boolean; stderr: boolean; tty: boolean },
  h: SpdyHandlers,
  signal?: AbortSignal,
  limit?: UpgradeLimit,
  native?: { tls: NativeTls; headers: Record<string, string> },
): Promise<SpdyChannel> {
  const up: { socket: SpdySocket; head?: Uint8Array; protocol: string } = native
    ? await nativeSpdyUpgrade(url, native.tls, native.headers, SPDY_EXEC_PROTOCOLS, signal, limit)
    : await spdyUpgrade(url, options, SPDY_EXEC_PROTOCOLS, signal, limit);
  return await new Promise((resolve, reject) => {
    let settled = false;
    const settle = () => {
      if (settled) return false;
      settled = true;
      signal?.removeEventListener("abort", onAbort);
      return true;
    };
    const fail = (e: unknown) => settle() && reject(e);
    // cancelled while the streams are being acknowledged: the upgraded connection goes too
    const onAbort = () => {
      up.socket.destroy();
      fail(new Error("cancelled"));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    const conn = new SpdyExecConnection(up.socket, up.protocol || "channel.k8s.io", o, h, () => {
      if (settle()) resolve(conn);
    }, fail);
    if (up.head?.length) conn.feed(up.head);
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
    private socket: SpdySocket,
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
      this.write(synStreamFrame(this.deflater, id, [["streamtype", t]]));
      id += 2;
    }
    socket.on("data", (d: Uint8Array) => this.feed(d));
    socket.on("error", (e: Error) => {
      if (!this.open) this.onFail(e);
      else this.h.error(e.message);
    });
    socket.on("close", () => this.finish());
  }

  /** stdin frame buffers the socket is done with (sendStdin) */
  private frames: Uint8Array[] = [];

  private write(b: Uint8Array): void {
    if (!this.socket.destroyed) this.socket.write(b);
  }

  feed(chunk: Uint8Array): void {
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
      case STDIN:
        this.sendStdin(body);
        return;
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

  /**
   * `reused`: `b` is rewritten after the call, and the socket keeps what it is given until it is out: each
   * frame is then one buffer, header and copied bytes (one write, where two would be joined by a writev).
   */
  sendStdin(b: Uint8Array, reused = false): void {
    const id = this.ids.get("stdin");
    if (id === undefined || !b.length || this.ended) return;
    for (let off = 0; off < b.length; off += STDIN_FRAME) {
      const piece = b.subarray(off, off + STDIN_FRAME);
      if (reused) {
        // frame buffers come back once the socket has written them: a fresh 256 KiB one per frame was
        // freed only by the next GC, and the heap grew and faulted in new pages all along
        const buf = this.frames.pop() ?? new Uint8Array(8 + STDIN_FRAME);
        const f = buf.subarray(0, 8 + piece.length);
        f.set(dataFrameHeader(id, 0, piece.length));
        f.set(piece, 8);
        if (!this.socket.destroyed) {
          this.socket.write(f, () => this.frames.length < 8 && this.frames.push(buf));
        }
        continue;
      }
      this.write(dataFrameHeader(id, 0, piece.length));
      this.write(piece);
    }
  }

  /**
   * stdin read from `r` straight into frame buffers after their 8-byte header, each written as it is read
   * (no copy); `drain` is awaited after each. True at `r`'s end, false when the connection ended first.
   */
  async pumpReader(
    r: { read(p: Uint8Array): Promise<number | null> },
    drain: () => Promise<void>,
  ): Promise<boolean> {
    const id = this.ids.get("stdin");
    if (id === undefined) return false;
    while (true) {
      if (!this.isOpen()) return false;
      const buf = this.frames.pop() ?? new Uint8Array(8 + STDIN_FRAME);
      const n = await r.read(buf.subarray(8));
      if (n === null) return true;
      if (!this.isOpen()) return false;
      if (n === 0) {
        this.frames.push(buf);
        continue;
      }
      buf.set(dataFrameHeader(id, 0, n));
      this.socket.write(buf.subarray(0, 8 + n), () => this.frames.length < 8 && this.frames.push(buf));
      await drain();
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
