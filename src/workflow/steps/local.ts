/**
 * `local`: run a command on this machine. It is spawned from a sandbox Worker holding only the
 * workflow's permissions, so Deno itself refuses any binary not listed in `permissions.run`.
 */
import type { StepKind } from "../types.ts";
import { argvText, kubeconfigFlag, teeSink } from "./common.ts";
import { denoPermissions } from "../sandbox/permissions.ts";
import { baseEnvNames, hostPlatform, type Platform } from "../../base/platform.ts";

export interface LocalSpec {
  command: string[];
  cwd?: string;
  stdin?: string;
}

/**
 * The child's environment: what a command needs to start on this OS (src/base/platform.ts baseEnvNames:
 * on Windows SystemRoot, PATHEXT, TEMP, USERPROFILE …), the names in permissions.env, and the
 * workflow/step env.
 */
export function localEnv(
  allowed: string[] | undefined,
  env: Record<string, string>,
  p: Platform = hostPlatform(),
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of [...baseEnvNames(p), ...(allowed ?? [])]) {
    const v = p.env(k);
    if (v !== undefined) out[k] = v;
  }
  return { ...out, ...env };
}

export const local: StepKind<LocalSpec> = {
  name: "local",
  summary: "run a command on this machine (its binary must be listed in permissions.run)",
  spec: ({ z }) =>
    z.object({
      command: z.array(z.string()).min(1).describe("argv; each item is one argument"),
      cwd: z.string().optional().describe("working directory (default: the repo root for repo workflows)"),
      stdin: z.string().optional(),
    }).strict(),
  plan(s, ctx) {
    const allowed = ctx.run.permissions.run ?? [];
    return `local: ${argvText(s.command)}${
      allowed.includes(s.command[0]) ? "" : `  (not in permissions.run: will be denied)`
    }`;
  },
  async run(s, ctx) {
    const { runSandboxed } = await import("../sandbox/host.ts");
    // links created since the run started count too: checked right before the worker starts
    const { checkGrants } = await import("../sandbox/grants.ts");
    await checkGrants(ctx.run.permissions, ctx.run.baseDir, kubeconfigFlag(ctx.run.globalFlags));
    // and what the grants name is still what was trusted (a link re-pointed, a script edited: refused),
    // held so for the step's life: nothing kodama writes (a parallel cp from a pod) lands on it meanwhile
    const release = await ctx.run.holdPins();
    try {
      return await runLocal(s, ctx, runSandboxed);
    } finally {
      release();
    }
  },
};

async function runLocal(
  s: LocalSpec,
  ctx: Parameters<StepKind<LocalSpec>["run"]>[1],
  runSandboxed: typeof import("../sandbox/host.ts").runSandboxed,
): Promise<Awaited<ReturnType<StepKind<LocalSpec>["run"]>>> {
  const cwd = await ctx.run.confine(s.cwd ?? ".", "read", "local cwd");
  const out = teeSink(ctx.out);
  const err = teeSink(ctx.err);
  const r = await runSandboxed({
    mode: "local",
    tty: ctx.run.tty,
    permissions: denoPermissions(ctx.run.permissions, ctx.run.baseDir),
    start: {
      local: {
        command: s.command,
        cwd,
        env: localEnv(ctx.run.permissions.env, ctx.env),
        stdin: s.stdin,
      },
    },
    out,
    err,
    timeoutMs: ctx.timeoutMs,
    signal: ctx.signal,
  });
  if (!r.ok) {
    return {
      ok: false,
      exitCode: r.code,
      error: r.error,
      outputs: { stdout: out.text(), stderr: err.text() },
    };
  }
  const exitCode = Number(r.outputs.exitCode ?? 1);
  return {
    ok: exitCode === 0,
    exitCode: exitCode || 1,
    error: exitCode === 0 ? undefined : `exit code ${exitCode}`,
    outputs: { stdout: out.text(), stderr: err.text(), exitCode },
  };
}
