/**
 * pods/portforward: TCP to `podIP:port` over
 *  - WebSocket channel framing (`v4.channel.k8s.io`, client-node): channel 2i data / 2i+1 error,
 *    each opened by the 2-byte little-endian port number; one WebSocket per connection;
 *  - SPDY/3.1 (kubectl): tunnelled in a WebSocket (`SPDY/3.1+portforward.k8s.io`) or a plain
 *    `Upgrade: SPDY/3.1` connection; a (error, data) stream pair per local connection.
 */
import net from "node:net";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { Buffer } from "node:buffer";
import type { StreamContext } from "../contract.ts";
import type { PodRun } from "../runtime/pod.ts";
import {
  codecFor,
  decodeFrame,
  encodeFrame,
  negotiate,
  PORTFORWARD_PROTOCOLS,
  portPrefix,
  SPDY_TUNNEL_PREFIX,
} from "./channel.ts";
import { type RuntimeState, StreamError } from "./common.ts";
import { SpdyConnection, type SpdyStream } from "./spdy.ts";
import {
  type Accepted,
  acceptWebSocket,
  isWebSocket,
  offeredProtocols,
  rejectUpgrade,
  Sender,
  trackWebSocket,
} from "./ws.ts";

function parsePorts(q: URLSearchParams): number[] {
  const ports: number[] = [];
  for (const v of q.getAll("ports")) {
    for (const p of v.split(",")) {
      if (!p.trim()) continue;
      const n = Number(p);
      if (!Number.isInteger(n) || n < 1 || n > 65535) {
        throw new StreamError(400, `invalid port: ${p}`);
      }
      ports.push(n);
    }
  }
  return ports;
}

function forwardError(run: PodRun, port: number, err: Error & { code?: string }): string {
  const cause = err.code === "ECONNREFUSED"
    ? `dial tcp4 ${run.podIP}:${port}: connect: connection refused`
    : err.message;
  return `error forwarding port ${port} to pod ${run.uid}, uid : failed to execute portforward in network namespace "/var/run/netns/kodama-${run.namespace}-${run.name}": failed to connect to localhost:${port} inside namespace "${run.uid}", IPv4: ${cause} IPv6 dial tcp6 [::1]:${port}: connect: connection refused `;
}

export async function handlePortForward(
  rt: RuntimeState,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  ctx: StreamContext,
): Promise<void> {
  const run = rt.pod(ctx.namespace, ctx.pod.metadata.name);
  if (!run || run.phase !== "Running") {
    return rejectUpgrade(socket, 400, `pod ${ctx.pod.metadata.name} is not running`);
  }
  if (!isWebSocket(req)) return spdyUpgrade(rt, run, req, socket, head);
  let ports: number[] = [];
  const protocol = negotiate(offeredProtocols(req), PORTFORWARD_PROTOCOLS);
  if (!protocol.startsWith(SPDY_TUNNEL_PREFIX)) {
    try {
      ports = parsePorts(ctx.query);
      if (ports.length === 0) throw new StreamError(400, 'query parameter "port" is required');
    } catch (e) {
      if (e instanceof StreamError) return rejectUpgrade(socket, e.code, e.message);
      throw e;
    }
  }
  const accepted = await acceptWebSocket(req, socket, head, protocol).catch(() => undefined);
  if (!accepted) return;
  const { ws, onMessage } = accepted;
  if (protocol.startsWith(SPDY_TUNNEL_PREFIX)) {
    const sender = new Sender(ws);
    const conn = new SpdyConnection(
      (b) => sender.send(b),
      (s) => spdyStream(run, pairs, s, sender),
      () => ws.close(),
    );
    const pairs = new Map<string, { error?: SpdyStream; data?: SpdyStream }>();
    trackWebSocket(rt.streams, ws, () => conn.close());
    onMessage((m) => conn.feed(m));
    ws.on("close", () => conn.close());
    return;
  }
  wsChannels(rt, run, accepted, codecFor(protocol || "channel.k8s.io"), ports);
}

