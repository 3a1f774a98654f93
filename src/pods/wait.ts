/**
 * `wait`: block until the pods of a target are ready / deleted / in a phase / exist.
 * Watch-driven (Kube.watchPods) with a slow re-list as a safety net; progress is reported
 * through `onProgress` (the CLI renders it, workflows log it). The state machine is pure
 * (WaitState) so it is unit-tested without a cluster.
 */
import { podIsReady } from "../kube/podstatus.ts";
import type { V1Pod } from "@kubernetes/client-node";
import { type Workload, WORKLOAD_APIS } from "../kube/resources.ts";
import type { KubeObjects, KubeTargets } from "../kube/seam.ts";
import { type Clock, realClock } from "../base/clock.ts";
import { isWorkloadKind, refString } from "./resource.ts";
import { ExitCode, KodamaError, timeoutError, usageError } from "../base/errors.ts";
import {
  compileRegex,
  fieldSelectorWith,
  filterPods,
  findPods,
  findPodsAt,
  nothingMatched,
  resolveTarget,
  type TargetFlags,
  targetNamespace,
} from "./target.ts";
import { formatDuration } from "../base/duration.ts";
import { evalJsonPath, type JsonPathCondition, parseJsonPathCondition } from "./jsonpath.ts";
import { quote } from "../base/text/escape.ts";

export type WaitFor = "ready" | "deleted" | `phase=${string}` | "exists";

/** `--for condition=TYPE[=STATUS]` for any pod condition (type and status compared case-insensitively, as kubectl). */
export interface ConditionWait {
  kind: "condition";
  type: string;
  status: string;
}

/** `--for jsonpath='{.status.phase}'=Running` (or without a value: the field is set). */
export interface JsonPathWait {
  kind: "jsonpath";
  jsonpath: JsonPathCondition;
}

/** Everything `--for` can ask for. */
export type WaitCondition = WaitFor | ConditionWait | JsonPathWait;

/** The pod phases of the API (capitalised as it spells them). */
export const PHASES = ["Pending", "Running", "Succeeded", "Failed", "Unknown"];

const FOR_FORMS =
  "use --for ready, deleted, exists, phase=Running, condition=Ready[=False], or jsonpath='{.status.phase}'=Running";

/**
 * Parse `--for` as kubectl reads it, plus kodama's short forms: ready, delete(d), exists/create,
 * phase=running, `condition=TYPE[=STATUS]` (STATUS defaults to true), `jsonpath=EXPR[=VALUE]`.
 */
export function parseWaitFor(s: string): WaitCondition {
  const v = s.trim();
  const lower = v.toLowerCase();
  if (lower === "ready") return "ready";
  if (lower === "delete" || lower === "deleted") return "deleted";
  if (lower === "exists" || lower === "exist" || lower === "create" || lower === "created") return "exists";
  const m = /^phase=(\w+)$/i.exec(v);
  if (m) {
    const phase = PHASES.find((p) => p.toLowerCase() === m[1].toLowerCase());
    if (!phase) {
      throw usageError(`unknown pod phase ${quote(m[1])} in --for ${s}`, `phases: ${PHASES.join(", ")}`);
    }
    return `phase=${phase}`;
  }
  if (v.startsWith("condition=")) {
    // kubectl: the first '=' after the name separates the status; no status means true
    const rest = v.slice("condition=".length);
    const eq = rest.indexOf("=");
    const type = (eq < 0 ? rest : rest.slice(0, eq)).trim();
    const status = eq < 0 ? "true" : rest.slice(eq + 1).trim();
    if (!type || !status) {
      throw usageError(`invalid --for ${JSON.stringify(s)}: no condition type or status`, FOR_FORMS);
    }
    if (type.toLowerCase() === "ready" && status.toLowerCase() === "true") return "ready";
    return { kind: "condition", type, status };
  }
  if (v.startsWith("jsonpath=")) {
    const jsonpath = parseJsonPathCondition(v.slice("jsonpath=".length));
    // the phase, as kodama always took it (case-insensitive, checked against the API's phases)
    if (jsonpath.path === "$.status.phase" && jsonpath.value !== undefined) {
      return parseWaitFor(`phase=${jsonpath.value}`);
    }
    return { kind: "jsonpath", jsonpath };
  }
  throw usageError(`invalid --for ${JSON.stringify(s)}`, FOR_FORMS);
}

