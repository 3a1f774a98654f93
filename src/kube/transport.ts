/**
 * How kodama speaks HTTP to one API server: the credentials and TLS material of the current kubeconfig
 * context (re-read every AUTH_TTL_MS, after a 401, and when the server cannot be reached), one keep-alive
 * agent (direct, or through the cluster's proxy-url / HTTPS_PROXY), every request and watch over Deno's own
 * client when the cluster allows it (no Node layer on the everyday path, nor on start/resume), client-go's
 * retry rule for 429/5xx, and --request-timeout. `Kube` (./client.ts) builds the verbs on `request`,
 * `watchNative` and `open`.
 */
import type http from "node:http";
import type https from "node:https";
import { type KubeConfigLite, type KubeOptions, type LoaderInternals, loadKubeConfig } from "./config.ts";
import { type ApiWhat, isUnreachable, toKodamaError, unreachable } from "./errors.ts";
import { Reachability } from "./reach.ts";
import { proxyAgent, proxyFor, redactProxy } from "./proxy.ts";
import { ExitCode, KodamaError } from "../base/errors.ts";
import { enabled, log } from "../base/log.ts";
import { formatDuration } from "../base/duration.ts";
import { mark } from "../base/timing.ts";
import { dropIdleSockets, nativeClient } from "./native.ts";
import { BoundedBody, Budget } from "./bounds.ts";

/** node:http and node:https, loaded by the first request that needs them (none that nativeCall can make). */
async function nodeHttp(): Promise<{ http: typeof http; https: typeof https }> {
  const [h, s] = await Promise.all([import("node:http"), import("node:https")]);
  return { http: h.default, https: s.default };
}

/** What a request over Deno's own client needs: the client (CA, client certificate) and the headers. */
interface NativeTarget {
  client: Deno.HttpClient;
  headers: Record<string, string>;
}

/** A watch's response over Deno's own client: its body, and how to end it. */
export interface NativeStream {
  body: ReadableStream<Uint8Array>;
  close(): void;
}

/**
 * Did a fetch fail before anything was sent: the TCP connection or the TLS handshake (Deno words these
 * `client error (Connect)`), or the name did not resolve.
 */
function connectFailed(e: unknown): boolean {
  const words: string[] = [];
  for (let cur: unknown = e, i = 0; cur && i < 8; cur = (cur as { cause?: unknown }).cause, i++) {
    words.push(String((cur as { message?: unknown }).message ?? cur));
  }
  return /\(Connect\)|tcp connect error|dns error/i.test(words.join("\n"));
}

export interface RequestOptions {
  query?: Record<string, string | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
  /** bytes this answer may take (src/kube/bounds.ts); default a fresh KUBE_LIMITS.body (a list's pages share one) */
  budget?: Budget;
}

type HttpsOpts = Omit<https.RequestOptions, "headers"> & { headers: Record<string, string> };

/** Credentials are recomputed after this long (a service-account token file rotates; client-go re-reads it each minute). */
const AUTH_TTL_MS = 60_000;
/** How often a request is retried when the server answers 429/5xx with Retry-After (client-go's default). */
const MAX_RETRIES = 10;

/**
 * Without --request-timeout, how long a call waits for the server's answer (dial, TLS handshake and the
 * response headers; a stream until it is connected): a server that accepts TCP but never answers must
 * not hang `pods` or `exec` silently. Reading a long list's body is not bounded by it. docs/limits.md.
 */
export const DEFAULT_ANSWER_TIMEOUT_MS = 30_000;

/** The least a retry's dial gets while the server is down (Transport.dialBoundMs). */
const MIN_RETRY_DIAL_MS = 1000;

/**
 * Bound the dial and the TLS handshake of a request whose answer may take as long as it likes — a watch, a
 * followed log, whose headers may come with the first event — by `ms`: a server that accepts TCP and never
 * finishes the handshake (or a dial that never completes) calls `onTimeout` instead of hanging for ever.
 * The clock stops once the socket is connected and, for TLS, secured (a reused keep-alive socket at once;
 * a proxy agent hands the socket over only once it is both, so its dial is bounded too).
 */
