/**
 * One Deno.HttpClient per distinct TLS material, shared by exec's native WebSocket streams (./exec.ts)
 * and requests and watches over Deno's own client (./transport.ts). The auth target is recomputed as credentials rotate, but
 * a new client is made only when the CA or client certificate really changed, so long-running forwards do
 * not pile up clients (open streams may still hold the old one). A module of its own, so that neither
 * user loads the other (exec.ts brings the SPDY fallback's Node modules on its first use).
 */
import type http from "node:http";
import type { Socket } from "node:net";

const clients = new Map<string, Deno.HttpClient>();

/**
 * How long a kept-alive connection may sit idle before this client drops it itself. A server closes idle
 * connections on its own clock (Node's http server after 5 s, Go's IdleTimeout, a load balancer's idle
 * timer); a request sent on a connection at the moment the server closes it fails with "peer closed
 * connection" and, unlike a GET, a DELETE or POST cannot be sent again safely. Dropping first, well inside
 * the shortest such timer, leaves that race no window; the cost is a new TLS handshake after a pause.
 */
export const POOL_IDLE_MS = 2_000;

/**
 * The same rule for a Node agent (the path through a proxy, and a GET's fallback): Deno's `node:http` Agent
 * neither honours the server's `Keep-Alive: timeout=` hint nor has an idle limit of its own. A socket still
 * free `POOL_IDLE_MS` after it was freed is destroyed; one that is free carries no request, so this never
 * cuts one off.
 */
export function dropIdleSockets(agent: http.Agent, ms = POOL_IDLE_MS): http.Agent {
  const isFree = (s: Socket) => Object.values(agent.freeSockets).some((l) => l?.includes(s));
  agent.on("free", (s: Socket) => {
    const t = setTimeout(() => isFree(s) && s.destroy(), ms);
    (t as { unref?: () => void }).unref?.();
  });
  return agent;
}
export function nativeClient(ca?: string, cert?: string, key?: string): Deno.HttpClient {
  const id = `${ca ?? ""}\0${cert ?? ""}\0${key ?? ""}`;
  let client = clients.get(id);
  if (!client) {
    client = Deno.createHttpClient({
      poolIdleTimeout: POOL_IDLE_MS,
      ...(ca ? { caCerts: [ca] } : {}),
      ...(cert && key ? { cert, key } : {}),
    });
    clients.set(id, client);
  }
  return client;
}
