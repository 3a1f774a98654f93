/**
 * In-process exec over WebSocket — the only place that opens exec streams (no kubectl subprocess).
 *
 * We speak the Kubernetes channel protocol ourselves instead of using client-node's `Exec`:
 *  - `v5.channel.k8s.io` first (its close frame `255,0` lets the remote see stdin EOF); `v4` when the
 *    command reads no stdin. v4 cannot end stdin, so a command that must see stdin end (`cp` into a
 *    pod, `exec -i` with piped stdin, fan-out with stdin) is offered v5 only, and on a server without it
 *    (Kubernetes before 1.30) runs over SPDY/3.1 instead, as kubectl does (./spdy.ts; docs/exec-transport.md);
 *  - two transports behind one interface:
 *      native — Deno's built-in WebSocket with a `Deno.HttpClient` holding the kubeconfig's CA and
 *               client certificate (Rust TLS + framing: ~3x less CPU and memory per pod than npm:ws,
 *               which matters for fan-out over 100 pods); a command whose stdin is streamed to its end
 *               (exec -i, a fan-out with stdin, a sync push) uses kodama's own WebSocket client (./ws_client.ts) over
 *               Deno's TLS (./tls_upgrade.ts `dialTls`) with the same material instead: stdin framed and masked in place in
 *               WebAssembly, one TLS write a frame (bench/README.md, stop 93; `KODAMA_WS_CLIENT=deno`
 *               keeps Deno's);
 *      ws     — npm:ws over node:https, used when the cluster needs what the native client lacks
 *               (a proxy — proxy-url or HTTPS_PROXY, tunnelled with CONNECT —, insecure-skip-tls-verify,
 *               basic auth), when the caller needs
 *               receive-side backpressure (an async output callback, e.g. `cp` writing to disk), and
 *               to read the precise HTTP error when a native handshake is refused;
 *  - binary-safe stdin with send-side backpressure (wait while >1 MiB is buffered);
 *  - TLS material and auth headers computed once per kubeconfig and reused for every pod;
 *  - the exit code comes from the status channel (3): `Success` -> 0, `NonZeroExitCode` -> its
 *    `ExitCode` cause; a socket that closes without a status frame is a dropped stream — an error
 *    result for that pod, never a crash.
 */
import { hostPlatform, keepFreedHeap } from "../base/platform.ts";
import type WebSocketNode from "ws";
import type { KubeConfigLite as KubeConfig } from "./config.ts";
import type { Kube } from "./client.ts";
import { toKodamaError, unreachable } from "./errors.ts";
import type { UpgradeLimit } from "./spdy_frames.ts";
import type { NativeTls } from "./tls_upgrade.ts";
import { proxyAgent, proxyFor } from "./proxy.ts";
import { nativeClient } from "./native.ts";
import { openWsClient, WsHandshakeError } from "./ws_client.ts";
import { ExitCode, KodamaError } from "../base/errors.ts";
import { enabled, log } from "../base/log.ts";
import { concatBytes, reusedReads } from "../base/text/bytes.ts";
import { EXEC_HOLDER_MARK } from "./execmark.ts";
import WRAP_HEAD from "./pod/wraphead.sh" with { type: "text" };
import WRAP from "./pod/wrap.sh" with { type: "text" };
import HOLD from "./pod/hold.sh" with { type: "text" };
import KILLER_SH from "./pod/killer.sh" with { type: "text" };
import { after } from "../base/proc/timer.ts";
import { type Clock, realClock } from "../base/clock.ts";
import { KUBE_LIMITS, readCapped, tooLarge } from "./bounds.ts";
import { quote } from "../base/text/escape.ts";

/** `KODAMA_WS_CLIENT=deno`: streamed stdin over Deno's built-in WebSocket too, not kodama's own client */
const DENO_WS = Deno.env.get("KODAMA_WS_CLIENT") === "deno";
// Deno loads its WebSocket implementation on first use: here, with this module, which a command
// that will open a stream loads while it waits for the cluster (src/pods/exec_cmd.ts, `execModule`)
void globalThis.WebSocket;

export interface TermSize {
  cols: number;
  rows: number;
}

/** An output callback; returning a Promise pauses the stream until it settles (ws transport). */
export type OutputFn = (chunk: Uint8Array) => void | Promise<void>;

/**
 * A source the transport reads stdin from itself, straight into the buffer its frame goes out of (a pipe or
 * file: `Deno.stdin`): no copy between the read and the socket. `read` as Deno.Reader's: the bytes read,
 * `null` at the end.
 */
export interface StdinReader {
  read(p: Uint8Array): Promise<number | null>;
}

export interface ExecStreams {
  stdin?: ReadableStream<Uint8Array> | Uint8Array | StdinReader;
  stdout?: OutputFn;
  stderr?: OutputFn;
  tty?: boolean;
  resize?: AsyncIterable<TermSize>;
  signal?: AbortSignal;
  /** output callbacks are async and must pause the socket while they run (forces the ws transport) */
  backpressure?: boolean;
  /** called once the stream is open (the command is starting) */
  onOpen?: (protocol: string) => void;
  /**
   * Each stdin chunk is valid only until the next one is read (the producer reads the next file into the
   * same buffer): a transport that keeps what it is given past the call copies it first. Saves a fresh
   * buffer per chunk, whose allocation and garbage cost more CPU than the bytes' way to the socket.
   */
  stdinReused?: boolean;
  /**
   * End the command in the pod when `signal` aborts (default true without a TTY): closing an exec
   * stream does not stop the process on a real cluster. It runs under `sh -c` that reports its process
   * group, and an abort kills that group over a second exec. A TTY session hangs up instead (SIGHUP).
   */
  endOnAbort?: boolean;
}

export interface ExecResult {
  /** the remote exit code; 1 when `error` is set */
  exitCode: number;
  /** set when the command did not run to an exit status: the stream dropped, was aborted, or the server refused to run it */
  error?: string;
  /** dropped: socket closed without a status; aborted: our signal; remote: the server reported a failure that is not an exit code */
  errorKind?: "dropped" | "aborted" | "remote";
  /**
   * After an abort: what became of the command in the pod. `ended` — its process group was killed
   * over a second exec; `not started` — the stream never opened; `unknown` — it could not be ended
   * (`endError` says why), it may still run.
   */
  remote?: "ended" | "not started" | "unknown";
  endError?: string;
}

