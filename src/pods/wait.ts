/**
 * `wait`: block until the pods of a target are ready / deleted / in a phase / exist.
 * Watch-driven (Kube.watchPods) with a slow re-list as a safety net; progress is reported
 * through `onProgress` (the CLI renders it, workflows log it). The state machine is pure
 * (WaitState) so it is unit-tested without a cluster.
 */
import type { V1Pod } from "@kubernetes/client-node";
import type { Kube } from "../kube/client.ts";
import { ExitCode, KodamaError, timeoutError, usageError } from "../errors.ts";
import {
  compileRegex,
  fieldSelectorWith,
  filterPods,
  findPods,
  nothingMatched,
  resolveTarget,
  type TargetFlags,
  targetNamespace,
} from "./target.ts";
import { formatDuration } from "../ui/duration.ts";

export type WaitFor = "ready" | "deleted" | `phase=${string}` | "exists";

/** The pod phases of the API (capitalised as it spells them). */
export const PHASES = ["Pending", "Running", "Succeeded", "Failed", "Unknown"];

/** Parse `--for`: ready, condition=Ready, delete(d), phase=running, exists, create. */
export function parseWaitFor(s: string): WaitFor {
  const v = s.trim();
  const lower = v.toLowerCase();
  if (lower === "ready" || lower === "condition=ready") return "ready";
  if (lower === "delete" || lower === "deleted") return "deleted";
  if (lower === "exists" || lower === "exist" || lower === "create" || lower === "created") return "exists";
  const m = /^(?:phase|jsonpath=\{\.status\.phase\})=(\w+)$/i.exec(v);
  if (m) {
    const phase = PHASES.find((p) => p.toLowerCase() === m[1].toLowerCase());
    if (!phase) throw usageError(`unknown pod phase "${m[1]}" in --for ${s}`, `phases: ${PHASES.join(", ")}`);
    return `phase=${phase}`;
  }
  throw usageError(
    `invalid --for ${JSON.stringify(s)}`,
    "use --for ready, --for deleted, --for phase=Running or --for exists",
  );
}

export function isReady(p: V1Pod): boolean {
  if (p.metadata?.deletionTimestamp) return false;
  return p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

/** Does one pod satisfy the condition (deleted/exists are about the set, not one pod)? */
export function podSatisfies(p: V1Pod, cond: WaitFor): boolean {
  if (cond === "ready") return isReady(p);
  if (cond.startsWith("phase=")) return p.status?.phase === cond.slice(6);
  return cond === "exists";
}

/** What a condition is called in messages: "ready", "deleted", "Running", "present". */
export function condLabel(cond: WaitFor): string {
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

  constructor(readonly cond: WaitFor, readonly withNamespace = false) {}

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
        finished: pending.length === 0,
      };
    }
    const all = [...this.pods.values()];
    if (this.cond === "exists") {
      return { done: all.length, total: all.length, pending: [], finished: all.length > 0 };
    }
    const pending = all.filter((p) => !podSatisfies(p, this.cond)).map((p) => this.label(p));
    return {
      done: all.length - pending.length,
      total: all.length,
      pending: sortNames(pending),
      finished: all.length > 0 && pending.length === 0,
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
export function pendingReason(p: V1Pod, cond: WaitFor): string {
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

/** Names joined for a one-line message, at most `max` then "+N more". */
export function listNames(names: string[], max = 5): string {
  if (names.length <= max) return names.join(", ");
  return `${names.slice(0, max).join(", ")} +${names.length - max} more`;
}

/** `3/5 ready: waiting for api-1, api-2` (the live progress line). */
export function formatWaitProgress(cond: WaitFor, p: WaitProgress, maxNames = 5): string {
  if (cond === "exists") {
    return p.finished
      ? `${p.total} pod${p.total === 1 ? "" : "s"} present`
      : "waiting for matching pods to appear";
  }
  const head = `${p.done}/${p.total} ${condLabel(cond)}`;
  if (p.finished) return head;
  if (p.total === 0) return `${head}: waiting for matching pods`;
  return `${head}: waiting for ${listNames(p.pending, maxNames)}`;
}

export { ProgressRenderer } from "../ui/progress.ts";

export interface WaitOptions {
  for: WaitFor;
  timeoutMs: number;
  signal?: AbortSignal;
  /** called on every change; `finished` is WaitState's own verdict (never re-derived by callers) */
  onProgress?: (done: number, total: number, pending: string[], finished: boolean) => void;
  /** safety-net re-list period (default 5 s) */
  relistMs?: number;
  /** what the timeout is called in hints (default `--timeout`; a workflow step says "the step's timeout") */
  timeoutName?: string;
}

/**
 * Wait until the target's pods meet `o.for`. Resolves with the pods (for `deleted`: the pods
 * that were deleted). Throws exit 3 when nothing matches for ready/phase, exit 5 on timeout
 * naming the pods still pending, exit 130 when `signal` aborts.
 * `timeoutMs` 0 checks once; a negative value waits without limit.
 */
export async function waitForPods(kube: Kube, t: TargetFlags, o: WaitOptions): Promise<V1Pod[]> {
  compileRegex(t.regex);
  // deploy/api -> its selector, read once: pods it creates while we wait are watched like -l
  const tt: TargetFlags = { ...(await resolveTarget(kube, t)), includeNotReady: true };
  const ns = targetNamespace(kube, tt);
  const state = new WaitState(o.for, ns === undefined);
  const started = Date.now();
  let lastSig = "";
  const report = (): WaitProgress => {
    const p = state.progress();
    const sig = `${p.done}/${p.total}/${p.pending.join(",")}`;
    if (sig !== lastSig) {
      lastSig = sig;
      o.onProgress?.(p.done, p.total, p.pending, p.finished);
    }
    return p;
  };

  state.start(await findPods(kube, tt));
  if (state.pods.size === 0 && (o.for === "ready" || o.for.startsWith("phase="))) {
    throw nothingMatched(tt, kube.namespace, "use --for exists to wait for matching pods to appear");
  }
  let p = report();
  if (p.finished) return state.result();
  const timeoutName = o.timeoutName ?? "--timeout";
  /** `lead` is "timed out after 2m": ours, or the caller's when its own timer aborted `signal` */
  const timeoutMsg = (lead = `timed out after ${formatDuration(Math.max(o.timeoutMs, 0))}`) => {
    const q = state.progress();
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
    p = report();
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
  const timer = o.timeoutMs > 0
    ? setTimeout(() => finished.reject(timeoutMsg()), Math.max(0, started + o.timeoutMs - Date.now()))
    : undefined;

  kube.watchPods(ns, { labelSelector: tt.selector, fieldSelector: fieldSelectorWith(tt) }, (type, pod) => {
    if (ac.signal.aborted) return;
    if (type !== "DELETED" && filterPods([pod], tt).length === 0) {
      // no longer matches (e.g. a label changed): treat as gone from the target
      state.apply("DELETED", pod);
    } else state.apply(type, pod);
    check();
  }, ac.signal).catch((e) => finished.reject(e));

  const relistMs = o.relistMs ?? 5000;
  let relisting = false;
  const relister = setInterval(async () => {
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
  }, relistMs);

  try {
    return await finished.promise;
  } finally {
    ac.abort();
    clearInterval(relister);
    if (timer !== undefined) clearTimeout(timer);
    o.signal?.removeEventListener("abort", onAbort);
  }
}
