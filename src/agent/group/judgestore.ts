/**
 * A group's judgement (judge.ts), kept in the cluster beside the group — whose replicas are found by their
 * labels, so `compare`, `adopt --best` and `session pr GROUP` read it from any machine: ConfigMap
 * `kodama-judgement-GROUP` (labels managed-by kodama and `kodama.dev/judgement-of: GROUP`), one key
 * `judgement.json`. It holds names, commits, reasons and the judge's figures: no secret.
 *
 * What is read back is checked again as it is read (a ConfigMap anyone with the Role may write): a ranking of
 * distinct replica names of the group, reasons cut to one line.
 */
import type { KubeObjects } from "../../kube/seam.ts";
import { ExitCode, KodamaError } from "../../base/errors.ts";
import { cleanReason } from "./judgeparse.ts";

export const JUDGEMENT_KEY = "judgement.json";
export const LABEL_JUDGEMENT_OF = "kodama.dev/judgement-of";

export interface Judgement {
  group: string;
  /** when it was made (ISO 8601) */
  at: string;
  judge: {
    /** the judge's session (none when one replica passed: nothing to judge) */
    session?: string;
    preset?: string;
    model?: string;
    run?: string;
    costUsd?: number;
    inputTokens?: number;
    outputTokens?: number;
  };
  /** rank 1 first; `head`: the replica's commit that was judged */
  ranking: { replica: string; reason: string; head?: string }[];
  /** replicas not ranked, and why */
  unranked: { replica: string; why: string }[];
}

export const judgementName = (group: string) => `kodama-judgement-${group}`;
/** The judge's session of a group (judge.ts). */
export const judgeSession = (group: string) => `${group}-judge`;

interface ConfigMap {
  metadata?: { name?: string; labels?: Record<string, string> };
  data?: Record<string, string>;
}

const OBJECT_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : undefined);
const word = (v: unknown, max = 80) => (typeof v === "string" && v ? cleanReason(v, max) : undefined);

/** A stored judgement as data, kept only in its known shape (else undefined). Pure. */
export function readJudgement(text: string, group: string): Judgement | undefined {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!v || typeof v !== "object" || !Array.isArray(v.ranking)) return undefined;
  const seen = new Set<string>();
  const ranking: Judgement["ranking"] = [];
  for (const e of v.ranking as Record<string, unknown>[]) {
    const r = e?.replica;
    if (typeof r !== "string" || !NAME.test(r) || !r.startsWith(`${group}-`) || seen.has(r)) return undefined;
    seen.add(r);
    ranking.push({
      replica: r,
      reason: cleanReason(e.reason) || "-",
      ...(typeof e.head === "string" && OBJECT_ID.test(e.head) ? { head: e.head } : {}),
    });
  }
  const unranked = (Array.isArray(v.unranked) ? v.unranked as Record<string, unknown>[] : [])
    .filter((e) => typeof e?.replica === "string" && NAME.test(e.replica as string))
    .map((e) => ({ replica: e.replica as string, why: cleanReason(e.why, 80) || "-" }));
  const j = (v.judge ?? {}) as Record<string, unknown>;
  return {
    group,
    at: typeof v.at === "string" ? cleanReason(v.at, 40) : "",
    judge: {
      ...(typeof j.session === "string" && NAME.test(j.session) ? { session: j.session } : {}),
      ...(word(j.preset, 20) ? { preset: word(j.preset, 20) } : {}),
      ...(word(j.model) ? { model: word(j.model) } : {}),
      ...(typeof j.run === "string" && /^\d{1,9}$/.test(j.run) ? { run: j.run } : {}),
      ...(num(j.costUsd) !== undefined ? { costUsd: num(j.costUsd) } : {}),
      ...(num(j.inputTokens) !== undefined ? { inputTokens: num(j.inputTokens) } : {}),
      ...(num(j.outputTokens) !== undefined ? { outputTokens: num(j.outputTokens) } : {}),
    },
    ranking,
    unranked,
  };
}

/** The group's judgement, or undefined when there is none (or it cannot be read). */
export async function loadJudgement(
  kube: KubeObjects,
  namespace: string,
  group: string,
): Promise<Judgement | undefined> {
  const cm = await kube.findObject<ConfigMap>("configmaps", namespace, judgementName(group));
  const text = cm?.data?.[JUDGEMENT_KEY];
  return text === undefined ? undefined : readJudgement(text, group);
}

/** Keep the group's judgement (replacing an earlier one). */
export async function saveJudgement(kube: KubeObjects, namespace: string, j: Judgement): Promise<void> {
  const name = judgementName(j.group);
  const body = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name,
      namespace,
      labels: { "app.kubernetes.io/managed-by": "kodama", [LABEL_JUDGEMENT_OF]: j.group },
    },
    data: { [JUDGEMENT_KEY]: JSON.stringify(j) },
  };
  // replaced whole, with the verbs a session's Role has on ConfigMaps already (examples/rbac.yaml: get,
  // create, delete; no patch)
  if (await kube.findObject<ConfigMap>("configmaps", namespace, name)) {
    await kube.deleteObject("configmaps", namespace, name);
  }
  await kube.createObject("configmaps", namespace, body);
}

/** The judgement, or exit 3 saying how to make one. */
export async function requireJudgement(
  kube: KubeObjects,
  namespace: string,
  group: string,
): Promise<Judgement> {
  const j = await loadJudgement(kube, namespace, group);
  if (!j?.ranking.length) {
    throw new KodamaError(
      `group ${group} has no judgement: run compare ${group} --judge PRESET first`,
      ExitCode.NOT_FOUND,
      `e.g. kodama compare ${group} --judge codex (a reviewer agent ranks the replicas that passed)`,
    );
  }
  return j;
}

/**
 * The rank-1 replica, checked against the group as it is now: a replica that moved since it was judged (a
 * later run committed more) was not what the judge saw (exit 1: judge again).
 */
export function bestOf(j: Judgement, heads: Map<string, string | undefined>): string {
  const best = j.ranking[0];
  if (!heads.has(best.replica)) {
    throw new KodamaError(
      `the judgement's best replica ${best.replica} is no longer in group ${j.group}`,
      ExitCode.NOT_FOUND,
      `judge again: kodama compare ${j.group} --judge PRESET`,
    );
  }
  const now = heads.get(best.replica);
  if (best.head && now && now !== best.head) {
    throw new KodamaError(
      `${best.replica} has moved since it was judged (${best.head.slice(0, 12)} judged, now ${
        now.slice(0, 12)
      })`,
      ExitCode.FAILED,
      `judge again: kodama compare ${j.group} --judge PRESET, or adopt it by name: kodama adopt ${best.replica}`,
    );
  }
  return best.replica;
}
