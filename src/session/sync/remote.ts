/**
 * The pod side of sync, over the exec stream of `src/kube/exec.ts`: apply a batch (one exec), and list
 * what the workspace holds (for `sync pull`).
 */
import type { Kube } from "../../kube/client.ts";
import { execInPod, type ExecResult, type ExecStreams } from "../../kube/exec.ts";
import { concatBytes, formatBytes } from "../../base/text/bytes.ts";
import { within } from "../../base/proc/timer.ts";
import { ExitCode, KodamaError } from "../../base/errors.ts";
import { APPLY_SCRIPT, type Batch, batchStream, type PackStats, streamOf, type Zlib } from "./batch.ts";
import GZIP from "./pod/gzip.sh" with { type: "text" };
import CHANNEL from "./pod/channel.sh" with { type: "text" };

export interface SyncTarget {
  namespace: string;
  pod: string;
  container: string;
  /** the directory in the pod that mirrors the local root */
  workdir: string;
}

/** The stream dropped or the pod is not reachable: worth retrying after a pause. */
export class SyncConnectionError extends KodamaError {
  constructor(message: string) {
    super(message, ExitCode.FAILED);
  }
}

const dec = new TextDecoder();

/**
 * How long a sync stream may show no progress before it is given up as stalled and retried like a dropped
 * one: a peer that went silent (a hung node, a NAT that forgot the connection) closes nothing, and the
 * sync would otherwise wait on it for ever. 60 s; KODAMA_SYNC_STALL_MS changes it (tests shorten it).
 */
export function stallMs(): number {
  const v = Number(Deno.env.get("KODAMA_SYNC_STALL_MS"));
  return Number.isFinite(v) && v > 0 ? v : 60_000;
}

/** The pod applies what it got at 4 MiB/s at least: time it is given after the last byte went out. */
const APPLY_BYTES_PER_MS = (4 << 20) / 1000;

/** `sent`: how much of stdin the stream took, and whether that was all of it (says which side went quiet) */
function stalled(pod: string, ms: number, sent?: { bytes: number; all: boolean }): SyncConnectionError {
  const where = !sent
    ? ""
    : sent.all
    ? ` (all ${formatBytes(sent.bytes)} sent; no answer from the pod)`
    : ` (while sending, ${formatBytes(sent.bytes)} taken)`;
  return new SyncConnectionError(
    `stream to ${pod} stalled: nothing moved for ${Math.round(ms / 1000)} s${where}`,
  );
}

/** stdin handed out in pieces of this size, so that each one taken counts as progress */
const STDIN_PIECE = 512 * 1024;

/**
 * `stdin` as a stream that calls `moved` each time the exec takes a piece of it. The exec takes the next
 * piece only once the socket has sent what it held (its send side waits while more than 1 MiB is
 * buffered), so a piece taken means bytes went out; a peer that stops reading stops the pieces.
 */
export function countedStdin(
  stdin: ReadableStream<Uint8Array> | Uint8Array,
  moved: (bytes: number, done: boolean) => void,
): ReadableStream<Uint8Array> {
  let off = 0, taken = 0;
  const reader = stdin instanceof Uint8Array ? undefined : stdin.getReader();
  const give = (c: ReadableStreamDefaultController<Uint8Array>, b: Uint8Array) => {
    c.enqueue(b);
    moved(taken += b.length, false);
  };
  const end = (c: ReadableStreamDefaultController<Uint8Array>) => {
    c.close();
    moved(taken, true);
  };
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      if (!reader) {
        const all = stdin as Uint8Array;
        return off >= all.length ? end(c) : give(c, all.subarray(off, off += STDIN_PIECE));
      }
      const { value, done } = await reader.read();
      return done ? end(c) : give(c, value);
    },
    cancel: (why) => reader?.cancel(why),
  }, { highWaterMark: 0 });
}