/** The pod's Ready condition, false while it is being deleted (what `--for ready` waits for). */
export const isReady: (p: V1Pod) => boolean = podIsReady;

/** A pod condition's status by type (case-insensitive, as kubectl compares), or undefined. */
function conditionStatus(p: V1Pod, type: string): string | undefined {
  return p.status?.conditions?.find((c) => c.type.toLowerCase() === type.toLowerCase())?.status;
}

/**
 * Does one pod satisfy the condition (deleted/exists are about the set, not one pod)? A jsonpath that
 * yields several values or an object is kubectl's error (exit 2).
 */
export function podSatisfies(p: V1Pod, cond: WaitCondition): boolean {
  if (typeof cond !== "string") {
    if (cond.kind === "condition") {
      return conditionStatus(p, cond.type)?.toLowerCase() === cond.status.toLowerCase();
    }
    const r = evalJsonPath({ apiVersion: "v1", kind: "Pod", ...p }, cond.jsonpath);
    if (r.error) throw usageError(`--for jsonpath=${cond.jsonpath.expr}: ${r.error}`, FOR_FORMS);
    return r.met;
  }
  if (cond === "ready") return isReady(p);
  if (cond.startsWith("phase=")) return p.status?.phase === cond.slice(6);
  return cond === "exists";
}

/** What a condition is called in messages: "ready", "deleted", "Running", "present", "Ready=False", "{.x}=1". */
export function condLabel(cond: WaitCondition): string {
  if (typeof cond !== "string") {
    if (cond.kind === "condition") return `${cond.type}=${cond.status}`;
    const j = cond.jsonpath;
    return j.value === undefined ? `with ${j.expr} set` : `${j.expr}=${j.value}`;
  }
  if (cond.startsWith("phase=")) return cond.slice(6);
  return cond === "exists" ? "present" : cond;
}

function rv(p: V1Pod): number | undefined {
  const n = Number(p.metadata?.resourceVersion);
  return Number.isFinite(n) && p.metadata?.resourceVersion ? n : undefined;
}

export interface WaitProgress {
  done: number;
  total: number;
  /** names (namespace/name with -A) still pending, sorted */
  pending: string[];
  /** why each pending pod is not there yet (ImagePullBackOff, Unschedulable, Ready=True …), same order */
  reasons?: string[];
  finished: boolean;
}

/**
 * The pure state of a wait: the pods currently matching (by uid), what was there at the start
 * (for `deleted`), and the progress derived from them.
 */
export class WaitState {
  /** uid -> pod, pods that currently match the target */
  readonly pods = new Map<string, V1Pod>();
  /** uid -> resourceVersion of deletions seen (so a stale re-list cannot resurrect them) */
  private gone = new Map<string, number | undefined>();
  /** for `deleted`: the pods present at the start, uid -> last seen pod */
  readonly tracked = new Map<string, V1Pod>();
  /** pods seen deleted (for `deleted` results) */
  readonly deleted: V1Pod[] = [];

  constructor(readonly cond: WaitCondition, readonly withNamespace = false) {}

  private key(p: V1Pod): string {
    return p.metadata?.uid || `${p.metadata?.namespace}/${p.metadata?.name}`;
  }

  label(p: V1Pod): string {
    return this.withNamespace ? `${p.metadata?.namespace}/${p.metadata?.name}` : p.metadata?.name ?? "?";
  }

  /** The initial list: every pod in it is tracked for `deleted`. */
  start(pods: V1Pod[]): void {
    for (const p of pods) {
      this.pods.set(this.key(p), p);
      this.tracked.set(this.key(p), p);
    }
  }

  /** Apply a watch event for a pod that matches the target. */
  apply(type: "ADDED" | "MODIFIED" | "DELETED", p: V1Pod): void {
    const k = this.key(p);
    if (type === "DELETED") {
      this.pods.delete(k);
      if (!this.gone.has(k)) {
        this.gone.set(k, rv(p));
        if (this.tracked.has(k)) this.deleted.push(p);
      }
      return;
    }
    if (this.gone.has(k)) return;
    const old = this.pods.get(k);
    const a = old && rv(old), b = rv(p);
    if (a !== undefined && b !== undefined && b < a) return; // stale
    this.pods.set(k, p);
  }

