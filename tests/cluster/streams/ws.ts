/**
 * WebSocket plumbing shared by exec/attach/port-forward: subprotocol negotiation (kubectl's
 * `SPDY/3.1+portforward.k8s.io` is not an RFC token, so the header is negotiated here, not by `ws`),
 * HTTP error replies before an upgrade, send back-pressure, and a registry for "drop all streams".
 */
import type { IncomingMessage } from "node:http";
import type { Duplex, Readable } from "node:stream";
import { Buffer } from "node:buffer";
import { WebSocket, WebSocketServer } from "ws";
import { parseProtocols } from "./channel.ts";

const CHOSEN = Symbol("kodama.protocol");
type Req = IncomingMessage & { [CHOSEN]?: string };

const wss = new WebSocketServer({
  noServer: true,
  perMessageDeflate: false,
  maxPayload: 256 * 1024 * 1024,
  handleProtocols: (_offered, req) => (req as Req)[CHOSEN] || false,
});

/** Something that can be torn down abruptly, or made to hang. */
export interface Droppable {
  drop(): void;
  /** stop reading from the client, keeping the connection open (a hung peer: nothing moves, nothing closes) */
  stall?(): void;
}

export class StreamRegistry {
  private open = new Set<Droppable>();
  private waiters: { n: number; resolve: () => void }[] = [];
  add(d: Droppable): () => void {
    this.open.add(d);
    this.waiters = this.waiters.filter((w) => this.open.size < w.n || void w.resolve());
    return () => this.open.delete(d);
  }
  get size(): number {
    return this.open.size;
  }
  /** Resolves once `n` streams (exec, attach, port-forward) are open at once: a test's "the stream is up". */
  whenOpen(n = 1): Promise<void> {
    if (this.open.size >= n) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    this.waiters.push({ n, resolve });
    return promise;
  }
  stallAll(): void {
    for (const d of this.open) d.stall?.();
  }
  dropAll(): void {
    const all = [...this.open];
    this.open.clear();
    for (const d of all) {
      try {
        d.drop();
      } catch { /* already gone */ }
    }
  }
}

export function offeredProtocols(req: IncomingMessage): string[] {
  return parseProtocols(req.headers["sec-websocket-protocol"]);
}

export function isWebSocket(req: IncomingMessage): boolean {
  return String(req.headers.upgrade ?? "").toLowerCase() === "websocket";
}

export type MessageHandler = (msg: Buffer, isBinary: boolean) => void;

/** An accepted WebSocket whose early messages are queued until `onMessage` is set. */
export interface Accepted {
  ws: WebSocket;
  onMessage(fn: MessageHandler): void;
}

/** Complete the WebSocket handshake with `protocol` ("" = none). */
export function acceptWebSocket(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  protocol: string,
  o: { holdOpen?: boolean } = {},
): Promise<Accepted> {
  const r = req as Req;
  if (protocol) {
    r[CHOSEN] = protocol;
    r.headers["sec-websocket-protocol"] = "kodama";
  } else delete r.headers["sec-websocket-protocol"];
  skipSecondEnd(socket);
  if (o.holdOpen) holdOpenAfterClose(socket);
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    try {
      wss.handleUpgrade(r, socket, head, (ws) => {
        socket.off("error", reject);
        ws.on("error", () => {});
        // frames can arrive before the awaiting handler runs: queue them synchronously
        const queue: [Buffer, boolean][] = [];
        let handler: MessageHandler | undefined;
        ws.on(
          "message",
          (m: Buffer, isBinary: boolean) => handler ? handler(m, isBinary) : queue.push([m, isBinary]),
        );
        resolve({
          ws,
          onMessage(fn) {
            handler = fn;
            for (const [m, b] of queue.splice(0)) fn(m, b);
          },
        });
      });
    } catch (e) {
      reject(e);
    }
  });
}

