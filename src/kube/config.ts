/**
 * Kubeconfig loading with kubectl's rules, without loading client-node (its import costs ~0.3 s of CPU,
 * more than a whole 100-pod fan-out):
 * - `--kubeconfig PATH` wins and names exactly one file;
 * - else `KUBECONFIG` (path-list) files are merged: the first file that defines a cluster/user/context
 *   name wins, and `current-context` comes from the first file that sets it (missing files are skipped);
 * - else `~/.kube/config`;
 * - else in-cluster service-account config when running in a pod.
 * Credentials: client certificates and keys (data or files), bearer tokens (inline or tokenFile),
 * basic auth, and exec credential plugins are handled here; legacy `auth-provider` users (oidc, gcp,
 * azure) are delegated to client-node, loaded only then.
 */
import { exists, readFailure } from "./files.ts";
import { dirname, join } from "../base/fs/fspath.ts";
import { fileUrlToPath, hostPlatform, kubeHomeDir, platformFor, splitPathList } from "../base/platform.ts";
import { ExitCode, KodamaError } from "../base/errors.ts";
import { readTextBoundedSync } from "../base/fs/boundedread.ts";
import { applyOverrides, type ConnectionOverrides, hasOverrides, identityHeaders } from "./overrides.ts";
import {
  type ClusterEntry,
  type ContextEntry,
  decodeKubeconfig,
  type UserEntry,
  withFullYaml,
} from "./kubeconfig.ts";
import { ExecPluginRunner, validateExecPlugin } from "./execplugin.ts";
import { quote } from "../base/text/escape.ts";
import { checkNamespace } from "../base/text/k8sname.ts";

export type { ClusterEntry, ContextEntry, ExecPlugin, UserEntry } from "./kubeconfig.ts";

export interface KubeOptions extends ConnectionOverrides {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  /** where `namespace` came from, for its error (default: -n/--namespace) */
  namespaceFrom?: string;
  /** --request-timeout in ms (0 or undefined: none) */
  requestTimeoutMs?: number;
}

/** What HTTPS requests and WebSockets need, in node:https option shape. */
export interface TlsOptions {
  ca?: string;
  cert?: string;
  key?: string;
  rejectUnauthorized?: boolean;
  servername?: string;
  headers: Record<string, string>;
  auth?: string;
}

const SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

type Env = (name: string) => string | undefined;
const denoEnv: Env = (name) => Deno.env.get(name);

/**
 * Internal knobs of the loader for tests (not user-facing: no flag or env var reaches them): where the
 * service-account files live and how environment variables are read.
 */
export interface LoaderInternals {
  /** default /var/run/secrets/kubernetes.io/serviceaccount */
  serviceAccountDir?: string;
  env?: Env;
  /** how long the client keeps credentials before re-reading them (default 60 s) */
  authTtlMs?: number;
  /** "node": every request over node:https, never Deno's own client (tests compare the two transports) */
  apiTransport?: "node";
}

/** The home of `~/.kube/config`, as kubectl finds it (src/base/platform.ts kubeHomeDir: on Windows HOME,
 * HOMEDRIVE+HOMEPATH or USERPROFILE, whichever holds a kubeconfig). */
function homeDir(env: Env = denoEnv): string | undefined {
  return kubeHomeDir(platformFor(Deno.build.os, env));
}

function readTokenFile(path: string): string {
  try {
    return readTextBoundedSync(path, { what: "token file", kind: "kubeconfig", exitCode: ExitCode.FORBIDDEN })
      .trim();
  } catch (e) {
    if (e instanceof KodamaError) throw e;
    throw new KodamaError(
      `cannot read token file ${path}: ${readFailure(e)}`,
      ExitCode.FORBIDDEN,
      path.endsWith("serviceaccount/token")
        ? "mount the pod's service account token (automountServiceAccountToken) or pass --kubeconfig"
        : "fix users[].user.tokenFile in your kubeconfig",
    );
  }
}

