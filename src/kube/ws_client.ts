/**
 * kodama's own WebSocket client for exec and attach (RFC 6455), over the hand-written upgrade of
 * ./tls_upgrade.ts (`dialTls` with the cluster's CA, client certificate and auth headers), where Deno's
 * built-in WebSocket would otherwise be used (exec.ts: `WsTarget.native`). Why: Deno's WebSocket copies each
 * frame it sends into a fresh buffer, spawns a task for it and masks it, which cost exec -i ~1.3x kubectl's
 * CPU a GB (bench/README.md, stop 93). Here stdin is read straight into a frame buffer in a WebAssembly
 * memory after its header and channel byte, masked there in place by a SIMD function (./ws_mask.ts) with a
 * fresh random key a frame, and written with one TlsConn.write (frames of up to 4 MiB, as SPDY's).
 *
 * A real client: the handshake's Sec-WebSocket-Accept, Upgrade and Connection are checked and the
 * subprotocol must be one offered; the server's frames are read with fragmentation, a ping is answered with
 * a pong, a close with a close; a frame that is masked, reserved or over KUBE_LIMITS.frame ends the
 * connection with a close of its code. `KODAMA_WS_CLIENT=deno` keeps Deno's WebSocket (exec.ts).
 */
import { KUBE_LIMITS } from "./bounds.ts";
import { after } from "../base/proc/timer.ts";
import {
  httpRequest,
  NativeSocket,
  type NativeTls,
  nativeUpgrade,
  type UpgradeLimit,
} from "./tls_upgrade.ts";
import {
  acceptKey,
  CLOSE_NORMAL,
  CLOSE_PROTOCOL,
  headerLength,
  newKey,
  OP_BINARY,
  OP_CLOSE,
  OP_PONG,
  writeHeader,
  type WsEvent,
  WsFrameReader,
  WsProtocolError,
} from "./ws_frames.ts";
import { HEAD_ROOM, keyWord, MaskArena, maskJs, maskKey } from "./ws_mask.ts";

/** The largest stdin frame: 4 MiB, as SPDY's (bench/README.md, stop 89: fewer reads and writes a GB). */
export const STDIN_FRAME = 4 * 1024 * 1024;
/** Frame buffer slots in the process's WebAssembly memory (4 MiB each, pages touched only when used) */
const SLOTS = 4;
/** Frames of one stream's stdin being written at once: one read while the other is written */
const IN_FLIGHT = 2;
/** Below this a frame is masked in JavaScript, in a buffer of its own */
const SMALL = 4096;
/** How long a close we sent waits for the server's before the connection is closed anyway */
const CLOSE_WAIT_MS = 2000;
const STDIN = 0;

let arena: MaskArena | undefined;
const theArena = () => (arena ??= new MaskArena(1 + STDIN_FRAME, SLOTS));

/** The WebSocket refused or broken during the handshake: `statusCode` when the server answered otherwise than 101. */
export class WsHandshakeError extends Error {
  constructor(message: string, readonly statusCode?: number, readonly body?: string) {
    super(message);
  }
}

export interface WsHandlers {
  /** a binary message (text messages are dropped: the channel protocols send none) */
  message(data: Uint8Array): void;
  /** the connection closed */
  close(): void;
  /** the connection failed (the server broke the protocol, TLS or TCP failed) */
  error(message: string): void;
}

/**
 * Open `url` (wss:, or ws: in tests) offering `protocols`; resolves once the server switched to a WebSocket
 * with one of them. A refusal rejects with WsHandshakeError (its status and body), an abort with
 * Error("cancelled"), a dial, handshake and answer longer than `limit.ms` with `limit.error()`. The
 * connection reads nothing until `start()`: the caller sets itself up first.
 */