/**
 * ws ends a socket twice on a clean close (after the close handshake, and again on 'end'); the second
 * `end()` makes Node build an ERR_STREAM_ALREADY_FINISHED error with a full stack trace (~0.2 ms of the
 * server's one thread per exec session). Make a repeated `end()` a no-op instead.
 */
function skipSecondEnd(socket: Duplex): void {
  const end = socket.end.bind(socket) as (...args: unknown[]) => Duplex;
  socket.end = ((...args: unknown[]) => {
    if (!socket.writableEnded) return end(...args);
    const cb = args.find((a) => typeof a === "function") as (() => void) | undefined;
    if (cb) queueMicrotask(cb);
    return socket;
  }) as Duplex["end"];
}

/**
 * On a real cluster (kube-apiserver -> kubelet -> containerd's streaming server, v1.24) the TCP
 * connection of an exec/attach WebSocket stays open after the server's close frame — even after the
 * client has answered it and half-closed — until the client closes it: a client that waits for the
 * server to close first (npm:ws does, for its 30 s close timeout) waits. Do the same: the server's
 * own end() does nothing; the connection goes when the client destroys it, or after 35 s.
 */
function holdOpenAfterClose(socket: Duplex): void {
  socket.end = ((...args: unknown[]) => {
    if (!socket.destroyed) {
      const t = setTimeout(() => socket.destroy(), 35_000);
      socket.once("close", () => clearTimeout(t));
    }
    const cb = args.find((a) => typeof a === "function") as (() => void) | undefined;
    if (cb) queueMicrotask(cb);
    return socket;
  }) as Duplex["end"];
}

const REASONS: Record<number, string> = {
  400: "BadRequest",
  403: "Forbidden",
  404: "NotFound",
  500: "InternalError",
};
const TEXT: Record<number, string> = {
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  500: "Internal Server Error",
};

export function statusBody(code: number, message: string): string {
  return JSON.stringify({
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason: REASONS[code] ?? "BadRequest",
    code,
  });
}

/** Refuse an upgrade request with a Kubernetes Status body (kubectl prints its message). */
export function rejectUpgrade(socket: Duplex, code: number, message: string): void {
  const body = statusBody(code, message);
  try {
    socket.end(
      `HTTP/1.1 ${code} ${TEXT[code] ?? "Error"}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  } catch { /* closed */ }
  setTimeout(() => socket.destroy(), 1000);
}

/**
 * Send with back-pressure: pauses `source` while more than `high` bytes are queued on the socket,
 * resumes it when the queue drains below `low`.
 */
export class Sender {
  private pending = 0;
  private paused = new Set<Readable>();
  constructor(private ws: WebSocket, private high = 4 << 20, private low = 1 << 20) {}

  send(data: Buffer | string, source?: Readable): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    const len = typeof data === "string" ? data.length : data.length;
    this.pending += len;
    this.ws.send(data, { binary: typeof data !== "string" }, () => {
      this.pending -= len;
      if (this.pending <= this.low && this.paused.size) {
        for (const s of this.paused) s.resume();
        this.paused.clear();
      }
    });
    if (source) this.throttle(source);
  }

  /** Pause `source` while too much is queued (it is resumed once the queue drains). */
  throttle(source: Readable): void {
    if (this.pending > this.high && !this.paused.has(source)) {
      source.pause();
      this.paused.add(source);
    }
  }
}

/** Register a WebSocket so dropAllStreams() kills it (terminate = no close frame, like a cut wire). */
export function trackWebSocket(reg: StreamRegistry, ws: WebSocket, onDrop?: () => void): void {
  const remove = reg.add({
    drop: () => {
      onDrop?.();
      ws.terminate();
    },
    stall: () => rawSocket(ws)?.pause(),
  });
  ws.on("close", remove);
}

/** The TCP/TLS socket under a WebSocket (ws keeps it in `_socket`); pausing it applies back-pressure. */
export function rawSocket(ws: WebSocket): Duplex | undefined {
  return (ws as unknown as { _socket?: Duplex })._socket;
}
