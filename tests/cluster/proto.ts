/**
 * Just enough Kubernetes protobuf decoding for the bodies kubectl sends as protobuf to this
 * server: SelfSubjectAccessReview and SelfSubjectRulesReview (`kubectl auth can-i [--list]`), and the
 * objects `kubectl create namespace|configmap|secret|serviceaccount|service|quota|job|pdb` build.
 * Everything else is JSON (kubectl's dynamic/unstructured clients always send JSON).
 */

type Fields = Map<number, (Uint8Array | number)[]>;

function varint(b: Uint8Array, pos: { i: number }): number {
  let result = 0;
  let shift = 0;
  while (pos.i < b.length) {
    const byte = b[pos.i++];
    result += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return result;
    shift += 7;
  }
  throw new Error("truncated varint");
}

export function decodeMessage(b: Uint8Array): Fields {
  const out: Fields = new Map();
  const pos = { i: 0 };
  while (pos.i < b.length) {
    const key = varint(b, pos);
    const field = Math.floor(key / 8);
    const wire = key & 7;
    let v: Uint8Array | number;
    if (wire === 0) v = varint(b, pos);
    else if (wire === 2) {
      const len = varint(b, pos);
      v = b.subarray(pos.i, pos.i + len);
      pos.i += len;
    } else if (wire === 1) {
      pos.i += 8;
      continue;
    } else if (wire === 5) {
      pos.i += 4;
      continue;
    } else throw new Error(`unsupported wire type ${wire}`);
    const list = out.get(field) ?? [];
    list.push(v);
    out.set(field, list);
  }
  return out;
}

const dec = new TextDecoder();
const str = (f: Fields, n: number): string | undefined => {
  const v = f.get(n)?.[0];
  return v instanceof Uint8Array ? dec.decode(v) : undefined;
};
const msg = (f: Fields, n: number): Fields | undefined => {
  const v = f.get(n)?.[0];
  return v instanceof Uint8Array ? decodeMessage(v) : undefined;
};

/** Unwrap the `k8s\0` envelope (runtime.Unknown); returns the raw inner message. */
export function unwrap(b: Uint8Array): Uint8Array {
  if (b.length < 4 || b[0] !== 0x6b || b[1] !== 0x38 || b[2] !== 0x73 || b[3] !== 0) {
    throw new Error("not a Kubernetes protobuf envelope");
  }
  const unknown = decodeMessage(b.subarray(4));
  const raw = unknown.get(2)?.[0];
  if (!(raw instanceof Uint8Array)) throw new Error("empty protobuf envelope");
  return raw;
}

function clean(o: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== "")) as Record<
    string,
    string
  >;
}

/** Decode a SelfSubjectAccessReview or SelfSubjectRulesReview into its JSON shape ({spec}). */
export function decodeReview(
  kind: "selfsubjectaccessreviews" | "selfsubjectrulesreviews",
  body: Uint8Array,
): Record<string, unknown> {
  const top = decodeMessage(unwrap(body));
  const spec = msg(top, 2) ?? new Map();
  if (kind === "selfsubjectrulesreviews") return { spec: clean({ namespace: str(spec, 1) }) };
  const ra = msg(spec, 1);
  const nra = msg(spec, 2);
  const out: Record<string, unknown> = {};
  if (ra) {
    out.resourceAttributes = clean({
      namespace: str(ra, 1),
      verb: str(ra, 2),
      group: str(ra, 3),
      version: str(ra, 4),
      resource: str(ra, 5),
      subresource: str(ra, 6),
      name: str(ra, 7),
    });
  }
  if (nra) out.nonResourceAttributes = clean({ path: str(nra, 1), verb: str(nra, 2) });
  return { spec: out };
}

// ------------------------------------------------------------------ core/v1 objects kubectl creates
// `kubectl create namespace|configmap|secret|serviceaccount|service` use typed clients that send
// protobuf. Field numbers from k8s.io/api/core/v1/generated.proto (checked against kubectl 1.32).

const strs = (f: Fields, n: number): string[] =>
  (f.get(n) ?? []).filter((v): v is Uint8Array => v instanceof Uint8Array).map((v) => dec.decode(v));
const msgs = (f: Fields, n: number): Fields[] =>
  (f.get(n) ?? []).filter((v): v is Uint8Array => v instanceof Uint8Array).map((v) => decodeMessage(v));
