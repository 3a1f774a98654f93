/**
 * The Job controller (batch/v1) as kube-controller-manager v1.32 runs it, for what kodama uses: pods from
 * the template (generateName `JOB-`, the controller ref), parallelism/completions (NonIndexed), the
 * back-off before a replacement after failures (10 s doubling, capped at 6 min; `backoffBaseMs` makes it
 * short in tests), backoffLimit, podFailurePolicy (Ignore, FailJob, Count on exit codes and pod
 * conditions), podReplacementPolicy (TerminatingOrFailed, Failed), activeDeadlineSeconds, suspend, and the
 * status with the delayed terminal conditions of 1.31+ (FailureTarget then Failed, SuccessCriteriaMet then
 * Complete, once no pod is left running).
 *
 * Not emulated: the `batch.kubernetes.io/job-tracking` pod finalizer (the counts are kept in memory here,
 * so a finished pod deleted before a sync still counts once; `uncountedTerminatedPods` stays `{}`),
 * Indexed completion, successPolicy, backoffLimitPerIndex, restarts of OnFailure pods counted against
 * backoffLimit.
 */
import type { Obj } from "../store.ts";
import { now } from "../defaults.ts";
import {
  claimPods,
  type ControllerHost,
  controllerOf,
  hasCondition,
  isReady,
  isTerminal,
  podFromTemplate,
  setCondition,
} from "./shared.ts";

export const JOB_COMPONENT = "job-controller";
/** pkg/controller/job: DefaultJobPodFailureBackOff and MaxJobPodFailureBackOff */
export const JOB_BACKOFF_BASE_MS = 10_000;
export const JOB_BACKOFF_MAX_MS = 360_000;

export interface JobOptions {
  /** the first back-off after a failed pod (default 10 s, as the real controller) */
  backoffBaseMs?: number;
  /** the back-off's cap (default 6 min) */
  backoffMaxMs?: number;
}

type Outcome = "succeeded" | "failed" | "ignored";

/** What the controller remembers of a Job between syncs (its uid's record). */
interface JobMemory {
  counted: Map<string, Outcome>;
  /** failed pods since the last success (the back-off record) and when the last one failed */
  failures: number;
  lastFailure: number;
  /** a FailJob rule matched: the reason's message */
  failJob?: string;
  deadlineTimer?: boolean;
  backoffTimer?: boolean;
}

export class JobController {
  readonly #mem = new Map<string, JobMemory>();
  readonly #base: number;
  readonly #max: number;

  constructor(
    private readonly host: ControllerHost,
    o: JobOptions,
    private readonly enqueue: (job: Obj) => void,
  ) {
    this.#base = o.backoffBaseMs ?? JOB_BACKOFF_BASE_MS;
    this.#max = o.backoffMaxMs ?? JOB_BACKOFF_MAX_MS;
  }

