/**
 * Port-forward connections to a pod port: over one SPDY/3.1 connection per pod (kubectl's way, see
 * spdy_portforward.ts: a new local connection is one more stream), or, when the server or a proxy in
 * between will not upgrade to SPDY, over one WebSocket per connection (`KODAMA_PORT_FORWARD_TRANSPORT=ws`
 * asks for that always).
 *
 * WebSocket framing: the kubelet's `v4.channel.k8s.io` port-forward framing.
 *
 * One WebSocket carries one TCP connection to one pod port, as kubectl does per accepted local
 * connection: `GET /api/v1/namespaces/NS/pods/NAME/portforward?ports=PORT` upgraded with the
 * `v4.channel.k8s.io` subprotocol. Every binary message starts with a channel byte; with a
 * single port the data channel is 0 and the error channel 1 (port index i -> 2i, 2i+1). The
 * first two bytes the server sends on each channel are the port number, little-endian. Anything
 * else on the error channel is an error message for this connection only (e.g. "connection
 * refused" when nothing listens on the port in the pod).
 *
 * client-node's `PortForward` class supports a single port on one shared socket and only
 * through Node streams it owns, so this drives `ws` directly with the kubeconfig's TLS/auth.
 */
import { Duplex } from "node:stream";
import type { IncomingMessage } from "node:http";
// @ts-types="@types/ws"
import WebSocket from "ws";
import type { KubeConfigLite as KubeConfig } from "./config.ts";
import { frame, wsTarget } from "./exec.ts";
import { ExitCode, KodamaError } from "../base/errors.ts";
import { SpdyPortForwardSession, SpdyUpgradeError } from "./spdy_portforward.ts";
import { DEFAULT_ANSWER_TIMEOUT_MS } from "./transport.ts";
import { unreachable } from "./errors.ts";
import { formatDuration } from "../base/duration.ts";
import { KUBE_LIMITS, readCapped } from "./bounds.ts";

export const PORT_FORWARD_PROTOCOL = "v4.channel.k8s.io";

/** An error the server reported on a connection's error channel (the listener keeps running). */
export class PortForwardStreamError extends Error {
  override name = "PortForwardStreamError";
}

export interface DialOptions {
  /** WebSocket handshake timeout (default 10 s). */
  handshakeTimeoutMs?: number;
  /**
   * How long the SPDY upgrade (dial, TLS handshake, the 101 answer) may take — the Kube's answerTimeoutMs:
   * 30 s, or --request-timeout — and the error it fails with then (the Kube's timeoutError).
   */
  answerTimeoutMs?: number;
  timeoutError?: (method: string, url: URL) => KodamaError;
  signal?: AbortSignal;
}

/** Build the wss:// URL of a pod's portforward subresource (keeps any path prefix of the server). */
export function portForwardUrl(server: string, namespace: string, pod: string, port: number): string {
  const u = new URL(server);
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  const prefix = u.pathname.replace(/\/+$/, "");
  u.pathname = `${prefix}/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${
    encodeURIComponent(pod)
  }/portforward`;
  u.search = `ports=${port}`;
  return u.toString();
}

export { frame } from "./exec.ts";

/**
 * Demultiplex incoming port-forward messages: strips the channel byte and the 2-byte port
 * prefix each channel starts with (even when it arrives split across messages).
 */
export class PortForwardDemux {
  private prefixLeft = new Map<number, number>();
  /** port numbers announced by the server per channel */
  readonly announced = new Map<number, number>();
  private partialPort = new Map<number, number[]>();

  /** Returns the channel and its payload (possibly empty), or undefined for an empty message. */
  push(msg: Uint8Array): { channel: number; payload: Uint8Array } | undefined {
    if (msg.length === 0) return undefined;
    const channel = msg[0];
    let payload = msg.subarray(1);
    const left = this.prefixLeft.get(channel) ?? 2;
    if (left > 0) {
      const take = Math.min(left, payload.length);
      const bytes = this.partialPort.get(channel) ?? [];
      bytes.push(...payload.subarray(0, take));
      this.partialPort.set(channel, bytes);
      if (bytes.length === 2) this.announced.set(channel, bytes[0] | (bytes[1] << 8));
      this.prefixLeft.set(channel, left - take);
      payload = payload.subarray(take);
    }
    return { channel, payload };
  }
}

async function readBody(res: IncomingMessage): Promise<string> {
  const text = await readCapped(res); // bounded (bounds.ts)
  try {
    const j = JSON.parse(text);
    if (typeof j?.message === "string") return j.message;
  } catch { /* not JSON */ }
  return text.trim().split("\n")[0];
}

