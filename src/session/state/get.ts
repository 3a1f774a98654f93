/**
 * `kodama session get NAME`: a session's settings, its objects and their state (PVC sizes and
 * phases, the pod and its conditions) and the last events — like `kubectl describe`; `-o yaml|json`
 * gives the Session object with the same detail. The picker's session preview lives here too.
 */
import type { CoreV1Event, V1ConfigMap, V1Secret } from "@kubernetes/client-node";
import type { KubeIdentity, KubeObjects } from "../../kube/seam.ts";
import { ExitCode } from "../../base/errors.ts";
import { prepareOutput } from "../../ui/output.ts";
import type { Sink } from "../../base/sink.ts";
import { formatAge, renderTable } from "../../ui/table.ts";
import { podStatus } from "../../pods/display.ts";
import { formatDuration } from "../../base/duration.ts";
import { requireSession } from "./cluster.ts";
import { containerStates, restartText, sessionObject, syncState } from "./list.ts";
import { syncDetail } from "../sync/column.ts";
import { eventsOf, eventsTable, sortEvents } from "../lifecycle/progress.ts";
import { resourcesText } from "../spec/quantity.ts";
import { AGENT_HOME, agentSettingsWords, namesOf, type SessionSpec } from "../spec/spec.ts";
import { jobFinished, type SessionView } from "./status.ts";
import { isLegacyPod, isLive, legacyNote } from "./sessionpod.ts";
import { schedulingRows } from "../spec/scheduling.ts";

export interface SessionDetail {
  view: SessionView;
  secret?: { name: string; keys: number };
  configMap?: { name: string; keys: string[] };
  events: CoreV1Event[];
}

const RECENT = 10;

/** The session and what `get` shows besides it (Secret key count only: values are never read out). */
export async function describeSession(
  kube: KubeObjects & KubeIdentity,
  namespace: string,
  name: string,
): Promise<SessionDetail> {
  const view = await requireSession(kube, namespace, name);
  const n = namesOf(view);
  const [secret, cm, events] = await Promise.all([
    kube.findObject<V1Secret>("secrets", namespace, n.envSecret).catch(() => undefined),
    kube.findObject<V1ConfigMap>("configmaps", namespace, n.editorConfigMap).catch(() => undefined),
    kube.listObjects<CoreV1Event>("events", namespace).then((l) => l.items).catch(() => [] as CoreV1Event[]),
  ]);

  return {
    view,
    ...(secret ? { secret: { name: n.envSecret, keys: Object.keys(secret.data ?? {}).length } } : {}),
    ...(cm ? { configMap: { name: n.editorConfigMap, keys: Object.keys(cm.data ?? {}).sort() } } : {}),
    events: sortEvents(eventsOf(events, [view.pod, ...view.pvcs])).slice(-RECENT),
  };
}

/** `-o yaml|json`: the Session object plus its objects and events. */
export function detailObject(d: SessionDetail): Record<string, unknown> {
  const o = sessionObject(d.view);
  const status = o.status as Record<string, unknown>;
  const pod = d.view.pod;
  if (pod) {
    status.conditions = (pod.status?.conditions ?? []).map((c) => ({
      type: c.type,
      status: c.status,
      ...(c.reason ? { reason: c.reason } : {}),
      ...(c.message ? { message: c.message } : {}),
    }));
  }
  status.objects = [
    ...(d.view.job
      ? [{ kind: "Job", name: d.view.job.metadata?.name, status: jobFinished(d.view.job) ?? "Active" }]
      : []),
    ...(pod ? [{ kind: "Pod", name: pod.metadata?.name, status: podStatus(pod) }] : []),
    ...d.view.pvcs.map((c) => ({
      kind: "PersistentVolumeClaim",
      name: c.metadata?.name,
      status: c.status?.phase,
    })),
    ...(d.secret ? [{ kind: "Secret", name: d.secret.name, keys: d.secret.keys }] : []),
    ...(d.configMap ? [{ kind: "ConfigMap", name: d.configMap.name, keys: d.configMap.keys }] : []),
  ];
  status.events = d.events.map((e) => ({
    type: e.type,
    reason: e.reason,
    object: `${e.involvedObject?.kind}/${e.involvedObject?.name}`,
    message: e.message,
    ...(e.count && e.count > 1 ? { count: e.count } : {}),
    lastTimestamp: e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp,
  }));
  return o;
}

