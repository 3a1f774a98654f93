/** `wait`: wait until a target's pods are ready / deleted / exist / in a phase, within the step's timeout. */
import { z } from "zod";
import type { StepKind } from "../types.ts";
import { describeTarget } from "../../pods/target.ts";
import { targetFlags } from "./common.ts";
import { ExitCode, KodamaError } from "../../errors.ts";
import { formatDuration } from "../../ui/duration.ts";
import { parseWaitFor, PHASES, waitForPods } from "../../pods/wait.ts";

export const DEFAULT_WAIT_TIMEOUT_MS = 5 * 60_000;

export interface WaitSpec {
  target: string;
  for: string;
}

export const wait: StepKind<WaitSpec> = {
  name: "wait",
  summary:
    "wait for a target's pods to be ready, deleted, exist, or reach a phase (step timeout, default 5m)",
  spec: () =>
    z.object({
      target: z.string().describe("a key of `targets`"),
      for: z.string().regex(/^(ready|deleted|exists|phase=[A-Za-z]+)$/, {
        error: "expected ready, deleted, exists or phase=NAME",
      }),
    }).strict(),
  targets: (s) => [s.target],
  // listed by the step itself (pods that are not Running or do not exist yet): not resolved beforehand
  resolveTargets: false,
  check(s) {
    const m = /^phase=(.*)$/.exec(s.for);
    return m && !PHASES.some((p) => p.toLowerCase() === m[1].toLowerCase())
      ? [{ message: `unknown pod phase "${m[1]}": use one of ${PHASES.join(", ")}`, path: ["for"] }]
      : [];
  },
  plan(s, ctx) {
    const spec = ctx.run.targetSpec(s.target);
    return `wait for ${s.for}: ${s.target} (${describeTarget(targetFlags(spec))})`;
  },
  async run(s, ctx) {
    const kube = await ctx.run.kube();
    const spec = ctx.run.targetSpec(s.target);
    const flags = { ...targetFlags(spec), includeNotReady: true };
    // parseWaitFor normalises the phase's case (phase=running -> Running; the API's phases are capitalised)
    const cond = parseWaitFor(s.for);
    const stepMs = ctx.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS;
    // end a moment before the engine's own step timer, so the failure names the pods still pending
    const margin = ctx.timeoutMs ? Math.min(250, Math.floor(ctx.timeoutMs / 10)) : 0;
    let pods;
    try {
      pods = await waitForPods(kube, flags, { for: cond, timeoutMs: stepMs - margin, signal: ctx.signal });
    } catch (e) {
      if (e instanceof KodamaError && e.code === ExitCode.TIMEOUT && margin) {
        throw new KodamaError(
          e.message.replace(/^timed out after [0-9.hms]+/, `timed out after ${formatDuration(stepMs)}`),
          e.code,
          cond === "exists"
            ? "check the target's namespace and filters, or raise the step's timeout"
            : "raise the step's timeout, or look at the pending pods with `kodama pods`",
        );
      }
      throw e;
    }
    const names = pods.map((p) => p.metadata?.name ?? "");
    // later steps see the pods waited for, through the target's own `select` (one: the first by name,
    // pick: the picker, all: every one); after `deleted` the target is listed afresh
    ctx.run.resetTarget(s.target, cond === "deleted" ? undefined : pods);
    return { ok: true, outputs: { pods: names, pod: names[0] ?? "" } };
  },
};
