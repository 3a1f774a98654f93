/**
 * The Kubernetes client every feature uses. Only `src/kube/` talks to the API server.
 *
 * One verb style for every kind: `getObject`, `findObject`, `listObjects`, `createObject`, `patchObject`,
 * `deleteObject`, `watchObjects` (by plural resource name), plus the tuned `listPods`/`listPodsAt` (paged,
 * as kubectl) and `watchPods`. How requests travel (credentials, TLS, the keep-alive agent, Deno's own
 * client for GETs, retries, --request-timeout) is ./transport.ts; which kinds are served where is
 * ./resources.ts, a watch stream's framing ./watchlines.ts.
 *
 * Plain API calls go over node:https with one keep-alive agent per process, using credentials from
 * the light kubeconfig loader (./config.ts); streams (exec, logs, port-forward) reuse the same TLS
 * material. client-node is loaded only for what it alone can do (legacy auth providers), because
 * its import costs more CPU than a whole 100-pod fan-out.
 * `Kube.connect` only reads the kubeconfig; the first request opens the connection — directly, or through
 * the cluster's proxy-url / HTTPS_PROXY (./proxy.ts), as kubectl does.
 */
import type { V1Pod } from "@kubernetes/client-node";
import {
  type KubeConfigLite,
  type KubeOptions,
  type LoaderInternals,
  readKubeConfig,
  resolveNamespace,
} from "./config.ts";
import { type ApiWhat, toKodamaError } from "./errors.ts";
import type { Reachability } from "./reach.ts";
import { ExitCode, KodamaError } from "../base/errors.ts";
import { warmTls } from "./warm.ts";
import { connectionFlags, FLAGS_CONTEXT } from "./overrides.ts";
import { type RequestOptions, Transport } from "./transport.ts";
import { Budget } from "./bounds.ts";
import {
  type ListKind,
  type ObjectSummary,
  type PodQuery,
  type Resource,
  resourceName,
  resourcePath,
  summaryPath,
} from "./resources.ts";
import { eachLine, readLines } from "./watchlines.ts";
import { onAbort } from "../base/proc/timer.ts";
import type { ExecResult, ExecStreams } from "./exec.ts";
import type { LogQuery } from "./logs.ts";

export type { KubeOptions } from "./config.ts";
export type { V1Pod } from "@kubernetes/client-node";

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED";

/** How `watchObjects` runs: until `signal` aborts, from a resourceVersion, over which transport. */
export interface WatchOptions {
  signal: AbortSignal;
  /** the list's resourceVersion to watch from (none: the current state first, as ADDED events) */
  from?: string;
  /** told when the resourceVersion expired (410 Gone) and the watch starts over: see `watchObjects` */
  onExpired?: () => void;
  /** over Deno's own HTTP client (src/kube/transport.ts) instead of node:https */
  native?: boolean;
}

/**
 * The ServiceAccount user a Kubernetes-issued token authenticates as (its `sub`), read from the JWT's payload
 * (not verified: the server does that; this only names who the server will say it is). Undefined for any
 * other token.
 */
export function serviceAccountOf(token: string): string | undefined {
  const part = token.split(".")[1];
  if (!part || token.split(".").length !== 3) return undefined;
  try {
    const json = atob(part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "="));
    const c = JSON.parse(json) as { sub?: unknown; iss?: unknown; "kubernetes.io"?: unknown };
    const issuedByKubernetes = c["kubernetes.io"] !== undefined || c.iss === "kubernetes/serviceaccount";
    return issuedByKubernetes && typeof c.sub === "string" &&
        /^system:serviceaccount:[a-z0-9][-a-z0-9]*:[a-z0-9][-.a-z0-9]*$/.test(c.sub)
      ? c.sub
      : undefined;
  } catch {
    return undefined;
  }
}

/** Page size of list calls (kubectl's --chunk-size default). */
export const LIST_CHUNK = 500;

export class Kube {
  readonly contextName: string;
  readonly server: string;
  /** the user requests are made as when impersonating (--as / the kubeconfig's `as`) */
  readonly as?: string;
  /** --request-timeout in ms; 0 = none */
  readonly requestTimeoutMs: number;
  readonly transport: Transport;