/**
 * A `*-data` field: base64 of PEM text. PEM is ASCII, and then atob's bytes are the text; only other
 * bytes are decoded as UTF-8. (Copying every byte through Uint8Array.from's callback cost every
 * connecting command ~1–2 ms of main-thread CPU before its first request, on a cold, unoptimised path.)
 */
function b64(s: string): string {
  const bytes = atob(s.replace(/\s+/g, ""));
  if (!/[\x80-\xff]/.test(bytes)) return bytes;
  return new TextDecoder().decode(Uint8Array.from(bytes, (c) => c.charCodeAt(0)));
}

/** Where a setting came from, for messages: `cluster "c" (kubeconfig /home/me/.kube/config)`. */
function whose(kind: "cluster" | "user", e: { name: string; source?: string }): string {
  return `${kind} "${e.name}"${e.source ? ` (kubeconfig ${e.source})` : ""}`;
}

/** Read a file a kubeconfig key names; a failure names the key, the entry and the path (exit 2). */
function readKeyFile(path: string, key: string, owner: string): string {
  try {
    return readTextBoundedSync(path, { what: `${key} of ${owner}`, kind: "kubeconfig" });
  } catch (e) {
    if (e instanceof KodamaError) throw e;
    const why = readFailure(e);
    throw new KodamaError(
      `cannot read ${key} ${path} of ${owner}: ${why}`,
      ExitCode.USAGE,
      `fix ${key} in your kubeconfig, or put the file there`,
    );
  }
}

/** A PEM's first block type, or undefined when the text holds no PEM block. */
function pemType(text: string): string | undefined {
  return /-----BEGIN ([A-Z0-9 ]+)-----/.exec(text)?.[1];
}

/**
 * Why a client certificate and key cannot work, or undefined when they can. Garbage data or a key that
 * does not belong to the certificate would otherwise surface as an opaque TLS error ("unsupported
 * protocol"). Parsing costs ~20 ms, so connections run it only after a failure (see `diagnoseTls`).
 */
async function clientPairProblem(
  cert: string,
  key: string,
  owner: string,
  keys: [string, string],
): Promise<KodamaError | undefined> {
  const bad = (m: string) =>
    new KodamaError(m, ExitCode.USAGE, "fix the client certificate/key of this user in your kubeconfig");
  const { X509Certificate, createPrivateKey } = await import("node:crypto");
  let x509;
  try {
    x509 = new X509Certificate(cert);
  } catch (e) {
    return bad(
      `${keys[0]} of ${owner} cannot be read as a certificate: ${(e as Error).message.split("\n")[0]}`,
    );
  }
  let pk;
  try {
    pk = createPrivateKey(key);
  } catch (e) {
    return bad(
      `${keys[1]} of ${owner} cannot be read as a private key: ${(e as Error).message.split("\n")[0]}`,
    );
  }
  if (!x509.checkPrivateKey(pk)) return bad(`${keys[1]} of ${owner} does not match its ${keys[0]}`);
  return undefined;
}

/** The cheap part, before every connection: the data must at least be PEM of the right kind. */
function checkPemKinds(cert: string, key: string, owner: string, keys: [string, string]): void {
  const bad = (m: string): never => {
    throw new KodamaError(
      m,
      ExitCode.USAGE,
      "fix the client certificate/key of this user in your kubeconfig",
    );
  };
  if (!pemType(cert)?.includes("CERTIFICATE")) bad(`${keys[0]} of ${owner} is not a PEM certificate`);
  if (!pemType(key)?.includes("PRIVATE KEY")) bad(`${keys[1]} of ${owner} is not a PEM private key`);
}

/** A parsed, merged kubeconfig with a current context. Method names follow client-node's KubeConfig. */
export class KubeConfigLite {
  currentContext = "";
  /** the files it was read from (messages) */
  files: string[] = [];
  constructor(
    public clusters: ClusterEntry[] = [],
    public users: UserEntry[] = [],
    public contexts: ContextEntry[] = [],
  ) {}