const V5 = "v5.channel.k8s.io";
const PROTOCOLS = [V5, "v4.channel.k8s.io"];
const STDIN = 0, STDOUT = 1, STDERR = 2, STATUS = 3, RESIZE = 4, CLOSE = 255;
const CHUNK = 64 * 1024;
const HIGH_WATER = 1 << 20;

interface WsTarget {
  /** wss://host[:port][/prefix] */
  base: string;
  /** https://host[:port][/prefix] */
  server: string;
  /** npm:ws / node:https options (ca, cert, key, headers, agent, …) */
  options: WebSocketNode.ClientOptions;
  /** Deno's native client when the kubeconfig allows it */
  native?: { client: Deno.HttpClient; headers: Record<string, string>; tls: NativeTls };
  /** learnt from a refused v5-only handshake: this server has no v5.channel.k8s.io (use SPDY to end stdin) */
  noV5?: boolean;
}

const targets = new WeakMap<KubeConfig, { at: number; p: Promise<WsTarget> }>();
/** exec-plugin / OIDC tokens may rotate: recompute the auth material after this long */
const TARGET_TTL_MS = 60_000;

const text = (b: unknown): string | undefined =>
  b === undefined || b === null
    ? undefined
    : typeof b === "string"
    ? b
    : new TextDecoder().decode(b as Uint8Array);

