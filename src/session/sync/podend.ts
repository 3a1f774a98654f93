/**
 * The pod's side of a sync (SyncEndpoint): the workspace as the pod watcher's rounds (or one listing)
 * report it, hashed in the pod where a file moved; one batch applies the plan's steps there, each
 * checked by the pod's apply program against the stat key the plan saw (`expect`) and renamed into place.
 */
import { concatBytes } from "../../base/text/bytes.ts";
import { KodamaError } from "../../base/errors.ts";
import type { Kube } from "../../kube/client.ts";
import type { Ancestor } from "./ancestor.ts";
import type { IgnoreRules } from "./ignore.ts";
import type { SnapTree } from "./plan.ts";
import {
  APPLY2_SCRIPT,
  applyBytes,
  applyStream,
  keyOf,
  mergeRound,
  parseApplyOutput,
  parseRound,
  type PodEntry,
  podHashes,
  type PodOp,
  type StagedFile,
  watcherCommand,
} from "./podside.ts";
import { targetOf } from "./push.ts";
import { type BatchChannel, execWatched, SyncConnectionError } from "./remote.ts";
import { streamOf } from "./batch.ts";
import { pulledPathProblem } from "./safety.ts";
import type { SyncConfig } from "./store.ts";
import { type Fetched, fetchPod } from "./fetchtar.ts";
import {
  type Applied,
  type KeepCopy,
  type Move,
  pick,
  type Snapshot,
  type SyncEndpoint,
} from "./endpoint.ts";
import { TMP_PREFIX } from "./local.ts";

/** The pod's whole workspace in one exec (the watcher's full round, once). */
export async function listPod(
  kube: Kube,
  c: SyncConfig,
  signal?: AbortSignal,
): Promise<Map<string, PodEntry>> {
  const t = targetOf(c);
  const parts: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  const res = await execWatched(
    kube,
    t,
    watcherCommand(t.workdir, { full: 1, tick: "once", git: c.syncGit }),
    {
      stdout: (b) => void parts.push(b.slice()),
      stderr: (b) => void err.push(b.slice()),
      signal,
    },
  );
  if (res.error) throw new SyncConnectionError(`cannot list ${t.pod}:${t.workdir}: ${res.error}`);
  if (res.exitCode === 97) return new Map(); // no workdir yet
  const lines = new TextDecoder().decode(concatBytes(parts)).split("\n");
  const state = new Map<string, PodEntry>();
  mergeRound(state, parseRound(lines, true));
  return state;
}

/** What the pod endpoint needs: the session, and what the loop keeps between cycles. */
export interface PodOptions {
  kube: Kube;
  c: SyncConfig;
  rules: IgnoreRules;
  /** the pod's state (from the watcher or a listing); what a batch does there is written into it */
  pod: Map<string, PodEntry>;
  /** paths changed in the pod -> when the change was done (the loop's watcher discounts older rounds) */
  touched?: Map<string, number>;
  /** a kept-open channel running APPLY2_SCRIPT, for small batches */
  channel?: () => Promise<BatchChannel>;
  /** a kept-open channel running FETCH_SCRIPT, for small fetches */
  fetchChannel?: () => Promise<BatchChannel>;
  /** pulledPathProblem's verdicts (a pure function of the name on this OS): each cycle asks for every path */
  names: Map<string, boolean>;
}

export class PodEndpoint implements SyncEndpoint {
  readonly side = "pod";
  #hashed = 0;

  constructor(private o: PodOptions) {}