export function boundDial(req: http.ClientRequest, ms: number, onTimeout: () => void): void {
  const timer = setTimeout(onTimeout, ms);
  const clear = () => clearTimeout(timer);
  req.once("socket", (s) => {
    const sock = s as typeof s & { encrypted?: boolean };
    if (!sock.connecting) return clear();
    sock.once(sock.encrypted ? "secureConnect" : "connect", clear);
  });
  req.once("response", clear);
  req.once("upgrade", clear);
  req.once("close", clear);
  req.once("error", clear);
}

/**
 * A response body read whole, within `budget` (bounds.ts: a body that keeps coming fails with a clear
 * error, whatever the time), giving up (`onIdle`) when no byte arrives for `idleMs` (0: no idle bound): a
 * server that sends the headers and then stalls cannot hang a call, while a long list that keeps coming is
 * never cut by time.
 */
async function readBodyBounded(
  res: Response,
  budget: Budget,
  idleMs: number,
  onIdle: () => void,
): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const body = new BoundedBody(budget);
  try {
    for (;;) {
      // AbortSignal.timeout, not setTimeout: the global timers load Deno's Node layer (src/base/proc/timer.ts)
      const idle = idleMs ? AbortSignal.timeout(idleMs) : undefined;
      idle?.addEventListener("abort", onIdle, { once: true });
      try {
        const { done, value } = await reader.read();
        if (done) break;
        body.add(value);
      } finally {
        idle?.removeEventListener("abort", onIdle);
      }
    }
  } catch (e) {
    reader.cancel().catch(() => {});
    throw e;
  }
  return body.text();
}

interface HttpFailure {
  code: number;
  body: string;
  retryAfter?: number;
}

function retryAfterSeconds(v: string | string[] | undefined): number | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  if (!s || !/^\d+$/.test(s.trim())) return undefined;
  return Number(s.trim());
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

export class Transport {
  readonly contextName: string;
  readonly server: string;
  /** the user requests are made as when impersonating (--as / the kubeconfig's `as`) */
  readonly as?: string;
  /** --request-timeout in ms; 0 = none */
  readonly requestTimeoutMs: number;
  private opts?: Promise<HttpsOpts>;
  private optsAt = 0;
  private agent?: http.Agent;
  private agentP?: Promise<http.Agent>;
  /** requests made over Deno's own client (nativeCall) and over node:https, for tests and debugging */
  readonly requestsBy = { native: 0, node: 0 };
  private native?: Promise<NativeTarget | undefined>;
  private nativeAt = 0;

  /** Is the API server reachable: fed by every request, watch and log stream; read by the retry loops. */
  readonly reach: Reachability;
  private current: KubeConfigLite;
  private reloadedAt = 0;

  constructor(
    kc: KubeConfigLite,
    /** what the connection was made from (flags) */
    private readonly options: KubeOptions,
    private readonly authTtlMs = AUTH_TTL_MS,
    /** test-only loader knobs, kept to read the kubeconfig again */
    private readonly internal?: LoaderInternals,
  ) {
    this.current = kc;
    this.contextName = kc.getCurrentContext();
    this.server = (kc.getCurrentCluster()?.server ?? "?").replace(/\/+$/, "");
    this.as = kc.getCurrentUser()?.as;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 0;
    this.reach = new Reachability(`the API server ${this.server} (context ${this.contextName})`);
  }

  /** The kubeconfig in use (replaced when a re-read after a failure finds the cluster or user changed). */
  get kc(): KubeConfigLite {
    return this.current;
  }

