/**
 * pods/exec and pods/attach over WebSocket (channel.k8s.io v1..v5, base64 variants) and SPDY/3.1
 * (kubectl's fallback where v5 is missing). `rt.execProtocols` is what the WebSocket side offers:
 * without v5 (`--exec-protocols v4`) a client offering only v5 is refused as a pre-1.30 kubelet does.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex, Readable } from "node:stream";
import { Buffer } from "node:buffer";
import type { WebSocket } from "ws";
import type { StreamContext } from "../contract.ts";
import type { ContainerRun, OutputListener, PodRun } from "../runtime/pod.ts";
import { Proc } from "../runtime/proc.ts";
import type { ViewCommand } from "../runtime/podns.ts";
import {
  CLOSE,
  type Codec,
  codecFor,
  decodeFrame,
  encodeFrame,
  ERROR,
  exitStatus,
  internalErrorStatus,
  negotiate,
  parseResize,
  RESIZE,
  SPDY_EXEC_PROTOCOLS,
  statusPayload,
  STDERR,
  STDIN,
  STDOUT,
} from "./channel.ts";
import { boolParam, type RuntimeState, selectContainer, StreamError } from "./common.ts";
import {
  type Accepted,
  acceptWebSocket,
  isWebSocket,
  offeredProtocols,
  rawSocket,
  rejectUpgrade,
  Sender,
  trackWebSocket,
} from "./ws.ts";
import { SpdyConnection, type SpdyStream } from "./spdy.ts";

interface Session {
  run: PodRun;
  container: ContainerRun;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

function prepare(rt: RuntimeState, ctx: StreamContext, kind: "exec" | "attach"): Session {
  const q = ctx.query;
  const name = selectContainer(ctx.pod, q.get("container"), false);
  const run = rt.pod(ctx.namespace, ctx.pod.metadata.name);
  const container = run?.container(name);
  if (!run || run.stopping || !container || !container.running) {
    throw new StreamError(400, `container not found ("${name}")`);
  }
  if (rt.runtimeCacheLagMs && Date.now() - container.startedAtMs < rt.runtimeCacheLagMs) {
    throw new StreamError(500, `container not found ("${name}")`);
  }
  const s: Session = {
    run,
    container,
    stdin: boolParam(q, "stdin"),
    stdout: boolParam(q, "stdout"),
    stderr: boolParam(q, "stderr"),
    tty: boolParam(q, "tty"),
  };
  if (!s.stdin && !s.stdout && !s.stderr) {
    throw new StreamError(400, "you must specify at least 1 of stdin, stdout, stderr");
  }
  if (s.tty && s.stderr) s.stderr = false; // a TTY merges stderr into stdout, as the kubelet does
  if (kind === "exec" && q.getAll("command").length === 0) {
    throw new StreamError(400, "you must specify at least one command for the container");
  }
  if (kind === "attach" && s.tty && !container.spec.tty) {
    s.tty = false;
  }
  return s;
}

/** Where a session's bytes go and come from: WebSocket channels or SPDY streams. */
interface Wire {
  /** stdin data, stdin's end (v5 CLOSE, SPDY FIN), terminal sizes; early input is queued until set */
  onInput(
    h: { stdin(d: Buffer): void; stdinEnd(): void; resize(size: { cols: number; rows: number }): void },
  ): void;
  /** stdout (1) or stderr (2) data; `source` is paused while too much is queued */
  out(channel: 1 | 2, d: Buffer, source?: Readable): void;
  /** the final status, then the connection closes */
  finish(status: Record<string, unknown>): void;
  onClose(fn: () => void): void;
}

