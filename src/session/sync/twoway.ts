/**
 * Two-way sync's names, where importers found them before sync was split in two endpoints around a pure
 * cycle (issue #63). New code imports the module that holds the name:
 *
 * - endpoint.ts   the SyncEndpoint interface (snapshot, fetch, apply with expectations, keep a copy)
 * - local.ts      the local endpoint (scan, hashes, the one safe local write)
 * - podend.ts     the pod endpoint (watcher state, pod hashes, one apply batch), listPod
 * - fetchtar.ts   fetching files from the pod (tar, and its parser)
 * - cycleplan.ts  the pure parts around the planner: plan options, new ancestor, conflicts
 * - cycle.ts      one cycle between two endpoints (at most about 100 lines)
 * - reconcile.ts  runCycle between this machine and a pod; reconcileOnce; recordPushed
 * - loop.ts       TwoWayLoop, the background process's body
 */
export type { Conflict } from "./cycleplan.ts";
export type { CycleResult } from "./cycle.ts";
export type { HaltPoint } from "./endpoint.ts";
export { FETCH_SCRIPT } from "./fetchtar.ts";
export { localSnaps, placesNow, TMP_PREFIX } from "./local.ts";
export { listPod } from "./podend.ts";
export { type CycleContext, podRawMode, reconcileOnce, recordPushed, runCycle } from "./reconcile.ts";
export {
  ACK_SCRIPT,
  ACTIVE_MS,
  eventPath,
  FULL_EVERY,
  IDLE_TICK_S,
  LOCAL_RESCAN_MS,
  type LoopHooks,
  QUIET_MS,
  SessionStopped,
  TICK_S,
  TwoWayLoop,
} from "./loop.ts";
