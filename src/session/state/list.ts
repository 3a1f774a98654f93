/**
 * `kodama list`: sessions from the cluster (any machine sees the same), as a table, `-o wide|json|
 * yaml|name`, and `-w` (a row per change, like `kodama pods -w`). Local state files whose session is
 * gone are mentioned on stderr (`kodama session prune` removes them), and so are deleted sessions whose
 * volumes were kept.
 */
import type { KubeIdentity, KubeObjects } from "../../kube/seam.ts";
import { ExitCode } from "../../base/errors.ts";
import { withInterrupt } from "../../base/proc/proc.ts";
import {
  type Columns,
  type OutputFormat,
  parseOutputFormat,
  prepareOutput,
  renderList,
} from "../../ui/output.ts";
import type { Sink } from "../../base/sink.ts";
import { formatAge, renderTable } from "../../ui/table.ts";
import { safeLine } from "../../ui/color.ts";
import { GrowingTable, sortKeys } from "../../pods/watch.ts";
import { listSessions } from "./cluster.ts";
import { listStates, observeSessions, type SessionState } from "./state.ts";
import { syncColumn } from "../sync/column.ts";
import { groupOf, jobFinished, replicaOf, type SessionView, sessionView } from "./status.ts";
import { isLegacyPod, isLive, legacyNote } from "./sessionpod.ts";
import { usageText } from "../spec/gateway.ts";
import { restartText } from "./disruption.ts";

export { restartText };

/** The SYNC column: this machine's background sync of the session (Active, Inactive or Error). */
export function syncState(v: SessionView): string {
  return syncColumn(v.name, v.namespace);
}

/** STATUS as the table shows it: a session that stopped itself says why and when (`Stopped (idle, 5m ago)`). */
export function statusText(v: SessionView, now = Date.now()): string {
  if (v.restart) return restartText(v.restart, now);
  if (v.status !== "Stopped" || !v.stoppedAt || !v.reason) return v.status;
  return `${v.status} (${v.reason}, ${formatAge(v.stoppedAt, now)} ago)`;
}

/** EXPIRES: `in 3h`, `expired 2h ago`, or `<none>` (`start --ttl`). */
export function expiresText(v: SessionView, now = Date.now()): string {
  const at = v.spec?.expiresAt;
  if (!at) return "<none>";
  const t = Date.parse(at);
  if (Number.isNaN(t)) return "<unknown>";
  return t <= now
    ? `expired ${formatAge(at, now)} ago`
    : `in ${formatAge(new Date(now - (t - now)).toISOString(), now)}`;
}

/** Sessions whose `--ttl` has passed. */
export function expiredSessions(views: SessionView[], now = Date.now()): SessionView[] {
  return views.filter((v) => v.spec?.expiresAt && Date.parse(v.spec.expiresAt) <= now);
}

/** READY: ready containers / containers of the session's pod (the session container and its sidecars). */
export function readyColumn(v: SessionView): string {
  const total = v.pod?.spec?.containers?.length;
  if (!v.pod || !total) return "-";
  const ready = (v.pod.status?.containerStatuses ?? []).filter((c) => c.ready).length;
  return `${ready}/${total}`;
}

/** Each container of the session's pod with its state: `session (ready), db (waiting: ImagePullBackOff)`. */
export function containerStates(v: SessionView): { name: string; ready: boolean; state: string }[] {
  const statuses = new Map((v.pod?.status?.containerStatuses ?? []).map((c) => [c.name, c]));
  return (v.pod?.spec?.containers ?? []).map((c) => {
    const st = statuses.get(c.name);
    const state = st?.ready
      ? "ready"
      : st?.state?.waiting
      ? `waiting: ${st.state.waiting.reason ?? "?"}`
      : st?.state?.terminated
      ? `terminated: ${st.state.terminated.reason ?? `exit ${st.state.terminated.exitCode}`}`
      : st?.state?.running
      ? "running, not ready"
      : "not started";
    return { name: c.name, ready: !!st?.ready, state };
  });
}

/**
 * The columns; with `grouped` (some session is a replica of `start --replicas`) a GROUP column follows
 * NAME. Watch keys skip the BRANCH column by its index (`branchIndex`).
 */