/**
 * `execInPod` with the stall watch, for the two-way cycle's one-shot streams (listing, fetching,
 * applying). Progress is any byte the pod sends, and any piece of `stdin` the socket takes
 * (countedStdin, as applyBatch counts a push's): a big batch on a slow or busy link keeps moving and is
 * not given up. Before the
 * pod's first byte it gets, after the last progress, the stall time plus the time to take in and apply
 * `stdin` (its bytes, and `ops` file operations at 25 ms each). A stream on which nothing moves for
 * longer is ended (the command in the pod too) and reported as a connection error, so the sync loop
 * reconnects and tries again instead of waiting for ever. `limit`: the stall time (stallMs()).
 */
export async function execWatched(
  kube: Kube,
  t: { namespace: string; pod: string; container: string },
  command: string[],
  s: ExecStreams & { stdin?: ReadableStream<Uint8Array> | Uint8Array },
  ops = 0,
  stdinBytes?: number,
  limit = stallMs(),
): Promise<ExecResult> {
  const bytes = s.stdin instanceof Uint8Array ? s.stdin.length : stdinBytes ?? 0;
  const first = limit + bytes / APPLY_BYTES_PER_MS + ops * 25;
  const stall = new AbortController();
  let last = Date.now(), answered = false;
  let sent = { bytes: 0, all: false };
  const seen = () => {
    last = Date.now();
    answered = true;
  };
  const watch = setInterval(() => {
    if (Date.now() - last > (answered ? limit : first)) stall.abort();
  }, Math.max(50, Math.min(1000, limit / 4)));
  try {
    const res = await execInPod(kube, t.namespace, t.pod, t.container, command, {
      ...s,
      stdin: s.stdin && countedStdin(s.stdin, (bytes, all) => {
        last = Date.now();
        sent = { bytes, all };
      }),
      stdout: (b) => {
        seen();
        return s.stdout?.(b);
      },
      stderr: (b) => {
        seen();
        return s.stderr?.(b);
      },
      signal: s.signal ? AbortSignal.any([s.signal, stall.signal]) : stall.signal,
    });
    if (res.errorKind === "aborted" && stall.signal.aborted && !s.signal?.aborted) {
      throw stalled(t.pod, limit, s.stdin ? sent : undefined);
    }
    return res;
  } finally {
    clearInterval(watch);
  }
}

function lastLines(parts: Uint8Array[]): string {
  return dec.decode(concatBytes(parts)).trim().split("\n").slice(-3).join("; ");
}

/**
 * A compressed batch: the pod says first whether it can `gzip -dc` (`z`) or not (`r`: an image without
 * gzip gets the batch raw, and no error), then applies the batch (APPLY_SCRIPT, `$2`, in its `eof` mode)
 * through it. stdin ends with the stream's half-close (v5, or SPDY on older clusters), which ends
 * `gzip -dc`. pod/gzip.sh.
 */
export const GZIP_APPLY_SCRIPT: string = GZIP;

