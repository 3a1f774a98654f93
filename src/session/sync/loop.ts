/**
 * The loop that runs cycles (the background process's body): it keeps the local tree from the file
 * watcher and the pod's state from the pod watcher's rounds, runs a cycle (reconcile.ts) once both sides
 * have been quiet for a moment, backs off after a failure, pauses while the session is stopped, and
 * flushes both ways before an announced idle stop. Everything it keeps between cycles is in the instance.
 */
import { isAbsolute, relative, sep } from "node:path";
import type { Kube } from "../../kube/client.ts";
import { execInPod } from "../../kube/exec.ts";
import { ExitCode, KodamaError } from "../../base/errors.ts";
import { doubling } from "../../base/clock.ts";
import { type Ancestor, loadAncestor, saveAncestor } from "./ancestor.ts";
import { IgnoreRules } from "./ignore.ts";
import { planScope } from "./plan.ts";
import { type Folding, hostPlatform, probeFolding } from "../../base/platform.ts";
import { APPLY2_SCRIPT, mergeRound, parseRound, type PodEntry, watcherCommand } from "./podside.ts";
import { rulesFor, targetOf } from "./push.ts";
import { BatchChannel, execWatched, SyncConnectionError } from "./remote.ts";
import { APPLY_JS } from "./podapply.ts";
import { scanTreeSync, type Tree, updateTree } from "./scan.ts";
import { paths, sessionOf, type SyncConfig, type SyncStatus } from "./store.ts";
import { type CycleResult, TRACE } from "./cycle.ts";
import { FETCH_SCRIPT } from "./fetchtar.ts";
import { selfKey, TMP_PREFIX } from "./local.ts";
import { runCycle } from "./reconcile.ts";
import ACK from "./pod/ack.sh" with { type: "text" };

const NEWLINE = new TextEncoder().encode("\n");

export const QUIET_MS = 15;
/** after a cycle that moved this many paths, the next one waits for BURST_QUIET_MS of quiet */
const BURST_PATHS = 50;
export const BURST_QUIET_MS = 250;
/** a cycle is never put off longer than this by events that keep coming */
export const MAX_WAIT_MS = 2_000;
/** the loop walks the whole local tree again when its last walk is older than this (a lost event's backstop) */
export const LOCAL_RESCAN_MS = 60_000;
/** how long the file watcher's report of a file this process pulled is taken for that write */
const SELF_WRITE_MS = 5_000;
/** the pod watcher's round period: the loop writes its stdin a line this long after each round's end */
export const TICK_S = 0.5;
/**
 * After ACTIVE_MS with nothing changing on either side, the watcher's rounds are IDLE_TICK_S apart: a
 * round walks the whole tree (on 5,000 files about 15-30 ms of the pod's CPU), so fewer rounds when idle
 * is most of the idle CPU. A change on either side makes them TICK_S apart again at once.
 */
export const IDLE_TICK_S = 0.8;
export const ACTIVE_MS = 30_000;
/** KODAMA_SYNC_IDLE_TICK_S / KODAMA_SYNC_ACTIVE_MS (the bench measures a save after idle without waiting 30 s) */
function envNumber(name: string, dflt: number): number {
  const v = Number(Deno.env.get(name));
  return Number.isFinite(v) && v > 0 ? v : dflt;
}
/**
 * The pod's change notifier (podside.ts EVENTS_JS, where the image has `node`): on unless
 * KODAMA_SYNC_POD_EVENTS=0 (bench/podwatch.ts and the tests measure the watcher with and without it).
 */
function podEvents(): boolean {
  return Deno.env.get("KODAMA_SYNC_POD_EVENTS") !== "0";
}
/**
 * The kept-open apply channel runs podapply.ts's APPLY_JS where the image has `node` (no process a batch):
 * on unless KODAMA_SYNC_POD_APPLY=sh (the bench measures both; the tests run the shell loop too).
 */
