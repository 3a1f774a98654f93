/**
 * Why a pod is not running or not ready, read from its status the way a person reads
 * `kubectl describe pod`: the waiting reason of a container (ContainerCreating, ErrImagePull /
 * ImagePullBackOff naming the image, CrashLoopBackOff with the last exit code,
 * CreateContainerConfigError), init containers (`Init:1/2`, `Init:CrashLoopBackOff`),
 * Unschedulable from the PodScheduled condition, a pending PersistentVolumeClaim naming the claim,
 * a terminated container with its exit code — plus the recent Events about the pod.
 *
 * Pure: no API calls. Callers fetch the pod (and, when they have them, its events and claims) and
 * ask here what to say. Used by exec/logs/cp/port-forward ("pod exists but is not running",
 * src/pods/notrunning.ts) and session start (failure messages).
 */
import type { CoreV1Event, V1ContainerStatus, V1PersistentVolumeClaim, V1Pod } from "@kubernetes/client-node";

/** One thing that keeps a pod (or one of its containers) from running or being ready. */
export interface PodProblem {
  /**
   * Short machine-ish reason, as kubectl's STATUS column or a container's waiting reason:
   * `ImagePullBackOff`, `ErrImagePull`, `CrashLoopBackOff`, `ContainerCreating`, `Unschedulable`,
   * `Init:CrashLoopBackOff`, `Init:0/2`, `Terminating`, `Completed`, `Error`, `NotReady`, `Pending`.
   */
  reason: string;
  /** one line for a person, without the pod's name: `container "main" is waiting to start: image "x" can't be pulled (ImagePullBackOff)` */
  message: string;
  /** the container it is about */
  container?: string;
  /** true when the container is an init container */
  init?: boolean;
  /** the image, for pull failures */
  image?: string;
  /** the PersistentVolumeClaims the pod waits for */
  claims?: string[];
  /** the exit code of a terminated (or last terminated) container */
  exitCode?: number;
  /** the kubelet's or scheduler's own text (waiting message, condition message), when it adds something */
  detail?: string;
  /** true when the pod can never run again as it is (completed, failed, being deleted) */
  final?: boolean;
}

export interface ProblemOptions {
  /** look at this container only (exec/logs -c); default: the first container with a problem */
  container?: string;
  /** a running container that is not ready counts as a problem (wait, port-forward); default false */
  needReady?: boolean;
  /** the pod's namespace's claims, when the caller has them: a pending or missing one is named */
  claims?: V1PersistentVolumeClaim[];
}

const PULL_REASONS = new Set(["ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName"]);
const CREATING = new Set(["ContainerCreating", "PodInitializing"]);