  /** Reconcile with a fresh list: pods missing from it are gone. */
  relist(pods: V1Pod[]): void {
    const seen = new Set<string>();
    for (const p of pods) {
      seen.add(this.key(p));
      this.apply("MODIFIED", p);
    }
    for (const [k, p] of [...this.pods]) if (!seen.has(k)) this.apply("DELETED", p);
  }

  progress(): WaitProgress {
    const sortNames = (a: string[]) => a.sort();
    if (this.cond === "deleted") {
      const pending = [...this.tracked.keys()].filter((k) => this.pods.has(k)).map((k) =>
        this.label(this.pods.get(k)!)
      );
      const total = this.tracked.size;
      return {
        done: total - pending.length,
        total,
        pending: sortNames(pending),
        reasons: this.pendingPods().map((p) => shortReason(p, this.cond)),
        finished: pending.length === 0,
      };
    }
    const all = [...this.pods.values()];
    if (this.cond === "exists") {
      return { done: all.length, total: all.length, pending: [], finished: all.length > 0 };
    }
    const pendingPods = this.pendingPods();
    return {
      done: all.length - pendingPods.length,
      total: all.length,
      pending: pendingPods.map((p) => this.label(p)),
      reasons: pendingPods.map((p) => shortReason(p, this.cond)),
      finished: all.length > 0 && pendingPods.length === 0,
    };
  }

  /** The pods still pending, sorted like `progress().pending`. */
  pendingPods(): V1Pod[] {
    const byName = (a: V1Pod, b: V1Pod) => this.label(a).localeCompare(this.label(b));
    if (this.cond === "deleted") {
      return [...this.tracked.keys()].filter((k) => this.pods.has(k)).map((k) => this.pods.get(k)!).sort(
        byName,
      );
    }
    if (this.cond === "exists") return [];
    return [...this.pods.values()].filter((p) => !podSatisfies(p, this.cond)).sort(byName);
  }

  /** The result pods: matching pods, or for `deleted` the ones that went away. */
  result(): V1Pod[] {
    const byName = (a: V1Pod, b: V1Pod) => this.label(a).localeCompare(this.label(b));
    if (this.cond === "deleted") return [...this.deleted].sort(byName);
    return [...this.pods.values()].sort(byName);
  }
}

/**
 * Why a pod is still pending, from its status: "Pending: ImagePullBackOff", "Running, not ready:
 * container web", "terminating", "phase Running" — so a timeout says what to look at.
 */
export function pendingReason(p: V1Pod, cond: WaitCondition): string {
  if (typeof cond !== "string") {
    const stuck = shortReason(p, "ready");
    return `${currentValue(p, cond)}, phase ${p.status?.phase ?? "Unknown"}${
      stuck === p.status?.phase || stuck === "NotReady" ? "" : `, ${stuck}`
    }`;
  }
  const phase = p.status?.phase ?? "Unknown";
  if (cond === "deleted") {
    return p.metadata?.deletionTimestamp ? "terminating" : `${phase}, not being deleted`;
  }
  const waiting = (p.status?.containerStatuses ?? [])
    .map((c) => c.state?.waiting?.reason ? `${c.name} ${c.state.waiting.reason}` : "")
    .filter(Boolean);
  if (cond.startsWith("phase=")) return [`phase ${phase}`, ...waiting].join(", ");
  if (p.metadata?.deletionTimestamp) return "terminating";
  if (phase !== "Running") return [phase, ...waiting].join(", ");
  const notReady = (p.status?.containerStatuses ?? []).filter((c) => !c.ready).map((c) => c.name);
  if (waiting.length) return `Running, ${waiting.join(", ")}`;
  return notReady.length ? `Running, not ready: ${notReady.join(", ")}` : "Running, not ready";
}