/** TLS + auth options for requests to the current cluster, cached per kubeconfig. */
export function wsTarget(kc: KubeConfig): Promise<WsTarget> {
  const hit = targets.get(kc);
  if (hit && Date.now() - hit.at < TARGET_TTL_MS) return hit.p;
  const p = (async () => {
    const cluster = kc.getCurrentCluster();
    if (!cluster) {
      throw new KodamaError(
        "no cluster in the current kubeconfig context",
        2,
        "check --context / KUBECONFIG",
      );
    }
    const opts: Record<string, unknown> = {};
    await kc.applyToHTTPSOptions(opts as never);
    const server = cluster.server.replace(/\/+$/, "");
    const base = server.replace(/^http(s?):\/\//, (_m, s) => `ws${s}://`);
    const options: WebSocketNode.ClientOptions = {
      ...(opts as WebSocketNode.ClientOptions),
      perMessageDeflate: false,
      maxPayload: KUBE_LIMITS.frame, // as Deno's own WebSocket (bounds.ts)
      handshakeTimeout: 30_000,
    };
    // proxy-url / HTTPS_PROXY: every stream tunnels through the proxy (CONNECT) over npm:ws — Deno's
    // WebSocket ignores a Deno.HttpClient's proxy. Not keep-alive: an upgraded socket leaves the pool.
    const context = kc.getCurrentContext();
    const proxy = proxyFor(server, cluster.proxyUrl, context);
    if (proxy) options.agent = await proxyAgent(proxy, { context, cluster: cluster.name });
    let native: WsTarget["native"];
    // Deno's WebSocket joins repeated headers into one line: several Impersonate-Group values need npm:ws
    const repeatedHeaders = Object.values((opts.headers ?? {}) as object).some(Array.isArray);
    const nativeOk = !proxy && !cluster.skipTLSVerify && !cluster.tlsServerName && !opts.auth &&
      !opts.pfx && !repeatedHeaders && Deno.env.get("KODAMA_EXEC_TRANSPORT") !== "ws";
    if (nativeOk) {
      try {
        const ca = text(opts.ca);
        const cert = text(opts.cert);
        const key = text(opts.key);
        native = {
          client: nativeClient(ca, cert, key),
          headers: { ...(opts.headers as Record<string, string> | undefined) },
          tls: { ca, cert, key },
        };
      } catch {
        native = undefined; // e.g. a key format rustls does not read: npm:ws handles it
      }
    }
    return { base, server, options, native };
  })();
  targets.set(kc, { at: Date.now(), p });
  p.catch(() => targets.delete(kc));
  return p;
}

/**
 * Work out the cluster's stream target now (credentials, TLS client, proxy), while something else is
 * awaited — the pod's GET, the TLS set-up — so that the stream opens as soon as it may. A failure is
 * not reported here: the stream's own call to wsTarget reports it, in its words.
 */
export function prepareStreams(kube: Kube): void {
  wsTarget(kube.kc).catch(() => {});
}

/** Parse the status channel payload into an exit code (or an error message). */
export function parseStatus(body: string): { exitCode: number; error?: string } {
  let st: {
    status?: string;
    reason?: string;
    message?: string;
    details?: { causes?: { reason?: string; message?: string }[] };
  };
  try {
    st = JSON.parse(body);
  } catch {
    return { exitCode: 1, error: `unreadable exec status: ${body.slice(0, 200)}` };
  }
  if (st.status === "Success") return { exitCode: 0 };
  if (st.reason === "NonZeroExitCode") {
    const cause = st.details?.causes?.find((c) => c.reason === "ExitCode");
    const n = Number(cause?.message);
    if (Number.isInteger(n)) return { exitCode: n };
  }
  return { exitCode: 1, error: st.message || st.reason || "exec failed" };
}

export function execPath(
  ns: string,
  pod: string,
  container: string,
  command: string[],
  o: { tty?: boolean; stdin?: boolean },
) {
  const q = new URLSearchParams();
  for (const c of command) q.append("command", c);
  if (container) q.set("container", container);
  q.set("stdout", "true");
  // with a TTY the remote merges stderr into stdout (kubectl sends stderr=false too)
  q.set("stderr", o.tty ? "false" : "true");
  if (o.stdin) q.set("stdin", "true");
  if (o.tty) q.set("tty", "true");
  return `/api/v1/namespaces/${encodeURIComponent(ns)}/pods/${encodeURIComponent(pod)}/exec?${q}`;
}

/** Frame `data` for channel `channel` (one leading channel byte); exec and port-forward share it. */
export function frame(channel: number, data: Uint8Array): Uint8Array {
  const b = new Uint8Array(data.length + 1);
  b[0] = channel;
  b.set(data, 1);
  return b;
}

// ---------------------------------------------------------------------------------------------
// transports

interface Handlers {
  message(data: Uint8Array): void;
  /** the socket closed (after open) */
  close(): void;
  /** a socket error after open */
  error(message: string): void;
}

interface Channel {
  readonly protocol: string;
  send(b: Uint8Array): void;
  /**
   * stdin bytes as they are (SPDY: no channel byte, so no copy; Deno's WebSocket: framed in one reused
   * buffer, which `send` copies at once); else `send(frame(STDIN, b))` per CHUNK. `reused`: `b` is
   * rewritten after the call, so a transport that keeps it copies it.
   */
  sendStdin?(b: Uint8Array, reused?: boolean): void;
  /**
   * Read stdin from `r` into the transport's own frame buffers and send each as it is read, until `r` ends
   * (true) or the stream closes (false); the caller ends stdin after.
   */
  pumpReader?(r: StdinReader): Promise<boolean>;
  /** begin delivering the server's messages (kodama's own client reads nothing until the caller holds it) */
  start?(): void;
  /** resolves once less than HIGH_WATER is buffered */
  drain(): Promise<void>;
  terminate(): void;
  pause(): void;
  resume(): void;
  readonly open: boolean;
}

class OpenError extends Error {
  constructor(
    message: string,
    readonly statusCode?: number,
    readonly body?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A `Channel` over a socket described by a few accessors (the two socket kinds differ only there). */
function channelOf(s: {
  protocol(): string;
  send(b: Uint8Array): void;
  sendStdin?(b: Uint8Array, reused?: boolean): void;
  pumpReader?(r: StdinReader, drain: () => Promise<void>): Promise<boolean>;
  start?(): void;
  buffered(): number;
  isOpen(): boolean;
  terminate(): void;
  pause?(): void;
  resume?(): void;
}): Channel {
  const drain = async () => {
    while (s.buffered() > HIGH_WATER && s.isOpen()) {
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  return {
    get protocol() {
      return s.protocol();
    },
    send: (b) => s.send(b),
    sendStdin: s.sendStdin && ((b, reused) => s.sendStdin!(b, reused)),
    pumpReader: s.pumpReader && ((r) => s.pumpReader!(r, drain)),
    start: s.start && (() => s.start!()),
    drain,
    terminate: () => s.terminate(),
    pause: () => s.pause?.(),
    resume: () => s.resume?.(),
    get open() {
      return s.isOpen();
    },
  };
}

/**
 * The open handshake both socket kinds share: until the socket opens, an abort, error or close
 * rejects the open promise; after, errors and the close go to `h`.
 */
function handshake(
  h: Handlers,
  terminate: () => void,
  resolve: (ch: Channel) => void,
  reject: (e: unknown) => void,
  signal?: AbortSignal,
) {
  let opened = false;
  const onAbort = () => {
    terminate();
    if (!opened) reject(new OpenError("cancelled"));
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  return {
    opened(ch: Channel) {
      opened = true;
      signal?.removeEventListener("abort", onAbort);
      resolve(ch);
    },
    /** before open: reject with `err()`; after: report `message` */
    error(err: () => unknown, message: string) {
      if (!opened) {
        signal?.removeEventListener("abort", onAbort);
        reject(err());
      } else h.error(message);
    },
    closed() {
      if (!opened) {
        signal?.removeEventListener("abort", onAbort);
        reject(new OpenError("connection closed during the exec handshake"));
      } else h.close();
    },
  };
}

/** After the last send, empty messages this long after it (ms), while nothing else is sent (flushTail) */
const FLUSH_AT = [20, 100, 300, 1000, 2000];
/** and no more once the stream has been quiet this long */
const FLUSH_FOR_MS = 120_000;
const EMPTY = new Uint8Array(0);

/**
 * `send` for Deno's WebSocket with the tail of what it sent pushed out. Deno 2.9's WebSocket over `wss:`
 * can leave the end of its last frame in the TLS layer, unsent, when the socket was full as that frame
 * went out (the server reading slowly), until something else is written (denoland/deno#36862; the fix,
 * deno#36863, is not in a release). An upload's last bytes and the `255,0` that ends stdin were then held
 * back for as long as the stream stayed quiet: the command in the pod waited for its input to end, and a
 * sync batch was given up as stalled after a minute. So while nothing else is sent after a send, an empty
 * binary message follows at each of `at` (ms after it; the last one repeats), for `forMs` at most:
 * writing it pushes out what was left. The API server and the kubelet skip empty messages (wsstream
 * `Conn.handle`: `if len(data) == 0 { continue }`), as the test server does. The timer is Deno's own
 * (timer.ts `after`, not the global timers that load Deno's Node layer); `stop` ends it with the stream.
 * `clock`: tests run it on a manual one (src/base/clock.ts).
 */
export function flushTail(
  send: (b: Uint8Array) => void,
  open: () => boolean,
  at: readonly number[] = FLUSH_AT,
  forMs = FLUSH_FOR_MS,
  clock: Clock = realClock,
): { send: (b: Uint8Array) => void; stop: () => void } {
  let last = 0, step = 0, stopped = false;
  let cancel: (() => void) | undefined;
  const gap = () => at[Math.min(step, at.length - 1)];
  const arm = (ms: number) => void (cancel = clock.after(ms, fire));
  const fire = () => {
    cancel = undefined;
    const quiet = clock.now() - last;
    if (stopped || !open() || quiet > forMs) return;
    // sent again since this was armed: wait until the new send is as old as the step asks
    if (quiet < gap()) return arm(gap() - quiet);
    send(EMPTY);
    step++;
    arm(gap());
  };
  return {
    send(b) {
      send(b);
      last = clock.now();
      step = 0;
      if (!cancel && !stopped) arm(gap());
    },
    /** the stream is over: the pending timer would keep the process alive until it fired */
    stop() {
      stopped = true;
      cancel?.();
      cancel = undefined;
    },
  };
}

function openNative(
  url: string,
  n: NonNullable<WsTarget["native"]>,
  h: Handlers,
  protocols: string[],
  signal?: AbortSignal,
): Promise<Channel> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { protocols, headers: n.headers, client: n.client });
    ws.binaryType = "arraybuffer";
    const hs = handshake(h, () => ws.close(), resolve, reject, signal);
    const open = () => ws.readyState === WebSocket.OPEN;
    const tail = flushTail((b) => ws.send(b), open);
    // Deno's `send` copies the bytes before it returns (op_ws_send_binary): one scratch buffer frames them all
    let scratch: Uint8Array | undefined;
    const ch = channelOf({
      protocol: () => ws.protocol,
      send: tail.send,
      sendStdin(b) {
        scratch ??= new Uint8Array(CHUNK + 1);
        scratch[0] = STDIN;
        for (let off = 0; off < b.length; off += CHUNK) {
          const piece = b.subarray(off, off + CHUNK);
          scratch.set(piece, 1);
          tail.send(scratch.subarray(0, piece.length + 1));
        }
      },
      // stdin read into the scratch buffer after its channel byte: framed where it lands
      async pumpReader(r, drain) {
        scratch ??= new Uint8Array(CHUNK + 1);
        const body = scratch.subarray(1);
        while (true) {
          const n = await r.read(body);
          if (n === null) return true;
          if (!open()) return false;
          if (n === 0) continue;
          scratch[0] = STDIN;
          tail.send(scratch.subarray(0, n + 1));
          await drain();
        }
      },
      buffered: () => ws.bufferedAmount,
      isOpen: open,
      terminate: () => {
        tail.stop();
        ws.close();
      },
    });
    ws.onopen = () => hs.opened(ch);
    ws.onmessage = (e) => {
      if (typeof e.data !== "string") h.message(new Uint8Array(e.data as ArrayBuffer));
    };
    ws.onerror = (e) => {
      const msg = (e as ErrorEvent).message || "websocket error";
      tail.stop();
      hs.error(() => new OpenError(msg), msg);
    };
    ws.onclose = () => {
      tail.stop();
      hs.closed();
    };
  });
}

/**
 * kodama's own WebSocket client (./ws_client.ts) over Deno's TLS with the native target's material: stdin
 * framed and masked in place in a WebAssembly memory, one TlsConn.write a frame (so no flushTail: each write
 * flushes). A refusal is an OpenError with the server's status and body.
 */
async function openOwnWs(
  url: string,
  n: NonNullable<WsTarget["native"]>,
  h: Handlers,
  protocols: string[],
  signal?: AbortSignal,
  limit?: UpgradeLimit,
): Promise<Channel> {
  try {
    const c = await openWsClient(url, n.tls, n.headers, protocols, h, signal, limit);
    return channelOf({
      protocol: () => c.protocol,
      send: (b) => c.send(b),
      sendStdin: (b) => c.sendStdin(b),
      pumpReader: (r) => c.pumpReader(r),
      start: () => c.start(),
      buffered: () => c.buffered(),
      isOpen: () => c.isOpen(),
      terminate: () => c.terminate(),
      pause: () => c.pause(),
      resume: () => c.resume(),
    });
  } catch (e) {
    if (e instanceof WsHandshakeError) throw new OpenError(e.message, e.statusCode, e.body, { cause: e });
    throw e;
  }
}

/** The native target's WebSocket for a streamed stdin: kodama's own client, or Deno's with KODAMA_WS_CLIENT=deno. */
function openNativeWs(
  url: string,
  n: NonNullable<WsTarget["native"]>,
  h: Handlers,
  protocols: string[],
  signal?: AbortSignal,
  limit?: UpgradeLimit,
): Promise<Channel> {
  return DENO_WS ? openNative(url, n, h, protocols, signal) : openOwnWs(url, n, h, protocols, signal, limit);
}

/** npm:ws, loaded only for the fallback transport (~5 ms of start-up otherwise). */
let wsModule: Promise<typeof WebSocketNode> | undefined;

async function openWs(
  url: string,
  t: WsTarget,
  h: Handlers,
  protocols: string[],
  signal?: AbortSignal,
): Promise<Channel> {
  const WS = await (wsModule ??= import("ws").then((m) => m.default));
  return new Promise((resolve, reject) => {
    const ws = new WS(url, protocols, t.options);
    const hs = handshake(h, () => ws.terminate(), resolve, reject, signal);
    const ch = channelOf({
      protocol: () => ws.protocol,
      send: (b) => ws.send(b, { binary: true }),
      buffered: () => ws.bufferedAmount,
      isOpen: () => ws.readyState === WS.OPEN,
      terminate: () => ws.terminate(),
      pause: () => ws.pause(),
      resume: () => ws.resume(),
    });
    ws.once("open", () => hs.opened(ch));
    ws.once("unexpected-response", (_req, res) => {
      // bounded (bounds.ts): a refusal whose body never ends is cut, and reported with what came
      readCapped(res).then((body) =>
        reject(new OpenError(`HTTP ${res.statusCode}`, res.statusCode ?? 500, body))
      );
    });
    ws.on("message", (raw: Uint8Array | ArrayBuffer | Uint8Array[], isBinary: boolean) => {
      if (!isBinary) return;
      h.message(
        raw instanceof Uint8Array ? raw : Array.isArray(raw) ? concatBytes(raw) : new Uint8Array(raw),
      );
    });
    ws.on("error", (e) => hs.error(() => e, (e as Error).message));
    ws.on("close", () => hs.closed());
  });
}

/** SPDY/3.1 (./spdy.ts) behind the same Channel; its stdin can be half-closed like v5's. */
async function openSpdy(
  url: string,
  t: WsTarget,
  h: Handlers,
  o: { stdin: boolean; tty: boolean },
  signal?: AbortSignal,
  limit?: UpgradeLimit,
): Promise<Channel> {
  // loaded for this fallback only: the SPDY modules bring node:http and node:https
  const { openSpdyExec, SpdyUpgradeError } = await import("./spdy.ts");
  try {
    const c = await openSpdyExec(
      url.replace(/^ws(s?):/, "http$1:"),
      t.options as never,
      { stdin: o.stdin, stdout: true, stderr: true, tty: o.tty },
      h,
      signal,
      limit,
      // Deno's own TLS where its WebSocket would do (./tls_upgrade.ts): cheaper per byte than node:https
      t.native && Deno.env.get("KODAMA_SPDY_TRANSPORT") !== "node"
        ? { tls: t.native.tls, headers: t.native.headers }
        : undefined,
    );
    return channelOf({
      protocol: () => `SPDY/3.1+${c.protocol}`,
      send: (b) => c.send(b),
      sendStdin: (b, reused) => c.sendStdin(b, reused),
      pumpReader: (r, drain) => c.pumpReader(r, drain),
      buffered: () => c.buffered(),
      isOpen: () => c.isOpen(),
      terminate: () => c.terminate(),
      pause: () => c.pause(),
      resume: () => c.resume(),
    });
  } catch (e) {
    if (e instanceof SpdyUpgradeError) throw new OpenError(e.message, e.statusCode, e.body);
    throw e;
  }
}

/** Is this handshake refusal the API server's own (a Status: auth, RBAC, not found), not a missing protocol? */
function isApiStatus(e: unknown): boolean {
  const body = (e as { body?: string })?.body;
  if (typeof (e as { statusCode?: number })?.statusCode !== "number") return true; // no answer at all
  try {
    return JSON.parse(body ?? "")?.kind === "Status";
  } catch {
    return false;
  }
}

/**
 * Open the stream. A command whose stdin must end (piped, no TTY) needs a half-close: v5 or SPDY.
 * Such a command is offered v5 only — never v4, where it would start and then wait for an EOF that
 * cannot be sent — and a server that refuses the handshake for another reason than an API Status
 * (the kubelet of a pre-1.30 cluster answers 403 with no body) gets SPDY/3.1 instead, as kubectl's
 * fallback does; the server is remembered, so a fan-out asks once.
 */
async function openChannel(
  url: string,
  target: WsTarget,
  h: Handlers,
  s: ExecStreams,
  limit?: UpgradeLimit,
): Promise<Channel> {
  const halfClose = s.stdin !== undefined && !s.tty;
  const viaSpdy = () => openSpdy(url, target, h, { stdin: true, tty: false }, s.signal, limit);
  if (halfClose && target.noV5) return await viaSpdy();
  if (!halfClose) {
    // Deno's WebSocket: a stream without bulk stdin opens faster over it than over kodama's own client
    // (Deno's sets TCP_NODELAY, a Deno.TlsConn cannot: docs/exec-transport.md)
    if (target.native && !s.backpressure) {
      try {
        return await openNative(url, target.native, h, PROTOCOLS, s.signal);
      } catch (e) {
        if (s.signal?.aborted) throw e;
        // refused or failed: ask again over npm:ws, which reads the HTTP status and body for a precise error
      }
    }
    return await openWs(url, target, h, PROTOCOLS, s.signal);
  }
  try {
    return target.native && !s.backpressure
      ? await openNativeWs(url, target.native, h, [V5], s.signal, limit)
      : await openWs(url, target, h, [V5], s.signal);
  } catch (e) {
    // the native socket tells nothing about a refusal: SPDY's answer is precise (an API Status) when
    // the request itself is wrong, and a working stream when only v5 was missing
    if (
      s.signal?.aborted || e instanceof KodamaError ||
      (typeof (e as OpenError).statusCode === "number" && isApiStatus(e))
    ) throw e;
    const ch = await viaSpdy().catch((spdyErr) => {
      throw isApiStatus(spdyErr) ? spdyErr : new OpenError(
        "this API server offers neither v5.channel.k8s.io nor SPDY/3.1 for exec, so stdin cannot be " +
          `closed (WebSocket: ${describeOpenError(e)}; SPDY: ${describeOpenError(spdyErr)})`,
        501,
      );
    });
    target.noV5 = true;
    return ch;
  }
}

function describeOpenError(e: unknown): string {
  const err = e as { statusCode?: number; body?: string; message?: string };
  const body = (err.body ?? "").trim().split("\n")[0];
  return err.statusCode
    ? `HTTP ${err.statusCode}${body ? ` ${body.slice(0, 120)}` : ""}`
    : err.message ?? String(e);
}

// ---------------------------------------------------------------------------------------------

/**
 * The first stdout line of a wrapped command: `\x1ekodama-pid <pid>`, or `\x1ekodama-notfound`. On
 * stdout, so it is there before any output the command makes (an abort often follows its first lines).
 */
const MARK = "\x1ekodama-";
/**
 * The wrapper (pod/wraphead.sh, pod/wrap.sh): report the shell's PID — after `exec` the command's, and its
 * process group's, since an exec'd process leads its own session (runc, the test server) — and tag the
 * environment with the run's id ($0), which every process the command starts inherits; then become the
 * command. A command the container cannot find is reported as such instead of as sh's exit 127, so the
 * message stays the container runtime's. Its lines start with MARK (`\036` in the file).
 */
const WRAPPER = [WRAP_HEAD, WRAP].join("\n");
/**
 * The wrapper of a run that streams stdin (pod/hold.sh): the command runs as the shell's child and the shell
 * waits for it, holding the exec's stdout and stderr open until it ends (containerd closes an exec's stdin
 * the moment its stdout or stderr reaches its end: containerd#12734). Its last words are EXEC_HOLDER_MARK.
 * The printed PID is the shell's, the process group's leader, which KILLER ends with the command.
 */
const HOLDING_WRAPPER = [WRAP_HEAD, HOLD].join("\n");
/**
 * End a run (pod/killer.sh): `sh -c KILLER kodama-stop HEAD TAIL PGID|-` (TAG in two halves); prints how many
 * processes it found. A run not started yet is marked so that it never starts (pod/wraphead.sh).
 */
const KILLER: string = KILLER_SH;

/** The wrappers and the killer, for the unit test that pins them to MARK and EXEC_HOLDER_MARK. */
export const EXEC_PROGRAMS = { MARK, WRAPPER, HOLDING_WRAPPER, KILLER, EXEC_HOLDER_MARK };

/** pods/containers without a shell (distroless): their commands run unwrapped (cannot be ended remotely) */
const noShell = new Set<string>();

/** Splits the wrapper's first stdout line off; everything else goes to `next`. */
class MarkerReader {
  pid?: number;
  notFound = false;
  private head: Uint8Array[] = [];
  private size = 0;
  private done = false;
  constructor(private next: OutputFn | undefined) {}

  push(chunk: Uint8Array): void | Promise<void> {
    if (this.done) return this.next?.(chunk);
    this.head.push(chunk);
    this.size += chunk.length;
    const all = concatBytes(this.head);
    const nl = all.indexOf(10);
    if (nl < 0 && this.size < 256) return;
    this.done = true;
    this.head = [];
    const line = new TextDecoder().decode(all.subarray(0, nl < 0 ? 0 : nl));
    let rest = all;
    if (nl >= 0 && line.startsWith(MARK)) {
      rest = all.subarray(nl + 1);
      const m = /^pid (\d+)$/.exec(line.slice(MARK.length));
      if (m) this.pid = Number(m[1]);
      else if (line === `${MARK}notfound`) this.notFound = true;
    }
    if (rest.length) return this.next?.(rest);
  }

  /** whatever is still held back (a stream that ended before the first newline) */
  flush(): void {
    if (this.done) return;
    this.done = true;
    const all = concatBytes(this.head);
    if (all.length) this.next?.(all);
  }
}

/** Why a command has no exit code when its stream ended early, whatever the transport said. */
const STREAM_DROPPED = "stream dropped before the command finished (the connection closed)";

/** The longest exec URL sent: kube-apiserver's 1 MiB header limit, less room for the headers themselves. */
const MAX_EXEC_URL = (1 << 20) - 16 * 1024;

/**
 * Run `command` in a container and stream its I/O. Resolves with the exit code when the command
 * finishes, or with `error` when the stream dropped / was aborted after it opened; rejects with a
 * KodamaError when the stream could not be opened (auth -> 4, pod/container not found -> 3,
 * connection -> 1). Without a TTY an aborted command is ended in the pod (`endOnAbort`).
 */
export async function execInPod(
  kube: Kube,
  ns: string,
  pod: string,
  container: string,
  command: string[],
  s: ExecStreams = {},
): Promise<ExecResult> {
  const key = `${kube.server}/${ns}/${pod}/${container}`;
  if (s.tty || s.endOnAbort === false || noShell.has(key) || command.length === 0) {
    return await execRaw(kube, ns, pod, container, command, s);
  }
  if (s.signal?.aborted) {
    return { exitCode: 1, error: "cancelled", errorKind: "aborted", remote: "not started" };
  }
  const marker = new MarkerReader(s.stdout);
  const tag = `kodama-${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const wrapper = s.stdin === undefined ? WRAPPER : HOLDING_WRAPPER;
  const res = await execRaw(kube, ns, pod, container, ["sh", "-c", wrapper, tag, ...command], {
    ...s,
    stdout: (c) => marker.push(c),
  });
  marker.flush();
  if (res.errorKind === "remote" && /exec: "sh": executable file not found/.test(res.error ?? "")) {
    // no shell in this container: run the command as it is (it cannot be ended remotely then)
    noShell.add(key);
    return await execRaw(kube, ns, pod, container, command, s);
  }
  if (marker.notFound && res.exitCode === 127) {
    return {
      exitCode: 1,
      errorKind: "remote",
      error: `Internal error occurred: error executing command in container: exec: "${
        command[0]
      }": executable file not found in $PATH`,
    };
  }
  if (res.errorKind !== "aborted" && res.errorKind !== "dropped") return res;
  // the stream is gone, the command may not be (it may even be starting just now): end it in the pod
  const end = await endRemote(kube, ns, pod, container, tag, marker.pid);
  return { ...res, ...end };
}