/** Apply one batch in the pod; resolves with what was sent. */
export async function applyBatch(
  kube: Kube,
  t: SyncTarget,
  root: string,
  batch: Batch,
  o: {
    signal?: AbortSignal;
    onBytes?: (n: number, file?: boolean) => void;
    /** send compressible content gzipped (when the pod has gzip): for big pushes */
    compress?: boolean;
    /** filled with the md5 of each file's content as sent */
    hashes?: Map<string, string>;
  } = {},
): Promise<PackStats> {
  const stats: PackStats = { files: 0, bytes: 0 };
  const errParts: Uint8Array[] = [];
  // compressed: wait for the pod's word on gzip before the first byte
  let said: (z: boolean) => void = () => {};
  const gzip = new Promise<boolean>((r) => (said = r));
  let first = "";
  const zlib = o.compress ? await import("node:zlib") as unknown as Zlib : undefined;
  async function* encoded(): AsyncGenerator<Uint8Array> {
    yield* batchStream(root, batch, stats, o.onBytes, zlib && await gzip ? zlib : undefined, o.hashes);
  }
  // the stall watch: while sending, the stream must take the next chunk within `limit`; after the last
  // one, the pod has `limit` plus the time to apply what it got
  const limit = stallMs();
  const stall = new AbortController();
  let last = Date.now(), sent = { bytes: 0, all: false };
  const watch = setInterval(() => {
    const allowed = sent.all ? limit + stats.bytes / APPLY_BYTES_PER_MS : limit;
    if (Date.now() - last > allowed) stall.abort();
  }, Math.max(50, Math.min(1000, limit / 4)));
  let res;
  try {
    res = await execInPod(
      kube,
      t.namespace,
      t.pod,
      t.container,
      zlib
        ? ["sh", "-c", GZIP_APPLY_SCRIPT, "sh", t.workdir, APPLY_SCRIPT]
        // stdin ends where the batch does (v5 or SPDY half-close): tar reads it to the end itself
        : ["sh", "-c", APPLY_SCRIPT, "sh", t.workdir, "eof"],
      {
        stdin: countedStdin(
          zlib
            ? streamOf(encoded())
            : streamOf(batchStream(root, batch, stats, o.onBytes, undefined, o.hashes, true), 0),
          (bytes, all) => {
            last = Date.now();
            sent = { bytes, all };
          },
        ),
        stdout: (c) => {
          last = Date.now();
          if (zlib && first.length < 2) {
            first += dec.decode(c);
            if (first.includes("\n")) said(first.startsWith("z"));
          }
        },
        stderr: (c) => {
          last = Date.now();
          errParts.push(c.slice());
        },
        signal: o.signal ? AbortSignal.any([o.signal, stall.signal]) : stall.signal,
        // uncompressed, the batch's chunks are two buffers taking turns (batchStream `reuse`)
        stdinReused: !zlib,
      },
    );
  } catch (e) {
    // the stream could not be opened: a pod that is gone or restarting is a connection problem
    const k = e as KodamaError;
    if (k.code === ExitCode.FORBIDDEN) throw e;
    throw new SyncConnectionError(`cannot reach ${t.pod}: ${k.message}`);
  } finally {
    clearInterval(watch);
    said(false); // the stream ended before the pod's word: nothing waits for it any more
  }
  if (res.errorKind === "aborted" && stall.signal.aborted && !o.signal?.aborted) {
    throw stalled(t.pod, limit, sent);
  }
  if (res.errorKind === "aborted") throw new KodamaError("sync interrupted", ExitCode.INTERRUPTED);
  if (res.errorKind === "dropped") throw new SyncConnectionError(`stream to ${t.pod} dropped mid-batch`);
  if (res.error || res.exitCode !== 0) {
    const why = lastLines(errParts) || res.error || `exit ${res.exitCode}`;
    if (res.exitCode === 97) throw new KodamaError(`cannot create ${t.workdir} in ${t.pod}: ${why}`);
    throw new KodamaError(`sync into ${t.pod}:${t.workdir} failed: ${why}`);
  }
  return stats;
}

/** One path in the pod as `find` + `stat` report it. */
export interface RemoteEntry {
  kind: "file" | "dir" | "symlink";
  size: number;
  /** seconds */
  mtime: number;
  mode: number;
  /** symlink target */
  link?: string;
}

/**
 * What the pod's workdir holds: `find . -exec stat` in one exec (busybox and GNU `stat -c` both take
 * %s %Y %f %n; %f is the raw mode in hex, so kind and permissions come from one field). One record a
 * line: names holding a newline are skipped. `.kodama/` (and `.git/` unless it is synced) are not looked into.
 */
export async function listRemote(
  kube: Kube,
  t: SyncTarget,
  o: { syncGit: boolean; signal?: AbortSignal },
): Promise<Map<string, RemoteEntry>> {
  const out: Uint8Array[] = [];
  const errParts: Uint8Array[] = [];
  const prune = o.syncGit ? "-path ./.kodama" : "\\( -path ./.kodama -o -path ./.git \\)";
  // then each symlink's target (`L path<TAB>target`): busybox tar does not keep a link's own mtime
  const script =
    `cd "$1" 2>/dev/null || exit 0; find . ${prune} -prune -o ! -name . -exec stat -c "%s %Y %f %n" {} + && ` +
    `find . ${prune} -prune -o -type l -exec sh -c 'for l; do printf "L %s\\t%s\\n" "$l" "$(readlink "$l")"; done' sh {} +`;
  const res = await execInPod(kube, t.namespace, t.pod, t.container, ["sh", "-c", script, "sh", t.workdir], {
    stdout: (c) => void out.push(c.slice()),
    stderr: (c) => void errParts.push(c.slice()),
    signal: o.signal,
  });
  if (res.error || res.exitCode !== 0) {
    throw new KodamaError(
      `cannot list ${t.pod}:${t.workdir}: ${lastLines(errParts) || res.error || `exit ${res.exitCode}`}`,
    );
  }
  return parseStatListing(dec.decode(concatBytes(out)));
}

