/**
 * Map anything the Kubernetes client throws to a KodamaError a person can act on:
 * 401/403 name the verb, resource and namespace that were refused; 404 names the object;
 * connection/DNS/TLS failures name the server and context (client-node's opaque
 * "fetch failed" is unwrapped to its cause).
 */
import { ExitCode, KodamaError } from "../base/errors.ts";

export interface ApiWhat {
  verb: string;
  resource: string;
  namespace?: string;
  name?: string;
}

export interface ServerInfo {
  server: string;
  contextName: string;
  /** the impersonated user (--as), named in forbidden messages */
  as?: string;
}

interface StatusBody {
  kind?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { causes?: { field?: string; message?: string }[] };
}

function parseBody(body: unknown): StatusBody | undefined {
  if (!body) return undefined;
  if (typeof body === "object") return body as StatusBody;
  if (typeof body === "string") {
    try {
      return JSON.parse(body) as StatusBody;
    } catch {
      return { message: body.trim().split("\n")[0] };
    }
  }
  return undefined;
}

function scope(what: ApiWhat): string {
  return what.namespace ? `in namespace ${what.namespace}` : "at the cluster scope";
}

function objectName(what: ApiWhat): string {
  return what.name ? `${what.resource.replace(/s$/, "")} ${what.name}` : what.resource;
}

/** Walk `cause` chains (fetch failed -> cause -> ...) and collect error codes and messages. */
export function rootCause(e: unknown): { code?: string; message: string } {
  let cur: unknown = e;
  let code: string | undefined;
  let message = e instanceof Error ? e.message : String(e);
  for (let i = 0; i < 6 && cur; i++) {
    const c = cur as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown[] };
    if (typeof c.code === "string") code = c.code;
    if (typeof c.message === "string" && c.message && c.message !== "fetch failed") message = c.message;
    // AggregateError (happy eyeballs): take the first inner error
    if (!c.cause && Array.isArray(c.errors) && c.errors.length) {
      cur = c.errors[0];
      continue;
    }
    cur = c.cause;
  }
  return { code, message };
}

/** Socket error codes in words (also for a proxy that cannot be reached). */
export const CONNECT_CODES: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ENOTFOUND: "host not found (DNS)",
  EAI_AGAIN: "DNS lookup failed",
  ETIMEDOUT: "connection timed out",
  UND_ERR_CONNECT_TIMEOUT: "connection timed out",
  UND_ERR_SOCKET: "connection closed by the server",
};

const TLS_HINT = "check the cluster's certificate-authority in your kubeconfig";

/** Errors that mean "the API server could not be reached" (refused, reset, DNS, TLS, timeouts). */
const UNREACHABLE = new WeakSet<object>();

/** Did this error come from not reaching the API server at all (no HTTP answer)? Retrying may help. */
export function isUnreachable(e: unknown): boolean {
  return typeof e === "object" && e !== null && UNREACHABLE.has(e);
}

/** Mark `e` as "the API server could not be reached" (a stream's dial that never finished, too). */
export function unreachable(e: KodamaError): KodamaError {
  UNREACHABLE.add(e);
  return e;
}

/**
 * A ResourceQuota refused it (`exceeded quota: NAME, requested: …` or `failed quota: NAME: must specify …`):
 * no retry helps; where to see the quota, and what to do.
 */
export function quotaHint(apiMsg: string, namespace: string | undefined): string | undefined {
  const q = /(?:exceeded|failed) quota: ([^,:\s]+)/.exec(apiMsg)?.[1];
  if (!q) return undefined;
  const see = `\`kubectl describe resourcequota ${q}${namespace ? ` -n ${namespace}` : ""}\``;
  return /exceeded quota/.test(apiMsg)
    ? `the namespace's ResourceQuota ${q} has no room for it (${see}): ask for less, free some, or use another namespace`
    : `ResourceQuota ${q} wants every container to state these (${see})`;
}

/** What to try when the server could not be reached or dropped the connection. */
const reachHint = (server?: ServerInfo) =>
  `is the cluster running? try \`kubectl cluster-info${server ? ` --context ${server.contextName}` : ""}\``;

/** A connection closed under a request, in rustls' and hyper's words (Deno's own client). */
const CLOSED_EARLY =
  /peer closed connection without sending TLS close_notify|connection closed before message completed/i;