  getContexts(): ContextEntry[] {
    return this.contexts;
  }
  getContextObject(name: string): ContextEntry | undefined {
    return this.contexts.find((c) => c.name === name);
  }
  getCurrentContext(): string {
    return this.currentContext;
  }
  setCurrentContext(name: string): void {
    this.currentContext = name;
    this.execRunner = undefined;
  }
  getCurrentCluster(): ClusterEntry | null {
    const ctx = this.getContextObject(this.currentContext);
    return (ctx && this.clusters.find((c) => c.name === ctx.cluster)) ?? null;
  }
  getCurrentUser(): UserEntry | null {
    const ctx = this.getContextObject(this.currentContext);
    return (ctx && this.users.find((u) => u.name === ctx.user)) ?? null;
  }

  private execRunner?: ExecPluginRunner;
  /** the client certificate and key last applied (for `diagnoseTls`) */
  private clientPair?: { cert: string; key: string; owner: string; keys: [string, string] };

  /**
   * After a connection failed below HTTP: a clearer cause when the client certificate and key cannot
   * work together (the TLS library's own words name neither), else undefined.
   */
  async diagnoseTls(): Promise<KodamaError | undefined> {
    const p = this.clientPair;
    return p && await clientPairProblem(p.cert, p.key, p.owner, p.keys);
  }

  /** Forget cached exec-plugin credentials (after a 401); token files are read on every apply anyway. */
  invalidateCredentials(): void {
    this.execRunner?.invalidate();
  }

  /** Fill node:https-style options (CA, client cert, auth header) for the current context. */
  async applyToHTTPSOptions(opts: Record<string, unknown>): Promise<void> {
    const cluster = this.getCurrentCluster();
    const user = this.getCurrentUser();
    const headers = { ...(opts.headers as Record<string, string> | undefined) };
    if (cluster?.caData) opts.ca = b64(cluster.caData);
    else if (cluster?.caFile) {
      opts.ca = readKeyFile(cluster.caFile, "certificate-authority", whose("cluster", cluster));
    }
    if (cluster && opts.ca !== undefined && !pemType(opts.ca as string)?.includes("CERTIFICATE")) {
      throw new KodamaError(
        `${cluster.caData ? "certificate-authority-data" : `certificate-authority ${cluster.caFile}`} of ${
          whose("cluster", cluster)
        } holds no PEM certificate`,
        ExitCode.USAGE,
        "put the cluster's CA certificate (PEM) there",
      );
    }
    if (cluster?.skipTLSVerify) opts.rejectUnauthorized = false;
    if (cluster?.tlsServerName) opts.servername = cluster.tlsServerName;
    if (user) {
      if (user.authProvider) {
        await this.applyViaClientNode(opts);
        opts.headers = { ...(opts.headers as Record<string, string>), ...identityHeaders(user) };
        return;
      }
      const owner = whose("user", user);
      const certKey = user.certData ? "client-certificate-data" : "client-certificate";
      const keyKey = user.keyData ? "client-key-data" : "client-key";
      if (user.certData) opts.cert = b64(user.certData);
      else if (user.certFile) opts.cert = readKeyFile(user.certFile, "client-certificate", owner);
      if (user.keyData) opts.key = b64(user.keyData);
      else if (user.keyFile) opts.key = readKeyFile(user.keyFile, "client-key", owner);
      if (opts.cert !== undefined || opts.key !== undefined) {
        if (opts.cert === undefined) {
          throw new KodamaError(`${owner} has a client key but no client certificate`, ExitCode.USAGE);
        }
        if (opts.key === undefined) {
          throw new KodamaError(`${owner} has a client certificate but no client key`, ExitCode.USAGE);
        }
        checkPemKinds(opts.cert as string, opts.key as string, owner, [certKey, keyKey]);
        this.clientPair = {
          cert: opts.cert as string,
          key: opts.key as string,
          owner,
          keys: [certKey, keyKey],
        };
      }
      if (user.token) headers.Authorization = `Bearer ${user.token}`;
      // read on every apply: the client re-applies each minute and after a 401, so a rotated token is seen
      else if (user.tokenFile) headers.Authorization = `Bearer ${readTokenFile(user.tokenFile)}`;
      if (user.username && user.password) opts.auth = `${user.username}:${user.password}`;
      // client-go: a token or basic auth from the kubeconfig wins over the plugin, which then never runs
      if (user.exec && !headers.Authorization && !opts.auth) {
        this.execRunner ??= new ExecPluginRunner(user.exec, user.name, cluster);
        const got = await this.execRunner.credentials();
        if (got.cert && got.key) {
          const pluginOwner = `the exec credential plugin of ${owner}`;
          const keys: [string, string] = ["clientCertificateData", "clientKeyData"];
          checkPemKinds(got.cert, got.key, pluginOwner, keys);
          this.clientPair = { cert: got.cert, key: got.key, owner: pluginOwner, keys };
          opts.cert = got.cert;
          opts.key = got.key;
        }
        if (got.token) headers.Authorization = `Bearer ${got.token}`;
      }
    }
    opts.headers = { ...headers, ...identityHeaders(user) };
  }