/** Parse `stat -c "%s %Y %f %n"` lines (names as `./rel`). Pure. */
export function parseStatListing(text: string): Map<string, RemoteEntry> {
  const m = new Map<string, RemoteEntry>();
  for (const line of text.split("\n")) {
    const l = /^L \.\/([^\t]*)\t(.*)$/.exec(line);
    if (l) {
      const e = m.get(l[1]);
      if (e?.kind === "symlink") e.link = l[2];
      continue;
    }
    const r = /^(\d+) (\d+) ([0-9a-fA-F]+) \.\/(.*)$/.exec(line);
    if (!r) continue;
    const raw = parseInt(r[3], 16);
    const fmt = raw & 0o170000;
    const kind = fmt === 0o040000
      ? "dir"
      : fmt === 0o120000
      ? "symlink"
      : fmt === 0o100000
      ? "file"
      : undefined;
    if (!kind) continue;
    m.set(r[4], { kind, size: kind === "file" ? Number(r[1]) : 0, mtime: Number(r[2]), mode: raw & 0o7777 });
  }
  return m;
}

/**
 * The pod side of a kept-open batch channel: one exec that applies batch after batch, so a save costs
 * one round trip on an open stream instead of a new exec (a new exec costs 100-400 ms on a real
 * cluster). Each batch arrives as a line with N, then N lines of base64 (the shell's `read` takes a pipe
 * one byte at a time, so it never reads past the batch); it is decoded to a temporary file and applied
 * by APPLY_SCRIPT ($2), and the result goes back as `done CODE`. busybox: sh, mktemp, base64, printf.
 * With a node program as `$3` (the two-way sync's APPLY_JS, podapply.ts) and `node` in the image, that
 * program is the channel instead: it says `ready node` and takes each batch raw (no base64, no process a
 * batch); a node it cannot run on exits NODE_UNFIT before reading, and the shell loop takes over.
 */
export const CHANNEL_SCRIPT: string = CHANNEL; // pod/channel.sh

/** Batches up to this size (content bytes) go through the open channel; bigger ones get their own exec. */
export const CHANNEL_MAX_BYTES = 48 * 1024;

function base64Lines(data: Uint8Array): string[] {
  let bin = "";
  for (let i = 0; i < data.length; i += 0x8000) bin += String.fromCharCode(...data.subarray(i, i + 0x8000));
  const b64 = btoa(bin);
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 76) lines.push(b64.slice(i, i + 76));
  return lines;
}

export class BatchChannel {
  #ctrl?: ReadableStreamDefaultController<Uint8Array>;
  #lines: string[] = [];
  #waiters: ((line: string | undefined) => void)[] = [];
  #buf = "";
  #errText = "";
  #closed = false;
  #abort = new AbortController();
  /** the node program answered: batches go raw */
  #raw = false;
  /** nothing came back before the stall limit (not even the stream's end) */
  #silent = false;
  readonly ready: Promise<void>;

