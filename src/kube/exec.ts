/**
 * In-process exec over WebSocket — the only place that opens exec streams (no kubectl subprocess).
 *
 * We drive `ws` directly with the Kubernetes channel protocol instead of client-node's `Exec`:
 *  - `v5.channel.k8s.io` first (its close frame `255,0` lets the remote see stdin EOF), `v4` fallback;
 *  - binary-safe stdin with send-side backpressure (await the socket when >1 MiB is buffered);
 *  - receive-side backpressure: an output callback may return a Promise, the socket is paused until it settles;
 *  - the TLS material and auth headers are computed once per kubeconfig and reused for every pod
 *    (fan-out over 100 pods costs one kubeconfig evaluation, not 100);
 *  - the exit code comes from the status channel (3): `Success` -> 0, `NonZeroExitCode` -> the
 *    `ExitCode` cause; a socket that closes without a status frame is a dropped stream (an error
 *    result for that pod, never a crash).
 */
import WebSocket from "ws";
import type { KubeConfig } from "@kubernetes/client-node";
import type { Kube } from "./client.ts";
import { toKodamaError } from "./errors.ts";
import { KodamaError } from "../errors.ts";

export interface TermSize {
  cols: number;
  rows: number;
}

/** An output callback; returning a Promise pauses the stream until it settles (backpressure). */
export type OutputFn = (chunk: Uint8Array) => void | Promise<void>;

export interface ExecStreams {
  stdin?: ReadableStream<Uint8Array> | Uint8Array;
  stdout?: OutputFn;
  stderr?: OutputFn;
  tty?: boolean;
  resize?: AsyncIterable<TermSize>;
  signal?: AbortSignal;
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
  base: string;
  options: WebSocket.ClientOptions;
}

const targets = new WeakMap<KubeConfig, { at: number; p: Promise<WsTarget> }>();
/** exec-plugin / OIDC tokens may rotate: recompute the auth material after this long */
const TARGET_TTL_MS = 60_000;

/** TLS + auth options for WebSocket requests to the current cluster, cached per kubeconfig. */
export function wsTarget(kc: KubeConfig): Promise<WsTarget> {
  const hit = targets.get(kc);
  if (hit && Date.now() - hit.at < TARGET_TTL_MS) return hit.p;
  const p = (async () => {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new KodamaError("no cluster in the current kubeconfig context", 2, "check --context / KUBECONFIG");
    const opts: Record<string, unknown> = {};
    await kc.applyToHTTPSOptions(opts as never);
    const server = cluster.server.replace(/\/+$/, "");
    const base = server.replace(/^http(s?):\/\//, (_m, s) => `ws${s}://`);
    const options: WebSocket.ClientOptions = {
      ...(opts as WebSocket.ClientOptions),
      perMessageDeflate: false,
      // large frames are fine (stdout of tens of MB arrives as many frames anyway)
      maxPayload: 64 * 1024 * 1024,
      handshakeTimeout: 30_000,
    };
    return { base, options };
  })();
  targets.set(kc, { at: Date.now(), p });
  p.catch(() => targets.delete(kc));
  return p;
}

/** Parse the status channel payload into an exit code (or an error message). */
export function parseStatus(text: string): { exitCode: number; error?: string } {
  let st: {
    status?: string;
    reason?: string;
    message?: string;
    details?: { causes?: { reason?: string; message?: string }[] };
  };
  try {
    st = JSON.parse(text);
  } catch {
    return { exitCode: 1, error: `unreadable exec status: ${text.slice(0, 200)}` };
  }
  if (st.status === "Success") return { exitCode: 0 };
  if (st.reason === "NonZeroExitCode") {
    const cause = st.details?.causes?.find((c) => c.reason === "ExitCode");
    const n = Number(cause?.message);
    if (Number.isInteger(n)) return { exitCode: n };
  }
  return { exitCode: 1, error: st.message || st.reason || "exec failed" };
}

function execUrl(base: string, ns: string, pod: string, container: string, command: string[], s: ExecStreams) {
  const q = new URLSearchParams();
  for (const c of command) q.append("command", c);
  if (container) q.set("container", container);
  q.set("stdout", "true");
  // with a TTY the remote merges stderr into stdout; the API rejects stderr=true with tty=true in some versions
  q.set("stderr", s.tty ? "false" : "true");
  if (s.stdin !== undefined) q.set("stdin", "true");
  if (s.tty) q.set("tty", "true");
  return `${base}/api/v1/namespaces/${encodeURIComponent(ns)}/pods/${encodeURIComponent(pod)}/exec?${q}`;
}

function frame(channel: number, data: Uint8Array): Uint8Array {
  const b = new Uint8Array(data.length + 1);
  b[0] = channel;
  b.set(data, 1);
  return b;
}

function sendAsync(ws: WebSocket, data: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => ws.send(data, { binary: true }, (err) => err ? reject(err) : resolve()));
}