function wsWire(ws: WebSocket, codec: Codec, sender: Sender, onMessage: Accepted["onMessage"]): Wire {
  return {
    onInput(h) {
      onMessage((msg, isBinary) => {
        const f = decodeFrame(codec, isBinary ? msg : msg.toString());
        if (!f) return;
        if (f.channel === STDIN) h.stdin(Buffer.from(f.data));
        else if (f.channel === RESIZE) {
          const last = parseResize(f.data).pop();
          if (last) h.resize(last);
        } else if (f.channel === CLOSE && f.data[0] === STDIN) h.stdinEnd();
      });
    },
    out: (ch, d, source) => sender.send(encodeFrame(codec, ch === 1 ? STDOUT : STDERR, d) as Buffer, source),
    finish(status) {
      const payload = statusPayload(codec, status);
      if (payload) sender.send(encodeFrame(codec, ERROR, payload) as Buffer);
      // ws queues the close frame behind everything already sent, so nothing is lost
      try {
        ws.close(1000);
      } catch { /* gone */ }
    },
    // the client is gone when its side ends (FIN) — the connection itself may be held open (ws.ts)
    onClose(fn) {
      let called = false;
      const once = () => {
        if (called) return;
        called = true;
        fn();
      };
      ws.on("close", once);
      rawSocket(ws)?.once("end", once);
    },
  };
}

/**
 * SPDY/3.1 as the kubelet serves it (kubectl's fallback on servers without v5): negotiate
 * X-Stream-Protocol-Version, switch protocols, then wait for the client's streams — error, and
 * stdin/stdout/stderr/resize as the request asked — before the session starts.
 */
