/**
 * Continuous sync: a recursive `Deno.watchFs` on the local root; events are coalesced (a batch goes
 * out once the tree has been quiet for QUIET_MS, or MAX_WAIT_MS after the first event — BURST_WAIT_MS
 * once hundreds of paths wait) and each batch is one exec (`batch.ts`). While a batch is in flight new events gather for the next one, so a burst of
 * 10,000 changes (a `git checkout`) becomes a few batches.
 *
 * What a batch holds comes from the paths' state when it is made, compared with the manifest: a path
 * that is gone and was sent is deleted, a new directory is scanned whole (files made in it before the
 * watch reached it are not missed), a changed pattern file (.gitignore, .kodamaignore) or a lost event
 * queue triggers a full rescan. A rename is a delete of the old path and a send of the new one.
 *
 * A failed batch (the stream dropped, the pod restarted, the pod is gone) is not recorded: the loop
 * waits with back-off (0.5 s doubling to 15 s), checks the pod, and then re-syncs everything that
 * differs from the manifest — the failed batch and whatever changed meanwhile — counting a reconnect.
 * Idle, nothing runs: no timers, no polling; the process sleeps in inotify.
 */
import { isAbsolute, relative, sep } from "node:path";
import type { Kube } from "../../kube/client.ts";
import { formatBytes } from "../../bytes.ts";
import { type Batch, makeBatch } from "./batch.ts";
import { IgnoreRules } from "./ignore.ts";
import { deletable, rulesFor, targetOf } from "./push.ts";
import { applyBatch, batchBytes, BatchChannel, CHANNEL_MAX_BYTES, SyncConnectionError } from "./remote.ts";
import type { PackStats } from "./batch.ts";
import {
  adoptMode,
  adoptModes,
  diffTrees,
  type Entry,
  gitExecutables,
  sameEntry,
  scanTree,
  sortWalk,
  statPath,
  type Tree,
} from "./scan.ts";
import { type Folding, hasUnixModes, hostPlatform, probeFolding } from "../../platform.ts";
import {
  loadManifest,
  manifestStamp,
  recordBatch,
  type SyncConfig,
  type SyncStatus,
  updateManifest,
} from "./store.ts";

export const QUIET_MS = 15;
export const MAX_WAIT_MS = 120;
/** once this many paths wait, it is a burst (a checkout, a build): gather up to BURST_WAIT_MS */
const BURST_PATHS = 256;
const BURST_WAIT_MS = 1000;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 15_000;

export interface WatchHooks {
  status: SyncStatus;
  /** persist `status` (called on every state change and after each batch) */
  save(): Promise<void>;
  log(line: string): void;
  home?: string;
  /** check the pod before a retry; throws when it is not there or not running */
  checkPod?(): Promise<void>;
}

/**
 * A watcher's absolute path as a root-relative `/` path ("" for the root, `..…` when outside). FSEvents
 * (macOS) reports canonical paths, so a root reached through a symlink (`/tmp` is `/private/tmp`,
 * `/var/folders`, the user's own links) is matched by its real path too. Pure.
 */
export function eventPath(abs: string, root: string, realRoot?: string): string {
  const rel = relative(root, abs);
  const outside = rel.startsWith("..") || isAbsolute(rel);
  const r = outside && realRoot ? relative(realRoot, abs) : rel;
  return r.split(sep).join("/");
}

export class SyncLoop {
  #pending = new Set<string>();
  #full = true; // the first round diffs the whole tree (what changed while nobody watched)
  #wake?: () => void;
  #quiet?: ReturnType<typeof setTimeout>;
  #firstAt = 0;
  #manifest: Tree = new Map();
  #stamp = -1;
  #channel?: BatchChannel;
  readonly #rules: IgnoreRules;
  readonly #where: { root: string; workdir: string };
  /** the root with every symlink resolved: macOS's FSEvents reports canonical paths (/private/tmp/…) */
  #realRoot?: string;
  /** how the local disk folds names (a case-only rename must delete the old spelling in the pod) */
  #folding?: Folding;
  /** Windows only: files git marks executable (the disk keeps no such bit) */
  #gitExec?: Set<string>;

  constructor(private kube: Kube, private c: SyncConfig, private h: WatchHooks) {
    this.#rules = rulesFor(c);
    this.#where = { root: c.root, workdir: c.workdir };
  }

  /** Note a changed path (absolute) from the watcher. */
  #note(abs: string): void {
    const rel = eventPath(abs, this.c.root, this.#realRoot);
    if (rel === "" || rel.startsWith("..")) return;
    if (rel === ".kodama" || rel.startsWith(".kodama/")) return;
    if (IgnoreRules.isPatternFile(rel)) {
      this.#rules.forget(rel.includes("/") ? rel.slice(0, rel.lastIndexOf("/")) : "");
      if (rel === ".git/info/exclude") this.#rules.forget("");
      this.#full = true;
    }
    if (!this.c.syncGit && (rel === ".git" || rel.startsWith(".git/")) && rel !== ".git/info/exclude") return;
    this.#pending.add(rel);
    this.#schedule();
  }

