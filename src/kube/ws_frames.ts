/**
 * RFC 6455 framing for kodama's own exec WebSocket client (./ws_client.ts): the client's frame headers, the
 * reader of the server's frames (fragmented messages, control frames between fragments, the size limit, a
 * masked or reserved frame refused), and the handshake's accept key. Pure: no I/O.
 */

export const OP_CONT = 0, OP_TEXT = 1, OP_BINARY = 2, OP_CLOSE = 8, OP_PING = 9, OP_PONG = 10;

/** Close codes: normal, protocol error, message too big */
export const CLOSE_NORMAL = 1000, CLOSE_PROTOCOL = 1002, CLOSE_TOO_BIG = 1009;

/** The length of a client frame's header (FIN+opcode, length, mask key) for a payload of `n` bytes. */
export function headerLength(n: number): number {
  return (n < 126 ? 2 : n < 65536 ? 4 : 10) + 4;
}

/**
 * Write a client frame's header (FIN set, masked with `key`) for a payload of `n` bytes so that it ends at
 * `end` in `b`; returns where it begins.
 */
export function writeHeader(b: Uint8Array, end: number, opcode: number, n: number, key: Uint8Array): number {
  const at = end - headerLength(n);
  b[at] = 0x80 | opcode;
  if (n < 126) b[at + 1] = 0x80 | n;
  else if (n < 65536) {
    b[at + 1] = 0x80 | 126;
    b[at + 2] = n >>> 8;
    b[at + 3] = n & 0xff;
  } else {
    b[at + 1] = 0x80 | 127;
    const hi = Math.floor(n / 2 ** 32);
    for (let i = 0; i < 4; i++) b[at + 2 + i] = (hi >>> (24 - 8 * i)) & 0xff;
    for (let i = 0; i < 4; i++) b[at + 6 + i] = (n >>> (24 - 8 * i)) & 0xff;
  }
  b.set(key, end - 4);
  return at;
}

export type WsEvent =
  | { kind: "binary"; data: Uint8Array }
  | { kind: "text"; data: Uint8Array }
  | { kind: "ping"; data: Uint8Array }
  | { kind: "pong" }
  | { kind: "close"; code?: number; reason: string };

/** The server broke the protocol: close the connection with `code`. */
export class WsProtocolError extends Error {
  constructor(message: string, readonly code = CLOSE_PROTOCOL) {
    super(message);
  }
}

/** A delivered message that is a small part of its read buffer is copied: a kept view would pin the buffer. */
function own(b: Uint8Array): Uint8Array {
  return b.length * 4 >= b.buffer.byteLength ? b : b.slice();
}