  private constructor(
    kc: KubeConfigLite,
    /** what the connection was made from (flags); see childFlags() */
    readonly options: KubeOptions,
    authTtlMs?: number,
    internal?: LoaderInternals,
  ) {
    this.transport = new Transport(kc, options, authTtlMs, internal);
    // a namespace given (-n, KODAMA_NAMESPACE, the config) is checked at once; the context's when used
    if (options.namespace) {
      this.resolvedNamespace = resolveNamespace(kc, options.namespace, options.namespaceFrom);
    }
    this.contextName = this.transport.contextName;
    this.server = this.transport.server;
    this.as = this.transport.as;
    this.requestTimeoutMs = this.transport.requestTimeoutMs;
  }

  private resolvedNamespace?: string;

  /**
   * The namespace of a command that is not across all of them (-n, KODAMA_NAMESPACE, the context's, else
   * "default"). The context's is checked when first asked for: `pods -A` works under a context whose
   * namespace is not a name, as kubectl's does.
   */
  get namespace(): string {
    return this.resolvedNamespace ??= resolveNamespace(
      this.kc,
      this.options.namespace,
      this.options.namespaceFrom,
    );
  }

  /** The kubeconfig in use (replaced when a re-read after a failure finds the cluster or user changed). */
  get kc(): KubeConfigLite {
    return this.transport.kc;
  }

  /** Is the API server reachable: fed by every request, watch and log stream; read by the retry loops. */
  get reach(): Reachability {
    return this.transport.reach;
  }

  /** requests made over Deno's own client (GETs) and over node:https, for tests and debugging */
  get requestsBy(): { native: number; node: number } {
    return this.transport.requestsBy;
  }

  /** `internal` is for tests only (service-account dir, env); commands never pass it. */
  static async connect(opts: KubeOptions = {}, internal?: LoaderInternals): Promise<Kube> {
    warmTls(); // the first handshake's DRBG seeding starts now, off the main thread (./warm.ts)
    const kc = await readKubeConfig(opts, internal);
    return new Kube(kc, opts, internal?.authTtlMs, internal);
  }

