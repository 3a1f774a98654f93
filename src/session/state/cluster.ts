/**
 * Finding sessions in the cluster (the source of truth): by their labels, from any machine.
 * Volumes a deleted session kept (`kodama.dev/retained`) are not a session; they are reported apart.
 */
import type { CoreV1Event, V1Job, V1PersistentVolumeClaim, V1Pod } from "@kubernetes/client-node";
import type { KubeIdentity, KubeObjects } from "../../kube/seam.ts";
import { ExitCode, KodamaError } from "../../base/errors.ts";
import {
  ANNOTATION_SHARED_POD,
  LABEL_RETAINED,
  LABEL_SESSION,
  objectNames,
  SESSIONS_SELECTOR,
  sessionSelector,
} from "../spec/names.ts";
import { groupSessions, jobActive, type SessionView, sessionView } from "./status.ts";
import { namesOf, specOf } from "../spec/spec.ts";
import { observeSessions } from "./state.ts";
import { isLive, sessionPod } from "./sessionpod.ts";
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

/** The session Jobs of a namespace; a user who may not read Jobs sees none (their sessions still list). */
async function listJobs(
  kube: KubeObjects,
  namespace: string | undefined,
  labelSelector: string,
): Promise<V1Job[]> {
  try {
    return (await kube.listObjects<V1Job>("jobs", namespace, { labelSelector })).items;
  } catch (e) {
    if (e instanceof KodamaError && (e.code === ExitCode.FORBIDDEN || e.code === ExitCode.NOT_FOUND)) {
      return [];
    }
    throw e;
  }
}

/**
 * The pod events of the namespaces where a session's pod is coming back (the cause of `Restarting: evicted
 * 8s ago`): read only then, so a `list` of sessions at rest costs no more requests.
 */
async function restartEvents(kube: KubeObjects, views: SessionView[]): Promise<CoreV1Event[] | undefined> {
  const namespaces = [...new Set(views.filter(mayBeRestarting).map((v) => v.namespace))];
  if (!namespaces.length) return undefined;
  const lists = await Promise.all(
    namespaces.map((ns) =>
      kube.listObjects<CoreV1Event>("events", ns, { fieldSelector: "involvedObject.kind=Pod" })
        .then((l) => l.items, () => [] as CoreV1Event[])
    ),
  );
  return lists.flat();
}

/**
 * Whether only the events can tell if the session's pod is coming back: seen restarting already, or its Job
 * at work with a pod still starting, or with no pod at all (the old one gone from the API, its replacement
 * not made yet), whose predecessor may be gone already (a `kubectl delete --wait`, an eviction): only the
 * Killing event it left says a pod was there. A young Job's Job status says nothing of an evicted pod (the
 * podFailurePolicy ignores it), so without the events it would look like a Job making its first pod.
 */
function mayBeRestarting(v: SessionView): boolean {
  return !!v.restart ||
    (jobActive(v.job) && (!v.pod || v.status === "Pending" || v.status === "Starting"));
}

/** One session by name (undefined view when it does not exist). */
export async function findSession(
  kube: KubeObjects & KubeIdentity,
  namespace: string,
  name: string,
  o: { observe?: boolean } = {},
): Promise<Found> {
  const sel = { labelSelector: sessionSelector(name) };
  let pods: V1Pod[], pvcs: V1PersistentVolumeClaim[], job: V1Job | undefined;
  try {
    let jobs: V1Job[];
    [pods, pvcs, jobs] = await Promise.all([
      kube.listObjects<V1Pod>("pods", namespace, sel).then((l) => l.items),
      kube.listObjects<V1PersistentVolumeClaim>("persistentvolumeclaims", namespace, sel).then((l) =>
        l.items
      ),
      listJobs(kube, namespace, sel.labelSelector),
    ]);
    job = jobs.find((j) => j.metadata?.name === objectNames(name).workload);
  } catch (e) {
    if (!(e instanceof KodamaError && e.code === ExitCode.FORBIDDEN)) throw e;
    // a teammate the session was shared with may not list (RBAC resourceNames never allow it): its objects
    // by their names then
    [pods, pvcs, job] = await byName(kube, namespace, name);
  }
  const live = pvcs.filter((c) => !isRetained(c));
  const retained = pvcs.filter(isRetained);
  if (!pods.length && !live.length) return { retained };
  let view = sessionView(name, namespace, pods, live, { job });
  const events = await restartEvents(kube, [view]);
  if (events) view = sessionView(name, namespace, pods, live, { job, events });
  await renewShared(kube, [view]);
  if (o.observe !== false) await observed(kube, [view]);
  return { view, retained };
}

/**
 * A session's pod and volumes by their names (GETs only): what a user with a share's Role can read. Its Job
 * (get, by name) gives the settings and whether it runs; its workspace volume names the pod its shares
 * grant (ANNOTATION_SHARED_POD: a Job's pods are named by the cluster, and a teammate cannot list them);
 * a legacy session's bare pod is `kodama-NAME`. A pod the user may not read is exit 4 naming the session,
 * and so is a share that names a pod the cluster has since replaced; volumes they may not read are left out.
 */
