/**
 * A workflow file, read and made ready to run: checked by the loader (load.ts: YAML, zod, the
 * semantic checks) the first time, and read back from the validated-form cache (cache.ts) after
 * that — without loading the YAML parser or zod at all, so a second `kodama run` starts like a
 * `kodama exec` (bench/README.md). Both give the same LoadedWorkflow: positions for run-time
 * messages come from the parse or from its table (positions.ts).
 */
import { ExitCode, KodamaError } from "../base/errors.ts";
import { MAX_FILE_BYTES } from "./limits.ts";
import { tooBig, WorkflowProblems } from "./problems.ts";
import { baseDirOf, flattenSteps, type Source, stemOf, type Workflow } from "./model.ts";
import { type Positions, positionsFrom } from "./positions.ts";
import { cachedEntry, cacheKey, rememberEntry } from "./cache.ts";
import { concatBytes } from "../base/text/bytes.ts";
import { fileUrlToPath, hostPlatform } from "../base/platform.ts";

export interface LoadedWorkflow extends Partial<Positions> {
  name: string;
  /** file path (or URL for built-ins outside the file system) */
  file: string;
  source: Source;
  text: string;
  workflow: Workflow;
  /** directory relative paths (cwd, permissions) resolve against */
  baseDir: string;
  /**
   * where the kind's schema takes any string (pathKey of a path in a step's spec): an expression
   * resolved to a string there needs no schema check at run time (engine.ts `checkSpec`)
   */
  freeStrings?: ReadonlySet<string>;
}

/**
 * A repository's workflow file (`.kodama/workflows/x.yaml`, a repo `workflows.paths` directory) is read only
 * when its real path is inside the repository, as its templates and env files are (docs/security.md, "a
 * repository"): a committed `x.yaml -> ../../.ssh/creds.yaml` would otherwise be parsed — its keys shown in
 * the problems, to the terminal, an MCP client or a page — and run. Exit 4, before anything is read.
 */
async function insideItsRepository(path: string): Promise<void> {
  const [{ findRepo, displayPath }, { confine }, { dirname }] = await Promise.all([
    import("../config/paths.ts"),
    import("../config/confine.ts"),
    import("../base/fs/fspath.ts"),
  ]);
  const repo = await findRepo(dirname(path));
  const root = repo.gitRoot ?? (repo.configFile ? dirname(repo.configFile) : baseDirOf(path, "repo"));
  const c = await confine(root, path);
  if (c.outside) {
    throw new KodamaError(
      `refusing to read workflow file ${displayPath(path)}: it ${c.outside}`,
      ExitCode.FORBIDDEN,
      "a repository's workflows are files inside it; a file elsewhere is run by path from a terminal (kodama run ./x.yaml)",
    );
  }
}

/** The text of a workflow file, read only up to MAX_FILE_BYTES (a bigger file is refused unread). */
export async function readWorkflowText(file: string): Promise<string> {
  if (/^(https?|data):/.test(file)) {
    const r = await fetch(file);
    if (!r.ok) throw new KodamaError(`cannot read ${file}: HTTP ${r.status}`, ExitCode.NOT_FOUND);
    return await readBounded(file, r.body);
  }
  const path = file.startsWith("file:") ? fileUrlToPath(file, hostPlatform()) : file;
  let f: Deno.FsFile | undefined;
  try {
    // opening a named FIFO blocks until a writer comes, and a device never ends: only regular files, and
    // the already-open pipe of a process substitution (`kodama run -f <(generate)`, /dev/fd/N). The
    // stats and a regular file's reads are synchronous (they never wait; an async call is a round trip
    // through Deno's thread pool); the open is not, as the file may have become a FIFO meanwhile.
    const pre = Deno.statSync(path);
    if (!pre.isFile && !pre.isDirectory && !(pre.isFifo && /^\/dev\/fd\/\d+$/.test(path))) {
      throw new KodamaError(
        `cannot read ${file}: it is not a regular file (a FIFO, device or socket)`,
        ExitCode.USAGE,
      );
    }
    f = await Deno.open(path);
    const st = f.statSync();
    if (st.isDirectory) throw new KodamaError(`${file} is a directory, not a workflow file`, ExitCode.USAGE);
    if (st.size > MAX_FILE_BYTES) throw tooBig(path, st.size);
    return await readFileBounded(path, f, st.size, st.isFile);
  } catch (e) {
    if (e instanceof KodamaError) throw e;
    if (e instanceof Deno.errors.NotFound) {
      throw new KodamaError(`workflow file not found: ${file}`, ExitCode.NOT_FOUND);
    }
    throw new KodamaError(`cannot read ${file}: ${(e as Error).message}`, ExitCode.FAILED);
  } finally {
    try {
      f?.close();
    } catch { /* closed by its stream */ }
  }
}

