/**
 * Pod targeting shared by every pod command: namespace / all namespaces, name substrings (all must
 * match), a regex, label and field selectors, an exact pod name, a `TYPE/NAME` object whose selector
 * picks the pods (deploy/api, svc/web, session/x), and the Running-only filter.
 */
import type { V1Pod, V1Service } from "@kubernetes/client-node";
import { type PodQuery, type Resource, type Workload, WORKLOAD_APIS } from "../kube/resources.ts";
import type { KubeObjects, KubePods } from "../kube/seam.ts";
import { ExitCode, KodamaError, notFound, usageError } from "../base/errors.ts";
import { suggest } from "../base/text/suggest.ts";
import {
  isWorkloadKind,
  joinSelectors,
  labelSelectorString,
  mapSelector,
  refString,
  type ResourceRef,
  sessionSelector,
} from "./resource.ts";
import { quote } from "../base/text/escape.ts";
import { checkNamespace } from "../base/text/k8sname.ts";

export interface TargetFlags {
  namespace?: string;
  allNamespaces?: boolean;
  match?: string[];
  regex?: string;
  selector?: string;
  fieldSelector?: string;
  pod?: string;
  container?: string;
  /** false = keep only Running pods (exec); true/undefined = every pod (listing). */
  includeNotReady?: boolean;
  /** `deploy/api`, `svc/web`, `pod/x`, `session/y`: its selector picks the pods (resolveTarget) */
  resource?: ResourceRef;
}

export function compileRegex(re: string | undefined): RegExp | undefined {
  if (!re) return undefined;
  try {
    return new RegExp(re);
  } catch (e) {
    throw usageError(`invalid --regex ${JSON.stringify(re)}: ${(e as Error).message}`);
  }
}

/** Pure name filter: every substring must occur and the regex (if any) must match. */
export function nameMatches(name: string, match: string[] | undefined, regex: RegExp | undefined): boolean {
  if (match) { for (const m of match) if (!name.includes(m)) return false; }
  return regex ? regex.test(name) : true;
}

export function podKey(p: V1Pod): string {
  return `${p.metadata?.namespace ?? ""}/${p.metadata?.name ?? ""}`;
}

export function sortPods(pods: V1Pod[]): V1Pod[] {
  return pods.sort((a, b) => podKey(a) < podKey(b) ? -1 : podKey(a) > podKey(b) ? 1 : 0);
}

export function isRunning(p: V1Pod): boolean {
  return p.status?.phase === "Running" && !p.metadata?.deletionTimestamp;
}

/** Pure filtering step of findPods, separated for unit tests. */
export function filterPods(pods: V1Pod[], t: TargetFlags): V1Pod[] {
  const regex = compileRegex(t.regex);
  return sortPods(pods.filter((p) => {
    const name = p.metadata?.name ?? "";
    if (t.pod && name !== t.pod) return false;
    if (!nameMatches(name, t.match, regex)) return false;
    if (t.includeNotReady === false && !isRunning(p)) return false;
    return true;
  }));
}

/** The field selector sent to the API server: --field-selector plus `metadata.name=` for --pod. */
export function fieldSelectorWith(t: TargetFlags): string | undefined {
  const parts = [t.fieldSelector, t.pod ? `metadata.name=${t.pod}` : undefined].filter(Boolean);
  return parts.length ? parts.join(",") : undefined;
}

/** The namespace a target resolves to (undefined = all namespaces). */
export function targetNamespace(kube: { readonly namespace: string }, t: TargetFlags): string | undefined {
  return t.allNamespaces ? undefined : (t.namespace ?? kube.namespace);
}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Reject names the API server would reject, before any request, with the rule spelled out. */
export function validateTarget(t: TargetFlags): void {
  if (t.namespace !== undefined) checkNamespace(t.namespace);
  if (t.pod !== undefined && (!DNS1123_SUBDOMAIN.test(t.pod) || t.pod.length > 253)) {
    throw usageError(
      `invalid pod name ${JSON.stringify(t.pod)}`,
      "a pod name is lowercase letters, digits, '-' and '.', starts and ends with a letter or digit",
    );
  }
  compileRegex(t.regex);
  if (t.resource && t.allNamespaces) {
    throw usageError(
      `-A cannot be used with ${refString(t.resource)}`,
      "a TYPE/NAME target lives in one namespace: give it with -n",
    );
  }
}