const num = (f: Fields, n: number): number | undefined => {
  const v = f.get(n)?.[0];
  return typeof v === "number" ? v : undefined;
};

function strMap(f: Fields, n: number, bytesAsBase64 = false): Record<string, string> | undefined {
  const entries = msgs(f, n);
  if (!entries.length) return undefined;
  const out: Record<string, string> = {};
  for (const e of entries) {
    const k = str(e, 1) ?? "";
    const raw = e.get(2)?.[0];
    const bytes = raw instanceof Uint8Array ? raw : new Uint8Array();
    out[k] = bytesAsBase64 ? btoa(String.fromCharCode(...bytes)) : dec.decode(bytes);
  }
  return out;
}

function objectMeta(f: Fields | undefined): Record<string, unknown> {
  if (!f) return {};
  const m: Record<string, unknown> = clean({
    name: str(f, 1),
    generateName: str(f, 2),
    namespace: str(f, 3),
    resourceVersion: str(f, 6),
  });
  const labels = strMap(f, 11);
  const annotations = strMap(f, 12);
  const finalizers = strs(f, 14);
  if (labels) m.labels = labels;
  if (annotations) m.annotations = annotations;
  if (finalizers.length) m.finalizers = finalizers;
  return m;
}

function service(top: Fields): Record<string, unknown> {
  const spec = msg(top, 2) ?? new Map();
  const ports = msgs(spec, 1).map((p) => {
    const tp = msg(p, 4);
    const target = tp ? (num(tp, 1) === 1 ? str(tp, 3) : num(tp, 2)) : undefined;
    const out: Record<string, unknown> = clean({ name: str(p, 1), protocol: str(p, 2) });
    out.port = num(p, 3) ?? 0;
    if (target !== undefined && target !== 0 && target !== "") out.targetPort = target;
    const nodePort = num(p, 5);
    if (nodePort) out.nodePort = nodePort;
    return out;
  });
  const s: Record<string, unknown> = clean({
    clusterIP: str(spec, 3),
    type: str(spec, 4),
    externalName: str(spec, 10),
  });
  if (ports.length) s.ports = ports;
  const selector = strMap(spec, 2);
  if (selector) s.selector = selector;
  return { spec: s };
}

/** k8s.io/apimachinery intstr.IntOrString: type 1 (0 int, 1 string), intVal 2, strVal 3 */
function intOrString(f: Fields | undefined): number | string | undefined {
  if (!f) return undefined;
  return num(f, 1) === 1 ? str(f, 3) ?? "" : num(f, 2) ?? 0;
}

/** metav1.LabelSelector: matchLabels 1, matchExpressions 2 (key 1, operator 2, values 3) */
function labelSelector(f: Fields | undefined): Record<string, unknown> | undefined {
  if (!f) return undefined;
  const out: Record<string, unknown> = {};
  const ml = strMap(f, 1);
  if (ml) out.matchLabels = ml;
  const exprs = msgs(f, 2).map((e) => ({
    key: str(e, 1) ?? "",
    operator: str(e, 2) ?? "",
    values: strs(e, 3),
  }));
  if (exprs.length) out.matchExpressions = exprs;
  return out;
}

/** core/v1 Container, the fields `kubectl create job|cronjob` set */
function container(f: Fields): Record<string, unknown> {
  const c: Record<string, unknown> = clean({
    name: str(f, 1),
    image: str(f, 2),
    workingDir: str(f, 5),
    imagePullPolicy: str(f, 14),
    terminationMessagePath: str(f, 13),
    terminationMessagePolicy: str(f, 20),
  });
  const command = strs(f, 3);
  const args = strs(f, 4);
  if (command.length) c.command = command;
  if (args.length) c.args = args;
  const env = msgs(f, 7).map((e) => clean({ name: str(e, 1), value: str(e, 2) }));
  if (env.length) c.env = env;
  c.resources = {};
  return c;
}

/** core/v1 PodTemplateSpec: metadata 1, spec 2 (containers 2, restartPolicy 3, grace 4, nodeSelector 7, SA 8) */
function podTemplate(f: Fields | undefined): Record<string, unknown> {
  if (!f) return {};
  const spec = msg(f, 2) ?? new Map();
  const ps: Record<string, unknown> = clean({
    restartPolicy: str(spec, 3),
    serviceAccountName: str(spec, 8),
  });
  ps.containers = msgs(spec, 2).map(container);
  const grace = num(spec, 4);
  if (grace !== undefined) ps.terminationGracePeriodSeconds = grace;
  const nodeSelector = strMap(spec, 7);
  if (nodeSelector) ps.nodeSelector = nodeSelector;
  return { metadata: objectMeta(msg(f, 1)), spec: ps };
}

