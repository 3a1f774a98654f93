/**
 * One-shot sync (`kodama sync push`, `start --sync`, `resume`): scan the tree, diff it against the
 * manifest of what the pod was sent, send the difference in one batch, record it. The first push of a
 * session sends everything; later ones only what changed (size, mtime, mode, kind or link target).
 */
import type { Kube } from "../../kube/client.ts";
import type { Sink } from "../../base/sink.ts";
import { formatBytes } from "../../base/text/bytes.ts";
import { ProgressRenderer } from "../../ui/progress.ts";
import { makeBatch, shardBatch } from "./batch.ts";
import { globalExcludesFile, IgnoreRules } from "./ignore.ts";
import { applyBatch, type SyncTarget } from "./remote.ts";
import { adoptModes, diffTrees, gitExecutables, scanTree, type Tree } from "./scan.ts";
import { hasUnixModes, hostPlatform } from "../../base/platform.ts";
import {
  emptyStatus,
  loadManifest,
  loadStatus,
  recordBatch,
  saveStatus,
  type SyncConfig,
  updateManifest,
} from "./store.ts";

export function rulesFor(c: SyncConfig): IgnoreRules {
  return new IgnoreRules(c.root, {
    useGitignore: c.useGitignore,
    excludePatterns: c.excludePatterns,
    syncGit: c.syncGit,
    secretFiles: c.secretFiles ?? [],
    globalExcludes: c.useGitignore ? globalExcludesFile(c.root) : undefined,
  });
}

export function targetOf(c: SyncConfig): SyncTarget {
  return { namespace: c.namespace, pod: c.pod, container: c.container, workdir: c.workdir };
}

export interface PushResult {
  files: number;
  bytes: number;
  deletes: number;
  /** files looked at */
  scanned: number;
  /** bytes on the wire, when compressed */
  wire?: number;
  ms: number;
  /** with `record`: the tree as pushed, and the md5 of each file's content as sent */
  sent?: { tree: Tree; hashes: Map<string, string> };
}

export interface PushOptions {
  home?: string;
  signal?: AbortSignal;
  /** ignore the manifest: send everything */
  full?: boolean;
  /** progress on this sink (a bar on a terminal) */
  err?: Sink;
  tty?: boolean;
  /** parallel exec streams for a big push (default syncStreams()) */
  streams?: number;
  /** hash each file's content as it is sent, and return it with the tree (the ancestor needs no reread) */
  record?: boolean;
  /** told what will be sent before the first byte goes (`start` says it) */
  announce?: (files: number, bytes: number) => void;
}

/** A push smaller than this goes as one stream: a second exec costs more than it saves. */
const PARALLEL_MIN_BYTES = 4 << 20;

/**
 * How many exec streams a big push uses: 2, or KODAMA_SYNC_STREAMS (1 for one stream). Measured
 * (bench/sync.ts, real v1.24 cluster, 5,000 files / 100 MB, kubectl cp / kodama, median of 3, interleaved):
 * at load 5-9, 2 streams 1.23x and 1.43x in two runs where 1 stream was 1.03x and 0.87x and 4 streams
 * 1.00x; at load 7-14 and 19 two streams lost (0.81x, 0.66x). Each stream's hops (API server, kubelet,
 * runtime, the pod's tar) are serial, so two keep both cores of this node busy; more only compete.
 */
export function syncStreams(): number {
  const v = Number(Deno.env.get("KODAMA_SYNC_STREAMS"));
  return Number.isInteger(v) && v >= 1 && v <= 32 ? v : 2;
}

/** A push smaller than this is sent raw: the pod's answer about gzip costs a round trip. */
const COMPRESS_MIN_BYTES = 256 * 1024;

/**
 * Whether a big push compresses what compresses (KODAMA_SYNC_COMPRESS=1; off by default). It sends a
 * quarter fewer bytes on the bench tree (95 MiB as 71), but on the real v1.24 cluster, where laptop, API
 * server, kubelet and pod share two cores, the bytes saved cost about as much CPU as compressing them: two
 * runs disagreed (18.5 s with it, 17.2 s without at load 17-19; 10.5 s and 13.7 s at load 6-10;
 * bench/README.md). Worth it on a slow link.
 */
export function syncCompress(): boolean {
  return Deno.env.get("KODAMA_SYNC_COMPRESS") === "1";
}

/** The paths to delete in the pod: gone locally, but not merely ignored now (those stay in the pod). */
export function deletable(deleted: string[], then: Tree, rules: IgnoreRules): string[] {
  return deleted.filter((p) => !rules.ignoredPath(p, then.get(p)?.kind === "dir"));
}