function upgradeError(status: number, message: string, namespace: string, pod: string): KodamaError {
  const what = `port-forward to pod ${pod} in namespace ${namespace}`;
  if (status === 401) {
    return new KodamaError(
      `unauthorized: ${what} was rejected`,
      ExitCode.FORBIDDEN,
      "check your credentials",
    );
  }
  if (status === 403) {
    return new KodamaError(
      `forbidden: cannot create pods/portforward in namespace ${namespace}`,
      ExitCode.FORBIDDEN,
      "ask for a Role allowing create on pods/portforward, or use -n with a namespace you can access",
    );
  }
  if (status === 404) {
    return new KodamaError(`pod ${pod} not found in namespace ${namespace}`, ExitCode.NOT_FOUND);
  }
  return new KodamaError(`${what} failed: ${message || `HTTP ${status}`}`, ExitCode.FAILED);
}

/** Open SPDY connections per kubeconfig, by `namespace/pod`; a server that refused SPDY is remembered. */
const sessions = new WeakMap<KubeConfig, Map<string, Promise<SpdyPortForwardSession>>>();
const noSpdy = new WeakSet<KubeConfig>();

function wantSpdy(kc: KubeConfig): boolean {
  let env: string | undefined;
  try {
    env = Deno.env.get("KODAMA_PORT_FORWARD_TRANSPORT");
  } catch { /* no env permission */ }
  return env !== "ws" && !noSpdy.has(kc);
}

/** The pod's SPDY connection (opened on first use, again after it closed). */
function spdySession(
  kc: KubeConfig,
  namespace: string,
  pod: string,
  o: DialOptions,
): Promise<SpdyPortForwardSession> {
  let byPod = sessions.get(kc);
  if (!byPod) sessions.set(kc, byPod = new Map());
  const key = `${namespace}/${pod}`;
  const cached = byPod.get(key);
  if (cached) {
    return cached.then((s): Promise<SpdyPortForwardSession> | SpdyPortForwardSession => {
      if (s.usable) return s;
      if (byPod!.get(key) === cached) byPod!.delete(key);
      return spdySession(kc, namespace, pod, o);
    });
  }
  const p = (async () => {
    const target = await wsTarget(kc);
    const url = portForwardUrl(target.server, namespace, pod, 0).replace(/^ws/, "http").replace(/\?.*$/, "");
    // a server that accepts TCP and never answers: given up on like the other streams (exit 5, unreachable)
    const timeoutError = o.timeoutError ??
      ((method: string, u: URL) =>
        new KodamaError(
          `timeout: no answer from ${target.server} within ${
            formatDuration(o.answerTimeoutMs ?? DEFAULT_ANSWER_TIMEOUT_MS)
          }: ${method} ${u.pathname}`,
          ExitCode.TIMEOUT,
        ));
    return await SpdyPortForwardSession.open(
      url,
      target.options as never,
      (m) => new PortForwardStreamError(m),
      o.signal,
      {
        ms: o.answerTimeoutMs ?? DEFAULT_ANSWER_TIMEOUT_MS,
        error: () => unreachable(timeoutError("POST", new URL(url))),
      },
    );
  })();
  byPod.set(key, p);
  p.catch(() => {
    if (byPod!.get(key) === p) byPod!.delete(key);
  });
  return p;
}

/** Close the SPDY connections to `namespace/pod` (every pod of the kubeconfig without one). */
export function closePortForwardSessions(kc: KubeConfig, namespace?: string, pod?: string): void {
  const byPod = sessions.get(kc);
  if (!byPod) return;
  for (const [key, p] of [...byPod]) {
    if (namespace !== undefined && key !== `${namespace}/${pod}`) continue;
    byPod.delete(key);
    p.then((s) => s.close(), () => {});
  }
}

/**
 * Open one port-forward connection to `pod:port` and return it as a Node Duplex:
 * bytes written go to the pod's port, bytes read come from it. The duplex ends when the
 * remote side closes, and is destroyed with a `PortForwardStreamError` when the server sends
 * an error for it. Destroying the duplex ends that connection only.
 *
 * Rejects with a KodamaError when the connection to the API server fails (403 -> exit 4, 404 -> exit 3).
 */
export async function dialPortForward(
  kc: KubeConfig,
  namespace: string,
  pod: string,
  port: number,
  o: DialOptions = {},
): Promise<Duplex> {
  if (wantSpdy(kc)) {
    try {
      return (await spdySession(kc, namespace, pod, o)).dial(port);
    } catch (e) {
      if (o.signal?.aborted) throw new KodamaError("port-forward cancelled", ExitCode.INTERRUPTED);
      if (e instanceof SpdyUpgradeError) {
        // the API server answers with a Status: its refusal is the answer (403, 404, pod not running)
        if (isStatus(e.body)) throw upgradeError(e.statusCode, bodyMessage(e.body), namespace, pod);
        // anything else (a proxy, a server without SPDY) does not speak SPDY: WebSockets from now on
        noSpdy.add(kc);
      } else if (e instanceof KodamaError) throw e;
      else {
        throw new KodamaError(
          `port-forward to pod ${pod} in namespace ${namespace} failed: ${(e as Error).message}`,
          ExitCode.FAILED,
        );
      }
    }
  }
  return await dialWebSocket(kc, namespace, pod, port, o);
}

