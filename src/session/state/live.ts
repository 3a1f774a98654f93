/**
 * Sessions as data, live: the list once, then the whole list again each time a session's pod or volume
 * changes (watch-driven, no polling). Every front end uses it: `list -w`, the web UI, MCP; `sessionRow` is
 * one session as a plain object with nothing secret in it.
 */
import type { V1Job, V1PersistentVolumeClaim, V1Pod } from "@kubernetes/client-node";
import type { WatchEventType } from "../../kube/client.ts";
import type { KubeIdentity, KubeObjects } from "../../kube/seam.ts";
import { isRetained, listSessions, observed } from "./cluster.ts";
import { syncColumn } from "../sync/column.ts";
import { LABEL_SESSION, SESSIONS_SELECTOR } from "../spec/names.ts";
import { groupOf, replicaOf, type SessionView, sessionView } from "./status.ts";

/** This machine's sync status files, watched (the SYNC column's source; light: no sync engine). */
export { watchSyncStatus } from "../sync/column.ts";

export interface SessionRow {
  name: string;
  namespace: string;
  status: string;
  reason?: string;
  sync: string;
  branch?: string;
  commit?: string;
  createdAt?: string;
  image?: string;
  cpu?: string;
  memory?: string;
  /** the repository cloned, without any user:password part */
  repo?: string;
  pod?: string;
  node?: string;
  /** names (never values) of the variables in the env Secret */
  envVars: string[];
  /** the group of a replica (`start --replicas`) and its number in it */
  group?: string;
  replica?: number;
}

/** A URL's user-info (`https://user:token@host/…`) is a secret: it never leaves the machine. */
export function withoutUserinfo(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, "$1");
}

export function sessionRow(v: SessionView): SessionRow {
  const s = v.spec;
  return {
    name: v.name,
    namespace: v.namespace,
    status: v.status,
    ...(v.reason ? { reason: v.reason } : {}),
    sync: syncColumn(v.name, v.namespace),
    ...(v.branch ? { branch: v.branch } : {}),
    ...(v.commit ? { commit: v.commit } : {}),
    ...(v.createdAt ? { createdAt: v.createdAt } : {}),
    ...(s?.image ? { image: s.image } : {}),
    ...(s?.cpu ? { cpu: s.cpu } : {}),
    ...(s?.memory ? { memory: s.memory } : {}),
    ...(s?.git?.repo ? { repo: withoutUserinfo(s.git.repo) } : {}),
    ...(v.pod?.metadata?.name ? { pod: v.pod.metadata.name } : {}),
    ...(v.pod?.spec?.nodeName ? { node: v.pod.spec.nodeName } : {}),
    envVars: s?.envVars ?? [],
    ...(groupOf(v) ? { group: groupOf(v), replica: replicaOf(v) } : {}),
  };
}

/**
 * Call `onChange` with every session of `namespace` (undefined: all), then again after each change,
 * until `signal` aborts. Resolves when the watches end.
 */
export async function watchSessionViews(
  kube: KubeObjects & KubeIdentity,
  namespace: string | undefined,
  onChange: (views: SessionView[]) => void,
  signal: AbortSignal,
  /** the list the caller has already read (its resourceVersions start the watches) */
  listed?: Awaited<ReturnType<typeof listSessions>>,
): Promise<void> {
  // the list is shown first; this machine's session files learn what it saw after (a cache: 200 sessions'
  // files read and written before the first page would delay it)
  if (!listed) {
    listed = await listSessions(kube, namespace, { observe: "later" });
    observed(kube, listed.sessions).catch(() => {});
  }
  // every pod of each session (a Job's replacement and the pod it replaces may both be listed): the view
  // picks the live one (sessionpod.ts)
  const pods = new Map<string, Map<string, V1Pod>>();
  const pvcs = new Map<string, Map<string, V1PersistentVolumeClaim>>();
  // each session's Job: while it brings a moved pod back the view says Restarting (status.ts)
  const jobs = new Map<string, V1Job>();
  const key = (ns: string | undefined, name: string) => `${ns ?? ""}/${name}`;
  for (const v of listed.sessions) {
    if (v.pod) pods.set(key(v.namespace, v.name), new Map([[v.pod.metadata?.name ?? "", v.pod]]));
    if (v.job) jobs.set(key(v.namespace, v.name), v.job);
    pvcs.set(key(v.namespace, v.name), new Map(v.pvcs.map((c) => [c.metadata?.name ?? "", c])));
  }
  const views = () => {
    const out: SessionView[] = [];
    for (const k of new Set([...pods.keys(), ...pvcs.keys()])) {
      const live = [...(pvcs.get(k)?.values() ?? [])];
      const its = [...(pods.get(k)?.values() ?? [])];
      if (!its.length && !live.length) continue;
      const i = k.indexOf("/");
      out.push(sessionView(k.slice(i + 1), k.slice(0, i), its, live, { job: jobs.get(k) }));
    }
    return out.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  };
  onChange(listed.sessions);
  const sessionOf = (obj: { metadata?: { namespace?: string; labels?: Record<string, string> } }) =>
    key(obj.metadata?.namespace, obj.metadata?.labels?.[LABEL_SESSION] ?? "");
  const sel = { labelSelector: SESSIONS_SELECTOR };
  await Promise.all([
    kube.watchObjects<V1Pod>(
      "pods",
      namespace,
      sel,
      (type: WatchEventType, p) => {
        const k = sessionOf(p);
        const m = pods.get(k) ?? new Map<string, V1Pod>();
        pods.set(k, m);
        if (type === "DELETED") m.delete(p.metadata?.name ?? "");
        else m.set(p.metadata?.name ?? "", p);
        if (!m.size) pods.delete(k);
        onChange(views());
      },
      { signal, from: listed.podsRv },
    ),
    kube.watchObjects<V1PersistentVolumeClaim>(
      "persistentvolumeclaims",
      namespace,
      sel,
      (type, c) => {
        const k = sessionOf(c);
        const m = pvcs.get(k) ?? new Map();
        pvcs.set(k, m);
        if (type === "DELETED" || isRetained(c)) m.delete(c.metadata?.name ?? "");
        else m.set(c.metadata?.name ?? "", c);
        if (!m.size) pvcs.delete(k);
        onChange(views());
      },
      { signal, from: listed.pvcsRv },
    ),
    // a user who may not read Jobs still watches the rest
    kube.watchObjects<V1Job>("jobs", namespace, sel, (type, j) => {
      const k = sessionOf(j);
      if (type === "DELETED") jobs.delete(k);
      else jobs.set(k, j);
      onChange(views());
    }, { signal }).catch(() => {}),
  ]);
}
