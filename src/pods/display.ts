/** How kubectl shows a pod: READY, STATUS (reason logic from kubectl's printPod), RESTARTS. Pure. */
import type { V1Pod } from "@kubernetes/client-node";
import { formatAge } from "../ui/table.ts";
import { podStatusColumn } from "../kube/podstatus.ts";
import type { Columns } from "../ui/output.ts";

/** A pod as -o json/yaml print it: with apiVersion and kind, as kubectl shows a listed pod. */
export function withKind(p: V1Pod): V1Pod {
  return { apiVersion: "v1", kind: "Pod", ...p };
}

export function podReady(p: V1Pod): string {
  const total = p.spec?.containers?.length ?? 0;
  const ready = (p.status?.containerStatuses ?? []).filter((c) => c.ready).length;
  return `${ready}/${total}`;
}

export function podRestarts(p: V1Pod, now = Date.now()): string {
  let restarts = 0;
  let last: Date | undefined;
  for (const c of p.status?.containerStatuses ?? []) {
    restarts += c.restartCount ?? 0;
    const fin = c.lastState?.terminated?.finishedAt;
    if (fin) {
      const d = new Date(fin);
      if (!last || d > last) last = d;
    }
  }
  return last && restarts ? `${restarts} (${formatAge(last, now)} ago)` : String(restarts);
}

/** kubectl's STATUS column; it lives with the other pod-status readings in src/kube/podstatus.ts. */
export const podStatus: (p: V1Pod) => string = podStatusColumn;

export function podContainers(p: V1Pod): string {
  return (p.spec?.containers ?? []).map((c) => c.name).join(",");
}

export function podColumns(opts: { allNamespaces?: boolean; now?: number }): {
  table: Columns<V1Pod>;
  wide: Columns<V1Pod>;
} {
  const now = opts.now ?? Date.now();
  const ns = (p: V1Pod) => opts.allNamespaces ? [p.metadata?.namespace ?? ""] : [];
  const nsH = opts.allNamespaces ? ["NAMESPACE"] : [];
  const base = (p: V1Pod) => [
    ...ns(p),
    p.metadata?.name ?? "",
    podReady(p),
    podStatus(p),
    podRestarts(p, now),
    formatAge(p.metadata?.creationTimestamp, now),
  ];
  const headers = [...nsH, "NAME", "READY", "STATUS", "RESTARTS", "AGE"];
  return {
    table: { headers, row: base },
    wide: {
      headers: [...headers, "IP", "NODE", "CONTAINERS"],
      row: (p) => [...base(p), p.status?.podIP ?? "<none>", p.spec?.nodeName ?? "<none>", podContainers(p)],
    },
  };
}

/** A pod as data, with the columns of `kodama pods -o wide` (the MCP server's and web UI's pod rows). */
export interface PodSummary {
  namespace: string;
  name: string;
  ready: string;
  status: string;
  restarts: number;
  age: string;
  ip?: string;
  node?: string;
  containers: string[];
  labels: Record<string, string>;
}

export function podSummary(p: V1Pod, now = Date.now()): PodSummary {
  return {
    namespace: p.metadata?.namespace ?? "",
    name: p.metadata?.name ?? "",
    ready: podReady(p),
    status: podStatus(p),
    restarts: (p.status?.containerStatuses ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0),
    age: formatAge(p.metadata?.creationTimestamp, now),
    ...(p.status?.podIP ? { ip: p.status.podIP } : {}),
    ...(p.spec?.nodeName ? { node: p.spec.nodeName } : {}),
    containers: (p.spec?.containers ?? []).map((c) => c.name),
    labels: p.metadata?.labels ?? {},
  };
}
