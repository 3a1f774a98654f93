/**
 * `kodama sync pull NAME [PATH]`: bring back what changed in the pod since both sides last agreed.
 *
 * The same three-way plan as the two-way sync (plan.ts), against the same common ancestor, with only
 * the pod -> local half applied: a path the pod changed comes back, a path the pod deleted goes, a path
 * changed on both sides is a conflict, left alone unless --force (the pod's version wins). Nothing is
 * sent to the pod. What the pod sends is untrusted (safety.ts): never written inside .git, never through
 * a local symlink, no special or world-write bits; a local directory the pod replaced with a file stays
 * unless --force, and even then its ignored files (and so the directory) stay.
 *
 * planPull / markFolded / hardLinkSource are the manifest-based pull planner with the folding rules of
 * #36 (case-insensitive and normalizing disks); the two-way plan applies the same rule (plan.ts
 * foldConflicts), with the root's folding probed.
 */
import { escapeControl } from "../../base/text/escape.ts";
import { join } from "node:path";
import type { Kube } from "../../kube/client.ts";
import { ExitCode, KodamaError, notFound } from "../../base/errors.ts";
import { type Sink, stderrSink, stdoutSink } from "../../base/sink.ts";
import { requireSession } from "../state/cluster.ts";
import { rulesFor } from "./push.ts";
import {
  localRule,
  localWriteProblem,
  type ProtectedPlaces,
  pulledLinkProblem,
  pulledPathProblem,
  throughLink,
} from "./safety.ts";
import { protectedPlaces } from "./protect.ts";
import type { RemoteEntry } from "./remote.ts";
import { type Entry, sameEntry, type Tree } from "./scan.ts";
import { emptyStatus, loadConfig, loadStatus, repoOf, saveStatus, sessionOf } from "./store.ts";
import { needsRepo, syncedKeys } from "./units.ts";
import { running } from "./column.ts";
import { spawnDaemon, stopDaemon } from "./daemon.ts";
import type { Action, SnapTree } from "./plan.ts";
import { listPod } from "./podend.ts";
import { runCycle } from "./reconcile.ts";
import { type Folding, foldName, hostPlatform, type Platform, probeFolding } from "../../base/platform.ts";

export type Change = "added" | "modified" | "deleted";

export interface PullItem {
  path: string;
  change: Change;
  conflict: boolean;
  /** the local name it would land on, on a case-insensitive or normalizing disk (a conflict) */
  foldsOnto?: string;
  /** why it stays in the pod (localWriteProblem: one of kodama's rules here) */
  refused?: string;
}

const sec = (ms: number) => Math.floor(ms / 1000);

/** Did the pod change this path since the manifest recorded it? Pure. */
export function podChanged(r: RemoteEntry, m: Entry | undefined): Change | undefined {
  if (!m) return "added";
  if (m.kind !== r.kind) return "modified";
  if (r.kind === "file" && (r.size !== m.size || r.mtime !== sec(m.mtime))) return "modified";
  if (r.kind === "symlink") return r.link !== undefined && r.link !== m.link ? "modified" : undefined;
  if (r.mode !== m.mode) return "modified";
  return undefined;
}

/** Did the local side change this path since the manifest recorded it? Pure. */
export function localChanged(l: Entry | undefined, m: Entry | undefined): boolean {
  if (!m) return l !== undefined && l.kind !== "dir";
  if (!l) return true;
  return !sameEntry(l, m);
}

/**
 * What a pull would do (files and links; directories are made as needed). `under` limits it to one
 * path. Pure.
 */
