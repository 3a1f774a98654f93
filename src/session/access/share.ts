/**
 * `kodama share NAME --user U | --group G | --serviceaccount NS:NAME [--read-only]`, `kodama unshare`, and
 * the share listing: a Role and a RoleBinding per subject, named after the session and the subject,
 * labelled with the session (so `delete` removes them), whose rules name only the session's own objects
 * (`resourceNames`): its pod (get; exec, attach, port-forward, logs), its Job (get) and its volumes (get).
 * `--read-only` leaves get and logs. The Secrets are never granted: a teammate's attach, exec and logs do
 * not read them.
 *
 * A session's pod belongs to its Job (issue 80), and the cluster names it (`kodama-NAME-x7k2p`), anew each
 * time it replaces it. RBAC names pods only by name, so a share grants the pod of the moment, and records
 * that name on the workspace volume (ANNOTATION_SHARED_POD), where a teammate, who may not list pods, reads
 * it. A command of the owner (or anyone who may update the Roles) that finds the session on another pod
 * renews the Roles and the record (`renewShares`, called by state/cluster.ts); until then a teammate is
 * told in one line that the pod was replaced and how it is renewed.
 *
 * Kubernetes refuses a Role granting what its writer does not hold (RBAC escalation check), so only a user
 * who may exec into the session can share it; the API server's message says what was missing.
 */
import { ExitCode, KodamaError, usageError } from "../../base/errors.ts";
import type { Sink } from "../../base/sink.ts";
import {
  ANNOTATION_SHARED_POD,
  LABEL_MANAGED_BY,
  LABEL_SESSION,
  LABEL_VOLUME,
  MANAGED_BY,
  objectNames,
  sessionSelector,
} from "../spec/names.ts";
import type { KubeIdentity, KubeObjects } from "../../kube/seam.ts";
import { isLegacyPod, isLive } from "../state/sessionpod.ts";
import { requireSession } from "../state/cluster.ts";
import { quote } from "../../base/text/escape.ts";

export const RBAC_API = "rbac.authorization.k8s.io/v1";
/** On a share's Role and RoleBinding: the subject's kind (user, group, serviceaccount). */
export const LABEL_SHARE = "kodama.dev/share";
/** The subject, exactly (JSON `{kind, name, namespace?}`): label values cannot hold every user name. */
export const ANNOTATION_SUBJECT = "kodama.dev/share-subject";
/** `full` or `read-only`. */
export const ANNOTATION_ACCESS = "kodama.dev/share-access";

export type SubjectKind = "User" | "Group" | "ServiceAccount";

export interface Subject {
  kind: SubjectKind;
  name: string;
  /** a ServiceAccount's namespace */
  namespace?: string;
}

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

const SHORT: Record<SubjectKind, string> = { User: "user", Group: "group", ServiceAccount: "serviceaccount" };

/** The subject from `--user`, `--group`, `--serviceaccount NS:NAME` (exactly one; exit 2 otherwise). */
export function subjectFrom(
  f: { user?: string; group?: string; serviceaccount?: string },
  command: string,
): Subject | undefined {
  const given = [
    f.user !== undefined && "--user",
    f.group !== undefined && "--group",
    f.serviceaccount !== undefined && "--serviceaccount",
  ].filter(Boolean);
  if (given.length > 1) {
    throw usageError(`${given.join(" and ")} cannot be used together`, `one subject per ${command}`);
  }
  if (f.user !== undefined) return { kind: "User", name: nonEmpty(f.user, "--user") };
  if (f.group !== undefined) return { kind: "Group", name: nonEmpty(f.group, "--group") };
  if (f.serviceaccount !== undefined) {
    const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?):([a-z0-9]([-.a-z0-9]*[a-z0-9])?)$/.exec(f.serviceaccount);
    if (!m) {
      throw usageError(
        `invalid --serviceaccount ${quote(f.serviceaccount)}: expected NAMESPACE:NAME`,
        "e.g. --serviceaccount ci:deployer",
      );
    }
    return { kind: "ServiceAccount", namespace: m[1], name: m[3] };
  }
  return undefined;
}