  #memory(job: Obj): JobMemory {
    let m = this.#mem.get(job.metadata.uid);
    if (!m) this.#mem.set(job.metadata.uid, m = { counted: new Map(), failures: 0, lastFailure: 0 });
    return m;
  }

  forget(uid: string) {
    this.#mem.delete(uid);
  }

  /** A pod of a Job left the store: count it as the kubelet would have ended it (Failed unless it finished). */
  podGone(pod: Obj) {
    const ref = controllerOf(pod);
    if (ref?.kind !== "Job") return;
    const job = this.host.store.get("jobs", pod.metadata.namespace, ref.name);
    if (!job || job.metadata.uid !== ref.uid) return;
    const m = this.#memory(job);
    if (!m.counted.has(pod.metadata.uid)) {
      const last = isTerminal(pod) ? pod : { ...pod, status: { ...(pod.status ?? {}), phase: "Failed" } };
      this.#count(job, m, last);
    }
    this.enqueue(job);
  }

  #count(job: Obj, m: JobMemory, pod: Obj) {
    if (pod.status?.phase === "Succeeded") {
      m.counted.set(pod.metadata.uid, "succeeded");
      m.failures = 0;
      return;
    }
    m.failures++;
    m.lastFailure = Date.now();
    const rule = matchPodFailurePolicy(job, pod);
    if (rule?.action === "Ignore") {
      m.counted.set(pod.metadata.uid, "ignored");
      return;
    }
    m.counted.set(pod.metadata.uid, "failed");
    if (rule?.action === "FailJob") m.failJob ??= rule.message;
  }

  sync(job: Obj): void {
    const store = this.host.store;
    if (job.metadata.deletionTimestamp) return;
    const m = this.#memory(job);
    const spec = job.spec ?? {};
    const replaceOnlyFailed = spec.podReplacementPolicy === "Failed";
    const pods = claimPods(store, job);
    for (const p of pods) {
      if (m.counted.has(p.metadata.uid)) continue;
      if (isTerminal(p)) this.#count(job, m, p);
      else if (p.metadata.deletionTimestamp && !replaceOnlyFailed) {
        // TerminatingOrFailed: a pod being deleted counts as failed at once (and is replaced at once)
        this.#count(job, m, { ...p, status: { ...(p.status ?? {}), phase: "Failed" } });
      }
    }
    const live = pods.filter((p) => !isTerminal(p));
    let active = live.filter((p) => !p.metadata.deletionTimestamp);
    const terminating = live.filter((p) => p.metadata.deletionTimestamp).length;
    const outcomes = [...m.counted.values()];
    const succeeded = outcomes.filter((o) => o === "succeeded").length;
    const failed = outcomes.filter((o) => o === "failed").length;
    const st: Obj = structuredClone(job.status ?? {});
    st.conditions ??= [];
    if (!hasCondition(job, "Complete") && !hasCondition(job, "Failed")) {
      active = this.#advance(job, m, st, { live, active, terminating, succeeded, failed, replaceOnlyFailed });
    }
    const conds: Obj[] = st.conditions;
    const next: Obj = {
      ...(active.length ? { active: active.length } : {}),
      ...(succeeded ? { succeeded } : {}),
      ...(failed ? { failed } : {}),
      ready: active.filter(isReady).length,
      ...(st.startTime ? { startTime: st.startTime } : {}),
      ...(st.completionTime ? { completionTime: st.completionTime } : {}),
      terminating,
      uncountedTerminatedPods: {},
      ...(conds.length ? { conditions: conds } : {}),
    };
    if (JSON.stringify(next) === JSON.stringify(job.status ?? {})) return;
    const cur = store.get("jobs", job.metadata.namespace, job.metadata.name);
    if (!cur || cur.metadata.uid !== job.metadata.uid) return;
    cur.status = next;
    store.replace("jobs", cur);
  }

  /**
   * An unfinished Job: suspend/resume, the terminal conditions (FailureTarget or SuccessCriteriaMet first,
   * then Failed or Complete once no pod runs), and the pods it should have. Writes `st`; returns the active
   * pods.
   */
  #advance(
    job: Obj,
    m: JobMemory,
    st: Obj,
    pods: {
      live: Obj[];
      active: Obj[];
      terminating: number;
      succeeded: number;
      failed: number;
      replaceOnlyFailed: boolean;
    },
  ): Obj[] {
    const spec = job.spec ?? {};
    const { live, terminating, succeeded, failed, replaceOnlyFailed } = pods;
    let active = pods.active;
    let conds: Obj[] = st.conditions;
    const completions: number | undefined = spec.completions ?? undefined;
    const parallelism: number = spec.parallelism ?? 1;
    // suspend and resume
    if (spec.suspend) {
      if (!hasCondition(job, "Suspended")) {
        conds = setCondition(conds, "Suspended", "True", "JobSuspended", "Job suspended", true);
        this.host.event(job, "Normal", "Suspended", "Job suspended", JOB_COMPONENT);
      }
      delete st.startTime;
    } else {
      if (hasCondition(job, "Suspended")) {
        conds = setCondition(conds, "Suspended", "False", "JobResumed", "Job resumed", true);
        this.host.event(job, "Normal", "Resumed", "Job resumed", JOB_COMPONENT);
      }
      st.startTime ??= now();
    }
    const target = conds.find((c) => c.type === "FailureTarget" && c.status === "True");
    const metCond = conds.find((c) => c.type === "SuccessCriteriaMet" && c.status === "True");
    if (!target && !metCond) {
      const why = this.#failure(job, m, failed, st.startTime);
      if (why) conds = setCondition(conds, "FailureTarget", "True", why.reason, why.message, true);
      else if (
        completions !== undefined ? succeeded >= completions : succeeded > 0 && active.length === 0
      ) {
        conds = setCondition(
          conds,
          "SuccessCriteriaMet",
          "True",
          "CompletionsReached",
          "Reached expected number of succeeded pods",
          true,
        );
      }
    }
    const ending = conds.find((c) =>
      (c.type === "FailureTarget" || c.type === "SuccessCriteriaMet") && c.status === "True"
    );
    if (ending || spec.suspend) {
      for (const p of active) this.#deletePod(job, p);
      active = [];
    } else {
      active = this.#manage(
        job,
        m,
        active,
        terminating,
        replaceOnlyFailed,
        succeeded,
        completions,
        parallelism,
      );
    }
    if (ending && terminating === 0 && live.filter((p) => !p.metadata.deletionTimestamp).length === 0) {
      if (ending.type === "FailureTarget") {
        conds = setCondition(conds, "Failed", "True", ending.reason, ending.message, true);
        this.host.event(job, "Warning", ending.reason, ending.message, JOB_COMPONENT);
      } else {
        conds = setCondition(conds, "Complete", "True", ending.reason, ending.message, true);
        st.completionTime = now();
        this.host.event(job, "Normal", "Completed", "Job completed", JOB_COMPONENT);
      }
    }
    this.#deadlineTimer(job, m, st.startTime);
    st.conditions = conds;
    return active;
  }

  /** Why the Job fails now, if it does: a FailJob rule, the back-off limit or the deadline. */
  #failure(job: Obj, m: JobMemory, failed: number, startTime?: string) {
    if (m.failJob) return { reason: "PodFailurePolicy", message: m.failJob };
    if (failed > (job.spec?.backoffLimit ?? 6)) {
      return { reason: "BackoffLimitExceeded", message: "Job has reached the specified backoff limit" };
    }
    const ads = job.spec?.activeDeadlineSeconds;
    if (ads !== undefined && startTime && Date.now() - Date.parse(startTime) >= ads * 1000) {
      return { reason: "DeadlineExceeded", message: "Job was active longer than specified deadline" };
    }
  }

  #deadlineTimer(job: Obj, m: JobMemory, startTime?: string) {
    const ads = job.spec?.activeDeadlineSeconds;
    if (ads === undefined || !startTime || m.deadlineTimer) return;
    m.deadlineTimer = true;
    const left = Date.parse(startTime) + ads * 1000 - Date.now();
    this.host.later(Math.max(0, left) + 5, () => {
      m.deadlineTimer = false;
      const cur = this.host.store.get("jobs", job.metadata.namespace, job.metadata.name);
      if (cur && cur.metadata.uid === job.metadata.uid) this.enqueue(cur);
    });
  }

  /** Create or delete pods so that the wanted number are active; returns the active ones. */
  #manage(
    job: Obj,
    m: JobMemory,
    active: Obj[],
    terminating: number,
    replaceOnlyFailed: boolean,
    succeeded: number,
    completions: number | undefined,
    parallelism: number,
  ): Obj[] {
    const want = completions !== undefined
      ? Math.min(parallelism, Math.max(0, completions - succeeded))
      : succeeded > 0
      ? 0
      : parallelism;
    // podReplacementPolicy Failed: a pod still terminating holds its place until it is gone
    const diff = want - active.length - (replaceOnlyFailed ? terminating : 0);
    if (diff < 0) {
      const extra = [...active].sort((a, b) => Number(isReady(a)) - Number(isReady(b))).slice(0, -diff);
      for (const p of extra) this.#deletePod(job, p);
      return active.filter((p) => !extra.includes(p));
    }
    if (diff === 0) return active;
    if (m.failures > 0) {
      const delay = Math.min(this.#base * 2 ** (m.failures - 1), this.#max);
      const left = m.lastFailure + delay - Date.now();
      if (left > 0) {
        if (m.backoffTimer) return active;
        m.backoffTimer = true;
        this.host.later(left + 1, () => {
          m.backoffTimer = false;
          const cur = this.host.store.get("jobs", job.metadata.namespace, job.metadata.name);
          if (cur && cur.metadata.uid === job.metadata.uid) this.enqueue(cur);
        });
        return active;
      }
    }
    const made = [...active];
    for (let i = 0; i < diff; i++) {
      try {
        const pod = this.host.createPod(
          job.metadata.namespace,
          podFromTemplate(job, { generateName: `${job.metadata.name}-` }),
        );
        made.push(pod);
        this.host.event(
          job,
          "Normal",
          "SuccessfulCreate",
          `Created pod: ${pod.metadata.name}`,
          JOB_COMPONENT,
        );
      } catch (e) {
        this.host.event(
          job,
          "Warning",
          "FailedCreate",
          `Error creating: ${(e as Error).message}`,
          JOB_COMPONENT,
        );
        break;
      }
    }
    return made;
  }

  /**
   * The controller's own deletes (suspend, the deadline, a finished Job, too many pods) are not the pod's
   * failure: they count neither against backoffLimit nor toward the back-off.
   */
  #deletePod(job: Obj, p: Obj) {
    this.#memory(job).counted.set(p.metadata.uid, "ignored");
    this.host.deleteObject("pods", p.metadata.namespace, p.metadata.name);
    this.host.event(job, "Normal", "SuccessfulDelete", `Deleted pod: ${p.metadata.name}`, JOB_COMPONENT);
  }
}

