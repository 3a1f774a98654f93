/**
 * One two-way sync cycle, between two endpoints (endpoint.ts):
 *
 *   local.snapshot (+ md5 of what moved)        pod.snapshot (watcher rounds, + md5 of what moved)
 *                 \                              /
 *                  planCycle(ancestor, local, pod)        (cycleplan.ts, plan.ts: pure)
 *                 /                              \
 *   pod.apply(its steps, from local): one batch,  local.apply(its steps, from pod): fetched with tar,
 *   each op checked against the pod state the     each path checked against the local state the plan
 *   plan saw, renamed into place per file         saw, written to a temporary name and renamed
 *                  \                              /
 *          new ancestor = old + what was done on both sides (nextAncestor), kept last
 *
 * A path changed on either side after the plan was made is skipped by the check and planned again next
 * cycle, so a race never overwrites a version. Conflicts are left alone and reported (status, log). The
 * ancestor is kept last: a crash before that leaves both sides with what was applied, which the next
 * cycle finds in agreement.
 */
import type { Ancestor } from "./ancestor.ts";
import { haltAt, type HaltPoint, type KeepCopy, pick, type SyncEndpoint } from "./endpoint.ts";
import {
  type Conflict,
  conflictsOf,
  movesOn,
  nextAncestor,
  planCycle,
  type PlanOptions,
} from "./cycleplan.ts";
import type { Action, SnapTree } from "./plan.ts";

export type { Conflict } from "./cycleplan.ts";

/** KODAMA_SYNC_TRACE=1: each cycle's phases (ms since its start) go to the sync log */
export const TRACE = !!Deno.env.get("KODAMA_SYNC_TRACE");

export interface CycleResult {
  toPod: number;
  toLocal: number;
  /** the bytes of the files sent to the pod */
  bytesToPod?: number;
  skipped: number;
  conflicts: Conflict[];
  kept: string[];
  /** the paths the plan moved or deleted, either way (done or not): a kept local tree looks at them again */
  paths: string[];
}

export interface CycleOptions extends PlanOptions {
  ancestor: Ancestor;
  /**
   * plan only these paths: every other path is taken as unchanged on both sides since the last cycle
   * (the loop names what its file watcher and pod rounds saw: `planScope`). The conflicts returned are
   * then those in the scope only.
   */
  scope?: Set<string>;
  /** keep a copy of a version a one-way mode replaces */
  keep: KeepCopy;
  /** keep the new ancestor */
  storeAncestor(a: Ancestor): Promise<void> | void;
  /** the plan as made (for `sync pull --dry-run`): nothing is applied when this returns false */
  onPlan?: (plan: Action[], anc: Ancestor, local: SnapTree, pod: SnapTree) => boolean;
  halt?: (point: HaltPoint) => Promise<void>;
  log?: (line: string) => void;
}

/** One cycle: snapshot both, plan, apply the pod's side, apply the local side, keep the new ancestor. */
export async function cycle(local: SyncEndpoint, pod: SyncEndpoint, o: CycleOptions): Promise<CycleResult> {
  const t0 = performance.now();
  const tr: string[] = [];
  const mark = (w: string) => tr.push(`${w} ${(performance.now() - t0).toFixed(0)}`);
  const halt = o.halt ?? ((p: HaltPoint) => haltAt(p, o.log));
  const { ancestor: anc, scope } = o;
  const [l, p] = await Promise.all([local.snapshot(anc, scope), pod.snapshot(anc, scope)]);
  const unknown = new Set([...l.unknown, ...p.unknown]);
  // a file whose content is not known this cycle is left out of the plan on every side
  const known = <T>(t: Map<string, T>) => unknown.size ? new Map([...t].filter(([q]) => !unknown.has(q))) : t;
  const hl = local.takeHashed(), hp = pod.takeHashed();
  mark(TRACE && (hl || hp) ? `snaps (hashed ${hl} here, ${hp} in the pod)` : "snaps");
  const plan = planCycle(known(scope ? pick(anc, scope) : anc), known(l.snaps), known(p.snaps), o);
  mark("plan");
  if (o.onPlan && !o.onPlan(plan, anc, l.snaps, p.snaps)) {
    return { toPod: 0, toLocal: 0, skipped: 0, conflicts: [], kept: [], paths: [] };
  }
  const kept: string[] = [];
  const keep: KeepCopy = async (rel, data) => {
    const at = await o.keep(rel, data);
    kept.push(at);
    return at;
  };
  const podMoves = movesOn(plan, "pod");
  const toPod = await pod.apply(podMoves, local, keep);
  if (podMoves.length) {
    mark("applied");
    await halt("applied");
  }
  const toLocal = await local.apply(movesOn(plan, "local"), pod, keep);
  const ends = { local, pod };
  const next = nextAncestor(anc, plan, ends, { local: toLocal, pod: toPod }, {
    local: l.snaps,
    pod: p.snaps,
    unknown,
    scope,
  });
  mark("local");
  await halt("ancestor");
  await o.storeAncestor(next);
  mark("anc");
  if (TRACE) {
    const planned = scope ? ` (${scope.size} path(s) planned)` : "";
    o.log?.(`trace ${plan.filter((a) => a.op !== "agree").length}${planned}: ${tr.join(", ")}`);
  }
  const moved: string[] = [];
  let bytesToPod = 0;
  for (const a of toPod.done) if (a.op === "copy" && a.entry.kind === "file") bytesToPod += a.entry.size;
  for (const a of [...toPod.done, ...toLocal.done].slice(0, 5)) {
    moved.push(`${a.op === "delete" ? "-" : a.op === "copy" && a.to === "pod" ? ">" : "<"}${a.path}`);
  }
  const done = toPod.done.size + toLocal.done.size;
  if (moved.length) {
    o.log?.(`applied: ${moved.join(" ")}${done > moved.length ? ` (+${done - moved.length})` : ""}`);
  }
  const moving = plan.filter((a) => a.op === "copy" || a.op === "delete");
  return {
    toPod: toPod.done.size,
    toLocal: toLocal.done.size,
    bytesToPod,
    skipped: moving.length - done + unknown.size,
    conflicts: conflictsOf(plan, ends),
    kept,
    paths: moving.map((a) => a.path),
  };
}