  /** A request or stream could not reach the server (see Transport.noteUnreachable). */
  noteUnreachable(e: KodamaError): void {
    this.transport.noteUnreachable(e);
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

  /** --request-timeout, else DEFAULT_ANSWER_TIMEOUT_MS (./transport.ts): how long to wait for an answer */
  get answerTimeoutMs(): number {
    return this.transport.answerTimeoutMs;
  }

  /** A server that did not answer in time, named as kubectl names it (exit 5). */
  timeoutError(what: ApiWhat, method: string, url: URL, ms?: number): KodamaError {
    return this.transport.timeoutError(what, method, url, ms);
  }

  /** How long a stream's dial and TLS handshake may take now (see Transport.dialBoundMs). */
  dialBoundMs(): number {
    return this.transport.dialBoundMs();
  }

  /** A JSON request against the API server (errors mapped to KodamaError). */
  request<T>(what: ApiWhat, method: string, path: string, o: RequestOptions = {}): Promise<T> {
    return this.transport.request<T>(what, method, path, o);
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
    // every page of one list together is bounded like one body: a server that pages for ever fails too
    const budget = new Budget("body", what);
    do {
      let page: Page;
      try {
        page = await this.request<Page>(what, "GET", path, {
          query: { ...query, limit: String(chunk), continue: cont },
          signal,
          budget,
        });
      } catch (e) {
        if (cont && e instanceof KodamaError && /too old|expired|410/i.test(e.message)) {
          const full = await this.request<Page>(what, "GET", path, {
            query,
            signal,
            budget: new Budget("body", what),
          });
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

  /**
   * Who the API server says this user is (SelfSubjectReview, Kubernetes 1.26+), else the client
   * certificate's CN (what a server of any version authenticates a certificate user as), else the
   * impersonated user (--as); before 1.26, a ServiceAccount token's subject; undefined when none can be told
   * (another kind of token on a server before 1.26: its name is the server's configuration's to give).
   */
  async whoAmI(): Promise<string | undefined> {
    if (this.as) return this.as;
    for (const v of ["v1", "v1beta1", "v1alpha1"]) {
      try {
        const r = await this.request<{ status?: { userInfo?: { username?: string } } }>(
          { verb: "create", resource: "selfsubjectreviews.authentication.k8s.io" },
          "POST",
          `/apis/authentication.k8s.io/${v}/selfsubjectreviews`,
          { body: { apiVersion: `authentication.k8s.io/${v}`, kind: "SelfSubjectReview" } },
        );
        const name = r.status?.userInfo?.username;
        if (name) return name;
      } catch {
        // not served by this version (404), or not allowed: the next one, then the certificate
      }
    }
    const user = this.kc.getCurrentUser();
    // a ServiceAccount token (kubectl create token, a token Secret): the API server authenticates it as its
    // subject, system:serviceaccount:NS:NAME, on every version. Other tokens (OIDC, static) stay unknown:
    // what name the server gives them is its configuration's, not the token's to say.
    const token = user?.token ??
      (user?.tokenFile ? await Deno.readTextFile(user.tokenFile).catch(() => undefined) : undefined);
    const sa = token ? serviceAccountOf(token.trim()) : undefined;
    if (sa) return sa;
    let pem: string | undefined;
    try {
      if (user?.certData) pem = atob(user.certData.replace(/\s+/g, ""));
      else if (user?.certFile) pem = await Deno.readTextFile(user.certFile);
    } catch {
      return undefined;
    }
    if (!pem) return undefined;
    try {
      const { X509Certificate } = await import("node:crypto");
      const cn = /(?:^|\n)CN=([^\n]+)/.exec(new X509Certificate(pem).subject)?.[1];
      return cn?.trim() || undefined;
    } catch {
      return undefined;
    }
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

  /**
   * Does the server serve this API group version (`snapshot.storage.k8s.io/v1`)? Discovery's answer: a
   * 404 is no; other errors (forbidden, unreachable) throw.
   */
  async servesGroupVersion(groupVersion: string): Promise<boolean> {
    try {
      await this.request({ verb: "get", resource: "discovery" }, "GET", `/apis/${groupVersion}`);
      return true;
    } catch (e) {
      if (e instanceof KodamaError && e.code === ExitCode.NOT_FOUND) return false;
      throw e;
    }
  }

  async serverVersion(): Promise<string> {
    return (await this.serverVersionInfo()).gitVersion;
  }

  /** The API server's `/version` object (gitVersion, major, minor, platform, ...). */
  async serverVersionInfo(): Promise<{ gitVersion: string } & Record<string, unknown>> {
    return await this.request<{ gitVersion: string } & Record<string, unknown>>(
      { verb: "get", resource: "version" },
      "GET",
      "/version",
    );
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
    return this.watchObjects<V1Pod>("pods", namespace, q, onEvent, { signal, from });
  }

  // ------------------------------------------------------------------ any served kind
  // The same verbs for every kind kodama manages (pods, PVCs, Secrets, ConfigMaps, events, ...).

  /** Create an object; `dryRun` asks the server to validate without persisting (`dryRun=All`). */
  createObject<T>(resource: Resource, namespace: string, body: T, o: { dryRun?: boolean } = {}): Promise<T> {
    const name = (body as { metadata?: { name?: string } }).metadata?.name;
    return this.request(
      { verb: "create", resource: resourceName(resource), namespace, name },
      "POST",
      resourcePath(resource, namespace),
      { body, query: { dryRun: o.dryRun ? "All" : undefined } },
    );
  }

  getObject<T>(resource: Resource, namespace: string, name: string): Promise<T> {
    return this.request(
      { verb: "get", resource: resourceName(resource), namespace, name },
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
      { verb: "list", resource: resourceName(resource), namespace },
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
    o: {
      gracePeriodSeconds?: number;
      dryRun?: boolean;
      /** delete only this version of the object (409 when it changed: someone else's update won) */
      resourceVersion?: string;
      /**
       * what happens to the objects it owns: a Job deleted through the API orphans its pods unless told
       * (batch/v1's default), so a session's Job is deleted with `Background` (the garbage collector removes
       * its pods) or `Foreground`
       */
      propagationPolicy?: "Background" | "Foreground" | "Orphan";
    } = {},
  ): Promise<boolean> {
    try {
      await this.request(
        { verb: "delete", resource: resourceName(resource), namespace, name },
        "DELETE",
        resourcePath(resource, namespace, name),
        {
          query: {
            gracePeriodSeconds: o.gracePeriodSeconds?.toString(),
            dryRun: o.dryRun ? "All" : undefined,
            propagationPolicy: o.propagationPolicy,
          },
          ...(o.resourceVersion
            ? {
              body: {
                kind: "DeleteOptions",
                apiVersion: "v1",
                preconditions: { resourceVersion: o.resourceVersion },
              },
            }
            : {}),
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
      { verb: "patch", resource: resourceName(resource), namespace, name },
      "PATCH",
      resourcePath(resource, namespace, name),
      { body: patch, contentType: "application/merge-patch+json" },
    );
  }

  /**
   * Watch any kind; the semantics of `watchPods`. `onExpired` is told when the resourceVersion expired
   * (410 Gone) and the watch starts over, replaying ADDED without the DELETED it missed: a cache of the
   * objects must be rebuilt then. `native`: over Deno's own client when it can be used (no Node layer: a
   * session's start waits so), else node:https; the long-running watches (`-w`, `logs -f`) stay on node:https,
   * the path of their log and exec streams, so that they see an outage and the server's return alike.
   */
  async watchObjects<T extends { metadata?: { resourceVersion?: string } }>(
    resource: Resource,
    namespace: string | undefined,
    q: PodQuery,
    onEvent: (type: WatchEventType, obj: T) => void,
    o: WatchOptions,
  ): Promise<void> {
    const { signal, from, onExpired, native = false } = o;
    const path = resourcePath(resource, namespace);
    const what: ApiWhat = { verb: "watch", resource: resourceName(resource), namespace };
    let resourceVersion: string | undefined = from;
    let backoff = 200;
    while (!signal.aborted) {
      let gotEvent = false;
      // an event over KUBE_LIMITS.event: the stream is closed and the watch fails (never retried)
      let tooBig: KodamaError | undefined;
      // one line of the stream: an event, a bookmark, or an ERROR (410: the resourceVersion expired)
      const onLine = (line: string) => {
        if (!line) return;
        let ev: { type: string; object: T & { code?: number } };
        try {
          ev = JSON.parse(line);
        } catch {
          return;
        }
        gotEvent = true;
        if (ev.type === "ERROR") {
          if (ev.object?.code === 410) {
            resourceVersion = undefined;
            onExpired?.();
          }
          return;
        }
        resourceVersion = ev.object?.metadata?.resourceVersion ?? resourceVersion;
        if (ev.type === "BOOKMARK") return;
        onEvent(ev.type as WatchEventType, ev.object);
      };
      try {
        const query = {
          watch: "true",
          labelSelector: q.labelSelector,
          fieldSelector: q.fieldSelector,
          resourceVersion,
          timeoutSeconds: "300",
        };
        const stream = native ? await this.transport.watchNative(what, path, { query, signal }) : undefined;
        if (stream) {
          tooBig = await readLines(stream, onLine, what);
        } else if (!signal.aborted) {
          const { res, req } = await this.transport.open(what, "GET", path, { query });
          await new Promise<void>((resolve) => {
            // the signal may have aborted while the watch connected
            const off = onAbort(signal, () => {
              req.destroy();
              resolve();
            });
            let buf = "";
            res.setEncoding("utf8");
            res.on("data", (chunk: string) => {
              try {
                buf = eachLine(buf, chunk, onLine, what);
              } catch (e) {
                tooBig = e as KodamaError;
                req.destroy();
                done();
              }
            });
            const done = () => {
              off();
              resolve();
            };
            res.on("end", done);
            res.on("close", done);
            res.on("error", done);
          });
        }
      } catch (e) {
        const ke = e instanceof KodamaError ? e : toKodamaError(e, what, this);
        if ([ExitCode.FORBIDDEN, ExitCode.NOT_FOUND, ExitCode.USAGE].includes(ke.code as 2 | 3 | 4)) throw ke;
      }
      if (tooBig) throw tooBig;
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

  /** `execInPod` (./exec.ts, loaded on first use): the seam's `KubeStreams.execIn` */
  async execIn(
    ns: string,
    pod: string,
    container: string,
    command: string[],
    s: ExecStreams = {},
  ): Promise<ExecResult> {
    const { execInPod } = await import("./exec.ts");
    return await execInPod(this, ns, pod, container, command, s);
  }

  /** `streamLog` (./logs.ts, loaded on first use): the seam's `KubeStreams.logOf` */
  async logOf(
    ns: string,
    pod: string,
    container: string,
    q: LogQuery,
    onData: (chunk: Uint8Array) => void | Promise<void>,
    signal?: AbortSignal,
  ): Promise<"eof" | "aborted"> {
    const { streamLog } = await import("./logs.ts");
    return await streamLog(this, ns, pod, container, q, onData, signal);
  }

  /** Close keep-alive sockets so the process can exit promptly. */
  close(): void {
    this.transport.close();
  }
}
