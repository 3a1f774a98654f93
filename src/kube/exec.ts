/**
 * In-process exec over WebSocket — the only place that opens exec streams (no kubectl subprocess).
 *
 * We speak the Kubernetes channel protocol ourselves instead of using client-node's `Exec`:
 *  - `v5.channel.k8s.io` first (its close frame `255,0` lets the remote see stdin EOF), `v4` fallback;
 *  - two transports behind one interface:
 *      native — Deno's built-in WebSocket with a `Deno.HttpClient` holding the kubeconfig's CA and
 *               client certificate (Rust TLS + framing: ~3x less CPU and memory per pod than npm:ws,
 *               which matters for fan-out over 100 pods);
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
import type WebSocketNode from "ws";
import type { KubeConfigLite as KubeConfig } from "./config.ts";
import type { Kube } from "./client.ts";
import { toKodamaError } from "./errors.ts";
import { proxyAgent, proxyFor } from "./proxy.ts";
import { KodamaError } from "../errors.ts";
import { concatBytes } from "../bytes.ts";

export interface TermSize {
  cols: number;
  rows: number;
}

/** An output callback; returning a Promise pauses the stream until it settles (ws transport). */
export type OutputFn = (chunk: Uint8Array) => void | Promise<void>;

export interface ExecStreams {
  stdin?: ReadableStream<Uint8Array> | Uint8Array;
  stdout?: OutputFn;
  stderr?: OutputFn;
  tty?: boolean;
  resize?: AsyncIterable<TermSize>;
  signal?: AbortSignal;
  /** output callbacks are async and must pause the socket while they run (forces the ws transport) */
  backpressure?: boolean;
  /** called once the stream is open (the command is starting) */
  onOpen?: (protocol: string) => void;
}

export interface ExecResult {
  /** the remote exit code; 1 when `error` is set */
  exitCode: number;
  /** set when the command did not run to an exit status: the stream dropped, was aborted, or the server refused to run it */
  error?: string;
  /** dropped: socket closed without a status; aborted: our signal; remote: the server reported a failure that is not an exit code */
  errorKind?: "dropped" | "aborted" | "remote";
}

const PROTOCOLS = ["v5.channel.k8s.io", "v4.channel.k8s.io"];
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
  native?: { client: Deno.HttpClient; headers: Record<string, string> };
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

/**
 * One Deno.HttpClient per distinct TLS material. The auth target is recomputed every TARGET_TTL_MS
 * (tokens rotate), but a new client is made only when the CA or client certificate really changed,
 * so long-running forwards do not pile up clients (open streams may still hold the old one).
 */
const clients = new Map<string, Deno.HttpClient>();
export function nativeClient(ca?: string, cert?: string, key?: string): Deno.HttpClient {
  const id = `${ca ?? ""}\0${cert ?? ""}\0${key ?? ""}`;
  let client = clients.get(id);
  if (!client) {
    client = Deno.createHttpClient({
      ...(ca ? { caCerts: [ca] } : {}),
      ...(cert && key ? { cert, key } : {}),
    });
    clients.set(id, client);
  }
  return client;
}

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
      maxPayload: 64 * 1024 * 1024,
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
  buffered(): number;
  isOpen(): boolean;
  terminate(): void;
  pause?(): void;
  resume?(): void;
}): Channel {
  return {
    get protocol() {
      return s.protocol();
    },
    send: (b) => s.send(b),
    async drain() {
      while (s.buffered() > HIGH_WATER && s.isOpen()) {
        await new Promise((r) => setTimeout(r, 5));
      }
    },
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

function openNative(
  url: string,
  n: NonNullable<WsTarget["native"]>,
  h: Handlers,
  signal?: AbortSignal,
): Promise<Channel> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { protocols: PROTOCOLS, headers: n.headers, client: n.client });
    ws.binaryType = "arraybuffer";
    const hs = handshake(h, () => ws.close(), resolve, reject, signal);
    const ch = channelOf({
      protocol: () => ws.protocol,
      send: (b) => ws.send(b),
      buffered: () => ws.bufferedAmount,
      isOpen: () => ws.readyState === WebSocket.OPEN,
      terminate: () => ws.close(),
    });
    ws.onopen = () => hs.opened(ch);
    ws.onmessage = (e) => {
      if (typeof e.data !== "string") h.message(new Uint8Array(e.data as ArrayBuffer));
    };
    ws.onerror = (e) => {
      const msg = (e as ErrorEvent).message || "websocket error";
      hs.error(() => new OpenError(msg), msg);
    };
    ws.onclose = () => hs.closed();
  });
}