/** batch/v1 JobSpec: parallelism 1, completions 2, activeDeadlineSeconds 3, selector 4, manualSelector 5,
 * template 6, backoffLimit 7, suspend 10 */
function jobSpec(f: Fields | undefined): Record<string, unknown> {
  if (!f) return {};
  const s: Record<string, unknown> = {};
  for (
    const [k, n] of [["parallelism", 1], ["completions", 2], ["activeDeadlineSeconds", 3], [
      "backoffLimit",
      7,
    ]]
  ) {
    const v = num(f, n as number);
    if (v !== undefined) s[k as string] = v;
  }
  const selector = labelSelector(msg(f, 4));
  if (selector) s.selector = selector;
  if (num(f, 5) !== undefined) s.manualSelector = num(f, 5) === 1;
  if (num(f, 10) !== undefined) s.suspend = num(f, 10) === 1;
  s.template = podTemplate(msg(f, 6));
  return s;
}

/** Decode a protobuf create/update body for `resource` into JSON, or undefined when unsupported. */
export function decodeObject(resource: string, body: Uint8Array): Record<string, unknown> | undefined {
  const top = decodeMessage(unwrap(body));
  const metadata = objectMeta(msg(top, 1));
  switch (resource) {
    case "namespaces":
      return { apiVersion: "v1", kind: "Namespace", metadata };
    case "configmaps": {
      const o: Record<string, unknown> = { apiVersion: "v1", kind: "ConfigMap", metadata };
      const data = strMap(top, 2);
      const binaryData = strMap(top, 3, true);
      if (data) o.data = data;
      if (binaryData) o.binaryData = binaryData;
      if (num(top, 4)) o.immutable = true;
      return o;
    }
    case "secrets": {
      const o: Record<string, unknown> = { apiVersion: "v1", kind: "Secret", metadata };
      const data = strMap(top, 2, true);
      if (data) o.data = data;
      const type = str(top, 3);
      if (type) o.type = type;
      const stringData = strMap(top, 4);
      if (stringData) o.stringData = stringData;
      if (num(top, 5)) o.immutable = true;
      return o;
    }
    case "serviceaccounts":
      return { apiVersion: "v1", kind: "ServiceAccount", metadata };
    case "jobs":
      // `kubectl create job NAME --image=I [-- CMD]`
      return { apiVersion: "batch/v1", kind: "Job", metadata, spec: jobSpec(msg(top, 2)) };
    case "poddisruptionbudgets": {
      // `kubectl create pdb NAME --selector=S --min-available=N|--max-unavailable=N`
      const spec = msg(top, 2) ?? new Map();
      const s: Record<string, unknown> = {};
      const min = intOrString(msg(spec, 1));
      const max = intOrString(msg(spec, 3));
      if (min !== undefined) s.minAvailable = min;
      const selector = labelSelector(msg(spec, 2));
      if (selector) s.selector = selector;
      if (max !== undefined) s.maxUnavailable = max;
      const policy = str(spec, 4);
      if (policy) s.unhealthyPodEvictionPolicy = policy;
      return { apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata, spec: s };
    }
    case "services":
      return { apiVersion: "v1", kind: "Service", metadata, ...service(top) };
    case "resourcequotas": {
      // `kubectl create quota`: spec.hard is a map<string, Quantity>, a Quantity is { string = 1 }
      const spec: Fields = msg(top, 2) ?? new Map();
      const hard = Object.fromEntries(
        msgs(spec, 1).map((e) => [str(e, 1) ?? "", str(msg(e, 2) ?? new Map(), 1) ?? "0"]),
      );
      const scopes = (spec.get(2) ?? []).filter((v) => v instanceof Uint8Array).map((v) =>
        dec.decode(v as Uint8Array)
      );
      return {
        apiVersion: "v1",
        kind: "ResourceQuota",
        metadata,
        spec: { hard, ...(scopes.length ? { scopes } : {}) },
      };
    }
  }
  return undefined;
}
