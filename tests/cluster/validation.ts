/** Validation with the API server's messages (k8s.io/apimachinery/pkg/util/validation). */
import { invalid, type StatusCause } from "./status.ts";

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;

export const MSG = {
  subdomain:
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
  label:
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
  dns1035:
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
  qualifiedName:
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
  labelValue:
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
  configKey:
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
  envVarName:
    "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')",
};

export class Errors {
  readonly causes: StatusCause[] = [];
  invalid(field: string, value: unknown, detail: string) {
    const v = typeof value === "string" ? JSON.stringify(value) : JSON.stringify(value) ?? "null";
    this.causes.push({ reason: "FieldValueInvalid", message: `Invalid value: ${v}: ${detail}`, field });
  }
  required(field: string, detail = "") {
    this.causes.push({
      reason: "FieldValueRequired",
      message: "Required value" + (detail ? `: ${detail}` : ""),
      field,
    });
  }
  forbidden(field: string, detail: string) {
    this.causes.push({ reason: "FieldValueForbidden", message: `Forbidden: ${detail}`, field });
  }
  notSupported(field: string, value: unknown, supported: string[]) {
    this.causes.push({
      reason: "FieldValueNotSupported",
      message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${
        supported.map((s) => `"${s}"`).join(", ")
      }`,
      field,
    });
  }
  notFound(field: string, value: unknown) {
    this.causes.push({ reason: "FieldValueNotFound", message: `Not found: ${JSON.stringify(value)}`, field });
  }
  duplicate(field: string, value: unknown) {
    this.causes.push({
      reason: "FieldValueDuplicate",
      message: `Duplicate value: ${JSON.stringify(value)}`,
      field,
    });
  }
  tooLong(field: string, max: number) {
    this.causes.push({
      reason: "FieldValueTooLong",
      message: `Too long: may not be more than ${max} bytes`,
      field,
    });
  }
  throwIfAny(kind: string, name: string, group?: string) {
    if (this.causes.length) throw invalid(kind, name, this.causes, group);
  }
}

export type NameRule = "subdomain" | "label" | "dns1035";

export function checkName(e: Errors, name: unknown, rule: NameRule, field = "metadata.name") {
  if (typeof name !== "string" || name === "") {
    e.required(field, "name or generateName is required");
    return;
  }
  const [re, max, msg] = rule === "label"
    ? [DNS1123_LABEL, 63, MSG.label]
    : rule === "dns1035"
    ? [DNS1035_LABEL, 63, MSG.dns1035]
    : [DNS1123_SUBDOMAIN, 253, MSG.subdomain];
  if (name.length > max) e.invalid(field, name, `must be no more than ${max} characters`);
  if (!re.test(name)) e.invalid(field, name, msg);
}

/** Label keys: optional DNS subdomain prefix + "/" + qualified name (max 63). */
export function checkQualifiedName(e: Errors, field: string, key: string) {
  const parts = key.split("/");
  let name = key;
  if (parts.length === 2) {
    const prefix = parts[0];
    name = parts[1];
    if (prefix.length === 0) e.invalid(field, key, "prefix part must be non-empty");
    else if (!DNS1123_SUBDOMAIN.test(prefix)) e.invalid(field, key, "prefix part " + MSG.subdomain);
    else if (prefix.length > 253) e.invalid(field, key, "prefix part must be no more than 253 characters");
  } else if (parts.length > 2) {
    e.invalid(
      field,
      key,
      "a qualified name " +
        MSG.qualifiedName.slice("name part ".length) +
        " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    );
    return;
  }
  if (name.length === 0) e.invalid(field, key, "name part must be non-empty");
  else {
    if (name.length > 63) e.invalid(field, key, "name part must be no more than 63 characters");
    if (!QUALIFIED_NAME.test(name)) e.invalid(field, key, MSG.qualifiedName);
  }
}

export function checkMetadata(e: Errors, obj: Obj, rule: NameRule, namespaced: boolean) {
  const md = obj.metadata ?? {};
  checkName(e, md.name, rule);
  if (namespaced && md.namespace !== undefined && typeof md.namespace === "string" && md.namespace !== "") {
    checkName(e, md.namespace, "label", "metadata.namespace");
  }
  for (const [k, v] of Object.entries((md.labels ?? {}) as Record<string, unknown>)) {
    checkQualifiedName(e, "metadata.labels", k);
    const s = String(v ?? "");
    if (s.length > 63) e.invalid("metadata.labels", s, "must be no more than 63 characters");
    if (!LABEL_VALUE.test(s)) e.invalid("metadata.labels", s, MSG.labelValue);
  }
  for (const k of Object.keys((md.annotations ?? {}) as Record<string, unknown>)) {
    checkQualifiedName(e, "metadata.annotations", k.toLowerCase());
  }
  const total = JSON.stringify(md.annotations ?? {}).length;
  if (total > 256 * 1024) e.tooLong("metadata.annotations", 256 * 1024);
}

function checkConfigKeys(e: Errors, field: string, data: Obj | undefined, seen: Set<string>) {
  for (const k of Object.keys(data ?? {})) {
    if (k.length > 253) e.invalid(`${field}[${k}]`, k, "must be no more than 253 characters");
    if (!CONFIG_KEY.test(k)) e.invalid(`${field}[${k}]`, k, MSG.configKey);
    else if (k === "." || k === "..") e.invalid(`${field}[${k}]`, k, `must not be '${k}'`);
    else if (k.startsWith("..")) e.invalid(`${field}[${k}]`, k, "must not start with '..'");
    if (seen.has(k)) e.invalid(`${field}[${k}]`, k, "duplicate of key present in binaryData");
    seen.add(k);
  }
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function validateSecret(e: Errors, s: Obj) {
  checkMetadata(e, s, "subdomain", true);
  const seen = new Set<string>();
  checkConfigKeys(e, "data", s.data, seen);
  for (const [k, v] of Object.entries(s.data ?? {})) {
    if (typeof v !== "string" || !BASE64.test(v) || v.length % 4 !== 0) {
      e.invalid(`data[${k}]`, "<secret contents redacted>", "illegal base64 data");
    }
  }
  const size = Object.values(s.data ?? {}).reduce((n: number, v) => n + String(v).length * 3 / 4, 0);
  if (size > 1024 * 1024) e.tooLong("data", 1024 * 1024);
  if (
    s.type === "kubernetes.io/service-account-token" &&
    !s.metadata?.annotations?.["kubernetes.io/service-account.name"]
  ) {
    e.required("metadata.annotations[kubernetes.io/service-account.name]");
  }
}

export function validateConfigMap(e: Errors, c: Obj) {
  checkMetadata(e, c, "subdomain", true);
  const seen = new Set<string>();
  checkConfigKeys(e, "data", c.data, seen);
  checkConfigKeys(e, "binaryData", c.binaryData, seen);
}

function checkContainers(
  e: Errors,
  list: unknown,
  field: string,
  required: boolean,
  names: Set<string>,
  volumes: Set<string>,
) {
  if (!Array.isArray(list) || list.length === 0) {
    if (required) e.required(field);
    return;
  }
  list.forEach((c: Obj, i: number) => {
    const f = `${field}[${i}]`;
    if (!c || typeof c !== "object") {
      e.required(f);
      return;
    }
    if (!c.name) e.required(`${f}.name`);
    else {
      checkName(e, c.name, "label", `${f}.name`);
      if (names.has(c.name)) e.duplicate(`${f}.name`, c.name);
      names.add(c.name);
    }
    if (!c.image || String(c.image).trim() === "") e.required(`${f}.image`);
    const portNames = new Set<string>();
    (c.ports ?? []).forEach((p: Obj, j: number) => {
      const pf = `${f}.ports[${j}]`;
      if (!Number.isInteger(p.containerPort) || p.containerPort < 1 || p.containerPort > 65535) {
        e.invalid(`${pf}.containerPort`, p.containerPort ?? 0, "must be between 1 and 65535, inclusive");
      }
      if (p.name !== undefined) {
        if (p.name.length > 15 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(p.name) || !/[a-z]/.test(p.name)) {
          e.invalid(
            `${pf}.name`,
            p.name,
            "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
          );
        }
        if (portNames.has(p.name)) e.duplicate(`${pf}.name`, p.name);
        portNames.add(p.name);
      }
      if (p.protocol !== undefined && !["TCP", "UDP", "SCTP"].includes(p.protocol)) {
        e.notSupported(`${pf}.protocol`, p.protocol, ["SCTP", "TCP", "UDP"]);
      }
    });
    (c.env ?? []).forEach((v: Obj, j: number) => {
      if (!v.name) e.required(`${f}.env[${j}].name`);
      else if (!/^[-._a-zA-Z][-._a-zA-Z0-9]*$/.test(v.name)) {
        e.invalid(`${f}.env[${j}].name`, v.name, MSG.envVarName);
      }
    });
    (c.volumeMounts ?? []).forEach((m: Obj, j: number) => {
      if (!m.name) e.required(`${f}.volumeMounts[${j}].name`);
      else if (!volumes.has(m.name)) e.notFound(`${f}.volumeMounts[${j}].name`, m.name);
      if (!m.mountPath) e.required(`${f}.volumeMounts[${j}].mountPath`);
    });
    if (c.imagePullPolicy !== undefined && !["Always", "IfNotPresent", "Never"].includes(c.imagePullPolicy)) {
      e.notSupported(`${f}.imagePullPolicy`, c.imagePullPolicy, ["Always", "IfNotPresent", "Never"]);
    }
  });
}

export function validatePod(e: Errors, p: Obj) {
  checkMetadata(e, p, "subdomain", true);
  const spec = p.spec;
  if (!spec || typeof spec !== "object") {
    e.required("spec.containers");
    return;
  }
  const volumes = new Set<string>();
  (spec.volumes ?? []).forEach((v: Obj, i: number) => {
    if (!v.name) e.required(`spec.volumes[${i}].name`);
    else {
      checkName(e, v.name, "label", `spec.volumes[${i}].name`);
      if (volumes.has(v.name)) e.duplicate(`spec.volumes[${i}].name`, v.name);
      volumes.add(v.name);
    }
    if (v.persistentVolumeClaim && !v.persistentVolumeClaim.claimName) {
      e.required(`spec.volumes[${i}].persistentVolumeClaim.claimName`);
    }
  });
  const names = new Set<string>();
  checkContainers(e, spec.containers, "spec.containers", true, names, volumes);
  checkContainers(e, spec.initContainers, "spec.initContainers", false, names, volumes);
  for (const f of ["initContainers", "containers"]) {
    (Array.isArray(spec[f]) ? spec[f] : []).forEach((c: Obj, i: number) =>
      checkResources(e, `spec.${f}[${i}].resources`, c?.resources)
    );
  }
  checkPodSecurityContext(e, spec.securityContext);
  if (spec.restartPolicy !== undefined && !["Always", "OnFailure", "Never"].includes(spec.restartPolicy)) {
    e.notSupported("spec.restartPolicy", spec.restartPolicy, ["Always", "OnFailure", "Never"]);
  }
  if (spec.activeDeadlineSeconds !== undefined && !(spec.activeDeadlineSeconds > 0)) {
    e.invalid(
      "spec.activeDeadlineSeconds",
      spec.activeDeadlineSeconds,
      "must be between 1 and 2147483647, inclusive",
    );
  }
}

/** Fields of a pod spec that an update may change. */
export function validatePodUpdate(e: Errors, oldP: Obj, newP: Obj) {
  const strip = (spec: Obj) => {
    const s = structuredClone(spec ?? {});
    for (const c of [...(s.containers ?? []), ...(s.initContainers ?? [])]) delete c.image;
    delete s.activeDeadlineSeconds;
    delete s.tolerations;
    delete s.terminationGracePeriodSeconds;
    return JSON.stringify(sortKeys(s));
  };
  if (strip(oldP.spec) !== strip(newP.spec)) {
    e.forbidden(
      "spec",
      "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
    );
  }
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Obj)[k])]));
  }
  return v;
}

export function validateImmutableData(e: Errors, oldO: Obj, newO: Obj) {
  if (oldO.immutable === true) {
    if (JSON.stringify(sortKeys(oldO.data ?? {})) !== JSON.stringify(sortKeys(newO.data ?? {}))) {
      e.forbidden("data", "field is immutable when `immutable` is set");
    }
    if (JSON.stringify(sortKeys(oldO.binaryData ?? {})) !== JSON.stringify(sortKeys(newO.binaryData ?? {}))) {
      e.forbidden("binaryData", "field is immutable when `immutable` is set");
    }
    if (newO.immutable !== true) e.forbidden("immutable", "field is immutable when `immutable` is set");
  }
  if (oldO.kind === "Secret" && (oldO.type ?? "Opaque") !== (newO.type ?? "Opaque")) {
    e.invalid("type", newO.type, "field is immutable");
  }
}

export function validatePVC(e: Errors, c: Obj) {
  checkMetadata(e, c, "subdomain", true);
  const spec = c.spec ?? {};
  if (!Array.isArray(spec.accessModes) || spec.accessModes.length === 0) {
    e.required("spec.accessModes", "at least 1 access mode is required");
  }
  const req = spec.resources?.requests?.storage;
  if (req === undefined) e.required("spec.resources[storage]");
  else if (quantityValue(req) <= 0) {
    e.invalid("spec.resources[storage]", String(req), "must be greater than zero");
  }
}

export function validatePVCUpdate(e: Errors, oldC: Obj, newC: Obj) {
  const a = structuredClone(oldC.spec ?? {});
  const b = structuredClone(newC.spec ?? {});
  delete a.resources;
  delete b.resources;
  if (JSON.stringify(sortKeys(a)) !== JSON.stringify(sortKeys(b))) {
    e.forbidden(
      "spec",
      "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims",
    );
  }
}

export function validateService(e: Errors, s: Obj) {
  checkMetadata(e, s, "dns1035", true);
  const spec = s.spec ?? {};
  const type = spec.type ?? "ClusterIP";
  if (!["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"].includes(type)) {
    e.notSupported("spec.type", type, ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]);
  }
  if (
    type !== "ExternalName" && (!Array.isArray(spec.ports) || spec.ports.length === 0) &&
    spec.clusterIP !== "None"
  ) {
    e.required("spec.ports");
  }
  const seen = new Set<string>();
  (spec.ports ?? []).forEach((p: Obj, i: number) => {
    if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) {
      e.invalid(`spec.ports[${i}].port`, p.port ?? 0, "must be between 1 and 65535, inclusive");
    }
    if ((spec.ports ?? []).length > 1 && !p.name) e.required(`spec.ports[${i}].name`);
    if (p.name) {
      if (seen.has(p.name)) e.duplicate(`spec.ports[${i}].name`, p.name);
      seen.add(p.name);
    }
  });
}

export function validateGeneric(e: Errors, o: Obj, namespaced: boolean) {
  checkMetadata(e, o, "subdomain", namespaced);
}

export function validateNamespace(e: Errors, n: Obj) {
  checkMetadata(e, n, "label", false);
}

export function validateServiceAccount(e: Errors, s: Obj) {
  checkMetadata(e, s, "subdomain", true);
}

// ------------------------------------------------------------------------------------------- quantities

/** The regular expression resource.ParseQuantity splits a quantity with (its error text quotes it). */
export const QUANTITY_SPLIT = /^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$/;
const QUANTITY_SUFFIX = /^(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;

/**
 * Why a quantity does not decode (the JSON decoder's error), or undefined when it does. kube-apiserver
 * rejects such a body before validation, with 400 BadRequest "<Kind> in version "v1" cannot be
 * handled as a <Kind>: <this>".
 */
export function quantityDecodeError(v: unknown): string | undefined {
  if (typeof v === "number") {
    return Number.isFinite(v) ? undefined : "unable to parse numeric part of quantity";
  }
  if (typeof v !== "string") return "quantities must be a string or a number";
  const m = QUANTITY_SPLIT.exec(v);
  if (!m) return `quantities must match the regular expression '${QUANTITY_SPLIT.source}'`;
  // a malformed number ("1.2.3") is reported with the regular expression too, as kube-apiserver does
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(m[1])) {
    return `quantities must match the regular expression '${QUANTITY_SPLIT.source}'`;
  }
  if (!QUANTITY_SUFFIX.test(m[2])) return "unable to parse quantity's suffix";
  return undefined;
}

/** A decoded quantity as a number (enough for comparisons in validation). */
export function quantityValue(v: unknown): number {
  if (typeof v === "number") return v;
  const m = QUANTITY_SPLIT.exec(String(v))!;
  const n = Number(m[1]);
  const bin: Record<string, number> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };
  const dec: Record<string, number> = { n: -9, u: -6, m: -3, "": 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
  if (m[2] in bin) return n * 1024 ** bin[m[2]];
  if (m[2] in dec) return n * 10 ** dec[m[2]];
  return n * 10 ** Number(m[2].slice(1));
}

/** Every quantity of a pod or claim with its field path (resources of containers, claim requests). */
export function quantityFields(kind: string, o: Obj): { field: string; value: unknown }[] {
  const out: { field: string; value: unknown }[] = [];
  const collect = (base: string, r: Obj | undefined) => {
    for (const part of ["limits", "requests"]) {
      for (const [k, v] of Object.entries((r?.[part] ?? {}) as Obj)) {
        out.push({ field: `${base}.${part}[${k}]`, value: v });
      }
    }
  };
  if (kind === "Pod") {
    for (const f of ["initContainers", "containers"]) {
      (o.spec?.[f] ?? []).forEach((c: Obj, i: number) => collect(`spec.${f}[${i}].resources`, c?.resources));
    }
  }
  if (kind === "PersistentVolumeClaim") collect("spec.resources", o.spec?.resources);
  if (kind === "ResourceQuota") {
    for (const [k, v] of Object.entries((o.spec?.hard ?? {}) as Obj)) {
      out.push({ field: `spec.hard[${k}]`, value: v });
    }
  }
  return out;
}

/** Container resources as the API server validates them (after decoding). */
function checkResources(e: Errors, base: string, r: Obj | undefined) {
  const limits = (r?.limits ?? {}) as Obj;
  const requests = (r?.requests ?? {}) as Obj;
  for (const [part, map] of [["limits", limits], ["requests", requests]] as const) {
    for (const [k, v] of Object.entries(map)) {
      if (quantityValue(v) < 0) {
        e.invalid(`${base}.${part}[${k}]`, String(v), "must be greater than or equal to 0");
      }
    }
  }
  for (const [k, v] of Object.entries(requests)) {
    if (k in limits && quantityValue(v) > quantityValue(limits[k])) {
      e.invalid(`${base}.requests`, String(v), `must be less than or equal to ${k} limit of ${limits[k]}`);
    }
  }
}

const FS_GROUP_POLICIES = ["Always", "OnRootMismatch"];

function checkPodSecurityContext(e: Errors, sc: Obj | undefined) {
  if (!sc) return;
  for (const f of ["runAsUser", "runAsGroup", "fsGroup"]) {
    const v = sc[f];
    if (v !== undefined && !(Number.isInteger(v) && v >= 0 && v <= 2147483647)) {
      e.invalid(`spec.securityContext.${f}`, v, "must be between 0 and 2147483647, inclusive");
    }
  }
  if (sc.fsGroupChangePolicy !== undefined && !FS_GROUP_POLICIES.includes(sc.fsGroupChangePolicy)) {
    e.notSupported("spec.securityContext.fsGroupChangePolicy", sc.fsGroupChangePolicy, FS_GROUP_POLICIES);
  }
}

export function validateStorageClass(e: Errors, c: Obj) {
  checkMetadata(e, c, "subdomain", false);
  if (!c.provisioner) e.required("provisioner");
  if (c.reclaimPolicy !== undefined && !["Delete", "Retain"].includes(c.reclaimPolicy)) {
    e.notSupported("reclaimPolicy", c.reclaimPolicy, ["Delete", "Retain"]);
  }
  if (
    c.volumeBindingMode !== undefined && !["Immediate", "WaitForFirstConsumer"].includes(c.volumeBindingMode)
  ) {
    e.notSupported("volumeBindingMode", c.volumeBindingMode, ["Immediate", "WaitForFirstConsumer"]);
  }
}
