/**
 * `kodama ui`: a local web server, a second front end over the same feature functions as the CLI.
 * Its security model is Jupyter's, without a cookie (docs/security.md "The web UI's credential"):
 *
 * - it binds 127.0.0.1 (another address only when asked, with a warning);
 * - the page opened with the token printed in the URL gets a session credential of its own, in the page;
 *   its script keeps it in the tab's sessionStorage (per origin: scheme, host and port) and sends it in an
 *   `Authorization: Bearer` header on every /api request. No cookie: browsers send cookies to every port of
 *   a host, kodama's own port-forwards to pod web servers on 127.0.0.1 included; a header is sent only
 *   where the page's script sends it. A WebSocket (which cannot carry a header) gets a one-time ticket in
 *   its URL, asked for with the header, valid once and for 30 s;
 * - the page shell and the bundled assets hold no secret and need no credential; everything under /api
 *   does (401 without it);
 * - the Host header must name this server (DNS rebinding), and an Origin, when sent, must be this server's
 *   (cross-site requests); a WebSocket upgrade must carry this server's Origin;
 * - a mutating request (POST, PUT, PATCH, DELETE) needs the CSRF token the page carries, in a header;
 * - files come from the bundled assets only (src/web/assets.ts), by exact name: no path reaches the disk;
 * - nothing secret is sent (rows built by src/session/state/live.ts hold names of variables, never values).
 */
import type { Config } from "../config/schema.ts";
import type { Kube } from "../kube/client.ts";
import { ExitCode, KodamaError } from "../base/errors.ts";
import type { Sink } from "../base/sink.ts";
import { Api } from "./api.ts";
import { Hub } from "./live.ts";

export interface UIOptions {
  port?: number;
  /** the address to bind (default 127.0.0.1) */
  address?: string;
  cfg: Config;
  /** where a fetch lands and relative paths (env files, workflows) resolve; default the current directory */
  cwd?: string;
  err: Sink;
  /** directories besides the project whose files the page may name (`kodama ui --allow-path`) */
  allowPath?: string[];
  /** the token (tests); default a fresh random one */
  token?: string;
}

export interface UIServer {
  url: string;
  /** the URL with the token, as printed */
  loginUrl: string;
  port: number;
  token: string;
  finished: Promise<void>;
  shutdown(): Promise<void>;
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);
const MUTATING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

function randomHex(bytes = 24): string {
  return [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, "0")).join(
    "",
  );
}

/** Equal strings in time independent of where they differ. */
export function sameSecret(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return d === 0;
}

/** kodama's tab icon: a small tree (kodama, a tree spirit), green on white. */
const FAVICON =
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#fff"/>` +
  `<path d="M8 1 3 9h3l-2 4h8l-2-4h3z" fill="#2da44e"/><rect x="7" y="13" width="2" height="2" fill="#6e4b2a"/></svg>`;

/** The bearer credential of a request's Authorization header. */
function bearer(req: Request): string | undefined {
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers.get("authorization") ?? "");
  return m?.[1];
}

/** How long a WebSocket ticket may wait to be used. */
const TICKET_MS = 30_000;

const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};

export function plain(status: number, text: string, headers: Record<string, string> = {}): Response {
  return new Response(text + "\n", {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...SECURITY_HEADERS, ...headers },
  });
}

export function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...SECURITY_HEADERS },
  });
}

