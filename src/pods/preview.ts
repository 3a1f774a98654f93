/** The picker's preview panel for a pod (pure; plain text lines, truncated by the renderer). */
import type { V1Pod } from "@kubernetes/client-node";
import { formatAge } from "../ui/table.ts";
import { podReady, podStatus } from "./display.ts";

export function podPreview(pod: V1Pod, now = Date.now()): string[] {
  const md = pod.metadata ?? {};
  const restarts = (pod.status?.containerStatuses ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0);
  const row = (k: string, v: string | undefined) => `${k.padEnd(10)} ${v || "-"}`;
  const lines = [
    row("name", md.name),
    row("namespace", md.namespace),
    row(
      "phase",
      pod.status?.phase === podStatus(pod)
        ? pod.status?.phase
        : `${pod.status?.phase ?? "?"} (${podStatus(pod)})`,
    ),
    row("ready", podReady(pod)),
    row("restarts", String(restarts)),
    row("age", md.creationTimestamp ? formatAge(md.creationTimestamp, now) : undefined),
    row("node", pod.spec?.nodeName),
    row("ip", pod.status?.podIP),
  ];
  const labels = Object.entries(md.labels ?? {}).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
  lines.push("labels" + (labels.length ? "" : "     -"));
  for (const [k, v] of labels) lines.push(`  ${k}=${v}`);
  lines.push("containers");
  const statuses = new Map((pod.status?.containerStatuses ?? []).map((c) => [c.name, c]));
  for (const c of pod.spec?.containers ?? []) {
    const st = statuses.get(c.name);
    const state = st?.state?.running
      ? "running"
      : st?.state?.waiting
      ? (st.state.waiting.reason ?? "waiting")
      : st?.state?.terminated
      ? (st.state.terminated.reason ?? "terminated")
      : "";
    lines.push(`  ${c.name}${state ? ` (${state})` : ""}  ${c.image ?? ""}`.trimEnd());
  }
  return lines;
}