/**
 * Read an open file as UTF-8 text with plain reads (a file's first ReadableStream costs ~8 ms of CPU
 * to set up), refusing it once it is over MAX_FILE_BYTES (it may have grown since its stat).
 */
async function readFileBounded(
  path: string,
  f: Deno.FsFile,
  size: number,
  regular: boolean,
): Promise<string> {
  let buf = new Uint8Array(size + 1);
  let n = 0;
  for (;;) {
    if (n === buf.length) {
      if (n > MAX_FILE_BYTES) throw tooBig(path, n);
      const bigger = new Uint8Array(Math.min(buf.length * 2, MAX_FILE_BYTES + 1));
      bigger.set(buf);
      buf = bigger;
    }
    const r = regular ? f.readSync(buf.subarray(n)) : await f.read(buf.subarray(n));
    if (r === null) break;
    n += r;
  }
  if (n > MAX_FILE_BYTES) throw tooBig(path, n);
  return new TextDecoder().decode(buf.subarray(0, n));
}

/** Read a stream as UTF-8 text, refusing it (unread past the limit) once it is over MAX_FILE_BYTES. */
async function readBounded(file: string, body: ReadableStream<Uint8Array> | null): Promise<string> {
  if (!body) return "";
  const parts: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > MAX_FILE_BYTES) throw tooBig(file, size);
      parts.push(value);
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return new TextDecoder().decode(concatBytes(parts));
}

/**
 * Read, parse and validate; throws a usage error (exit 2) listing every problem as file:line:col. `home`
 * (default: kodamaHome()) holds the validated-form cache; tests give their own.
 */
export async function loadWorkflowFile(file: string, source: Source, home?: string): Promise<LoadedWorkflow> {
  const path = file.startsWith("file:") ? fileUrlToPath(file, hostPlatform()) : file;
  if (source === "repo") await insideItsRepository(path);
  const text = await readWorkflowText(file);
  const opts = { stem: stemOf(path), checkFiles: source !== "builtin" };
  const base = { name: stemOf(path), file: path, source, text, baseDir: baseDirOf(path, source) };
  // a file that passed every check before is not checked again (./cache.ts)
  const key = await cacheKey({ path, ...opts, text });
  const hit = await cachedEntry(key, home);
  if (hit) {
    const { workflow } = hit;
    return {
      ...base,
      workflow,
      ...positionsFrom(hit.positions, text, workflow),
      freeStrings: new Set(hit.freeStrings),
    };
  }
  const { parseWorkflowText, freeStringPaths } = await import("./load.ts");
  const parsed = parseWorkflowText(text, path, opts);
  const workflow = parsed.workflow;
  if (!workflow) throw new WorkflowProblems(parsed.problems, fixHint(parsed.problems.length, path));
  const freeStrings = freeStringPaths(workflow);
  // script modules are checked on disk: a workflow with script steps is never cached
  if (!(opts.checkFiles && flattenSteps(workflow.steps).some((s) => s.kind === "script"))) {
    await rememberEntry(key, { workflow, positions: parsed.table(), freeStrings }, home);
  }
  return { ...base, workflow, pos: parsed.pos, exprPos: parsed.exprPos, freeStrings: new Set(freeStrings) };
}

function fixHint(n: number, path: string): string {
  return `fix the workflow file (${n} problem${
    n === 1 ? "" : "s"
  }); check it with: kodama workflow validate ${path}`;
}