export function sessionColumns(
  now = Date.now(),
  grouped = false,
  /** some session has an agent run's outcome recorded: an AGENT column before AGE */
  agents = false,
  /** some session has the gateway's figures: a USAGE column (`12.3k tok $0.41`) before AGE */
  usage = false,
): { table: Columns<SessionView>; wide: Columns<SessionView> } {
  const base = (v: SessionView) => [
    v.name,
    ...(grouped ? [groupOf(v) ?? "<none>"] : []),
    v.namespace,
    statusText(v, now),
    syncState(v),
    v.branch ?? "<none>",
    readyColumn(v),
    v.spec?.owner ?? "<unknown>",
    ...(agents ? [v.agentOutcome ? `run ${v.agentRun} ${safeLine(v.agentOutcome).slice(0, 60)}` : "-"] : []),
    ...(usage ? [usageText(v.gatewayFigures)] : []),
    formatAge(v.createdAt, now),
  ];
  const headers = [
    "NAME",
    ...(grouped ? ["GROUP"] : []),
    "NAMESPACE",
    "STATUS",
    "SYNC",
    "BRANCH",
    "READY",
    "OWNER",
    ...(agents ? ["AGENT"] : []),
    ...(usage ? ["USAGE"] : []),
    "AGE",
  ];
  return {
    table: { headers, row: base },
    wide: {
      headers: [...headers, "EXPIRES", "IMAGE", "CPU", "MEMORY", "NODE"],
      row: (v) => [
        ...base(v),
        expiresText(v, now),
        v.spec?.image ?? "<unknown>",
        v.spec?.cpu ?? "<unknown>",
        v.spec?.memory ?? "<unknown>",
        v.pod?.spec?.nodeName ?? "<none>",
      ],
    },
  };
}

/** A session as one object (`-o json|yaml`): settings in `spec`, what the cluster shows in `status`. */
export function sessionObject(v: SessionView, deleted = false): Record<string, unknown> {
  const { v: _v, name: _n, namespace: _ns, createdAt: _c, ...spec } = v.spec ??
    ({} as Record<string, unknown>);
  return {
    apiVersion: "kodama.dev/v1",
    kind: "Session",
    metadata: {
      name: v.name,
      namespace: v.namespace,
      ...(v.createdAt ? { creationTimestamp: v.createdAt } : {}),
    },
    spec,
    status: {
      phase: deleted ? "Deleted" : v.status,
      ...(groupOf(v) ? { group: groupOf(v), replica: replicaOf(v) } : {}),
      ...(v.reason ? { reason: v.reason } : {}),
      ...(v.stoppedAt ? { stoppedAt: v.stoppedAt } : {}),
      // the cluster is bringing the pod back (issue 80): why, when it said, and since when
      ...(v.restart ? { restarting: v.restart } : {}),
      ...(v.job ? { job: { name: v.job.metadata?.name, state: jobState(v) } } : {}),
      ...(v.pod && isLegacyPod(v.pod) && isLive(v.pod) ? { legacyPod: true } : {}),
      sync: syncState(v),
      ...(v.pod ? { containers: containerStates(v) } : {}),
      ...(v.branch ? { branch: v.branch } : {}),
      ...(v.commit ? { commit: v.commit } : {}),
      // several repositories: each one's directory and session branch
      ...(v.spec?.repos?.length
        ? {
          repositories: v.spec.repos.map((r) => ({
            name: r.name,
            path: `${v.spec!.workdir}/${r.name}`,
            readOnly: !!r.readOnly,
            ...((r.git.newBranch ?? r.git.branch) ? { branch: r.git.newBranch ?? r.git.branch } : {}),
          })),
        }
        : {}),
      ...(v.agentOutcome ? { agentOutcome: v.agentOutcome } : {}),
      // the gateway's figures once read (`list`): null without a gateway or when it could not be read
      ...(v.gatewayFigures !== undefined ? { gateway: v.gatewayFigures } : {}),
      ...(v.pod
        ? {
          pod: {
            name: v.pod.metadata?.name,
            phase: v.pod.status?.phase,
            ...(v.pod.spec?.nodeName ? { node: v.pod.spec.nodeName } : {}),
            ...(v.pod.status?.podIP ? { podIP: v.pod.status.podIP } : {}),
          },
        }
        : {}),
      volumes: v.pvcs.map((c) => ({
        name: c.metadata?.name,
        phase: c.status?.phase ?? "Pending",
        size: c.status?.capacity?.storage ?? c.spec?.resources?.requests?.storage,
        ...(c.spec?.storageClassName ? { storageClass: c.spec.storageClassName } : {}),
      })),
    },
  };
}

