/**
 * A tiny HTTP CONNECT proxy for tests: counts tunnels and records each tunnel's target (host:port) and
 * Proxy-Authorization header. Every target is dialled at `mapHost(host)` (default: the host itself;
 * tests map made-up names such as `kodama-test.invalid` to 127.0.0.1 so a direct connection would fail).
 * With `auth` set, a CONNECT without that exact `Proxy-Authorization` gets `407`. With `tls` it is an
 * https:// proxy (the client speaks TLS to the proxy, then TLS to the target inside the tunnel).
 */
import http from "node:http";
import https from "node:https";
import net from "node:net";
import type { AddressInfo } from "node:net";

export interface Tunnel {
  target: string;
  proxyAuthorization?: string;
}

export interface ConnectProxy {
  /** http://127.0.0.1:PORT (https:// with `tls`) */
  url: string;
  port: number;
  tunnels: Tunnel[];
  /** CONNECTs refused with 407 */
  refused: number;
  close(): Promise<void>;
}

export async function startConnectProxy(
  o: { auth?: string; mapHost?: (host: string) => string; tls?: { cert: string; key: string } } = {},
): Promise<ConnectProxy> {
  const sockets = new Set<net.Socket>();
  const onRequest = (_req: http.IncomingMessage, res: http.ServerResponse) => {
    res.writeHead(405).end("this proxy only speaks CONNECT\n");
  };
  const server = o.tls ? https.createServer(o.tls, onRequest) : http.createServer(onRequest);
  const p: ConnectProxy = {
    url: "",
    port: 0,
    tunnels: [],
    refused: 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  server.on(o.tls ? "secureConnection" : "connection", (s: net.Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.on("connect", (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    const auth = req.headers["proxy-authorization"];
    if (o.auth !== undefined && auth !== o.auth) {
      p.refused++;
      client.end(
        'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\n' +
          "Content-Length: 0\r\n\r\n",
      );
      return;
    }
    const target = req.url ?? "";
    p.tunnels.push({ target, proxyAuthorization: auth });
    const i = target.lastIndexOf(":");
    const host = target.slice(0, i).replace(/^\[|\]$/g, "");
    const port = Number(target.slice(i + 1));
    const upstream = net.connect(port, o.mapHost ? o.mapHost(host) : host);
    sockets.add(upstream);
    upstream.on("close", () => sockets.delete(upstream));
    upstream.once("connect", () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head?.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on("error", () => {
      if (client.writable) client.end("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
    });
    client.on("error", () => upstream.destroy());
    client.on("close", () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  p.port = (server.address() as AddressInfo).port;
  p.url = `${o.tls ? "https" : "http"}://127.0.0.1:${p.port}`;
  return p;
}