/** The human view, `kubectl describe` style. */
export function renderDetail(d: SessionDetail, now = Date.now()): string {
  const v = d.view;
  const s = v.spec;
  const row = (k: string, val: string | undefined) => `${(k + ":").padEnd(13)}${val ?? "<unknown>"}\n`;
  let out = "";
  out += row("Name", v.name);
  out += row("Namespace", v.namespace);
  out += row(
    "Status",
    v.restart
      ? restartText(v.restart, now)
      : `${v.status}${v.reason ? ` (${v.reason})` : ""}${
        v.stoppedAt ? ` since ${v.stoppedAt} (${formatAge(v.stoppedAt, now)} ago)` : ""
      }`,
  );
  if (v.pod && isLegacyPod(v.pod) && isLive(v.pod)) out += row("Note", legacyNote(v.name));
  if (s?.idleStop) out += row("Idle stop", `after ${formatDuration(s.idleStop * 1000)} without activity`);
  if (s?.expiresAt) {
    out += row(
      "Expires",
      `${s.expiresAt} (${
        Date.parse(s.expiresAt) <= now ? `expired ${formatAge(s.expiresAt, now)} ago` : "not yet"
      })`,
    );
  }
  if (v.pod) out += row("Containers", containerStates(v).map((c) => `${c.name} (${c.state})`).join(", "));
  const detail = syncDetail(v.name, v.namespace);
  out += row("Sync", `${syncState(v)}${detail ? ` — ${detail}` : ""}`);
  out += row("Created", v.createdAt ? `${v.createdAt} (${formatAge(v.createdAt, now)} ago)` : undefined);
  if (s) {
    out += row("Image", s.image);
    out += row("Resources", resourcesText(s.cpu, s.memory));
    out += row(
      "Workspace",
      `${s.workdir} (${s.storage.workspace}${
        s.storage.storageClass ? `, class ${s.storage.storageClass}` : ""
      })`,
    );
    out += row("Home", `${AGENT_HOME} (${s.storage.home})`);
    out += row("Shell", s.shell);
    out += row(
      "Env",
      s.envVars.length
        ? `${s.envVars.length} from Secret ${namesOf(s).envSecret}: ${s.envVars.join(", ")}`
        : "none",
    );
    if (s.editor || s.editorFiles.length) {
      out += row(
        "Editor",
        `${s.editor ? "Helix + Zellij defaults" : ""}${s.editor && s.editorFiles.length ? "; " : ""}${
          s.editorFiles.length ? `from the repository: ${s.editorFiles.join(", ")}` : ""
        } (~/.config/helix, ~/.config/zellij)`,
      );
    }
    if (s.agent) {
      const words = agentSettingsWords(s.agent.settings);
      out += row("Agent", `${s.agent.preset}${words.length ? ` (${words.join(", ")})` : ""}`);
    }
    if (s.serviceAccount) out += row("SA", s.serviceAccount);
    // requests, devices, placement, pull secrets, priority, annotations (scheduling.ts)
    for (const [k, v] of schedulingRows(s.scheduling)) out += row(k, v);
    if (s.gateway) {
      out += row("Gateway", `${s.gateway.service} (token ${s.gateway.tokenSuffix}) at ${s.gateway.url}`);
    }
    if (s.sandbox) out += row("Sandbox", sandboxLine(s));
    if (s.owner) out += row("Owner", s.owner);
    if (s.template) out += row("Template", s.template);
    for (const c of s.sidecars ?? []) {
      out += row(
        "Sidecar",
        `${c.name}: ${c.image}${c.ports?.length ? ` (ports ${c.ports.join(", ")})` : ""}`,
      );
    }
    if (s.ports?.length) out += row("Ports", s.ports.join(", "));
    // several repositories: one row each, where it is in the workspace and on which branch
    for (const r of s.repos ?? []) {
      const b = r.git.newBranch ?? r.git.branch;
      out += row(
        "Repo",
        `${s.workdir}/${r.name} <- ${r.git.repo} (${r.readOnly ? "read-only, " : ""}branch ${
          b ?? "<default>"
        })`,
      );
    }
    if (s.git) {
      const g = s.git;
      out += row("Repo", `${g.repo} (auth ${g.auth}${g.sshSecret ? `, Secret ${g.sshSecret}` : ""})`);
      out += row("Branch", v.branch ?? "<none>");
      out += row("Commit", v.commit ?? "<not cloned yet>");
      if (g.image !== s.image) out += row("Git image", g.image);
    }
  }
  const objects: string[][] = [];
  const pod = v.pod;
  if (v.job) {
    objects.push([
      "Job",
      v.job.metadata?.name ?? "",
      jobFinished(v.job) ?? (v.restart ? "Restarting" : "Active"),
      "owns the pod: the cluster brings it back when it moves it",
    ]);
  }
  if (pod) {
    objects.push([
      "Pod",
      pod.metadata?.name ?? "",
      podStatus(pod),
      [pod.spec?.nodeName && `node ${pod.spec.nodeName}`, pod.status?.podIP && `IP ${pod.status.podIP}`]
        .filter(Boolean).join(", "),
    ]);
  } else if (!v.job) {
    objects.push(["Job", namesOf(v).workload, "<none>", "stopped: `kodama resume` recreates it"]);
  }
  for (const c of v.pvcs) {
    objects.push([
      "PersistentVolumeClaim",
      c.metadata?.name ?? "",
      c.status?.phase ?? "Pending",
      [
        c.status?.capacity?.storage ?? c.spec?.resources?.requests?.storage,
        c.spec?.storageClassName && `class ${c.spec.storageClassName}`,
        c.spec?.volumeName && `volume ${c.spec.volumeName}`,
      ].filter(Boolean).join(", "),
    ]);
  }
  if (d.secret) objects.push(["Secret", d.secret.name, "", `${d.secret.keys} keys`]);
  if (d.configMap) objects.push(["ConfigMap", d.configMap.name, "", d.configMap.keys.join(", ")]);
  out += `\nObjects:\n${indent(renderTable(["KIND", "NAME", "STATUS", "DETAIL"], objects))}`;
  if (pod?.status?.conditions?.length) {
    const conds = pod.status.conditions.map((c) => [c.type, c.status, c.reason ?? "", c.message ?? ""]);
    out += `\nConditions:\n${indent(renderTable(["TYPE", "STATUS", "REASON", "MESSAGE"], conds))}`;
  }
  out += `\nEvents:${d.events.length ? "\n" + indent(eventsTable(d.events, now)) : " <none>\n"}`;
  return out;
}

