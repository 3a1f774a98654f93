/**
 * Finding sessions in the cluster (the source of truth): by their labels, from any machine.
 * Volumes a deleted session kept (`kodama.dev/retained`) are not a session; they are reported apart.
 */
import type { V1PersistentVolumeClaim, V1Pod } from "@kubernetes/client-node";
import type { KubeIdentity, KubeObjects } from "../../kube/seam.ts";
import { ExitCode, KodamaError } from "../../base/errors.ts";
import {
  LABEL_RETAINED,
  LABEL_SESSION,
  objectNames,
  SESSIONS_SELECTOR,
  sessionSelector,
} from "../spec/names.ts";
import { groupSessions, type SessionView, sessionView } from "./status.ts";
import { namesOf, specOf } from "../spec/spec.ts";
import { observeSessions } from "./state.ts";
import { quote } from "../../base/text/escape.ts";

/** What a command saw goes into this machine's session files (status, branch, commit, updatedAt). */
export function observed(kube: KubeIdentity, views: SessionView[]): Promise<void> {
  return observeSessions({ context: kube.contextName, server: kube.server }, views);
}

export interface Found {
  view?: SessionView;
  /** volumes kept from a deleted session of this name */
  retained: V1PersistentVolumeClaim[];
}

const isRetained = (c: V1PersistentVolumeClaim) => c.metadata?.labels?.[LABEL_RETAINED] !== undefined;

/** One session by name (undefined view when it does not exist). */
export async function findSession(
  kube: KubeObjects & KubeIdentity,
  namespace: string,
  name: string,
  o: { observe?: boolean } = {},
): Promise<Found> {
  const sel = { labelSelector: sessionSelector(name) };
  let pods: V1Pod[], pvcs: V1PersistentVolumeClaim[];
  try {
    [pods, pvcs] = await Promise.all([
      kube.listObjects<V1Pod>("pods", namespace, sel).then((l) => l.items),
      kube.listObjects<V1PersistentVolumeClaim>("persistentvolumeclaims", namespace, sel).then((l) =>
        l.items
      ),
    ]);
  } catch (e) {
    if (!(e instanceof KodamaError && e.code === ExitCode.FORBIDDEN)) throw e;
    // a teammate the session was shared with may not list (RBAC resourceNames never allow it): its objects
    // by their names then
    [pods, pvcs] = await byName(kube, namespace, name);
  }
  const live = pvcs.filter((c) => !isRetained(c));
  const retained = pvcs.filter(isRetained);
  if (!pods.length && !live.length) return { retained };
  const view = sessionView(name, namespace, pods[0], live);
  if (o.observe !== false) await observed(kube, [view]);
  return { view, retained };
}

/**
 * A session's pod and volumes by their names (GETs only): what a user with a share's Role can read. A pod
 * the user may not read is exit 4 naming the session; volumes they may not read are left out.
 */
async function byName(
  kube: KubeObjects & KubeIdentity,
  namespace: string,
  name: string,
): Promise<[V1Pod[], V1PersistentVolumeClaim[]]> {
  const n = objectNames(name);
  const ours = (o: { metadata?: { labels?: Record<string, string> } } | undefined) =>
    o?.metadata?.labels?.[LABEL_SESSION] === name;
  let pod: V1Pod | undefined;
  try {
    pod = await kube.findObject<V1Pod>("pods", namespace, n.pod);
  } catch (e) {
    if (e instanceof KodamaError && e.code === ExitCode.FORBIDDEN) {
      throw new KodamaError(
        `forbidden: cannot reach session ${name} in namespace ${namespace}: you may not list sessions there, nor get its pod ${n.pod}`,
        ExitCode.FORBIDDEN,
        `ask its owner to share it with you: kodama share ${name} --user YOU -n ${namespace}`,
      );
    }
    throw e;
  }
  // the volumes by the names the pod's settings record (a pooled session's are not named after it)
  const v = namesOf(specOf(ours(pod) ? pod : undefined) ?? { name });
  const claims = await Promise.all([v.workspacePVC, v.homePVC].map(async (c) => {
    try {
      return await kube.findObject<V1PersistentVolumeClaim>("persistentvolumeclaims", namespace, c);
    } catch (e) {
      if (e instanceof KodamaError && e.code === ExitCode.FORBIDDEN) return undefined;
      throw e;
    }
  }));
  return [ours(pod) ? [pod!] : [], claims.filter((c): c is V1PersistentVolumeClaim => ours(c))];
}

/** Like findSession, but a missing session is exit 3 (naming kept volumes when there are some). */
export async function requireSession(
  kube: KubeObjects & KubeIdentity,
  namespace: string,
  name: string,
  o: { observe?: boolean } = {},
): Promise<SessionView> {
  const f = await findSession(kube, namespace, name, o);
  if (f.view) return f.view;
  throw notFoundError(name, namespace, f.retained);
}

export function notFoundError(
  name: string,
  namespace: string,
  retained: V1PersistentVolumeClaim[],
): KodamaError {
  return new KodamaError(
    `session ${quote(name)} not found in namespace ${namespace}`,
    ExitCode.NOT_FOUND,
    retained.length
      ? `its volumes were kept (${
        retained.map((c) => c.metadata?.name).join(", ")
      }): \`kodama start ${name}\` reuses them, \`kodama delete ${name} --purge\` removes them`
      : "list sessions with `kodama list` (-A for every namespace)",
  );
}

export interface Listed {
  sessions: SessionView[];
  /** deleted sessions whose volumes were kept (`kodama.dev/retained`), as NAME or NAMESPACE/NAME with -A */
  kept: string[];
  /** the lists' resourceVersions, to watch from */
  podsRv?: string;
  pvcsRv?: string;
}

/** Every session in a namespace (or all namespaces when undefined). */
export async function listSessions(
  kube: KubeObjects & KubeIdentity,
  namespace: string | undefined,
  /** `later`: the caller records what it saw (`observed`) once it has shown it (a live list's first page) */
  o: { observe?: "later" } = {},
): Promise<Listed> {
  const sel = { labelSelector: SESSIONS_SELECTOR };
  const [pods, pvcs] = await Promise.all([
    kube.listObjects<V1Pod>("pods", namespace, sel),
    kube.listObjects<V1PersistentVolumeClaim>("persistentvolumeclaims", namespace, sel),
  ]);
  const sessions = groupSessions(pods.items, pvcs.items.filter((c) => !isRetained(c)));
  if (o.observe !== "later") await observed(kube, sessions);
  const live = new Set(sessions.map((v) => `${v.namespace}/${v.name}`));
  const kept = new Set<string>();
  for (const c of pvcs.items.filter(isRetained)) {
    const name = c.metadata?.labels?.[LABEL_SESSION], ns = c.metadata?.namespace ?? "";
    if (name && !live.has(`${ns}/${name}`)) kept.add(namespace === undefined ? `${ns}/${name}` : name);
  }
  return {
    sessions,
    kept: [...kept].sort(),
    podsRv: pods.resourceVersion,
    pvcsRv: pvcs.resourceVersion,
  };
}

export { isRetained };
