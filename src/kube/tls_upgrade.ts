/**
 * The SPDY/3.1 upgrade over Deno's own TLS (`dialTls`: `Deno.startTls` over a TCP connection without Nagle,
 * or `Deno.connectTls` where there is a client certificate), for exec when the cluster's TLS is what
 * Deno's native client takes (exec.ts `WsTarget.native`: a CA, a client certificate, header auth; no proxy,
 * no insecure-skip-tls-verify). Node's `https` socket in Deno runs each write through Node's stream layer
 * and a `node:tls` op; this connection writes each frame with one `TlsConn.write`, which costs ~0.5 CPU-s
 * less per GB of stdin (bench/transport.ts, bench/README.md "Issue #83: the transport"). The node:https
 * path (./spdy_frames.ts `spdyUpgrade`) stays for everything else, and for port-forward.
 *
 * What comes back is a `SpdySocket`: the few calls of a node socket that ./spdy.ts uses.
 */
import { KUBE_LIMITS } from "./bounds.ts";
import { enabled, log } from "../base/log.ts";

/** The server refused the upgrade: its HTTP status and body (a Status JSON from the API server, usually). */
export class SpdyUpgradeError extends Error {
  constructor(readonly statusCode: number, readonly body: string) {
    super(`HTTP ${statusCode}`);
  }
}

/** How long an upgrade may take (dial, TLS handshake, the 101 answer) and the error it fails with then. */
export interface UpgradeLimit {
  ms: number;
  error: () => Error;
}

/** What ./spdy.ts needs of its connection (a node:net Socket has it; so does NativeSocket). */
export interface SpdySocket {
  on(ev: "data", fn: (d: Uint8Array) => void): unknown;
  on(ev: "error", fn: (e: Error) => void): unknown;
  on(ev: "close", fn: () => void): unknown;
  /**
   * `done` runs once the bytes are handed to the connection, or once it is destroyed without them (the buffer
   * may be reused then)
   */
  write(b: Uint8Array, done?: () => void): unknown;
  readonly writableLength: number;
  readonly destroyed: boolean;
  destroy(): unknown;
  pause(): unknown;
  resume(): unknown;
}

/** The cluster's TLS material, as PEM text. */
export interface NativeTls {
  ca?: string;
  cert?: string;
  key?: string;
}

/** Read buffers for the server's frames: a fresh one per read (FrameReader keeps views into them). */
const READ_SIZE = 64 * 1024;
/** The most an upgrade answer's status line and headers may take */
const MAX_HEAD = 64 * 1024;

/** A Deno.Conn as a SpdySocket: writes queued in order, reads in a loop that pause() holds. */
export class NativeSocket implements SpdySocket {
  writableLength = 0;
  destroyed = false;
  private queue: { b: Uint8Array; done?: () => void }[] = [];
  private writing = false;
  private paused = false;
  private wake?: () => void;
  private fns = {
    data: [] as ((d: Uint8Array) => void)[],
    error: [] as ((e: Error) => void)[],
    close: [] as (() => void)[],
  };
  private started = false;

  constructor(private conn: Deno.Conn) {}

  on(ev: "data", fn: (d: Uint8Array) => void): this;
  on(ev: "error", fn: (e: Error) => void): this;
  on(ev: "close", fn: () => void): this;
  on(ev: "data" | "error" | "close", fn: (x: never) => void): this {
    (this.fns[ev] as unknown[]).push(fn);
    // the reads begin once someone listens to them (as a node socket's flowing mode)
    if (ev === "data" && !this.started) {
      this.started = true;
      queueMicrotask(() => this.readLoop());
    }
    return this;
  }

  write(b: Uint8Array, done?: () => void): boolean {
    if (this.destroyed) {
      done?.();
      return false;
    }
    this.queue.push({ b, done });
    this.writableLength += b.length;
    if (!this.writing) this.flush();
    return true;
  }

  private async flush(): Promise<void> {
    this.writing = true;
    try {
      while (this.queue.length && !this.destroyed) {
        const { b, done } = this.queue[0];
        for (let off = 0; off < b.length;) off += await this.conn.write(b.subarray(off));
        if (this.destroyed) break; // destroy() has called the queue's callbacks
        this.queue.shift();
        this.writableLength -= b.length;
        done?.();
      }
    } catch (e) {
      this.fail(e);
    } finally {
      this.writing = false;
    }
  }