/** npm:ws, loaded only for the fallback transport (~5 ms of start-up otherwise). */
let wsModule: Promise<typeof WebSocketNode> | undefined;

async function openWs(url: string, t: WsTarget, h: Handlers, signal?: AbortSignal): Promise<Channel> {
  const WS = await (wsModule ??= import("ws").then((m) => m.default));
  return new Promise((resolve, reject) => {
    const ws = new WS(url, PROTOCOLS, t.options);
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
      const parts: Uint8Array[] = [];
      res.on("data", (d: Uint8Array) => parts.push(d));
      res.on("end", () => {
        const body = new TextDecoder().decode(concatBytes(parts));
        reject(new OpenError(`HTTP ${res.statusCode}`, res.statusCode ?? 500, body));
      });
      res.on("error", (e) => reject(e));
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

// ---------------------------------------------------------------------------------------------

/**
 * Run `command` in a container and stream its I/O. Resolves with the exit code when the command
 * finishes, or with `error` when the stream dropped / was aborted after it opened; rejects with a
 * KodamaError when the stream could not be opened (auth -> 4, pod/container not found -> 3,
 * connection -> 1).
 */
export async function execInPod(
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
          break;
        default: // CLOSE (v5) and unknown channels
          break;
      }
    },
    close() {
      if (status) finish(status.error ? { ...status, errorKind: "remote" } : status);
      else {finish({
          exitCode: 1,
          error: "stream closed before the command finished (dropped)",
          errorKind: "dropped",
        });}
    },
    error(message) {
      if (!status) {
        ch?.terminate();
        finish({ exitCode: 1, error: `stream error: ${message}`, errorKind: "dropped" });
      }
    },
  };

  try {
    if (target.native && !s.backpressure) {
      try {
        ch = await openNative(url, target.native, handlers, s.signal);
      } catch (e) {
        if (s.signal?.aborted) throw e;
        // refused or failed: ask again over npm:ws, which reads the HTTP status and body for a precise error
        ch = await openWs(url, target, handlers, s.signal);
      }
    } else {
      ch = await openWs(url, target, handlers, s.signal);
    }
  } catch (e) {
    if (s.signal?.aborted) return { exitCode: 1, error: "cancelled", errorKind: "aborted" };
    // a rotated token (token file, exec plugin): the next stream re-reads the credentials
    if ((e as { statusCode?: number })?.statusCode === 401) {
      kube.kc.invalidateCredentials(); // else the exec plugin's cached (expired) token would be applied again
      targets.delete(kube.kc);
    }
    throw mapOpenError(e, what, kube, container);
  }
  if (s.signal?.aborted) {
    ch.terminate();
    return { exitCode: 1, error: "cancelled", errorKind: "aborted" };
  }
  s.signal?.addEventListener("abort", onAbort, { once: true });
  s.onOpen?.(ch.protocol);
  const v5 = ch.protocol === "v5.channel.k8s.io";
  if (s.stdin !== undefined) {
    pumpStdin(ch, s.stdin, v5).catch(() => {/* the close handler reports the stream's fate */});
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
  stdin: ReadableStream<Uint8Array> | Uint8Array,
  v5: boolean,
): Promise<void> {
  const sendAll = async (buf: Uint8Array) => {
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
  // EOF: v5 can half-close stdin; v4 cannot (the remote keeps waiting, as with kubectl)
  if (v5 && ch.open) ch.send(new Uint8Array([CLOSE, STDIN]));
}

function mapOpenError(
  e: unknown,
  what: { verb: string; resource: string; namespace: string; name: string },
  kube: Kube,
  container: string,
): KodamaError {
  if (e instanceof KodamaError) return e;
  const err = e as { statusCode?: number; body?: string };
  if (err?.statusCode === 400 || err?.statusCode === 500) {
    let msg = "";
    try {
      msg = JSON.parse(err.body ?? "").message ?? "";
    } catch {
      msg = (err.body ?? "").trim().split("\n")[0];
    }
    if (/container .*(is )?not (valid|found)/i.test(msg)) {
      return new KodamaError(`container "${container}" not found in pod ${what.name}`, 3, msg);
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