function nonEmpty(v: string, flag: string): string {
  if (!v.trim()) throw usageError(`${flag} needs a name`);
  return v;
}

/** How a subject reads: `user alice`, `group team-a`, `serviceaccount ci:deployer`. */
export function subjectText(s: Subject): string {
  return `${SHORT[s.kind]} ${s.namespace ? `${s.namespace}:` : ""}${s.name}`;
}

/** FNV-1a, 32 bits, as 8 hex digits: a short stable tag of the exact subject. */
function hash(s: string): string {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(s)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h.toString(16).padStart(8, "0");
}

/**
 * The Role's and RoleBinding's name: `kodama-share-SESSION-KIND-SLUG-HASH`. The slug keeps the name
 * readable (lowercase letters, digits, '-'); the hash of the exact subject keeps `Alice` and `alice`, or
 * `a.b` and `a-b`, apart. Pure.
 */
export function shareObjectName(session: string, s: Subject): string {
  const exact = `${s.kind}:${s.namespace ?? ""}:${s.name}`;
  const slug = `${s.namespace ? `${s.namespace}-` : ""}${s.name}`.toLowerCase().replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "").slice(0, 40).replace(/-+$/, "");
  const kind = { User: "u", Group: "g", ServiceAccount: "sa" }[s.kind];
  return `kodama-share-${session}-${kind}-${slug ? `${slug}-` : ""}${hash(exact)}`;
}

/**
 * The rules a share grants, each limited to the session's objects by name. Full: get the pod; exec, attach
 * and port-forward into it (get and create: a WebSocket stream is a GET, authorized as `get` by servers
 * before 1.31 and as `create` after); its logs; get its volumes. Read-only: get the pod, its logs, its
 * volumes. Pure.
 */
export function shareRules(
  names: { pod?: string; job?: string; pvcs: string[] },
  readOnly: boolean,
): PolicyRule[] {
  // never an empty resourceNames (that would be every pod): a stopped session's share names no pod until
  // the session runs again (renewShares)
  const pod = names.pod ? [names.pod] : [];
  const rules: PolicyRule[] = pod.length
    ? [{ apiGroups: [""], resources: ["pods", "pods/log"], verbs: ["get"], resourceNames: pod }]
    : [];
  if (names.job) {
    rules.push({ apiGroups: ["batch"], resources: ["jobs"], verbs: ["get"], resourceNames: [names.job] });
  }
  if (!readOnly && pod.length) {
    rules.push({
      apiGroups: [""],
      resources: ["pods/exec", "pods/attach", "pods/portforward"],
      verbs: ["get", "create"],
      resourceNames: pod,
    });
  }
  if (names.pvcs.length) {
    rules.push({
      apiGroups: [""],
      resources: ["persistentvolumeclaims"],
      verbs: ["get"],
      resourceNames: [...names.pvcs].sort(),
    });
  }
  return rules;
}

interface Meta {
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  creationTimestamp?: string;
}
interface RoleObject {
  apiVersion?: string;
  kind?: string;
  metadata?: Meta;
  rules?: PolicyRule[];
}
interface BindingObject {
  apiVersion?: string;
  kind?: string;
  metadata?: Meta;
  roleRef?: { apiGroup: string; kind: string; name: string };
  subjects?: { kind: string; name: string; namespace?: string; apiGroup?: string }[];
}