function podApplyJs(): string | undefined {
  return Deno.env.get("KODAMA_SYNC_POD_APPLY") === "sh" ? undefined : APPLY_JS;
}
/** a full listing every this many ticks (catches a chmod or an mtime-preserving copy in the pod) */
export const FULL_EVERY = 20;
/** FULL_EVERY, or KODAMA_SYNC_FULL_EVERY (tests push the full listing out of reach) */
function fullEvery(): number {
  const v = Number(Deno.env.get("KODAMA_SYNC_FULL_EVERY"));
  return Number.isInteger(v) && v > 0 ? v : FULL_EVERY;
}
export const BACKOFF_MIN_MS = 500;
export const BACKOFF_MAX_MS = 15_000;

/**
 * How long the loop waits for quiet before a cycle, asked for `delay` ms (QUIET_MS after an event) when
 * the window opened at `pokedAt`. In a burst (the last cycle moved many paths) changes are gathered for
 * longer, so 10,000 new files go in a few batches, not one per scheduling gap; a steady stream of events
 * never puts a cycle off past MAX_WAIT_MS from the window's start. Pure.
 */
export function quietDelay(delay: number, bursting: boolean, pokedAt: number, now: number): number {
  if (delay === QUIET_MS && bursting) delay = BURST_QUIET_MS;
  return Math.max(0, Math.min(delay, pokedAt + MAX_WAIT_MS - now));
}

/** The wait after the `failures`th failure in a row: doubling from BACKOFF_MIN_MS up to BACKOFF_MAX_MS. Pure. */
export function backoffMs(failures: number): number {
  return doubling(failures - 1, BACKOFF_MIN_MS, BACKOFF_MAX_MS);
}

export interface LoopHooks {
  status: SyncStatus;
  save(): Promise<void>;
  log(line: string): void;
  home?: string;
  /**
   * Throws when the pod cannot be synced with; SessionStopped when it ended by itself (idle stop). Else the
   * session's pod now: a new name (the cluster replaced it, issue 80) is followed from then on.
   */
  checkPod?(): Promise<string | void>;
  /**
   * The session stopped by itself: resolves once its pod runs again (resumed, here or elsewhere) with
   * undefined, or with a reason to give up; returns at once when `signal` aborts.
   */
  waitBack?(signal: AbortSignal): Promise<string | undefined>;
  /**
   * After a failure, with how long the sync has been failing (a gap of more than 5 min between two
   * attempts — a laptop asleep — starts the count again): a reason to give up, or undefined to retry.
   */
  giveUp?(e: Error, downMs: number): Promise<string | undefined>;
}

/** A longer pause than this between two attempts is a machine that slept: the failing time starts again. */
const ASLEEP_MS = 5 * 60_000;

/** The session's pod ended by itself (idle stop): the sync pauses until it runs again. */
export class SessionStopped extends KodamaError {
  constructor(readonly session: string, readonly reason: string, readonly since?: string) {
    super(`session ${session} stopped (${reason})${since ? ` since ${since}` : ""}`, ExitCode.FAILED);
  }
}

/**
 * The cluster is bringing the session's pod back (issue 80: evicted, preempted, its node lost, deleted; its
 * Job makes a new one): looked at again every COMING_MS, not backed off, and said once in the log.
 */
export class PodComing extends KodamaError {}

/** How often a pod being brought back is looked for. */
export const COMING_MS = 2_000;

/**
 * The sync's acknowledgement of an announced idle stop (session/lifecycle/lifetime.ts): one line, the deadline it
 * read, appended by a process that is not activity.
 */
export const ACK_SCRIPT: string = ACK; // pod/ack.sh

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