/** What a condition/jsonpath wait sees on the pod now: `Ready=True`, `no Ready condition`, `{.x} is 3`. */
function currentValue(p: V1Pod, cond: ConditionWait | JsonPathWait): string {
  if (cond.kind === "condition") {
    const st = conditionStatus(p, cond.type);
    return st === undefined ? `no ${cond.type} condition` : `${cond.type}=${st}`;
  }
  const r = evalJsonPath({ apiVersion: "v1", kind: "Pod", ...p }, cond.jsonpath);
  return r.current === undefined ? `${cond.jsonpath.expr} not set` : `${cond.jsonpath.expr} is ${r.current}`;
}

/**
 * One word for the live progress: why this pod is not there yet — the waiting reason of a container
 * (ContainerCreating, ErrImagePull, ImagePullBackOff, CrashLoopBackOff, PodInitializing, init ones as
 * `Init:…`), Unschedulable, Terminating, else the phase, `NotReady`, or the condition's current value.
 */
export function shortReason(p: V1Pod, cond: WaitCondition): string {
  if (p.metadata?.deletionTimestamp) return "Terminating";
  if (cond === "deleted") return p.status?.phase ?? "Unknown";
  if (typeof cond !== "string") return currentValue(p, cond);
  for (const c of p.status?.initContainerStatuses ?? []) {
    const w = c.state?.waiting?.reason;
    if (w && w !== "PodInitializing") return `Init:${w}`;
  }
  for (const c of p.status?.containerStatuses ?? []) {
    const w = c.state?.waiting?.reason;
    if (w) return w;
  }
  const sched = p.status?.conditions?.find((c) => c.type === "PodScheduled" && c.status === "False");
  if (sched?.reason) return sched.reason;
  const phase = p.status?.phase ?? "Unknown";
  if (phase === "Running" && cond === "ready") return "NotReady";
  return phase;
}

/** Names joined for a one-line message, at most `max` then "+N more". */
export function listNames(names: string[], max = 5): string {
  if (names.length <= max) return names.join(", ");
  return `${names.slice(0, max).join(", ")} +${names.length - max} more`;
}

/** `3/5 ready: waiting for api-1 (ImagePullBackOff), api-2 (ContainerCreating)` (the live progress line). */
export function formatWaitProgress(cond: WaitCondition, p: WaitProgress, maxNames = 5): string {
  if (cond === "exists") {
    return p.finished
      ? `${p.total} pod${p.total === 1 ? "" : "s"} present`
      : "waiting for matching pods to appear";
  }
  const head = `${p.done}/${p.total} ${condLabel(cond)}`;
  if (p.finished) return head;
  if (p.total === 0) return `${head}: waiting for matching pods`;
  const named = p.reasons?.length === p.pending.length
    ? p.pending.map((n, i) => `${n} (${p.reasons![i]})`)
    : p.pending;
  return `${head}: waiting for ${listNames(named, maxNames)}`;
}

export { ProgressRenderer } from "../ui/progress.ts";

export interface WaitOptions {
  for: WaitCondition;
  timeoutMs: number;
  signal?: AbortSignal;
  /** called on every change; `finished` is WaitState's own verdict (never re-derived by callers) */
  onProgress?: (
    done: number,
    total: number,
    pending: string[],
    finished: boolean,
    reasons?: string[],
  ) => void;
  /** safety-net re-list period (default 5 s) */
  relistMs?: number;
  /** what the timeout is called in hints (default `--timeout`; a workflow step says "the step's timeout") */
  timeoutName?: string;
  /** the timeout and the re-list run on it (tests: a manual clock) */
  clock?: Clock;
}

/**
 * Wait until the target's pods meet `o.for`. Resolves with the pods (for `deleted`: the pods
 * that were deleted). Throws exit 3 when nothing matches for ready/phase, exit 5 on timeout
 * naming the pods still pending, exit 130 when `signal` aborts.
 * `timeoutMs` 0 checks once; a negative value waits without limit.
 */