/** Send with backpressure: only wait for the socket when a lot is buffered. */
async function sendPaced(ws: WebSocket, data: Uint8Array): Promise<void> {
  if (ws.bufferedAmount > HIGH_WATER) await sendAsync(ws, data);
  else ws.send(data, { binary: true });
}

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
  const url = execUrl(target.base, ns, pod, container, command, s);
  const ws = new WebSocket(url, PROTOCOLS, target.options);

  let opened = false;
  let done = false;
  let status: { exitCode: number; error?: string } | undefined;
  let paused = 0;
  const opening = Promise.withResolvers<void>();
  const result = Promise.withResolvers<ExecResult>();
  const finish = (r: ExecResult) => {
    if (done) return;
    done = true;
    s.signal?.removeEventListener("abort", onAbort);
    result.resolve(r);
  };
  const onAbort = () => {
    ws.terminate();
    if (!opened) opening.reject(new KodamaError("cancelled", 130));
    finish({ exitCode: 1, error: "cancelled", errorKind: "aborted" });
  };
  s.signal?.addEventListener("abort", onAbort, { once: true });

  const deliver = (fn: OutputFn | undefined, data: Uint8Array) => {
    if (!fn) return;
    const r = fn(data);
    if (r && typeof (r as Promise<void>).then === "function") {
      if (paused++ === 0) ws.pause();
      const resume = () => {
        if (--paused === 0 && !done) ws.resume();
      };
      (r as Promise<void>).then(resume, resume);
    }
  };

  ws.once("open", () => {
    opened = true;
    opening.resolve();
  });
  ws.once("unexpected-response", (_req, res) => {
    const parts: Uint8Array[] = [];
    res.on("data", (d: Uint8Array) => parts.push(d));
    res.on("end", () => opening.reject(httpError(res.statusCode ?? 500, new TextDecoder().decode(concat(parts)))));
    res.on("error", (e) => opening.reject(e));
  });
  ws.on("message", (raw: Uint8Array | ArrayBuffer | Uint8Array[], isBinary: boolean) => {
    if (!isBinary) return; // v4/v5 always use binary frames
    const data = raw instanceof Uint8Array ? raw : Array.isArray(raw) ? concat(raw) : new Uint8Array(raw);
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
  });
  ws.on("error", (e) => {
    if (!opened) {
      opening.reject(e);
      return;
    }
    if (!status) {
      ws.terminate();
      finish({ exitCode: 1, error: `stream error: ${(e as Error).message}`, errorKind: "dropped" });
    }
  });
  ws.on("close", () => {
    if (!opened) {
      opening.reject(new Error("connection closed during the exec handshake"));
      return;
    }
    if (status) finish(status.error ? { ...status, errorKind: "remote" } : status);
    else finish({ exitCode: 1, error: "stream closed before the command finished (dropped)", errorKind: "dropped" });
  });

  try {
    await opening.promise;
  } catch (e) {
    ws.terminate();
    s.signal?.removeEventListener("abort", onAbort);
    if (e instanceof KodamaError && e.code === 130) return { exitCode: 1, error: "cancelled", errorKind: "aborted" };
    throw mapOpenError(e, what, kube, container);
  }
  s.onOpen?.(ws.protocol);
  const v5 = ws.protocol === "v5.channel.k8s.io";
  if (s.stdin !== undefined) {
    pumpStdin(ws, s.stdin, v5).catch(() => {/* the close handler reports the stream's fate */});
  }
  if (s.tty && s.resize) {
    (async () => {
      for await (const size of s.resize!) {
        if (done || ws.readyState !== WebSocket.OPEN) break;
        const msg = new TextEncoder().encode(JSON.stringify({ Width: size.cols, Height: size.rows }));
        ws.send(frame(RESIZE, msg), { binary: true });
      }
    })().catch(() => {});
  }
  return await result.promise;
}

async function pumpStdin(ws: WebSocket, stdin: ReadableStream<Uint8Array> | Uint8Array, v5: boolean): Promise<void> {
  if (stdin instanceof Uint8Array) {
    for (let off = 0; off < stdin.length; off += CHUNK) {
      if (ws.readyState !== WebSocket.OPEN) return;
      await sendPaced(ws, frame(STDIN, stdin.subarray(off, off + CHUNK)));
    }
  } else {
    const reader = stdin.getReader();
    try {
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        if (ws.readyState !== WebSocket.OPEN) return;
        for (let off = 0; off < value.length; off += CHUNK) {
          await sendPaced(ws, frame(STDIN, value.subarray(off, off + CHUNK)));
        }
      }
    } finally {
      reader.releaseLock();
    }
  }
  // EOF: v5 can half-close stdin; v4 cannot (the remote keeps waiting, as with kubectl)
  if (v5 && ws.readyState === WebSocket.OPEN) ws.send(new Uint8Array([CLOSE, STDIN]), { binary: true });
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function httpError(statusCode: number, body: string): Error & { statusCode: number; body: string } {
  const e = new Error(`HTTP ${statusCode}`) as Error & { statusCode: number; body: string };
  e.statusCode = statusCode;
  e.body = body;
  return e;
}

function mapOpenError(
  e: unknown,
  what: { verb: string; resource: string; namespace: string; name: string },
  kube: Kube,
  container: string,
): KodamaError {
  const err = e as { statusCode?: number; body?: string };
  if (err?.statusCode === 400 || err?.statusCode === 500) {
    let msg = "";
    try {
      msg = JSON.parse(err.body ?? "").message ?? "";
    } catch {
      msg = (err.body ?? "").trim().split("\n")[0];
    }
    if (/container .* (is )?not (valid|found)/i.test(msg)) {
      return new KodamaError(`container "${container}" not found in pod ${what.name}`, 3, msg);
    }
    if (/not running|pending|ContainerCreating|terminated/i.test(msg)) {
      return new KodamaError(`cannot exec in pod ${what.name}: ${msg}`, 1, "wait for the pod: kodama wait --for ready");
    }
    return new KodamaError(`exec in pod ${what.name} (namespace ${what.namespace}) failed: ${msg || `HTTP ${err.statusCode}`}`, 1);
  }
  return toKodamaError(e, what, kube);
}
