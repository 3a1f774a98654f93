/**
 * The Kubernetes API test server: HTTPS on 127.0.0.1 with its own CA, authentication, routing
 * to the API half (routes.ts/api.ts) and streams to the runtime half (runtime/, streams/).
 * A test tool, not a cluster for real workloads.
 */
import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { join } from "node:path";
import { ClusterApi, SYSTEM_NAMESPACES } from "./api.ts";
import { Authenticator, type PolicyRule, type User, type UserPolicy } from "./auth.ts";
import { generateCerts } from "./certs.ts";
import type { Runtime, StreamContext } from "./contract.ts";
import { createRuntime } from "./runtime/mod.ts";
import { clusterFaults, type Faults, FaultState } from "./faults.ts";
import { buildKubeconfig } from "./kubeconfig.ts";
import { handleRequest, parseResourcePath, refuseUpgrade, type RouteContext, sendError } from "./routes.ts";
import { ApiError, reasonForCode, unauthorized } from "./status.ts";
import { findResource } from "./resources.ts";
import { csiObjects, STORAGE_READABLE } from "./snapshots.ts";
import { DEFAULT_CLASS_ANNOTATION, DEFAULT_STORAGE_CLASS, TEST_PROVISIONER } from "./storage.ts";
import { nodeObject, type NodeOptions } from "./nodes.ts";
import type { ControllerOptions } from "./controllers/index.ts";

export interface ServerOptions {
  /** 0 = a free port */
  port?: number;
  /** where to write the kubeconfig (default: STATE/kubeconfig) */
  kubeconfigPath?: string;
  /** root for pod working dirs, PVC dirs, certificates (default: a new temp dir, removed on stop) */
  stateDir?: string;
  /** log requests to stderr */
  verbose?: boolean;
  /** "v4": exec/attach WebSockets without v5.channel.k8s.io, as on Kubernetes before 1.30 (SPDY still works) */
  execProtocols?: "v4" | "v5";
  /**
   * More bearer-token users, each limited to one namespace and (optionally) to a Role's rules there; the
   * kubeconfig gets a context named after each (with that namespace).
   */
  users?: { name: string; namespace: string; rules?: PolicyRule[] }[];
  /**
   * CSI storage (tests/cluster/snapshots.ts): the classes `csi-hostpath` (clones and restores a claim's
   * `dataSource`) and `csi-nocopy` (a CSI driver that ignores it), their CSIDrivers, and read access to
   * StorageClasses, CSIDrivers and VolumeSnapshotClasses for every authenticated user.
   */
  csi?: boolean;
  /**
   * serve `snapshot.storage.k8s.io/v1` with the snapshot controller and a default VolumeSnapshotClass for
   * `csi-hostpath` (implies `csi`). Without it the group is absent from discovery, as on most clusters.
   */
  snapshots?: boolean;
  /** the node's extra labels, taints and allocatable (extended resources: none by default); nodes.ts */
  node?: NodeOptions;
  /** the controllers' timing (controllers/): `backoffBaseMs` shortens the Job back-off for tests */
  controllers?: ControllerOptions;
}

export const DEV_TOKEN_USER = "dev";

/** One served request, as kube-apiserver's audit log would name it (the last REQUEST_LOG_MAX are kept). */
export interface RequestRecord {
  method: string;
  /** path and query */
  url: string;
  /** every User-Agent header value, in order (a client may send several) */
  userAgents: string[];
  /** the authenticated user (before impersonation) */
  user?: string;
  /** the user the request was authorized as, when impersonating */
  impersonated?: string;
  /** true for exec/attach/port-forward upgrades */
  upgrade: boolean;
  status?: number;
}

const REQUEST_LOG_MAX = 5000;

function userAgentsOf(req: IncomingMessage): string[] {
  const out: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i].toLowerCase() === "user-agent") out.push(req.rawHeaders[i + 1]);
  }
  return out;
}

export interface TestServer {
  readonly server: string;
  readonly port: number;
  readonly kubeconfig: string;
  readonly stateDir: string;
  /** the runtime's state dir (pod dirs; `bin/` is on every pod's PATH) */
  readonly runtimeStateDir: string;
  readonly api: ClusterApi;
  readonly runtime: Runtime;
  readonly faults: Faults;
  /** bearer token of the `dev` user */
  readonly devToken: string;
  /** the requests served so far, oldest first (also `GET /_test/requests`) */
  requestLog(): RequestRecord[];
  stop(): Promise<void>;
}