  #schedule(): void {
    const now = Date.now();
    if (!this.#quiet) this.#firstAt = now;
    if (this.#quiet) clearTimeout(this.#quiet);
    const max = this.#pending.size >= BURST_PATHS ? BURST_WAIT_MS : MAX_WAIT_MS;
    const wait = Math.max(0, Math.min(QUIET_MS, this.#firstAt + max - now));
    this.#quiet = setTimeout(() => {
      this.#quiet = undefined;
      this.#wake?.();
    }, wait);
  }

  get pending(): number {
    return this.#pending.size;
  }

  async #refreshManifest(): Promise<void> {
    const stamp = await manifestStamp(this.c.name, this.h.home);
    if (stamp !== this.#stamp) {
      this.#manifest = await loadManifest(this.c.name, this.#where, this.h.home);
      this.#stamp = stamp;
    }
  }

  /** The batch for the pending paths (or for the whole tree after a rescan request). */
  async #makeBatch(): Promise<{ batch: Batch; forget: string[] }> {
    await this.#refreshManifest();
    const then = this.#manifest;
    if (this.#full) {
      this.#full = false;
      this.#pending.clear();
      const now = await scanTree(this.c.root, this.#rules);
      if (!hasUnixModes(hostPlatform())) {
        this.#gitExec = await gitExecutables(this.c.root);
        adoptModes(now, then, hostPlatform(), this.#gitExec);
      }
      const d = diffTrees(then, now);
      return { batch: makeBatch(deletable(d.deleted, then, this.#rules), d.changed, now), forget: d.deleted };
    }
    const paths = sortWalk([...this.#pending]);
    this.#pending.clear();
    const sends = new Map<string, Entry>();
    const deletes: string[] = [];
    const forget: string[] = [];
    const send = (p: string, e: Entry) => {
      const t = then.get(p);
      if (!t || !sameEntry(t, e) || (e.kind === "file" && e.nlink > 1)) sends.set(p, e);
    };
    for (const rel of paths) {
      const t = then.get(rel);
      const found = await statPath(this.c.root, rel, undefined, this.#folding);
      const e = found && adoptMode(rel, found, t, hostPlatform(), this.#gitExec);
      if (!e) {
        if (t) {
          forget.push(rel);
          if (!this.#rules.ignoredPath(rel, t.kind === "dir")) deletes.push(rel);
        }
        continue;
      }
      if (this.#rules.ignoredPath(rel, e.kind === "dir")) {
        if (t) forget.push(rel); // ignored now: stays in the pod, forgotten here
        continue;
      }
      if (t && t.kind !== e.kind) deletes.push(rel);
      // parents the pod was never sent (a new directory whose own event is still to come)
      const parts = rel.split("/");
      for (let i = 1; i < parts.length; i++) {
        const dir = parts.slice(0, i).join("/");
        if (!then.has(dir) && !sends.has(dir)) {
          const de = await statPath(this.c.root, dir, undefined, this.#folding);
          if (de) sends.set(dir, de);
        }
      }
      if (e.kind === "dir" && (!t || t.kind !== "dir")) {
        const below = await scanTree(this.c.root, this.#rules, { under: rel });
        for (const [p, pe] of adoptModes(below, then, hostPlatform(), this.#gitExec)) send(p, pe);
      } else send(rel, e);
      if (e.kind === "file" && e.nlink > 1) {
        // the other names of a hard-linked file go along, so the pod keeps one inode
        for (const [p, pe] of then) {
          if (p !== rel && pe.kind === "file" && pe.ino === e.ino && pe.dev === e.dev) {
            const cur = await statPath(this.c.root, p, undefined, this.#folding);
            if (cur && cur.ino === e.ino) sends.set(p, cur);
          }
        }
      }
    }
    const order = sortWalk([...sends.keys()]);
    return { batch: { deletes: [...new Set(deletes)], sends: order.map((p) => [p, sends.get(p)!]) }, forget };
  }

  /** One round: make the batch, apply it, record it. Throws what applyBatch throws. */
  async #round(signal: AbortSignal): Promise<void> {
    const { batch, forget } = await this.#makeBatch();
    if (!batch.sends.length && !batch.deletes.length) {
      if (forget.length) await this.#record([], [], forget);
      return;
    }
    const s = this.h.status;
    s.state = "syncing";
    s.pending = this.#pending.size + batch.sends.length + batch.deletes.length;
    await this.h.save();
    const t0 = performance.now();
    try {
      const stats = await this.#apply(batch, signal);
      await this.#record(batch.deletes, batch.sends, forget);
      s.filesSent += stats.files;
      s.bytesSent += stats.bytes;
      s.batches++;
      s.lastSync = new Date().toISOString();
      this.h.log(
        `sent ${stats.files} file${stats.files === 1 ? "" : "s"} (${
          formatBytes(stats.bytes)
        }), ${batch.deletes.length} delete${batch.deletes.length === 1 ? "" : "s"} in ${
          Math.round(performance.now() - t0)
        } ms`,
      );
    } catch (e) {
      // not recorded: the next round after a reconnect diffs the whole tree again
      this.#full = true;
      throw e;
    }
  }

  /**
   * Small batches (a save) go through the kept-open channel: one round trip, no new exec; big ones (a
   * rescan, a burst) get an exec of their own, streamed from disk.
   */
  async #apply(batch: Batch, signal: AbortSignal): Promise<PackStats> {
    let bytes = 0;
    for (const [, e] of batch.sends) bytes += e.kind === "file" ? e.size : 0;
    if (bytes > CHANNEL_MAX_BYTES || batch.sends.length + batch.deletes.length > 200) {
      return await applyBatch(this.kube, targetOf(this.c), this.c.root, batch, { signal });
    }
    if (!this.#channel || this.#channel.closed) {
      this.#channel = await BatchChannel.open(this.kube, targetOf(this.c));
    }
    const stats: PackStats = { files: 0, bytes: 0 };
    const data = await batchBytes(this.c.root, batch, stats);
    try {
      await this.#channel.apply(data, this.c.pod);
    } catch (e) {
      this.#channel.close();
      this.#channel = undefined;
      throw e;
    }
    return stats;
  }

  async #record(deletes: string[], sends: [string, Entry][], forget: string[]): Promise<void> {
    const all = [...new Set([...deletes, ...forget])];
    recordBatch(this.#manifest, all, sends);
    await updateManifest(this.c.name, this.#where, (t) => recordBatch(t, all, sends), this.h.home);
    this.#stamp = await manifestStamp(this.c.name, this.h.home);
  }

  /** Watch and sync until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    this.#realRoot = await Deno.realPath(this.c.root).catch(() => undefined);
    this.#folding = await probeFolding(this.c.root, hostPlatform());
    if (this.#folding.caseInsensitive || this.#folding.normalizing) {
      this.h.log(
        `the local disk folds names (${
          [this.#folding.caseInsensitive && "case", this.#folding.normalizing && "Unicode normalization"]
            .filter(Boolean).join(", ")
        }): a case-only rename replaces the old name in the pod`,
      );
    }
    const watcher = Deno.watchFs(this.c.root, { recursive: true });
    const s = this.h.status;
    const events = (async () => {
      try {
        for await (const ev of watcher) {
          if (ev.flag === "rescan") {
            this.#full = true;
            this.#schedule();
          }
          for (const p of ev.paths) this.#note(p);
        }
      } catch (e) {
        if (!signal.aborted) this.h.log(`watcher ended: ${(e as Error).message}`);
      }
    })();
    const onAbort = () => {
      watcher.close();
      this.#wake?.();
    };
    signal.addEventListener("abort", onAbort, { once: true });
    let failures = 0;
    try {
      while (!signal.aborted) {
        if (!this.#full && this.#pending.size === 0 || this.#quiet) {
          if (s.state !== "watching" && failures === 0) {
            s.state = "watching";
            s.pending = this.#pending.size;
            await this.h.save();
            continue; // a timer may have fired meanwhile: look again before sleeping
          }
          // no await between the check above and this: a wake-up cannot be lost
          await new Promise<void>((r) => (this.#wake = r));
          this.#wake = undefined;
          continue;
        }
        try {
          if (failures > 0) await this.h.checkPod?.();
          await this.#round(signal);
          if (failures > 0) {
            s.reconnects++;
            s.lastReconnect = new Date().toISOString();
            this.h.log(`reconnected after ${failures} failed attempt(s); re-synced what changed meanwhile`);
            failures = 0;
          }
          s.state = this.#pending.size ? "syncing" : "watching";
          s.pending = this.#pending.size;
          await this.h.save();
        } catch (e) {
          if (signal.aborted) break;
          failures++;
          this.#full = true;
          const msg = (e as Error).message;
          s.state = "error";
          s.lastError = msg;
          s.lastErrorAt = new Date().toISOString();
          s.pending = this.#pending.size;
          await this.h.save();
          const wait = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** (failures - 1));
          this.h.log(
            `${e instanceof SyncConnectionError ? "connection lost" : "batch failed"}: ${msg}; retry in ${
              (wait / 1000).toFixed(1)
            } s`,
          );
          await new Promise<void>((r) => {
            const t = setTimeout(r, wait);
            signal.addEventListener("abort", () => {
              clearTimeout(t);
              r();
            }, { once: true });
          });
        }
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
      try {
        watcher.close();
      } catch { /* closed */ }
      if (this.#quiet) clearTimeout(this.#quiet);
      this.#channel?.close();
      await events;
    }
  }
}
