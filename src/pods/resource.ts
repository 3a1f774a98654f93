/**
 * `TYPE/NAME` targets (pure): `deploy/api`, `sts/db`, `ds/agent`, `rs/x`, `job/y`, `svc/api`, `pod/api-0`,
 * `session/NAME`, as kubectl spells them; a workload's label selector as a selector string; and
 * kubectl's choice of one pod among a workload's (attachablePodForObject: the most "active" one).
 */
import type { V1LabelSelector, V1Pod } from "@kubernetes/client-node";
import { usageError } from "../base/errors.ts";
import { escapeControl, quote } from "../base/text/escape.ts";

export type ResourceKind =
  | "pod"
  | "service"
  | "deployment"
  | "statefulset"
  | "daemonset"
  | "replicaset"
  | "job"
  | "session";

/** A `TYPE/NAME` target; `selector` is the object's pod selector once resolved. */
export interface ResourceRef {
  kind: ResourceKind;
  name: string;
  selector?: string;
}

const ALIASES: Record<string, ResourceKind> = {
  po: "pod",
  pod: "pod",
  pods: "pod",
  svc: "service",
  service: "service",
  services: "service",
  deploy: "deployment",
  deployment: "deployment",
  deployments: "deployment",
  sts: "statefulset",
  statefulset: "statefulset",
  statefulsets: "statefulset",
  ds: "daemonset",
  daemonset: "daemonset",
  daemonsets: "daemonset",
  rs: "replicaset",
  replicaset: "replicaset",
  replicasets: "replicaset",
  job: "job",
  jobs: "job",
  session: "session",
  sessions: "session",
};

/** The API group each kind lives in (for `deployment.apps/x`). */
const GROUP: Record<ResourceKind, string> = {
  pod: "",
  service: "",
  deployment: "apps",
  statefulset: "apps",
  daemonset: "apps",
  replicaset: "apps",
  job: "batch",
  session: "",
};

export const TARGET_TYPES = "pod, svc, deploy, sts, ds, rs, job, session";

/** The workload kinds whose pods come from `spec.selector` (a metav1.LabelSelector). */
export function isWorkloadKind(
  k: ResourceKind,
): k is "deployment" | "statefulset" | "daemonset" | "replicaset" | "job" {
  return ["deployment", "statefulset", "daemonset", "replicaset", "job"].includes(k);
}

/** Is `word` a target type (`deploy`, `svc`, `sts`…)? */
export function isTargetType(word: string): boolean {
  return Object.hasOwn(ALIASES, word.replace(/\.(apps|batch)$/, ""));
}

/** Short spelling for messages and prefixes: `deploy/api`. */
export function refString(r: { kind: ResourceKind; name: string }): string {
  const short: Record<ResourceKind, string> = {
    pod: "pod",
    service: "svc",
    deployment: "deploy",
    statefulset: "sts",
    daemonset: "ds",
    replicaset: "rs",
    job: "job",
    session: "session",
  };
  return `${short[r.kind]}/${r.name}`;
}

/**
 * Parse `TYPE/NAME` (also `TYPE.GROUP/NAME`, e.g. `deployment.apps/api`). Returns undefined for anything
 * that is not shaped like it (a bare name, a path such as `./x` or `/tmp/y`); a known shape with an
 * unknown type or a bad name is a usage error.
 */
export function parseTargetArg(arg: string): ResourceRef | undefined {
  const m = /^([a-z][a-z0-9]*)(?:\.([a-z0-9.-]+))?\/([^/]*)$/.exec(arg);
  if (!m) return undefined;
  const [, type, group, name] = m;
  const kind = ALIASES[type];
  if (!kind) {
    throw usageError(
      `unknown resource type ${quote(type)} in ${escapeControl(arg)}`,
      `targets are TYPE/NAME with TYPE one of ${TARGET_TYPES}`,
    );
  }
  if (group !== undefined && group !== GROUP[kind]) {
    throw usageError(
      `unknown resource type "${type}.${group}" in ${escapeControl(arg)}`,
      `did you mean ${type}/${name}?`,
    );
  }
  if (!name || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name) || name.length > 253) {
    throw usageError(
      `invalid name ${JSON.stringify(name)} in ${escapeControl(arg)}`,
      "a name is lowercase letters, digits, '-' and '.', starting and ending with a letter or digit",
    );
  }
  return { kind, name };
}

