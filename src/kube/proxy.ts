/**
 * HTTP(S) proxies for API server traffic, chosen the way kubectl (client-go) chooses them:
 * - the cluster's `proxy-url` in the kubeconfig wins and applies to every request of that cluster
 *   (`http://` and `https://` proxies; `socks5://` is refused with a usage error);
 * - otherwise Go's `http.ProxyFromEnvironment` rules (golang.org/x/net/http/httpproxy): `HTTPS_PROXY`
 *   (or `https_proxy`) for https:// servers, `HTTP_PROXY` (or `http_proxy`) for http:// servers, a value
 *   without a scheme means `http://`; `NO_PROXY`/`no_proxy` is a comma list of host names (a name also
 *   matches its subdomains, `.example.com` / `*.example.com` only the subdomains), IP addresses, CIDR
 *   ranges, optional `:port`, or `*` for everything; and `localhost` / loopback IP addresses are never
 *   proxied from the environment.
 * Every tunnel is an HTTP CONNECT (npm:https-proxy-agent), so plain requests, watches, logs and the
 * exec / port-forward WebSockets all go through it; `user:pass@` in the proxy URL becomes a Basic
 * `Proxy-Authorization` header and is redacted wherever the proxy is named.
 */
import type http from "node:http";
import type { Socket } from "node:net";
// type only: the module itself is loaded on first use (direct connections never load it)
import type { HttpsProxyAgent as HttpsProxyAgentT } from "https-proxy-agent";
import { ExitCode, KodamaError } from "../base/errors.ts";
import { CONNECT_CODES } from "./errors.ts";

export interface ProxyChoice {
  url: URL;
  /** where it came from: "proxy-url" or the env variable's name */
  source: string;
}

type Env = (name: string) => string | undefined;
const denoEnv: Env = (name) => Deno.env.get(name);

/** The proxy URL with its credentials replaced by `***` (for messages and logs). */
export function redactProxy(u: URL | string): string {
  let url: URL;
  try {
    url = typeof u === "string" ? new URL(u) : u;
  } catch {
    return "(unparsable proxy URL)";
  }
  const cred = url.username || url.password ? "***@" : "";
  return `${url.protocol}//${cred}${url.host}`;
}

function parseProxyUrl(raw: string, source: string, context: string, fromEnv: boolean): URL {
  let url: URL | undefined;
  try {
    url = new URL(raw);
    if (!url.host) url = undefined;
  } catch { /* try with a scheme below */ }
  // Go: a value without a scheme (or that does not parse) is tried again as http://VALUE
  if (!url && fromEnv) {
    try {
      url = new URL(`http://${raw}`);
    } catch { /* invalid */ }
  }
  if (!url || !url.host) {
    throw new KodamaError(
      `invalid proxy address in ${source} for context ${context}`,
      ExitCode.USAGE,
      "use http://HOST:PORT or https://HOST:PORT",
    );
  }
  const scheme = url.protocol.replace(/:$/, "");
  if (scheme === "socks5" || scheme === "socks5h") {
    throw new KodamaError(
      `context ${context}: ${source} ${redactProxy(url)} is a SOCKS5 proxy, which kodama does not support`,
      ExitCode.USAGE,
      "use an http:// or https:// (CONNECT) proxy, or reach the API server through an SSH tunnel",
    );
  }
  if (scheme !== "http" && scheme !== "https") {
    throw new KodamaError(
      `context ${context}: ${source} ${redactProxy(url)} has an unsupported scheme ${scheme}`,
      ExitCode.USAGE,
      "use an http:// or https:// proxy",
    );
  }
  return url;
}

/**
 * The proxy for requests to `server` (the cluster's server URL), or undefined for a direct connection.
 * `proxyUrl` is the cluster's `proxy-url`; `env` reads environment variables (tests pass their own).
 */
export function proxyFor(
  server: string,
  proxyUrl: string | undefined,
  context: string,
  env: Env = denoEnv,
): ProxyChoice | undefined {
  if (proxyUrl) return { url: parseProxyUrl(proxyUrl, "proxy-url", context, false), source: "proxy-url" };
  const target = new URL(server);
  const https = target.protocol === "https:";
  const pick = (names: string[]) => {
    for (const n of names) {
      const v = env(n);
      if (v) return { name: n, value: v };
    }
    return undefined;
  };
  const p = https ? pick(["HTTPS_PROXY", "https_proxy"]) : pick(["HTTP_PROXY", "http_proxy"]);
  if (!p) return undefined;
  const host = target.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  const port = target.port || (https ? "443" : "80");
  if (!useProxy(host, port, pick(["NO_PROXY", "no_proxy"])?.value ?? "")) return undefined;
  return { url: parseProxyUrl(p.value, p.name, context, true), source: p.name };
}