function concat(parts: Uint8Array[], size: number): Uint8Array {
  if (parts.length === 1) return own(parts[0]);
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * The server's frames, fed as they are read (`push`): whole messages and control frames come out. A frame
 * that is masked, sets a reserved bit, has an unknown opcode, a control frame that is fragmented or over 125
 * bytes, a continuation without a message or a message inside another throw WsProtocolError; a message over
 * `max` bytes throws one whose message says "frame too large" (exec reports it as the stream-message limit).
 */
export class WsFrameReader {
  private head = new Uint8Array(10);
  private headLen = 0;
  /** the frame being read: its opcode, FIN, payload bytes still to come, the pieces so far */
  private op = -1;
  private fin = false;
  private left = 0;
  private parts: Uint8Array[] = [];
  private size = 0;
  /** the fragmented message being gathered (its opcode; -1: none) */
  private msgOp = -1;
  private msg: Uint8Array[] = [];
  private msgSize = 0;

  constructor(private max: number) {}

  push(chunk: Uint8Array): WsEvent[] {
    const out: WsEvent[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.op < 0) {
        at = this.readHead(chunk, at);
        if (this.op < 0) break;
        if (this.left === 0) this.frameDone(out);
        continue;
      }
      const take = Math.min(this.left, chunk.length - at);
      this.parts.push(chunk.subarray(at, at + take));
      this.size += take;
      this.left -= take;
      at += take;
      if (this.left === 0) this.frameDone(out);
    }
    return out;
  }

  /** Gather header bytes from `chunk` at `at`; once whole, start the frame (this.op set). Returns the new `at`. */
  private readHead(chunk: Uint8Array, at: number): number {
    while (at < chunk.length && this.headLen < this.headWant()) this.head[this.headLen++] = chunk[at++];
    if (this.headLen < 2 || this.headLen < this.headWant()) return at;
    const h = this.head;
    const fin = (h[0] & 0x80) !== 0, op = h[0] & 0x0f;
    if (h[0] & 0x70) throw new WsProtocolError("the server set a reserved bit (no extension was agreed)");
    if (h[1] & 0x80) throw new WsProtocolError("the server sent a masked frame");
    let n = h[1] & 0x7f;
    if (n === 126) n = (h[2] << 8) | h[3];
    else if (n === 127) {
      const hi = ((h[2] << 24) | (h[3] << 16) | (h[4] << 8) | h[5]) >>> 0;
      const lo = ((h[6] << 24) | (h[7] << 16) | (h[8] << 8) | h[9]) >>> 0;
      if (hi >= 2 ** 21) throw new WsProtocolError("the server sent a frame length over 2^53");
      n = hi * 2 ** 32 + lo;
    }
    if (op >= OP_CLOSE) {
      if (op > OP_PONG) throw new WsProtocolError(`the server sent an unknown opcode ${op}`);
      if (!fin || n > 125) throw new WsProtocolError("the server sent a fragmented or long control frame");
    } else {
      if (op > OP_BINARY) throw new WsProtocolError(`the server sent an unknown opcode ${op}`);
      if (op === OP_CONT && this.msgOp < 0) {
        throw new WsProtocolError("a continuation frame without a message");
      }
      if (op !== OP_CONT && this.msgOp >= 0) {
        throw new WsProtocolError("a new message inside a fragmented one");
      }
      if (this.msgSize + n > this.max) {
        throw new WsProtocolError(`frame too large: a message over ${this.max} bytes`, 1009);
      }
    }
    this.headLen = 0;
    this.op = op;
    this.fin = fin;
    this.left = n;
    return at;
  }

  /** How many header bytes the frame begun in `head` has (2 until its length byte is known). */
  private headWant(): number {
    if (this.headLen < 2) return 2;
    const n = this.head[1] & 0x7f;
    return n === 126 ? 4 : n === 127 ? 10 : 2;
  }

  private frameDone(out: WsEvent[]): void {
    const op = this.op, parts = this.parts, size = this.size;
    this.op = -1;
    this.parts = [];
    this.size = 0;
    if (op >= OP_CLOSE) return void out.push(control(op, concat(parts, size)));
    if (op !== OP_CONT) this.msgOp = op;
    this.msg.push(...parts);
    this.msgSize += size;
    if (!this.fin) return;
    const data = concat(this.msg, this.msgSize);
    out.push({ kind: this.msgOp === OP_TEXT ? "text" : "binary", data });
    this.msgOp = -1;
    this.msg = [];
    this.msgSize = 0;
  }
}

function control(op: number, data: Uint8Array): WsEvent {
  if (op === OP_PING) return { kind: "ping", data };
  if (op === OP_PONG) return { kind: "pong" };
  if (data.length === 1) throw new WsProtocolError("the server sent a close frame of one byte");
  if (data.length === 0) return { kind: "close", reason: "" };
  return {
    kind: "close",
    code: (data[0] << 8) | data[1],
    reason: new TextDecoder().decode(data.subarray(2)),
  };
}

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** The Sec-WebSocket-Accept a server must answer for `key` (base64 of SHA-1 of key + the RFC's GUID). */
export async function acceptKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(key + GUID));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

/** A fresh Sec-WebSocket-Key: 16 random bytes, base64. */
export function newKey(): string {
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
}