export async function openWsClient(
  url: string,
  tls: NativeTls,
  headers: Record<string, string>,
  protocols: string[],
  h: WsHandlers,
  signal?: AbortSignal,
  limit?: UpgradeLimit,
): Promise<WsClient> {
  const key = newKey();
  const request = httpRequest("GET", new URL(url), headers, [
    ["Connection", "Upgrade"],
    ["Upgrade", "websocket"],
    ["Sec-WebSocket-Version", "13"],
    ["Sec-WebSocket-Key", key],
    ["Sec-WebSocket-Protocol", protocols.join(", ")],
  ]);
  let up;
  try {
    up = await nativeUpgrade(url, tls, request, signal, limit);
  } catch (e) {
    const r = e as { statusCode?: number; body?: string; message?: string };
    if (typeof r.statusCode === "number") {
      throw new WsHandshakeError(`HTTP ${r.statusCode}`, r.statusCode, r.body);
    }
    throw e;
  }
  const problem = await answerProblem(up.headers, key, protocols);
  if (problem) {
    up.conn.close();
    throw new WsHandshakeError(`the server's WebSocket handshake is not valid: ${problem}`);
  }
  return new WsClient(new NativeSocket(up.conn), up.headers.get("sec-websocket-protocol") ?? "", up.rest, h);
}

/** What is wrong with a 101 answer to a WebSocket upgrade sent with `key` offering `protocols`, if anything. */
export async function answerProblem(
  headers: Map<string, string>,
  key: string,
  protocols: string[],
): Promise<string | undefined> {
  if ((headers.get("upgrade") ?? "").toLowerCase() !== "websocket") return "Upgrade is not websocket";
  if (!/(^|,)\s*upgrade\s*(,|$)/i.test(headers.get("connection") ?? "")) return "Connection is not Upgrade";
  if (headers.get("sec-websocket-accept") !== await acceptKey(key)) {
    return "Sec-WebSocket-Accept does not match";
  }
  const p = headers.get("sec-websocket-protocol");
  if (p !== undefined && !protocols.includes(p)) return `the subprotocol ${p} was not offered`;
  if (headers.get("sec-websocket-extensions")) return "an extension was not offered";
  return undefined;
}

/** One open exec WebSocket: binary messages out (masked), the server's frames in. */
export class WsClient {
  private reader = new WsFrameReader(KUBE_LIMITS.frame);
  /** open; closing: our close frame is sent (nothing more goes out); closed: the connection is gone */
  private state: "open" | "closing" | "closed" = "open";
  private started = false;
  /** the server broke the protocol: nothing more is read */
  private broken = false;
  private stopWait?: () => void;

  constructor(
    private socket: NativeSocket,
    readonly protocol: string,
    private rest: Uint8Array,
    private h: WsHandlers,
  ) {}

  /** Begin reading: the bytes that came with the 101 first. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.socket.on("error", (e: Error) => this.h.error(e.message));
    this.socket.on("close", () => this.closed());
    if (this.rest.length) this.feed(this.rest);
    if (!this.socket.destroyed) this.socket.on("data", (d: Uint8Array) => this.feed(d));
  }

  private feed(d: Uint8Array): void {
    if (this.broken) return;
    let events: WsEvent[];
    try {
      events = this.reader.push(d);
    } catch (e) {
      // what follows cannot be read: a close with the error's code, and the end
      this.broken = true;
      this.socket.pause();
      this.h.error((e as Error).message);
      this.closeWith(e instanceof WsProtocolError ? e.code : CLOSE_PROTOCOL);
      return;
    }
    for (const ev of events) {
      if (this.state === "closed") return;
      this.handle(ev);
    }
  }

  private handle(ev: WsEvent): void {
    switch (ev.kind) {
      case "binary":
        this.h.message(ev.data);
        return;
      case "ping":
        if (this.state === "open") this.writeSmall(OP_PONG, ev.data);
        return;
      case "close":
        // the server's close: answered with its code (ours was sent already when closing), then the end
        this.closeWith(ev.code ?? CLOSE_NORMAL);
        return;
      default: // text and pong
        return;
    }
  }

  private closed(): void {
    this.state = "closed";
    this.stopWait?.();
    this.h.close();
  }

  /** Our close frame with `code` (once), then the connection closes once it is written. */
  private closeWith(code: number): void {
    if (this.state !== "open") return void this.socket.destroy();
    this.sendClose(code, () => this.socket.destroy());
  }

  /**
   * Our close frame, after what is queued; nothing is sent after it. The connection closes CLOSE_WAIT_MS
   * later at the latest: a server (or a proxy in between) that never answers or never reads cannot hold it.
   */
  private sendClose(code: number, written?: () => void): void {
    this.state = "closing";
    this.writeSmall(OP_CLOSE, new Uint8Array([code >> 8, code & 0xff]), written);
    this.stopWait = after(CLOSE_WAIT_MS, () => this.socket.destroy());
  }

