/**
 * The Kubernetes client every feature uses. Only `src/kube/` talks to the API server.
 *
 * Plain API calls go over node:https with one keep-alive agent per process, using credentials from
 * the light kubeconfig loader (./config.ts); streams (exec, logs, port-forward) reuse the same TLS
 * material. client-node is loaded only for what it alone can do (legacy auth providers), because
 * its import costs more CPU than a whole 100-pod fan-out.
 * `Kube.connect` only reads the kubeconfig; the first request opens the connection — directly, or through
 * the cluster's proxy-url / HTTPS_PROXY (./proxy.ts), as kubectl does.
 */
import type {
  CoreV1Event,
  V1LabelSelector,
  V1PersistentVolumeClaim,
  V1Pod,
  V1Secret,
  V1Service,
} from "@kubernetes/client-node";
import type http from "node:http";
import type https from "node:https";
import {
  type KubeConfigLite,
  type KubeOptions,
  type LoaderInternals,
  loadKubeConfig,
  readKubeConfig,
  resolveNamespace,
} from "./config.ts";
import { type ApiWhat, isUnreachable, toKodamaError } from "./errors.ts";
import { Reachability } from "./reach.ts";
import { proxyAgent, proxyFor, redactProxy } from "./proxy.ts";
import { ExitCode, KodamaError } from "../errors.ts";
import { enabled, log } from "../base/log.ts";
import { formatDuration } from "../base/duration.ts";
import { mark } from "../base/timing.ts";
import { warmTls } from "./warm.ts";
import { connectionFlags, FLAGS_CONTEXT } from "./overrides.ts";
import { nativeClient } from "./native.ts";
import { concatBytes } from "../bytes.ts";

/** node:http and node:https, loaded by the first request that needs them (not by a plain GET: nativeGet). */
async function nodeHttp(): Promise<{ http: typeof http; https: typeof https }> {
  const [h, s] = await Promise.all([import("node:http"), import("node:https")]);
  return { http: h.default, https: s.default };
}

/** What a GET over Deno's own client needs: the client (CA, client certificate) and the headers. */
interface NativeTarget {
  client: Deno.HttpClient;
  headers: Record<string, string>;
}

export type { KubeOptions } from "./config.ts";
export type { V1Pod } from "@kubernetes/client-node";

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED";

export type WorkloadKind = "deployment" | "statefulset" | "daemonset" | "replicaset" | "job";

/** Where each workload kind is served. */
export const WORKLOAD_APIS: Record<WorkloadKind, { group: string; resource: string }> = {
  deployment: { group: "apps", resource: "deployments" },
  statefulset: { group: "apps", resource: "statefulsets" },
  daemonset: { group: "apps", resource: "daemonsets" },
  replicaset: { group: "apps", resource: "replicasets" },
  job: { group: "batch", resource: "jobs" },
};

