/**
 * Where and how a session's pod is scheduled on a real cluster: image pull secrets, requests beside the
 * limits, GPUs and other extended resources, node selector, tolerations, pod annotations and a priority
 * class. Flags and config values are checked here where they enter (exit 2, one line naming the value),
 * merged (config first, a flag adds or wins per key), recorded with the session (`SessionSpec.scheduling`)
 * and turned into pod spec fields by `podScheduling`/`withRequests`. Pure.
 */
import type { V1PodSpec, V1ResourceRequirements, V1Toleration } from "@kubernetes/client-node";
import { usageError } from "../../base/errors.ts";
import { quote } from "../../base/text/escape.ts";
import { checkedCpu, checkedSize, formatCpu, formatSize, parseQuantity } from "./quantity.ts";

/** The scheduler's taint effects a toleration may name. */
export const TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"] as const;

/** The extended resource `--gpu N` asks for. */
export const GPU_RESOURCE = "nvidia.com/gpu";

export interface Toleration {
  key: string;
  operator: "Equal" | "Exists";
  value?: string;
  effect: typeof TAINT_EFFECTS[number];
}

/** What a session records of its scheduling (every field optional: unset is the cluster's default). */
export interface Scheduling {
  imagePullSecrets?: string[];
  /** requests beside the limits (canonical quantities); unset: a quarter of the limit */
  requests?: { cpu?: string; memory?: string };
  /** extended resources (nvidia.com/gpu, …): whole numbers, requested and limited alike */
  extended?: Record<string, string>;
  nodeSelector?: Record<string, string>;
  tolerations?: Toleration[];
  /** annotations on the session pod (never kodama's own) */
  annotations?: Record<string, string>;
  priorityClass?: string;
}

/** What the flags (or a config section, or a template) say, unchecked. */
export interface SchedulingInput {
  imagePullSecrets?: string[];
  cpuRequest?: string;
  memoryRequest?: string;
  gpu?: string | number;
  /** `NAME=QTY` texts (flags) or a map (config, templates) */
  resources?: string[] | Record<string, string | number>;
  nodeSelector?: string[] | Record<string, string>;
  tolerations?: string[];
  annotations?: string[] | Record<string, string>;
  priorityClass?: string;
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const NAME_PART = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** A qualified name (`[prefix/]name`), as label keys, annotation keys and resource names are. */
export function isQualifiedName(k: string): boolean {
  const slash = k.lastIndexOf("/");
  const prefix = slash >= 0 ? k.slice(0, slash) : undefined;
  const name = slash >= 0 ? k.slice(slash + 1) : k;
  if (name.length === 0 || name.length > 63 || !NAME_PART.test(name)) return false;
  return prefix === undefined || (prefix.length > 0 && prefix.length <= 253 && DNS_SUBDOMAIN.test(prefix));
}

/** An object name (a Secret, a PriorityClass, a ServiceAccount): a DNS subdomain; exit 2 naming `what`. */
export function checkedObjectName(name: string, what: string): string {
  if (name.length <= 253 && DNS_SUBDOMAIN.test(name)) return name;
  throw usageError(
    `invalid ${what} ${quote(name)}: not an object name`,
    "lowercase letters, digits, '-' and '.', at most 253 characters",
  );
}

/** `K=V` texts or a map as entries, keys checked as qualified names (`what`: the flag or key). */
function pairs(
  input: string[] | Record<string, string | number> | undefined,
  what: string,
  value: (v: string, k: string) => void,
): [string, string][] {
  const list: [string, string][] = Array.isArray(input)
    ? input.map((t) => {
      const i = t.indexOf("=");
      if (i <= 0) throw usageError(`invalid ${what} ${quote(t)}: expected KEY=VALUE`);
      return [t.slice(0, i), t.slice(i + 1)];
    })
    : Object.entries(input ?? {}).map(([k, v]) => [k, String(v)]);
  for (const [k, v] of list) {
    if (!isQualifiedName(k)) {
      throw usageError(
        `invalid ${what} key ${quote(k)}: not a label key`,
        "a name of letters, digits, '-', '_' and '.' (at most 63), with an optional DNS prefix: example.com/gpu-type",
      );
    }
    value(v, k);
  }
  return list;
}

function labelValue(what: string) {
  return (v: string, k: string) => {
    if (v.length > 63 || !LABEL_VALUE.test(v)) {
      throw usageError(
        `invalid ${what} ${quote(`${k}=${v}`)}: ${quote(v)} is not a label value`,
        "at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit",
      );
    }
  };
}

/** `KEY[=VALUE]:EFFECT` (Equal) or `KEY:EFFECT` (Exists), as the API server validates a toleration. */
export function parseToleration(text: string): Toleration {
  const m = /^([^=:]+)(?:=([^:]*))?:([^:]+)$/.exec(text);
  const hint = "KEY[=VALUE]:EFFECT, e.g. gpu=true:NoSchedule or spot:NoExecute";
  if (!m) throw usageError(`invalid --toleration ${quote(text)}: expected KEY[=VALUE]:EFFECT`, hint);
  const [, key, value, effect] = m;
  if (!isQualifiedName(key)) {
    throw usageError(`invalid --toleration ${quote(text)}: ${quote(key)} is not a taint key`, hint);
  }
  if (value !== undefined) labelValue("--toleration")(value, key);
  if (!(TAINT_EFFECTS as readonly string[]).includes(effect)) {
    throw usageError(
      `invalid --toleration ${quote(text)}: effect ${quote(effect)}`,
      `the effects are ${TAINT_EFFECTS.join(", ")}`,
    );
  }
  return value === undefined
    ? { key, operator: "Exists", effect: effect as Toleration["effect"] }
    : { key, operator: "Equal", value, effect: effect as Toleration["effect"] };
}

/** An extended resource's amount: a whole number above 0 (the API server refuses fractions of a device). */
function wholeAmount(name: string, v: string, what: string): string {
  const q = parseQuantity(v);
  if (!q || q.num <= 0n || q.num % q.den !== 0n) {
    throw usageError(
      `invalid ${what} ${quote(`${name}=${v}`)}: ${quote(v)} is not a whole number above 0`,
      "an extended resource (a GPU, a device) is counted in whole units, e.g. --gpu 1",
    );
  }
  return String(q.num / q.den);
}

const OWN = ["cpu", "memory", "ephemeral-storage"];

/** The extended resources asked for: `--gpu N` and every `--resource NAME=QTY`. */
function extendedOf(i: SchedulingInput): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of pairs(i.resources, "--resource", () => {})) {
    if (OWN.includes(k) || k.startsWith("requests.") || k.startsWith("limits.")) {
      throw usageError(
        `invalid --resource ${quote(k)}: cpu, memory and ephemeral-storage have their own settings`,
        "use --cpu/--memory (limits) and --cpu-request/--memory-request",
      );
    }
    if (!k.includes("/") || k.startsWith("kubernetes.io/")) {
      throw usageError(
        `invalid --resource ${quote(k)}: an extended resource has a domain prefix outside kubernetes.io`,
        "e.g. nvidia.com/gpu=1, amd.com/gpu=1, example.com/fpga=2",
      );
    }
    out[k] = wholeAmount(k, v, "--resource");
  }
  if (i.gpu !== undefined) out[GPU_RESOURCE] = wholeAmount(GPU_RESOURCE, String(i.gpu), "--gpu");
  return out;
}