/** The Role and RoleBinding of one share. Pure. */
export function shareObjects(
  session: string,
  namespace: string,
  subject: Subject,
  rules: PolicyRule[],
  readOnly: boolean,
): { role: RoleObject; binding: BindingObject } {
  const name = shareObjectName(session, subject);
  const metadata = (): Meta => ({
    name,
    namespace,
    labels: { [LABEL_MANAGED_BY]: MANAGED_BY, [LABEL_SESSION]: session, [LABEL_SHARE]: SHORT[subject.kind] },
    annotations: {
      [ANNOTATION_SUBJECT]: JSON.stringify(subject),
      [ANNOTATION_ACCESS]: readOnly ? "read-only" : "full",
    },
  });
  return {
    role: { apiVersion: RBAC_API, kind: "Role", metadata: metadata(), rules },
    binding: {
      apiVersion: RBAC_API,
      kind: "RoleBinding",
      metadata: metadata(),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
      subjects: [
        subject.kind === "ServiceAccount"
          ? { kind: "ServiceAccount", name: subject.name, namespace: subject.namespace }
          : { kind: subject.kind, name: subject.name, apiGroup: "rbac.authorization.k8s.io" },
      ],
    },
  };
}

export interface Share {
  subject: Subject;
  access: "full" | "read-only";
  role: string;
  createdAt?: string;
}

const shareSelector = (session: string) => `${sessionSelector(session)},${LABEL_SHARE}`;

/** The shares of a session, from its Roles (sorted by subject). */
export async function listShares(kube: KubeObjects, namespace: string, session: string): Promise<Share[]> {
  const { items } = await kube.listObjects<RoleObject>("roles", namespace, {
    labelSelector: shareSelector(session),
  });
  const out: Share[] = [];
  for (const r of items) {
    const a = r.metadata?.annotations ?? {};
    let subject: Subject;
    try {
      subject = JSON.parse(a[ANNOTATION_SUBJECT] ?? "");
    } catch {
      continue; // not one kodama wrote
    }
    out.push({
      subject,
      access: a[ANNOTATION_ACCESS] === "read-only" ? "read-only" : "full",
      role: r.metadata?.name ?? "",
      createdAt: r.metadata?.creationTimestamp,
    });
  }
  return out.sort((x, y) => subjectText(x.subject).localeCompare(subjectText(y.subject)));
}

/** Create or update an object kodama owns (an object of that name kodama did not make is left alone). */
async function put<T extends { metadata?: Meta }>(
  kube: KubeObjects,
  resource: "roles" | "rolebindings",
  namespace: string,
  obj: T,
  patch: Partial<T>,
): Promise<"created" | "updated"> {
  const name = obj.metadata!.name!;
  const found = await kube.findObject<T>(resource, namespace, name);
  if (!found) {
    await kube.createObject(resource, namespace, obj);
    return "created";
  }
  if (found.metadata?.labels?.[LABEL_MANAGED_BY] !== MANAGED_BY) {
    throw new KodamaError(
      `${
        resource === "roles" ? "role" : "rolebinding"
      } ${name} exists in namespace ${namespace} and kodama did not make it`,
      ExitCode.FAILED,
      "rename or delete it, then share again",
    );
  }
  await kube.patchObject(resource, namespace, name, { metadata: obj.metadata, ...patch });
  return "updated";
}

export interface ShareOptions {
  readOnly?: boolean;
  out: Sink;
  err: Sink;
}