/** A progress line: `syncing  1,234/5,000 files  12.3 MB/100.0 MB  [=====     ]  45.6 MB/s`. */
export function progressLine(
  files: number,
  totalFiles: number,
  bytes: number,
  totalBytes: number,
  elapsedMs: number,
): string {
  const frac = totalBytes > 0 ? bytes / totalBytes : totalFiles > 0 ? files / totalFiles : 1;
  const w = 20;
  const fill = Math.min(w, Math.round(frac * w));
  const rate = bytes / Math.max(0.001, elapsedMs / 1000);
  return `syncing ${files}/${totalFiles} files  ${formatBytes(bytes)}/${formatBytes(totalBytes)}  [${
    "=".repeat(fill)
  }${" ".repeat(w - fill)}] ${Math.floor(frac * 100)}%  ${formatBytes(rate)}/s`;
}

/**
 * Add a push to the session's sync totals (`sync status`: last sync, files and bytes sent), so the
 * initial sync of `start --sync` and what `resume` sends are counted, not only the background sync's.
 */
async function countSent(name: string, r: PushResult, home?: string): Promise<void> {
  const s = (await loadStatus(name, home)) ?? emptyStatus();
  await saveStatus(name, {
    ...s,
    lastSync: new Date().toISOString(),
    filesSent: s.filesSent + r.files,
    bytesSent: s.bytesSent + r.bytes,
    batches: s.batches + (r.files || r.deletes ? 1 : 0),
  }, home);
}

export async function pushTree(kube: Kube, c: SyncConfig, o: PushOptions = {}): Promise<PushResult> {
  const started = performance.now();
  const rules = rulesFor(c);
  const where = { root: c.root, workdir: c.workdir };
  const unix = hasUnixModes(hostPlatform());
  // a full push on an OS with modes needs nothing of the manifest (it is replaced): not read
  const [now, manifest] = await Promise.all([
    scanTree(c.root, rules),
    o.full && unix ? new Map() as Tree : loadManifest(c.name, where, o.home),
  ]);
  const then = o.full ? new Map() as Tree : manifest;
  // Windows keeps no modes: the pod keeps what it had (the manifest), git's executable bit, or 0644/0755
  if (!unix) adoptModes(now, manifest, hostPlatform(), await gitExecutables(c.root));
  const diff = diffTrees(then, now);
  const batch = makeBatch(deletable(diff.deleted, then, rules), diff.changed, now);
  const result: PushResult = { files: 0, bytes: 0, deletes: batch.deletes.length, scanned: now.size, ms: 0 };
  const hashes = o.record ? new Map<string, string>() : undefined;
  if (hashes) result.sent = { tree: now, hashes };
  if (batch.sends.length || batch.deletes.length) {
    let totalFiles = 0, totalBytes = 0;
    for (const [, e] of batch.sends) {
      if (e.kind === "file") {
        totalFiles++;
        totalBytes += e.size;
      }
    }
    o.announce?.(totalFiles, totalBytes);
    const bar = o.err && o.tty ? new ProgressRenderer(o.err, true, Date.now(), { plain: false }) : undefined;
    let files = 0, bytes = 0;
    const t0 = performance.now();
    let drawn = 0;
    const draw = (force = false) => {
      if (!bar) return;
      const t = performance.now();
      if (!force && t - drawn < 100) return;
      drawn = t;
      bar.update(progressLine(files, totalFiles, bytes, totalBytes, t - t0));
    };
    draw(true);
    const onBytes = (n: number, file?: boolean) => {
      bytes += n;
      if (file) files++;
      draw();
    };
    try {
      const compress = totalBytes >= COMPRESS_MIN_BYTES && syncCompress();
      const k = o.streams ?? syncStreams();
      const parallel = k > 1 && totalFiles >= 4 * k && totalBytes >= PARALLEL_MIN_BYTES;
      if (!parallel) {
        const stats = await applyBatch(kube, targetOf(c), c.root, batch, {
          signal: o.signal,
          onBytes,
          compress,
          hashes,
        });
        result.files = stats.files;
        result.bytes = stats.bytes;
        result.wire = stats.wire;
      } else {
        // one tar stream is bound by one exec's round trips and one tar in the pod: several streams, each
        // a share of the tree by size, fill the connection (bench/sync.ts measures 1, 2, 4 and 8)
        if (batch.deletes.length) {
          await applyBatch(kube, targetOf(c), c.root, { deletes: batch.deletes, sends: [] }, {
            signal: o.signal,
          });
        }
        const all = await Promise.all(
          shardBatch({ deletes: [], sends: batch.sends }, k).map((b) =>
            applyBatch(kube, targetOf(c), c.root, b, { signal: o.signal, onBytes, compress, hashes })
          ),
        );
        for (const st of all) {
          result.files += st.files;
          result.bytes += st.bytes;
          if (st.wire !== undefined) result.wire = (result.wire ?? 0) + st.wire;
        }
      }
    } finally {
      draw(true);
      bar?.done();
    }
  }
  // what is gone locally is forgotten even when it stays in the pod (ignored now); nothing sent and nothing
  // gone: the manifest stays as it is (not read and written again)
  if (batch.sends.length || diff.deleted.length || o.full) {
    await updateManifest(c.name, where, (t) => recordBatch(t, diff.deleted, batch.sends), o.home, o.full);
  }
  await countSent(c.name, result, o.home);
  result.ms = performance.now() - started;
  return result;
}
