/** `exec`: run a command in the pod(s) of a target; one argv element per list item, never re-split. */
import type { StepKind } from "../types.ts";
import { argvText, describePods, wholeKube } from "./common.ts";

export interface ExecSpec {
  target: string;
  command: string[];
  container?: string;
  parallel?: number;
  stdin?: string;
  prefix?: boolean;
  "fail-fast"?: boolean;
}

export const exec: StepKind<ExecSpec> = {
  name: "exec",
  summary: "run a command in the pods of a target (all of them with select: all)",
  spec: ({ z }) =>
    z.object({
      target: z.string().describe("a key of `targets`"),
      command: z.array(z.string()).min(1).describe(
        "argv; each item is one argument (use [sh, -c, '...'] for a shell)",
      ),
      container: z.string().optional().describe("overrides the target's container"),
      parallel: z.number().int().positive().optional().describe(
        "at most this many pods at once (default 16)",
      ),
      stdin: z.string().optional().describe("text sent to the command's stdin"),
      prefix: z.boolean().optional().describe(
        "prefix each line with the pod name (default: when several pods)",
      ),
      "fail-fast": z.boolean().optional().describe("stop starting pods after the first failure"),
    }).strict(),
  targets: (s) => [s.target],
  preload: (run) => {
    import("../../pods/fanout.ts").catch(() => {});
    // the exec connection, warmed (the in-memory cluster has none: wholeKube refuses it, nothing is warmed)
    Promise.all([import("../../kube/exec.ts"), wholeKube(run, "warming exec streams")])
      .then(([m, kube]) => m.prepareStreams(kube)).catch(() => {});
  },
  async plan(s, ctx) {
    const t = await ctx.run.target(s.target);
    return `exec ${argvText(s.command)} in ${describePods(t)}${
      s.parallel ? ` (${s.parallel} at a time)` : ""
    }`;
  },
  async run(s, ctx) {
    const t = await ctx.run.target(s.target);
    const kube = await ctx.run.kube();
    const { fanout } = await import("../../pods/fanout.ts");
    const stepEnv = Object.entries(ctx.step.env ?? {});
    // step-level env reaches the remote command through env(1), as `kubectl exec` has no env option
    const command = stepEnv.length
      ? ["env", ...stepEnv.map(([k]) => `${k}=${ctx.env[k] ?? ""}`), ...s.command]
      : s.command;
    const r = await fanout(kube, t.pods, {
      command,
      container: s.container ?? t.container,
      maxParallel: s.parallel ?? 16,
      timeoutMs: ctx.timeoutMs,
      failFast: s["fail-fast"],
      stdin: s.stdin === undefined ? undefined : new TextEncoder().encode(s.stdin),
      prefix: s.prefix ?? t.pods.length > 1,
      out: ctx.out,
      err: ctx.err,
      signal: ctx.signal,
      capture: true,
      summary: t.pods.length > 1,
    });
    const pods: Record<
      string,
      { stdout: string; stderr: string; exitCode: number | null; error?: string; namespace: string }
    > = {};
    for (const p of r.results) {
      pods[p.pod] = {
        stdout: p.stdout ?? "",
        stderr: p.stderr ?? "",
        exitCode: p.exitCode,
        error: p.error,
        namespace: p.namespace,
      };
    }
    const firstBad = r.results.find((p) => p.exitCode !== 0);
    const single = r.results.length === 1 ? r.results[0] : undefined;
    const exitCode = firstBad ? (firstBad.exitCode ?? 1) : 0;
    return {
      ok: r.failed === 0,
      // one pod: its own exit code (like kubectl exec); several pods: 1 when any failed
      exitCode: single ? (exitCode || 1) : 1,
      error: firstBad
        ? (single
          ? (firstBad.error ?? `exit code ${firstBad.exitCode}`)
          : `${r.failed} of ${r.results.length} pods failed`)
        : undefined,
      outputs: {
        stdout: single ? (single.stdout ?? "") : r.results.map((p) => p.stdout ?? "").join(""),
        stderr: single ? (single.stderr ?? "") : r.results.map((p) => p.stderr ?? "").join(""),
        exitCode,
        ok: r.ok,
        failed: r.failed,
        pods,
      },
    };
  },
};