export async function waitForPods(kube: KubeTargets, t: TargetFlags, o: WaitOptions): Promise<V1Pod[]> {
  const clock = o.clock ?? realClock;
  compileRegex(t.regex);
  // deploy/api -> its selector, read once: pods it creates while we wait are watched like -l
  const tt: TargetFlags = { ...(await resolveTarget(kube, t)), includeNotReady: true };
  const ns = targetNamespace(kube, tt);
  const state = new WaitState(o.for, ns === undefined);
  const started = clock.now();
  let lastSig = "";
  const report = (): WaitProgress => {
    const p = state.progress();
    const sig = `${p.done}/${p.total}/${p.pending.join(",")}/${p.reasons?.join(",")}`;
    if (sig !== lastSig) {
      lastSig = sig;
      o.onProgress?.(p.done, p.total, p.pending, p.finished, p.reasons);
    }
    return p;
  };

  // the watch starts from what this read saw: a pod deleted between the two is a DELETED event, not a pod
  // the wait holds until its next re-list (5 s on)
  const first = await findPodsAt(kube, tt);
  state.start(first.pods);
  if (state.pods.size === 0 && o.for !== "exists" && o.for !== "deleted") {
    throw nothingMatched(tt, kube.namespace, "use --for exists to wait for matching pods to appear");
  }
  let p = report();
  if (p.finished) return state.result();
  const timeoutName = o.timeoutName ?? "--timeout";
  /** `lead` is "timed out after 2m": ours, or the caller's when its own timer aborted `signal` */
  const timeoutMsg = (lead = `timed out after ${formatDuration(Math.max(o.timeoutMs, 0))}`) => {
    const q = state.progress();
    // the server went away: that, not the pods, is why nothing happened
    if (kube.reach.down) {
      return timeoutError(
        `${lead}: ${kube.reach.describe()}`,
        "is the cluster running? try `kubectl cluster-info`",
      );
    }
    if (o.for === "exists") {
      return timeoutError(
        `${lead} waiting for pods to appear`,
        `check the namespace (-n, -A) and filters (-m, -l), or raise ${timeoutName}`,
      );
    }
    const why = state.pendingPods().slice(0, 10).map((p) => `${state.label(p)} (${pendingReason(p, o.for)})`);
    const more = q.pending.length > why.length ? ` +${q.pending.length - why.length} more` : "";
    return timeoutError(
      `${lead}: ${q.pending.length} of ${q.total} pods not ${condLabel(o.for)}: ${why.join(", ")}${more}`,
      `raise ${timeoutName}, or look at the pending pods with \`kodama pods\``,
    );
  };
  if (o.timeoutMs === 0) throw timeoutMsg();

  const ac = new AbortController();
  const finished = Promise.withResolvers<V1Pod[]>();
  const check = () => {
    try {
      p = report();
    } catch (e) {
      return finished.reject(e); // a jsonpath that cannot be compared (several values, an object)
    }
    if (p.finished) finished.resolve(state.result());
  };
  // a caller's own timer (a workflow step's timeout) aborts with a timeout: report the pending pods too
  const onAbort = () => {
    const r = o.signal?.reason;
    finished.reject(
      r instanceof KodamaError && r.code === ExitCode.TIMEOUT
        ? timeoutMsg(r.message)
        : new KodamaError("interrupted", ExitCode.INTERRUPTED),
    );
  };
  if (o.signal?.aborted) onAbort();
  o.signal?.addEventListener("abort", onAbort, { once: true });
  const cancelTimer = o.timeoutMs > 0
    ? clock.after(Math.max(0, started + o.timeoutMs - clock.now()), () => finished.reject(timeoutMsg()))
    : undefined;

  kube.watchPods(
    ns,
    { labelSelector: tt.selector, fieldSelector: fieldSelectorWith(tt) },
    (type, pod) => {
      if (ac.signal.aborted) return;
      if (type !== "DELETED" && filterPods([pod], tt).length === 0) {
        // no longer matches (e.g. a label changed): treat as gone from the target
        state.apply("DELETED", pod);
      } else state.apply(type, pod);
      check();
    },
    ac.signal,
    first.resourceVersion,
  ).catch((e) => finished.reject(e));

  const relistMs = o.relistMs ?? 5000;
  let relisting = false;
  const cancelRelist = clock.after(relistMs, async () => {
    if (relisting || ac.signal.aborted) return;
    relisting = true;
    try {
      const pods = await findPods(kube, tt);
      if (!ac.signal.aborted) {
        state.relist(pods);
        check();
      }
    } catch {
      /* the watch reports persistent errors */
    } finally {
      relisting = false;
    }
  }, true);

  try {
    return await finished.promise;
  } finally {
    ac.abort();
    cancelRelist();
    cancelTimer?.();
    o.signal?.removeEventListener("abort", onAbort);
  }
}

