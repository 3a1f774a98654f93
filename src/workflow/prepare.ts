/**
 * Everything a run can reach, resolved before anything runs: the checked module graph of every
 * `script` step and every child workflow reachable through `workflow` steps (inside `parallel`
 * groups too), recursively. Trust pins all of it, the trust prompt shows the union of its
 * permissions, and the engine then runs exactly these graphs and these child files — nothing is
 * looked up or read again between the check and the run.
 */
import { dirname, resolve } from "../base/fs/fspath.ts";
import { ExitCode, KodamaError } from "../base/errors.ts";
import { findRepo } from "../config/paths.ts";
import { flattenSteps, scriptPath, stemOf } from "./model.ts";
import type { LoadedWorkflow } from "./file.ts";
import { formatProblem, type Problem, WorkflowProblems } from "./problems.ts";
import { MAX_CALL_DEPTH } from "./limits.ts";
import type { ScriptGraph } from "./sandbox/graph.ts";

export { MAX_CALL_DEPTH } from "./limits.ts";

/** The repository a workflow's scripts must live in: the git root above the file, else its base dir. */
export async function repoRootOf(lw: LoadedWorkflow): Promise<string> {
  // $KODAMA_HOME/workflows/x.yaml: its scripts live in $KODAMA_HOME (e.g. $KODAMA_HOME/scripts/)
  if (lw.source === "home") return dirname(dirname(lw.file));
  const { gitRoot } = await findRepo(dirname(lw.file));
  return gitRoot ?? (lw.source === "builtin" ? dirname(lw.file) : lw.baseDir);
}

/** Where a workflow looks for the workflows it calls: beside itself (its repo), else the cwd. */
export function callerCwd(lw: LoadedWorkflow, cwd?: string): string {
  return lw.source === "repo" || lw.source === "file" ? dirname(lw.file) : (cwd ?? Deno.cwd());
}

/**
 * A workflow as checked: a value that travels from the check to trust and to the run (the engine runs
 * `children`' workflows and `graphs`' modules, never a file looked up again). A workflow called from
 * several places in one call graph is one `Prepared`.
 */
export interface Prepared {
  /** the workflow checked */
  lw: LoadedWorkflow;
  /** checked graphs by absolute script path */
  graphs: Map<string, ScriptGraph>;
  /** child workflows, checked, by the name written in the `workflow` step */
  children: Map<string, Prepared>;
  /** names that found no workflow: the step fails with this error when it runs (nothing to trust) */
  missing: Map<string, Error>;
  /** the repository root scripts must stay in */
  root: string;
}

export interface PrepareOptions {
  cwd?: string;
  /** `kodama workflow validate`: a called workflow that is not found is a problem too */
  missingIsProblem?: boolean;
}

/** One check of a call graph: every file is loaded and checked once, however often it is called. */
interface Session {
  o: PrepareOptions;
  problems: Problem[];
  /** loaded child workflows by real file path */
  files: Map<string, LoadedWorkflow>;
  /** files whose check has started and not finished: calling one of them is a cycle */
  open: Set<string>;
  /** the longest chain of calls below each finished workflow, by file */
  below: Map<string, string[]>;
  /** workflows checked in this call, so each is checked once however often it is called */
  done: Map<LoadedWorkflow, Prepared>;
}

/** A workflow file as the call graph knows it: its real path (a symlink to a file is that file). */
function key(file: string): string {
  try {
    return Deno.realPathSync(file);
  } catch {
    return resolve(file);
  }
}

function at(lw: LoadedWorkflow, path: (string | number)[]): { file: string; line: number; col: number } {
  return { file: lw.file, ...(lw.pos?.(path) ?? { line: 1, col: 1 }) };
}

/**
 * Resolve and check everything reachable from `lw` (once per loaded workflow): the module graph of
 * every script, and the call graph through `workflow` steps — a cycle (A → B → A, a self-call, also
 * through `parallel`) or a chain of calls deeper than MAX_CALL_DEPTH is refused where it is written.
 * Throws WorkflowProblems (exit 2) listing every problem as file:line:col, those of called files too.
 */
export async function prepareWorkflow(lw: LoadedWorkflow, o: PrepareOptions = {}): Promise<Prepared> {
  const session: Session = {
    o,
    problems: [],
    files: new Map(),
    open: new Set(),
    below: new Map(),
    done: new Map(),
  };
  const p = await prepareOne(lw, session);
  if (session.problems.length) {
    const seen = new Set<string>();
    const unique = session.problems.filter((x) => {
      const k = formatProblem(x);
      return !seen.has(k) && !!seen.add(k);
    });
    throw new WorkflowProblems(
      unique,
      "fix the files named above; check them with: kodama workflow validate",
    );
  }
  return p;
}

