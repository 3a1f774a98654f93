/**
 * Reading a local file kodama was pointed at (a kubeconfig, an env file, a prompt file, a config
 * file, a workflow), bounded: each kind has a documented size limit, and only a regular file is read.
 * A FIFO, a device (`/dev/zero`) or a directory is refused before it is opened (opening a FIFO blocks),
 * and a file bigger than its limit is refused having read at most limit + 1 bytes. Every error names
 * the file and the limit. Limits are in docs/limits.md.
 */
import { ExitCode, KodamaError } from "../errors.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

/** What kodama reads at most from each kind of file (docs/limits.md lists them). */
export const READ_LIMITS = {
  /** each kubeconfig file (--kubeconfig, each KUBECONFIG entry, ~/.kube/config) and files it names */
  kubeconfig: 16 * MiB,
  /** each env file (--env-file, env.dotenvFiles); the Secret they fill holds 1 MiB */
  envFile: 4 * MiB,
  /** --prompt-file */
  prompt: 4 * MiB,
  /** ~/.kodama/config.yaml and a repo's .kodama.yaml */
  config: 1 * MiB,
  /** each editor config in editor.configDir and git.caFile (each ends up in a 1 MiB object) */
  repoFile: 1 * MiB,
} as const;

export type ReadKind = keyof typeof READ_LIMITS;

const NOUN: Record<ReadKind, string> = {
  kubeconfig: "a kubeconfig",
  envFile: "an env file",
  prompt: "a prompt file",
  config: "a config file",
  repoFile: "this file",
};

/** "4 MiB" */
export function formatLimit(n: number): string {
  return n >= MiB && n % MiB === 0
    ? `${n / MiB} MiB`
    : n >= KiB && n % KiB === 0
    ? `${n / KiB} KiB`
    : `${n} bytes`;
}

export interface BoundedReadOptions {
  /** what the file is, for messages: "env file", "kubeconfig" */
  what: string;
  /** the limit's kind (default limit) */
  kind: ReadKind;
  /** the path as the user wrote it (default: the path) */
  display?: string;
  /** exit code of a refusal (default 2, usage) */
  exitCode?: ExitCode;
}

function kindOf(st: Deno.FileInfo): string | undefined {
  if (st.isFile) return undefined;
  if (st.isDirectory) return "a directory";
  if (st.isFifo) return "a FIFO";
  if (st.isCharDevice || st.isBlockDevice) return "a device";
  if (st.isSocket) return "a socket";
  return "not a regular file";
}

function refuse(o: BoundedReadOptions, path: string, why: string, hint?: string): KodamaError {
  return new KodamaError(
    `cannot read ${o.what} ${o.display ?? path}: ${why}`,
    o.exitCode ?? ExitCode.USAGE,
    hint,
  );
}

function tooBig(o: BoundedReadOptions, path: string): KodamaError {
  const limit = READ_LIMITS[o.kind];
  return refuse(
    o,
    path,
    `it is larger than ${formatLimit(limit)}, the most kodama reads from ${NOUN[o.kind]}`,
    "limits are listed in docs/limits.md",
  );
}

/**
 * Check a stat result: a regular file within the limit, else a refusal naming the file. The stat
 * follows symlinks, so a link to `/dev/zero` is a device.
 */
function checkStat(st: Deno.FileInfo, path: string, o: BoundedReadOptions): void {
  const kind = kindOf(st);
  if (kind) throw refuse(o, path, `it is ${kind}, not a regular file`);
  if (st.size > READ_LIMITS[o.kind]) throw tooBig(o, path);
}

function decode(buf: Uint8Array, n: number, path: string, o: BoundedReadOptions): string {
  if (n > READ_LIMITS[o.kind]) throw tooBig(o, path);
  return new TextDecoder().decode(buf.subarray(0, n));
}

/**
 * The file's text, read only if it is a regular file of at most the kind's limit. Errors other than
 * the refusals (NotFound, PermissionDenied, ...) are thrown as Deno raised them, for the caller's words.
 */
export async function readTextBounded(path: string, o: BoundedReadOptions): Promise<string> {
  checkStat(await Deno.stat(path), path, o);
  const f = await Deno.open(path);
  try {
    // the file may have changed since its stat (grown, or swapped): check the opened one; read at most limit + 1
    const st = await f.stat();
    checkStat(st, path, o);
    const max = READ_LIMITS[o.kind] + 1;
    let buf = new Uint8Array(Math.min(st.size + 1, max));
    let n = 0;
    for (;;) {
      if (n === buf.length) {
        if (n >= max) break;
        const bigger = new Uint8Array(Math.min(buf.length * 2, max));
        bigger.set(buf);
        buf = bigger;
      }
      const r = await f.read(buf.subarray(n));
      if (r === null) break;
      n += r;
    }
    return decode(buf, n, path, o);
  } finally {
    f.close();
  }
}

/** readTextBounded for code that must stay synchronous (the kubeconfig loader). */
export function readTextBoundedSync(path: string, o: BoundedReadOptions): string {
  checkStat(Deno.statSync(path), path, o);
  const f = Deno.openSync(path);
  try {
    const st = f.statSync();
    checkStat(st, path, o);
    // a buffer for the file's size; it grows (a file that grew) up to the limit + 1
    const max = READ_LIMITS[o.kind] + 1;
    let buf = new Uint8Array(Math.min(st.size + 1, max));
    let n = 0;
    for (;;) {
      if (n === buf.length) {
        if (n >= max) break;
        const bigger = new Uint8Array(Math.min(buf.length * 2, max));
        bigger.set(buf);
        buf = bigger;
      }
      const r = f.readSync(buf.subarray(n));
      if (r === null) break;
      n += r;
    }
    return decode(buf, n, path, o);
  } finally {
    f.close();
  }
}
