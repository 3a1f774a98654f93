/** How kubectl shows a pod: READY, STATUS (reason logic from kubectl's printPod), RESTARTS. Pure. */
import type { V1Pod } from "@kubernetes/client-node";
import { formatAge } from "../ui/table.ts";
import type { Columns } from "../ui/output.ts";

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

export function podStatus(p: V1Pod): string {
  let reason = p.status?.reason || p.status?.phase || "Unknown";
  let initializing = false;
  const inits = p.status?.initContainerStatuses ?? [];
  inits.forEach((c, i) => {
    if (initializing) return;
    const t = c.state?.terminated;
    if (t && t.exitCode === 0) return;
    if (t) {
      reason = t.reason
        ? `Init:${t.reason}`
        : t.signal
        ? `Init:Signal:${t.signal}`
        : `Init:ExitCode:${t.exitCode}`;
    } else if (c.state?.waiting?.reason && c.state.waiting.reason !== "PodInitializing") {
      reason = `Init:${c.state.waiting.reason}`;
    } else reason = `Init:${i}/${p.spec?.initContainers?.length ?? inits.length}`;
    initializing = true;
  });
  if (!initializing) {
    let hasRunning = false;
    for (const c of [...(p.status?.containerStatuses ?? [])].reverse()) {
      if (c.state?.waiting?.reason) reason = c.state.waiting.reason;
      else if (c.state?.terminated?.reason) reason = c.state.terminated.reason;
      else if (c.state?.terminated) {
        reason = c.state.terminated.signal
          ? `Signal:${c.state.terminated.signal}`
          : `ExitCode:${c.state.terminated.exitCode}`;
      } else if (c.ready && c.state?.running) hasRunning = true;
    }
    if (reason === "Completed" && hasRunning) reason = "Running";
  }
  if (p.metadata?.deletionTimestamp) reason = "Terminating";
  return reason;
}

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