async function prepareOne(lw: LoadedWorkflow, s: Session, confineTo?: string): Promise<Prepared> {
  const done = s.done.get(lw);
  if (done) return done;
  const self = key(lw.file);
  s.open.add(self);
  const root = await repoRootOf(lw);
  // an untrusted workflow (and whatever it calls) names workflow files by path only inside its repository
  const confined = confineTo ?? (lw.source === "repo" || lw.source === "file" ? root : undefined);
  const graphs = new Map<string, ScriptGraph>();
  const children = new Map<string, Prepared>();
  const missing = new Map<string, Error>();
  let readPaths: string[] | undefined;
  const { findWorkflow } = await import("./discovery.ts");
  const { loadWorkflowFile } = await import("./file.ts");
  let longest: string[] = [];
  for (const { step, kind, path } of flattenSteps(lw.workflow.steps)) {
    if (kind === "script") {
      const file = scriptPath(lw.file, (step.script as { module: string }).module);
      if (graphs.has(file)) continue;
      try {
        // the module-graph check (and its parser) only for workflows with scripts
        const { scriptGraph } = await import("./sandbox/graph.ts");
        if (!readPaths) {
          const { expandPath } = await import("./sandbox/permissions.ts");
          readPaths = (lw.workflow.permissions?.read ?? []).map((p) => expandPath(p, lw.baseDir));
        }
        graphs.set(file, await scriptGraph(file, { root, readPaths }));
      } catch (e) {
        if (e instanceof WorkflowProblems) s.problems.push(...e.problems);
        else throw e;
      }
      continue;
    }
    if (kind !== "workflow") continue;
    const name = (step.workflow as { name: string }).name;
    const namePath = [...path, "workflow", "name"];
    if (children.has(name) || missing.has(name)) continue;
    if (confined && (/\.ya?ml$/.test(name) || /[\\/]/.test(name))) {
      // a path is a local file read: it may not lead out of the repository (nor be probed by parsing it)
      const { inside } = await import("./sandbox/confine.ts");
      const { realLanding } = await import("../base/fs/realpath.ts");
      const real = await realLanding(resolve(callerCwd(lw, s.o.cwd), name));
      if (!inside(real, await realLanding(confined))) {
        s.problems.push({
          ...at(lw, namePath),
          message: `workflow "${name}" is outside the workflow's repository${
            real === resolve(callerCwd(lw, s.o.cwd), name) ? "" : ` (${real})`
          }: a repo workflow calls files of its repository, or workflows by name`,
        });
        continue;
      }
    }
    let ref;
    try {
      ref = await findWorkflow(name, callerCwd(lw, s.o.cwd));
    } catch (e) {
      if (!(e instanceof KodamaError) || e.code !== ExitCode.NOT_FOUND) throw e;
      missing.set(name, e);
      if (s.o.missingIsProblem) s.problems.push({ ...at(lw, namePath), message: e.message });
      continue;
    }
    const file = key(ref.file);
    if (s.open.has(file)) {
      const chain = [...s.open];
      const names = [...chain.slice(chain.indexOf(file)), file].map((f) => stemOf(f));
      s.problems.push({
        ...at(lw, namePath),
        message: `workflow ${lw.name} calls ${name}, which is already running above it: ${
          names.join(" → ")
        } (a cycle)`,
      });
      continue;
    }
    let child = s.files.get(file);
    if (!child) {
      try {
        child = await loadWorkflowFile(ref.file, ref.source);
      } catch (e) {
        if (e instanceof WorkflowProblems) s.problems.push(...e.problems);
        else s.problems.push({ ...at(lw, namePath), message: `${name}: ${(e as Error).message}` });
        continue;
      }
      s.files.set(file, child);
    }
    children.set(name, await prepareOne(child, s, confined));
    const below = [child.name, ...(s.below.get(file) ?? [])];
    if (below.length > MAX_CALL_DEPTH) {
      s.problems.push({
        ...at(lw, namePath),
        message: `workflow calls nest more than ${MAX_CALL_DEPTH} deep: ${[lw.name, ...below].join(" → ")}`,
      });
    }
    if (below.length > longest.length) longest = below;
  }
  s.open.delete(self);
  s.below.set(self, longest.slice(0, MAX_CALL_DEPTH + 1));
  const p = { lw, graphs, children, missing, root };
  s.done.set(lw, p);
  return p;
}

/** `p` and every workflow it can reach, each once, parents first. */
export function reachable(p: Prepared, out: Prepared[] = []): Prepared[] {
  if (out.includes(p)) return out;
  out.push(p);
  for (const c of p.children.values()) reachable(c, out);
  return out;
}

/** A file path for messages: relative to the cwd when inside it. */
export function shownPath(p: string): string {
  const cwd = Deno.cwd();
  return p.startsWith(cwd + "/") ? p.slice(cwd.length + 1) : p;
}
