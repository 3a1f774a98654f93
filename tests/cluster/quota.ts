/**
 * ResourceQuota, as kube-apiserver's ResourceQuota admission plugin and the resource-quota controller do it
 * for what kodama creates (pkg/quota/v1/evaluator/core, apiserver/pkg/admission/plugin/resourcequota):
 *
 * - usage: `pods` (pods not in a terminal phase), `count/pods`; the pods' compute resources `requests.cpu`,
 *   `requests.memory` (also `cpu`, `memory`), `limits.cpu`, `limits.memory` (a pod's is the larger of its
 *   containers' sum and any one init container's); `persistentvolumeclaims`, `requests.storage` and their
 *   `CLASS.storageclass.storage.k8s.io/…` forms; `count/RESOURCE` and the legacy `secrets`, `configmaps`,
 *   `services` for any other object.
 * - admission on create: a quota that names cpu or memory makes every container say it, else
 *   `failed quota: NAME: must specify limits.memory,requests.cpu` (v1.24's words); a create that would take a
 *   quota over its hard limit is refused with `exceeded quota: NAME, requested: pods=1, used: pods=1,
 *   limited: pods=1` (only the resources over it, sorted). Both are 403 Forbidden, as
 *   `pods "NAME" is forbidden: …`.
 * - `status.hard` follows `spec.hard`, `status.used` is recomputed whenever what it counts changes.
 *
 * Not modelled: scopes and scopeSelector, extended resources, hugepages, ephemeral storage, updates.
 */
import type { Obj, Store } from "./store.ts";
import { ApiError } from "./status.ts";

const TERMINAL = new Set(["Succeeded", "Failed"]);
/** the resources a pod quota's presence makes every container state (pods.go validationSet) */
const MUST_STATE = new Set([
  "cpu",
  "memory",
  "requests.cpu",
  "requests.memory",
  "limits.cpu",
  "limits.memory",
]);
const LEGACY_COUNTS = new Set(["secrets", "configmaps", "services"]);

/** A quantity in thousandths (cpu "100m" = 100, memory "1Gi" = 1073741824000), and whether it was binary. */
interface Amount {
  milli: bigint;
  binary: boolean;
}

const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, "": 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY: Record<string, number> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };

export function parseAmount(v: unknown): Amount {
  const m = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:[eE]([+-]?\d+))?([a-zA-Z]*)$/.exec(String(v ?? "0").trim());
  if (!m) return { milli: 0n, binary: false };
  const [whole, frac = ""] = m[1].replace(/^\+/, "").split(".");
  let digits = BigInt(`${whole || "0"}${frac}`) * 1000n; // thousandths
  let scale = -frac.length + Number(m[2] ?? 0);
  const suffix = m[3];
  let binary = false;
  if (suffix in BINARY) {
    binary = true;
    digits *= 1024n ** BigInt(BINARY[suffix]);
  } else scale += DECIMAL[suffix] ?? 0;
  if (scale >= 0) digits *= 10n ** BigInt(scale);
  else {
    const d = 10n ** BigInt(-scale);
    digits = (digits + d - 1n) / d; // rounded up, as a Quantity's milli value is
  }
  return { milli: digits, binary };
}

/** A Quantity's canonical text: `100m`, `2`, `1k`, `100Mi`, `10Gi`. */
export function formatAmount(a: Amount): string {
  const { milli } = a;
  if (milli === 0n) return "0";
  if (milli % 1000n !== 0n) return `${milli}m`;
  const n = milli / 1000n;
  if (a.binary) {
    for (const [s, p] of Object.entries(BINARY).reverse()) {
      const u = 1024n ** BigInt(p);
      if (n % u === 0n) return `${n / u}${s}`;
    }
    return String(n);
  }
  for (const [s, p] of [["E", 18], ["P", 15], ["T", 12], ["G", 9], ["M", 6], ["k", 3]] as const) {
    const u = 10n ** BigInt(p);
    if (n % u === 0n) return `${n / u}${s}`;
  }
  return String(n);
}

type Usage = Map<string, Amount>;

function add(u: Usage, name: string, a: Amount) {
  const cur = u.get(name);
  u.set(name, { milli: (cur?.milli ?? 0n) + a.milli, binary: cur ? cur.binary || a.binary : a.binary });
}

const ONE: Amount = { milli: 1000n, binary: false };

/** What one container states: its requests and limits under the quota's names. */
function containerUsage(c: Obj): Usage {
  const u: Usage = new Map();
  const req = c.resources?.requests ?? {}, lim = c.resources?.limits ?? {};
  for (const r of ["cpu", "memory"]) {
    if (req[r] !== undefined) {
      u.set(r, parseAmount(req[r]));
      u.set(`requests.${r}`, parseAmount(req[r]));
    }
    if (lim[r] !== undefined) u.set(`limits.${r}`, parseAmount(lim[r]));
  }
  return u;
}

/** A pod's usage (PodUsageFunc): always its count; its compute resources unless it is terminal. */
export function podUsage(pod: Obj): Usage {
  const u: Usage = new Map([["count/pods", ONE]]);
  if (TERMINAL.has(pod.status?.phase)) return u;
  u.set("pods", ONE);
  const sum: Usage = new Map();
  for (const c of pod.spec?.containers ?? []) for (const [k, v] of containerUsage(c)) add(sum, k, v);
  for (const c of pod.spec?.initContainers ?? []) {
    for (const [k, v] of containerUsage(c)) if (v.milli > (sum.get(k)?.milli ?? 0n)) sum.set(k, v);
  }
  for (const [k, v] of sum) u.set(k, v);
  return u;
}