// ------------------------------------------------------------------ a workload's own condition

/** The condition types a pod has: any other type on a workload target is the workload's own (Available…). */
const POD_CONDITION_TYPES = [
  "podscheduled",
  "podreadytostartcontainers",
  "podhasnetwork",
  "initialized",
  "containersready",
  "ready",
  "disruptiontarget",
];

/**
 * `wait deploy/api --for condition=Available` means the Deployment's condition, as in kubectl (pods have
 * no such condition): the condition to wait for on the object, or undefined when the pods are meant.
 */
export function workloadCondition(t: TargetFlags, cond: WaitCondition): ConditionWait | undefined {
  if (typeof cond === "string" || cond.kind !== "condition") return undefined;
  if (!t.resource || !isWorkloadKind(t.resource.kind)) return undefined;
  return POD_CONDITION_TYPES.includes(cond.type.toLowerCase()) ? undefined : cond;
}

/** kubectl's name for the object in `… condition met`: `deployment.apps/api`. */
export function kubectlName(r: { kind: string; name: string }): string {
  const group = r.kind === "job" ? "batch" : "apps";
  return `${r.kind}.${group}/${r.name}`;
}

/** What the workload's condition says now (kubectl counts it only once the controller saw the latest spec). */
export function workloadConditionState(
  w: Workload,
  cond: ConditionWait,
): { met: boolean; line: string; message?: string } {
  const status = w.status;
  const gen = w.metadata?.generation;
  const stale = gen !== undefined && status?.observedGeneration !== undefined &&
    status.observedGeneration < gen;
  const c = status?.conditions?.find((x) => x.type.toLowerCase() === cond.type.toLowerCase());
  if (!c) return { met: false, line: `no ${cond.type} condition yet` };
  const met = !stale && c.status.toLowerCase() === cond.status.toLowerCase();
  return {
    met,
    line: `${c.type}=${c.status}${c.reason ? ` (${c.reason})` : ""}${stale ? ", not observed yet" : ""}`,
    message: c.message,
  };
}

/**
 * Wait until the workload named by `t.resource` has `cond` (read every second). Resolves with kubectl's
 * name for it; exit 5 on timeout with the condition's last state and message; 130 when `signal` aborts.
 */
export async function waitForWorkload(
  kube: KubeObjects,
  t: TargetFlags,
  cond: ConditionWait,
  o: {
    timeoutMs: number;
    signal?: AbortSignal;
    onProgress?: (line: string) => void;
    pollMs?: number;
    clock?: Clock;
  },
): Promise<string> {
  const clock = o.clock ?? realClock;
  const r = t.resource!;
  if (!isWorkloadKind(r.kind)) throw usageError(`cannot wait for a condition of ${refString(r)}`);
  const namespace = t.namespace ?? kube.namespace;
  const started = clock.now();
  let last = "";
  let lastMessage: string | undefined;
  for (;;) {
    if (o.signal?.aborted) throw new KodamaError("interrupted", ExitCode.INTERRUPTED);
    const w = await kube.getObject<Workload>(WORKLOAD_APIS[r.kind].resource, namespace, r.name);
    const st = workloadConditionState(w, cond);
    if (st.met) return kubectlName(r);
    if (st.line !== last) o.onProgress?.(`${refString(r)}: ${st.line}`);
    last = st.line;
    lastMessage = st.message;
    const left = o.timeoutMs < 0 ? Infinity : started + o.timeoutMs - clock.now();
    if (left <= 0) {
      throw timeoutError(
        `timed out after ${formatDuration(Math.max(o.timeoutMs, 0))} waiting for ${refString(r)} ${
          condLabel(cond)
        }: ${last}${lastMessage ? `: ${lastMessage}` : ""}`,
        "raise --timeout, or look at it with `kubectl describe " + `${r.kind} ${r.name} -n ${namespace}\``,
      );
    }
    await clock.sleep(Math.min(o.pollMs ?? 1000, left), o.signal);
  }
}