/** End a cut-off run in the container over a second exec (bounded: 10 s). */
async function endRemote(
  kube: Kube,
  ns: string,
  pod: string,
  container: string,
  tag: string,
  pid: number | undefined,
): Promise<Pick<ExecResult, "remote" | "endError">> {
  let out = "";
  try {
    const r = await execRaw(
      kube,
      ns,
      pod,
      container,
      // the tag in two halves: whole, it would be in the killer's own command line, which it searches
      [
        "sh",
        "-c",
        KILLER,
        "kodama-stop",
        tag.slice(0, 9),
        tag.slice(9),
        pid === undefined ? "-" : String(pid),
      ],
      { signal: AbortSignal.timeout(10_000), stdout: (b) => void (out += new TextDecoder().decode(b)) },
    );
    if (r.error) return { remote: "unknown", endError: r.error };
    return { remote: Number(out.trim()) > 0 || pid !== undefined ? "ended" : "not started" };
  } catch (e) {
    return { remote: "unknown", endError: (e as Error).message.split("\n")[0] };
  }
}

/**
 * How long an exec keeps trying a container its pod says is running while the kubelet answers `container not
 * found`: a kubelet finds containers in a runtime cache refreshed every ~2 s, so right after a container
 * starts (the pod already Running) it does not know it yet — kubectl fails there; under load, for longer.
 */