/** `kodama share NAME --user U`: create (or change) the subject's Role and RoleBinding. */
export async function shareSession(
  kube: KubeObjects & KubeIdentity,
  namespace: string,
  session: string,
  subject: Subject,
  o: ShareOptions,
): Promise<number> {
  const v = await requireSession(kube, namespace, session);
  const n = objectNames(session);
  const pvcs = [...new Set([n.workspacePVC, n.homePVC, ...v.pvcs.map((c) => c.metadata!.name!)])];
  const readOnly = !!o.readOnly;
  // the pod of the moment (a legacy session's bare pod is `kodama-NAME`); a stopped session's: none yet
  const pod = v.pod && (isLive(v.pod) || isLegacyPod(v.pod)) ? v.pod.metadata?.name : undefined;
  const { role, binding } = shareObjects(
    session,
    namespace,
    subject,
    shareRules({ pod, job: n.workload, pvcs }, readOnly),
    readOnly,
  );
  // the Role first: a binding to a missing Role grants nothing (and the API server checks its rules then)
  let what: "created" | "updated";
  try {
    what = await put(kube, "roles", namespace, role, { rules: role.rules });
  } catch (e) {
    throw escalation(e, readOnly) ?? e;
  }
  await put(kube, "rolebindings", namespace, binding, { subjects: binding.subjects });
  // every share of the session names this pod from now on, and the workspace records it for the teammate
  // (a stopped session: the record is empty, and the first command that finds it running renews the shares)
  await renewShares(kube, namespace, session, pod, v.pvcs);
  const access = readOnly ? "read-only (get, logs)" : "attach, exec, port-forward, logs";
  o.out.write(
    `session/${session} shared with ${subjectText(subject)}: ${access}${
      what === "updated" ? " (updated)" : ""
    }\n`,
  );
  o.err.write(
    `role and rolebinding ${role.metadata!.name} in namespace ${namespace}; they reach it with: ` +
      `kodama attach ${session} -n ${namespace}${
        readOnly ? `   (read-only: kodama logs ${pod ?? `session/${session}`} -n ${namespace})` : ""
      }\n`,
  );
  return ExitCode.OK;
}

/**
 * Renew the session's shares to name `pod` (the session's pod now): each share Role's rules are made again
 * for it (its access and volumes as they were), then the workspace volume records the pod
 * (ANNOTATION_SHARED_POD). Returns how many Roles changed. Throws what the API server refuses.
 */
export async function renewShares(
  kube: KubeObjects,
  namespace: string,
  session: string,
  pod: string | undefined,
  pvcs: { metadata?: { name?: string } }[],
): Promise<number> {
  const { items } = await kube.listObjects<RoleObject>("roles", namespace, {
    labelSelector: shareSelector(session),
  });
  const n = objectNames(session);
  let changed = 0;
  for (const r of items) {
    if (r.metadata?.labels?.[LABEL_MANAGED_BY] !== MANAGED_BY) continue;
    const readOnly = r.metadata?.annotations?.[ANNOTATION_ACCESS] === "read-only";
    const claims = r.rules?.find((x) => x.resources.includes("persistentvolumeclaims"))?.resourceNames ?? [];
    const rules = shareRules({ pod, job: n.workload, pvcs: claims }, readOnly);
    if (JSON.stringify(rules) === JSON.stringify(r.rules)) continue;
    await kube.patchObject("roles", namespace, r.metadata!.name!, { rules });
    changed++;
  }
  const ws =
    pvcs.find((c) =>
      (c as { metadata?: { labels?: Record<string, string> } }).metadata?.labels?.[LABEL_VOLUME] ===
        "workspace"
    ) ?? pvcs.find((c) => c.metadata?.name === n.workspacePVC);
  const claim = ws?.metadata?.name ?? n.workspacePVC;
  await kube.patchObject("persistentvolumeclaims", namespace, claim, {
    metadata: { annotations: { [ANNOTATION_SHARED_POD]: pod ?? "" } },
  });
  return changed;
}

/**
 * The API server's escalation refusal ("attempting to grant RBAC permissions not currently held", one line
 * per missing rule) as one line naming what is missing, with what to do.
 */
function escalation(e: unknown, readOnly: boolean): KodamaError | undefined {
  if (!(e instanceof KodamaError) || e.code !== ExitCode.FORBIDDEN) return undefined;
  const m = /attempting to grant RBAC permissions not currently held:\s*([\s\S]*)$/.exec(e.message);
  if (!m) return undefined;
  const missing = [...m[1].matchAll(/Resources:\[([^\]]*)\][^{}]*?Verbs:\[([^\]]*)\]/g)]
    .map(([, r, v]) => `${v.replace(/"/g, "").replace(/ /g, ",")} ${r.replace(/"/g, "").replace(/ /g, ",")}`);
  return new KodamaError(
    `forbidden: you can only share rights you hold yourself; you lack: ${missing.join("; ") || m[1].trim()}`,
    ExitCode.FORBIDDEN,
    readOnly
      ? "ask for a Role with get on the session's pod, its log and its volumes"
      : "ask for those rights (examples/rbac.yaml has them), or share --read-only",
  );
}

