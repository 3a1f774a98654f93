/**
 * The pure parts of a cycle around the planner (plan.ts): the plan shaped by the cycle's options (a
 * case-folding disk, `sync resolve`'s side, `sync pull`'s direction), the new ancestor from what was done,
 * and the report. No I/O: the Mutagen cases and the cycle's unit tests run them directly.
 */
import { ExitCode, KodamaError } from "../../base/errors.ts";
import type { Folding } from "../../base/platform.ts";
import { foldName } from "../../base/platform.ts";
import type { Ancestor, AncestorEntry } from "./ancestor.ts";
import type { Applied, Move, SyncEndpoint } from "./endpoint.ts";
import {
  type Action,
  foldConflicts,
  orderActions,
  planSync,
  type Snap,
  type SnapTree,
  type SyncMode,
} from "./plan.ts";

export interface Conflict {
  path: string;
  why: string;
  local?: { kind: string; size: number; mtime?: string };
  pod?: { kind: string; size: number; mtime?: string };
}

/** resolve: take this side for these paths whatever the plan says */
export interface Force {
  paths: Set<string> | "all";
  keep: "local" | "pod";
  /** a named path must be (in, or hold) a conflict */
  strict?: boolean;
}

export interface PlanOptions {
  mode: SyncMode;
  /** how the local disk folds names (probeFolding of the root): names that fold together conflict */
  folding?: Folding;
  force?: Force;
  /** `sync pull`: only bring changes back (nothing is sent), only below this path ("" = all) */
  pullOnly?: { under: string };
}

/** The plan for these trees (paths of unknown content already left out), shaped by the cycle's options. */
export function planCycle(anc: SnapTree, local: SnapTree, pod: SnapTree, o: PlanOptions): Action[] {
  let plan = planSync(anc, local, pod, o.mode);
  const f = o.folding;
  if (f && (f.caseInsensitive || f.normalizing)) {
    plan = orderActions(foldConflicts(plan, local, pod, anc, (n) => foldName(n, f)));
  }
  if (o.force) plan = forceSide(plan, local, pod, o.force);
  if (o.pullOnly) {
    const u = o.pullOnly.under;
    plan = plan.filter((a) =>
      (!u || a.path === u || a.path.startsWith(u + "/")) &&
      !((a.op === "copy" && a.to === "pod") || (a.op === "delete" && a.on === "pod"))
    );
  }
  return plan;
}

/** `sync resolve`: the conflicts at the forced paths take the forced side (a one-way plan there). */
export function forceSide(plan: Action[], local: SnapTree, pod: SnapTree, force: Force): Action[] {
  const hit = (p: string) =>
    force.paths === "all" || force.paths.has(p) || [...force.paths].some((q) => p.startsWith(q + "/"));
  const forced = planSync(new Map(), local, pod, force.keep === "local" ? "one-way-local" : "one-way-pod");
  const conflicted = plan.filter((a) => a.op === "conflict" && hit(a.path)).map((a) => a.path);
  if (force.paths !== "all" && force.strict) {
    // a named path must be (in, or hold) a conflict: taking a side there would overwrite a version
    const all = plan.filter((a) => a.op === "conflict").map((a) => a.path);
    const none = [...force.paths].filter((p) =>
      !all.some((q) => q === p || q.startsWith(p + "/") || p.startsWith(q + "/"))
    );
    if (none.length) {
      throw new KodamaError(
        `${none.map((p) => JSON.stringify(p)).join(", ")} ${
          none.length === 1 ? "is" : "are"
        } not in conflict${
          all.length ? ` (in conflict: ${all.slice(0, 5).join(", ")}${all.length > 5 ? ", ..." : ""})` : ""
        }; nothing was changed`,
        ExitCode.NOT_FOUND,
      );
    }
  }
  const within = (p: string) => conflicted.some((q) => p === q || p.startsWith(q + "/"));
  return orderActions([
    ...plan.filter((a) => !within(a.path)),
    ...forced.filter((a) => within(a.path)).map((a) => ({ ...a, keep: false }) as Action),
  ]);
}

/** The steps of `plan` that change `side`. */
export function movesOn(plan: Action[], side: "local" | "pod"): Move[] {
  return plan.filter((a): a is Move =>
    (a.op === "copy" && a.to === side) || (a.op === "delete" && a.on === side)
  );
}

/**
 * The new ancestor: the old one plus what both sides now agree on (steps done, agreements). A step not
 * done keeps the old record, so the next cycle plans it again; a path gone on both sides is dropped.
 */
export function nextAncestor(
  anc: Ancestor,
  plan: Action[],
  ends: { local: SyncEndpoint; pod: SyncEndpoint },
  applied: { local: Applied; pod: Applied },
  seen: { local: SnapTree; pod: SnapTree; unknown: Set<string>; scope?: Set<string> },
): Ancestor {
  const next: Ancestor = new Map(anc);
  const done = (a: Action) => applied.local.done.has(a as Move) || applied.pod.done.has(a as Move);
  for (const a of plan) {
    if (a.op === "conflict") continue;
    if ((a.op === "copy" || a.op === "delete") && !done(a)) continue;
    if (a.op === "delete" || (a.op === "agree" && !a.entry)) {
      next.delete(a.path);
      continue;
    }
    const rec: AncestorEntry = { ...(a.op === "copy" ? a.entry : a.entry!) };
    // each side's change token: what the apply left on the side written, what the snapshot saw on the other
    const token = (side: "local" | "pod") =>
      a.op === "copy" && a.to === side ? applied[side].tokens.get(a.path) : ends[side].token(a.path);
    const hash = a.op === "copy" ? applied[a.to].hashes.get(a.path) : undefined;
    if (hash) rec.hash = hash;
    // the size goes with the hash: a record of one version's hash and another's size matches neither side
    const size = a.op === "copy" ? applied[a.to].sizes?.get(a.path) : undefined;
    if (size !== undefined) rec.size = size;
    const lk = token("local"), pk = token("pod");
    if (lk !== undefined) rec.lk = lk;
    if (pk !== undefined) rec.pk = pk;
    next.set(a.path, rec);
  }
  // an unchanged path keeps its record; a record for a path now gone on both sides is dropped
  const planned = new Set(plan.map((a) => a.path));
  for (const p of seen.scope ? [...seen.scope] : [...next.keys()]) {
    if (next.has(p) && !seen.unknown.has(p) && !seen.local.has(p) && !seen.pod.has(p) && !planned.has(p)) {
      next.delete(p);
    }
  }
  return next;
}

function info(s: Snap | undefined, mtime?: number): Conflict["local"] {
  return s
    ? { kind: s.kind, size: s.size, ...(mtime ? { mtime: new Date(mtime).toISOString() } : {}) }
    : undefined;
}

/** The plan's conflicts as `sync status` shows them. */
export function conflictsOf(plan: Action[], ends: { local: SyncEndpoint; pod: SyncEndpoint }): Conflict[] {
  return plan.filter((a) => a.op === "conflict").map((a) => {
    const k = a as Extract<Action, { op: "conflict" }>;
    return {
      path: k.path,
      why: k.why,
      local: info(k.local, ends.local.mtimeMs(k.path)),
      pod: info(k.pod, ends.pod.mtimeMs(k.path)),
    };
  });
}
