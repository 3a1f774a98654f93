/**
 * `script`: run a TypeScript/JavaScript module from the repo in a sandbox Worker that holds exactly
 * the workflow's permissions and reaches the cluster only through the host API.
 */
import type { StepKind } from "../types.ts";
import { permSummary } from "../model.ts";
import { kubeconfigFlag, teeSink } from "./common.ts";
import { denoPermissions } from "../sandbox/permissions.ts";

export interface ScriptSpec {
  module: string;
  with?: Record<string, unknown>;
  export?: string;
  memory?: number;
}

export const DEFAULT_SCRIPT_TIMEOUT_MS = 5 * 60_000;
export const DEFAULT_SCRIPT_MEMORY_MB = 512;

export const script: StepKind<ScriptSpec> = {
  name: "script",
  summary:
    "run a TS/JS module in a Worker with only the workflow's permissions; its return value is the outputs",
  spec: ({ z }) =>
    z.object({
      module: z.string().describe("path of the module, relative to the workflow file"),
      with: z.record(z.string(), z.unknown()).optional().describe(
        "inputs, as ctx.inputs (expressions resolved)",
      ),
      export: z.string().optional().describe("the exported function to call (default: default)"),
      memory: z.number().int().positive().optional().describe("memory guard in MB (default 512; see docs)"),
    }).strict(),
  plan(s, ctx) {
    return `script ${s.module} (permissions: ${permSummary(ctx.run.permissions)})`;
  },
  async run(s, ctx) {
    const { runSandboxed } = await import("../sandbox/host.ts");
    const { hostApi } = await import("../hostapi.ts");
    const script = await ctx.run.script(s.module);
    // links created since the run started count too: checked right before the worker starts
    const { checkGrants } = await import("../sandbox/grants.ts");
    await checkGrants(ctx.run.permissions, ctx.run.baseDir, kubeconfigFlag(ctx.run.globalFlags));
    // and what the grants name is still what was trusted (a link re-pointed, a script edited: refused)
    await ctx.run.checkPins();
    const targets: Record<string, { pods: unknown[] }> = {};
    for (const [name, t] of Object.entries(ctx.expr.targets ?? {})) targets[name] = t as { pods: unknown[] };
    const out = teeSink(ctx.out);
    const r = await runSandboxed({
      mode: "script",
      script,
      tty: ctx.run.tty,
      permissions: denoPermissions(ctx.run.permissions, ctx.run.baseDir),
      start: {
        exportName: s.export ?? "default",
        ctx: JSON.parse(JSON.stringify({
          params: ctx.expr.params ?? {},
          inputs: s.with ?? {},
          env: ctx.env,
          targets,
          step: { id: ctx.id, workflow: ctx.run.workflow.name ?? "" },
        })),
      },
      // the live view of resolved targets (the engine publishes each target there once resolved)
      api: hostApi(ctx.run, ctx.signal, () => Object.keys(ctx.expr.targets ?? {})),
      out,
      err: ctx.err,
      timeoutMs: ctx.timeoutMs ?? DEFAULT_SCRIPT_TIMEOUT_MS,
      memoryMb: s.memory ?? DEFAULT_SCRIPT_MEMORY_MB,
      signal: ctx.signal,
    });
    return r.ok
      ? { ok: true, outputs: { ...r.outputs, stdout: r.outputs.stdout ?? out.text() } }
      : { ok: false, exitCode: r.code, error: r.error, outputs: { stdout: out.text() } };
  },
};