// ------------------------------------------------------------------------------------------------
// NO_PROXY matching (a port of golang.org/x/net/http/httpproxy's config.useProxy)

type Matcher = (host: string, port: string, ip: number[] | undefined) => boolean;

const OCTET = "(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]\\d|\\d)";
const IPV4 = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`);

/**
 * 4 or 6 for an IPv4 or IPv6 address, else 0 (as node:net's isIP, without its zone ids, which Go's
 * ParseIP refuses too). Written here so that no request pays for loading node:net (start-up: bench/README.md).
 */
function isIP(s: string): 0 | 4 | 6 {
  if (IPV4.test(s)) return 4;
  if (!s.includes(":") || /[^0-9a-fA-F:.]/.test(s)) return 0;
  try {
    new URL(`http://[${s}]/`); // the WHATWG IPv6 parser: 8 groups, one ::, an optional IPv4 tail
  } catch {
    return 0;
  }
  const v4 = /:(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  return v4 && !IPV4.test(v4[1]) ? 0 : 6;
}

/** IPv4 -> 4 bytes, IPv6 -> 16 bytes (IPv4-mapped IPv6 -> its 4 IPv4 bytes), else undefined. */
export function ipBytes(s: string): number[] | undefined {
  const kind = isIP(s);
  if (kind === 4) return s.split(".").map(Number);
  if (kind !== 6) return undefined;
  let str = s;
  let tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(str);
  if (v4) {
    tail = v4[1].split(".").map(Number);
    str = str.slice(0, -v4[1].length) + "0:0";
  }
  const [head, rest] = str.split("::");
  const groups = (x: string | undefined) => (x ? x.split(":").filter((g) => g !== "") : []);
  const h = groups(head);
  const r = rest === undefined ? [] : groups(rest);
  const fill = rest === undefined ? [] : Array(8 - h.length - r.length).fill("0");
  const all = [...h, ...fill, ...r].map((g) => parseInt(g, 16));
  const bytes = all.flatMap((g) => [g >> 8, g & 0xff]);
  if (tail.length) bytes.splice(12, 4, ...tail);
  // ::ffff:a.b.c.d is the IPv4 address a.b.c.d
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return bytes.slice(12);
  }
  return bytes;
}

function cidrMatcher(p: string): Matcher | undefined {
  const m = /^(.+)\/(\d{1,3})$/.exec(p);
  if (!m) return undefined;
  const net = ipBytes(m[1]);
  const bits = Number(m[2]);
  if (!net || bits > net.length * 8) return undefined;
  return (_h, _p, ip) => {
    if (!ip || ip.length !== net.length) return false;
    for (let i = 0; i < bits; i++) {
      const bit = (b: number[]) => (b[i >> 3] >> (7 - (i & 7))) & 1;
      if (bit(ip) !== bit(net)) return false;
    }
    return true;
  };
}

function parseNoProxy(noProxy: string): { ip: Matcher[]; domain: Matcher[] } {
  const ip: Matcher[] = [];
  const domain: Matcher[] = [];
  for (let p of noProxy.split(",")) {
    p = p.trim().toLowerCase();
    if (!p) continue;
    if (p === "*") return { ip: [() => true], domain: [() => true] };
    const cidr = cidrMatcher(p);
    if (cidr) {
      ip.push(cidr);
      continue;
    }
    const bare = ipBytes(p);
    if (bare) {
      ip.push((_h, _p, addr) => !!addr && addr.join(".") === bare.join("."));
      continue;
    }
    let phost = p;
    let pport = "";
    const hp = /^(\[[^\]]*\]|[^:]*):(\d+)$/.exec(p);
    if (hp) {
      phost = hp[1].replace(/^\[|\]$/g, "");
      pport = hp[2];
      if (!phost) continue;
    }
    const withPort = ipBytes(phost);
    if (withPort) {
      ip.push((_h, port, addr) =>
        !!addr && addr.join(".") === withPort.join(".") && (pport === "" || pport === port)
      );
      continue;
    }
    if (phost.startsWith("*.")) phost = phost.slice(1);
    let matchHost = false;
    if (!phost.startsWith(".")) {
      matchHost = true;
      phost = "." + phost;
    }
    const suffix = phost;
    domain.push((host, port) =>
      (host.endsWith(suffix) || (matchHost && host === suffix.slice(1))) && (pport === "" || pport === port)
    );
  }
  return { ip, domain };
}

/** Go's httpproxy useProxy: false when the host must be reached directly. `host` is lower case, no brackets. */
export function useProxy(host: string, port: string, noProxy: string): boolean {
  if (host === "localhost") return false;
  const ip = ipBytes(host);
  if (ip && (ip.length === 4 ? ip[0] === 127 : ip.slice(0, 15).every((b) => b === 0) && ip[15] === 1)) {
    return false;
  }
  const m = parseNoProxy(noProxy);
  if (ip && m.ip.some((f) => f(host, port, ip))) return false;
  if (m.domain.some((f) => f(host, port, ip))) return false;
  return true;
}