const RUNTIME_CACHE_MS = 8_000;

/** the open errors that were the kubelet's `container not found` (mapOpenError) */
const containerMissing = new WeakSet<KodamaError>();

/**
 * Was this the kubelet's `container not found` for a container the pod declares? Exec's callers then read
 * the pod again: a container that exited between their look at its status and the exec (a crash loop's
 * brief run) is "not running", exit 1, not "not found", exit 3.
 */
export function isContainerMissing(e: unknown): boolean {
  return e instanceof KodamaError && containerMissing.has(e);
}

/**
 * execOnce, tried again while the kubelet says `container not found` for a container the pod's status says
 * is running (RUNTIME_CACHE_MS). The stream never opened: nothing ran and stdin was not read. A container
 * the pod does not run (a wrong `-c`, one that ended) fails at once, as before.
 */
async function execRaw(
  kube: Kube,
  ns: string,
  pod: string,
  container: string,
  command: string[],
  s: ExecStreams = {},
): Promise<ExecResult> {
  const until = Date.now() + RUNTIME_CACHE_MS;
  for (let pause = 200;; pause = Math.min(pause * 2, 1000)) {
    try {
      return await execOnce(kube, ns, pod, container, command, s);
    } catch (e) {
      if (!(e instanceof KodamaError) || !containerMissing.has(e) || Date.now() + pause > until) throw e;
      if (s.signal?.aborted || !(await containerRuns(kube, ns, pod, container))) throw e;
      log("debug", ["kube"], `exec in ${pod}: the kubelet does not know container ${container} yet; again`);
      await new Promise<void>((r) => after(pause, r));
    }
  }
}

