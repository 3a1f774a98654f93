/**
 * Where completion candidates come from: the kubeconfig (contexts, clusters, users), the cluster (namespaces,
 * pods, containers, labels, workloads, sessions — each one list call), workflow files (names, params) and
 * the config schema (keys, values). No command-line knowledge here: src/cli/complete.ts decides what is
 * being completed and calls one of these under a deadline.
 */
import type { Kube } from "../kube/client.ts";
import type { KubeObjects, KubePods } from "../kube/seam.ts";
import type { ListKind, ObjectSummary } from "../kube/resources.ts";
import {
  existingKubeconfigFiles,
  type KubeOptions,
  mergeKubeConfigs,
  parseKubeConfig,
} from "../kube/config.ts";
import { withFullYaml } from "../kube/kubeconfig.ts";
import { readTextBoundedSync } from "../base/fs/boundedread.ts";
import type { V1Pod } from "@kubernetes/client-node";

export interface Candidate {
  value: string;
  description?: string;
}

/** The kubeconfig's entries without connecting (a broken current context must not hide the others). */
export async function kubeconfigEntries(
  o: KubeOptions,
  what: "contexts" | "clusters" | "users",
): Promise<Candidate[]> {
  const files = existingKubeconfigFiles(o);
  const kc = await withFullYaml(() =>
    mergeKubeConfigs(
      files.map((f) =>
        parseKubeConfig(readTextBoundedSync(f, { what: "kubeconfig", kind: "kubeconfig" }), f)
      ),
    )
  );
  if (what === "contexts") {
    // "current" first: shells show it, and the VS Code extension's status bar reads it
    return kc.contexts.map((c) => ({
      value: c.name,
      description: `${c.name === kc.currentContext ? "current, " : ""}cluster ${c.cluster}, user ${c.user}${
        c.namespace ? `, namespace ${c.namespace}` : ""
      }`,
    }));
  }
  if (what === "clusters") return kc.clusters.map((c) => ({ value: c.name, description: c.server }));
  return kc.users.map((u) => ({ value: u.name }));
}

/** Namespaces; when listing them is forbidden, the namespaces the kubeconfig's contexts name. */
export async function namespaces(kube: Pick<Kube, "listSummaries">, o: KubeOptions): Promise<Candidate[]> {
  try {
    const list = await kube.listSummaries("namespaces", undefined);
    return list.map((n) => ({ value: n.name }));
  } catch {
    const kc = await kubeconfigEntries(o, "contexts");
    return kc.flatMap((c) => {
      const m = /namespace (\S+)$/.exec(c.description ?? "");
      return m ? [{ value: m[1] }] : [];
    });
  }
}

function podDescription(p: ObjectSummary, withNamespace: boolean): string {
  return [withNamespace ? p.namespace : undefined, p.phase].filter(Boolean).join(", ");
}

/** Pods of a namespace (all namespaces when undefined), with their phase. */
export async function pods(
  kube: Pick<Kube, "listSummaries">,
  namespace: string | undefined,
  labelSelector?: string,
): Promise<Candidate[]> {
  const list = await kube.listSummaries("pods", namespace, { labelSelector });
  return list.map((p) => ({ value: p.name, description: podDescription(p, namespace === undefined) }));
}

/** Containers (then init containers) of one pod, or of every pod a selector matches. */
export async function containers(
  kube: KubeObjects & KubePods,
  namespace: string,
  pod: { name?: string; labelSelector?: string; match?: string[] },
): Promise<Candidate[]> {
  const list = pod.name
    ? [await kube.getObject<V1Pod>("pods", namespace, pod.name)]
    : (await kube.listPods(namespace, { labelSelector: pod.labelSelector })).filter((p) =>
      (pod.match ?? []).every((m) => p.metadata?.name?.includes(m))
    );
  const out: Candidate[] = [];
  for (const p of list) {
    for (const c of p.spec?.containers ?? []) out.push({ value: c.name, description: c.image });
    for (const c of p.spec?.initContainers ?? []) {
      out.push({ value: c.name, description: `init: ${c.image}` });
    }
  }
  return out;
}

/** `key=value` label pairs of the pods in a namespace (for -l), most common first. */
export async function labels(
  kube: Pick<Kube, "listSummaries">,
  namespace: string | undefined,
): Promise<Candidate[]> {
  const list = await kube.listSummaries("pods", namespace);
  const count = new Map<string, number>();
  for (const p of list) {
    for (const [k, v] of Object.entries(p.labels)) count.set(`${k}=${v}`, (count.get(`${k}=${v}`) ?? 0) + 1);
  }
  return [...count].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([value, n]) => ({
    value,
    description: `${n} pod${n === 1 ? "" : "s"}`,
  }));
}

/** kubectl's short type names that take `TYPE/NAME`, and the kind each lists. */
export const TARGET_TYPES: Record<string, ListKind | "session"> = {
  pod: "pods",
  svc: "services",
  deploy: "deployment",
  sts: "statefulset",
  ds: "daemonset",
  rs: "replicaset",
  job: "job",
  session: "session",
};

/**
 * A positional target: `TYPE/` prefixes while a type is being typed, `TYPE/NAME` once the slash is there,
 * else pod names (as kubectl exec completes). `noSpace` is set when the candidates are prefixes.
 */
