/**
 * pods/exec and pods/attach over WebSocket (channel.k8s.io v1..v5, base64 variants).
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { Buffer } from "node:buffer";
import type { WebSocket } from "ws";
import type { StreamContext } from "../contract.ts";
import type { ContainerRun, OutputListener, PodRun } from "../runtime/pod.ts";
import { Proc } from "../runtime/proc.ts";
import { resolveExecutable } from "../runtime/podfs.ts";
import { mapArgv, pathMapFor } from "../runtime/pathmap.ts";
import {
  CLOSE,
  type Codec,
  codecFor,
  decodeFrame,
  encodeFrame,
  ERROR,
  EXEC_PROTOCOLS,
  exitStatus,
  internalErrorStatus,
  negotiate,
  parseResize,
  RESIZE,
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
  rejectUpgrade,
  Sender,
  trackWebSocket,
} from "./ws.ts";

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

async function open(
  rt: RuntimeState,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): Promise<{ ws: WebSocket; codec: Codec; sender: Sender; onMessage: Accepted["onMessage"] } | undefined> {
  if (!isWebSocket(req)) {
    rejectUpgrade(socket, 400, "the kodama test cluster serves exec/attach over WebSocket only (no SPDY)");
    return undefined;
  }
  const protocol = negotiate(offeredProtocols(req), EXEC_PROTOCOLS);
  const { ws, onMessage } = await acceptWebSocket(req, socket, head, protocol);
  const codec = codecFor(protocol || "channel.k8s.io");
  trackWebSocket(rt.streams, ws);
  return { ws, codec, sender: new Sender(ws), onMessage };
}

function finish(ws: WebSocket, codec: Codec, sender: Sender, status: Record<string, unknown>): void {
  const payload = statusPayload(codec, status);
  if (payload) sender.send(encodeFrame(codec, ERROR, payload) as Buffer);
  // ws queues the close frame behind everything already sent, so nothing is lost
  try {
    ws.close(1000);
  } catch { /* gone */ }
}

/** Check the request (refusing the upgrade with a Status on failure), then accept the WebSocket. */
async function begin(
  rt: RuntimeState,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  ctx: StreamContext,
  kind: "exec" | "attach",
) {
  let s: Session;
  try {
    s = prepare(rt, ctx, kind);
  } catch (e) {
    if (e instanceof StreamError) return rejectUpgrade(socket, e.code, e.message);
    throw e;
  }
  const opened = await open(rt, req, socket, head).catch(() => undefined);
  return opened ? { s, ...opened } : undefined;
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
  const { s, ws, codec, sender, onMessage } = started;
  const argv = ctx.query.getAll("command");
  const env = s.run.env(s.container);
  const cwd = s.run.cwd(s.container);

  // deno-lint-ignore prefer-const -- assigned once, after the handlers that read it are installed
  let proc: Proc | undefined;
  let closed = false;
  let exited = false;
  const pendingIn: Buffer[] = [];
  let stdinEOF = false;
  let size: { cols: number; rows: number } | undefined;
  let gotSize: () => void = () => {};
  const sized = new Promise<void>((r) => (gotSize = r));

  onMessage((msg, isBinary) => {
    const f = decodeFrame(codec, isBinary ? msg : msg.toString());
    if (!f) return;
    if (f.channel === STDIN) {
      if (!s.stdin) return;
      if (!proc) pendingIn.push(Buffer.from(f.data));
      // stdin is buffered by the child's pipe stream; pausing the WebSocket's socket for
      // back-pressure stalls ws' close handshake under Deno, so uploads are held in memory instead
      else proc.write(f.data);
    } else if (f.channel === RESIZE) {
      const last = parseResize(f.data).pop();
      if (!last) return;
      size = last;
      if (proc) proc.resize(last.cols, last.rows);
      gotSize();
    } else if (f.channel === CLOSE && f.data[0] === STDIN) {
      stdinEOF = true;
      proc?.endInput();
    }
  });
  ws.on("close", () => {
    closed = true;
    if (!proc || exited) return;
    // the client went away: like a container runtime, hang up the terminal or close the pipes;
    // processes that survive that keep running until the pod stops (as exec'd processes do)
    if (proc.tty) rt.table.signal(proc.groups, "SIGHUP");
    else {
      proc.endInput();
      proc.stdout?.destroy();
      proc.stderr?.destroy();
    }
  });

  const podArgv = mapArgv(pathMapFor(s.run.layout.root, s.container.spec), argv);
  const file = resolveExecutable(podArgv[0], env.PATH ?? "", cwd);
  if (!file) {
    return finish(
      ws,
      codec,
      sender,
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
    file,
    args: podArgv.slice(1),
    cwd,
    env,
    stdin: s.stdin,
    stdout: s.stdout,
    stderr: s.stderr,
    tty: s.tty ? size ?? { cols: 80, rows: 24 } : undefined,
    table: rt.table,
    onGroup: (g) => s.run.addExecGroup(g),
  });
  s.run.execs.add(proc);
  const p = proc;
  if (s.stdout) {
    p.stdout?.on("data", (d: Buffer) => sender.send(encodeFrame(codec, STDOUT, d) as Buffer, p.stdout!));
  } else p.stdout?.resume();
  if (s.stderr) {
    p.stderr?.on("data", (d: Buffer) => sender.send(encodeFrame(codec, STDERR, d) as Buffer, p.stderr!));
  } else p.stderr?.resume();
  for (const b of pendingIn) p.write(b);
  if (stdinEOF) p.endInput();

  const exit = await p.exited;
  exited = true;
  s.run.execs.delete(p);
  if (!closed) finish(ws, codec, sender, exitStatus(exit.code, argv));
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
  const { s, ws, codec, sender, onMessage } = started;
  const c = s.container;
  const proc = c.proc;
  if (!proc) return finish(ws, codec, sender, { metadata: {}, status: "Success" });

  const listener: OutputListener = (channel, data) => {
    if (channel === 1 && s.stdout) sender.send(encodeFrame(codec, STDOUT, data) as Buffer);
    if (channel === 2 && s.stderr) sender.send(encodeFrame(codec, STDERR, data) as Buffer);
  };
  c.output.add(listener);
  const onExit = () => {
    c.output.delete(listener);
    finish(ws, codec, sender, { metadata: {}, status: "Success" });
  };
  c.exitWaiters.add(onExit);
  onMessage((msg, isBinary) => {
    const f = decodeFrame(codec, isBinary ? msg : msg.toString());
    if (!f) return;
    if (f.channel === STDIN && s.stdin && c.spec.stdin) proc.write(f.data);
    else if (f.channel === RESIZE) {
      const last = parseResize(f.data).pop();
      if (last) proc.resize(last.cols, last.rows);
    } else if (f.channel === CLOSE && f.data[0] === STDIN && c.spec.stdinOnce) proc.endInput();
  });
  ws.on("close", () => {
    c.output.delete(listener);
    c.exitWaiters.delete(onExit);
    if (s.stdin && c.spec.stdinOnce) proc.endInput();
  });
}