  private async applyViaClientNode(opts: Record<string, unknown>): Promise<void> {
    const mod = await loadClientNode(this.getCurrentUser()?.authProvider?.name ?? "?");
    await mod.applyToHTTPSOptions(this.toRaw(), opts);
  }

  /** Back to kubeconfig YAML/JSON shape (for the client-node fallback). */
  toRaw(): Record<string, unknown> {
    return {
      apiVersion: "v1",
      kind: "Config",
      "current-context": this.currentContext,
      clusters: this.clusters.map((c) => ({
        name: c.name,
        cluster: {
          server: c.server,
          "certificate-authority-data": c.caData,
          "certificate-authority": c.caFile,
          "insecure-skip-tls-verify": c.skipTLSVerify,
          "proxy-url": c.proxyUrl,
          "tls-server-name": c.tlsServerName,
        },
      })),
      users: this.users.map((u) => ({
        name: u.name,
        user: {
          "client-certificate-data": u.certData,
          "client-certificate": u.certFile,
          "client-key-data": u.keyData,
          "client-key": u.keyFile,
          token: u.token,
          tokenFile: u.tokenFile,
          username: u.username,
          password: u.password,
          exec: u.exec,
          "auth-provider": u.authProvider,
          as: u.as,
          "as-groups": u.asGroups,
          "as-uid": u.asUid,
          "as-user-extra": u.asUserExtra,
        },
      })),
      contexts: this.contexts.map((c) => ({
        name: c.name,
        context: { cluster: c.cluster, user: c.user, namespace: c.namespace },
      })),
    };
  }
}

/** Parse one kubeconfig document (relative file paths resolve against the file's directory). */
/**
 * client_node.ts by a computed URL: `deno compile` leaves it (and client-node) out unless the build asks
 * for it (`deno task compile --auth-provider`); such a binary says so instead of failing obscurely.
 */
async function loadClientNode(provider: string): Promise<typeof import("./client_node.ts")> {
  const url = new URL("./client_node.ts", import.meta.url).href;
  try {
    return await import(url);
  } catch (e) {
    throw new KodamaError(
      `the kubeconfig user authenticates with the legacy auth-provider ${
        quote(provider)
      }, which this kodama binary was built without`,
      ExitCode.FORBIDDEN,
      "use an exec credential plugin (kubelogin, gke-gcloud-auth-plugin), or a binary built with `deno task compile --auth-provider`",
      { cause: e },
    );
  }
}

export function parseKubeConfig(text: string, path = "kubeconfig"): KubeConfigLite {
  const doc = decodeKubeconfig(text, path, dirname(path));
  const kc = new KubeConfigLite(doc.clusters, doc.users, doc.contexts);
  kc.currentContext = doc.currentContext;
  kc.files = [path];
  return kc;
}