  /** A frame of its own buffer, masked in JavaScript: control frames and small messages. */
  private writeSmall(opcode: number, payload: Uint8Array, done?: () => void): void {
    if (this.socket.destroyed) return;
    const end = headerLength(payload.length);
    const f = new Uint8Array(end + payload.length);
    const key = maskKey();
    writeHeader(f, end, opcode, payload.length, key);
    f.set(payload, end);
    maskJs(f.subarray(end), key);
    this.socket.write(f, done);
  }

  /**
   * Write `n` payload bytes already in the arena's slot `at` (after HEAD_ROOM) as one binary frame: masked
   * there, the header put before it; the slot goes back once the frame is written.
   */
  private writeSlot(a: MaskArena, at: number, n: number, done?: () => void): void {
    const end = at + HEAD_ROOM;
    const key = maskKey();
    const start = writeHeader(a.bytes, end, OP_BINARY, n, key);
    a.mask(end, n, keyWord(key));
    this.socket.write(a.bytes.subarray(start, end + n), () => {
      a.give(at);
      done?.();
    });
  }

  /** One binary message (exec's channel byte included). */
  send(b: Uint8Array): void {
    if (!this.isOpen()) return;
    const a = b.length >= SMALL && b.length <= 1 + STDIN_FRAME ? theArena() : undefined;
    const at = a?.take();
    if (a === undefined || at === undefined) return this.writeSmall(OP_BINARY, b);
    a.bytes.set(b, at + HEAD_ROOM);
    this.writeSlot(a, at, b.length);
  }

  /** stdin bytes without the channel byte: copied into frames of up to STDIN_FRAME after one. */
  sendStdin(b: Uint8Array): void {
    for (let off = 0; off < b.length && this.isOpen(); off += STDIN_FRAME) {
      const piece = b.subarray(off, off + STDIN_FRAME);
      const a = piece.length + 1 >= SMALL ? theArena() : undefined;
      const at = a?.take();
      if (a === undefined || at === undefined) {
        const f = new Uint8Array(piece.length + 1);
        f[0] = STDIN;
        f.set(piece, 1);
        this.writeSmall(OP_BINARY, f);
        continue;
      }
      a.bytes[at + HEAD_ROOM] = STDIN;
      a.bytes.set(piece, at + HEAD_ROOM + 1);
      this.writeSlot(a, at, piece.length + 1);
    }
  }

  /**
   * stdin read from `r` straight into arena slots after the channel byte, each masked in place and written
   * as it is read, at most IN_FLIGHT frames at a time. True at `r`'s end, false when the stream ended first.
   */
  async pumpReader(r: { read(p: Uint8Array): Promise<number | null> }): Promise<boolean> {
    const a = theArena();
    let inFlight = 0;
    let wake: (() => void) | undefined;
    const written = () => {
      inFlight--;
      const w = wake;
      wake = undefined;
      w?.();
    };
    while (true) {
      if (!this.isOpen()) return false;
      if (inFlight >= IN_FLIGHT) {
        await new Promise<void>((res) => (wake = res));
        continue;
      }
      const at = a.take();
      if (at === undefined) {
        await a.wait();
        continue;
      }
      const body = at + HEAD_ROOM + 1;
      let n: number | null;
      try {
        n = await r.read(a.bytes.subarray(body, body + STDIN_FRAME));
      } catch (e) {
        a.give(at);
        throw e;
      }
      if (n === null || n === 0 || !this.isOpen()) {
        a.give(at);
        if (n === null) return true;
        if (n === 0) continue;
        return false;
      }
      a.bytes[body - 1] = STDIN;
      inFlight++;
      this.writeSlot(a, at, n + 1, written);
    }
  }

  buffered(): number {
    return this.socket.writableLength;
  }

  isOpen(): boolean {
    return this.state === "open" && !this.socket.destroyed;
  }

  /**
   * The close handshake: our close frame after what is queued, then the connection closes when the server's
   * close comes, or CLOSE_WAIT_MS after ours at the latest (a proxy in between may never answer).
   */
  terminate(): void {
    if (this.state !== "open") return;
    if (!this.started) return void this.socket.destroy();
    this.sendClose(CLOSE_NORMAL);
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }
}