const nonEmpty = <T extends object>(o: T) => Object.keys(o).length > 0;

/** Check and canonicalise one source's scheduling (exit 2 on the first bad value). */
export function checkedScheduling(i: SchedulingInput): Scheduling {
  const secrets = [
    ...new Set((i.imagePullSecrets ?? []).map((s) => checkedObjectName(s, "--image-pull-secret"))),
  ];
  const requests = {
    ...(i.cpuRequest !== undefined ? { cpu: formatCpu(checkedCpu(i.cpuRequest, "--cpu-request")) } : {}),
    ...(i.memoryRequest !== undefined
      ? { memory: formatSize(checkedSize(i.memoryRequest, "--memory-request")) }
      : {}),
  };
  const extended = extendedOf(i);
  const nodeSelector = Object.fromEntries(
    pairs(i.nodeSelector, "--node-selector", labelValue("--node-selector")),
  );
  const tolerations = (i.tolerations ?? []).map(parseToleration);
  const annotations = Object.fromEntries(pairs(i.annotations, "--annotation", () => {}));
  for (const k of Object.keys(annotations)) {
    if (k.startsWith("kodama.dev/")) {
      throw usageError(`invalid --annotation ${quote(k)}: kodama.dev/* annotations are kodama's own`);
    }
  }
  const priorityClass = i.priorityClass !== undefined
    ? checkedObjectName(i.priorityClass, "--priority-class")
    : undefined;
  return {
    ...(secrets.length ? { imagePullSecrets: secrets } : {}),
    ...(nonEmpty(requests) ? { requests } : {}),
    ...(nonEmpty(extended) ? { extended } : {}),
    ...(nonEmpty(nodeSelector) ? { nodeSelector } : {}),
    ...(tolerations.length ? { tolerations } : {}),
    ...(nonEmpty(annotations) ? { annotations } : {}),
    ...(priorityClass ? { priorityClass } : {}),
  };
}