  private async readLoop(): Promise<void> {
    try {
      while (!this.destroyed) {
        if (this.paused) await new Promise<void>((r) => (this.wake = r));
        if (this.destroyed) break;
        const buf = new Uint8Array(READ_SIZE);
        const n = await this.conn.read(buf);
        if (n === null) break;
        for (const fn of this.fns.data) fn(buf.subarray(0, n));
      }
    } catch (e) {
      return this.fail(e);
    }
    this.destroy();
  }

  private fail(e: unknown): void {
    if (this.destroyed) return;
    for (const fn of this.fns.error) fn(e instanceof Error ? e : new Error(String(e)));
    this.destroy();
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    try {
      this.conn.close();
    } catch { /* closed already */ }
    // what was never written: its buffers are free again (a frame pool's, an arena's slots)
    const left = this.queue;
    this.queue = [];
    this.writableLength = 0;
    for (const { done } of left) done?.();
    this.wake?.();
    for (const fn of this.fns.close) fn();
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
}

/** One header line's name and value, refused when either could end the line early (no injected headers). */
function headerLine(name: string, value: string): string {
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || /[\r\n\0]/.test(value)) {
    throw new Error(`invalid header ${JSON.stringify(name)}`);
  }
  return `${name}: ${value}\r\n`;
}

/** An upgrade request's bytes: `own` headers (the upgrade's) after the caller's, which may not repeat them. */
export function httpRequest(
  method: string,
  u: URL,
  headers: Record<string, string>,
  own: [string, string][],
): Uint8Array {
  let head = `${method} ${u.pathname}${u.search} HTTP/1.1\r\n` + headerLine("Host", u.host);
  const reserved = new Set(["host", "content-length", ...own.map(([k]) => k.toLowerCase())]);
  for (const [k, v] of Object.entries(headers)) if (!reserved.has(k.toLowerCase())) head += headerLine(k, v);
  for (const [k, v] of own) head += headerLine(k, v);
  return new TextEncoder().encode(head + (method === "GET" ? "\r\n" : "Content-Length: 0\r\n\r\n"));
}

/** The SPDY upgrade request's bytes. */
export function upgradeRequest(
  u: URL,
  headers: Record<string, string>,
  protocols: string[],
): Uint8Array {
  return httpRequest("POST", u, headers, [
    ["Connection", "Upgrade"],
    ["Upgrade", "SPDY/3.1"],
    ...protocols.map((p): [string, string] => ["X-Stream-Protocol-Version", p]),
  ]);
}

/** A parsed answer head: status, lower-cased headers, where the body begins. */
export function parseAnswerHead(
  b: Uint8Array,
): { status: number; headers: Map<string, string>; bodyAt: number } | undefined {
  let end = -1;
  for (let i = 3; i < b.length; i++) {
    if (b[i] === 10 && b[i - 1] === 13 && b[i - 2] === 10 && b[i - 3] === 13) {
      end = i + 1;
      break;
    }
  }
  if (end < 0) return undefined;
  const lines = new TextDecoder("latin1").decode(b.subarray(0, end - 4)).split("\r\n");
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
  if (!m) throw new SpdyUpgradeError(502, `not an HTTP answer: ${lines[0].slice(0, 80)}`);
  const headers = new Map<string, string>();
  for (const l of lines.slice(1)) {
    const c = l.indexOf(":");
    if (c > 0) headers.set(l.slice(0, c).trim().toLowerCase(), l.slice(c + 1).trim());
  }
  return { status: Number(m[1]), headers, bodyAt: end };
}

/** The body of a refusal: Content-Length or chunked or up to the close, at most `max` bytes kept. */
async function refusalBody(
  conn: Deno.Conn,
  first: Uint8Array,
  headers: Map<string, string>,
  max = KUBE_LIMITS.errorBody,
): Promise<string> {
  const want = Number(headers.get("content-length") ?? NaN);
  const chunked = /chunked/i.test(headers.get("transfer-encoding") ?? "");
  const complete = (b: Uint8Array) =>
    b.length >= max || (Number.isFinite(want) ? b.length >= want : chunked && endsChunked(b));
  let got = first;
  const buf = new Uint8Array(16 * 1024);
  while (!complete(got)) {
    const n = await conn.read(buf).catch(() => null);
    if (n === null) break;
    const next = new Uint8Array(got.length + n);
    next.set(got);
    next.set(buf.subarray(0, n), got.length);
    got = next;
  }
  if (Number.isFinite(want)) got = got.subarray(0, want);
  let text = new TextDecoder().decode(got.subarray(0, max));
  if (chunked) text = dechunk(text);
  return text;
}

