/**
 * A cycle between this machine and the session's pod (cycle.ts over local.ts and podend.ts), as the
 * loop (loop.ts), `sync pull`, `sync resolve` and resume run it; and the ancestor a full push leaves.
 */
import type { Kube } from "../../kube/client.ts";
import { hostPlatform, probeFolding } from "../../base/platform.ts";
import { type Ancestor, loadAncestor, saveAncestor } from "./ancestor.ts";
import { cycle, type CycleResult } from "./cycle.ts";
import type { Force } from "./cycleplan.ts";
import { haltAt, type HaltPoint } from "./endpoint.ts";
import type { IgnoreRules } from "./ignore.ts";
import { keeper } from "./keep.ts";
import { lkey, LocalEndpoint, localSnaps } from "./local.ts";
import type { Action, SnapTree, SyncMode } from "./plan.ts";
import { listPod, PodEndpoint } from "./podend.ts";
import type { PodEntry } from "./podside.ts";
import { rulesFor } from "./push.ts";
import type { BatchChannel } from "./remote.ts";
import type { Tree } from "./scan.ts";
import type { SyncConfig } from "./store.ts";
import type { Folding } from "../../base/platform.ts";

/** What one cycle needs besides the trees. */
export interface CycleContext {
  kube: Kube;
  c: SyncConfig;
  rules: IgnoreRules;
  mode: SyncMode;
  home?: string;
  /** the pod's state (from the watcher or a listing) */
  pod: Map<string, PodEntry>;
  /** local md5 memo: rel -> [statKey, hash] */
  memo: Map<string, [string, string]>;
  channel?: () => Promise<BatchChannel>;
  /** a kept-open channel running FETCH_SCRIPT, for small fetches */
  fetchChannel?: () => Promise<BatchChannel>;
  log?: (line: string) => void;
  /** resolve: take this side for these paths whatever the plan says */
  force?: Force;
  /** `sync pull`: only bring changes back (nothing is sent), only below this path ("" = all) */
  pullOnly?: { under: string };
  /** paths changed in the pod -> when the change was done (the loop's watcher discounts older rounds) */
  touched?: Map<string, number>;
  /** `sync pull --force`: a local directory a pulled file replaces loses what is not ignored */
  clearDirs?: boolean;
  /** how the local disk folds names (probeFolding of the root): names that fold together conflict */
  folding?: Folding;
  /** the local tree now (the loop keeps one up to date from its file watcher); default: a full scan */
  localTree?: () => Tree;
  /** the ancestor as the caller holds it (default: read from disk) */
  ancestor?: Ancestor;
  /** keep the new ancestor (default: written to disk before the cycle ends) */
  storeAncestor?: (a: Ancestor) => void;
  /** a pulled file or link was just written here, with this `selfKey` (the loop's watcher will report it) */
  wroteLocal?: (rel: string, key: string) => void;
  /**
   * plan only these paths (with `localTree`): every other path is taken as unchanged on both sides since
   * the last cycle (the loop names what its file watcher and pod rounds saw: `planScope`). The conflicts
   * returned are then those in the scope only.
   */
  only?: Set<string>;
  /** the plan as made (for `sync pull --dry-run`): nothing is applied when this returns false */
  onPlan?: (plan: Action[], anc: Ancestor, local: SnapTree, pod: SnapTree) => boolean;
  /** the refusals already logged, and pulledPathProblem's verdicts: kept by the loop between cycles */
  refusals?: Map<string, string>;
  names?: Map<string, boolean>;
}

/** One cycle between the local tree and the pod (see cycle.ts). */
export async function runCycle(x: CycleContext): Promise<CycleResult> {
  const { c, rules } = x;
  const where = { root: c.root, workdir: c.workdir };
  const halt = (point: HaltPoint) => haltAt(point, x.log);
  const tree = x.localTree?.();
  const local = new LocalEndpoint({
    c,
    rules,
    home: x.home,
    memo: x.memo,
    tree,
    refusals: x.refusals ?? new Map(),
    clearDirs: x.clearDirs,
    wroteLocal: x.wroteLocal,
    halt,
    log: x.log,
  });
  const pod = new PodEndpoint({
    kube: x.kube,
    c,
    rules,
    pod: x.pod,
    touched: x.touched,
    channel: x.channel,
    fetchChannel: x.fetchChannel,
    names: x.names ?? new Map(),
  });
  return await cycle(local, pod, {
    mode: x.mode,
    folding: x.folding,
    force: x.force,
    pullOnly: x.pullOnly,
    ancestor: x.ancestor ?? await loadAncestor(c.name, where, x.home),
    scope: tree ? x.only : undefined,
    keep: keeper(c, x.home),
    storeAncestor: x.storeAncestor ?? ((a) => saveAncestor(c.name, where, a, x.home)),
    onPlan: x.onPlan,
    halt,
    log: x.log,
  });
}

/** Record the local tree as the ancestor after a full push (start): both sides hold it now. */
export async function recordPushed(
  c: SyncConfig,
  home?: string,
  sent?: { tree: Tree; hashes: Map<string, string> },
): Promise<void> {
  const rules = rulesFor({ ...c, syncGit: false });
  const memo = new Map<string, [string, string]>();
  let scanned: Tree | undefined;
  if (sent) {
    // what was sent, hashed as it was read: no second walk or read, and a file edited during the push is
    // recorded as the pod got it (its newer local version is then a local change, sent by the next cycle)
    scanned = new Map();
    for (const [p, e] of sent.tree) {
      if (rules.ignoredPath(p, e.kind === "dir")) continue;
      const h = sent.hashes.get(p);
      if (e.kind === "file" && !h) continue; // not sent (gone meanwhile): the next cycle looks again
      scanned.set(p, e);
      if (h) memo.set(p, [lkey(e), h]);
    }
  }
  const { snaps, entries } = await localSnaps(c.root, rules, new Map(), memo, hostPlatform(), scanned);
  const a: Ancestor = new Map();
  for (const [p, s] of snaps) {
    const e = entries.get(p)!;
    // the pod's stat key as tar left it (size, the mtime and mode sent): the watcher's first round finds
    // it unchanged and takes the hash from here instead of an md5sum of the whole tree in the pod; a key
    // that differs (an edit there since, a tar that kept no mtime) only costs that file's md5sum
    const pk = sent && e.kind === "file"
      ? `${e.size} ${Math.floor(e.mtime / 1000)} ${podRawMode(e.mode)}`
      : undefined;
    a.set(p, { ...s, ...(e.kind === "file" ? { lk: lkey(e), ...(pk ? { pk } : {}) } : {}) });
  }
  await saveAncestor(c.name, { root: c.root, workdir: c.workdir }, a, home);
}

/** A regular file's raw mode as the pod's `stat -c %f` prints it (hex, no leading zeros). */
export function podRawMode(mode: number): string {
  return (0o100000 | (mode & 0o7777)).toString(16);
}

/**
 * One cycle now, without the background process (resume, `sync resolve`): the pod listed in one exec,
 * then planned and applied like the loop does.
 */
export async function reconcileOnce(
  kube: Kube,
  c: SyncConfig,
  o: { home?: string; force?: CycleContext["force"]; log?: (line: string) => void } = {},
): Promise<CycleResult> {
  const cc = { ...c, syncGit: false };
  const pod = await listPod(kube, cc);
  return await runCycle({
    kube,
    c: cc,
    rules: rulesFor(cc),
    mode: c.mode ?? "two-way",
    home: o.home,
    pod,
    memo: new Map(),
    force: o.force,
    log: o.log,
    folding: await probeFolding(c.root, hostPlatform()),
  });
}