export async function startServer(opts: ServerOptions = {}): Promise<TestServer> {
  const ownState = !opts.stateDir;
  const stateDir = opts.stateDir ?? await Deno.makeTempDir({ prefix: "kodama-cluster-" });
  await Deno.mkdir(stateDir, { recursive: true });
  const USERS = { admin: ["system:masters"], dev: ["developers"] };
  let certs = await generateCerts(join(stateDir, "pki"), USERS);
  let caGeneration = 0;
  const devToken = `kodama-test-dev-${crypto.randomUUID().replaceAll("-", "")}`;
  const extra = (opts.users ?? []).map((u) => ({
    ...u,
    token: `kodama-test-${u.name}-${crypto.randomUUID().replaceAll("-", "")}`,
  }));
  const tokens = new Map<string, User>([[devToken, {
    name: "dev",
    groups: ["developers", "system:authenticated"],
  }]]);
  const policies = new Map<string, UserPolicy>([["dev", { namespaces: ["dev"] }]]);
  for (const u of extra) {
    tokens.set(u.token, { name: u.name, groups: ["system:authenticated"] });
    policies.set(u.name, { namespaces: [u.namespace], rules: u.rules });
  }
  const api = new ClusterApi(stateDir, opts.controllers);
  if (opts.snapshots) api.features.add("snapshots");
  const auth = new Authenticator(tokens, policies, api.store);
  const runtimeStateDir = join(stateDir, "runtime");
  const runtime = createRuntime({ stateDir: runtimeStateDir, host: api, execProtocols: opts.execProtocols });
  api.runtime = runtime;
  for (const ns of SYSTEM_NAMESPACES) {
    api.create(findResource("", "v1", "namespaces")!, "", { metadata: { name: ns } });
  }
  // the one node, as the kubelet registers it (the scheduler's filters read it: nodes.ts)
  api.store.insert("nodes", nodeObject(opts.node));
  // a cluster's default StorageClass: claims without a class get it and bind at once
  api.create(findResource("storage.k8s.io", "v1", "storageclasses")!, "", {
    metadata: { name: DEFAULT_STORAGE_CLASS, annotations: { [DEFAULT_CLASS_ANNOTATION]: "true" } },
    provisioner: TEST_PROVISIONER,
  });
  if (opts.csi || opts.snapshots) {
    for (const o of csiObjects(!!opts.snapshots)) {
      api.create(findResource(o.group, "v1", o.resource)!, "", o.obj);
    }
    for (const r of STORAGE_READABLE) auth.clusterReadable.add(r);
  }

  const faultState = new FaultState();
  const sockets = new Set<Socket>();
  const log = (m: string) => opts.verbose && console.error(`[cluster] ${m}`);
  const requests: RequestRecord[] = [];
  const record = (req: IncomingMessage, upgrade: boolean): RequestRecord => {
    const r: RequestRecord = {
      method: req.method ?? "",
      url: req.url ?? "",
      userAgents: userAgentsOf(req),
      upgrade,
    };
    requests.push(r);
    if (requests.length > REQUEST_LOG_MAX) requests.splice(0, requests.length - REQUEST_LOG_MAX);
    return r;
  };
  /** authenticate, then apply Impersonate-* headers (kube-apiserver's order) */
  const identify = (req: IncomingMessage, r: RequestRecord): User => {
    const user = auth.authenticate(req);
    if (!user) throw unauthorized();
    r.user = user.name;
    const as = auth.impersonate(user, req);
    if (as !== user) r.impersonated = as.name;
    return as;
  };

  const srv = https.createServer({
    key: certs.server.key,
    cert: certs.server.cert,
    ca: certs.ca.cert,
    requestCert: true,
    rejectUnauthorized: false,
    // kube-apiserver reads up to 1 MiB of request line and headers (Go's MaxHeaderBytes = 1 << 20); node's
    // default is 16 KiB, which refused a 120 KB exec argument with 431 that a real cluster runs
    maxHeaderSize: 1 << 20,
  });
  srv.on("secureConnection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  srv.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });

  let stopped = false;
  const killSockets = () => {
    for (const s of sockets) s.destroy();
    sockets.clear();
  };
  const faults: Faults = {
    ...clusterFaults(api),
    dropStreams(on = true) {
      faultState.streamsDropped = on;
      api.setStreamsDropped(on);
      if (on) runtime.dropAllStreams();
    },
    stallStreams() {
      runtime.stallAllStreams();
    },
    delay(ms) {
      faultState.delayMs = Math.max(0, ms);
    },
    failNext(n, status, o) {
      faultState.failRemaining = n;
      faultState.failStatus = status;
      faultState.failPath = o?.pathIncludes;
      faultState.failMethod = o?.method?.toUpperCase();
      faultState.failMessage = o?.message;
      faultState.failRetryAfter = o?.retryAfter;
    },
    refuseSpdy(on = true) {
      faultState.spdyRefused = on;
    },
    runtimeCacheLag(ms) {
      runtime.runtimeCacheLagMs = Math.max(0, ms);
    },
    stopMidStream() {
      runtime.dropAllStreams();
      srv.close();
      killSockets();
    },
    async listenAgain(o = {}) {
      if (stopped) throw new Error("the test server was stopped");
      if (srv.listening) throw new Error("the test server is listening: call stopMidStream() first");
      if (o.newCa) {
        // a rebuilt control plane: a new CA, server and client certificates; the kubeconfig is rewritten
        certs = await generateCerts(join(stateDir, `pki-${++caGeneration}`), USERS);
        srv.setSecureContext({ key: certs.server.key, cert: certs.server.cert, ca: certs.ca.cert });
        await writeKubeconfig();
      }
      await new Promise<void>((resolve, reject) => {
        srv.once("error", reject);
        srv.listen(port, "127.0.0.1", () => {
          srv.off("error", reject);
          resolve();
        });
      });
    },
    reset() {
      faultState.delayMs = 0;
      faultState.failRemaining = 0;
      faultState.streamsDropped = false;
      faultState.spdyRefused = false;
      runtime.runtimeCacheLagMs = 0;
      api.setStreamsDropped(false);
    },
  };

  let address = "";
  const ctx: RouteContext = {
    api,
    auth,
    requestLog: () => requests,
    runtime: () => runtime,
    faultState,
    faults,
    get serverAddress() {
      return address;
    },
    log,
  };

  const injectedFailure = (path: string, method?: string): ApiError | undefined => {
    if (path.startsWith("/_test/")) return undefined;
    const code = faultState.takeFailure(path, method);
    if (code === undefined) return undefined;
    const retryAfterSeconds = faultState.failRetryAfter;
    return new ApiError(
      code,
      reasonForCode(code),
      faultState.failMessage ??
        (code === 429
          ? "Too many requests, please try again later."
          : `injected failure (kodama test server fault injection): ${code}`),
      retryAfterSeconds !== undefined ? { retryAfterSeconds } : undefined,
    );
  };

  srv.on("request", async (req: IncomingMessage, res: ServerResponse) => {
    const t0 = performance.now();
    const r = record(req, false);
    res.on("finish", () => {
      r.status = res.statusCode;
      log(
        `${req.method} ${req.url} ${res.statusCode} ${(performance.now() - t0).toFixed(1)}ms ${
          JSON.stringify(r.userAgents.join(", "))
        }${r.impersonated ? ` as ${r.impersonated}` : ""}`,
      );
    });
    try {
      await faultState.wait();
      const user = identify(req, r);
      const path = new URL(req.url ?? "/", "https://x").pathname;
      const injected = injectedFailure(path, req.method);
      if (injected) throw injected;
      await handleRequest(ctx, user, req, res);
    } catch (e) {
      if (!(e instanceof ApiError)) {
        console.error(`[cluster] ${req.method} ${req.url}: ${(e as Error)?.stack ?? e}`);
      }
      sendError(res, e);
    }
  });

  srv.on("upgrade", async (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const r = record(req, true);
    log(
      `UPGRADE ${req.method} ${req.url} (${req.headers.upgrade}) ${JSON.stringify(r.userAgents.join(", "))}`,
    );
    try {
      await faultState.wait();
      const user: User = identify(req, r);
      const url = new URL(req.url ?? "/", "https://x");
      const injected = injectedFailure(url.pathname);
      if (injected) throw injected;
      const p = parseResourcePath(url.pathname, api.features);
      if (!p || p === "unknown" || p.def.name !== "pods" || !p.name || !p.namespace) {
        throw new ApiError(404, "NotFound", "the server could not find the requested resource");
      }
      const kind = p.subresource;
      if (kind !== "exec" && kind !== "attach" && kind !== "portforward") {
        throw new ApiError(400, "BadRequest", `upgrade is not supported for ${url.pathname}`);
      }
      auth.authorize(user, {
        verb: "create",
        group: "",
        resource: "pods",
        subresource: kind,
        namespace: p.namespace,
        name: p.name,
      });
      const pod = api.get(p.def, p.namespace, p.name);
      const upgrade = String(req.headers.upgrade ?? "").toLowerCase();
      // WebSocket (channel protocols, or SPDY tunnelled for port-forward), or plain SPDY/3.1 as kubectl falls
      // back to (exec/attach on servers without v5, port-forward with KUBECTL_PORT_FORWARD_WEBSOCKETS=false)
      if (upgrade !== "websocket" && upgrade !== "spdy/3.1") {
        throw new ApiError(
          400,
          "BadRequest",
          `unable to upgrade: unsupported protocol ${JSON.stringify(upgrade)}`,
        );
      }
      if (upgrade === "spdy/3.1" && faultState.spdyRefused) {
        // not the API server's own refusal (no Status): what a WebSocket-only proxy in front of it says
        socket.end(
          "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 26\r\n\r\nSPDY upgrades not allowed\n",
        );
        return;
      }
      if (faultState.streamsDropped) {
        throw new ApiError(503, "ServiceUnavailable", "streams are dropped (fault injection)");
      }
      const sctx: StreamContext = {
        namespace: p.namespace,
        pod: pod as StreamContext["pod"],
        query: url.searchParams,
        user: user.name,
      };
      runtime.handleUpgrade(kind, req, socket, head, sctx);
    } catch (e) {
      if (!(e instanceof ApiError)) {
        console.error(`[cluster] upgrade ${req.url}: ${(e as Error)?.stack ?? e}`);
      }
      refuseUpgrade(socket, e);
    }
  });
  srv.on("tlsClientError", () => {/* clients that drop the handshake */});

  try {
    await new Promise<void>((resolve, reject) => {
      srv.once("error", reject);
      srv.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
    });
  } catch (e) {
    api.close();
    await runtime.stopAll();
    if (ownState) await Deno.remove(stateDir, { recursive: true }).catch(() => {});
    throw e;
  }
  const port = (srv.address() as { port: number }).port;
  address = `127.0.0.1:${port}`;
  const server = `https://127.0.0.1:${port}`;
  // like every cluster: Service default/kubernetes pointing at the API server
  api.create(findResource("", "v1", "services")!, "default", {
    metadata: { name: "kubernetes", labels: { component: "apiserver", provider: "kubernetes" } },
    spec: { ports: [{ name: "https", port: 443, targetPort: port, protocol: "TCP" }] },
  });
  api.create(findResource("", "v1", "endpoints")!, "default", {
    metadata: { name: "kubernetes", labels: { "endpointslice.kubernetes.io/skip-mirror": "true" } },
    subsets: [{ addresses: [{ ip: "127.0.0.1" }], ports: [{ name: "https", port, protocol: "TCP" }] }],
  });
  const kubeconfig = opts.kubeconfigPath ?? join(stateDir, "kubeconfig");
  await Deno.mkdir(join(kubeconfig, ".."), { recursive: true });
  // written whole and renamed into place: a client that re-reads it never sees half a file
  const writeKubeconfig = async () => {
    const tmp = `${kubeconfig}.tmp-${crypto.randomUUID().slice(0, 8)}`;
    await Deno.writeTextFile(
      tmp,
      buildKubeconfig(server, certs, [
        { name: "admin" },
        { name: "dev", token: devToken, namespace: "dev" },
        ...extra.map((u) => ({ name: u.name, token: u.token, namespace: u.namespace })),
      ]),
      { mode: 0o600 },
    );
    await Deno.rename(tmp, kubeconfig);
  };
  await writeKubeconfig();

  return {
    server,
    port,
    kubeconfig,
    stateDir,
    runtimeStateDir,
    api,
    runtime,
    faults,
    devToken,
    requestLog: () => [...requests],
    async stop() {
      if (stopped) return;
      stopped = true;
      srv.close();
      killSockets();
      api.close();
      try {
        await runtime.stopAll();
      } catch (e) {
        console.error(`[cluster] stopping pods: ${(e as Error).message}`);
      }
      if (ownState) await Deno.remove(stateDir, { recursive: true }).catch(() => {});
    },
  };
}