/** A Service's `spec.selector` map as a selector string (`a=b,c=d`, keys sorted). */
export function mapSelector(sel: Record<string, string> | undefined): string {
  return Object.entries(sel ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) =>
    `${k}=${v}`
  )
    .join(",");
}

/** A metav1.LabelSelector as a selector string (`app=api,tier in (a,b),!legacy`); "" when it is empty. */
export function labelSelectorString(sel: V1LabelSelector | undefined): string {
  const parts = mapSelector(sel?.matchLabels) ? [mapSelector(sel?.matchLabels)] : [];
  for (const e of sel?.matchExpressions ?? []) {
    const vs = [...(e.values ?? [])].sort().join(",");
    switch (e.operator) {
      case "In":
        parts.push(`${e.key} in (${vs})`);
        break;
      case "NotIn":
        parts.push(`${e.key} notin (${vs})`);
        break;
      case "Exists":
        parts.push(e.key);
        break;
      case "DoesNotExist":
        parts.push(`!${e.key}`);
        break;
      default:
        throw usageError(`unsupported selector operator ${quote(e.operator)} on key ${e.key}`);
    }
  }
  return parts.join(",");
}

/** The labels every kodama session pod carries (see DESIGN.md: state lives on the cluster). */
export function sessionSelector(name: string): string {
  return `app.kubernetes.io/managed-by=kodama,kodama.dev/session=${name}`;
}

/** Join selector strings, skipping empty ones. */
export function joinSelectors(...s: (string | undefined)[]): string | undefined {
  const parts = s.filter((x): x is string => !!x);
  return parts.length ? parts.join(",") : undefined;
}

function isReady(p: V1Pod): boolean {
  return p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

function readyTime(p: V1Pod): number {
  const c = p.status?.conditions?.find((c) => c.type === "Ready" && c.status === "True");
  return c?.lastTransitionTime ? new Date(c.lastTransitionTime as unknown as string).getTime() : 0;
}

function maxRestarts(p: V1Pod): number {
  return Math.max(0, ...(p.status?.containerStatuses ?? []).map((c) => c.restartCount ?? 0));
}

function created(p: V1Pod): number {
  const t = p.metadata?.creationTimestamp;
  return t ? new Date(t as unknown as string).getTime() : 0;
}

const PHASE_ORDER: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

/**
 * kubectl's order for "which pod to attach to": the reverse of controller.ActivePods — assigned before
 * unassigned, Running before Unknown before Pending, ready before not ready, ready longer before ready
 * for less time, fewer restarts first, older first. Negative when `a` is the better pod.
 */
export function compareAttachable(a: V1Pod, b: V1Pod): number {
  const na = a.spec?.nodeName ?? "", nb = b.spec?.nodeName ?? "";
  if (na !== nb && (!na || !nb)) return na ? -1 : 1;
  const pa = PHASE_ORDER[a.status?.phase ?? ""] ?? 0, pb = PHASE_ORDER[b.status?.phase ?? ""] ?? 0;
  if (pa !== pb) return pb - pa;
  const ra = isReady(a), rb = isReady(b);
  if (ra !== rb) return ra ? -1 : 1;
  if (ra && rb) {
    const ta = readyTime(a), tb = readyTime(b);
    // a zero time counts as the latest (afterOrZero)
    if (ta !== tb) return (ta === 0 ? Infinity : ta) - (tb === 0 ? Infinity : tb);
  }
  const xa = maxRestarts(a), xb = maxRestarts(b);
  if (xa !== xb) return xa - xb;
  const ca = created(a), cb = created(b);
  if (ca !== cb) return (ca === 0 ? Infinity : ca) - (cb === 0 ? Infinity : cb);
  return 0;
}

/** The pod kubectl would exec into / port-forward to for a workload (stable: ties keep the list order). */
export function attachablePod(pods: V1Pod[]): V1Pod | undefined {
  return [...pods].sort(compareAttachable)[0];
}

/**
 * A positional target: `TYPE/NAME` (deploy/api, svc/web, pod/x, session/y) or a bare pod NAME, as
 * kubectl takes them.
 */
export function parseTarget(arg: string | undefined): ResourceRef | undefined {
  if (arg === undefined || arg === "") return undefined;
  const r = parseTargetArg(arg);
  if (r) return r;
  if (/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(arg)) return { kind: "pod", name: arg };
  throw usageError(
    `cannot read ${JSON.stringify(arg)} as a target`,
    `give TYPE/NAME (TYPE: ${TARGET_TYPES}) or a pod name; -m matches part of a name`,
  );
}