/** The part of a workload object kodama reads: its pod selector and its conditions. */
export interface Workload {
  kind?: string;
  metadata?: { name?: string; namespace?: string; uid?: string; generation?: number };
  spec?: { selector?: V1LabelSelector; replicas?: number };
  status?: {
    observedGeneration?: number;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}

export interface PodQuery {
  labelSelector?: string;
  fieldSelector?: string;
}

/** The kinds kodama reads and writes, by their plural resource name. */
export type Resource =
  | "pods"
  | "persistentvolumeclaims"
  | "secrets"
  | "configmaps"
  | "events"
  | "serviceaccounts"
  | "storageclasses";

/** API groups of the kinds outside core/v1 (cluster-scoped ones ignore the namespace). */
const GROUPED: Partial<Record<Resource, { prefix: string; clusterScoped: boolean }>> = {
  storageclasses: { prefix: "/apis/storage.k8s.io/v1", clusterScoped: true },
};

/** `/api/v1/namespaces/NS/pods[/NAME]`, `/api/v1/pods` (all namespaces), `/apis/storage.k8s.io/v1/...`. */
export function resourcePath(resource: Resource, namespace?: string, name?: string): string {
  const g = GROUPED[resource];
  const base = g?.prefix ?? "/api/v1";
  const ns = namespace !== undefined && !g?.clusterScoped
    ? `/namespaces/${encodeURIComponent(namespace)}`
    : "";
  return `${base}${ns}/${resource}${name !== undefined ? `/${encodeURIComponent(name)}` : ""}`;
}

interface RequestOptions {
  query?: Record<string, string | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
}

type HttpsOpts = Omit<https.RequestOptions, "headers"> & { headers: Record<string, string> };

/** Credentials are recomputed after this long (a service-account token file rotates; client-go re-reads it each minute). */
const AUTH_TTL_MS = 60_000;
/** Page size of list calls (kubectl's --chunk-size default). */
export const LIST_CHUNK = 500;
/** How often a request is retried when the server answers 429/5xx with Retry-After (client-go's default). */
const MAX_RETRIES = 10;

/**
 * Without --request-timeout, how long a call waits for the server's answer (dial, TLS handshake and the
 * response headers; a stream until it is connected): a server that accepts TCP but never answers must
 * not hang `pods` or `exec` silently. Reading a long list's body is not bounded by it. docs/limits.md.
 */
export const DEFAULT_ANSWER_TIMEOUT_MS = 30_000;

/**
 * A response body read whole, giving up (`onIdle`) when no byte arrives for `idleMs`: a server that sends
 * the headers and then stalls cannot hang a call, while a long list that keeps coming is never cut.
 */
async function readBodyIdle(res: Response, idleMs: number, onIdle: () => void): Promise<string> {
  if (!res.body) return await res.text();
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  for (;;) {
    // AbortSignal.timeout, not setTimeout: the global timers load Deno's Node layer (src/timer.ts)
    const idle = AbortSignal.timeout(idleMs);
    idle.addEventListener("abort", onIdle, { once: true });
    try {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
    } finally {
      idle.removeEventListener("abort", onIdle);
    }
  }
  return new TextDecoder().decode(parts.length === 1 ? parts[0] : concatBytes(parts));
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

/** The kinds `listSummaries` reads: core/v1 ones by plural name, workloads by WORKLOAD_APIS' kind. */
export type ListKind = "namespaces" | "pods" | "services" | "persistentvolumeclaims" | WorkloadKind;

/** An object's name, namespace, labels and a short state (phase, or ready/desired for workloads). */
export interface ObjectSummary {
  name: string;
  namespace?: string;
  labels: Record<string, string>;
  phase?: string;
}

function summaryPath(kind: ListKind, namespace: string | undefined): { path: string; resource: string } {
  const ns = namespace !== undefined && kind !== "namespaces"
    ? `/namespaces/${encodeURIComponent(namespace)}`
    : "";
  if (kind in WORKLOAD_APIS) {
    const { group, resource } = WORKLOAD_APIS[kind as WorkloadKind];
    return { path: `/apis/${group}/v1${ns}/${resource}`, resource: `${resource}.${group}` };
  }
  return { path: `/api/v1${ns}/${kind}`, resource: kind };
}

export class Kube {
  readonly namespace: string;
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
  /** requests made over Deno's own client (GETs, ./nativeGet) and over node:https, for tests and debugging */
  readonly requestsBy = { native: 0, node: 0 };
  private native?: Promise<NativeTarget | undefined>;
  private nativeAt = 0;

  /** Is the API server reachable: fed by every request, watch and log stream; read by the retry loops. */
  readonly reach: Reachability;
  private current: KubeConfigLite;
  private reloadedAt = 0;

  private constructor(
    kc: KubeConfigLite,
    /** what the connection was made from (flags); see childFlags() */
    readonly options: KubeOptions,
    private readonly authTtlMs = AUTH_TTL_MS,
    /** test-only loader knobs, kept to read the kubeconfig again */
    private readonly internal?: LoaderInternals,
  ) {
    this.current = kc;
    this.namespace = resolveNamespace(kc, options.namespace);
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

  /** `internal` is for tests only (service-account dir, env); commands never pass it. */
  static async connect(opts: KubeOptions = {}, internal?: LoaderInternals): Promise<Kube> {
    warmTls(); // the first handshake's DRBG seeding starts now, off the main thread (./warm.ts)
    const kc = await readKubeConfig(opts, internal);
    return new Kube(kc, opts, internal?.authTtlMs, internal);
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

  /**
   * The global flags a kodama process started by this one (a tmux pane) needs to reach the same cluster
   * as the same user. Never the token: a process's arguments are readable by every local user.
   */
  childFlags(): string[] {
    return connectionFlags({
      ...this.options,
      context: this.contextName === FLAGS_CONTEXT ? undefined : this.contextName,
      requestTimeoutMs: this.requestTimeoutMs,
    });
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
        return this.agent;
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
  private async open(
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
    if (body !== undefined) headers["Content-Type"] = o.contentType ?? "application/json";
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
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () =>
              reject(
                {
                  code: res.statusCode ?? 0,
                  body: Buffer.concat(chunks).toString("utf8"),
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
        const ms = o.query?.watch === "true" ? this.requestTimeoutMs : this.answerTimeoutMs;
        const timer = ms
          ? setTimeout(() => req.destroy(this.timeoutError(what, method, url)), ms)
          : undefined;
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

  /** A server that did not answer in time, named as kubectl names it (exit 5). */
  timeoutError(what: ApiWhat, method: string, url: URL): KodamaError {
    const given = this.requestTimeoutMs > 0;
    return new KodamaError(
      `timeout: no answer from ${this.server} (context ${this.contextName}) within ${
        formatDuration(this.answerTimeoutMs)
      }${given ? " (--request-timeout)" : ""}: ${method} ${url.pathname}`,
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
          Deno.env.get("KODAMA_API_TRANSPORT") === "node" ||
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
   * A GET over Deno's own client (no Node layer on the everyday path: bench/README.md), answering as the
   * node path does: a 401 re-reads the credentials and tries once more, a 429/5xx with Retry-After is
   * retried after it, any other status is mapped to its KodamaError, --request-timeout bounds it whole.
   * `undefined` when this client cannot be used, or the request failed below HTTP (refused, reset, TLS):
   * it is then made over node:https, whose path reports such failures in the words it always has.
   */
  private async nativeGet<T>(
    what: ApiWhat,
    path: string,
    o: RequestOptions,
    refused?: Promise<NativeTarget | undefined>,
    attempt = 0,
  ): Promise<{ value: T } | undefined> {
    if (o.signal?.aborted) return undefined;
    const used = this.nativeTarget(refused);
    const t = await this.call(what, () => used);
    if (!t) return undefined;
    const url = this.url(path, o.query);
    const ac = new AbortController();
    const onAbort = () => ac.abort();
    o.signal?.addEventListener("abort", onAbort, { once: true });
    let timedOut = false;
    // AbortSignal.timeout, not setTimeout: the global timers load Deno's Node layer (~8 ms; src/timer.ts).
    // --request-timeout bounds the whole call; without it, the default bounds the wait for the headers
    // listened to through AbortSignal.any: a listener on the timeout signal itself keeps the process alive
    // until it fires, even once removed (Deno 2.9); one on a signal that follows it does not
    const limit = AbortSignal.any([AbortSignal.timeout(this.answerTimeoutMs)]);
    let answered = false;
    const onLimit = () => {
      if (answered && !this.requestTimeoutMs) return;
      timedOut = true;
      ac.abort();
    };
    limit.addEventListener("abort", onLimit, { once: true });
    const t0 = performance.now();
    let failure: HttpFailure;
    try {
      this.requestsBy.native++;
      const res = await fetch(url, { client: t.client, headers: t.headers, signal: ac.signal });
      answered = true;
      this.reach.reached(); // an answer, whatever it says: the server is there
      if (enabled("debug")) {
        log("debug", ["kube"], `GET ${url.pathname}${url.search} -> ${res.status}`, {
          ms: Math.round(performance.now() - t0),
          context: this.contextName,
        });
      }
      mark("first response headers");
      // --request-timeout bounds the whole call (limit); without it, a body that stalls for the default
      const text = this.requestTimeoutMs
        ? await res.text()
        : await readBodyIdle(res, this.answerTimeoutMs, () => {
          timedOut = true;
          ac.abort();
        });
      if (res.ok) {
        mark("first response body read");
        return { value: (text ? JSON.parse(text) : undefined) as T };
      }
      failure = {
        code: res.status,
        body: text,
        retryAfter: retryAfterSeconds(res.headers.get("retry-after") ?? undefined),
      };
    } catch (e) {
      if (timedOut) throw this.timeoutError(what, "GET", url);
      if (e instanceof SyntaxError) throw e; // not JSON: as the node path would throw it
      return undefined;
    } finally {
      limit.removeEventListener("abort", onLimit);
      o.signal?.removeEventListener("abort", onAbort);
    }
    if (failure.code === 401 && !o.signal?.aborted) {
      if (!refused) return await this.nativeGet(what, path, o, used, attempt);
      this.nativeAt = 0; // still refused: the next call re-reads the credentials again
    }
    if (await this.waitToRetry(failure, "GET", url, attempt, o.signal)) {
      return await this.nativeGet(what, path, o, refused, attempt + 1);
    }
    throw toKodamaError(failure, what, this);
  }

  /** A JSON request against the API server (errors mapped to KodamaError). */
  async request<T>(what: ApiWhat, method: string, path: string, o: RequestOptions = {}): Promise<T> {
    if (method === "GET") {
      const got = await this.nativeGet<T>(what, path, o);
      if (got) return got.value;
    }
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
        const chunks: Buffer[] = [];
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
          chunks.push(c);
          rearm();
        });
        res.on("end", () => {
          clearTimeout(timer);
          clearTimeout(idle);
          mark("first response body read");
          resolve(Buffer.concat(chunks).toString("utf8"));
        });
        res.on("error", (e) => {
          clearTimeout(timer);
          clearTimeout(idle);
          reject(e);
        });
      }));
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /**
   * A whole list, read in pages of LIST_CHUNK with `limit`/`continue` as kubectl does; the list's
   * resourceVersion is the first page's (every page belongs to that snapshot). When the continue token
   * has expired (410), the list is read again without paging, as client-go's pager does.
   */
  async listAll<T>(
    what: ApiWhat,
    path: string,
    query: Record<string, string | undefined> = {},
    signal?: AbortSignal,
    chunk = LIST_CHUNK,
  ): Promise<{ items: T[]; resourceVersion?: string }> {
    type Page = { items?: T[]; metadata?: { resourceVersion?: string; continue?: string } };
    const items: T[] = [];
    let resourceVersion: string | undefined;
    let cont: string | undefined;
    do {
      let page: Page;
      try {
        page = await this.request<Page>(what, "GET", path, {
          query: { ...query, limit: String(chunk), continue: cont },
          signal,
        });
      } catch (e) {
        if (cont && e instanceof KodamaError && /too old|expired|410/i.test(e.message)) {
          const full = await this.request<Page>(what, "GET", path, { query, signal });
          return { items: full.items ?? [], resourceVersion: full.metadata?.resourceVersion || undefined };
        }
        throw e;
      }
      items.push(...(page.items ?? []));
      resourceVersion ??= page.metadata?.resourceVersion || undefined;
      cont = page.metadata?.continue || undefined;
    } while (cont);
    return { items, resourceVersion };
  }

  /** List pods in one namespace, or in all namespaces when `namespace` is undefined. */
  async listPods(namespace: string | undefined, q: PodQuery = {}): Promise<V1Pod[]> {
    return (await this.listPodsAt(namespace, q)).items;
  }

  /** listPods plus the list's resourceVersion, to start a watch right after it (`kubectl get -w`). */
  async listPodsAt(
    namespace: string | undefined,
    q: PodQuery = {},
  ): Promise<{ items: V1Pod[]; resourceVersion?: string }> {
    return await this.listAll<V1Pod>(
      { verb: "list", resource: "pods", namespace },
      namespace === undefined ? "/api/v1/pods" : `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`,
      { labelSelector: q.labelSelector, fieldSelector: q.fieldSelector },
    );
  }

  /** Names, labels and a short state of every object of a kind (one paged list; completion, pickers). */
  async listSummaries(
    kind: ListKind,
    namespace: string | undefined,
    q: PodQuery = {},
  ): Promise<ObjectSummary[]> {
    type Obj = {
      metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
      spec?: { replicas?: number };
      status?: { phase?: string; readyReplicas?: number; replicas?: number };
    };
    const { path, resource } = summaryPath(kind, namespace);
    const { items } = await this.listAll<Obj>({ verb: "list", resource, namespace }, path, {
      labelSelector: q.labelSelector,
      fieldSelector: q.fieldSelector,
    });
    return items.map((o) => {
      const desired = o.spec?.replicas ?? o.status?.replicas;
      return {
        name: o.metadata?.name ?? "",
        namespace: o.metadata?.namespace,
        labels: o.metadata?.labels ?? {},
        phase: o.status?.phase ??
          (desired !== undefined ? `${o.status?.readyReplicas ?? 0}/${desired} ready` : undefined),
      };
    });
  }

  /**
   * SelfSubjectAccessReview: may the user (the impersonated one with --as) do this? `reason` is the
   * authorizer's, when it gives one.
   */
  async accessReview(a: {
    verb: string;
    group?: string;
    resource: string;
    subresource?: string;
    namespace?: string;
    name?: string;
  }): Promise<{ allowed: boolean; reason?: string }> {
    const r = await this.request<
      { status?: { allowed?: boolean; reason?: string; evaluationError?: string } }
    >(
      { verb: "create", resource: "selfsubjectaccessreviews.authorization.k8s.io" },
      "POST",
      "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
      {
        body: {
          apiVersion: "authorization.k8s.io/v1",
          kind: "SelfSubjectAccessReview",
          spec: { resourceAttributes: { ...a, group: a.group ?? "" } },
        },
      },
    );
    return {
      allowed: r.status?.allowed === true,
      reason: r.status?.reason || r.status?.evaluationError || undefined,
    };
  }

  /** Does the namespace exist? (Forbidden to look: assume it does, as listing in it worked.) */
  async namespaceExists(name: string): Promise<boolean> {
    try {
      await this.request(
        { verb: "get", resource: "namespaces", name },
        "GET",
        `/api/v1/namespaces/${encodeURIComponent(name)}`,
      );
      return true;
    } catch (e) {
      if (e instanceof KodamaError && e.code === ExitCode.NOT_FOUND) return false;
      if (e instanceof KodamaError && e.code === ExitCode.FORBIDDEN) return true;
      throw e;
    }
  }

  getPod(namespace: string, name: string): Promise<V1Pod> {
    return this.request(
      { verb: "get", resource: "pods", namespace, name },
      "GET",
      `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`,
    );
  }

  createPod(namespace: string, body: V1Pod): Promise<V1Pod> {
    return this.request(
      { verb: "create", resource: "pods", namespace, name: body.metadata?.name },
      "POST",
      `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`,
      { body },
    );
  }

  deletePod(namespace: string, name: string, o: { gracePeriodSeconds?: number } = {}): Promise<unknown> {
    return this.request(
      { verb: "delete", resource: "pods", namespace, name },
      "DELETE",
      `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`,
      { query: { gracePeriodSeconds: o.gracePeriodSeconds?.toString() } },
    );
  }

  /**
   * Events in a namespace, e.g. about one object with `fieldSelector: involvedObject.uid=…`
   * (see podstatus.ts eventsAbout / explainPod for reading them).
   */
  async listEvents(namespace: string, q: { fieldSelector?: string } = {}): Promise<CoreV1Event[]> {
    const list = await this.request<{ items?: CoreV1Event[] }>(
      { verb: "list", resource: "events", namespace },
      "GET",
      `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`,
      { query: { fieldSelector: q.fieldSelector } },
    );
    return list.items ?? [];
  }

  /** The PersistentVolumeClaims of a namespace (a pending one keeps a pod from being scheduled). */
  async listClaims(namespace: string): Promise<V1PersistentVolumeClaim[]> {
    const list = await this.request<{ items?: V1PersistentVolumeClaim[] }>(
      { verb: "list", resource: "persistentvolumeclaims", namespace },
      "GET",
      `/api/v1/namespaces/${encodeURIComponent(namespace)}/persistentvolumeclaims`,
    );
    return list.items ?? [];
  }

  getSecret(namespace: string, name: string): Promise<V1Secret> {
    return this.request(
      { verb: "get", resource: "secrets", namespace, name },
      "GET",
      `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`,
    );
  }

  getService(namespace: string, name: string): Promise<V1Service> {
    return this.request(
      { verb: "get", resource: "services", namespace, name },
      "GET",
      `/api/v1/namespaces/${encodeURIComponent(namespace)}/services/${encodeURIComponent(name)}`,
    );
  }

  /**
   * A workload (apps/v1 Deployment, StatefulSet, DaemonSet, ReplicaSet; batch/v1 Job) — kodama reads
   * only its pod selector. `kind` is lower-case singular (`deployment`).
   */
  getWorkload(kind: WorkloadKind, namespace: string, name: string): Promise<Workload> {
    const { group, resource } = WORKLOAD_APIS[kind];
    return this.request(
      { verb: "get", resource: `${resource}.${group}`, namespace, name },
      "GET",
      `/apis/${group}/v1/namespaces/${encodeURIComponent(namespace)}/${resource}/${encodeURIComponent(name)}`,
    );
  }

  async serverVersion(): Promise<string> {
    const v = await this.request<{ gitVersion: string }>(
      { verb: "get", resource: "version" },
      "GET",
      "/version",
    );
    return v.gitVersion;
  }

  /**
   * Watch pods until `signal` aborts, then resolve. The first connection replays existing pods as
   * ADDED; dropped connections resume from the last resourceVersion with backoff (a 410 Gone starts
   * over, replaying ADDED — consumers must treat ADDED idempotently). Rejects only for errors a
   * retry cannot fix (forbidden, not found, bad selector). `from` (a list's resourceVersion) starts
   * the watch after that list instead of replaying existing pods.
   */
  watchPods(
    namespace: string | undefined,
    q: PodQuery,
    onEvent: (type: WatchEventType, pod: V1Pod) => void,
    signal: AbortSignal,
    from?: string,
  ): Promise<void> {
    return this.watchObjects<V1Pod>("pods", namespace, q, onEvent, signal, from);
  }

  // ------------------------------------------------------------------ any served kind
  // The same verbs for every kind kodama manages (pods, PVCs, Secrets, ConfigMaps, events, ...).

  /** Create an object; `dryRun` asks the server to validate without persisting (`dryRun=All`). */
  createObject<T>(resource: Resource, namespace: string, body: T, o: { dryRun?: boolean } = {}): Promise<T> {
    const name = (body as { metadata?: { name?: string } }).metadata?.name;
    return this.request(
      { verb: "create", resource, namespace, name },
      "POST",
      resourcePath(resource, namespace),
      { body, query: { dryRun: o.dryRun ? "All" : undefined } },
    );
  }

  getObject<T>(resource: Resource, namespace: string, name: string): Promise<T> {
    return this.request(
      { verb: "get", resource, namespace, name },
      "GET",
      resourcePath(resource, namespace, name),
    );
  }

  /** The object, or undefined when it does not exist (other errors still throw). */
  async findObject<T>(resource: Resource, namespace: string, name: string): Promise<T | undefined> {
    try {
      return await this.getObject<T>(resource, namespace, name);
    } catch (e) {
      if (e instanceof KodamaError && e.code === ExitCode.NOT_FOUND) return undefined;
      throw e;
    }
  }

  /** List in one namespace, or in all namespaces when `namespace` is undefined. */
  async listObjects<T>(
    resource: Resource,
    namespace: string | undefined,
    q: PodQuery = {},
  ): Promise<{ items: T[]; resourceVersion?: string }> {
    const list = await this.request<{ items: T[]; metadata?: { resourceVersion?: string } }>(
      { verb: "list", resource, namespace },
      "GET",
      resourcePath(resource, namespace),
      { query: { labelSelector: q.labelSelector, fieldSelector: q.fieldSelector } },
    );
    return { items: list.items ?? [], resourceVersion: list.metadata?.resourceVersion || undefined };
  }

  /** Delete; resolves `false` when the object was already gone. */
  async deleteObject(
    resource: Resource,
    namespace: string,
    name: string,
    o: { gracePeriodSeconds?: number; dryRun?: boolean } = {},
  ): Promise<boolean> {
    try {
      await this.request(
        { verb: "delete", resource, namespace, name },
        "DELETE",
        resourcePath(resource, namespace, name),
        {
          query: {
            gracePeriodSeconds: o.gracePeriodSeconds?.toString(),
            dryRun: o.dryRun ? "All" : undefined,
          },
        },
      );
      return true;
    } catch (e) {
      if (e instanceof KodamaError && e.code === ExitCode.NOT_FOUND) return false;
      throw e;
    }
  }

  /** A JSON merge patch (RFC 7386); `resourceVersion` in the patch makes it conditional (409 when stale). */
  patchObject<T>(resource: Resource, namespace: string, name: string, patch: unknown): Promise<T> {
    return this.request(
      { verb: "patch", resource, namespace, name },
      "PATCH",
      resourcePath(resource, namespace, name),
      { body: patch, contentType: "application/merge-patch+json" },
    );
  }

  /** Watch any kind; the semantics of `watchPods`. */
  async watchObjects<T extends { metadata?: { resourceVersion?: string } }>(
    resource: Resource,
    namespace: string | undefined,
    q: PodQuery,
    onEvent: (type: WatchEventType, obj: T) => void,
    signal: AbortSignal,
    from?: string,
  ): Promise<void> {
    const path = resourcePath(resource, namespace);
    const what: ApiWhat = { verb: "watch", resource, namespace };
    let resourceVersion: string | undefined = from;
    let backoff = 200;
    while (!signal.aborted) {
      let gotEvent = false;
      try {
        const { res, req } = await this.open(what, "GET", path, {
          query: {
            watch: "true",
            labelSelector: q.labelSelector,
            fieldSelector: q.fieldSelector,
            resourceVersion,
            timeoutSeconds: "300",
          },
        });
        await new Promise<void>((resolve) => {
          const onAbort = () => {
            req.destroy();
            resolve();
          };
          signal.addEventListener("abort", onAbort, { once: true });
          let buf = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            buf += chunk;
            let nl;
            while ((nl = buf.indexOf("\n")) >= 0) {
              const line = buf.slice(0, nl).trim();
              buf = buf.slice(nl + 1);
              if (!line) continue;
              let ev: { type: string; object: T & { code?: number } };
              try {
                ev = JSON.parse(line);
              } catch {
                continue;
              }
              gotEvent = true;
              if (ev.type === "ERROR") {
                if (ev.object?.code === 410) resourceVersion = undefined;
                continue;
              }
              resourceVersion = ev.object?.metadata?.resourceVersion ?? resourceVersion;
              if (ev.type === "BOOKMARK") continue;
              onEvent(ev.type as WatchEventType, ev.object);
            }
          });
          const done = () => {
            signal.removeEventListener("abort", onAbort);
            resolve();
          };
          res.on("end", done);
          res.on("close", done);
          res.on("error", done);
        });
      } catch (e) {
        const ke = e instanceof KodamaError ? e : toKodamaError(e, what, this);
        if ([ExitCode.FORBIDDEN, ExitCode.NOT_FOUND, ExitCode.USAGE].includes(ke.code as 2 | 3 | 4)) throw ke;
      }
      if (signal.aborted) return;
      // unreachable for longer than --reconnect-timeout: give up (exit 1) rather than wait silently forever
      this.reach.check();
      backoff = gotEvent ? 200 : Math.min(backoff * 2, 5000);
      // remove the abort listener after each pause: a long watch reconnects every few minutes
      await new Promise<void>((r) => {
        const onAbort = () => {
          clearTimeout(t);
          r();
        };
        const t = setTimeout(() => {
          signal.removeEventListener("abort", onAbort);
          r();
        }, backoff);
        signal.addEventListener("abort", onAbort, { once: true });
      });
    }
  }

  /** Close keep-alive sockets so the process can exit promptly. */
  close(): void {
    this.agent?.destroy();
  }
}