function endsChunked(b: Uint8Array): boolean {
  const tail = new TextDecoder("latin1").decode(b.subarray(Math.max(0, b.length - 7)));
  return /(^|\r\n)0\r\n\r\n$/.test(tail);
}

/** A chunked body's text, its chunk sizes taken out (a cut-off body gives what came). */
export function dechunk(s: string): string {
  let out = "";
  let at = 0;
  while (at < s.length) {
    const nl = s.indexOf("\r\n", at);
    if (nl < 0) break;
    const size = parseInt(s.slice(at, nl), 16);
    if (!Number.isFinite(size) || size === 0) break;
    out += s.slice(nl + 2, nl + 2 + size);
    at = nl + 2 + size + 2;
  }
  return out;
}

/** The calls a TLS dial makes: Deno's own (`DENO_NET`); a test passes a recording wrapper of them. */
export interface TlsNet {
  connect(o: Deno.ConnectOptions): Promise<Deno.TcpConn>;
  startTls(c: Deno.TcpConn, o: Deno.StartTlsOptions): Promise<Deno.TlsConn>;
  connectTls(o: Deno.ConnectTlsOptions & Partial<Deno.TlsCertifiedKeyPem>): Promise<Deno.TlsConn>;
}

export const DENO_NET: TlsNet = {
  connect: (o) => Deno.connect(o),
  startTls: (c, o) => Deno.startTls(c, o),
  connectTls: (o) => Deno.connectTls(o as Deno.ConnectTlsOptions),
};

/**
 * Can this material go without Nagle? Only when it has no client certificate: `Deno.startTls`, the one way
 * to a TLS connection whose TCP socket has `setNoDelay` (a `Deno.TlsConn` has none in Deno 2.9), takes none.
 */
export const noDelayTls = (tls: NativeTls): boolean => !tls.cert && !tls.key;

/**
 * A TLS connection to `hostname:port` with the cluster's CA (and client certificate), the server's name
 * checked against `hostname` either way. Without a client certificate it is `Deno.connect` +
 * `setNoDelay(true)` + `Deno.startTls`: rustls writes TLS 1.3's compatibility ChangeCipherSpec on its own,
 * and with Nagle on the Finished and the request behind it waited ~40 ms for the server's delayed ACK of it
 * (bench/README.md, stop 93). With one it is `Deno.connectTls`, Nagle on. `hold` gets each connection as it
 * comes (the TCP one first), so that a caller's stop can close it; it may throw to end the dial.
 */
export async function dialTls(
  hostname: string,
  port: number,
  tls: NativeTls,
  hold: (c: Deno.Conn) => void = () => {},
  net: TlsNet = DENO_NET,
): Promise<Deno.TlsConn> {
  const caCerts = tls.ca ? [tls.ca] : undefined;
  const nodelay = noDelayTls(tls);
  if (enabled("debug")) {
    const how = nodelay ? "no client certificate: TCP_NODELAY, startTls" : "client certificate: connectTls";
    log("debug", ["kube"], `TLS to ${hostname}:${port}: ${how}`);
  }
  if (!nodelay) {
    return await net.connectTls({
      hostname,
      port,
      ...(caCerts ? { caCerts } : {}),
      ...(tls.cert && tls.key ? { cert: tls.cert, key: tls.key } : {}),
    });
  }
  const tcp = await net.connect({ hostname, port });
  try {
    hold(tcp);
    tcp.setNoDelay(true);
  } catch (e) {
    tcp.close();
    throw e;
  }
  return await net.startTls(tcp, { hostname, ...(caCerts ? { caCerts } : {}) });
}

/** What a 101 answer leaves: the connection, the answer's headers, the bytes that came after them. */
export interface Upgraded {
  conn: Deno.Conn;
  headers: Map<string, string>;
  rest: Uint8Array;
}