/** The Job's state for `-o json`: Complete, Failed, Restarting, or Active. */
function jobState(v: SessionView): string {
  return jobFinished(v.job) ??
    (v.job?.metadata?.deletionTimestamp ? "Terminating" : v.restart ? "Restarting" : "Active");
}

/** Replicas of a group listed together, under the group's name, in replica order; the rest by name. */
export function groupedOrder(views: SessionView[]): SessionView[] {
  const key = (v: SessionView) => groupOf(v) ?? v.name;
  return [...views].sort((a, b) =>
    a.namespace.localeCompare(b.namespace) || key(a).localeCompare(key(b)) ||
    (groupOf(a) ? 1 : 0) - (groupOf(b) ? 1 : 0) || replicaOf(a) - replicaOf(b) ||
    a.name.localeCompare(b.name)
  );
}

export function renderSessions(views: SessionView[], format: OutputFormat, now?: number): string {
  const grouped = views.some((v) => groupOf(v));
  if (grouped) views = groupedOrder(views);
  switch (format) {
    case "json":
    case "yaml":
      return renderList(views.map((v) => sessionObject(v)), format);
    case "name":
      return views.map((v) => `session/${v.name}\n`).join("");
    default: {
      const agents = views.some((v) => v.agentOutcome);
      const usage = views.some((v) => v.gatewayFigures);
      const c = sessionColumns(now, grouped, agents, usage)[format === "wide" ? "wide" : "table"];
      return renderTable(c.headers, views.map((v) => c.row(v)));
    }
  }
}

/** State files for sessions that are gone, among those this listing could see. */
export async function staleStates(
  kube: KubeIdentity,
  namespace: string | undefined,
  sessions: SessionView[],
): Promise<SessionState[]> {
  const seen = new Set(sessions.map((v) => `${v.namespace}/${v.name}`));
  return (await listStates()).filter((s) =>
    s.context === kube.contextName && s.server === kube.server &&
    (namespace === undefined || s.namespace === namespace) && !seen.has(`${s.namespace}/${s.name}`)
  );
}

export interface ListOptions {
  watch?: boolean;
  out: Sink;
  err: Sink;
  /** stop when aborted (tests); otherwise SIGINT ends a watch with 130 */
  signal?: AbortSignal;
  /** fill in what the listing alone cannot know (the agent floor: outcomes of runs nobody read yet) */
  complete?: (views: SessionView[]) => Promise<void>;
}

export async function listCommand(
  kube: KubeObjects & KubeIdentity,
  namespace: string | undefined,
  format: string,
  o: ListOptions,
): Promise<number> {
  const fmt = parseOutputFormat(format);
  await prepareOutput(fmt);
  const listed = await listSessions(kube, namespace);
  if (o.watch) return await watchSessions(kube, namespace, fmt, listed, o);
  if (fmt !== "name") await o.complete?.(listed.sessions).catch(() => {});
  if (fmt === "table" || fmt === "wide") {
    if (listed.sessions.length === 0) {
      o.err.write(`No sessions found${namespace === undefined ? "" : ` in ${namespace} namespace`}.\n`);
    } else o.out.write(renderSessions(listed.sessions, fmt));
  } else o.out.write(renderSessions(listed.sessions, fmt));
  const expired = expiredSessions(listed.sessions);
  if (expired.length) {
    o.err.write(
      `warning: ${expired.length} session${expired.length === 1 ? " has" : "s have"} expired (${
        expired.map((v) => v.name).join(", ")
      }): \`kodama gc\` deletes ${expired.length === 1 ? "it" : "them"} (\`--dry-run\` lists)\n`,
    );
  }
  // a running bare pod from an older kodama: nothing brings it back if the cluster takes it (issue 80)
  for (const v of listed.sessions.filter((v) => v.pod && isLegacyPod(v.pod) && isLive(v.pod))) {
    o.err.write(`note: ${legacyNote(v.name)}\n`);
  }
  const stale = await staleStates(kube, namespace, listed.sessions).catch(() => []);
  if (stale.length) {
    o.err.write(
      `note: ${stale.length} local session file${
        stale.length === 1 ? " has" : "s have"
      } no session in the cluster (${
        stale.map((s) => s.name).join(", ")
      }); \`kodama session prune\` removes ${stale.length === 1 ? "it" : "them"}\n`,
    );
  }
  if (listed.kept.length) {
    // volumes a delete kept are no session, but they hold work and storage: never out of sight
    const one = listed.kept.length === 1;
    o.err.write(
      `note: ${listed.kept.length} deleted session${one ? "" : "s"} kept ${one ? "its" : "their"} volumes (${
        listed.kept.join(", ")
      }): \`kodama start NAME\` reuses them, \`kodama delete NAME --purge\` removes them\n`,
    );
  }
  return ExitCode.OK;
}

