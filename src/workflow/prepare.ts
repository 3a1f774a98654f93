/**
 * Everything a run can reach, resolved before anything runs: the checked module graph of every
 * `script` step and every child workflow reachable through `workflow` steps (inside `parallel`
 * groups too), recursively. Trust pins all of it, the trust prompt shows the union of its
 * permissions, and the engine then runs exactly these graphs and these child files — nothing is
 * looked up or read again between the check and the run.
 */
import { dirname, resolve } from "node:path";
import { ExitCode, KodamaError } from "../errors.ts";
import { findRepo } from "../config/paths.ts";
import { flattenSteps, type LoadedWorkflow } from "./load.ts";
import { scriptPath } from "./steps/script.ts";
import { expandPath } from "./sandbox/permissions.ts";
import { GraphError, type GraphProblem, type ScriptGraph, scriptGraph } from "./sandbox/graph.ts";

/** Workflow calls nest at most this deep (the run itself is depth 0). */
export const MAX_CALL_DEPTH = 8;

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

export interface Prepared {
  /** checked graphs by absolute script path */
  graphs: Map<string, ScriptGraph>;
  /** child workflows by the name written in the `workflow` step */
  children: Map<string, LoadedWorkflow>;
  /** names that found no workflow: the step fails with this error when it runs (nothing to trust) */
  missing: Map<string, Error>;
  /** the repository root scripts must stay in */
  root: string;
}

const prepared = new WeakMap<LoadedWorkflow, Prepared>();

export function preparedOf(lw: LoadedWorkflow): Prepared | undefined {
  return prepared.get(lw);
}

/**
 * Resolve and check everything reachable from `lw` (once per loaded workflow). Throws exit 2 for a
 * graph that breaks the rules (every problem as file:line:col), a call cycle, or calls nested deeper
 * than MAX_CALL_DEPTH.
 */
export async function prepareWorkflow(
  lw: LoadedWorkflow,
  o: { cwd?: string; stack?: LoadedWorkflow[] } = {},
): Promise<Prepared> {
  const done = prepared.get(lw);
  if (done) return done;
  const stack = [...(o.stack ?? []), lw];
  const root = await repoRootOf(lw);
  const graphs = new Map<string, ScriptGraph>();
  const children = new Map<string, LoadedWorkflow>();
  const missing = new Map<string, Error>();
  const problems: GraphProblem[] = [];
  const readPaths = (lw.workflow.permissions?.read ?? []).map((p) => expandPath(p, lw.baseDir));
  const { findWorkflow } = await import("./discovery.ts");
  const { loadWorkflowFile } = await import("./load.ts");
  for (const { step, kind } of flattenSteps(lw.workflow.steps)) {
    if (kind === "script") {
      const path = scriptPath(lw.file, (step.script as { module: string }).module);
      if (graphs.has(path)) continue;
      try {
        graphs.set(path, await scriptGraph(path, { root, readPaths }));
      } catch (e) {
        if (e instanceof GraphError) problems.push(...e.problems);
        else throw e;
      }
    } else if (kind === "workflow") {
      const name = (step.workflow as { name: string }).name;
      if (children.has(name) || missing.has(name)) continue;
      let ref;
      try {
        ref = await findWorkflow(name, callerCwd(lw, o.cwd));
      } catch (e) {
        if (!(e instanceof KodamaError) || e.code !== ExitCode.NOT_FOUND) throw e;
        missing.set(name, e);
        continue;
      }
      const seen = stack.find((s) => resolve(s.file) === resolve(ref.file));
      if (seen) {
        throw new KodamaError(
          `workflow ${lw.name} calls ${name}, which is already running above it: ${
            [...stack.slice(stack.indexOf(seen)).map((s) => s.name), ref.name].join(" → ")
          } (a cycle)`,
          ExitCode.USAGE,
        );
      }
      if (stack.length > MAX_CALL_DEPTH) {
        throw new KodamaError(
          `workflow calls nest more than ${MAX_CALL_DEPTH} deep: ${
            [...stack.map((s) => s.name), name].join(" → ")
          }`,
          ExitCode.USAGE,
        );
      }
      const child = await loadWorkflowFile(ref.file, ref.source);
      await prepareWorkflow(child, { cwd: o.cwd, stack });
      children.set(name, child);
    }
  }
  if (problems.length) throw new GraphError(problems);
  const p = { graphs, children, missing, root };
  prepared.set(lw, p);
  return p;
}

/** `lw` and every workflow it can reach, each once, parents first. */
export function reachable(lw: LoadedWorkflow, out: LoadedWorkflow[] = []): LoadedWorkflow[] {
  if (out.includes(lw)) return out;
  out.push(lw);
  for (const c of preparedOf(lw)?.children.values() ?? []) reachable(c, out);
  return out;
}

/** A file path for messages: relative to the cwd when inside it. */
export function shownPath(p: string): string {
  const cwd = Deno.cwd();
  return p.startsWith(cwd + "/") ? p.slice(cwd.length + 1) : p;
}