/** Does the pod's status say `container` is running (containers, init and ephemeral ones)? */
async function containerRuns(kube: Kube, ns: string, pod: string, container: string): Promise<boolean> {
  type Statuses = { name: string; state?: { running?: unknown } }[];
  try {
    const p = await kube.request<{ status?: Record<string, Statuses | undefined> }>(
      { verb: "get", resource: "pods", namespace: ns, name: pod },
      "GET",
      `/api/v1/namespaces/${encodeURIComponent(ns)}/pods/${encodeURIComponent(pod)}`,
    );
    const all = ["containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"]
      .flatMap((k) => p.status?.[k] ?? []);
    return all.some((c) => c.name === container && c.state?.running !== undefined);
  } catch {
    return false;
  }
}

/** One exec stream, exactly the command given (see execInPod). */
async function execOnce(
  kube: Kube,
  ns: string,
  pod: string,
  container: string,
  command: string[],
  s: ExecStreams = {},
): Promise<ExecResult> {
  const what = { verb: "create", resource: "pods/exec", namespace: ns, name: pod };
  if (s.signal?.aborted) return { exitCode: 1, error: "cancelled", errorKind: "aborted" };
  let target: WsTarget;
  try {
    target = await wsTarget(kube.kc);
  } catch (e) {
    throw toKodamaError(e, what, kube);
  }
  const url = target.base +
    execPath(ns, pod, container, command, { tty: s.tty, stdin: s.stdin !== undefined });
  // the arguments travel in the URL; kube-apiserver reads at most 1 MiB of request line and headers
  if (url.length > MAX_EXEC_URL) {
    throw new KodamaError(
      `the command is too long to send: its arguments make a ${
        Math.round(url.length / 1024)
      } KiB request, and the API server reads at most 1 MiB`,
      ExitCode.USAGE,
      "send long input on stdin instead (kodama exec -i … < file)",
    );
  }

  let done = false;
  let status: { exitCode: number; error?: string } | undefined;
  let paused = 0;
  let ch: Channel | undefined;
  const result = Promise.withResolvers<ExecResult>();
  const outstanding = new Set<Promise<void>>();
  const finish = (r: ExecResult) => {
    if (done) return;
    done = true;
    s.signal?.removeEventListener("abort", onAbort);
    // output callbacks still writing (async consumers) finish before the result is reported
    if (outstanding.size === 0 || r.errorKind === "aborted") result.resolve(r);
    else Promise.allSettled([...outstanding]).then(() => result.resolve(r));
  };
  const onAbort = () => {
    ch?.terminate();
    finish({ exitCode: 1, error: "cancelled", errorKind: "aborted" });
  };
  const deliver = (fn: OutputFn | undefined, data: Uint8Array) => {
    if (!fn) return;
    const r = fn(data);
    if (r && typeof (r as Promise<void>).then === "function") {
      if (paused++ === 0) ch?.pause();
      const p = r as Promise<void>;
      outstanding.add(p);
      const resume = () => {
        outstanding.delete(p);
        if (--paused === 0 && !done) ch?.resume();
      };
      p.then(resume, resume);
    }
  };
  const handlers: Handlers = {
    message(data) {
      if (data.length === 0) return;
      const body = data.subarray(1);
      switch (data[0]) {
        case STDOUT:
          if (body.length) deliver(s.stdout, body);
          break;
        case STDERR:
          if (body.length) deliver(s.stderr, body);
          break;
        case STATUS:
          status = parseStatus(new TextDecoder().decode(body));
          // the status is the last thing the server sends, so the command is over. Waiting for the
          // server to close the TCP connection as well costs nothing on most servers, but a server
          // behind kube-apiserver's proxy does not close it until we do, and npm:ws waits 30 s for it
          handlers.close();
          ch?.terminate();
          break;
        default: // CLOSE (v5) and unknown channels
          break;
      }
    },
    close() {
      if (status) finish(status.error ? { ...status, errorKind: "remote" } : status);
      // our abort closed it (a transport may close on the signal before onAbort runs: SPDY's socket does)
      else if (s.signal?.aborted) onAbort();
      else finish({ exitCode: 1, error: STREAM_DROPPED, errorKind: "dropped" });
    },
    error(message) {
      if (!status && /frame too large|max payload size exceeded/i.test(message)) {
        // one message over KUBE_LIMITS.frame (Deno's WebSocket and npm:ws refuse it): said plainly
        ch?.terminate();
        const e = tooLarge("frame", { verb: "exec", resource: "pod", name: pod, namespace: ns });
        finish({ exitCode: 1, error: e.message, errorKind: "dropped" });
      } else if (!status && s.signal?.aborted) {
        onAbort();
      } else if (!status) {
        ch?.terminate();
        // the TLS library's words ("peer closed connection without sending TLS close_notify: https://docs.rs/…")
        // say nothing to a user; they go to the debug log
        if (enabled("debug")) log("debug", ["kube"], `exec stream of ${pod}: ${message}`);
        finish({ exitCode: 1, error: STREAM_DROPPED, errorKind: "dropped" });
      }
    },
  };

  // a server that never answers the upgrade: give up after the answer timeout, naming it (exit 5)
  const limit = AbortSignal.timeout(kube.answerTimeoutMs);
  let onLimit = () => {};
  const silent = new Promise<never>((_, reject) => {
    onLimit = () => reject(kube.timeoutError(what, "GET", new URL(url.replace(/^ws/, "http"))));
    limit.addEventListener("abort", onLimit, { once: true });
  });
  // the SPDY fallback's own bound (same limit): it closes that socket if the server never answers the upgrade
  const opening = openChannel(url, target, handlers, s, {
    ms: kube.answerTimeoutMs,
    error: () => unreachable(kube.timeoutError(what, "POST", new URL(url.replace(/^ws/, "http")))),
  });
  try {
    ch = await Promise.race([opening, silent]);
  } catch (e) {
    if (limit.aborted && e instanceof KodamaError) {
      opening.then((c) => c.terminate(), () => {}); // it may still open later: close it then
      throw e;
    }
    if (s.signal?.aborted) return { exitCode: 1, error: "cancelled", errorKind: "aborted" };
    // a rotated token (token file, exec plugin): the next stream re-reads the credentials
    if ((e as { statusCode?: number })?.statusCode === 401) {
      kube.kc.invalidateCredentials(); // else the exec plugin's cached (expired) token would be applied again
      targets.delete(kube.kc);
    }
    throw mapOpenError(e, what, kube, container);
  } finally {
    limit.removeEventListener("abort", onLimit);
  }
  if (s.signal?.aborted) {
    ch.terminate();
    return { exitCode: 1, error: "cancelled", errorKind: "aborted" };
  }
  s.signal?.addEventListener("abort", onAbort, { once: true });
  ch.start?.();
  if (enabled("debug")) {
    log("debug", ["kube"], `exec stream of ${pod} open: ${ch.protocol || "no subprotocol"}`);
  }
  s.onOpen?.(ch.protocol);
  // each frame in or out is a fresh buffer: a stream that moves bulk bytes (a sync, cp, exec -i, a big
  // stdout) must not give its heap back to the kernel between frames (src/base/platform.ts)
  keepFreedHeap(hostPlatform());
  // v5 and SPDY can end stdin; v4 cannot (only a TTY session gets v4 with stdin, where EOF is a keystroke)
  const canClose = ch.protocol === V5 || ch.protocol.startsWith("SPDY/");
  if (s.stdin !== undefined) {
    pumpStdin(ch, s.stdin, canClose, s.stdinReused).catch(
      () => {/* the close handler reports the stream's fate */},
    );
  }
  if (s.tty && s.resize) {
    const c = ch;
    (async () => {
      for await (const size of s.resize!) {
        if (done || !c.open) break;
        c.send(
          frame(RESIZE, new TextEncoder().encode(JSON.stringify({ Width: size.cols, Height: size.rows }))),
        );
      }
    })().catch(() => {});
  }
  return await result.promise;
}

