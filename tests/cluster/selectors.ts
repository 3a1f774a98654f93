/** Label and field selectors with Kubernetes syntax. */
import { badRequest } from "./status.ts";

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

export type Requirement =
  | { key: string; op: "exists" | "!" }
  | { key: string; op: "=" | "!="; value: string }
  | { key: string; op: "in" | "notin"; values: string[] }
  | { key: string; op: "gt" | "lt"; value: number };

export type Selector = (labels: Record<string, string> | undefined) => boolean;

/** Parse a label selector (`a=b,c!=d,e in (x,y),f notin (z),g,!h`). Throws a 400 ApiError when malformed. */
export function parseLabelSelector(src: string | null | undefined): Requirement[] {
  const reqs: Requirement[] = [];
  if (!src || !src.trim()) return reqs;
  let i = 0;
  const s = src;
  const ws = () => {
    while (i < s.length && /\s/.test(s[i])) i++;
  };
  const word = () => {
    ws();
    const start = i;
    while (i < s.length && /[A-Za-z0-9_.\-/]/.test(s[i])) i++;
    return s.slice(start, i);
  };
  // kube-apiserver's words (apimachinery labels.Parse): a requirement that does not parse is
  // "unable to parse requirement: …"; a selector that does not start a requirement is the bare lexer error
  const fail = (why: string): never => {
    throw badRequest(`unable to parse requirement: ${why}`);
  };
  while (true) {
    ws();
    if (i >= s.length) break;
    if (s[i] === "!") {
      i++;
      const key = word();
      if (!key) fail("missing key after '!'");
      reqs.push({ key, op: "!" });
    } else {
      const key = word();
      if (!key) throw badRequest(`found '${s[i]}', expected: !, identifier, or 'end of string'`);
      ws();
      if (i >= s.length || s[i] === ",") {
        reqs.push({ key, op: "exists" });
      } else if (s.startsWith("==", i) || s[i] === "=") {
        i += s.startsWith("==", i) ? 2 : 1;
        reqs.push({ key, op: "=", value: word() });
      } else if (s.startsWith("!=", i)) {
        i += 2;
        reqs.push({ key, op: "!=", value: word() });
      } else if (s[i] === ">" || s[i] === "<") {
        const op = s[i] === ">" ? "gt" : "lt";
        i++;
        const v = Number(word());
        if (!Number.isInteger(v)) fail("for 'Gt', 'Lt' operators, the value must be an integer");
        reqs.push({ key, op, value: v });
      } else {
        const opWord = word();
        if (opWord !== "in" && opWord !== "notin") {
          fail(`found '${opWord || s[i]}', expected: '=', '!=', '==', 'in', notin'`);
        }
        ws();
        if (s[i] !== "(") fail("found '" + (s[i] ?? "") + "', expected: '('");
        i++;
        const values: string[] = [];
        while (true) {
          const v = word();
          values.push(v);
          ws();
          if (s[i] === ",") {
            i++;
            continue;
          }
          if (s[i] === ")") {
            i++;
            break;
          }
          fail("found '" + (s[i] ?? "") + "', expected: ',' or ')'");
        }
        reqs.push({
          key,
          op: opWord as "in" | "notin",
          values: values.filter((v) => v !== "" || values.length === 1),
        });
      }
    }
    ws();
    if (i < s.length) {
      if (s[i] !== ",") fail(`found '${s[i]}', expected: ','`);
      i++;
    }
  }
  return reqs;
}

export function matchLabels(reqs: Requirement[], labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  for (const r of reqs) {
    const has = Object.hasOwn(l, r.key);
    const v = l[r.key];
    switch (r.op) {
      case "exists":
        if (!has) return false;
        break;
      case "!":
        if (has) return false;
        break;
      case "=":
        if (!has || v !== r.value) return false;
        break;
      case "!=":
        if (has && v === r.value) return false;
        break;
      case "in":
        if (!has || !r.values.includes(v)) return false;
        break;
      case "notin":
        if (has && r.values.includes(v)) return false;
        break;
      case "gt":
        if (!has || !(Number(v) > r.value)) return false;
        break;
      case "lt":
        if (!has || !(Number(v) < r.value)) return false;
        break;
    }
  }
  return true;
}

export interface FieldRequirement {
  field: string;
  op: "=" | "!=";
  value: string;
}

const FIELDS: Record<string, string[]> = {
  pods: [
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.nominatedNodeName",
  ],
  namespaces: ["status.phase"],
  secrets: ["type"],
  events: [
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
  ],
  persistentvolumeclaims: [],
  services: ["spec.clusterIP", "spec.type"],
};

/** Parse a field selector; unknown fields for the resource are a 400 like the real server. */
export function parseFieldSelector(src: string | null | undefined, resource: string): FieldRequirement[] {
  const out: FieldRequirement[] = [];
  if (!src || !src.trim()) return out;
  for (const part of src.split(",")) {
    const p = part.trim();
    if (!p) continue;
    const m = /^([^!=]+?)\s*(==|!=|=)\s*(.*)$/.exec(p);
    if (!m) throw badRequest(`invalid selector: '${src}'; can't understand '${p}'`);
    const field = m[1];
    const allowed = ["metadata.name", "metadata.namespace", ...(FIELDS[resource] ?? [])];
    if (!allowed.includes(field)) throw badRequest(`field label not supported: ${field}`);
    out.push({ field, op: m[2] === "!=" ? "!=" : "=", value: m[3] });
  }
  return out;
}

export function fieldValue(obj: Obj, field: string): string {
  if (field === "source") return obj.source?.component ?? "";
  let cur: unknown = obj;
  for (const part of field.split(".")) {
    if (cur === null || typeof cur !== "object") return "";
    cur = (cur as Obj)[part];
  }
  if (cur === undefined || cur === null) return "";
  return String(cur);
}

export function matchFields(reqs: FieldRequirement[], obj: Obj): boolean {
  for (const r of reqs) {
    const v = fieldValue(obj, r.field);
    if (r.op === "=" ? v !== r.value : v === r.value) return false;
  }
  return true;
}

/** A map selector (Service.spec.selector) matches when every pair is present. */
export function matchMap(
  sel: Record<string, string> | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  if (!sel || Object.keys(sel).length === 0) return false;
  const l = labels ?? {};
  return Object.entries(sel).every(([k, v]) => l[k] === v);
}
