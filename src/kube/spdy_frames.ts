/**
 * SPDY/3.1 as the Kubernetes API server and kubelet speak it (moby/spdystream): the frames, our header
 * blocks, and the HTTP upgrade that opens a connection. Both users build on it — exec/attach
 * (./spdy.ts: kubectl's fallback on servers without `v5.channel.k8s.io`) and port-forward
 * (./spdy_portforward.ts: one connection per pod, a stream pair per local connection).
 *
 * The subset is spdystream's: SYN_STREAM/SYN_REPLY, DATA with FIN, RST_STREAM, PING (echoed), GOAWAY; no
 * flow control. Header blocks we send are zlib stored blocks (readable by any inflater, with or without
 * the SPDY dictionary); the server's header blocks are never read — nothing in them matters here.
 */
import type { Socket } from "node:net";
import https from "node:https";
import http from "node:http";
import { Buffer } from "node:buffer";
import { readCapped } from "./bounds.ts";
import { SpdyUpgradeError, type UpgradeLimit } from "./tls_upgrade.ts";

export { SpdyUpgradeError, type UpgradeLimit };

export const SYN_STREAM = 1;
export const SYN_REPLY = 2;
export const RST_STREAM = 3;
export const PING = 6;
export const GOAWAY = 7;
export const FLAG_FIN = 0x01;

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

/** A data frame's 8-byte header, for a payload of `length` bytes written after it as it is. */
export function dataFrameHeader(streamId: number, flags: number, length: number): Buffer {
  const out = Buffer.alloc(8);
  out.writeUInt32BE(streamId & 0x7fffffff, 0);
  out.writeUInt32BE(((flags << 24) | length) >>> 0, 4);
  return out;
}

export function dataFrame(streamId: number, flags: number, data: Uint8Array): Buffer {
  const out = Buffer.alloc(8 + data.length);
  out.writeUInt32BE(streamId & 0x7fffffff, 0);
  out.writeUInt32BE(((flags << 24) | data.length) >>> 0, 4);
  out.set(data, 8);
  return out;
}

/** SYN_STREAM opening client stream `id` (odd) with these headers. */
export function synStreamFrame(deflater: StoredDeflater, id: number, headers: [string, string][]): Buffer {
  const head = Buffer.alloc(10); // stream id, associated-to 0, priority 0, slot 0
  head.writeUInt32BE(id, 0);
  return controlFrame(SYN_STREAM, 0, Buffer.concat([head, deflater.block(headerBlock(headers))]));
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

/** An upgraded connection: the socket, the bytes that came with the 101, the protocol the server chose. */
export interface SpdyUpgrade {
  socket: Socket;
  head: Buffer;
  /** `X-Stream-Protocol-Version` of the answer ("" when the server named none) */
  protocol: string;
}

/**
 * `POST url` with `Upgrade: SPDY/3.1` and the offered `X-Stream-Protocol-Version`s, over the cluster's
 * node:https options (CA, client certificate, headers, proxy agent). Resolves with the upgraded socket;
 * rejects with SpdyUpgradeError when the server answers with anything but 101 SPDY/3.1, with
 * Error("cancelled") when `signal` aborts first, with `limit.error()` when the dial, the TLS handshake
 * and the 101 answer together take longer than `limit.ms` (the socket is closed then: a server that
 * accepts TCP and never answers cannot hang a caller).
 */
export function spdyUpgrade(
  url: string,
  options: https.RequestOptions,
  protocols: string | string[],
  signal?: AbortSignal,
  limit?: UpgradeLimit,
): Promise<SpdyUpgrade> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    let settled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const fail = (e: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
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
        "X-Stream-Protocol-Version": protocols,
      },
    });
    const onAbort = () => {
      req.destroy();
      fail(new Error("cancelled"));
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    if (limit && limit.ms > 0) {
      timer = setTimeout(() => {
        const e = limit.error();
        fail(e);
        req.destroy(e);
      }, limit.ms);
    }
    req.on("error", (e) => fail(e));
    req.on("response", (res) => {
      // bounded (bounds.ts): a refusal whose body never ends is cut, and reported with what came
      readCapped(res).then((body) => fail(new SpdyUpgradeError(res.statusCode ?? 500, body)));
    });
    req.on("upgrade", (res, socket: Socket, head: Buffer) => {
      const upgrade = String(res.headers.upgrade ?? "").toLowerCase();
      if (upgrade !== "spdy/3.1") {
        socket.destroy();
        return fail(
          new SpdyUpgradeError(502, `the server switched to ${upgrade || "nothing"}, not SPDY/3.1`),
        );
      }
      if (settled) return socket.destroy();
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      resolve({ socket, head, protocol: String(res.headers["x-stream-protocol-version"] ?? "") });
    });
    req.end();
  });
}