function indent(text: string): string {
  return text.split("\n").map((l) => (l ? `  ${l}` : l)).join("\n");
}

export async function getCommand(
  kube: KubeObjects & KubeIdentity,
  namespace: string,
  name: string,
  format: string,
  out: Sink,
): Promise<number> {
  const d = await describeSession(kube, namespace, name);
  if (format === "json" || format === "yaml") {
    await prepareOutput(format);
    const obj = detailObject(d);
    out.write(
      format === "json" ? JSON.stringify(obj, null, 2) + "\n" : (await import("yaml")).stringify(obj),
    );
  } else out.write(renderDetail(d));
  return ExitCode.OK;
}

/** The picker's preview of a session. */
export function sessionPreview(v: SessionView, now = Date.now()): string[] {
  const row = (k: string, val: string | undefined) => `${k.padEnd(10)} ${val || "-"}`;
  return [
    row("name", v.name),
    row("namespace", v.namespace),
    row("status", `${v.status}${v.reason ? ` (${v.reason})` : ""}`),
    row("age", v.createdAt ? formatAge(v.createdAt, now) : undefined),
    row("image", v.spec?.image),
    row("cpu", v.spec?.cpu),
    row("memory", v.spec?.memory),
    row("node", v.pod?.spec?.nodeName),
    "volumes",
    ...v.pvcs.map((c) =>
      `  ${c.metadata?.name} ${c.status?.phase ?? ""} ${c.status?.capacity?.storage ?? ""}`
    ),
  ];
}

/** The pod's sandbox in one line (docs/security.md "The pod is the sandbox"). */
function sandboxLine(s: SessionSpec): string {
  const sb = s.sandbox!;
  const e = sb.egress;
  const egress = !e
    ? "egress not limited (session.egress.enabled: false)"
    : s.gateway
    ? `egress NetworkPolicy ${namesOf(s).egressPolicy} (only the gateway ${s.gateway.service} and DNS)`
    : `egress NetworkPolicy ${namesOf(s).egressPolicy} (${
      e.allow ? `only ${e.allow.join(", ") || "DNS"}` : "all but link-local"
    }${e.deny.length ? `; denied ${e.deny.join(", ")}` : ""})`;
  return [
    egress,
    sb.token ? "ServiceAccount token mounted" : "no ServiceAccount token",
    sb.runAsUser !== undefined ? `uid ${sb.runAsUser}` : "the image's user",
  ].join("; ");
}
