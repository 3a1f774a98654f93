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
import type { V1LabelSelector, V1Pod, V1Service } from "@kubernetes/client-node";
import http from "node:http";
import https from "node:https";
import {
  type KubeConfigLite,
  type KubeOptions,
  type LoaderInternals,
  loadKubeConfig,
  resolveNamespace,
} from "./config.ts";
import { type ApiWhat, toKodamaError } from "./errors.ts";
import { proxyAgent, proxyFor, redactProxy } from "./proxy.ts";
import { ExitCode, KodamaError } from "../errors.ts";
import { enabled, log } from "../ui/log.ts";

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

/** The part of a workload object kodama reads. */
export interface Workload {
  kind?: string;
  metadata?: { name?: string; namespace?: string; uid?: string };
  spec?: { selector?: V1LabelSelector; replicas?: number };
}

export interface PodQuery {
  labelSelector?: string;
  fieldSelector?: string;
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

export class Kube {
  readonly namespace: string;
  readonly contextName: string;
  readonly server: string;
  private opts?: Promise<HttpsOpts>;
  private optsAt = 0;
  private agent?: http.Agent;
  private agentP?: Promise<http.Agent>;

  private constructor(
    readonly kc: KubeConfigLite,
    namespaceFlag?: string,
    private readonly authTtlMs = AUTH_TTL_MS,
  ) {
    this.namespace = resolveNamespace(kc, namespaceFlag);
    this.contextName = kc.getCurrentContext();
    this.server = (kc.getCurrentCluster()?.server ?? "?").replace(/\/+$/, "");
  }

  /** `internal` is for tests only (service-account dir, env); commands never pass it. */
  static connect(opts: KubeOptions = {}, internal?: LoaderInternals): Promise<Kube> {
    return Promise.resolve(new Kube(loadKubeConfig(opts, internal), opts.namespace, internal?.authTtlMs));
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
   * AUTH_TTL_MS and after a 401 (`fresh`), so a rotated token file is picked up; the agent (direct, or a
   * CONNECT tunnel through the cluster's proxy-url / HTTPS_PROXY) is made once.
   */
  private httpsOptions(fresh = false): Promise<HttpsOpts> {
    const age = Date.now() - this.optsAt;
    // concurrent 401s (a fan-out) share one re-read
    if (this.opts && (age > this.authTtlMs || (fresh && age > 1000))) {
      if (fresh) this.kc.invalidateCredentials();
      this.opts = undefined;
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
    retried = false,
  ): Promise<{ res: http.IncomingMessage; req: http.ClientRequest }> {
    const base = await this.call(what, () => this.httpsOptions(retried));
    const url = this.url(path, o.query);
    const body = o.body === undefined ? undefined : JSON.stringify(o.body);
    const headers: Record<string, string> = { ...base.headers, Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = o.contentType ?? "application/json";
    const mod = url.protocol === "http:" ? http : https;
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
          done(res.statusCode);
          if ((res.statusCode ?? 0) >= 400) {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on(
              "end",
              () => reject({ code: res.statusCode, body: Buffer.concat(chunks).toString("utf8") }),
            );
            res.on("error", reject);
            return;
          }
          resolve({ res, req });
        });
        req.on("error", (e) => {
          done(undefined);
          reject(e);
        });
        req.end(body);
      });
    } catch (e) {
      if ((e as { code?: unknown })?.code === 401 && !o.signal?.aborted) {
        if (!retried) return await this.open(what, method, path, o, true);
        this.optsAt = 0; // still refused: the next call re-reads the credentials again
      }
      throw toKodamaError(e, what, this);
    }
  }

  /** A JSON request against the API server (errors mapped to KodamaError). */
  async request<T>(what: ApiWhat, method: string, path: string, o: RequestOptions = {}): Promise<T> {
    const { res } = await this.open(what, method, path, o);
    const text = await this.call(what, () =>
      new Promise<string>((resolve, reject) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
        res.on("error", reject);
      }));
    return (text ? JSON.parse(text) : undefined) as T;
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
    const list = await this.request<{ items: V1Pod[]; metadata?: { resourceVersion?: string } }>(
      { verb: "list", resource: "pods", namespace },
      "GET",
      namespace === undefined ? "/api/v1/pods" : `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`,
      { query: { labelSelector: q.labelSelector, fieldSelector: q.fieldSelector } },
    );
    return { items: list.items ?? [], resourceVersion: list.metadata?.resourceVersion || undefined };
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
  async watchPods(
    namespace: string | undefined,
    q: PodQuery,
    onEvent: (type: WatchEventType, pod: V1Pod) => void,
    signal: AbortSignal,
    from?: string,
  ): Promise<void> {
    const path = namespace === undefined
      ? "/api/v1/pods"
      : `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`;
    const what: ApiWhat = { verb: "watch", resource: "pods", namespace };
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
              let ev: { type: string; object: V1Pod & { code?: number } };
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
