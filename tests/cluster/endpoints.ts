/** The endpoints controller: Endpoints of each Service with a selector follow its pods (ready -> addresses). */
import { matchMap } from "./selectors.ts";
import type { Obj, Store } from "./store.ts";
import { now } from "./defaults.ts";

export function syncEndpoints(store: Store, ns: string) {
  const n = store.get("namespaces", "", ns);
  if (!n || n.metadata.deletionTimestamp) return;
  const services = store.list("services", ns).filter((s) => Object.keys(s.spec?.selector ?? {}).length > 0);
  if (services.length === 0) return;
  const pods = [...store.peek("pods", ns)];
  for (const svc of services) {
    const sel = svc.spec.selector;
    const groups = new Map<string, { ports: Obj[]; addresses: Obj[]; notReadyAddresses: Obj[] }>();
    for (const p of pods) {
      if (!matchMap(sel, p.metadata.labels) || !p.status?.podIP) continue;
      if (["Succeeded", "Failed"].includes(p.status?.phase)) continue;
      const ports = (svc.spec.ports ?? []).map((sp: Obj) => ({
        ...(sp.name ? { name: sp.name } : {}),
        port: resolveTargetPort(p, sp.targetPort ?? sp.port),
        protocol: sp.protocol ?? "TCP",
      })).filter((x: Obj) => x.port !== undefined);
      const gk = JSON.stringify(ports);
      let g = groups.get(gk);
      if (!g) groups.set(gk, g = { ports, addresses: [], notReadyAddresses: [] });
      const addr = {
        ip: p.status.podIP,
        nodeName: p.spec?.nodeName,
        targetRef: { kind: "Pod", namespace: ns, name: p.metadata.name, uid: p.metadata.uid },
      };
      const ready = !p.metadata.deletionTimestamp &&
        (p.status?.conditions ?? []).some((c: Obj) => c.type === "Ready" && c.status === "True");
      (ready ? g.addresses : g.notReadyAddresses).push(addr);
    }
    const subsets = [...groups.values()].map((g) => {
      const s: Obj = {};
      if (g.addresses.length) s.addresses = g.addresses;
      if (g.notReadyAddresses.length) s.notReadyAddresses = g.notReadyAddresses;
      if (g.ports.length) s.ports = g.ports;
      return s;
    });
    const name = svc.metadata.name;
    const cur = store.get("endpoints", ns, name);
    if (cur) {
      if (JSON.stringify(cur.subsets ?? []) === JSON.stringify(subsets)) continue;
      if (subsets.length) cur.subsets = subsets;
      else delete cur.subsets;
      store.replace("endpoints", cur);
    } else {
      store.insert("endpoints", {
        apiVersion: "v1",
        kind: "Endpoints",
        metadata: {
          name,
          namespace: ns,
          uid: crypto.randomUUID(),
          creationTimestamp: now(),
          labels: { ...(svc.metadata.labels ?? {}) },
        },
        ...(subsets.length ? { subsets } : {}),
      });
    }
  }
}

function resolveTargetPort(pod: Obj, target: number | string): number | undefined {
  if (typeof target === "number") return target;
  if (/^\d+$/.test(target)) return Number(target);
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) if (p.name === target) return p.containerPort;
  }
  return undefined;
}