async function byName(
  kube: KubeObjects & KubeIdentity,
  namespace: string,
  name: string,
): Promise<[V1Pod[], V1PersistentVolumeClaim[], V1Job | undefined]> {
  const n = objectNames(name);
  const ours = (o: { metadata?: { labels?: Record<string, string> } } | undefined) =>
    o?.metadata?.labels?.[LABEL_SESSION] === name;
  const found = await kube.findObject<V1Job>("jobs", namespace, n.workload).catch(() => undefined);
  const job = ours(found) ? found : undefined;
  // the volumes by the names the settings record (a pooled session's are not named after it)
  const v = namesOf(specOf(job) ?? { name });
  const claims = (await Promise.all([v.workspacePVC, v.homePVC].map(async (c) => {
    try {
      return await kube.findObject<V1PersistentVolumeClaim>("persistentvolumeclaims", namespace, c);
    } catch (e) {
      if (e instanceof KodamaError && e.code === ExitCode.FORBIDDEN) return undefined;
      throw e;
    }
  }))).filter((c): c is V1PersistentVolumeClaim => ours(c));
  const shared = claims.find((c) => c.metadata?.name === v.workspacePVC)?.metadata?.annotations
    ?.[ANNOTATION_SHARED_POD];
  const podName = shared ?? (job ? undefined : n.workload);
  const replaced = () =>
    new KodamaError(
      `forbidden: cannot reach session ${name} in namespace ${namespace}: its pod was replaced (the cluster moved it) and your share still names the old one`,
      ExitCode.FORBIDDEN,
      `its owner's next kodama command renews your access (or they run: kodama share ${name} -n ${namespace})`,
    );
  let pod: V1Pod | undefined;
  try {
    pod = podName ? await kube.findObject<V1Pod>("pods", namespace, podName) : undefined;
  } catch (e) {
    if (e instanceof KodamaError && e.code === ExitCode.FORBIDDEN) {
      if (job && shared) throw replaced();
      throw new KodamaError(
        `forbidden: cannot reach session ${name} in namespace ${namespace}: you may not list sessions there, nor get its pod ${
          podName ?? n.workload
        }`,
        ExitCode.FORBIDDEN,
        `ask its owner to share it with you: kodama share ${name} --user YOU -n ${namespace}`,
      );
    }
    throw e;
  }
  // the Job runs, the pod the share names is gone: replaced since (said, not "stopped")
  if (job && jobActive(job) && shared && !ours(pod)) throw replaced();
  if (!job && !ours(pod) && !claims.length) {
    // nothing the user may read: not found, or not theirs to see
    return [[], [], undefined];
  }
  return [ours(pod) ? [pod!] : [], claims, job];
}

/**
 * A shared session found on a pod its shares do not name (the cluster replaced it, or it was resumed): the
 * shares' Roles are renewed to name it (best effort: a user who may not update them changes nothing).
 */
async function renewShared(kube: KubeObjects, views: SessionView[]): Promise<void> {
  for (const v of views) {
    const ws = v.pvcs.find((c) => c.metadata?.name === namesOf(v.spec ?? { name: v.name }).workspacePVC);
    const shared = ws?.metadata?.annotations?.[ANNOTATION_SHARED_POD];
    const pod = v.pod?.metadata?.name;
    if (shared === undefined || !v.pod || !pod || !isLive(v.pod) || shared === pod) continue;
    await (await import("../access/share.ts")).renewShares(kube, v.namespace, v.name, pod, v.pvcs)
      .catch(() => {});
  }
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
  const [pods, pvcs, jobs] = await Promise.all([
    kube.listObjects<V1Pod>("pods", namespace, sel),
    kube.listObjects<V1PersistentVolumeClaim>("persistentvolumeclaims", namespace, sel),
    listJobs(kube, namespace, SESSIONS_SELECTOR),
  ]);
  const claims = pvcs.items.filter((c) => !isRetained(c));
  let sessions = groupSessions(pods.items, claims, { jobs });
  const events = await restartEvents(kube, sessions);
  if (events) sessions = groupSessions(pods.items, claims, { jobs, events });
  await renewShared(kube, sessions);
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

/**
 * The session's pod now (issue 80: its name is the Job's generated one): its pods by the session's labels,
 * the live one, else the newest (./sessionpod.ts). A user who may not list pods (a share) finds it by the
 * names the session's Job and shares record. Undefined when it has none.
 */
export async function findSessionPod(
  kube: KubeObjects & KubeIdentity,
  namespace: string,
  name: string,
): Promise<V1Pod | undefined> {
  try {
    const { items } = await kube.listObjects<V1Pod>("pods", namespace, {
      labelSelector: sessionSelector(name),
    });
    return sessionPod(items);
  } catch (e) {
    if (!(e instanceof KodamaError && e.code === ExitCode.FORBIDDEN)) throw e;
    return (await byName(kube, namespace, name))[0][0];
  }
}

/** Like findSessionPod, but none is exit 1 naming the session (`what`: what needed it). */
export async function requireSessionPod(
  kube: KubeObjects & KubeIdentity,
  namespace: string,
  name: string,
): Promise<V1Pod> {
  const pod = await findSessionPod(kube, namespace, name);
  if (pod) return pod;
  throw new KodamaError(
    `session ${name} has no pod in namespace ${namespace}`,
    ExitCode.FAILED,
    `\`kodama resume ${name}\` brings it back`,
  );
}
