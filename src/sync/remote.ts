/**
 * The pod side of sync, over the exec stream of `src/kube/exec.ts`: apply a batch (one exec), and list
 * what the workspace holds (for `sync pull`).
 */
import type { Kube } from "../kube/client.ts";
import { execInPod } from "../kube/exec.ts";
import { concatBytes } from "../bytes.ts";
import { ExitCode, KodamaError } from "../errors.ts";
import { APPLY_SCRIPT, type Batch, batchStream, type PackStats, streamOf } from "./batch.ts";

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

function lastLines(parts: Uint8Array[]): string {
  return dec.decode(concatBytes(parts)).trim().split("\n").slice(-3).join("; ");
}

/** Apply one batch in the pod; resolves with what was sent. */
export async function applyBatch(
  kube: Kube,
  t: SyncTarget,
  root: string,
  batch: Batch,
  o: { signal?: AbortSignal; onBytes?: (n: number, file?: boolean) => void } = {},
): Promise<PackStats> {
  const stats: PackStats = { files: 0, bytes: 0 };
  const errParts: Uint8Array[] = [];
  let res;
  try {
    res = await execInPod(
      kube,
      t.namespace,
      t.pod,
      t.container,
      ["sh", "-c", APPLY_SCRIPT, "sh", t.workdir],
      {
        stdin: streamOf(batchStream(root, batch, stats, o.onBytes)),
        stdout: () => {},
        stderr: (c) => void errParts.push(c.slice()),
        signal: o.signal,
      },
    );
  } catch (e) {
    // the stream could not be opened: a pod that is gone or restarting is a connection problem
    const k = e as KodamaError;
    if (k.code === ExitCode.FORBIDDEN) throw e;
    throw new SyncConnectionError(`cannot reach ${t.pod}: ${k.message}`);
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
  const script =
    `cd "$1" 2>/dev/null || exit 0; find . ${prune} -prune -o ! -name . -exec stat -c "%s %Y %f %n" {} +`;
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