/** client-node style: one TCP connection per requested port, for the life of the WebSocket. */
function wsChannels(
  rt: RuntimeState,
  run: PodRun,
  { ws, onMessage }: Accepted,
  codec: ReturnType<typeof codecFor>,
  ports: number[],
) {
  const sender = new Sender(ws);
  const sockets: net.Socket[] = [];
  let open = ports.length;
  trackWebSocket(rt.streams, ws, () => sockets.forEach((s) => s.destroy()));
  ports.forEach((port, i) => {
    sender.send(encodeFrame(codec, 2 * i, portPrefix(port)) as Buffer);
    sender.send(encodeFrame(codec, 2 * i + 1, portPrefix(port)) as Buffer);
    const sock = net.connect({ host: run.podIP, port });
    sockets.push(sock);
    sock.on("data", (d: Buffer) => sender.send(encodeFrame(codec, 2 * i, d) as Buffer, sock));
    sock.on("error", (e) => {
      sender.send(encodeFrame(codec, 2 * i + 1, Buffer.from(forwardError(run, port, e))) as Buffer);
    });
    sock.on("close", () => {
      if (--open === 0) ws.close(1000); // queued behind the data already sent
    });
  });
  onMessage((m, isBinary) => {
    const f = decodeFrame(codec, isBinary ? m : m.toString());
    if (!f || f.channel % 2 !== 0) return;
    const sock = sockets[f.channel / 2];
    if (!sock || sock.destroyed) return;
    sock.write(f.data); // buffered: pausing the WebSocket stalls its close handshake under Deno
  });
  ws.on("close", () => sockets.forEach((s) => s.destroy()));
}

/** kubectl style: streams come in (error, data) pairs sharing a requestid header. */
function spdyStream(
  run: PodRun,
  pairs: Map<string, { error?: SpdyStream; data?: SpdyStream }>,
  s: SpdyStream,
  sender?: Sender,
): void {
  const id = s.headers.get("requestid") ?? s.headers.get("port") ?? "0";
  const type = s.headers.get("streamtype");
  const pair = pairs.get(id) ?? {};
  if (type === "error") pair.error = s;
  else if (type === "data") pair.data = s;
  else return s.reset(1);
  pairs.set(id, pair);
  if (!pair.error || !pair.data) return;
  pairs.delete(id);
  const { error, data } = pair;
  const port = Number(data.headers.get("port"));
  const sock = net.connect({ host: run.podIP, port });
  let failed = false;
  const finish = () => {
    data.end();
    error.end();
  };
  data.onData = (b) => {
    if (!sock.destroyed) sock.write(b);
  };
  data.onFin = () => sock.end();
  data.onReset = () => sock.destroy();
  error.onReset = () => sock.destroy();
  sock.on("data", (b: Buffer) => {
    data.write(b);
    // tunnelled: slow the pod side down while the WebSocket is backed up
    sender?.throttle(sock);
  });
  sock.on("error", (e) => {
    failed = true;
    error.write(Buffer.from(forwardError(run, port, e)));
  });
  sock.on("close", () => {
    if (failed) data.reset();
    finish();
  });
}

/** Plain SPDY (KUBECTL_PORT_FORWARD_WEBSOCKETS=false): switch the raw socket to SPDY/3.1. */
function spdyUpgrade(
  rt: RuntimeState,
  run: PodRun,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): void {
  const upgrade = String(req.headers.upgrade ?? "").toLowerCase();
  const versions = String(req.headers["x-stream-protocol-version"] ?? "").split(",").map((s) => s.trim());
  if (upgrade !== "spdy/3.1" || !versions.includes("portforward.k8s.io")) {
    return rejectUpgrade(
      socket,
      400,
      "unable to upgrade: no supported protocol (want SPDY/3.1, portforward.k8s.io)",
    );
  }
  socket.write(
    "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n" +
      "X-Stream-Protocol-Version: portforward.k8s.io\r\n\r\n",
  );
  const pairs = new Map<string, { error?: SpdyStream; data?: SpdyStream }>();
  const conn = new SpdyConnection(
    (b) => socket.write(b),
    (s) => spdyStream(run, pairs, s),
    () => socket.end(),
  );
  const remove = rt.streams.add({ drop: () => socket.destroy() });
  socket.on("data", (b: Buffer) => conn.feed(b));
  socket.on("close", () => {
    remove();
    conn.close();
  });
  socket.on("error", () => {});
  if (head?.length) conn.feed(head);
}