/** The page: with `login`, the session credential and CSRF token its script keeps (opened with the token). */
function page(login: { session: string; csrf: string } | undefined, preload: readonly string[]): string {
  const metas = login
    ? `<meta name="kodama-session" content="${login.session}">\n<meta name="csrf-token" content="${login.csrf}">\n`
    : "";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${metas}
<title>kodama</title>
<link rel="stylesheet" href="/assets/app.css">
${preload.map((f) => `<link rel="modulepreload" href="/assets/${f}">\n`).join("")}</head>
<body>
<div id="app"></div>
<script type="module" src="/assets/app.js"></script>
</body>
</html>
`;
}

/** The hosts this server answers to: loopback names, and the bound address, each with the port. */
export function allowedHosts(address: string, port: number): Set<string> {
  const names = new Set(LOOPBACK);
  names.add(address.includes(":") && !address.startsWith("[") ? `[${address}]` : address);
  const out = new Set<string>();
  for (const n of names) if (!n.includes(":") || n.startsWith("[")) out.add(`${n}:${port}`);
  return out;
}

export async function startUI(kube: Kube, o: UIOptions): Promise<UIServer> {
  const controller = new AbortController();
  // the session list is read from the start, beside the rest of the set-up and while the printed URL is
  // being opened: the first page finds it ready
  const hub = new Hub(kube, controller.signal);
  hub.start();
  try {
    return await serveUI(kube, o, controller, hub);
  } catch (e) {
    controller.abort();
    hub.close();
    throw e;
  }
}

async function serveUI(kube: Kube, o: UIOptions, controller: AbortController, hub: Hub): Promise<UIServer> {
  const address = o.address ?? "127.0.0.1";
  const token = o.token ?? randomHex();
  const csrf = randomHex();
  const { ASSETS, PRELOAD, SOURCE_HASH } = await import("./assets.ts");
  // the bundle's version: a page loaded again revalidates its assets (304) and keeps the browser's cached,
  // compiled copy instead of fetching and compiling its script each time
  const etag = `"${SOURCE_HASH.slice(0, 32)}"`;
  let port = 0;
  let hosts = new Set<string>();
  const anyHost = address === "0.0.0.0" || address === "::" || address === "[::]";
  // session credentials given to pages opened with the token, and one-time WebSocket tickets (expiry)
  const sessions = new Set<string>();
  const tickets = new Map<string, number>();
  const known = (have: string | undefined) =>
    have !== undefined && [...sessions].some((s) => sameSecret(have, s));
  const cwd = o.cwd ?? Deno.cwd();
  // every local path a page names goes through it (src/config/doors.ts)
  const { Door } = await import("../config/doors.ts");
  const door = await Door.open({
    who: "the web UI",
    started: cwd,
    allow: o.allowPath ?? [],
    flag: "kodama ui --allow-path",
  });
  const api = new Api(kube, { cfg: o.cfg, cwd, signal: controller.signal, door, hub });

  const handle = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    const host = req.headers.get("host") ?? "";
    // bound to every address (--address 0.0.0.0), the names it is reached by are not known: any Host with
    // its port; the token (then the session credential, sent only by the page's script) is still required
    const hostOk = anyHost ? host.endsWith(`:${port}`) : hosts.has(host.toLowerCase());
    if (!hostOk) return plain(403, "forbidden: unknown Host header");
    const origin = req.headers.get("origin");
    const upgrade = (req.headers.get("upgrade") ?? "").toLowerCase() === "websocket";
    if (origin !== null && origin !== `http://${host}`) return plain(403, "forbidden: cross-origin request");
    if (upgrade && origin === null) return plain(403, "forbidden: a WebSocket needs this page's Origin");
    if (req.headers.get("sec-fetch-site") === "cross-site") {
      return plain(403, "forbidden: cross-site request");
    }

    // the tab's icon is no secret: browsers ask for it without the page's credential
    if (url.pathname === "/favicon.ico" && req.method === "GET") {
      return new Response(FAVICON, {
        headers: { ...SECURITY_HEADERS, "content-type": "image/svg+xml", "cache-control": "max-age=86400" },
      });
    }
    const path = url.pathname;
    const isPage = path === "/" || path === "/index.html" || /^\/(sessions|pods|workflows)(\/|$)/.test(path);
    const given = url.searchParams.get("token");
    if (isPage) {
      if (req.method !== "GET") return plain(405, "method not allowed");
      let login: { session: string; csrf: string } | undefined;
      if (given !== null) {
        if (!sameSecret(given, token)) return plain(401, "unauthorized: wrong token");
        // this page's own credential, in the page: its script keeps it and removes the token from the URL
        const session = randomHex();
        sessions.add(session);
        login = { session, csrf };
      }
      return new Response(page(login, PRELOAD), {
        headers: { "content-type": "text/html; charset=utf-8", ...SECURITY_HEADERS },
      });
    }
    if (path.startsWith("/api/")) {
      if (upgrade) {
        // a WebSocket cannot carry a header: a one-time ticket the page asked for with it
        const t = url.searchParams.get("ticket") ?? "";
        const found = [...tickets.keys()].find((k) => sameSecret(t, k));
        const until = found === undefined ? undefined : tickets.get(found);
        if (found !== undefined) tickets.delete(found);
        if (until === undefined || until < Date.now()) {
          return plain(401, "unauthorized: a WebSocket needs a fresh ticket from POST /api/ticket");
        }
      } else if (!known(bearer(req))) {
        return plain(401, "unauthorized: open the URL `kodama ui` printed (it carries the token)");
      }
      if (MUTATING.has(req.method)) {
        const c = req.headers.get("x-csrf-token") ?? "";
        if (!sameSecret(c, csrf)) return plain(403, "forbidden: missing or wrong CSRF token");
      }
      if (path === "/api/ticket" && req.method === "POST") {
        for (const [k, until] of tickets) if (until < Date.now()) tickets.delete(k);
        const ticket = randomHex();
        tickets.set(ticket, Date.now() + TICKET_MS);
        return json({ ticket });
      }
      try {
        return await api.handle(req, url, upgrade);
      } catch (e) {
        return errorResponse(e);
      }
    }
    if (path.startsWith("/assets/")) {
      const a = Object.hasOwn(ASSETS, path.slice(8)) ? ASSETS[path.slice(8)] : undefined;
      if (!a || req.method !== "GET") return plain(404, "not found");
      const headers = {
        "content-type": `${a.type}; charset=utf-8`,
        ...SECURITY_HEADERS,
        "cache-control": "no-cache",
        etag,
      };
      const known = req.headers.get("if-none-match")?.split(",").map((t) => t.trim().replace(/^W\//, ""));
      if (known?.includes(etag) || known?.includes("*")) return new Response(null, { status: 304, headers });
      return new Response(a.body, { headers });
    }
    return plain(404, "not found");
  };

  let server: Deno.HttpServer;
  try {
    server = Deno.serve({
      hostname: address,
      port: o.port ?? 0,
      signal: controller.signal,
      onListen: () => {},
      onError: (e) => errorResponse(e),
    }, handle);
  } catch (e) {
    if (e instanceof Deno.errors.AddrInUse) {
      throw new KodamaError(
        `port ${o.port} is in use`,
        ExitCode.USAGE,
        "choose another with --port, or omit it",
      );
    }
    if (e instanceof Deno.errors.AddrNotAvailable || e instanceof Deno.errors.PermissionDenied) {
      throw new KodamaError(
        `cannot listen on ${address}:${o.port ?? 0}: ${(e as Error).message}`,
        ExitCode.USAGE,
      );
    }
    throw e;
  }
  port = (server.addr as Deno.NetAddr).port;
  hosts = allowedHosts(address, port);
  const shown = address === "0.0.0.0" || address === "::" ? "127.0.0.1" : address;
  const base = `http://${shown.includes(":") ? `[${shown}]` : shown}:${port}`;
  return {
    url: base + "/",
    loginUrl: `${base}/?token=${token}`,
    port,
    token,
    finished: server.finished,
    shutdown: async () => {
      controller.abort();
      api.close();
      await server.finished.catch(() => {});
    },
  };
}

const STATUS_OF: Record<number, number> = {
  [ExitCode.USAGE]: 400,
  [ExitCode.NOT_FOUND]: 404,
  [ExitCode.FORBIDDEN]: 403,
  [ExitCode.TIMEOUT]: 504,
};

/** A feature's error as JSON: its one-line message and hint, a status from its exit code; never a stack. */
export function errorResponse(e: unknown): Response {
  if (e instanceof KodamaError) {
    return json({ error: e.message, ...(e.hint ? { hint: e.hint } : {}) }, STATUS_OF[e.code] ?? 502);
  }
  return json({ error: e instanceof Error ? e.message : String(e) }, 500);
}