/** The pod's ready condition (false while being deleted). */
export function podIsReady(p: V1Pod): boolean {
  if (p.metadata?.deletionTimestamp) return false;
  return p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

/** kubectl's STATUS column (the reason logic of kubectl's printPod). */
export function podStatusColumn(p: V1Pod): string {
  let reason = p.status?.reason || p.status?.phase || "Unknown";
  let initializing = false;
  const inits = p.status?.initContainerStatuses ?? [];
  inits.forEach((c, i) => {
    if (initializing) return;
    const t = c.state?.terminated;
    if (t && t.exitCode === 0) return;
    if (t) {
      reason = t.reason
        ? `Init:${t.reason}`
        : t.signal
        ? `Init:Signal:${t.signal}`
        : `Init:ExitCode:${t.exitCode}`;
    } else if (c.state?.waiting?.reason && c.state.waiting.reason !== "PodInitializing") {
      reason = `Init:${c.state.waiting.reason}`;
    } else reason = `Init:${i}/${p.spec?.initContainers?.length ?? inits.length}`;
    initializing = true;
  });
  if (!initializing) {
    let hasRunning = false;
    for (const c of [...(p.status?.containerStatuses ?? [])].reverse()) {
      if (c.state?.waiting?.reason) reason = c.state.waiting.reason;
      else if (c.state?.terminated?.reason) reason = c.state.terminated.reason;
      else if (c.state?.terminated) {
        reason = c.state.terminated.signal
          ? `Signal:${c.state.terminated.signal}`
          : `ExitCode:${c.state.terminated.exitCode}`;
      } else if (c.ready && c.state?.running) hasRunning = true;
    }
    if (reason === "Completed" && hasRunning) reason = "Running";
  }
  if (p.metadata?.deletionTimestamp) reason = "Terminating";
  return reason;
}

/** The names of the PersistentVolumeClaims a pod mounts. */
export function podClaims(p: V1Pod): string[] {
  return (p.spec?.volumes ?? []).map((v) => v.persistentVolumeClaim?.claimName).filter((n): n is string =>
    !!n
  );
}

function q(s: string): string {
  return JSON.stringify(s);
}

function imageOf(p: V1Pod, name: string, st?: V1ContainerStatus): string | undefined {
  const spec = [...(p.spec?.containers ?? []), ...(p.spec?.initContainers ?? [])].find((c) =>
    c.name === name
  );
  return spec?.image || st?.image || undefined;
}

function exited(code: number | undefined, reason: string | undefined, signal?: number): string {
  const how = signal ? `was killed by signal ${signal}` : `exited with code ${code ?? "?"}`;
  return reason && reason !== "Error" && reason !== "Completed" ? `${how} (${reason})` : how;
}

/** What is wrong with one container status, or undefined when it runs (and is ready, if asked). */
function containerProblem(
  p: V1Pod,
  st: V1ContainerStatus,
  init: boolean,
  needReady: boolean,
): PodProblem | undefined {
  const kind = init ? "init container" : "container";
  const who = `${kind} ${q(st.name)}`;
  const base = { container: st.name, ...(init ? { init: true } : {}) };
  const prefix = init ? "Init:" : "";
  const w = st.state?.waiting;
  if (w) {
    const reason = w.reason || "Waiting";
    // "Back-off pulling image "x"" says nothing the message does not
    const detail = w.message && !/^Back-off /.test(w.message) ? w.message : undefined;
    if (PULL_REASONS.has(reason)) {
      const image = imageOf(p, st.name, st);
      const what = reason === "ErrImageNeverPull"
        ? `image ${q(image ?? "?")} is not present and its pull policy is Never`
        : reason === "InvalidImageName"
        ? `image name ${q(image ?? "?")} is invalid`
        : `image ${q(image ?? "?")} can't be pulled`;
      return {
        ...base,
        reason: prefix + reason,
        image,
        detail,
        message: `${who} is waiting to start: ${what} (${reason})`,
      };
    }
    if (reason === "CrashLoopBackOff") {
      const last = st.lastState?.terminated;
      const restarts = st.restartCount ?? 0;
      const lastRun = last ? `: it ${exited(last.exitCode, last.reason, last.signal)}` : "";
      return {
        ...base,
        reason: prefix + reason,
        exitCode: last?.exitCode,
        detail: last?.message || undefined,
        message: `${who} keeps crashing (CrashLoopBackOff, ${restarts} restart${
          restarts === 1 ? "" : "s"
        })${lastRun}`,
      };
    }
    if (CREATING.has(reason)) {
      return { ...base, reason: prefix + reason, message: `${who} is being created (${reason})` };
    }
    // CreateContainerConfigError, CreateContainerError, RunContainerError, ...: the message says why
    return {
      ...base,
      reason: prefix + reason,
      message: `${who} is waiting to start: ${detail ? `${detail} ` : ""}(${reason})`,
    };
  }
  const t = st.state?.terminated;
  if (t) {
    if (init && t.exitCode === 0) return undefined;
    const reason = t.reason || (t.exitCode === 0 ? "Completed" : "Error");
    return {
      ...base,
      reason: prefix + reason,
      exitCode: t.exitCode,
      detail: t.message || undefined,
      message: `${who} ${exited(t.exitCode, t.reason, t.signal)}`,
    };
  }
  if (st.state?.running) {
    if (init) {
      const all = p.spec?.initContainers?.length ?? p.status?.initContainerStatuses?.length ?? 1;
      const i = (p.status?.initContainerStatuses ?? []).findIndex((c) => c.name === st.name);
      return { ...base, reason: `Init:${Math.max(0, i)}/${all}`, message: `${who} is still running` };
    }
    if (needReady && !st.ready) {
      return { ...base, reason: "NotReady", message: `${who} is running but not ready` };
    }
    return undefined;
  }
  return { ...base, reason: prefix + "Waiting", message: `${who} has not started yet` };
}

/** The PodScheduled condition when it is False (Unschedulable and friends). */
function schedulingProblem(p: V1Pod, o: ProblemOptions): PodProblem | undefined {
  const cond = p.status?.conditions?.find((c) => c.type === "PodScheduled");
  const mounted = podClaims(p);
  // claims we know to be pending or missing (when the caller gave us the namespace's claims)
  const known = o.claims?.filter((c) =>
    c.metadata?.namespace === undefined || c.metadata.namespace === p.metadata?.namespace
  );
  const pendingClaims = known
    ? mounted.filter((n) => {
      const c = known.find((x) => x.metadata?.name === n);
      return !c || c.status?.phase !== "Bound";
    })
    : undefined;
  if (cond && cond.status === "False") {
    const msg = cond.message ?? "";
    const claimMsg = /PersistentVolumeClaim|persistentvolumeclaim/.test(msg);
    const missing = [...msg.matchAll(/persistentvolumeclaim "([^"]+)" not found/g)].map((m) => m[1]);
    const claims = missing.length ? missing : claimMsg ? (pendingClaims ?? mounted) : pendingClaims ?? [];
    if (claims.length) {
      const list = claims.map(q).join(", ");
      const state = missing.length ? "does not exist" : "is not bound";
      return {
        reason: cond.reason || "Unschedulable",
        claims,
        detail: msg || undefined,
        message: `pod can't be scheduled: PersistentVolumeClaim ${list} ${
          claims.length > 1 ? state.replace("is", "are").replace("does", "do") : state
        }`,
      };
    }
    return {
      reason: cond.reason || "Unschedulable",
      detail: msg || undefined,
      message: `pod can't be scheduled${msg ? `: ${msg}` : ` (${cond.reason || "Unschedulable"})`}`,
    };
  }
  if (!p.spec?.nodeName && (p.status?.phase ?? "Pending") === "Pending") {
    if (pendingClaims?.length) {
      return {
        reason: "Pending",
        claims: pendingClaims,
        message: `pod is waiting for PersistentVolumeClaim ${pendingClaims.map(q).join(", ")} to be bound`,
      };
    }
    return { reason: "Pending", message: "pod is not scheduled to a node yet" };
  }
  return undefined;
}

/**
 * What keeps the pod (or `o.container`) from running — or from being ready with `needReady` —
 * or undefined when nothing does. The first problem wins, in the order a person would fix them:
 * deletion, completion, scheduling, init containers, then the containers.
 */
export function podProblem(p: V1Pod, o: ProblemOptions = {}): PodProblem | undefined {
  const phase = p.status?.phase ?? "Pending";
  if (p.metadata?.deletionTimestamp) {
    return { reason: "Terminating", final: true, message: "pod is being deleted" };
  }
  const statuses = p.status?.containerStatuses ?? [];
  const pick = (list: V1ContainerStatus[]) => o.container ? list.filter((c) => c.name === o.container) : list;
  if (phase === "Succeeded" || phase === "Failed") {
    const terminated = pick(statuses).find((c) => c.state?.terminated && c.state.terminated.exitCode !== 0) ??
      pick(statuses).find((c) => c.state?.terminated);
    const t = terminated?.state?.terminated;
    const podReason = p.status?.reason; // Evicted, DeadlineExceeded, NodeLost, ...
    if (podReason) {
      return {
        reason: podReason,
        final: true,
        detail: p.status?.message || undefined,
        message: `pod ${phase === "Failed" ? "failed" : "completed"}: ${podReason}${
          p.status?.message ? ` (${p.status.message})` : ""
        }`,
      };
    }
    return {
      reason: podStatusColumn(p),
      final: true,
      container: terminated?.name,
      exitCode: t?.exitCode,
      detail: t?.message || undefined,
      message: phase === "Succeeded"
        ? `pod has completed (phase Succeeded)`
        : `pod has failed (phase Failed)${
          terminated && t ? `: container ${q(terminated.name)} ${exited(t.exitCode, t.reason, t.signal)}` : ""
        }`,
    };
  }
  const sched = schedulingProblem(p, o);
  if (sched) return sched;

  const inits = p.status?.initContainerStatuses ?? [];
  const isInit = o.container !== undefined &&
    (p.spec?.initContainers ?? []).some((c) => c.name === o.container);
  for (const st of inits) {
    if (isInit && st.name !== o.container) continue;
    const prob = containerProblem(p, st, true, false);
    if (prob) return prob;
    if (isInit) return undefined;
  }
  if (isInit) return undefined;

  const wanted = pick(statuses);
  for (const st of wanted) {
    const prob = containerProblem(p, st, false, !!o.needReady);
    if (prob) return prob;
  }
  if (o.container && !wanted.length) {
    return {
      reason: phase,
      container: o.container,
      message: `container ${q(o.container)} has not started yet (pod ${phase})`,
    };
  }
  if (!statuses.length && phase === "Pending") {
    return { reason: "ContainerCreating", message: "pod is starting (no container has started yet)" };
  }
  if (o.needReady && !o.container && !podIsReady(p)) {
    const cond = p.status?.conditions?.find((c) => c.type === "Ready");
    return {
      reason: "NotReady",
      detail: cond?.message || undefined,
      message: `pod is not ready${cond?.message ? ` (${cond.message})` : ""}`,
    };
  }
  return undefined;
}

/** `pod prod/api-1 is not running: container "main" is waiting to start: …` — one line naming the pod. */
export function describePodProblem(p: V1Pod, prob: PodProblem, o: { withNamespace?: boolean } = {}): string {
  const name = o.withNamespace ? `${p.metadata?.namespace}/${p.metadata?.name}` : p.metadata?.name ?? "?";
  if (prob.message.startsWith("pod ")) return `pod ${name} ${prob.message.slice(4)}`;
  return `pod ${name} ${prob.reason === "NotReady" ? "is not ready" : "is not running"}: ${prob.message}`;
}

// ------------------------------------------------------------------ events

function eventTime(e: CoreV1Event): number {
  const t = e.lastTimestamp ?? e.series?.lastObservedTime ?? e.eventTime ?? e.firstTimestamp ??
    e.metadata?.creationTimestamp;
  const ms = t ? new Date(t as unknown as string).getTime() : NaN;
  return Number.isFinite(ms) ? ms : 0;
}

/**
 * The events about one object (a pod, or a claim with `kind: "PersistentVolumeClaim"`), newest
 * first, one per reason+message, at most `max`; Warnings are kept before Normal ones when cut.
 */
export function eventsAbout(
  events: CoreV1Event[],
  obj: { kind?: string; name?: string; namespace?: string; uid?: string },
  max = 3,
): CoreV1Event[] {
  const kind = obj.kind ?? "Pod";
  const mine = events.filter((e) => {
    const io = e.involvedObject ?? {};
    if (io.kind && io.kind !== kind) return false;
    if (obj.uid && io.uid) return io.uid === obj.uid;
    return io.name === obj.name && (!obj.namespace || !io.namespace || io.namespace === obj.namespace);
  });
  const seen = new Set<string>();
  const newest = mine.sort((a, b) => eventTime(b) - eventTime(a)).filter((e) => {
    const k = `${e.reason}\x00${e.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  // warnings first; among them, the ones that say more than the reason itself ("Error: ErrImagePull")
  const restates = (e: CoreV1Event) => /^Error: \w+$/.test((e.message ?? "").trim());
  const warnings = newest.filter((e) => e.type === "Warning");
  const ranked = [...warnings.filter((e) => !restates(e)), ...warnings.filter(restates), ...newest];
  const chosen = new Set(ranked.slice(0, max));
  return newest.filter((e) => chosen.has(e));
}

/** `Warning Failed: Failed to pull image "x": … (x3, 12s ago)` */
export function formatEvent(e: CoreV1Event, now = Date.now()): string {
  const count = (e.count ?? e.series?.count ?? 1) > 1 ? `x${e.count ?? e.series?.count}` : "";
  const t = eventTime(e);
  const age = t ? `${Math.max(0, Math.round((now - t) / 1000))}s ago` : "";
  const tail = [count, age].filter(Boolean).join(", ");
  return `${e.type ?? "Normal"} ${e.reason ?? ""}: ${(e.message ?? "").trim()}${tail ? ` (${tail})` : ""}`;
}

/**
 * The problem as lines for a message: the one-line description, then the kubelet's detail when it
 * adds something, then the recent events about the pod (and its pending claims) — what a person
 * would otherwise fetch with `kubectl describe pod`.
 */
export function explainPod(
  p: V1Pod,
  prob: PodProblem,
  events: CoreV1Event[] = [],
  o: { withNamespace?: boolean; maxEvents?: number; now?: number } = {},
): string[] {
  const lines = [describePodProblem(p, prob, o)];
  const evs = eventsAbout(events, {
    kind: "Pod",
    name: p.metadata?.name,
    namespace: p.metadata?.namespace,
    uid: p.metadata?.uid,
  }, o.maxEvents ?? 3);
  for (const c of prob.claims ?? []) {
    evs.push(
      ...eventsAbout(events, { kind: "PersistentVolumeClaim", name: c, namespace: p.metadata?.namespace }, 2),
    );
  }
  const said = lines[0];
  if (
    prob.detail && !said.includes(prob.detail) && !evs.some((e) => (e.message ?? "").includes(prob.detail!))
  ) {
    lines.push(`  ${prob.detail}`);
  }
  for (const e of evs) lines.push(`  ${formatEvent(e, o.now)}`);
  return lines;
}