/** `kodama unshare NAME --user U | --all`: delete the binding (access ends at once), then the Role. */
export async function unshareSession(
  kube: KubeObjects & KubeIdentity,
  namespace: string,
  session: string,
  subject: Subject | "all",
  o: { out: Sink; err: Sink },
): Promise<number> {
  const shares = await listShares(kube, namespace, session);
  const chosen = subject === "all"
    ? shares
    : shares.filter((s) => shareObjectName(session, s.subject) === shareObjectName(session, subject));
  if (!chosen.length) {
    if (subject === "all") {
      await requireSession(kube, namespace, session); // exit 3 for a session that does not exist
      o.err.write(`session/${session} is not shared\n`);
      return ExitCode.OK;
    }
    throw new KodamaError(
      `session ${session} is not shared with ${subjectText(subject)} in namespace ${namespace}`,
      ExitCode.NOT_FOUND,
      `see its shares: kodama share ${session}`,
    );
  }
  await removeShares(kube, namespace, chosen.map((s) => s.role));
  for (const s of chosen) o.out.write(`session/${session} unshared from ${subjectText(s.subject)}\n`);
  return ExitCode.OK;
}

async function removeShares(kube: KubeObjects, namespace: string, names: string[]): Promise<void> {
  for (const name of names) {
    await kube.deleteObject("rolebindings", namespace, name);
    await kube.deleteObject("roles", namespace, name);
  }
}

/** Every share object of a session (its RoleBindings and Roles), for `delete`. Returns what went. */
export async function deleteShares(kube: KubeObjects, namespace: string, session: string): Promise<string[]> {
  const sel = { labelSelector: shareSelector(session) };
  const [bindings, roles] = await Promise.all([
    kube.listObjects<BindingObject>("rolebindings", namespace, sel),
    kube.listObjects<RoleObject>("roles", namespace, sel),
  ]);
  const gone: string[] = [];
  for (const b of bindings.items) {
    if (await kube.deleteObject("rolebindings", namespace, b.metadata!.name!)) {
      gone.push(`rolebinding/${b.metadata!.name}`);
    }
  }
  for (const r of roles.items) {
    if (await kube.deleteObject("roles", namespace, r.metadata!.name!)) gone.push(`role/${r.metadata!.name}`);
  }
  return gone;
}

/** `kodama share NAME` (no subject): the session's shares as a table or JSON. */
export async function printShares(
  kube: KubeObjects & KubeIdentity,
  namespace: string,
  session: string,
  output: string,
  out: Sink,
): Promise<number> {
  const shares = await listShares(kube, namespace, session);
  if (!shares.length) await requireSession(kube, namespace, session);
  if (output === "json") {
    out.write(JSON.stringify(shares.map((s) => ({ ...s, namespace, session })), null, 2) + "\n");
    return ExitCode.OK;
  }
  if (!shares.length) {
    out.write(`session/${session} is not shared (kodama share ${session} --user NAME)\n`);
    return ExitCode.OK;
  }
  const { formatAge, renderTable } = await import("../../ui/table.ts");
  out.write(
    renderTable(
      ["SUBJECT", "KIND", "ACCESS", "ROLE", "AGE"],
      shares.map((s) => [
        `${s.subject.namespace ? `${s.subject.namespace}:` : ""}${s.subject.name}`,
        s.subject.kind,
        s.access,
        s.role,
        formatAge(s.createdAt),
      ]),
    ),
  );
  return ExitCode.OK;
}
