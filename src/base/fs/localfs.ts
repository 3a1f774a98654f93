/**
 * Local paths a command was given (`--to-file`, `--stats-json`, `--prompt-file`, the config directory) and
 * what the file system says about them, in kodama's words: one line naming the flag or the file, with the
 * documented exit code (3 not found, 4 permission denied, 2 the wrong kind of file), never Deno's
 * `No such file or directory (os error 2): stat '…'`. Output paths are checked before a command does its
 * work, so a copy is never made only to fail at its last step; what slips through is mapped the same way by
 * main.ts's last-resort handler (localFsError).
 */
import { ExitCode, KodamaError } from "../errors.ts";
import { dirname, resolve } from "./fspath.ts";

/** Deno's file-system error classes, what they mean for a person, and the exit code they end with. */
const KINDS: [new (...a: never[]) => Error, string, number][] = [
  [Deno.errors.NotFound, "no such file or directory", ExitCode.NOT_FOUND],
  [Deno.errors.PermissionDenied, "permission denied", ExitCode.FORBIDDEN],
  [Deno.errors.NotADirectory, "not a directory", ExitCode.USAGE],
  [Deno.errors.IsADirectory, "it is a directory", ExitCode.USAGE],
  [Deno.errors.AlreadyExists, "it already exists", ExitCode.USAGE],
];

/** What Deno's operation names mean in a sentence ("cannot open X"). */
const VERBS: Record<string, string> = {
  stat: "access",
  lstat: "access",
  realpath: "access",
  readlink: "read the link",
  open: "open",
  mkdir: "create the directory",
  remove: "remove",
  rename: "rename",
  copy: "copy",
  link: "link",
  symlink: "link",
  chmod: "change the mode of",
  readdir: "list",
};

/** `Is a directory (os error 21): rename '/a' -> '/b'` → its operation and paths. */
function parts(message: string): { op?: string; from?: string; to?: string } {
  const m = /\(os error \d+\)(?::\s+(\w[\w ]*?)\s+'([^']*)'(?:\s+->\s+'([^']*)')?)?\s*$/.exec(message);
  return m ? { op: m[1], from: m[2], to: m[3] } : {};
}

/**
 * The first ancestor of `path` that exists and is not a directory (`/dev/null` for `/dev/null/config.yaml`),
 * which is what "not a directory" is about.
 */
function notDirectoryOnTheWay(path: string): string | undefined {
  for (let p = dirname(path); p !== dirname(p); p = dirname(p)) {
    try {
      if (!Deno.statSync(p).isDirectory) return p;
    } catch { /* missing or unreadable: look higher */ }
  }
  return undefined;
}

function why(e: Error, reason: string, path: string | undefined): string {
  if (e instanceof Deno.errors.NotADirectory && path) {
    const file = notDirectoryOnTheWay(path);
    if (file) return `${file} is not a directory`;
  }
  return reason;
}

/**
 * A local file-system error (Deno.errors.NotFound, PermissionDenied, NotADirectory, IsADirectory,
 * AlreadyExists) as one line with its exit code: `cannot open /x/y: no such file or directory` (3).
 * `what` names the path's role (`--to-file x.tar`) instead of the path Deno reported. Undefined for
 * anything else.
 */
export function localFsError(e: unknown, what?: string, hint?: string): KodamaError | undefined {
  if (!(e instanceof Error)) return undefined;
  const kind = KINDS.find(([cls]) => e instanceof cls);
  if (!kind) return undefined;
  const [, reason, code] = kind;
  const { op, from, to } = parts(e.message);
  if (!op && !what) {
    // Deno's own permission refusals (a workflow sandbox: "Requires read access to …") say it already
    return new KodamaError(e.message.split("\n")[0], code, hint);
  }
  const verb = op ? VERBS[op] ?? op : "use";
  const object = what ?? (to ? `${from} to ${to}` : from ?? "");
  return new KodamaError(`cannot ${verb} ${object}: ${why(e, reason, to ?? from)}`, code, hint);
}

async function statOrUndefined(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/**
 * An output file a flag names, checked before the command does its work: its directory exists and is a
 * directory, and the file itself, when it exists, is not a directory (and is replaced only with `replace`;
 * `replaceHint` says how to allow it). Exit 3 when the directory is missing, 2 for the wrong kind, 4 when
 * it cannot be written.
 */
export async function checkOutputFile(
  path: string,
  flag: string,
  o: { replace?: boolean; replaceHint?: string } = {},
): Promise<void> {
  const abs = resolve(path);
  const what = `${flag} ${path}`;
  try {
    const dir = dirname(abs);
    const d = await statOrUndefined(dir);
    if (!d) {
      throw new KodamaError(`cannot write ${what}: the directory ${dir} does not exist`, ExitCode.NOT_FOUND);
    }
    if (!d.isDirectory) {
      throw new KodamaError(`cannot write ${what}: ${dir} is not a directory`, ExitCode.USAGE);
    }
    const st = await statOrUndefined(abs);
    if (st?.isDirectory) {
      throw new KodamaError(`cannot write ${what}: it is a directory`, ExitCode.USAGE, "name a file in it");
    }
    if (st && !st.isFile) {
      throw new KodamaError(`cannot write ${what}: it is not a regular file`, ExitCode.USAGE);
    }
    if (st && !o.replace) throw new KodamaError(`${path} exists`, ExitCode.USAGE, o.replaceHint);
  } catch (e) {
    throw localFsError(e, what) ?? e;
  }
}

/**
 * An input file a flag names: it exists and is a regular file (exit 3 when missing, 2 for a directory,
 * a FIFO or a device, 4 when it cannot be read). `-` (stdin) is left to the caller.
 */
export async function checkInputFile(path: string, flag: string): Promise<void> {
  const what = `${flag} ${path}`;
  try {
    const st = await Deno.stat(path);
    if (st.isDirectory) throw new KodamaError(`cannot read ${what}: it is a directory`, ExitCode.USAGE);
    if (!st.isFile) throw new KodamaError(`cannot read ${what}: it is not a regular file`, ExitCode.USAGE);
    (await Deno.open(path, { read: true })).close();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new KodamaError(`cannot read ${what}: no such file`, ExitCode.NOT_FOUND);
    }
    throw localFsError(e, what) ?? e;
  }
}