export function planPull(
  remote: Map<string, RemoteEntry>,
  manifest: Tree,
  local: Tree,
  ignored: (rel: string, isDir: boolean) => boolean,
  under?: string,
  o: {
    /** how the local disk folds names (src/base/platform.ts probeFolding of the sync root) */
    folding?: Folding;
    /** whose naming rules apply (default this machine's) */
    platform?: Platform;
    /** root-relative `workflows.paths` directories (SyncConfig.ruleDirs) */
    ruleDirs?: readonly string[];
  } = {},
): PullItem[] {
  const { folding, platform = hostPlatform(), ruleDirs = [] } = o;
  const inScope = (p: string) => !under || p === under || p.startsWith(under + "/");
  const items: PullItem[] = [];
  for (const [p, r] of remote) {
    if (r.kind === "dir" || !inScope(p) || ignored(p, false) || localWriteProblem(p, platform, ruleDirs)) {
      continue;
    }
    if (r.kind === "symlink" && pulledLinkProblem(p, r.link)) continue; // a link out is never made here
    const m = manifest.get(p);
    const change = podChanged(r, m);
    if (!change) continue;
    const l = local.get(p);
    // the same file made on both sides is only a conflict when they differ
    const same = !m && l?.kind === r.kind && r.kind === "file" && l.size === r.size &&
      sec(l.mtime) === r.mtime;
    if (same) continue;
    items.push({ path: p, change, conflict: localChanged(l, m) });
  }
  for (const [p, m] of manifest) {
    if (
      m.kind === "dir" || remote.has(p) || !inScope(p) || ignored(p, false) ||
      localWriteProblem(p, platform, ruleDirs)
    ) {
      continue;
    }
    const l = local.get(p);
    if (!l) continue; // gone on both sides
    items.push({ path: p, change: "deleted", conflict: localChanged(l, m) });
  }
  if (folding && (folding.caseInsensitive || folding.normalizing)) markFolded(items, remote, local, folding);
  return items.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * On a disk that folds names (APFS, NTFS: `Foo` and `foo` are one file; APFS: NFC and NFD too), a pod
 * name is a conflict — never an overwrite — when it, or one of its directories, would land on a local
 * name spelled differently, or when another pod name lands on the same local name. Pure.
 */
export function markFolded(
  items: PullItem[],
  remote: Map<string, RemoteEntry>,
  local: Tree,
  f: Folding,
): void {
  const localByKey = new Map<string, string>();
  for (const name of local.keys()) localByKey.set(foldName(name, f), name);
  const podByKey = new Map<string, string[]>();
  for (const [name, r] of remote) {
    if (r.kind === "dir") continue;
    const k = foldName(name, f);
    (podByKey.get(k) ?? podByKey.set(k, []).get(k)!).push(name);
  }
  for (const i of items) {
    if (i.change === "deleted") continue;
    const parts = i.path.split("/");
    for (let n = 1; n <= parts.length && i.foldsOnto === undefined; n++) {
      const prefix = parts.slice(0, n).join("/");
      if (local.has(prefix)) continue;
      i.foldsOnto = localByKey.get(foldName(prefix, f));
    }
    const twins = (podByKey.get(foldName(i.path, f)) ?? []).filter((x) => x !== i.path);
    if (i.foldsOnto === undefined && twins.length) i.foldsOnto = twins[0];
    if (i.foldsOnto !== undefined) i.conflict = true;
  }
}

const MARK: Record<Change, string> = { added: "A", modified: "M", deleted: "D" };

/**
 * `A path`, `M path`, `D path`; conflicts as `C path (changed here and in the pod)`, or `C path (this
 * disk stores it as the same file as X)` on a folding disk; one of kodama's rules as `! path (…, left there:
 * why)`.
 */
export function formatItems(items: PullItem[]): string {
  // the names come from the pod: every control and format character shown escaped (src/base/text/escape.ts)
  return items.map((i) => {
    const path = escapeControl(i.path);
    return i.refused !== undefined
      ? `! ${path} (${i.change} in the pod, left there: ${i.refused})\n`
      : i.foldsOnto !== undefined
      ? `C ${path} (this disk stores it as the same file as ${escapeControl(i.foldsOnto)})\n`
      : i.conflict
      ? `C ${path} (${i.change} in the pod, changed here too)\n`
      : `${MARK[i.change]} ${path}\n`;
  }).join("");
}

/**
 * Where a pulled hard link may point: a regular file of this same pull (`group`), inside the tree, not
 * through a symlink — never a local file the pod did not send (a secret linked under another name would
 * be pushed back to the pod), never outside (macOS's link(2) follows a symlink). The absolute path, or
 * undefined.
 */
export function hardLinkSource(root: string, to: string, group: string[]): string | undefined {
  if (!to || !group.includes(to) || pulledPathProblem(to) || throughLink(root, to)) return undefined;
  const abs = join(root, to);
  try {
    return Deno.lstatSync(abs).isFile ? abs : undefined;
  } catch {
    return undefined;
  }
}

/** The pod -> local half of a plan as A/M/D/C items (directories are made as needed, not listed). Pure. */
function refusedIf(i: PullItem, places: readonly string[] | ProtectedPlaces): PullItem {
  const why = localRule(i.path, places);
  return why ? { ...i, refused: why } : i;
}

export function pullItems(
  plan: Action[],
  anc: SnapTree,
  places: readonly string[] | ProtectedPlaces = [],
): PullItem[] {
  const items: PullItem[] = [];
  for (const a of plan) {
    if (a.op === "conflict") {
      const onto = /^this disk stores it as the same file as (.*)$/.exec(a.why)?.[1];
      items.push({
        path: a.path,
        change: !a.pod ? "deleted" : !a.ancestor ? "added" : "modified",
        conflict: true,
        ...(onto !== undefined ? { foldsOnto: onto } : {}),
      });
    } else if (a.op === "delete" && a.on === "local" && anc.get(a.path)?.kind !== "dir") {
      items.push(refusedIf({ path: a.path, change: "deleted", conflict: false }, places));
    } else if (a.op === "copy" && a.to === "local" && a.entry.kind !== "dir") {
      items.push(
        refusedIf(
          { path: a.path, change: anc.has(a.path) ? "modified" : "added", conflict: false },
          places,
        ),
      );
    }
  }
  return items.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

export async function pullCommand(
  kube: Kube,
  name: string,
  path: string | undefined,
  f: { dryRun?: boolean; force?: boolean },
  out: Sink = stdoutSink,
  err: Sink = stderrSink,
): Promise<number> {
  // a session that syncs each repository on its own: each one's pull (a PATH needs --repo)
  if (path !== undefined) needsRepo(name, "sync pull PATH");
  // the session's sync, or each repository's of a session with several (units.ts)
  const pullOne = async (name: string): Promise<number> => {
    const c = await loadConfig(name);
    if (!c || c.namespace !== kube.namespace) {
      throw notFound(
        `session ${name} is not synced from this machine`,
        `pull compares with the last sync: start one with \`kodama sync push ${name} PATH\``,
      );
    }
    const v = await requireSession(kube, kube.namespace, sessionOf(name));
    if (v.status !== "Running") {
      throw new KodamaError(`session ${v.name} is ${v.status.toLowerCase()}: pull needs its pod running`);
    }
    const under = path?.replace(/^\.\/+/, "").replace(/\/+$/, "") || "";
    // the background sync owns the ancestor while it runs: it pauses for the pull
    const daemon = !f.dryRun && running(name);
    if (daemon) await stopDaemon(name);
    try {
      const cc = { ...c, syncGit: false };
      const pod = await listPod(kube, cc);
      let items: PullItem[] = [];
      // what the listing marks as left in the pod; the cycle checks again right before it writes
      const places = await protectedPlaces(c.root);
      const r = await runCycle({
        kube,
        c: cc,
        rules: rulesFor(cc),
        mode: "two-way",
        pod,
        memo: new Map(),
        pullOnly: { under },
        clearDirs: !!f.force,
        force: f.force ? { paths: under ? new Set([under]) : "all", keep: "pod" } : undefined,
        log: (line) => err.write(`warning: ${line}\n`),
        folding: await probeFolding(c.root, hostPlatform()),
        onPlan: (plan, anc) => {
          items = pullItems(plan, anc, places);
          out.write(formatItems(items));
          return !f.dryRun && items.length > 0;
        },
      });
      const conflicts = f.force ? [] : items.filter((i) => i.conflict);
      if (!items.length) {
        err.write(`nothing changed in ${c.pod}:${c.workdir} since the last sync\n`);
        return ExitCode.OK;
      }
      if (f.dryRun) {
        err.write(
          `${items.length} path(s) would change locally${
            conflicts.length ? `, ${conflicts.length} conflict(s) (--force takes the pod's version)` : ""
          }; nothing done (--dry-run)\n`,
        );
        return ExitCode.OK;
      }
      const left = r.conflicts.length;
      if (!under) {
        await saveStatus(name, { ...((await loadStatus(name)) ?? emptyStatus()), conflicts: r.conflicts });
      }
      err.write(
        `pulled ${r.toLocal} change(s)${
          left ? `; ${left} conflict(s) left alone (--force takes the pod's version)` : ""
        }${r.skipped ? `; ${r.skipped} skipped (changed meanwhile, or refused)` : ""}\n`,
      );
      return left || r.skipped ? ExitCode.FAILED : ExitCode.OK;
    } finally {
      if (daemon) await spawnDaemon(kube, name, c.namespace);
    }
  };
  const keys = syncedKeys(name);
  if (keys.length < 2 && (keys[0] ?? name) === name) return await pullOne(name);
  let code: number = ExitCode.OK;
  for (const key of keys) {
    out.write(`== ${repoOf(key)}\n`);
    code = Math.max(code, await pullOne(key));
  }
  return code;
}