function loadFile(path: string): KubeConfigLite {
  let text: string;
  try {
    text = readTextBoundedSync(path, { what: "kubeconfig", kind: "kubeconfig" });
  } catch (e) {
    if (e instanceof KodamaError) throw e;
    const why = e instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : e instanceof Deno.errors.IsADirectory
      ? "it is a directory"
      : (e as Error).message.split("\n")[0];
    throw new KodamaError(`cannot read kubeconfig ${path}: ${why}`, ExitCode.USAGE);
  }
  return parseKubeConfig(text, path);
}

/** Merge several kubeconfigs the way kubectl does (first definition of a name wins). */
export function mergeKubeConfigs(configs: KubeConfigLite[]): KubeConfigLite {
  const first = <T extends { name: string }>(lists: T[][]) => {
    const m = new Map<string, T>();
    for (const l of lists) for (const x of l) if (!m.has(x.name)) m.set(x.name, x);
    return [...m.values()];
  };
  const merged = new KubeConfigLite(
    first(configs.map((c) => c.clusters)),
    first(configs.map((c) => c.users)),
    first(configs.map((c) => c.contexts)),
  );
  merged.currentContext = configs.find((c) => c.currentContext)?.currentContext ?? "";
  merged.files = configs.flatMap((c) => c.files);
  return merged;
}

/**
 * In-cluster config the way client-go builds it: server from KUBERNETES_SERVICE_HOST/PORT, the service
 * account's token (re-read while running) and ca.crt, namespace from POD_NAMESPACE, else the namespace file.
 */
export function inClusterConfig(dir = SA_DIR, env: Env = denoEnv): KubeConfigLite {
  const host = env("KUBERNETES_SERVICE_HOST") ?? "";
  const port = env("KUBERNETES_SERVICE_PORT") || "443";
  if (!host) {
    throw new KodamaError(
      "not running in a pod: KUBERNETES_SERVICE_HOST is not set",
      ExitCode.USAGE,
      "set KUBECONFIG or pass --kubeconfig",
    );
  }
  if (!exists(`${dir}/token`)) {
    throw new KodamaError(
      `in-cluster config: the service account token ${dir}/token is missing`,
      ExitCode.USAGE,
      "mount the pod's service account token (automountServiceAccountToken: true) or pass --kubeconfig",
    );
  }
  const server = `https://${host.includes(":") ? `[${host}]` : host}:${port}`;
  let namespace = env("POD_NAMESPACE") || undefined;
  if (!namespace && exists(`${dir}/namespace`)) {
    namespace = Deno.readTextFileSync(`${dir}/namespace`).trim() || undefined;
  }
  const kc = new KubeConfigLite(
    // client-go goes on with the system roots when ca.crt is missing
    [{ name: "in-cluster", server, caFile: exists(`${dir}/ca.crt`) ? `${dir}/ca.crt` : undefined }],
    [{ name: "in-cluster", tokenFile: `${dir}/token` }],
    [{ name: "in-cluster", cluster: "in-cluster", user: "in-cluster", namespace }],
  );
  kc.currentContext = "in-cluster";
  return kc;
}

/** Which files would be read, in order (for messages and tests). */
export function kubeconfigFiles(opts: KubeOptions, getEnv: Env = denoEnv): string[] {
  if (opts.kubeconfig) return [opts.kubeconfig];
  const env = getEnv("KUBECONFIG");
  if (env) return splitPathList(env, platformFor(Deno.build.os, getEnv));
  const home = homeDir(getEnv);
  return home ? [join(home, ".kube", "config")] : [];
}

/** The kubeconfig files that exist, of those `kubeconfigFiles` names. */
export function existingKubeconfigFiles(opts: KubeOptions, getEnv: Env = denoEnv): string[] {
  return kubeconfigFiles(opts, getEnv).filter((f) => exists(f));
}

