/**
 * networking.k8s.io/v1 NetworkPolicy: the API server's defaulting (SetDefaults_NetworkPolicy) and
 * validation (pkg/apis/networking/validation, v1.32 messages). Stored and served like any kind; the test
 * server enforces nothing (its pods are local processes), as a cluster whose CNI ignores policies.
 * CIDRs are read with node:net, not with kodama's own parser, so a bug there cannot hide here.
 */
import { BlockList, isIP } from "node:net";
import { checkMetadata, checkQualifiedName, type Errors } from "./validation.ts";

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

const CIDR_MSG = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)";
const PROTOCOLS = ["SCTP", "TCP", "UDP"];
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Every policy names its types; a port's protocol is TCP unless given. */
export function defaultNetworkPolicy(o: Obj): void {
  const s = o.spec ??= {};
  s.podSelector ??= {};
  if (!Array.isArray(s.policyTypes) || s.policyTypes.length === 0) {
    s.policyTypes = ["Ingress", ...(Array.isArray(s.egress) && s.egress.length ? ["Egress"] : [])];
  }
  for (const rule of [...(s.ingress ?? []), ...(s.egress ?? [])]) {
    for (const p of rule?.ports ?? []) if (p && typeof p === "object") p.protocol ??= "TCP";
  }
}

function parse(cidr: unknown): { ip: string; prefix: number; family: "ipv4" | "ipv6" } | undefined {
  const m = typeof cidr === "string" ? /^([^/]+)\/(\d+)$/.exec(cidr) : null;
  if (!m) return undefined;
  const v = isIP(m[1]);
  const prefix = Number(m[2]);
  if (!v || prefix > (v === 4 ? 32 : 128)) return undefined;
  return { ip: m[1], prefix, family: v === 4 ? "ipv4" : "ipv6" };
}

function ipBlock(e: Errors, f: string, b: Obj) {
  if (!b.cidr) return e.required(`${f}.cidr`);
  const cidr = parse(b.cidr);
  if (!cidr) return e.invalid(`${f}.cidr`, b.cidr, CIDR_MSG);
  const within = new BlockList();
  within.addSubnet(cidr.ip, cidr.prefix, cidr.family);
  (b.except ?? []).forEach((x: unknown, i: number) => {
    const ex = parse(x);
    if (!ex) return e.invalid(`${f}.except[${i}]`, x, CIDR_MSG);
    if (ex.family !== cidr.family || ex.prefix <= cidr.prefix || !within.check(ex.ip, ex.family)) {
      e.invalid(`${f}.except[${i}]`, x, "must be a strict subset of `cidr`");
    }
  });
}

function selector(e: Errors, f: string, s: Obj | undefined) {
  for (const [k, v] of Object.entries((s?.matchLabels ?? {}) as Record<string, unknown>)) {
    checkQualifiedName(e, `${f}.matchLabels`, k);
    if (!LABEL_VALUE.test(String(v)) || String(v).length > 63) {
      e.invalid(
        `${f}.matchLabels`,
        v,
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
      );
    }
  }
}

function peer(e: Errors, f: string, p: Obj) {
  const n = ["podSelector", "namespaceSelector", "ipBlock"].filter((k) =>
    p?.[k] !== undefined && p?.[k] !== null
  );
  if (n.length === 0) return e.required(f, "must specify a peer");
  if (n.length > 1 && n.includes("ipBlock")) e.forbidden(f, "may not specify both ipBlock and another peer");
  if (p.podSelector) selector(e, `${f}.podSelector`, p.podSelector);
  if (p.namespaceSelector) selector(e, `${f}.namespaceSelector`, p.namespaceSelector);
  if (p.ipBlock) ipBlock(e, `${f}.ipBlock`, p.ipBlock);
}

function port(e: Errors, f: string, p: Obj) {
  if (p.protocol !== undefined && !PROTOCOLS.includes(p.protocol)) {
    e.notSupported(`${f}.protocol`, p.protocol, PROTOCOLS);
  }
  if (typeof p.port === "number") {
    if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) {
      e.invalid(`${f}.port`, p.port, "must be between 1 and 65535, inclusive");
    }
    if (p.endPort !== undefined && p.endPort < p.port) {
      e.invalid(`${f}.endPort`, p.endPort, "must be greater than or equal to `port`");
    }
  } else if (p.port !== undefined && p.endPort !== undefined) {
    e.invalid(`${f}.endPort`, p.endPort, "may not be specified when `port` is non-numeric");
  } else if (p.port === undefined && p.endPort !== undefined) {
    e.invalid(`${f}.endPort`, p.endPort, "may not be specified when `port` is not specified");
  }
}

export function validateNetworkPolicy(e: Errors, o: Obj) {
  checkMetadata(e, o, "subdomain", true);
  const s = o.spec ?? {};
  selector(e, "spec.podSelector", s.podSelector);
  for (const [dir, peers] of [["ingress", "from"], ["egress", "to"]] as const) {
    (s[dir] ?? []).forEach((rule: Obj, i: number) => {
      (rule?.ports ?? []).forEach((p: Obj, j: number) => port(e, `spec.${dir}[${i}].ports[${j}]`, p ?? {}));
      (rule?.[peers] ?? []).forEach((p: Obj, j: number) =>
        peer(e, `spec.${dir}[${i}].${peers}[${j}]`, p ?? {})
      );
    });
  }
  const types: unknown[] = s.policyTypes ?? [];
  if (types.length > 2) {
    e.invalid("spec.policyTypes", types, "may not specify more than two policyTypes");
  } else {
    types.forEach((t, i) => {
      if (t !== "Ingress" && t !== "Egress") {
        e.notSupported(`spec.policyTypes[${i}]`, t, ["Ingress", "Egress"]);
      }
    });
  }
}

/** metav1.FormatLabelSelector, as the POD-SELECTOR column prints it. */
export function formatSelector(s: Obj | undefined): string {
  const parts = Object.entries((s?.matchLabels ?? {}) as Record<string, string>).sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0
  ).map(([k, v]) => `${k}=${v}`);
  for (const r of (s?.matchExpressions ?? []) as Obj[]) {
    const vals = [...(r.values ?? [])].sort().join(",");
    parts.push(
      r.operator === "In"
        ? `${r.key} in (${vals})`
        : r.operator === "NotIn"
        ? `${r.key} notin (${vals})`
        : r.operator === "Exists"
        ? r.key
        : `!${r.key}`,
    );
  }
  return parts.length ? parts.join(",") : "<none>";
}
