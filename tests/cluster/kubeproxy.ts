/**
 * The test node's kube-proxy: a Service's ClusterIP:port reaches one of its ready endpoints, as on a real
 * node. The API server gives ClusterIPs from a loopback service range of its own (127.1.X.Y from a random
 * base per server, as kube-apiserver's --service-cluster-ip-range; pods are 127.2+.x.y), so the proxy can
 * listen on exactly the Service's address and port and forward each TCP connection to a ready endpoint's
 * pod IP and target port. A port with no ready endpoint is not listened on: a connection is refused, as
 * kube-proxy's REJECT rule does. TCP only; NetworkPolicies are not enforced (they are checked as objects).
 */
import net from "node:net";
import type { Obj, Store } from "./store.ts";

interface Route {
  namespace: string;
  service: string;
  /** the Service port's name ("" when unnamed): the endpoints' port of that name */
  portName: string;
}

export class KubeProxy {
  private readonly listeners = new Map<string, { server: net.Server; route: Route }>();
  private readonly unsubscribe: (() => void)[] = [];
  private queued = false;
  private closed = false;

  constructor(private readonly store: Store) {
    for (const r of ["services", "endpoints"]) {
      this.unsubscribe.push(store.subscribe(r, () => this.queue()));
    }
  }

  private queue(): void {
    if (this.queued || this.closed) return;
    this.queued = true;
    queueMicrotask(() => {
      this.queued = false;
      if (!this.closed) this.sync();
    });
  }

  /** The ready endpoints of a route: pod IP and port. */
  private endpoints(r: Route): { ip: string; port: number }[] {
    const ep = this.store.get("endpoints", r.namespace, r.service);
    return (ep?.subsets ?? []).flatMap((s: Obj) => {
      const port = (s.ports ?? []).find((p: Obj) =>
        (p.name ?? "") === r.portName && (p.protocol ?? "TCP") === "TCP"
      );
      return port
        ? (s.addresses ?? []).map((a: Obj) => ({ ip: a.ip as string, port: Number(port.port) }))
        : [];
    });
  }

  /** Listen on every ClusterIP:port that has a ready endpoint; stop listening on the others. */
  private sync(): void {
    const want = new Map<string, Route>();
    for (const svc of this.store.peek("services")) {
      const ip = svc.spec?.clusterIP;
      if (typeof ip !== "string" || !ip.startsWith("127.")) continue;
      for (const p of svc.spec?.ports ?? []) {
        if ((p.protocol ?? "TCP") !== "TCP") continue;
        const route = {
          namespace: svc.metadata.namespace,
          service: svc.metadata.name,
          portName: p.name ?? "",
        };
        if (this.endpoints(route).length) want.set(`${ip}:${p.port}`, route);
      }
    }
    for (const [key, l] of this.listeners) {
      if (!want.has(key)) {
        l.server.close();
        this.listeners.delete(key);
      }
    }
    for (const [key, route] of want) {
      const have = this.listeners.get(key);
      if (have) {
        have.route = route;
        continue;
      }
      const [ip, port] = [key.slice(0, key.lastIndexOf(":")), Number(key.slice(key.lastIndexOf(":") + 1))];
      const entry = { server: net.createServer((c) => this.forward(c, entry.route)), route };
      entry.server.on("error", () => this.listeners.delete(key));
      entry.server.listen(port, ip);
      this.listeners.set(key, entry);
    }
  }

  private forward(client: net.Socket, route: Route): void {
    const eps = this.endpoints(route);
    if (!eps.length) return void client.destroy();
    const ep = eps[Math.floor(Math.random() * eps.length)];
    const upstream = net.connect(ep.port, ep.ip);
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
  }

  close(): void {
    this.closed = true;
    for (const u of this.unsubscribe) u();
    for (const l of this.listeners.values()) l.server.close();
    this.listeners.clear();
  }
}