/** A `TYPE/NAME` that does not exist: the error names the closest existing name of that kind, if any. */
async function withDidYouMean<T>(
  kube: KubeObjects,
  resource: Resource,
  namespace: string,
  r: ResourceRef,
  get: () => Promise<T>,
): Promise<T> {
  try {
    return await get();
  } catch (e) {
    if (!(e instanceof KodamaError) || e.code !== ExitCode.NOT_FOUND) throw e;
    const names = await kube.listObjects<{ metadata?: { name?: string } }>(resource, namespace)
      .then((l) => l.items.map((i) => i.metadata?.name ?? "")).catch(() => []);
    const close = suggest(r.name, names);
    if (!close) throw e;
    throw new KodamaError(`${e.message}; did you mean ${refString({ ...r, name: close })}?`, e.code, e.hint);
  }
}

/**
 * Turn a `TYPE/NAME` target into plain flags: its pod selector is added to --selector (pod/NAME becomes
 * --pod), read from the object once (a Deployment's, a Service's); flags without one pass through.
 * Exit 3 when the object does not exist; a Service without a selector is exit 3 too.
 */
export async function resolveTarget(kube: KubeObjects, t: TargetFlags): Promise<TargetFlags> {
  const r = t.resource;
  if (!r || r.selector !== undefined || (r.kind === "pod" && t.pod === r.name)) return t;
  validateTarget(t);
  const namespace = t.namespace ?? kube.namespace;
  let selector: string;
  if (r.kind === "pod") {
    if (t.pod && t.pod !== r.name) throw usageError(`give either pod/${r.name} or --pod ${t.pod}, not both`);
    return { ...t, pod: r.name };
  } else if (r.kind === "session") {
    selector = sessionSelector(r.name);
  } else if (r.kind === "service") {
    const svc = await withDidYouMean(
      kube,
      "services",
      namespace,
      r,
      () => kube.getObject<V1Service>("services", namespace, r.name),
    );
    selector = mapSelector(svc.spec?.selector);
    if (!selector) {
      throw notFound(
        `service ${r.name} in namespace ${namespace} has no selector, so it picks no pods`,
        "target its pods directly (pod/NAME, -l)",
      );
    }
  } else if (isWorkloadKind(r.kind)) {
    const res = WORKLOAD_APIS[r.kind].resource;
    const w = await withDidYouMean(
      kube,
      res,
      namespace,
      r,
      () => kube.getObject<Workload>(res, namespace, r.name),
    );
    selector = labelSelectorString(w.spec?.selector);
    if (!selector) throw notFound(`${refString(r)} in namespace ${namespace} has an empty selector`);
  } else {
    throw usageError(`cannot target ${refString(r)}`);
  }
  return { ...t, namespace, resource: { ...r, selector }, selector: joinSelectors(selector, t.selector) };
}

/**
 * Where findPods gets a namespace's pods (undefined: every namespace) for the selectors: the API server
 * by default; a caller holding a watch-backed cache (the MCP server) passes its own. Undefined: it cannot
 * serve this one (e.g. the user may get a pod but not list them), and findPods asks the API server as usual.
 */
export type PodLister = (
  namespace: string | undefined,
  q: { labelSelector?: string; fieldSelector?: string },
) => Promise<V1Pod[] | undefined>;

/** List and filter pods for a target; sorted by namespace/name. Never throws for "nothing matched". */
export async function findPods(
  kube: KubeObjects & KubePods,
  target: TargetFlags,
  list?: PodLister,
): Promise<V1Pod[]> {
  const read = async (ns: string | undefined, q: PodQuery) => ({ items: await kube.listPods(ns, q) });
  return (await readPods(kube, target, read, list)).pods;
}

/**
 * findPods plus the resourceVersion its read saw (the list's; for one named pod, that pod's, as `kubectl
 * wait` watches from): a watch started from it misses no event that came after the read, a DELETED
 * included (a watch without one replays only the pods still there).
 */
export function findPodsAt(
  kube: KubeObjects & KubePods,
  target: TargetFlags,
): Promise<{ pods: V1Pod[]; resourceVersion?: string }> {
  return readPods(kube, target, (ns, q) => kube.listPodsAt(ns, q));
}

