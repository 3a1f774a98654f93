/**
 * Port-forward over one SPDY/3.1 connection per pod, as kubectl does it: `POST …/pods/NAME/portforward`
 * upgraded with `Upgrade: SPDY/3.1` and `X-Stream-Protocol-Version: portforward.k8s.io`, then for each
 * local connection a pair of streams sharing a `requestid` header — an error stream (the server writes
 * a message there when it cannot reach the pod port) and a data stream (the bytes each way, with a real
 * half-close). So a new local connection costs one SYN_STREAM on a connection already open, instead of
 * a TLS handshake and an HTTP upgrade per connection (the WebSocket v4 way); that is what lets kubectl
 * answer ten times the requests per second.
 *
 * No flow control (spdystream has none): a slow local reader pauses the connection's socket, as Go's
 * io.Copy does for kubectl. Frames and the upgrade: ./spdy_frames.ts (shared with exec).
 */
import { Duplex } from "node:stream";
import type { Socket } from "node:net";
import type https from "node:https";
import { Buffer } from "node:buffer";
import {
  controlFrame,
  dataFrame,
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

export { FrameReader, SpdyUpgradeError } from "./spdy_frames.ts";

/** RST_STREAM status CANCEL: what kubectl's RemoveStreams sends when a connection is done */
const CANCEL = 5;
/** the largest DATA frame we send (spdystream reads any size up to 16 MiB) */
const MAX_DATA = 64 * 1024;

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
  static async open(
    url: string,
    options: https.RequestOptions,
    onStreamError: (message: string) => Error,
    signal?: AbortSignal,
    limit?: UpgradeLimit,
  ): Promise<SpdyPortForwardSession> {
    const up = await spdyUpgrade(url, options, "portforward.k8s.io", signal, limit);
    const s = new SpdyPortForwardSession(up.socket, onStreamError);
    if (up.head?.length) s.feed(up.head);
    return s;
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
    this.write(synStreamFrame(this.deflater, id, headers));
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