export class TwoWayLoop {
  #realRoot?: string;
  #folding?: Folding;
  #dirty = true;
  #wake?: () => void;
  #timer?: ReturnType<typeof setTimeout>;
  #pod = new Map<string, PodEntry>();
  #podReady = false;
  #memo = new Map<string, [string, string]>();
  #channel?: BatchChannel;
  #pokedAt = 0;
  #bursting = false;
  #fetchChannel?: BatchChannel;
  #known = new Set<string>();
  /** files this process pulled (written here), with their selfKey, for a few seconds */
  #wrote = new Map<string, { key: string; at: number }>();
  /** when either side last changed (a local event, a pod round that changed something, a cycle that moved) */
  #activeAt = Date.now();
  readonly #idleTickMs = envNumber("KODAMA_SYNC_IDLE_TICK_S", IDLE_TICK_S) * 1000;
  readonly #activeMs = envNumber("KODAMA_SYNC_ACTIVE_MS", ACTIVE_MS);
  /** paths this process changed in the pod, and when: a watcher round begun before that is stale for them */
  #touched = new Map<string, number>();
  /**
   * The local tree, kept up to date from the file watcher: a cycle looks again only at the paths named by
   * events since the last one (and those the last cycle moved), and walks everything at the start, after
   * a failure, when an ignore file changed, when the watcher asks for it, and at most every
   * LOCAL_RESCAN_MS.
   */
  #tree?: Tree;
  #events = new Set<string>();
  #rescan = true;
  /** the last #localTree() walked the whole tree (it did not only look again at the named paths) */
  #walked = false;
  /**
   * Paths the pod rounds changed since the last cycle began. With the local events they are all that can
   * have changed on either side, so a cycle plans only them (`planScope`); it plans everything when the
   * local tree was walked again, after a failure, a skipped operation, the pod watcher's first round, and
   * on a case-folding disk.
   */
  #podDirty = new Set<string>();
  /** paths the last #localTree() set or removed besides those named (a hard link's other names, a new directory's walk) */
  #treeChanged = new Set<string>();
  #planAll = true;
  #scannedAt = 0;
  /**
   * The ancestor: read once, then kept here; each cycle's is written in the background, in order (the
   * newest replaces one not yet written). One on disk older than what was applied is the state of a
   * process killed between a batch and its ancestor write: the next run finds both sides agreeing.
   */
  #anc?: Ancestor;
  /** the idle stop announced in the pod (its deadline) that the next cycle flushes for, and the last acked */
  #flushFor?: string;
  #acked?: string;
  /** paused (the session stopped by itself): local changes since, for `sync status` */
  #paused = false;
  #waiting = new Set<string>();
  #ancDirty = false;
  #ancWriting?: Promise<void>;
  /** the refusals the cycles logged (each is said once), and pulledPathProblem's verdicts on pod names */
  readonly #refusals = new Map<string, string>();
  readonly #names = new Map<string, boolean>();
  /** failed attempts in a row, since when the sync has been failing, and the last attempt */
  #failures = 0;
  #downSince = 0;
  #lastTry = 0;
  /** the pod watcher now: its abort, its end, and the error it ended with (not yet handled) */
  #podCtrl?: AbortController;
  #podDone?: Promise<void>;
  #podError?: Error;
  /** the PodComing said last (said once while the pod comes back) */
  #coming?: string;
  readonly #rules: IgnoreRules;

  constructor(private kube: Kube, private c: SyncConfig, private h: LoopHooks) {
    // .git went to the pod once, at start: after that it is the pod's, and the local one is this machine's
    this.c = { ...c, syncGit: false };
    this.#rules = rulesFor(this.c);
  }

  get pending(): number {
    return this.#dirty ? 1 : 0;
  }

