/**
 * Label and field selectors evaluated on the laptop, for pods already in memory (the MCP server's
 * watch-backed pod cache). The API server stays the judge of syntax: a selector this module cannot read
 * (or a field it does not know) gives `undefined`, and the caller asks the API server instead, which
 * answers with its own error. Pure.
 */
import type { V1Pod } from "@kubernetes/client-node";

type Req =
  | { key: string; op: "exists" | "!" }
  | { key: string; op: "=" | "!="; value: string }
  | { key: string; op: "in" | "notin"; values: string[] };

const KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/** Split at commas outside parentheses. */
function requirements(src: string): string[] | undefined {
  const out: string[] = [];
  let depth = 0, start = 0;
  for (let i = 0; i < src.length; i++) {
    if (src[i] === "(") depth++;
    else if (src[i] === ")") depth--;
    if (depth < 0 || depth > 1) return undefined;
    if (src[i] === "," && depth === 0) {
      out.push(src.slice(start, i).trim());
      start = i + 1;
    }
  }
  if (depth !== 0) return undefined;
  out.push(src.slice(start).trim());
  return out;
}

/** `a=b,c!=d,e in (x,y),f notin (z),g,!h` as requirements; undefined when it does not read cleanly. */
export function parseLabelSelector(src: string | undefined): Req[] | undefined {
  if (!src || !src.trim()) return [];
  const parts = requirements(src);
  if (!parts) return undefined;
  const out: Req[] = [];
  for (const p of parts) {
    let m: RegExpExecArray | null;
    if ((m = /^!\s*(\S+)$/.exec(p))) {
      if (!KEY.test(m[1])) return undefined;
      out.push({ key: m[1], op: "!" });
    } else if ((m = /^(\S+?)\s+(in|notin)\s*\(([^()]*)\)$/.exec(p))) {
      const values = m[3].split(",").map((v) => v.trim());
      if (!KEY.test(m[1]) || values.some((v) => !VALUE.test(v))) return undefined;
      out.push({ key: m[1], op: m[2] as "in" | "notin", values });
    } else if ((m = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(p))) {
      if (!KEY.test(m[1]) || !VALUE.test(m[3])) return undefined;
      out.push({ key: m[1], op: m[2] === "!=" ? "!=" : "=", value: m[3] });
    } else if (KEY.test(p)) {
      out.push({ key: p, op: "exists" });
    } else return undefined;
  }
  return out;
}

function matchesReq(labels: Record<string, string>, r: Req): boolean {
  const has = Object.hasOwn(labels, r.key);
  switch (r.op) {
    case "exists":
      return has;
    case "!":
      return !has;
    case "=":
      return has && labels[r.key] === r.value;
    case "!=":
      return !has || labels[r.key] !== r.value;
    case "in":
      return has && r.values.includes(labels[r.key]);
    case "notin":
      return !has || !r.values.includes(labels[r.key]);
  }
}

/** The pod fields the API server lets a field selector name, read from a pod. */
const POD_FIELDS: Record<string, (p: V1Pod) => string> = {
  "metadata.name": (p) => p.metadata?.name ?? "",
  "metadata.namespace": (p) => p.metadata?.namespace ?? "",
  "spec.nodeName": (p) => p.spec?.nodeName ?? "",
  "spec.restartPolicy": (p) => p.spec?.restartPolicy ?? "",
  "spec.schedulerName": (p) => p.spec?.schedulerName ?? "",
  "spec.serviceAccountName": (p) => p.spec?.serviceAccountName ?? "",
  "spec.hostNetwork": (p) => String(p.spec?.hostNetwork ?? false),
  "status.phase": (p) => p.status?.phase ?? "",
  "status.podIP": (p) => p.status?.podIP ?? "",
  "status.nominatedNodeName": (p) => p.status?.nominatedNodeName ?? "",
};

/**
 * A predicate for pods matching both selectors, or undefined when either cannot be read here (then
 * the API server must be asked).
 */
export function podSelector(
  labelSelector: string | undefined,
  fieldSelector: string | undefined,
): ((p: V1Pod) => boolean) | undefined {
  const labels = parseLabelSelector(labelSelector);
  if (!labels) return undefined;
  const fields: { get: (p: V1Pod) => string; neg: boolean; value: string }[] = [];
  for (const part of (fieldSelector ?? "").split(",").map((s) => s.trim()).filter(Boolean)) {
    const m = /^([A-Za-z.]+)\s*(==|=|!=)\s*(.*)$/.exec(part);
    if (!m || !POD_FIELDS[m[1]]) return undefined;
    fields.push({ get: POD_FIELDS[m[1]], neg: m[2] === "!=", value: m[3] });
  }
  return (p) => {
    const l = p.metadata?.labels ?? {};
    return labels.every((r) => matchesReq(l, r)) && fields.every((f) => (f.get(p) === f.value) !== f.neg);
  };
}