async function pumpStdin(
  ch: Channel,
  stdin: ReadableStream<Uint8Array> | Uint8Array | StdinReader,
  canClose: boolean,
  reused = false,
): Promise<void> {
  if (isReader(stdin)) {
    // the transport reads into its own frames; else the reads go through one reused buffer
    if (ch.pumpReader) {
      if (!(await ch.pumpReader(stdin))) return;
      if (canClose && ch.open) ch.send(new Uint8Array([CLOSE, STDIN]));
      return;
    }
    stdin = reusedReads(stdin);
    reused = true;
  }
  const sendAll = async (buf: Uint8Array) => {
    if (ch.sendStdin) {
      // SPDY: the bytes go out as they are, in big data frames (the chunk is not copied to add a channel byte);
      // Deno's WebSocket: framed in one reused buffer
      if (!ch.open) return false;
      ch.sendStdin(buf, reused);
      await ch.drain();
      return true;
    }
    for (let off = 0; off < buf.length; off += CHUNK) {
      if (!ch.open) return false;
      ch.send(frame(STDIN, buf.subarray(off, off + CHUNK)));
      await ch.drain();
    }
    return true;
  };
  if (stdin instanceof Uint8Array) {
    if (!(await sendAll(stdin))) return;
  } else {
    const reader = stdin.getReader();
    try {
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        if (!(await sendAll(value))) return;
      }
    } finally {
      reader.releaseLock();
    }
  }
  // EOF: v5 and SPDY half-close stdin
  if (canClose && ch.open) ch.send(new Uint8Array([CLOSE, STDIN]));
}