  private constructor(kube: Kube, t: SyncTarget, script: string, nodeApply?: string) {
    const stdin = new ReadableStream<Uint8Array>({ start: (c) => void (this.#ctrl = c) });
    const dec = new TextDecoder();
    const done = execInPod(
      kube,
      t.namespace,
      t.pod,
      t.container,
      ["sh", "-c", CHANNEL_SCRIPT, "sh", t.workdir, script, ...(nodeApply ? [nodeApply] : [])],
      {
        stdin,
        stdout: (c) => {
          this.#buf += dec.decode(c, { stream: true });
          let nl;
          while ((nl = this.#buf.indexOf("\n")) >= 0) {
            const line = this.#buf.slice(0, nl);
            this.#buf = this.#buf.slice(nl + 1);
            const w = this.#waiters.shift();
            if (w) w(line);
            else this.#lines.push(line);
          }
        },
        stderr: (c) => void (this.#errText = (this.#errText + dec.decode(c)).slice(-2000)),
        signal: this.#abort.signal,
      },
    );
    const end = (r: unknown) => {
      if (r instanceof Error) this.#errText ||= r.message;
      else if ((r as { error?: string })?.error) this.#errText ||= (r as { error: string }).error;
      this.#closed = true;
      for (const w of this.#waiters.splice(0)) w(undefined);
    };
    done.then(end, end);
    this.ready = within(this.#line(), stallMs()).then((l) => {
      this.#raw = l === "ready node";
      this.#silent = l === undefined && !this.#closed;
      if (l !== "ready" && !this.#raw) {
        throw new SyncConnectionError(
          `cannot open a sync channel to ${t.pod}: ${
            this.#errText || (this.#closed ? "closed" : "no answer")
          }`,
        );
      }
    });
  }

  /**
   * `script` applies one batch (stdin); APPLY_SCRIPT, or the two-way sync's APPLY2_SCRIPT. `nodeApply`
   * (APPLY_JS, which takes the same stdin as APPLY2_SCRIPT) applies them instead where the image has node.
   */
  static async open(
    kube: Kube,
    t: SyncTarget,
    script = APPLY_SCRIPT,
    nodeApply?: string,
  ): Promise<BatchChannel> {
    const ch = new BatchChannel(kube, t, script, nodeApply);
    try {
      await ch.ready;
    } catch (e) {
      ch.close();
      // a `node` that does not run the program (a wrapper that prints, a broken install): the shell loop;
      // a pod that said nothing at all is not asked a second time (that would double the wait)
      if (nodeApply && !ch.#silent) return await BatchChannel.open(kube, t, script);
      throw e;
    }
    return ch;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** the batches go to the node program (raw), not the shell loop (base64) */
  get node(): boolean {
    return this.#raw;
  }

  #line(): Promise<string | undefined> {
    const l = this.#lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    if (this.#closed) return Promise.resolve(undefined);
    return new Promise((r) => this.#waiters.push(r));
  }

  /** Apply one batch (its whole stdin, as batchStream makes it); throws SyncConnectionError when the stream is gone. */
  async apply(data: Uint8Array, pod: string): Promise<string[]> {
    if (this.#closed || !this.#ctrl) throw new SyncConnectionError(`sync channel to ${pod} closed`);
    this.#errText = "";
    if (this.#raw) this.#ctrl.enqueue(data);
    else {
      const lines = base64Lines(data);
      this.#ctrl.enqueue(
        new TextEncoder().encode(`${lines.length}\n${lines.join("\n")}${lines.length ? "\n" : ""}`),
      );
    }
    const limit = stallMs();
    // what the script prints comes first (the two-way apply reports skipped paths), then `done CODE`
    const said: string[] = [];
    for (;;) {
      const r = await within(this.#line(), limit);
      if (r === undefined && !this.#closed) {
        // a small batch that got no answer: the channel hangs (its peer went silent); a new one is opened
        this.close();
        throw stalled(pod, limit);
      }
      if (r === undefined) throw new SyncConnectionError(`stream to ${pod} dropped mid-batch`);
      if (!/^done \d+$/.test(r)) {
        said.push(r);
        continue;
      }
      const code = Number(r.replace(/^done /, ""));
      if (code !== 0) {
        throw new KodamaError(
          `sync into ${pod} failed: ${
            this.#errText.trim().split("\n").slice(-3).join("; ") || `exit ${code}`
          }`,
        );
      }
      return said;
    }
  }

  close(): void {
    this.#closed = true;
    try {
      this.#ctrl?.close();
    } catch { /* closed */ }
    this.#abort.abort();
  }
}

/** Collect a batch's stdin in memory (small batches only). */
export async function batchBytes(root: string, batch: Batch, stats: PackStats): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of batchStream(root, batch, stats)) parts.push(c.slice());
  return concatBytes(parts);
}