export function toKodamaError(e: unknown, what: ApiWhat, server?: ServerInfo): KodamaError {
  if (e instanceof KodamaError) return e;
  const err = e as {
    code?: unknown;
    body?: unknown;
    statusCode?: unknown;
    response?: { statusCode?: number };
  };
  const status = typeof err?.code === "number"
    ? err.code
    : typeof err?.statusCode === "number"
    ? err.statusCode
    : err?.response?.statusCode;
  if (typeof status === "number" && status >= 400) {
    const body = parseBody(err.body);
    const apiMsg = body?.message;
    switch (status) {
      case 401:
        return new KodamaError(
          `unauthorized: the server rejected your credentials (${what.verb} ${what.resource} ${scope(what)})`,
          ExitCode.FORBIDDEN,
          `check the user of context ${
            server?.contextName ?? "?"
          }; your token or certificate may have expired`,
        );
      case 403:
        // the impersonation itself was refused (RBAC verb "impersonate" on users/groups/uids)
        if (apiMsg && / cannot impersonate /.test(apiMsg)) {
          return new KodamaError(
            `forbidden: ${apiMsg}`,
            ExitCode.FORBIDDEN,
            "ask for a ClusterRole allowing impersonate on users (groups, uids), or drop --as/--as-group/--as-uid",
          );
        }
        // not RBAC: an admission plugin said no (a namespace being deleted, a quota, PodSecurity, …) —
        // its message is the whole story, and a Role would not help
        if (apiMsg && /is forbidden: (?!User ")/.test(apiMsg)) {
          return new KodamaError(
            `forbidden: ${apiMsg}`,
            ExitCode.FORBIDDEN,
            /because it is being terminated/.test(apiMsg)
              ? `the namespace is being deleted: wait until it is gone${
                what.namespace ? ` (\`kubectl get namespace ${what.namespace}\`)` : ""
              }, or use another namespace`
              : quotaHint(apiMsg, what.namespace),
          );
        }
        return new KodamaError(
          `forbidden: cannot ${what.verb} ${what.resource} ${scope(what)}${
            server?.as ? ` (as ${server.as})` : ""
          }`,
          ExitCode.FORBIDDEN,
          `ask for a Role allowing ${what.verb} on ${what.resource}` +
            (what.namespace ? `, or use -n with a namespace you can access` : ""),
        );
      case 400:
        // the server refused the request itself (a selector it cannot parse, a bad field label): bad input
        return new KodamaError(
          `${what.verb} ${objectName(what)} ${scope(what)}: ${apiMsg ?? "bad request"}`,
          ExitCode.USAGE,
          /selector|field label|requirement|expected: /i.test(apiMsg ?? "")
            ? "check -l/--selector and --field-selector (e.g. app=api,tier!=cache; status.phase=Running)"
            : undefined,
        );
      case 414:
      case 431:
        // a command line too long for a URL (exec arguments travel in the query string)
        return new KodamaError(
          `the request is too large for the API server (HTTP ${status}: ${
            status === 414 ? "URI too long" : "request header fields too large"
          }; ${what.verb} ${objectName(what)} ${scope(what)})`,
          ExitCode.USAGE,
          what.resource === "pods/exec"
            ? "exec arguments travel in the URL: send long input on stdin instead (kodama exec -i … < file)"
            : "shorten the selector or names in the request",
        );
      case 404:
        return new KodamaError(
          apiMsg && /not found/.test(apiMsg)
            ? `${apiMsg}${
              what.namespace && !apiMsg.includes(what.namespace) ? ` in namespace ${what.namespace}` : ""
            }`
            : `${objectName(what)} not found${what.namespace ? ` in namespace ${what.namespace}` : ""}`,
          ExitCode.NOT_FOUND,
        );
      case 409:
        return new KodamaError(apiMsg ?? `conflict: ${objectName(what)}`, ExitCode.FAILED);
      case 422: {
        const causes = body?.details?.causes?.map((c) => `${c.field}: ${c.message}`).join("; ");
        return new KodamaError(
          apiMsg ?? `invalid ${objectName(what)}${causes ? `: ${causes}` : ""}`,
          ExitCode.USAGE,
        );
      }
      case 408:
      case 504:
        return new KodamaError(
          `timeout: ${what.verb} ${what.resource} ${scope(what)} took too long`,
          ExitCode.TIMEOUT,
        );
      default:
        return new KodamaError(
          `${what.verb} ${objectName(what)} ${scope(what)} failed: ${apiMsg ?? `HTTP ${status}`}`,
          ExitCode.FAILED,
        );
    }
  }
  const { code, message } = rootCause(e);
  const where = server ? `${server.server} (context ${server.contextName})` : "the API server";
  if (code && CONNECT_CODES[code]) {
    return unreachable(
      new KodamaError(
        `cannot reach ${where}: ${CONNECT_CODES[code]}`,
        code.includes("TIMEOUT") || code === "ETIMEDOUT" ? ExitCode.TIMEOUT : ExitCode.FAILED,
        reachHint(server),
      ),
    );
  }
  if (CLOSED_EARLY.test(message)) {
    // the connection ended under the request (a server, proxy or balancer closing it): not a TLS problem,
    // whatever words the TLS library used; its link to its own manual is no use to a user
    return unreachable(
      new KodamaError(
        `${where} closed the connection before it answered (${message.replace(/:\s*https?:\/\/\S+$/, "")})`,
        ExitCode.FAILED,
        reachHint(server),
      ),
    );
  }
  if (
    (code && /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) ||
    /certificate|self[- ]signed|TLS|SSL/i.test(message)
  ) {
    return unreachable(
      new KodamaError(`TLS handshake with ${where} failed: ${message}`, ExitCode.FAILED, TLS_HINT),
    );
  }
  if (code?.startsWith("HPE_") || /^Parse Error/.test(message)) {
    // the answer is not HTTP: most often a TLS server met over http:// (a server given without a scheme)
    return unreachable(
      new KodamaError(
        `${where} did not answer in HTTP (${message})`,
        ExitCode.FAILED,
        server?.server.startsWith("http://")
          ? "the server may speak HTTPS: give it as https://HOST:PORT (a server without a scheme is http://)"
          : undefined,
      ),
    );
  }
  if (/fetch failed|network|connect|socket|bad port|socket hang up/i.test(message)) {
    return unreachable(
      new KodamaError(
        `cannot reach ${where}: ${message}`,
        ExitCode.FAILED,
        "is the cluster running? try `kubectl cluster-info`",
      ),
    );
  }
  return new KodamaError(`${what.verb} ${objectName(what)} ${scope(what)} failed: ${message.split("\n")[0]}`);
}