async function spdyWire(
  rt: RuntimeState,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  s: Session,
): Promise<Wire | undefined> {
  const offered = String(req.headers["x-stream-protocol-version"] ?? "").split(",").map((p) => p.trim())
    .filter(Boolean);
  if (!offered.length) {
    rejectUpgrade(socket, 400, "unable to upgrade: X-Stream-Protocol-Version is required");
    return undefined;
  }
  const protocol = negotiate(offered, SPDY_EXEC_PROTOCOLS);
  if (!protocol) {
    // httpstream.Handshake: 403 with the plain-text reason
    const body = `unable to upgrade: unable to negotiate protocol: client supports [${offered.join(" ")}], ` +
      `server accepts [${SPDY_EXEC_PROTOCOLS.join(" ")}]\n`;
    socket.end(
      `HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    return undefined;
  }
  socket.write(
    "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n" +
      `X-Stream-Protocol-Version: ${protocol}\r\n\r\n`,
  );
  const codec = codecFor(protocol);
  const streams = new Map<string, SpdyStream>();
  const wanted = 1 + (s.stdin ? 1 : 0) + (s.stdout ? 1 : 0) + (s.stderr ? 1 : 0) +
    (s.tty && codec.status ? 1 : 0);
  const all = Promise.withResolvers<boolean>();
  const closers = new Set<() => void>();
  let closed = false;
  const conn = new SpdyConnection(
    (b) => socket.write(b),
    (st) => {
      streams.set(st.headers.get("streamtype") ?? "", st);
      if (streams.size >= wanted) all.resolve(true);
    },
    () => socket.end(),
  );
  const remove = rt.streams.add({ drop: () => socket.destroy(), stall: () => socket.pause() });
  socket.on("data", (b: Buffer) => conn.feed(b));
  socket.on("error", () => {});
  socket.on("close", () => {
    remove();
    conn.close();
    closed = true;
    all.resolve(false);
    for (const fn of closers) fn();
  });
  if (head?.length) conn.feed(head);
  const timer = setTimeout(() => all.resolve(false), 30_000); // the kubelet's stream creation timeout
  const ok = await all.promise;
  clearTimeout(timer);
  if (!ok) {
    conn.close();
    return undefined;
  }
  const err = streams.get("error");
  return {
    onInput(h) {
      const stdin = streams.get("stdin");
      if (stdin) {
        stdin.onData = (d) => h.stdin(d);
        stdin.onFin = () => h.stdinEnd();
        if (stdin.remoteFin) h.stdinEnd();
      }
      const resize = streams.get("resize");
      if (resize) {
        // a stream of JSON objects (json.Encoder: one per line)
        let buf = "";
        resize.onData = (d) => {
          buf += d.toString("utf8");
          const cut = buf.lastIndexOf("\n");
          if (cut < 0) return;
          const last = parseResize(Buffer.from(buf.slice(0, cut))).pop();
          buf = buf.slice(cut + 1);
          if (last) h.resize(last);
        };
      }
    },
    out(ch, d, source) {
      const st = streams.get(ch === 1 ? "stdout" : "stderr");
      if (!st || closed) return;
      st.write(d);
      // back-pressure: hold the process' output while the socket has much queued
      if (source && socket.writableLength > 4 << 20) {
        source.pause();
        socket.once("drain", () => source.resume());
      }
    },
    finish(status) {
      const payload = statusPayload(codec, status);
      if (payload && err) err.write(payload);
      // the kubelet writes the status and closes the connection (ServeExec's deferred conn.Close)
      conn.close();
    },
    onClose(fn) {
      if (closed) fn();
      else closers.add(fn);
    },
  };
}

/** Accept the connection the client asked for: a WebSocket with a channel protocol, or SPDY/3.1. */
async function open(
  rt: RuntimeState,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  s: Session,
): Promise<Wire | undefined> {
  if (!isWebSocket(req)) {
    if (String(req.headers.upgrade ?? "").toLowerCase() === "spdy/3.1") {
      return await spdyWire(rt, req, socket, head, s);
    }
    rejectUpgrade(socket, 400, "unable to upgrade: the request asks for neither a WebSocket nor SPDY/3.1");
    return undefined;
  }
  const offered = offeredProtocols(req);
  const protocol = negotiate(offered, rt.execProtocols);
  if (offered.length && !protocol) {
    // the kubelet's websocket handshake (x/net/websocket): 403 and no body when no offered protocol is served
    try {
      socket.end("HTTP/1.1 403 Forbidden\r\n\r\n");
    } catch { /* gone */ }
    return undefined;
  }
  const { ws, onMessage } = await acceptWebSocket(req, socket, head, protocol, { holdOpen: true });
  const codec = codecFor(protocol || "channel.k8s.io");
  trackWebSocket(rt.streams, ws);
  return wsWire(ws, codec, new Sender(ws), onMessage);
}

/** Check the request (refusing the upgrade with a Status on failure), then accept the connection. */
async function begin(
  rt: RuntimeState,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  ctx: StreamContext,
  kind: "exec" | "attach",
): Promise<{ s: Session; wire: Wire } | undefined> {
  let s: Session;
  try {
    s = prepare(rt, ctx, kind);
  } catch (e) {
    if (!(e instanceof StreamError)) throw e;
    rejectUpgrade(socket, e.code, e.message);
    return undefined;
  }
  const wire = await open(rt, req, socket, head, s).catch(() => undefined);
  return wire ? { s, wire } : undefined;
}

export async function handleExec(
  rt: RuntimeState,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  ctx: StreamContext,
): Promise<void> {
  const started = await begin(rt, req, socket, head, ctx, "exec");
  if (!started) return;
  const { s, wire } = started;
  const argv = ctx.query.getAll("command");
  const env = s.run.env(s.container);

  // deno-lint-ignore prefer-const -- assigned once, after the handlers that read it are installed
  let proc: Proc | undefined;
  let closed = false;
  let exited = false;
  const pendingIn: Buffer[] = [];
  let stdinEOF = false;
  let size: { cols: number; rows: number } | undefined;
  let gotSize: () => void = () => {};
  const sized = new Promise<void>((r) => (gotSize = r));

  wire.onInput({
    stdin(d) {
      if (!s.stdin) return;
      if (!proc) pendingIn.push(d);
      // stdin is buffered by the child's pipe stream; pausing the WebSocket's socket for
      // back-pressure stalls ws' close handshake under Deno, so uploads are held in memory instead
      else proc.write(d);
    },
    resize(last) {
      size = last;
      if (proc) proc.resize(last.cols, last.rows);
      gotSize();
    },
    stdinEnd() {
      stdinEOF = true;
      proc?.endInput();
    },
  });
  wire.onClose(() => {
    closed = true;
    if (!proc || exited) return;
    // the client went away. A terminal hangs up: the process gets SIGHUP, as from a real terminal, and
    // nothing else. Without one the container runtime closes stdin and stops reading the output: the
    // process is not killed — it goes on, and blocks once its output pipe is full (as under containerd)
    if (proc.tty) rt.table.signal(proc.groups, "SIGHUP");
    else {
      proc.endInput();
      proc.stdout?.removeAllListeners("data");
      proc.stderr?.removeAllListeners("data");
      proc.stdout?.pause();
      proc.stderr?.pause();
    }
  });

  let cmd: ViewCommand | undefined;
  try {
    cmd = s.run.command(s.container, argv, env, { tty: s.tty });
  } catch (e) {
    return wire.finish(internalErrorStatus(`error executing command in container: ${(e as Error).message}`));
  }
  if (!cmd) {
    return wire.finish(
      internalErrorStatus(
        `error executing command in container: failed to exec in container: failed to start exec "${
          crypto.randomUUID().replaceAll("-", "")
        }": OCI runtime exec failed: exec failed: unable to start container process: exec: "${
          argv[0]
        }": executable file not found in $PATH: unknown`,
      ),
    );
  }
  if (s.tty && !size) await Promise.race([sized, new Promise((r) => setTimeout(r, 300))]);
  if (closed) return;

  proc = new Proc({
    file: cmd.file,
    args: cmd.args,
    cwd: cmd.cwd,
    env,
    stdin: s.stdin,
    stdout: s.stdout,
    stderr: s.stderr,
    tty: s.tty ? size ?? { cols: 80, rows: 24 } : undefined,
    ownCtty: cmd.ownCtty,
    table: rt.table,
    onGroup: (g) => s.run.addExecGroup(g, s.container),
    stdinEndsWithOutput: true,
  });
  s.run.execs.add(proc);
  const p = proc;
  if (s.stdout) p.stdout?.on("data", (d: Buffer) => wire.out(1, d, p.stdout!));
  else p.stdout?.resume();
  if (s.stderr) p.stderr?.on("data", (d: Buffer) => wire.out(2, d, p.stderr!));
  else p.stderr?.resume();
  for (const b of pendingIn) p.write(b);
  if (stdinEOF) p.endInput();

  const exit = await p.exited;
  exited = true;
  s.run.execs.delete(p);
  if (!closed) wire.finish(exitStatus(exit.code, argv));
}

export async function handleAttach(
  rt: RuntimeState,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  ctx: StreamContext,
): Promise<void> {
  const started = await begin(rt, req, socket, head, ctx, "attach");
  if (!started) return;
  const { s, wire } = started;
  const c = s.container;
  const proc = c.proc;
  if (!proc) return wire.finish({ metadata: {}, status: "Success" });

  const listener: OutputListener = (channel, data) => {
    if (channel === 1 && s.stdout) wire.out(1, data);
    if (channel === 2 && s.stderr) wire.out(2, data);
  };
  c.output.add(listener);
  const onExit = () => {
    c.output.delete(listener);
    wire.finish({ metadata: {}, status: "Success" });
  };
  c.exitWaiters.add(onExit);
  wire.onInput({
    stdin(d) {
      if (s.stdin && c.spec.stdin) proc.write(d);
    },
    resize(last) {
      proc.resize(last.cols, last.rows);
    },
    stdinEnd() {
      if (c.spec.stdinOnce) proc.endInput();
    },
  });
  wire.onClose(() => {
    c.output.delete(listener);
    c.exitWaiters.delete(onExit);
    if (s.stdin && c.spec.stdinOnce) proc.endInput();
  });
}