/** Layers, lowest first (config, template, flags): lists add up, maps and single values are overridden. */
export function mergeScheduling(...layers: Scheduling[]): Scheduling {
  const out: Scheduling = {};
  for (const l of layers) {
    if (l.imagePullSecrets) {
      out.imagePullSecrets = [...new Set([...(out.imagePullSecrets ?? []), ...l.imagePullSecrets])];
    }
    if (l.requests) out.requests = { ...out.requests, ...l.requests };
    if (l.extended) out.extended = { ...out.extended, ...l.extended };
    if (l.nodeSelector) out.nodeSelector = { ...out.nodeSelector, ...l.nodeSelector };
    if (l.tolerations) {
      const seen = new Set((out.tolerations ?? []).map((t) => JSON.stringify(t)));
      out.tolerations = [
        ...(out.tolerations ?? []),
        ...l.tolerations.filter((t) => !seen.has(JSON.stringify(t))),
      ];
    }
    if (l.annotations) out.annotations = { ...out.annotations, ...l.annotations };
    if (l.priorityClass) out.priorityClass = l.priorityClass;
  }
  return out;
}

/** A request above its limit is refused by the API server; say so first, naming both flags. */
export function checkRequests(s: Scheduling, limits: { cpu: string; memory: string }): void {
  const over = (req: string | undefined, lim: string, cpu: boolean) => {
    if (req === undefined) return false;
    const a = cpu ? checkedCpu(req, "--cpu-request") : checkedSize(req, "--memory-request");
    const b = cpu ? checkedCpu(lim, "--cpu") : checkedSize(lim, "--memory");
    return a > b;
  };
  if (over(s.requests?.cpu, limits.cpu, true)) {
    throw usageError(
      `--cpu-request ${s.requests!.cpu} is above the CPU limit ${limits.cpu}`,
      "raise --cpu too",
    );
  }
  if (over(s.requests?.memory, limits.memory, false)) {
    throw usageError(
      `--memory-request ${s.requests!.memory} is above the memory limit ${limits.memory}`,
      "raise --memory too",
    );
  }
}

/** The session container's resources with the recorded requests and extended resources applied. */
export function withRequests(r: V1ResourceRequirements, s: Scheduling | undefined): V1ResourceRequirements {
  if (!s?.requests && !s?.extended) return r;
  return {
    requests: { ...r.requests, ...s.requests, ...s.extended },
    limits: { ...r.limits, ...s.extended },
  };
}

/** Placement every pod of the session shares (its helper pods too): pull secrets, node selector, tolerations. */
export function podPlacement(s: Scheduling | undefined): Partial<V1PodSpec> {
  if (!s) return {};
  return {
    ...(s.imagePullSecrets?.length ? { imagePullSecrets: s.imagePullSecrets.map((name) => ({ name })) } : {}),
    ...(s.nodeSelector ? { nodeSelector: { ...s.nodeSelector } } : {}),
    ...(s.tolerations?.length ? { tolerations: s.tolerations.map((t) => ({ ...t }) as V1Toleration) } : {}),
  };
}

/** The session pod's own fields: its placement and its priority class. */
export function podScheduling(s: Scheduling | undefined): Partial<V1PodSpec> {
  return { ...podPlacement(s), ...(s?.priorityClass ? { priorityClassName: s.priorityClass } : {}) };
}

/** One line per setting for `session get` (empty when none is set). */
export function schedulingRows(s: Scheduling | undefined): [string, string][] {
  if (!s) return [];
  const kv = (o: Record<string, string>) => Object.entries(o).map(([k, v]) => `${k}=${v}`).join(", ");
  const rows: [string, string][] = [];
  if (s.requests) rows.push(["Requests", kv(s.requests)]);
  if (s.extended) rows.push(["Devices", kv(s.extended)]);
  if (s.nodeSelector) rows.push(["Node labels", kv(s.nodeSelector)]);
  if (s.tolerations?.length) rows.push(["Tolerations", s.tolerations.map(tolerationText).join(", ")]);
  if (s.imagePullSecrets?.length) rows.push(["Pull secret", s.imagePullSecrets.join(", ")]);
  if (s.priorityClass) rows.push(["Priority", s.priorityClass]);
  if (s.annotations) rows.push(["Annotations", kv(s.annotations)]);
  return rows;
}

/** A toleration as the flag spells it. */
export function tolerationText(t: Toleration): string {
  return `${t.key}${t.operator === "Equal" ? `=${t.value ?? ""}` : ""}:${t.effect}`;
}