/**
 * The first podFailurePolicy rule a failed pod matches (rules in order; exit code 0 never matches), with
 * the controller's message for FailJob.
 */
export function matchPodFailurePolicy(job: Obj, pod: Obj): { action: string; message: string } | undefined {
  const rules: Obj[] = job.spec?.podFailurePolicy?.rules ?? [];
  const who = `${pod.metadata.namespace}/${pod.metadata.name}`;
  for (const [i, r] of rules.entries()) {
    const on = r.onExitCodes;
    if (on) {
      const statuses: Obj[] = [
        ...(pod.status?.initContainerStatuses ?? []),
        ...(pod.status?.containerStatuses ?? []),
      ];
      for (const cs of statuses) {
        if (on.containerName && on.containerName !== cs.name) continue;
        const code = cs.state?.terminated?.exitCode;
        if (code === undefined || code === 0) continue;
        const listed = (on.values ?? []).includes(code);
        if (on.operator === "In" ? listed : !listed) {
          return {
            action: r.action,
            message:
              `Container ${cs.name} for pod ${who} failed with exit code ${code} matching ${r.action} rule at index ${i}`,
          };
        }
      }
    }
    for (const pc of r.onPodConditions ?? []) {
      const want = pc.status ?? "True";
      if ((pod.status?.conditions ?? []).some((c: Obj) => c.type === pc.type && c.status === want)) {
        return {
          action: r.action,
          message: `Pod ${who} has condition ${pc.type} matching ${r.action} rule at index ${i}`,
        };
      }
    }
  }
}