  /**
   * A request or stream could not reach the server: record it (the first failure is reported by the
   * commands that retry), and read the kubeconfig again — a cluster rebuilt with a new CA, or moved, is
   * reached once its kubeconfig is updated, without restarting `logs -f` or `pods -w`.
   */
  noteUnreachable(e: KodamaError): void {
    this.reach.lost(e);
    if (Date.now() - this.reloadedAt < 1000) return;
    this.reloadedAt = Date.now();
    let fresh: KubeConfigLite;
    try {
      fresh = loadKubeConfig({ ...this.options, context: this.contextName }, this.internal);
    } catch {
      return; // being rewritten, or broken: keep what works so far
    }
    const same = (a: KubeConfigLite, b: KubeConfigLite) =>
      JSON.stringify([a.getCurrentCluster(), a.getCurrentUser()]) ===
        JSON.stringify([b.getCurrentCluster(), b.getCurrentUser()]);
    if (same(fresh, this.current)) return;
    this.current = fresh;
    this.opts = undefined;
    this.native = undefined; // Deno's client for GETs holds the old CA too
    this.agent?.destroy();
    this.agent = this.agentP = undefined;
  }

  /** Run any async operation with its errors mapped to KodamaError. */
  async call<T>(what: ApiWhat, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw toKodamaError(e, what, this);
    }
  }

  /**
   * TLS + auth options for this context (exec-plugin tokens are cached by the loader). Recomputed every
   * AUTH_TTL_MS and after a 401 (`stale`: the options that were refused), so a rotated token file is picked up; the agent (direct, or a
   * CONNECT tunnel through the cluster's proxy-url / HTTPS_PROXY) is made once.
   */
  private httpsOptions(stale?: Promise<HttpsOpts>): Promise<HttpsOpts> {
    // after a 401, re-read unless another request already did (a fan-out's 401s share one re-read)
    const refused = stale !== undefined && stale === this.opts;
    if (this.opts && (Date.now() - this.optsAt > this.authTtlMs || refused)) {
      if (refused) this.kc.invalidateCredentials();
      this.opts = undefined;
      this.native = undefined;
    }
    if (!this.opts) {
      this.optsAt = Date.now();
      const p = (async () => {
        const o: Record<string, unknown> = {};
        await this.kc.applyToHTTPSOptions(o);
        return { ...o, agent: await this.getAgent() } as HttpsOpts;
      })();
      this.opts = p;
      p.catch(() => {
        if (this.opts === p) this.opts = undefined;
      });
    }
    return this.opts;
  }

  private getAgent(): Promise<http.Agent> {
    if (!this.agentP) {
      this.agentP = (async () => {
        const cluster = this.kc.getCurrentCluster();
        const proxy = proxyFor(this.server, cluster?.proxyUrl, this.contextName);
        if (proxy) {
          if (enabled("debug")) {
            log("debug", ["kube"], `using proxy ${redactProxy(proxy.url)} (${proxy.source})`, {
              context: this.contextName,
            });
          }
          this.agent = await proxyAgent(proxy, { context: this.contextName, cluster: cluster?.name ?? "?" }, {
            keepAlive: true,
            maxSockets: 64,
          });
        } else {
          const { http, https } = await nodeHttp();
          const mod = this.server.startsWith("http:") ? http : https;
          this.agent = new mod.Agent({ keepAlive: true, maxSockets: 64 });
        }
        return dropIdleSockets(this.agent);
      })();
      this.agentP.catch(() => (this.agentP = undefined));
    }
    return this.agentP;
  }

  private url(path: string, query?: Record<string, string | undefined>): URL {
    const u = new URL(this.server + path);
    for (const [k, v] of Object.entries(query ?? {})) {
      if (v !== undefined && v !== "") u.searchParams.set(k, v);
    }
    return u;
  }

  /**
   * Open a request and resolve with the response once headers arrive (status >= 400 rejects with the body).
   * A 401 re-reads the credentials (a rotated token file, an expired exec-plugin token) and retries once.
   */
  async open(
    what: ApiWhat,
    method: string,
    path: string,
    o: RequestOptions,
    refused?: Promise<HttpsOpts>,
    attempt = 0,
  ): Promise<{ res: http.IncomingMessage; req: http.ClientRequest }> {
    const used = this.httpsOptions(refused);
    const base = await this.call(what, () => used);
    const url = this.url(path, o.query);
    const body = o.body === undefined ? undefined : JSON.stringify(o.body);
    const headers: Record<string, string> = { ...base.headers, Accept: "application/json" };
    if (body !== undefined) {
      headers["Content-Type"] = o.contentType ?? "application/json";
      // node sends a DELETE's body unframed (no chunking by default for DELETE): the length frames it
      headers["Content-Length"] = String(new TextEncoder().encode(body).length);
    }
    const { http, https } = await nodeHttp();
    const mod = url.protocol === "http:" ? http : https;
    this.requestsBy.node++;
    const t0 = performance.now();
    const debug = enabled("debug");
    const done = (status: number | undefined) =>
      debug &&
      log("debug", ["kube"], `${method} ${url.pathname}${url.search} -> ${status ?? "error"}`, {
        ms: Math.round(performance.now() - t0),
        context: this.contextName,
      });
    try {
      return await new Promise((resolve, reject) => {
        const req = mod.request(url, { ...base, method, headers, signal: o.signal }, (res) => {
          clearTimeout(timer);
          done(res.statusCode);
          this.reach.reached();
          mark("first response headers");
          if ((res.statusCode ?? 0) >= 400) {
            const body = new BoundedBody(new Budget("errorBody", what));
            res.on("data", (c: Buffer) => {
              try {
                body.add(c);
              } catch (e) {
                req.destroy();
                reject(e);
              }
            });
            res.on("end", () =>
              reject(
                {
                  code: res.statusCode ?? 0,
                  body: body.text(),
                  retryAfter: retryAfterSeconds(res.headers["retry-after"]),
                } satisfies HttpFailure,
              ));
            res.on("error", reject);
            return;
          }
          resolve({ res, req });
        });
        // --request-timeout (else, but not for a watch, the default answer timeout): until the response
        // headers here; request() also bounds reading the body. A watch's headers may come with its first
        // event (as a kubelet's log stream's do), so only --request-timeout bounds it.
        const watch = o.query?.watch === "true";
        const ms = watch ? this.requestTimeoutMs : this.answerTimeoutMs;
        // a watch that got no answer in time is a server that cannot be reached: the watch retries it
        // until --reconnect-timeout, as it would a refused connection (never silently for ever)
        const noAnswer = (within?: number) => {
          const e = this.timeoutError(what, method, url, within);
          return watch ? unreachable(e) : e;
        };
        const timer = ms ? setTimeout(() => req.destroy(noAnswer()), ms) : undefined;
        // a watch without --request-timeout: its dial and TLS handshake are still bounded
        const dial = this.dialBoundMs();
        if (watch && !ms) boundDial(req, dial, () => req.destroy(noAnswer(dial)));
        req.on("error", (e) => {
          clearTimeout(timer);
          done(undefined);
          reject(e);
        });
        req.end(body);
      });
    } catch (e) {
      const f = e as Partial<HttpFailure>;
      if (f?.code === 401 && !o.signal?.aborted) {
        if (!refused) return await this.open(what, method, path, o, used, attempt);
        this.optsAt = 0; // still refused: the next call re-reads the credentials again
      }
      if (await this.waitToRetry(f, method, url, attempt, o.signal)) {
        return await this.open(what, method, path, o, refused, attempt + 1);
      }
      // a failure below HTTP may come from a client certificate and key that do not belong together
      if (typeof f?.code !== "number" && !o.signal?.aborted) {
        const tls = await this.kc.diagnoseTls().catch(() => undefined);
        if (tls) throw tls;
      }
      const ke = toKodamaError(e, what, this);
      if (isUnreachable(ke) && !o.signal?.aborted) this.noteUnreachable(ke);
      throw ke;
    }
  }

  /**
   * client-go's rule: a 429 or 5xx answer that carries Retry-After is retried after that many seconds, at
   * most MAX_RETRIES times. True when the caller should try again (the wait is over, nothing aborted).
   */
  private async waitToRetry(
    f: Partial<HttpFailure>,
    method: string,
    url: URL,
    attempt: number,
    signal?: AbortSignal,
  ): Promise<boolean> {
    if (
      typeof f?.code !== "number" || !(f.code === 429 || f.code >= 500) || f.retryAfter === undefined ||
      attempt >= MAX_RETRIES || signal?.aborted
    ) return false;
    if (enabled("debug")) {
      log("debug", ["kube"], `${method} ${url.pathname}: ${f.code}, retrying after ${f.retryAfter}s`, {
        attempt: attempt + 1,
      });
    }
    await sleep(f.retryAfter * 1000, signal);
    return !signal?.aborted;
  }

  /** --request-timeout, else DEFAULT_ANSWER_TIMEOUT_MS: how long to wait for an answer */
  get answerTimeoutMs(): number {
    return this.requestTimeoutMs || DEFAULT_ANSWER_TIMEOUT_MS;
  }

  /**
   * How long a stream's dial and TLS handshake may take (boundDial): the answer timeout, but while the
   * server is down no longer than what is left of --reconnect-timeout, so that a retry never outlives the
   * window it was made in (`logs -f --reconnect-timeout 1s` against a silent server: 31 s, not 61).
   */
  dialBoundMs(): number {
    const r = this.reach;
    if (!r.down || r.giveUpMs <= 0) return this.answerTimeoutMs;
    // at least a second: a refused or reset dial still fails as itself, not as a timeout cut to nothing
    return Math.min(this.answerTimeoutMs, Math.max(MIN_RETRY_DIAL_MS, r.giveUpMs - r.downFor()));
  }

  /**
   * A server that did not answer in time, named as kubectl names it (exit 5). `ms`: a retry's dial bound
   * (dialBoundMs), when what was left of --reconnect-timeout cut it shorter than the answer timeout.
   */
  timeoutError(what: ApiWhat, method: string, url: URL, ms = this.answerTimeoutMs): KodamaError {
    const given = this.requestTimeoutMs > 0;
    const why = ms < this.answerTimeoutMs
      ? " (a retry, bounded by --reconnect-timeout)"
      : given
      ? " (--request-timeout)"
      : "";
    return new KodamaError(
      `timeout: no answer from ${this.server} (context ${this.contextName}) within ${
        formatDuration(ms)
      }${why}: ${method} ${url.pathname}`,
      ExitCode.TIMEOUT,
      `${what.verb} ${what.resource}${what.namespace ? ` in namespace ${what.namespace}` : ""}; ${
        given
          ? "raise --request-timeout or check the cluster"
          : "is the server up and reachable? (--request-timeout sets how long to wait)"
      }`,
    );
  }

  /**
   * Deno's own HTTP client for GETs, when the cluster needs nothing it lacks — the conditions of exec's
   * native transport (src/kube/exec.ts), whose Deno.HttpClient it shares: no proxy, no
   * insecure-skip-tls-verify, no tls-server-name, no basic auth or PKCS#12, no repeated header. Recomputed
   * with the credentials (AUTH_TTL_MS, and after a 401 seen by the node path).
   */
  private nativeTarget(stale?: Promise<NativeTarget | undefined>): Promise<NativeTarget | undefined> {
    // after a 401, re-read unless another request already did (a fan-out's 401s share one re-read)
    const refused = stale !== undefined && stale === this.native;
    if (refused) {
      this.kc.invalidateCredentials();
      this.opts = undefined;
    }
    if (this.native && (Date.now() - this.nativeAt > this.authTtlMs || refused)) this.native = undefined;
    if (!this.native) {
      this.nativeAt = Date.now();
      this.native = (async () => {
        const cluster = this.kc.getCurrentCluster();
        if (
          !this.server.startsWith("https:") || !cluster || cluster.skipTLSVerify || cluster.tlsServerName ||
          this.internal?.apiTransport === "node" ||
          proxyFor(this.server, cluster.proxyUrl, this.contextName)
        ) return undefined;
        const o: Record<string, unknown> = {};
        await this.kc.applyToHTTPSOptions(o);
        const headers = (o.headers ?? {}) as Record<string, string | string[]>;
        if (o.auth || o.pfx || Object.values(headers).some(Array.isArray)) return undefined;
        const pem = (b: unknown) =>
          b === undefined || b === null
            ? undefined
            : typeof b === "string"
            ? b
            : new TextDecoder().decode(b as Uint8Array);
        let client: Deno.HttpClient;
        try {
          client = nativeClient(pem(o.ca), pem(o.cert), pem(o.key));
        } catch {
          return undefined; // e.g. a key format rustls does not read: node:https handles it
        }
        return { client, headers: { ...headers as Record<string, string>, Accept: "application/json" } };
      })();
      const p = this.native;
      p.catch(() => {
        if (this.native === p) this.native = undefined;
      });
    }
    return this.native;
  }

  /**
   * A request over Deno's own client (no Node layer on the everyday path, nor on `start`/`resume`:
   * bench/README.md), answering as the node path does: a 401 re-reads the credentials and tries once more,
   * a 429/5xx with Retry-After is retried after it, any other status is mapped to its KodamaError,
   * --request-timeout bounds it whole. One client and its pooled connections serve every request (and on
   * an HTTP/2 server, as a real API server is, one connection carries them all).
   * `undefined` when this client cannot be used, or the request failed below HTTP (refused, reset, TLS)
   * in a way that lets it be made again over node:https, whose path reports such failures in the words it
   * always has: a GET always (it changes nothing), any other method only when the connection could not be
   * made (nothing was sent); else that failure is the answer (a create that may have been received is never
   * sent twice).
   *
   * `stream` (a watch): the response body once its headers are in, bounded by --request-timeout, else the
   * default answer timeout, until then only (as boundDial does for the node path); `close()` ends it.
   */
  private async nativeCall(
    what: ApiWhat,
    method: string,
    path: string,
    o: RequestOptions,
    stream: boolean,
    refused?: Promise<NativeTarget | undefined>,
    attempt = 0,
  ): Promise<{ value?: unknown; stream?: NativeStream } | undefined> {
    if (o.signal?.aborted) return undefined;
    const used = this.nativeTarget(refused);
    const t = await this.call(what, () => used);
    if (!t) return undefined;
    const url = this.url(path, o.query);
    const ac = new AbortController();
    const onAbort = () => ac.abort();
    o.signal?.addEventListener("abort", onAbort, { once: true });
    let timedOut = false;
    // AbortSignal.timeout, not setTimeout: the global timers load Deno's Node layer (~8 ms; src/base/proc/timer.ts).
    // --request-timeout bounds the whole call; without it, the default bounds the wait for the headers
    // listened to through AbortSignal.any: a listener on the timeout signal itself keeps the process alive
    // until it fires, even once removed (Deno 2.9); one on a signal that follows it does not
    const limit = AbortSignal.any([AbortSignal.timeout(this.answerTimeoutMs)]);
    let answered = false;
    const onLimit = () => {
      if (answered && (stream || !this.requestTimeoutMs)) return;
      timedOut = true;
      ac.abort();
    };
    limit.addEventListener("abort", onLimit, { once: true });
    const t0 = performance.now();
    const body = o.body === undefined ? undefined : JSON.stringify(o.body);
    const headers = body === undefined
      ? t.headers
      : { ...t.headers, "Content-Type": o.contentType ?? "application/json" };
    let failure: HttpFailure;
    let kept = false;
    try {
      this.requestsBy.native++;
      const res = await fetch(url, { method, client: t.client, headers, body, signal: ac.signal });
      answered = true;
      this.reach.reached(); // an answer, whatever it says: the server is there
      if (enabled("debug")) {
        log("debug", ["kube"], `${method} ${url.pathname}${url.search} -> ${res.status}`, {
          ms: Math.round(performance.now() - t0),
          context: this.contextName,
        });
      }
      mark("first response headers");
      if (stream && res.ok && res.body) {
        kept = true;
        return {
          stream: {
            body: res.body,
            close: () => {
              o.signal?.removeEventListener("abort", onAbort);
              ac.abort();
            },
          },
        };
      }
      // --request-timeout bounds the whole call (limit); without it, a body that stalls for the default;
      // its size is bounded either way (bounds.ts)
      const budget = res.ok ? o.budget ?? new Budget("body", what) : new Budget("errorBody", what);
      const text = await readBodyBounded(
        res,
        budget,
        this.requestTimeoutMs ? 0 : this.answerTimeoutMs,
        () => {
          timedOut = true;
          ac.abort();
        },
      );
      if (res.ok) {
        mark("first response body read");
        return { value: text ? JSON.parse(text) : undefined };
      }
      failure = {
        code: res.status,
        body: text,
        retryAfter: retryAfterSeconds(res.headers.get("retry-after") ?? undefined),
      };
    } catch (e) {
      if (timedOut) {
        const te = this.timeoutError(what, method, url);
        if (!stream) throw te;
        // a watch that got no answer in time: a server that cannot be reached (the watch retries it)
        const ue = unreachable(te);
        this.noteUnreachable(ue);
        throw ue;
      }
      if (e instanceof SyntaxError) throw e; // not JSON: as the node path would throw it
      if (e instanceof KodamaError) throw e; // over a size bound: never asked again over node:https
      if (method === "GET" || o.signal?.aborted || connectFailed(e)) return undefined;
      const ke = toKodamaError(e, what, this);
      if (isUnreachable(ke)) this.noteUnreachable(ke);
      throw ke;
    } finally {
      limit.removeEventListener("abort", onLimit);
      if (!kept) o.signal?.removeEventListener("abort", onAbort);
    }
    if (failure.code === 401 && !o.signal?.aborted) {
      if (!refused) return await this.nativeCall(what, method, path, o, stream, used, attempt);
      this.nativeAt = 0; // still refused: the next call re-reads the credentials again
    }
    if (await this.waitToRetry(failure, method, url, attempt, o.signal)) {
      return await this.nativeCall(what, method, path, o, stream, refused, attempt + 1);
    }
    throw toKodamaError(failure, what, this);
  }

  /**
   * A watch over Deno's own client: its body once the headers are in (`close()` ends it), or `undefined`
   * when this client cannot be used or the server could not be reached by it (the node path, `open`, then
   * makes it and reports that in its words).
   */
  async watchNative(what: ApiWhat, path: string, o: RequestOptions): Promise<NativeStream | undefined> {
    return (await this.nativeCall(what, "GET", path, o, true))?.stream;
  }

  /** A JSON request against the API server (errors mapped to KodamaError). */
  async request<T>(what: ApiWhat, method: string, path: string, o: RequestOptions = {}): Promise<T> {
    const got = await this.nativeCall(what, method, path, o, false);
    if (got) return got.value as T;
    const t0 = Date.now();
    const { res, req } = await this.open(what, method, path, o);
    const text = await this.call(what, () =>
      new Promise<string>((resolve, reject) => {
        const left = this.requestTimeoutMs ? Math.max(1, this.requestTimeoutMs - (Date.now() - t0)) : 0;
        const timer = left
          ? setTimeout(() => {
            const e = this.timeoutError(what, method, this.url(path, o.query));
            req.destroy(e);
            reject(e);
          }, left)
          : undefined;
        const body = new BoundedBody(o.budget ?? new Budget("body", what));
        // without --request-timeout: a body that stalls for the default answer timeout gives up
        let idle: ReturnType<typeof setTimeout> | undefined;
        const stalled = () => {
          const e = this.timeoutError(what, method, this.url(path, o.query));
          req.destroy(e);
          reject(e);
        };
        const rearm = () => {
          if (left) return;
          clearTimeout(idle);
          idle = setTimeout(stalled, this.answerTimeoutMs);
        };
        rearm();
        res.on("data", (c: Buffer) => {
          try {
            body.add(c);
          } catch (e) {
            clearTimeout(timer);
            clearTimeout(idle);
            req.destroy();
            reject(e);
            return;
          }
          rearm();
        });
        res.on("end", () => {
          clearTimeout(timer);
          clearTimeout(idle);
          mark("first response body read");
          resolve(body.text());
        });
        res.on("error", (e) => {
          clearTimeout(timer);
          clearTimeout(idle);
          reject(e);
        });
      }));
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** Close keep-alive sockets so the process can exit promptly. */
  close(): void {
    this.agent?.destroy();
  }
}