/**
 * Send `request` over `dialTls` (Deno.connect for http:) and read the answer: resolves on 101; a refusal
 * rejects with SpdyUpgradeError (its status and body), an abort with Error("cancelled"), and a dial, handshake
 * and answer that together take longer than `limit.ms` with `limit.error()` (the connection is closed then).
 */
export async function nativeUpgrade(
  url: string,
  tls: NativeTls,
  request: Uint8Array,
  signal?: AbortSignal,
  limit?: UpgradeLimit,
): Promise<Upgraded> {
  const u = new URL(url);
  if (signal?.aborted) throw new Error("cancelled");
  let conn: Deno.Conn | undefined;
  let failed: Error | undefined;
  let rejectGate: (e: Error) => void = () => {};
  // a dial or handshake that never ends is left behind (its connection closed when it comes)
  const gate = new Promise<never>((_, reject) => (rejectGate = reject));
  const close = () => {
    try {
      conn?.close();
    } catch { /* closed */ }
  };
  const stop = (e: Error) => {
    failed ??= e;
    close();
    rejectGate(failed);
  };
  const onAbort = () => stop(new Error("cancelled"));
  signal?.addEventListener("abort", onAbort, { once: true });
  const timer = limit && limit.ms > 0 ? setTimeout(() => stop(limit.error()), limit.ms) : undefined;
  const work = async (): Promise<Upgraded> => {
    const hostname = u.hostname.replace(/^\[|\]$/g, "");
    const secure = u.protocol === "https:" || u.protocol === "wss:";
    const port = Number(u.port || (secure ? 443 : 80));
    // each connection as it comes (the TCP one, then its TLS): a stop closes it, and one after a stop ends here
    const hold = (c: Deno.Conn) => {
      conn = c;
      if (failed) throw failed;
    };
    const c = !secure ? await Deno.connect({ hostname, port }) : await dialTls(hostname, port, tls, hold);
    hold(c);
    for (let off = 0; off < request.length;) off += await c.write(request.subarray(off));
    let got = new Uint8Array(0);
    const buf = new Uint8Array(16 * 1024);
    let answer: ReturnType<typeof parseAnswerHead>;
    while (!(answer = parseAnswerHead(got))) {
      if (got.length > MAX_HEAD) throw new SpdyUpgradeError(502, "the upgrade answer's headers are too long");
      const n = await c.read(buf);
      if (n === null) throw new Error("connection closed during the upgrade");
      const next = new Uint8Array(got.length + n);
      next.set(got);
      next.set(buf.subarray(0, n), got.length);
      got = next;
    }
    const rest = got.subarray(answer.bodyAt);
    if (answer.status !== 101) {
      throw new SpdyUpgradeError(answer.status, await refusalBody(c, rest, answer.headers));
    }
    if (failed) throw failed;
    return { conn: c, headers: answer.headers, rest };
  };
  const working = work();
  working.catch(close);
  try {
    return await Promise.race([working, gate]);
  } catch (e) {
    close();
    throw failed ?? e;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  }
}

/**
 * `POST url` with `Upgrade: SPDY/3.1` over Deno's TLS (`dialTls`), as spdyUpgrade does over node:https (the same
 * errors: SpdyUpgradeError for a refusal, Error("cancelled") on abort, `limit.error()` past `limit.ms`).
 */
export async function nativeSpdyUpgrade(
  url: string,
  tls: NativeTls,
  headers: Record<string, string>,
  protocols: string[],
  signal?: AbortSignal,
  limit?: UpgradeLimit,
): Promise<{ socket: NativeSocket; head: Uint8Array; protocol: string }> {
  const up = await nativeUpgrade(url, tls, upgradeRequest(new URL(url), headers, protocols), signal, limit);
  const upgrade = (up.headers.get("upgrade") ?? "").toLowerCase();
  if (upgrade !== "spdy/3.1") {
    up.conn.close();
    throw new SpdyUpgradeError(502, `the server switched to ${upgrade || "nothing"}, not SPDY/3.1`);
  }
  return {
    socket: new NativeSocket(up.conn),
    head: up.rest,
    protocol: up.headers.get("x-stream-protocol-version") ?? "",
  };
}