  #nameOk(p: string): boolean {
    const names = this.o.names;
    let v = names.get(p);
    if (v === undefined) {
      if (names.size > 200_000) names.clear();
      names.set(p, v = !pulledPathProblem(p));
    }
    return v;
  }

  /** The pod tree as the planner compares it; files whose hash is unknown are hashed in the pod. */
  async snapshot(anc: Ancestor, scope?: Set<string>): Promise<Snapshot> {
    const { kube, c, rules } = this.o;
    const podIn = scope ? pick(this.o.pod, scope) : this.o.pod;
    const unknown = new Set<string>();
    // a copy: the watcher may replace entries while this waits for hashes
    const pod = new Map(podIn);
    const want: string[] = [];
    const usable = (p: string, e: PodEntry) =>
      !rules.ignoredPath(p, e.kind === "dir") && this.#nameOk(p) &&
      !p.slice(p.lastIndexOf("/") + 1).startsWith(TMP_PREFIX);
    for (const [p, e] of pod) {
      if (e.kind !== "file" || e.hash || !usable(p, e)) continue;
      const a = anc.get(p);
      if (a?.pk === e.key && a.hash) e.hash = a.hash;
      else want.push(p);
    }
    if (want.length) {
      this.#hashed += want.length;
      const got = await podHashes(kube, targetOf(c), want);
      for (const [p, h] of got) {
        const e = pod.get(p);
        if (e) {
          pod.set(p, { ...e, hash: h });
          const live = podIn.get(p);
          if (live && live.key === e.key) live.hash = h;
        }
      }
    }
    const snaps: SnapTree = new Map();
    for (const [p, e] of pod) {
      if (!usable(p, e)) continue;
      if (e.kind === "file") {
        if (!e.hash) {
          // not hashed (it vanished meanwhile, or md5sum failed): unknown — never taken for a deletion
          unknown.add(p);
          continue;
        }
        snaps.set(p, { kind: "file", mode: e.mode, size: e.size, hash: e.hash });
      } else if (e.kind === "symlink") snaps.set(p, { kind: "symlink", mode: 0o777, size: 0, link: e.link });
      else snaps.set(p, { kind: "dir", mode: e.mode, size: 0 });
    }
    return { snaps, unknown };
  }

  /** Small enough for the kept-open channel (a save in the pod, not a checkout), else tar execs. */
  fetch(paths: string[]): Promise<Fetched> {
    const { kube, c, fetchChannel } = this.o;
    const small = fetchChannel && paths.reduce((n, p) => n + (this.o.pod.get(p)?.size ?? 0), 0) < 256 * 1024;
    return fetchPod(kube, c, paths, small ? fetchChannel : undefined);
  }

  token(path: string): string | undefined {
    return this.o.pod.get(path)?.key;
  }

  mtimeMs(path: string): number | undefined {
    return (this.o.pod.get(path)?.mtime ?? 0) * 1000;
  }

  takeHashed(): number {
    const n = this.#hashed;
    this.#hashed = 0;
    return n;
  }

  async apply(moves: Move[], from: SyncEndpoint, keep: KeepCopy): Promise<Applied> {
    const { kube, c, pod } = this.o;
    const done = new Set<Move>();
    const applied: Applied = { done, tokens: new Map(), hashes: new Map() };
    const podKeep = moves.filter((a) => a.keep && pod.get(a.path)?.kind !== "dir").map((a) => a.path);
    if (podKeep.length) {
      for (const [p, f] of await fetchPod(kube, c, podKeep)) await keep(p, f.data ?? f.link ?? "");
    }
    if (!moves.length) return applied;
    const { ops, files } = await this.#batch(moves, from);
    const stream = applyStream(ops, files);
    const skipped = parseApplyOutput(await this.#send(stream, ops.length));
    for (const p of stream.dropped) skipped.add(p);
    const sent = new Set(ops.map((o) => o.path));
    for (const a of moves) if (sent.has(a.path) && !skipped.has(a.path)) done.add(a);
    this.#record(done);
    return applied;
  }

  /** The batch's ops, each with the pod's stat key the plan saw (`expect`), and the files it carries. */
  async #batch(moves: Move[], from: SyncEndpoint): Promise<{ ops: PodOp[]; files: StagedFile[] }> {
    const ops: PodOp[] = [];
    const files: StagedFile[] = [];
    // a source that cannot be read as the archive streams gives its bytes up front
    const need = from.stage ? [] : moves.filter((a) => a.op === "copy" && a.entry.kind !== "dir");
    const fetched = need.length ? await from.fetch(need.map((a) => a.path)) : new Map();
    for (const a of moves) {
      const cur = this.o.pod.get(a.path);
      if (a.op === "delete") {
        ops.push({ op: "R", path: a.path, expect: cur?.kind === "dir" ? "*" : keyOf(cur) });
        continue;
      }
      const expect = cur?.kind === "dir" && a.entry.kind === "dir" ? "*" : keyOf(cur);
      if (a.entry.kind === "dir") {
        ops.push({ op: "D", path: a.path, expect, mode: a.entry.mode });
        continue;
      }
      if (from.stage) files.push(from.stage(a.path, a.entry));
      else {
        const f = fetched.get(a.path);
        if (!f) continue; // gone meanwhile: planned again next cycle
        files.push({
          path: a.path,
          kind: f.kind,
          mode: f.mode,
          data: f.data,
          link: f.link,
          mtimeMs: f.mtime * 1000,
        });
      }
      ops.push({ op: "F", path: a.path, expect });
    }
    return { ops, files };
  }

  /** Send one batch: the kept-open channel when small, else an exec of its own; the pod's answer. */
  async #send(stream: ReturnType<typeof applyStream>, nops: number): Promise<string> {
    const { kube, c } = this.o;
    if (this.o.channel && stream.length < 256 * 1024) {
      return (await (await this.o.channel()).apply(await applyBytes(stream), c.pod)).join("\n");
    }
    const t = targetOf(c);
    const parts: Uint8Array[] = [];
    const err: Uint8Array[] = [];
    const res = await execWatched(
      kube,
      t,
      ["sh", "-c", APPLY2_SCRIPT, "sh", t.workdir],
      {
        stdin: streamOf(stream.chunks),
        stdout: (b) => void parts.push(b.slice()),
        stderr: (b) => void err.push(b.slice()),
      },
      nops,
      stream.length,
    );
    if (res.errorKind === "dropped") throw new SyncConnectionError(`stream to ${t.pod} dropped mid-batch`);
    if (res.error || res.exitCode !== 0) {
      throw new KodamaError(
        `sync into ${t.pod}:${t.workdir} failed: ${
          new TextDecoder().decode(concatBytes(err)).trim().split("\n").slice(-2).join("; ") || res.error ||
          `exit ${res.exitCode}`
        }`,
      );
    }
    return new TextDecoder().decode(concatBytes(parts));
  }

  /**
   * The pod state is the watcher's last round: make it say what was just done there, so the next cycle
   * (before the watcher's next round) does not take a path just deleted in the pod for one it made.
   */
  #record(done: Set<Move>): void {
    const pod = this.o.pod;
    const at = Date.now();
    for (const a of done) {
      this.o.touched?.set(a.path, at);
      if (a.op === "delete") {
        // a file: its own key (a scan of the whole state per delete made a 10,000-file removal quadratic)
        if (pod.get(a.path)?.kind !== "dir") pod.delete(a.path);
        else {
          for (const p of [...pod.keys()]) if (p === a.path || p.startsWith(a.path + "/")) pod.delete(p);
        }
      } else {
        const e = a.entry;
        pod.set(a.path, {
          kind: e.kind,
          mode: e.mode,
          size: e.size,
          mtime: 0,
          link: e.link,
          hash: e.hash,
          key: "?",
        });
      }
    }
  }
}