function isStatus(text: string): boolean {
  try {
    return JSON.parse(text)?.kind === "Status";
  } catch {
    return false;
  }
}

/** The message of a Status body (or its first line). */
function bodyMessage(text: string): string {
  try {
    const j = JSON.parse(text);
    if (typeof j?.message === "string") return j.message;
  } catch { /* not JSON */ }
  return text.trim().split("\n")[0];
}

/** One WebSocket (`v4.channel.k8s.io`) per connection. */
async function dialWebSocket(
  kc: KubeConfig,
  namespace: string,
  pod: string,
  port: number,
  o: DialOptions = {},
): Promise<Duplex> {
  // TLS/auth material computed once per kubeconfig and shared with exec and logs (this runs per
  // accepted local connection: no re-reading of CA/cert/key files, no client-node auth-provider load)
  const target = await wsTarget(kc);
  const url = portForwardUrl(target.server, namespace, pod, port);
  const opts: WebSocket.ClientOptions = {
    ...target.options,
    handshakeTimeout: o.handshakeTimeoutMs ?? 10_000,
  };
  const ws = new WebSocket(url, [PORT_FORWARD_PROTOCOL], opts);
  ws.binaryType = "nodebuffer";

  // Handlers go on before the handshake completes: the server may send the port prefixes (and
  // data) in the same TCP segment as the 101 response, and ws emits them right after `open`.
  const demux = new PortForwardDemux();
  let errText = "";
  let closedByUs = false;
  const dataCh = 0;
  const errCh = 1;

  const duplex = new Duplex({
    allowHalfOpen: true,
    write(chunk: Buffer, _enc, cb) {
      // the remote side is gone: drop the bytes; the close handler reports why (error channel)
      if (ws.readyState !== WebSocket.OPEN) return cb();
      ws.send(frame(dataCh, chunk), { binary: true }, () => cb());
    },
    final(cb) {
      // v4 has no half-close: keep the socket open so the pod's reply can still arrive;
      // the remote closes it when it is done (or destroy() closes it).
      cb();
    },
    read() {
      if (ws.isPaused) ws.resume();
    },
    destroy(err, cb) {
      closedByUs = true;
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) {
        try {
          ws.close(1000);
        } catch { /* ignore */ }
        // a peer that ignores the close frame must not keep the socket alive
        const t = setTimeout(() => ws.terminate(), 2000);
        ws.once("close", () => clearTimeout(t));
      }
      cb(err);
    },
  });

  ws.on("message", (data: Buffer) => {
    const m = demux.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    if (!m || m.payload.length === 0) return;
    if (m.channel === dataCh) {
      if (!duplex.push(Buffer.from(m.payload))) ws.pause();
    } else if (m.channel === errCh && errText.length < KUBE_LIMITS.errorChannel) {
      errText += new TextDecoder().decode(m.payload).slice(0, KUBE_LIMITS.errorChannel - errText.length);
    }
  });
  // End/error of the duplex wait until the caller holds it (frames that arrive together with the
  // upgrade response are delivered before `open` resolves; an error emitted then would be unhandled).
  let handedOver = false;
  const deferred: (() => void)[] = [];
  const later = (fn: () => void) => handedOver ? fn() : deferred.push(fn);
  ws.on("error", (e) => {
    later(() => {
      if (!duplex.destroyed) duplex.destroy(new PortForwardStreamError(e.message));
    });
  });
  ws.on("close", () => {
    later(() => {
      if (duplex.destroyed) return;
      if (errText.trim()) duplex.destroy(new PortForwardStreamError(errText.trim()));
      else if (!closedByUs) duplex.push(null);
    });
  });
  await new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      ws.terminate();
      reject(new KodamaError("port-forward cancelled", ExitCode.INTERRUPTED));
    };
    o.signal?.addEventListener("abort", onAbort, { once: true });
    const done = () => o.signal?.removeEventListener("abort", onAbort);
    ws.once("open", () => {
      done();
      resolve();
    });
    ws.once("unexpected-response", (_req, res) => {
      done();
      readBody(res).then((msg) => reject(upgradeError(res.statusCode ?? 0, msg, namespace, pod)));
    });
    ws.once("error", (e: Error) => {
      done();
      // e.g. the proxy (proxy-url / HTTPS_PROXY) is unreachable: that message names the proxy and context
      if (e instanceof KodamaError) return reject(e);
      const msg = e instanceof Error ? e.message : String(e);
      reject(
        new KodamaError(
          `port-forward to pod ${pod} in namespace ${namespace} failed: ${msg}`,
          ExitCode.FAILED,
        ),
      );
    });
  });

  setTimeout(() => {
    handedOver = true;
    for (const fn of deferred.splice(0)) fn();
  }, 0);
  return duplex;
}
