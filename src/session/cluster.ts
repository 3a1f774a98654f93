/**
 * Finding sessions in the cluster (the source of truth): by their labels, from any machine.
 * Volumes a deleted session kept (`kodama.dev/retained`) are not a session; they are reported apart.
 */
import type { V1PersistentVolumeClaim, V1Pod } from "@kubernetes/client-node";
import type { Kube } from "../kube/client.ts";
import { ExitCode, KodamaError } from "../errors.ts";
import { LABEL_RETAINED, SESSIONS_SELECTOR, sessionSelector } from "./names.ts";
import { groupSessions, type SessionView, sessionView } from "./status.ts";
import { observeSessions } from "./state.ts";

/** What a command saw goes into this machine's session files (status, branch, commit, updatedAt). */
function observed(kube: Kube, views: SessionView[]): Promise<void> {
  return observeSessions({ context: kube.contextName, server: kube.server }, views);
}

export interface Found {
  view?: SessionView;
  /** volumes kept from a deleted session of this name */
  retained: V1PersistentVolumeClaim[];
}

const isRetained = (c: V1PersistentVolumeClaim) => c.metadata?.labels?.[LABEL_RETAINED] !== undefined;

/** One session by name (undefined view when it does not exist). */
export async function findSession(kube: Kube, namespace: string, name: string): Promise<Found> {
  const sel = { labelSelector: sessionSelector(name) };
  const [pods, pvcs] = await Promise.all([
    kube.listObjects<V1Pod>("pods", namespace, sel),
    kube.listObjects<V1PersistentVolumeClaim>("persistentvolumeclaims", namespace, sel),
  ]);
  const live = pvcs.items.filter((c) => !isRetained(c));
  const retained = pvcs.items.filter(isRetained);
  if (!pods.items.length && !live.length) return { retained };
  const view = sessionView(name, namespace, pods.items[0], live);
  await observed(kube, [view]);
  return { view, retained };
}

/** Like findSession, but a missing session is exit 3 (naming kept volumes when there are some). */
export async function requireSession(kube: Kube, namespace: string, name: string): Promise<SessionView> {
  const f = await findSession(kube, namespace, name);
  if (f.view) return f.view;
  throw notFoundError(name, namespace, f.retained);
}

export function notFoundError(
  name: string,
  namespace: string,
  retained: V1PersistentVolumeClaim[],
): KodamaError {
  return new KodamaError(
    `session "${name}" not found in namespace ${namespace}`,
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
  /** the lists' resourceVersions, to watch from */
  podsRv?: string;
  pvcsRv?: string;
}

/** Every session in a namespace (or all namespaces when undefined). */
export async function listSessions(kube: Kube, namespace: string | undefined): Promise<Listed> {
  const sel = { labelSelector: SESSIONS_SELECTOR };
  const [pods, pvcs] = await Promise.all([
    kube.listObjects<V1Pod>("pods", namespace, sel),
    kube.listObjects<V1PersistentVolumeClaim>("persistentvolumeclaims", namespace, sel),
  ]);
  const sessions = groupSessions(pods.items, pvcs.items.filter((c) => !isRetained(c)));
  await observed(kube, sessions);
  return {
    sessions,
    podsRv: pods.resourceVersion,
    pvcsRv: pvcs.resourceVersion,
  };
}

export { isRetained };
