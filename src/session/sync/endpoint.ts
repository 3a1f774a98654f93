/**
 * One side of a two-way sync, as the cycle (cycle.ts) sees it: the local tree (local.ts), the pod's
 * workspace (podend.ts), or a map in memory (tests/_sync_memory.ts). The cycle snapshots both, plans
 * (plan.ts, pure), applies each side's share of the plan with the other side as the source, and records
 * what both now agree on; it knows nothing of disks, pods or streams.
 *
 * The safety of a sync rests on two promises every endpoint keeps:
 * - `apply` changes a path only while it still is what `snapshot` saw (the expectation): a path changed
 *   meanwhile is left alone, not in `done`, and planned again next cycle — a race never overwrites a version;
 * - `snapshot` never reports a path it could not read as absent: it goes in `unknown`, which the cycle
 *   leaves out of the plan on every side (an unreadable file is never taken for a deletion).
 */
import type { Ancestor } from "./ancestor.ts";
import type { Fetched } from "./fetchtar.ts";
import type { Action, Snap, SnapTree } from "./plan.ts";
import type { StagedFile } from "./podside.ts";

export type { Fetched, FetchedFile } from "./fetchtar.ts";

/** A step of the plan that changes one side: a copy to it, or a delete on it. */
export type Move = Extract<Action, { op: "copy" } | { op: "delete" }>;

/** Where a step applies: the side a copy goes to, or the side a delete is on. */
export const moveSide = (a: Move): "local" | "pod" => a.op === "copy" ? a.to : a.on;

export interface Snapshot {
  /** the tree as the planner compares it (file contents by hash) */
  snaps: SnapTree;
  /** paths whose content is not known this cycle: left out of the plan on every side */
  unknown: Set<string>;
}

export interface Applied {
  /** the steps done (each checked against what the snapshot saw, just before it was done) */
  done: Set<Move>;
  /** paths written: this side's change token now, for the ancestor (a side that cannot tell leaves it out) */
  tokens: Map<string, string>;
  /** paths written: the hash of the bytes written, when the plan's may differ (a file changed meanwhile) */
  hashes: Map<string, string>;
  /**
   * paths written: the size of the bytes written where it can differ from the plan's (a pulled file is what
   * the fetch read, which may be a later write than the snapshot saw); the ancestor records it with the hash
   */
  sizes?: Map<string, number>;
}

/** Keep a copy of a version a one-way mode replaces (keep.ts); returns where it was kept. */
export type KeepCopy = (rel: string, data: Uint8Array | string) => Promise<string>;

export interface SyncEndpoint {
  readonly side: "local" | "pod";
  /** The tree now, within `scope` if given; hashes are taken from `anc` where the change token agrees. */
  snapshot(anc: Ancestor, scope?: Set<string>): Promise<Snapshot>;
  /** The bytes of these files and links as they are now (a path gone meanwhile is left out). */
  fetch(paths: string[]): Promise<Fetched>;
  /** A file or link of this side as the other side's apply sends it: read as it streams (optional). */
  stage?(path: string, snap: Snap): StagedFile;
  /**
   * Apply these steps (all on this side) with `from` as the source of what is copied; a step with `keep`
   * keeps a copy of the version it replaces. Each step is done only if the path still is what the last
   * snapshot saw.
   */
  apply(moves: Move[], from: SyncEndpoint, keep: KeepCopy): Promise<Applied>;
  /** The change token of a path as the last snapshot (or apply) left it: the ancestor's lk / pk. */
  token(path: string): string | undefined;
  /** A path's modification time as the last snapshot saw it (ms), for a conflict's report. */
  mtimeMs(path: string): number | undefined;
  /** Files hashed since the last call (the cycle's trace says how many). */
  takeHashed(): number;
}

/** The entries of `t` at these keys (a cycle's scope). */
export function pick<T>(t: Map<string, T>, keys: Set<string>): Map<string, T> {
  const m = new Map<string, T>();
  for (const k of keys) {
    const v = t.get(k);
    if (v !== undefined) m.set(k, v);
  }
  return m;
}

/**
 * KODAMA_SYNC_HALT_AT=POINT, for tests: the cycle stops for good the first time it reaches POINT, after
 * saying so in the log, so that a test can SIGKILL the process exactly there. POINT is `scan` (a file
 * hashed, the rest of the local tree not yet), `applied` (the pod's side of the plan applied, the local
 * side not), `placing` (a pulled file written under its temporary name, not yet renamed into place) or
 * `ancestor` (both sides applied, the new ancestor not yet kept).
 */
export type HaltPoint = "scan" | "applied" | "placing" | "ancestor";
const HALT_AT = Deno.env.get("KODAMA_SYNC_HALT_AT");
export async function haltAt(point: HaltPoint, log?: (line: string) => void): Promise<void> {
  if (HALT_AT !== point) return;
  log?.(`halted at ${point} (KODAMA_SYNC_HALT_AT): waiting to be killed`);
  await new Promise(() => setInterval(() => {}, 3_600_000));
}