// ------------------------------------------------------------------------------------------------
// the CONNECT agent

function proxyHint(p: ProxyChoice, cluster: string): string {
  return p.source === "proxy-url"
    ? `check that the proxy runs, or fix proxy-url of cluster ${cluster} in your kubeconfig`
    : `check that the proxy runs, or fix ${p.source} (NO_PROXY lists hosts to reach directly)`;
}

/** Map a failure to open a tunnel to a one-line KodamaError naming the (redacted) proxy and the context. */
export function proxyError(
  e: unknown,
  p: ProxyChoice,
  ctx: { context: string; cluster: string; target: string },
): KodamaError {
  if (e instanceof KodamaError) return e;
  const err = e as { code?: unknown; message?: unknown };
  const code = typeof err?.code === "string" ? err.code : undefined;
  const reason = (code && CONNECT_CODES[code]) ??
    String(err?.message ?? e).split("\n")[0].replaceAll(p.url.href, redactProxy(p.url));
  return new KodamaError(
    `cannot reach proxy ${redactProxy(p.url)} (${p.source}) for context ${ctx.context}: ${reason}`,
    code === "ETIMEDOUT" ? ExitCode.TIMEOUT : ExitCode.FAILED,
    proxyHint(p, ctx.cluster),
  );
}

/** like client-go's dial timeout */
const CONNECT_TIMEOUT_MS = 30_000;

interface ConnectOpts {
  host?: string;
  port?: number;
}

/**
 * An http.Agent that opens every connection through `p` with CONNECT (TLS to the API server runs
 * inside the tunnel with the request's own ca/cert/key/servername). A refused or failed tunnel
 * rejects with a KodamaError naming the proxy, never with the proxy's own response body.
 */
export async function proxyAgent(
  p: ProxyChoice,
  ctx: { context: string; cluster: string },
  o: { keepAlive?: boolean; maxSockets?: number; connectTimeoutMs?: number } = {},
): Promise<http.Agent> {
  const timeoutMs = o.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
  const [{ HttpsProxyAgent }, { STATUS_CODES }] = await Promise.all([
    import("https-proxy-agent"),
    import("node:http"),
  ]);
  class KodamaProxyAgent extends HttpsProxyAgent<string> {
    override async connect(
      req: http.ClientRequest,
      opts: Parameters<HttpsProxyAgentT<string>["connect"]>[1],
    ) {
      let status = 0;
      const onConnect = (res: { statusCode: number }) => (status = res.statusCode);
      req.once("proxyConnect", onConnect);
      const target = `${(opts as ConnectOpts).host}:${(opts as ConnectOpts).port}`;
      let sock: Socket;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const tunnel = super.connect(req, opts);
      try {
        // a proxy that accepts the connection but never answers the CONNECT must not hang us; the
        // abandoned tunnel is closed if it ever opens
        sock = await Promise.race([
          tunnel,
          new Promise<never>((_, reject) => {
            timer = setTimeout(
              () => reject(Object.assign(new Error("no answer to CONNECT"), { code: "ETIMEDOUT" })),
              timeoutMs,
            );
          }),
        ]);
      } catch (e) {
        tunnel.then((s) => s.destroy(), () => {});
        throw proxyError(e, p, { ...ctx, target });
      } finally {
        clearTimeout(timer);
        req.off("proxyConnect", onConnect);
      }
      if (status !== 200) {
        sock.destroy();
        // with a 407 the credentials are what failed; say so without printing them
        throw new KodamaError(
          `proxy ${
            redactProxy(p.url)
          } (${p.source}) refused the tunnel to ${target} for context ${ctx.context}: ${status} ${
            STATUS_CODES[status] ?? ""
          }`.trim(),
          status === 407 || status === 403 ? ExitCode.FORBIDDEN : ExitCode.FAILED,
          status === 407 ? "check the user:password in the proxy URL" : proxyHint(p, ctx.cluster),
        );
      }
      return sock;
    }
  }
  // the agent gets the URL without credentials (its `debug` output, enabled by DEBUG=*, prints the URL);
  // they travel only in the CONNECT request's Proxy-Authorization header
  const bare = new URL(p.url.href);
  bare.username = "";
  bare.password = "";
  const headers: Record<string, string> = {};
  if (p.url.username || p.url.password) {
    const cred = `${decodeURIComponent(p.url.username)}:${decodeURIComponent(p.url.password)}`;
    headers["Proxy-Authorization"] = `Basic ${btoa(String.fromCharCode(...new TextEncoder().encode(cred)))}`;
  }
  return new KodamaProxyAgent(bare.href, {
    keepAlive: o.keepAlive ?? false,
    maxSockets: o.maxSockets,
    headers,
  });
}