/** A claim's usage: its count and requested storage, also under its StorageClass's names. */
export function claimUsage(pvc: Obj): Usage {
  const storage = parseAmount(pvc.spec?.resources?.requests?.storage ?? "0");
  const u: Usage = new Map([
    ["count/persistentvolumeclaims", ONE],
    ["persistentvolumeclaims", ONE],
    ["requests.storage", storage],
  ]);
  const cls = pvc.spec?.storageClassName;
  if (cls) {
    u.set(`${cls}.storageclass.storage.k8s.io/persistentvolumeclaims`, ONE);
    u.set(`${cls}.storageclass.storage.k8s.io/requests.storage`, storage);
  }
  return u;
}

function usageOf(resource: string, o: Obj): Usage {
  if (resource === "pods") return podUsage(o);
  if (resource === "persistentvolumeclaims") return claimUsage(o);
  const u: Usage = new Map([[`count/${resource}`, ONE]]);
  if (LEGACY_COUNTS.has(resource)) u.set(resource, ONE);
  return u;
}

/** Does a quota's hard resource name count objects of `resource`? */
function counts(resource: string, name: string): boolean {
  return usageOf(resource, { spec: {}, status: {}, metadata: {} }).has(name) ||
    (resource === "pods" && /^(requests\.|limits\.)?(cpu|memory)$/.test(name)) ||
    (resource === "persistentvolumeclaims" && /\.storageclass\.storage\.k8s\.io\//.test(name));
}

/** Everything stored in namespace `ns` a quota with these hard names counts, summed. */
export function namespaceUsage(store: Store, ns: string, names: string[]): Usage {
  const total: Usage = new Map();
  const resources = new Set(
    names.map((n) =>
      n.startsWith("count/")
        ? n.slice(6)
        : LEGACY_COUNTS.has(n)
        ? n
        : counts("pods", n)
        ? "pods"
        : "persistentvolumeclaims"
    ),
  );
  for (const r of resources) {
    for (const o of store.list(r, ns)) {
      for (const [k, v] of usageOf(r, o)) if (names.includes(k)) add(total, k, v);
    }
  }
  return total;
}

function amounts(list: Record<string, unknown> | undefined): Usage {
  return new Map(Object.entries(list ?? {}).map(([k, v]) => [k, parseAmount(v)]));
}

/** `status` of a quota as the controller writes it: hard as asked, used as counted. */
export function quotaStatus(store: Store, q: Obj): Obj {
  const hard = q.spec?.hard ?? {};
  const names = Object.keys(hard);
  const used = namespaceUsage(store, q.metadata.namespace, names);
  const binary = amounts(hard);
  return {
    hard: { ...hard },
    used: Object.fromEntries(
      names.sort().map((n) => {
        const u = used.get(n) ?? { milli: 0n, binary: false };
        return [n, formatAmount({ milli: u.milli, binary: u.binary || !!binary.get(n)?.binary })];
      }),
    ),
  };
}

const pretty = (u: Usage, keys: string[]) =>
  keys.sort().map((k) => `${k}=${formatAmount(u.get(k) ?? { milli: 0n, binary: false })}`).join(",");

/**
 * ResourceQuota admission of a create of `o` (a `resource` object in `ns`): throws the 403 kube-apiserver
 * answers, or returns when every quota of the namespace allows it.
 */
export function admitQuota(store: Store, resource: string, ns: string, o: Obj): void {
  const quotas = store.list("resourcequotas", ns).sort((a, b) =>
    a.metadata.name.localeCompare(b.metadata.name)
  );
  if (!quotas.length) return;
  const forbidden = (why: string) =>
    new ApiError(
      403,
      "Forbidden",
      `${resource}${o.metadata?.name ? ` "${o.metadata.name}"` : ""} is forbidden: ${why}`,
      { name: o.metadata?.name, kind: resource },
    );
  const delta = usageOf(resource, o);
  const relevant = quotas.filter((q) => Object.keys(q.spec?.hard ?? {}).some((n) => counts(resource, n)));
  // every matching quota's constraints first (pods.go Constraints), then the limits
  for (const q of relevant) {
    if (resource !== "pods") break;
    const required = Object.keys(q.spec.hard).filter((n) => MUST_STATE.has(n));
    if (!required.length) continue;
    const missing = new Set<string>();
    for (const c of [...(o.spec?.containers ?? []), ...(o.spec?.initContainers ?? [])]) {
      const has = containerUsage(c);
      for (const r of required) if (!has.has(r)) missing.add(r);
    }
    if (missing.size) {
      throw forbidden(`failed quota: ${q.metadata.name}: must specify ${[...missing].sort().join(",")}`);
    }
  }
  for (const q of relevant) {
    const hard = amounts(q.spec.hard);
    const requested = [...delta].filter(([k, v]) => hard.has(k) && v.milli !== 0n);
    if (!requested.length) continue;
    const used = namespaceUsage(store, ns, [...hard.keys()]);
    const over = requested.filter(([k, v]) => (used.get(k)?.milli ?? 0n) + v.milli > hard.get(k)!.milli)
      .map(([k]) => k);
    if (over.length) {
      throw forbidden(
        `exceeded quota: ${q.metadata.name}, requested: ${pretty(delta, over)}, used: ${
          pretty(used, over)
        }, limited: ${pretty(hard, over)}`,
      );
    }
  }
}

/** The controller's pass over a namespace: each quota's status made current (only a change is written). */
export function refreshQuotas(store: Store, ns: string): void {
  for (const q of store.list("resourcequotas", ns)) {
    const status = quotaStatus(store, q);
    if (JSON.stringify(status) === JSON.stringify(q.status)) continue;
    store.replace("resourcequotas", { ...structuredClone(q), status });
  }
}