/** `list -w`: the list, then a row (or object) each time a session's row changes, until Ctrl-C. */
async function watchSessions(
  kube: KubeObjects & KubeIdentity,
  namespace: string | undefined,
  fmt: OutputFormat,
  listed: Awaited<ReturnType<typeof listSessions>>,
  o: ListOptions,
): Promise<number> {
  const key = (v: SessionView) => `${v.namespace}/${v.name}`;
  const grouped = listed.sessions.some((v) => groupOf(v));
  const cols = sessionColumns(Date.now(), grouped)[fmt === "wide" ? "wide" : "table"];
  // BRANCH (recorded later) and READY (it moves with STATUS, which says it) print no row of their own
  const branchAt = cols.headers.indexOf("BRANCH");
  const statusAt = cols.headers.indexOf("STATUS");
  const table = new GrowingTable(cols.headers);
  const last = new Map<string, string>();
  const { stringify } = fmt === "yaml" ? await import("yaml") : { stringify: undefined };
  let docs = 0;
  const print = (v: SessionView, deleted: boolean) => {
    if (fmt === "table" || fmt === "wide") {
      const row = cols.row(v);
      if (deleted) row[statusAt] = "Deleted";
      return table.render([row]);
    }
    if (fmt === "name") return `session/${v.name}\n`;
    const obj = sortKeys(sessionObject(v, deleted));
    return fmt === "json" ? JSON.stringify(obj, null, 4) + "\n" : (docs++ ? "---\n" : "") + stringify!(obj);
  };
  const sig = (v: SessionView) =>
    JSON.stringify(cols.row(v).filter((_, i) => i !== branchAt && i !== branchAt + 1));
  const initial = grouped ? groupedOrder(listed.sessions) : listed.sessions;
  for (const v of initial) last.set(key(v), sig(v));
  if (fmt === "table" || fmt === "wide") {
    if (initial.length) o.out.write(table.render(initial.map((v) => cols.row(v))));
  } else for (const v of initial) o.out.write(print(v, false));

  /** Each change: a row for every session whose row changed, and one for every session that is gone. */
  const changed = (views: SessionView[]) => {
    const now = new Set<string>();
    for (const v of views) {
      const k = key(v);
      now.add(k);
      const s = sig(v);
      if (last.get(k) === s) continue;
      last.set(k, s);
      void observeSessions({ context: kube.contextName, server: kube.server }, [v]);
      o.out.write(print(v, false));
    }
    for (const k of [...last.keys()]) {
      if (now.has(k)) continue;
      last.delete(k);
      const i = k.indexOf("/");
      o.out.write(print(sessionView(k.slice(i + 1), k.slice(0, i), undefined, []), true));
    }
  };

  // the same watch as the web UI and MCP (src/session/state/live.ts); a caller's signal (tests) replaces Ctrl-C
  const { watchSessionViews } = await import("./live.ts");
  return await withInterrupt(async (signal, it) => {
    let first = true;
    await watchSessionViews(
      kube,
      namespace,
      (views) => {
        // the first call is the list printed above
        if (first) first = false;
        else changed(views);
      },
      signal,
      listed,
    );
    return it.interrupted ? ExitCode.INTERRUPTED : ExitCode.OK;
  }, { signal: o.signal, signals: o.signal ? [] : ["SIGINT"] });
}