/**
 * `loadKubeConfig` for callers that can wait: a kubeconfig outside the fast reader's subset (kubeyaml.ts)
 * loads the yaml package on the way instead of failing (`withFullYaml`).
 */
export function readKubeConfig(opts: KubeOptions, internal?: LoaderInternals): Promise<KubeConfigLite> {
  return withFullYaml(() => loadKubeConfig(opts, internal));
}

/**
 * Running from kodama's own source tree, in it (someone trying the repository): only then does
 * `deno task demo` mean something. An installed binary, or a run from another directory, never hears of it.
 */
function inSourceTree(): boolean {
  try {
    const p = hostPlatform();
    const root = fileUrlToPath(new URL("../../", import.meta.url), p);
    Deno.statSync(join(root, "tests", "cluster", "demo.ts"));
    Deno.statSync(join(root, "deno.json"));
    const norm = (x: string) => p.path.resolve(x).replaceAll("\\", "/").replace(/\/+$/, "");
    const [r, cwd] = [norm(root), norm(Deno.cwd())];
    return cwd === r || cwd.startsWith(r + "/");
  } catch {
    return false;
  }
}

export function loadKubeConfig(opts: KubeOptions, internal: LoaderInternals = {}): KubeConfigLite {
  const env = internal.env ?? denoEnv;
  const saDir = internal.serviceAccountDir ?? SA_DIR;
  let kc: KubeConfigLite;
  if (opts.kubeconfig) {
    if (!exists(opts.kubeconfig)) {
      throw new KodamaError(`kubeconfig ${opts.kubeconfig} does not exist`, ExitCode.USAGE);
    }
    kc = loadFile(opts.kubeconfig);
  } else {
    const files = existingKubeconfigFiles(opts, env);
    if (files.length > 0) {
      kc = files.length === 1 ? loadFile(files[0]) : mergeKubeConfigs(files.map(loadFile));
    } else if (opts.server) {
      kc = new KubeConfigLite(); // kubectl --server URL works without any kubeconfig
    } else if (env("KUBERNETES_SERVICE_HOST") && exists(`${saDir}/token`)) {
      // like client-go: in-cluster only when the service host is set and the token file exists
      kc = inClusterConfig(saDir, env);
    } else {
      const looked = kubeconfigFiles(opts, env).join(", ") || "~/.kube/config";
      throw new KodamaError(
        env("KUBERNETES_SERVICE_HOST")
          ? `no kubeconfig found (looked at ${looked}), and no in-cluster config: KUBERNETES_SERVICE_HOST is set but the service account token ${saDir}/token is missing`
          : `no kubeconfig found (looked at ${looked})`,
        ExitCode.USAGE,
        env("KUBERNETES_SERVICE_HOST")
          ? "mount the pod's service account token (automountServiceAccountToken: true), or set KUBECONFIG / pass --kubeconfig"
          : `set KUBECONFIG or pass --kubeconfig${
            inSourceTree() ? "; try `deno task demo` for a local test server" : ""
          }`,
      );
    }
  }
  checkContext(kc, opts);
  return kc;
}

/**
 * The context to use must exist, with a cluster that has a server and a user that exists, and the user's
 * exec plugin config must be valid — checked before any request, naming what is missing (exit 2).
 */
