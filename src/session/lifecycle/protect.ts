/**
 * `session.protectRunning` (issue 80): while an agent runs in a session, a PodDisruptionBudget
 * `kodama-protect-NAME` (policy/v1, minAvailable 1, selecting the session's pod) makes a voluntary eviction
 * wait — `kubectl drain`, a node upgrade, anything that goes through the Eviction API gets a 429 and
 * retries. The pod has no API access, so the laptop makes it when `agent run` starts (`protectSession`) and
 * removes it when kodama sees the run end (its outcome read), at `stop` and `delete`; it carries
 * `kodama.dev/protect-until` (the run's start + session.protectFor) and `kodama gc` removes it once that has
 * passed, so a laptop that went away holds a drain back for that long at most. A budget stops nothing
 * involuntary: a lost node, a preemption, the kubelet's pressure eviction.
 */
import type { KubeObjects } from "../../kube/seam.ts";
import { ExitCode, KodamaError } from "../../base/errors.ts";
import { LABEL_MANAGED_BY, LABEL_SESSION, MANAGED_BY, SESSIONS_SELECTOR } from "../spec/names.ts";
import type { SessionSpec } from "../spec/spec.ts";
import type { Config } from "../../config/schema.ts";
import type { Sink } from "../../base/sink.ts";
import { durationValueMs } from "../../base/duration.ts";

/** On the budget: until when it may hold a drain back (ISO 8601). */
export const ANNOTATION_PROTECT_UNTIL = "kodama.dev/protect-until";
/** On the budget: the run it protects (the run whose end removes it). */
export const ANNOTATION_PROTECT_RUN = "kodama.dev/protect-run";

/** The budget's name. */
export function protectName(session: string): string {
  return `kodama-protect-${session}`;
}

interface Budget {
  apiVersion: "policy/v1";
  kind: "PodDisruptionBudget";
  metadata: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: { minAvailable?: number; selector?: { matchLabels?: Record<string, string> } };
}

/** The budget of a session, until `until`, for run `run`. Pure. */
export function buildBudget(
  spec: Pick<SessionSpec, "name" | "namespace">,
  until: Date,
  run?: string,
): Budget {
  const labels = { [LABEL_MANAGED_BY]: MANAGED_BY, [LABEL_SESSION]: spec.name };
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: {
      name: protectName(spec.name),
      namespace: spec.namespace,
      labels,
      annotations: {
        [ANNOTATION_PROTECT_UNTIL]: until.toISOString(),
        ...(run ? { [ANNOTATION_PROTECT_RUN]: run } : {}),
      },
    },
    spec: { minAvailable: 1, selector: { matchLabels: labels } },
  };
}

/**
 * Protect the session's pod from voluntary evictions until `until` (a second run moves it on). Returns
 * false, never throwing, when the user may not make budgets: the run goes on unprotected (said by the caller).
 */
export async function protectSession(
  kube: KubeObjects,
  spec: Pick<SessionSpec, "name" | "namespace">,
  until: Date,
  run?: string,
): Promise<boolean> {
  const b = buildBudget(spec, until, run);
  try {
    await kube.createObject("poddisruptionbudgets", spec.namespace, b);
    return true;
  } catch (e) {
    if (!(e instanceof KodamaError)) return false;
    if (!/already exists|AlreadyExists/i.test(e.message)) return false;
  }
  return await kube.patchObject("poddisruptionbudgets", spec.namespace, b.metadata.name!, {
    metadata: { annotations: { [ANNOTATION_PROTECT_RUN]: run ?? null, ...b.metadata.annotations } },
  }).then(() => true, () => false);
}

/**
 * Remove the session's budget (`run`: only when it protects that run — a newer run keeps its own).
 * Returns whether one went.
 */
export async function unprotectSession(
  kube: KubeObjects,
  namespace: string,
  name: string,
  o: { run?: string } = {},
): Promise<boolean> {
  if (o.run !== undefined) {
    const b = await kube.findObject<Budget>("poddisruptionbudgets", namespace, protectName(name)).catch(() =>
      undefined
    );
    if (!b) return false;
    const of = b.metadata.annotations?.[ANNOTATION_PROTECT_RUN];
    if (of !== undefined && of !== o.run) return false;
  }
  return await kube.deleteObject("poddisruptionbudgets", namespace, protectName(name)).catch(() => false);
}

/** The budgets whose time has passed (pure): `kodama gc` removes them. */
export function expiredBudgets<T extends Budget>(budgets: T[], now: number): T[] {
  return budgets.filter((b) => {
    const until = Date.parse(b.metadata.annotations?.[ANNOTATION_PROTECT_UNTIL] ?? "");
    return !Number.isNaN(until) && until <= now;
  });
}

/** `kodama gc`: remove the expired budgets of a namespace (undefined: all); returns `namespace/name` of each. */
export async function gcBudgets(
  kube: KubeObjects,
  namespace: string | undefined,
  now: number,
): Promise<string[]> {
  let items: Budget[];
  try {
    items = (await kube.listObjects<Budget>("poddisruptionbudgets", namespace, {
      labelSelector: SESSIONS_SELECTOR,
    }))
      .items;
  } catch (e) {
    if (e instanceof KodamaError && (e.code === ExitCode.FORBIDDEN || e.code === ExitCode.NOT_FOUND)) {
      return [];
    }
    throw e;
  }
  const gone: string[] = [];
  for (const b of expiredBudgets(items, now)) {
    const ns = b.metadata.namespace ?? namespace ?? kube.namespace;
    if (await kube.deleteObject("poddisruptionbudgets", ns, b.metadata.name!).catch(() => false)) {
      gone.push(`${ns}/${b.metadata.name}`);
    }
  }
  return gone;
}

/**
 * `agent run` started run `run` in the session: with session.protectRunning, its pod is protected until
 * the run's start + session.protectFor (a refusal is said on `err`; the run goes on).
 */
export async function protectRun(
  kube: KubeObjects,
  namespace: string,
  name: string,
  cfg: Pick<Config, "session">,
  run: string,
  err: Sink,
  now = Date.now(),
): Promise<void> {
  if (!cfg.session.protectRunning) return;
  const until = new Date(now + durationValueMs(cfg.session.protectFor, "session.protectFor"));
  if (!await protectSession(kube, { name, namespace }, until, run)) {
    err.write(
      `warning: session ${name}: could not make the PodDisruptionBudget ${
        protectName(name)
      } (session.protectRunning): a drain may move the pod during the run\n`,
    );
  }
}