export async function targets(
  kube: Kube,
  namespace: string,
  typed: string,
): Promise<{ candidates: Candidate[]; noSpace: boolean }> {
  const slash = typed.indexOf("/");
  if (slash > 0) {
    const type = typed.slice(0, slash);
    const kind = TARGET_TYPES[type];
    if (!kind) return { candidates: [], noSpace: false };
    const names = kind === "session"
      ? await sessions(kube, namespace)
      : (await kube.listSummaries(kind, namespace)).map((o) => ({ value: o.name, description: o.phase }));
    return { candidates: names.map((n) => ({ ...n, value: `${type}/${n.value}` })), noSpace: false };
  }
  const types = Object.keys(TARGET_TYPES).filter((t) => typed && t.startsWith(typed));
  const podNames = await pods(kube, namespace);
  if (types.length && !podNames.some((p) => p.value.startsWith(typed))) {
    return { candidates: types.map((t) => ({ value: `${t}/` })), noSpace: true };
  }
  return { candidates: podNames, noSpace: false };
}

const SESSIONS = "app.kubernetes.io/managed-by=kodama,kodama.dev/session";

/**
 * Sessions: the `kodama.dev/session` label of kodama's pods and volumes (a stopped session keeps only its
 * volumes). Works from any machine, as the cluster is the source of truth.
 */
export async function sessions(
  kube: Pick<Kube, "listSummaries">,
  namespace: string | undefined,
): Promise<Candidate[]> {
  const [podList, pvcs] = await Promise.all([
    kube.listSummaries("pods", namespace, { labelSelector: SESSIONS }),
    kube.listSummaries("persistentvolumeclaims", namespace, { labelSelector: SESSIONS }).catch(() => []),
  ]);
  const out = new Map<string, Candidate>();
  for (const p of podList) {
    const name = p.labels["kodama.dev/session"];
    if (name) {
      out.set(name, {
        value: name,
        description: `${p.phase ?? "pod"}${namespace ? "" : `, ${p.namespace}`}`,
      });
    }
  }
  for (const v of pvcs) {
    const name = v.labels["kodama.dev/session"];
    if (name && !out.has(name) && v.labels["kodama.dev/retained"] === undefined) {
      out.set(name, { value: name, description: `stopped${namespace ? "" : `, ${v.namespace}`}` });
    }
  }
  return [...out.values()];
}

/** Workflow names, nearest first (a shadowed one once), with their descriptions. */
export async function workflows(): Promise<Candidate[]> {
  const [{ discover }, { parseWorkflowText }, { readWorkflowText }] = await Promise.all([
    import("../workflow/discovery.ts"),
    import("../workflow/load.ts"),
    import("../workflow/file.ts"),
  ]);
  const refs = (await discover()).filter((r) => !r.shadowedBy);
  return await Promise.all(refs.map(async (r) => {
    let description: string | undefined = r.source;
    try {
      const w = parseWorkflowText(await readWorkflowText(r.file), r.file).workflow;
      if (w?.description) description = `${w.description.split("\n")[0]} (${r.source})`;
    } catch { /* unreadable: the name is still worth offering */ }
    return { value: r.name, description };
  }));
}

/** Session template names, nearest first, with their descriptions (nothing when one is invalid). */
export async function templates(): Promise<Candidate[]> {
  const { validateTemplates } = await import("../session/spec/template.ts");
  const set = await validateTemplates({ cwd: Deno.cwd() });
  return set.templates.map((t) => ({
    value: t.name,
    description: `${t.description?.split("\n")[0] ?? ""} (${t.source})`.trim(),
  }));
}

/** `name=` for each param of a workflow (by name or file), described with its default. */
export async function workflowParams(workflow: string): Promise<Candidate[]> {
  const [{ findWorkflow }, { parseWorkflowText }, { readWorkflowText }] = await Promise.all([
    import("../workflow/discovery.ts"),
    import("../workflow/load.ts"),
    import("../workflow/file.ts"),
  ]);
  const ref = await findWorkflow(workflow);
  const w = parseWorkflowText(await readWorkflowText(ref.file), ref.file).workflow;
  return Object.entries(w?.params ?? {}).map(([name, p]) => {
    const spec = (p ?? {}) as { description?: string; default?: unknown };
    const def = spec.default === undefined ? "" : ` (default: ${String(spec.default)})`;
    return { value: `${name}=`, description: `${spec.description ?? ""}${def}`.trim() || undefined };
  });
}

/** Every config key (and section, ending in a dot) with its description. */
export async function configKeys(): Promise<Candidate[]> {
  const { allKeys } = await import("../config/keys.ts");
  return allKeys().map((k) => ({ value: k.key, description: k.description }));
}

/** The values a key accepts when they are few (enums, booleans). */
export async function configValues(key: string): Promise<Candidate[]> {
  const { keyInfo } = await import("../config/keys.ts");
  const k = keyInfo(key);
  if (!k) return [];
  if (k.kind === "boolean") return [{ value: "true" }, { value: "false" }];
  if (k.kind === "enum") return (k.enumValues ?? []).map((value) => ({ value }));
  return k.default !== undefined ? [{ value: String(k.default), description: "the default" }] : [];
}
