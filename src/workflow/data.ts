/**
 * Workflows as data, for front ends other than the CLI (the web UI, MCP): the discovered workflows with
 * their parameters and steps, the trust question exactly as `kodama run` words it (the same code,
 * src/workflow/trust.ts, answered "no" so nothing is recorded), and a run with a display writing to sinks.
 * An untrusted workflow runs only when the caller passes `trustedSha`, the content hash the person saw and
 * accepted; a file that changed since is refused.
 */
import type { Kube } from "../kube/client.ts";
import type { Sink } from "../base/sink.ts";
import { redactingSink } from "../base/redact.ts";
import { displayPath } from "../config/paths.ts";
import { discover, findWorkflow } from "./discovery.ts";
import { type LoadedWorkflow, loadWorkflowFile } from "./file.ts";

export interface WorkflowParam {
  name: string;
  type: string;
  description?: string;
  default?: string | number | boolean;
  required: boolean;
  values?: string[];
}

export interface WorkflowInfo {
  name: string;
  source: string;
  file: string;
  description: string;
  params: WorkflowParam[];
  steps: { id: string; name?: string; kind: string }[];
  /** it asks for permissions (run, read, write, net, env) or calls one that does */
  asksPermissions: boolean;
  shadowedBy?: string;
  error?: string;
}

/** A workflow by the name the list shows: a front end never reaches a file by its path. */
async function load(name: string, cwd: string): Promise<LoadedWorkflow> {
  const ref = await findWorkflow(name, cwd, { byName: true });
  return await loadWorkflowFile(ref.file, ref.source);
}

function info(lw: LoadedWorkflow): Omit<WorkflowInfo, "source" | "file" | "shadowedBy"> {
  const w = lw.workflow;
  const perms = w.permissions ?? {};
  return {
    name: lw.name,
    description: w.description ?? "",
    params: Object.entries(w.params ?? {}).map(([name, p]) => ({
      name,
      type: p.type ?? (p.values ? "enum" : "string"),
      ...(p.description ? { description: p.description } : {}),
      ...(p.default !== undefined ? { default: p.default } : {}),
      required: !!p.required,
      ...(p.values ? { values: p.values } : {}),
    })),
    steps: (w.steps ?? []).map((s) => {
      const kind = Object.keys(s).find((k) =>
        !["id", "name", "if", "env", "timeout", "continue-on-error"].includes(k)
      );
      return { id: s.id ?? "", ...(s.name ? { name: s.name } : {}), kind: kind ?? "?" };
    }),
    asksPermissions: Object.values(perms).some((v) => Array.isArray(v) ? v.length > 0 : !!v) ||
      (w.steps ?? []).some((s) => "workflow" in s),
  };
}

/** Every workflow `kodama workflow list` shows, with what a form needs to run it. */
export async function workflowInfos(cwd: string): Promise<WorkflowInfo[]> {
  const refs = await discover(cwd);
  return await Promise.all(refs.map(async (r) => {
    const base = {
      source: r.source,
      file: r.source === "builtin" ? "(built in)" : displayPath(r.file),
      ...(r.shadowedBy ? { shadowedBy: r.shadowedBy.source } : {}),
    };
    try {
      return { ...info(await loadWorkflowFile(r.file, r.source)), ...base };
    } catch (e) {
      return {
        name: r.name,
        description: "",
        params: [],
        steps: [],
        asksPermissions: false,
        error: (e as Error).message.split("\n")[0],
        ...base,
      };
    }
  }));
}

export interface TrustQuestion {
  /** what the workflow may touch, as the CLI's prompt lists it */
  lines: string[];
  question: string;
  /** the content hash this question is about (pass it back to run to accept it) */
  sha256: string;
}

/** The trust question for running `name` now, or undefined when it may run without one. */
export async function trustQuestion(name: string, cwd: string): Promise<TrustQuestion | undefined> {
  const lw = await load(name, cwd);
  const { ensureTrusted, contentHash } = await import("./trust.ts");
  const { prepareWorkflow } = await import("./prepare.ts");
  const prepared = await prepareWorkflow(lw, { cwd });
  const lines: string[] = [];
  let question: string | undefined;
  try {
    await ensureTrusted(prepared, {
      interactive: true,
      note: (l) => lines.push(l),
      confirm: (m) => {
        question = m;
        return Promise.resolve(false); // only asking: nothing is recorded here
      },
    });
  } catch (e) {
    if (question === undefined) throw e;
  }
  if (question === undefined) return undefined;
  return { lines, question, sha256: await contentHash(prepared) };
}

export interface WorkflowRunOptions {
  params: Record<string, string>;
  /** the content hash the person accepted in the trust dialog (the CLI's --trust, for exactly that version) */
  trustedSha?: string;
  cwd: string;
  connect: () => Promise<Kube>;
  globalFlags: string[];
  out: Sink;
  signal: AbortSignal;
  /** the web UI's door: local paths of the run must pass it too (src/config/doors.ts) */
  door?: { path(p: string, what: string, base?: string): Promise<string> };
}

/** Run a workflow as `kodama run NAME --param …` does; returns its exit code. */
export async function runWorkflowData(name: string, o: WorkflowRunOptions): Promise<number> {
  const lw = await load(name, o.cwd);
  const [{ runWorkflow }, { createDisplay }] = await Promise.all([
    import("./engine.ts"),
    import("./display.ts"),
  ]);
  const sink = redactingSink(o.out);
  const display = createDisplay({ out: sink, err: sink, live: false, color: false, stdoutIsTty: false });
  try {
    const r = await runWorkflow(lw, {
      params: o.params,
      // the accepted hash, as run --trust-hash: trust records exactly that version, and the run's pins are
      // the ones that hash covered; any other version is refused (exit 2), nothing run
      trustHash: o.trustedSha,
      interactive: false,
      connect: o.connect,
      display,
      signal: o.signal,
      globalFlags: o.globalFlags,
      cwd: o.cwd,
      door: o.door,
    });
    if (r.exitCode !== 0) {
      sink.write(`workflow ${lw.name} failed at ${r.failure}${r.hint ? `\n  ${r.hint}` : ""}\n`);
    }
    return r.exitCode;
  } finally {
    display.close();
    sink.flush();
  }
}