  #poke(delay = QUIET_MS): void {
    this.#dirty = true;
    const now = Date.now();
    if (this.#timer) clearTimeout(this.#timer);
    else this.#pokedAt = now;
    delay = quietDelay(delay, this.#bursting, this.#pokedAt, now);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#wake?.();
    }, delay);
  }

  #noteLocal(abs: string): void {
    const rel = eventPath(abs, this.c.root, this.#realRoot);
    if (rel === "" || rel.startsWith("..")) return;
    const top = rel.split("/", 1)[0];
    if (top === ".kodama") return;
    if (rel.slice(rel.lastIndexOf("/") + 1).startsWith(TMP_PREFIX)) return;
    if (IgnoreRules.isPatternFile(rel)) {
      this.#rules.reset();
      this.#rescan = true;
    }
    if (top === ".git" && rel !== ".git/info/exclude") return;
    // the file watcher reporting a file this process just pulled, still as it was written: the tree
    // looks at it again, but it needs no cycle (its ancestor records it already)
    const w = this.#wrote.get(rel);
    if (w) {
      let now: string | undefined;
      try {
        now = selfKey(Deno.lstatSync(abs));
      } catch { /* gone */ }
      if (now === w.key && Date.now() - w.at < SELF_WRITE_MS && !IgnoreRules.isPatternFile(rel)) {
        if (TRACE) this.h.log(`event ${rel} (this process's own write)`);
        this.#events.add(rel);
        return;
      }
      this.#wrote.delete(rel);
    }
    if (TRACE) this.h.log(`event ${rel}`);
    this.#activeAt = Date.now();
    this.#events.add(rel);
    if (this.#paused && !this.#rules.ignoredPath(rel, false) && !this.#waiting.has(rel)) {
      this.#waiting.add(rel);
      this.h.status.pendingToPod = this.#waiting.size;
      void this.h.save();
    }
    this.#poke();
  }

  #localTree(): Tree {
    if (
      !this.#tree || this.#rescan || Date.now() - this.#scannedAt > LOCAL_RESCAN_MS ||
      this.#events.size > this.#tree.size
    ) {
      this.#rescan = false;
      this.#walked = true;
      this.#events.clear();
      this.#tree = scanTreeSync(this.c.root, this.#rules);
      this.#scannedAt = Date.now();
    } else if (this.#events.size) {
      this.#walked = false;
      const paths = [...this.#events];
      this.#events.clear();
      updateTree(this.#tree, this.c.root, this.#rules, paths, undefined, this.#treeChanged);
    }
    return this.#tree;
  }

  #storeAncestor(a: Ancestor): void {
    this.#anc = a;
    this.#ancDirty = true;
    this.#ancWriting ??= (async () => {
      try {
        while (this.#ancDirty) {
          this.#ancDirty = false;
          // never made again once the session's sync directory is gone (deleted here)
          if (!(await Deno.lstat(paths(this.c.name, this.h.home).dir).then(() => true, () => false))) break;
          await saveAncestor(
            this.c.name,
            { root: this.c.root, workdir: this.c.workdir },
            this.#anc!,
            this.h.home,
          );
        }
      } catch (e) {
        this.h.log(`could not write the ancestor: ${(e as Error).message}`);
      } finally {
        this.#ancWriting = undefined;
      }
    })();
  }

  /** The pod watcher: one exec printing rounds; returns when it ends. */
  async #watchPod(signal: AbortSignal): Promise<void> {
    const t = targetOf(this.c);
    let buf = "";
    let lines: string[] = [];
    let full = false;
    let began = 0;
    let stopping: string | undefined;
    /** the round said `@events`: the pod's notifier is up (podside.ts), an idle round costs it nothing */
    let events = false;
    const dec = new TextDecoder();
    // the rounds are paced from here: a line on the watcher's stdin starts the next one (a `read` in the
    // pod, where a `sleep` would be a process a round)
    let ctrl: ReadableStreamDefaultController<Uint8Array> | undefined;
    let tick: ReturnType<typeof setTimeout> | undefined;
    const stdin = new ReadableStream<Uint8Array>({ start: (c) => void (ctrl = c) });
    const next = () => {
      tick = undefined;
      try {
        ctrl?.enqueue(NEWLINE);
      } catch { /* the stream is closed: the watcher ended */ }
    };
    const res = await execInPod(
      this.kube,
      t.namespace,
      t.pod,
      t.container,
      watcherCommand(t.workdir, {
        full: fullEvery(),
        tick: TICK_S,
        git: this.c.syncGit,
        events: podEvents(),
      }),
      {
        signal,
        stdin,
        stdout: (chunk) => {
          buf += dec.decode(chunk, { stream: true });
          let nl;
          while ((nl = buf.indexOf("\n")) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            if (line === "@full" || line === "@since") {
              full = line === "@full";
              began = Date.now();
              lines = [];
              stopping = undefined;
              events = false;
            } else if (line === "@events") {
              events = true;
            } else if (line.startsWith("@stopping ")) {
              stopping = line.slice(10).trim();
            } else if (line === "@end") {
              const since = began;
              for (const [p, at] of this.#touched) if (at < since - 10_000) this.#touched.delete(p);
              const stale = (p: string) => (this.#touched.get(p) ?? 0) >= since;
              const changed = mergeRound(this.#pod, parseRound(lines, full), stale);
              if (TRACE && changed.length) {
                this.h.log(
                  `pod round (${full ? "full" : "since"}): ${changed.length} changed, ${
                    Date.now() - since
                  } ms`,
                );
              }
              const first = !this.#podReady;
              this.#podReady = true;
              if (first) this.#planAll = true;
              for (const p of changed) this.#podDirty.add(p);
              if (stopping && stopping !== this.#acked && stopping !== this.#flushFor) {
                // the pod is about to stop (idle): one last cycle both ways, from a full local walk
                this.#flushFor = stopping;
                this.#rescan = true;
                this.h.log("the session is about to stop (idle): flushing both ways first");
                this.#poke(0);
              } else if (
                first || changed.some((p) => !this.#rules.ignoredPath(p, this.#pod.get(p)?.kind === "dir"))
              ) {
                this.#activeAt = Date.now();
                this.#poke(0);
              }
              // a pod whose notifier answered this round (`@events`) pays nothing for an idle round
              const idle = !events && Date.now() - this.#activeAt >= this.#activeMs;
              if (!tick && !signal.aborted) tick = setTimeout(next, idle ? this.#idleTickMs : TICK_S * 1000);
            } else lines.push(line);
          }
        },
      },
    );
    if (tick) clearTimeout(tick);
    try {
      ctrl?.close();
    } catch { /* closed */ }
    if (!signal.aborted) {
      throw new SyncConnectionError(
        `the pod watcher on ${t.pod} ended: ${res.error ?? `exit ${res.exitCode}`}`,
      );
    }
  }

  async #cycle(): Promise<void> {
    const s = this.h.status;
    this.#dirty = false;
    const flushing = this.#flushFor;
    this.#anc ??= await loadAncestor(
      this.c.name,
      { root: this.c.root, workdir: this.c.workdir },
      this.h.home,
    );
    // what can have changed since the last cycle: the paths the file watcher and the pod rounds named
    const dirty = [...this.#events, ...this.#podDirty];
    this.#podDirty.clear();
    this.#walked = false;
    this.#treeChanged.clear();
    const tree = this.#localTree();
    for (const p of this.#treeChanged) dirty.push(p);
    const f = this.#folding;
    const all = this.#planAll || this.#walked || !!(f && (f.caseInsensitive || f.normalizing));
    // a cycle that fails, or leaves something undone, is followed by one that plans everything
    this.#planAll = true;
    const only = all ? undefined : planScope(dirty, [tree, this.#pod, this.#anc]);
    const r = await runCycle({
      kube: this.kube,
      c: this.c,
      rules: this.#rules,
      mode: this.c.mode ?? "two-way",
      home: this.h.home,
      pod: this.#pod,
      memo: this.#memo,
      log: this.h.log,
      touched: this.#touched,
      refusals: this.#refusals,
      names: this.#names,
      folding: this.#folding,
      localTree: () => tree,
      only,
      ancestor: this.#anc,
      storeAncestor: (a) => this.#storeAncestor(a),
      wroteLocal: (rel, key) => void this.#wrote.set(rel, { key, at: Date.now() }),
      channel: () => this.#applyChannel(),
      fetchChannel: () => this.#fetchChan(),
    });
    for (const p of r.paths) this.#events.add(p);
    const old = Date.now() - SELF_WRITE_MS;
    for (const [p, w] of this.#wrote) if (w.at < old) this.#wrote.delete(p);
    this.#bursting = r.paths.length >= BURST_PATHS;
    if (r.toPod || r.toLocal) this.#activeAt = Date.now();
    if (r.toPod || r.toLocal) {
      s.lastSync = new Date().toISOString();
      s.batches++;
      s.filesSent += r.toPod;
      s.bytesSent += r.bytesToPod ?? 0;
      s.filesReceived = (s.filesReceived ?? 0) + r.toLocal;
      s.lastDirection = r.toPod && r.toLocal ? "both" : r.toPod ? "to pod" : "from pod";
      this.h.log(`sent ${r.toPod} change(s) to the pod, brought ${r.toLocal} back`);
    }
    for (const k of r.kept) {
      this.h.log(`kept a copy of an unsynced edit the ${this.c.mode} mode replaced: ${k}`);
    }
    // a cycle with a scope found the conflicts in it: the others stand as the last cycles found them
    const conflicts = only
      ? [...(s.conflicts ?? []).filter((k) => !only.has(k.path)), ...r.conflicts].sort((a, b) =>
        a.path < b.path ? -1 : a.path > b.path ? 1 : 0
      )
      : r.conflicts;
    s.conflicts = conflicts;
    const now = new Set(conflicts.map((k) => k.path));
    for (const k of conflicts) {
      if (!this.#known.has(k.path)) this.h.log(`conflict: ${k.path} (${k.why}); both versions kept`);
    }
    this.#known = now;
    s.pendingToPod = 0;
    s.pendingToLocal = 0;
    if (!r.skipped) this.#planAll = false;
    if (r.skipped) {
      s.pendingToPod = r.skipped;
      this.#poke(300); // changed under us: plan again once the watcher saw it
    } else if (flushing && !this.#dirty && this.#flushFor === flushing) {
      // both sides agree as of the announcement: the pod may stop (a change made here from now on waits
      // for the session to run again; one the flush sent is activity, and the watchdog does not stop)
      await this.#ack(flushing, r);
    }
  }

  /** The kept-open apply channel (opened again when it closed). */
  async #applyChannel(): Promise<BatchChannel> {
    if (!this.#channel || this.#channel.closed) {
      this.#channel = await BatchChannel.open(this.kube, targetOf(this.c), APPLY2_SCRIPT, podApplyJs());
      this.h.log(`saves are applied in the pod by ${this.#channel.node ? "node (podapply.ts)" : "sh"}`);
    }
    return this.#channel;
  }

  /** The kept-open fetch channel (opened again when it closed). */
  async #fetchChan(): Promise<BatchChannel> {
    if (!this.#fetchChannel || this.#fetchChannel.closed) {
      this.#fetchChannel = await BatchChannel.open(this.kube, targetOf(this.c), FETCH_SCRIPT);
    }
    return this.#fetchChannel;
  }

  async #ack(deadline: string, r: CycleResult): Promise<void> {
    this.#flushFor = undefined;
    this.#acked = deadline;
    const t = targetOf(this.c);
    const res = await execWatched(this.kube, t, ["sh", "-c", ACK_SCRIPT, "sh", deadline], {}).catch((e) => ({
      error: (e as Error).message,
      exitCode: undefined,
    }));
    if (res.error || res.exitCode) {
      this.h.log(`could not acknowledge the idle stop: ${res.error ?? `exit ${res.exitCode}`}`);
    } else {
      this.h.log(
        `flushed before the idle stop (${r.toPod} change(s) sent, ${r.toLocal} brought back${
          r.conflicts.length ? `, ${r.conflicts.length} conflict(s) kept on both sides` : ""
        }); told the pod it may stop`,
      );
    }
  }

  /**
   * The session's pod ended by itself: say so (status, log), drop the streams, and wait for it to run
   * again without retrying (the hook watches the pod). True when the loop is to end (a reason to give up).
   */
  async #pause(e: SessionStopped, signal: AbortSignal): Promise<boolean> {
    const s = this.h.status;
    this.#paused = true;
    this.#waiting.clear();
    for (const p of this.#events) if (!this.#rules.ignoredPath(p, false)) this.#waiting.add(p);
    s.state = "paused";
    s.pausedReason = e.reason;
    s.pausedSince = e.since ?? new Date().toISOString();
    s.pendingToPod = this.#waiting.size;
    s.pendingToLocal = 0;
    s.lastError = undefined;
    s.lastErrorAt = undefined;
    await this.h.save();
    const who = sessionOf(this.c.name);
    this.h.log(
      `paused: session ${who} stopped (${e.reason}) since ${s.pausedSince}; changes made here wait ` +
        `until it runs again (\`kodama resume ${who}\`), then both sides are reconciled`,
    );
    this.#channel?.close();
    this.#channel = undefined;
    this.#fetchChannel?.close();
    this.#fetchChannel = undefined;
    this.#flushFor = undefined;
    const why = await (this.h.waitBack?.(signal) ?? Promise.resolve(undefined)).catch((x) =>
      `cannot watch pod ${this.c.pod}: ${(x as Error).message}`
    );
    this.#paused = false;
    this.#waiting.clear();
    s.pausedReason = undefined;
    s.pausedSince = undefined;
    if (signal.aborted) return true;
    if (why) {
      s.state = "stopped";
      s.lastError = `gave up: ${why}`;
      s.lastErrorAt = new Date().toISOString();
      await this.h.save();
      this.h.log(`giving up: ${why}`);
      return true;
    }
    this.h.log(`session ${sessionOf(this.c.name)} runs again: reconciling both sides`);
    s.state = "syncing";
    await this.h.save();
    this.#rescan = true;
    this.#dirty = true;
    return false;
  }

  /** The hook's check; a pod of a new name is the one synced with from now on (its streams are opened anew). */
  async #checkPod(): Promise<void> {
    const pod = await this.h.checkPod?.();
    if (!pod || pod === this.c.pod) return;
    this.c.pod = pod;
    this.#closeChannels();
    this.#rescan = true;
    this.#dirty = true;
  }

  /** The pod ended by itself (so the loop pauses), judged from the error or, failing that, the pod. */
  async #stopped(e: Error): Promise<SessionStopped | undefined> {
    if (e instanceof SessionStopped) return e;
    try {
      await this.#checkPod();
    } catch (x) {
      if (x instanceof SessionStopped) return x;
    }
    return undefined;
  }

  /** The local file watcher: its events go to #noteLocal until it is closed. */
  #watchLocal(signal: AbortSignal): { watcher: Deno.FsWatcher; done: Promise<void> } {
    const watcher = Deno.watchFs(this.c.root, { recursive: true });
    const done = (async () => {
      try {
        for await (const ev of watcher) {
          if (ev.flag === "rescan") {
            this.#rescan = true;
            this.#poke();
          }
          for (const p of ev.paths) this.#noteLocal(p);
        }
      } catch (e) {
        if (!signal.aborted) this.h.log(`watcher ended: ${(e as Error).message}`);
      }
    })();
    return { watcher, done };
  }

  /** A failure is recorded (and waited out, backing off); true when the loop is to end for good. */
  async #fail(e: Error, signal: AbortSignal): Promise<boolean> {
    const s = this.h.status;
    const now = Date.now();
    if (this.#failures === 0 || now - this.#lastTry > ASLEEP_MS) this.#downSince = now;
    this.#lastTry = now;
    this.#failures++;
    const why = await this.h.giveUp?.(e, now - this.#downSince).catch(() => undefined);
    if (why) {
      s.state = "stopped";
      s.lastError = `gave up: ${why}`;
      s.lastErrorAt = new Date().toISOString();
      await this.h.save();
      this.h.log(`giving up: ${why} (last error: ${e.message})`);
      return true;
    }
    await this.#failed(e, this.#failures, signal);
    return false;
  }

  /** (Re)start the pod watcher; its end (an error) wakes the loop. */
  #startPod(signal: AbortSignal): void {
    const ctrl = this.#podCtrl = new AbortController();
    this.#podReady = false;
    this.#podError = undefined;
    this.#podDone = this.#watchPod(AbortSignal.any([signal, ctrl.signal])).catch((e) => {
      this.#podError = e as Error;
      this.#wake?.();
    });
  }

  /** The pod watcher ended: pause if the session stopped itself, else back off and start it again. */
  async #podEnded(e: Error, signal: AbortSignal): Promise<"stop" | "go on"> {
    // the pod stopped itself (idle): no retries, wait for it to run again
    const stopped = await this.#stopped(e);
    if (stopped) {
      this.#podCtrl?.abort();
      await this.#podDone;
      if (await this.#pause(stopped, signal)) return "stop";
      this.#failures = 0;
      // a resumed session runs on a pod of a new name (its Job's)
      await this.#checkPod().catch(() => {});
      this.#startPod(signal);
      return "go on";
    }
    if (await this.#fail(e, signal) || signal.aborted) return "stop";
    try {
      await this.#checkPod();
    } catch (e2) {
      if (!(e2 instanceof PodComing)) this.h.log(`pod check: ${(e2 as Error).message}`);
      this.#podError = e2 as Error;
      return "go on";
    }
    this.#startPod(signal);
    return "go on";
  }

  /** One cycle as the loop runs it: the status around it, and what a failure resets. */
  async #runCycle(signal: AbortSignal): Promise<"stop" | "go on"> {
    const s = this.h.status;
    try {
      // the status file is for `sync status`: written in the background (in order), never waited for
      s.state = "syncing";
      s.pending = 1;
      void this.h.save();
      await this.#cycle();
      if (this.#failures > 0) {
        s.reconnects++;
        s.lastReconnect = new Date().toISOString();
        this.h.log(`reconnected after ${this.#failures} failed attempt(s); reconciled both sides`);
        this.#failures = 0;
      }
      s.state = "watching";
      void this.h.save();
    } catch (e) {
      if (signal.aborted) return "stop";
      this.#closeChannels();
      this.#rescan = true;
      if (await this.#fail(e as Error, signal)) return "stop";
      this.#dirty = true;
    }
    return "go on";
  }

  #closeChannels(): void {
    this.#channel?.close();
    this.#channel = undefined;
    this.#fetchChannel?.close();
    this.#fetchChannel = undefined;
  }

  async run(signal: AbortSignal): Promise<void> {
    const s = this.h.status;
    this.#realRoot = await Deno.realPath(this.c.root).catch(() => undefined);
    this.#folding = await probeFolding(this.c.root, hostPlatform());
    const { watcher, done: events } = this.#watchLocal(signal);
    const onAbort = () => {
      watcher.close();
      this.#wake?.();
    };
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      this.#startPod(signal);
      while (!signal.aborted) {
        if (this.#podError) {
          const e = this.#podError;
          this.#podError = undefined;
          if (await this.#podEnded(e, signal) === "stop") break;
          continue;
        }
        if (!this.#dirty || !this.#podReady || this.#timer) {
          if (s.state !== "watching" && this.#failures === 0 && this.#podReady) {
            s.state = "watching";
            await this.h.save();
            continue;
          }
          await new Promise<void>((r) => (this.#wake = r));
          this.#wake = undefined;
          continue;
        }
        if (await this.#runCycle(signal) === "stop") break;
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
      try {
        watcher.close();
      } catch { /* closed */ }
      if (this.#timer) clearTimeout(this.#timer);
      this.#podCtrl?.abort();
      this.#closeChannels();
      await events;
      await this.#podDone;
      await this.#ancWriting;
    }
  }

  async #failed(e: Error, failures: number, signal: AbortSignal): Promise<void> {
    const s = this.h.status;
    s.state = "error";
    s.lastError = e.message;
    s.lastErrorAt = new Date().toISOString();
    await this.h.save();
    const coming = e instanceof PodComing;
    const wait = coming ? COMING_MS : backoffMs(failures);
    // a pod being brought back is said once, not at each look
    if (!coming || this.#coming !== e.message) {
      this.h.log(
        `${e instanceof SyncConnectionError ? "connection lost" : "cycle failed"}: ${e.message}; retry in ${
          (wait / 1000).toFixed(1)
        } s`,
      );
    }
    this.#coming = coming ? e.message : undefined;
    await new Promise<void>((r) => {
      const t = setTimeout(r, wait);
      signal.addEventListener("abort", () => {
        clearTimeout(t);
        r();
      }, { once: true });
    });
  }
}