function isReader(s: ReadableStream<Uint8Array> | Uint8Array | StdinReader): s is StdinReader {
  return !(s instanceof Uint8Array) && !(s instanceof ReadableStream) && typeof s.read === "function";
}

function mapOpenError(
  e: unknown,
  what: { verb: string; resource: string; namespace: string; name: string },
  kube: Kube,
  container: string,
): KodamaError {
  if (e instanceof KodamaError) return e;
  if (e instanceof OpenError && e.statusCode === 501) {
    return new KodamaError(`exec in pod ${what.name} (namespace ${what.namespace}) failed: ${e.message}`, 1);
  }
  const err = e as { statusCode?: number; body?: string };
  if (err?.statusCode === 400 || err?.statusCode === 500) {
    let msg = "";
    try {
      msg = JSON.parse(err.body ?? "").message ?? "";
    } catch {
      msg = (err.body ?? "").trim().split("\n")[0];
    }
    if (/container .*(is )?not (valid|found)/i.test(msg)) {
      const e = new KodamaError(`container ${quote(container)} not found in pod ${what.name}`, 3, msg);
      containerMissing.add(e);
      return e;
    }
    if (/not running|pending|ContainerCreating|terminated|waiting/i.test(msg)) {
      return new KodamaError(
        `cannot exec in pod ${what.name}: ${msg}`,
        1,
        "wait for the pod: kodama wait --for ready",
      );
    }
    return new KodamaError(
      `exec in pod ${what.name} (namespace ${what.namespace}) failed: ${msg || `HTTP ${err.statusCode}`}`,
      1,
    );
  }
  if (typeof err?.statusCode === "number") {
    return toKodamaError({ statusCode: err.statusCode, body: err.body }, what, kube);
  }
  return toKodamaError(e, what, kube);
}