async function readPods(
  kube: KubeObjects & KubePods,
  target: TargetFlags,
  read: (namespace: string | undefined, q: PodQuery) => Promise<{ items: V1Pod[]; resourceVersion?: string }>,
  list?: PodLister,
): Promise<{ pods: V1Pod[]; resourceVersion?: string }> {
  validateTarget(target); // fail fast on bad names or a bad regex, before any request
  const t = await resolveTarget(kube, target);
  const namespace = targetNamespace(kube, t);
  if (list) {
    const pods = await list(namespace, { labelSelector: t.selector, fieldSelector: fieldSelectorWith(t) });
    if (pods) return { pods: filterPods(pods, t) };
  }
  if (t.pod !== undefined && namespace !== undefined && !t.selector && !t.fieldSelector) {
    // one named pod: GET it, as kubectl does — the `get` right kubectl exec needs (not `list`), and the
    // API server's cheapest read (a list, even narrowed to one name, filters the namespace's pods)
    const pod = await kube.findObject<V1Pod>("pods", namespace, t.pod);
    return { pods: filterPods(pod ? [pod] : [], t), resourceVersion: pod?.metadata?.resourceVersion };
  }
  const { items, resourceVersion } = await read(namespace, {
    labelSelector: t.selector,
    fieldSelector: fieldSelectorWith(t),
  });
  return { pods: filterPods(items, t), resourceVersion };
}

/** "namespace prod, name contains api, label app=api" — for messages. */
export function describeTarget(t: TargetFlags, defaultNamespace?: string): string {
  const parts: string[] = [];
  parts.push(
    t.allNamespaces ? "all namespaces" : `namespace ${t.namespace ?? defaultNamespace ?? "default"}`,
  );
  if (t.resource && t.resource.kind !== "pod") parts.push(refString(t.resource));
  if (t.pod) parts.push(`pod ${t.pod}`);
  // an empty substring filters nothing (an empty `match:` param): not worth a `name contains ""`
  const match = t.match?.filter((m) => m !== "");
  if (match?.length) parts.push(`name contains ${match.map((m) => JSON.stringify(m)).join(" and ")}`);
  if (t.regex) parts.push(`name matches /${t.regex}/`);
  if (t.selector) parts.push(`labels ${t.selector}`);
  if (t.fieldSelector) parts.push(`fields ${t.fieldSelector}`);
  if (t.includeNotReady === false) parts.push("Running only");
  return parts.join(", ");
}

/**
 * Nothing matched: when the namespace looked in does not exist, say that (as `kodama pods -n X` and kubectl
 * do), else "no pods matched" with the target described.
 */
export async function nothingMatchedIn(kube: KubePods, t: TargetFlags, hint?: string): Promise<KodamaError> {
  const ns = t.allNamespaces ? undefined : t.namespace ?? kube.namespace;
  if (ns !== undefined && !(await kube.namespaceExists(ns).catch(() => true))) {
    return notFound(`namespaces ${quote(ns)} not found`, "list namespaces with `kubectl get namespaces`");
  }
  return nothingMatched(t, kube.namespace, hint);
}

/** Throw exit 3 with the target described, for "nothing matched". */
export function nothingMatched(t: TargetFlags, defaultNamespace?: string, hint?: string): KodamaError {
  if (
    t.pod !== undefined && !t.allNamespaces && !t.match?.some((m) => m !== "") && !t.regex && !t.selector &&
    !t.fieldSelector && (!t.resource || t.resource.kind === "pod") && t.includeNotReady !== false
  ) {
    // one pod, named: not found, as kubectl says it, with the namespace it looked in
    const ns = t.namespace ?? defaultNamespace ?? "default";
    return notFound(
      `pod ${t.pod} not found in namespace ${ns}`,
      hint ?? `list the namespace's pods with \`kodama pods -n ${ns}\`; -A looks in every namespace`,
    );
  }
  return notFound(
    `no pods matched (${describeTarget(t, defaultNamespace)})`,
    hint ??
      (t.includeNotReady === false
        ? `check the filters with \`kodama pods${
          t.resource ? ` ${refString(t.resource)}` : ""
        }\`; add --include-not-ready to consider pods that are not Running`
        : "check the namespace (-n, -A) and filters (-m, -l)"),
  );
}

/** Container choice: the flag, else the default-container annotation, else the first container. */
export function chooseContainer(pod: V1Pod, name?: string): string {
  const containers = pod.spec?.containers?.map((c) => c.name) ?? [];
  const podName = pod.metadata?.name ?? "?";
  if (name) {
    if (containers.includes(name)) return name;
    const init = pod.spec?.initContainers?.map((c) => c.name) ?? [];
    if (init.includes(name)) return name;
    throw new KodamaError(
      `container ${quote(name)} not found in pod ${podName}`,
      ExitCode.NOT_FOUND,
      `containers: ${containers.join(", ") || "none"}`,
    );
  }
  const annotated = pod.metadata?.annotations?.["kubectl.kubernetes.io/default-container"];
  if (annotated && containers.includes(annotated)) return annotated;
  if (!containers.length) throw new KodamaError(`pod ${podName} has no containers`, ExitCode.FAILED);
  return containers[0];
}