function checkContext(kc: KubeConfigLite, opts: KubeOptions): void {
  const flag = opts.context;
  const files = kc.files.join(", ") || "the kubeconfig";
  const known = kc.getContexts().map((c) => c.name).join(", ") || "none";
  if (flag) {
    if (!kc.getContextObject(flag)) {
      throw new KodamaError(
        `context ${quote(flag)} does not exist in ${files}`,
        ExitCode.USAGE,
        `known contexts: ${known}`,
      );
    }
    kc.setCurrentContext(flag);
  }
  if (hasOverrides(opts)) applyOverrides(kc, opts);
  const name = kc.getCurrentContext();
  if (!name) {
    throw new KodamaError(
      `${files} sets no current-context`,
      ExitCode.USAGE,
      `pass --context NAME or run \`kubectl config use-context NAME\` (known contexts: ${known})`,
    );
  }
  const ctx = kc.getContextObject(name);
  if (!ctx) {
    throw new KodamaError(
      `current-context ${quote(name)} is not a context in ${files}`,
      ExitCode.USAGE,
      `pass --context NAME or run \`kubectl config use-context NAME\` (known contexts: ${known})`,
    );
  }
  let cluster = kc.getCurrentCluster();
  if (!cluster) {
    throw new KodamaError(
      `context ${quote(name)} uses cluster ${quote(ctx.cluster)}, which is not in ${files}`,
      ExitCode.USAGE,
      "add the cluster, or fix contexts[].context.cluster",
    );
  }
  if (!cluster.server) {
    throw new KodamaError(
      `cluster ${quote(cluster.name)} of context ${quote(name)} has no server`,
      ExitCode.USAGE,
    );
  }
  const user = kc.getCurrentUser();
  const asGiven = cluster.server;
  const scheme = withScheme(cluster.server);
  if (scheme !== cluster.server) {
    const given = cluster;
    cluster = { ...given, server: scheme };
    kc.clusters = kc.clusters.map((c) => c === given ? cluster! : c);
  }
  const bad = serverProblem(cluster.server);
  if (bad) {
    throw new KodamaError(
      opts.server
        ? `--server ${quote(asGiven)} is not a server URL: ${bad}`
        : `cluster ${quote(cluster.name)} of context ${quote(name)} in ${files} has server ${
          quote(asGiven)
        }, which is not a server URL: ${bad}`,
      ExitCode.USAGE,
      "give the API server as https://HOST[:PORT] (or http://)",
    );
  }
  if (cluster.skipTLSVerify && (cluster.caData || cluster.caFile)) {
    // kubectl refuses this too: which of the two was meant is not clear
    throw new KodamaError(
      `cluster ${quote(cluster.name)} sets both a certificate-authority and insecure-skip-tls-verify: true`,
      ExitCode.USAGE,
      "remove one of them (kubectl refuses this combination as well)",
    );
  }
  if (ctx.user && !user) {
    throw new KodamaError(
      `context ${quote(name)} uses user ${quote(ctx.user)}, which is not in ${files}`,
      ExitCode.USAGE,
      "add the user, or fix contexts[].context.user",
    );
  }
  if (user?.exec) validateExecPlugin(user.exec, user.name);
}

/**
 * A server given without a scheme, as kubectl (1.32) reads it: `HOST[:PORT]` is http://, whatever TLS
 * settings come with it (a CA, a client certificate, insecure-skip-tls-verify: all three checked).
 */
export function withScheme(server: string): string {
  return server.includes("://") ? server : `http://${server}`;
}

/** Why `server` cannot be an API server's URL (it must be http(s) with a host), or undefined when it can. */
export function serverProblem(server: string): string | undefined {
  let u: URL;
  try {
    u = new URL(server);
  } catch {
    return "it does not parse as a URL";
  }
  if (!server.includes("://")) return "it does not start with https:// (or http://)";
  if (u.protocol !== "https:" && u.protocol !== "http:") {
    return `kodama speaks https:// or http://, not ${u.protocol}//`;
  }
  if (!u.hostname) return "it names no host";
  return undefined;
}

/**
 * The namespace to use: the given one (the flag, KODAMA_NAMESPACE or the config's, `from` says which), else
 * the context's, else "default". Checked here, where every command's namespace is settled, before any
 * request: a name the API server would refuse is exit 2 naming where it came from.
 */
export function resolveNamespace(kc: KubeConfigLite, given?: string, from = "-n/--namespace"): string {
  if (given) return checkNamespace(given, from);
  const context = kc.getCurrentContext();
  const ns = kc.getContextObject(context)?.namespace;
  return ns ? checkNamespace(ns, `kubeconfig context ${quote(context)}`) : "default";
}
