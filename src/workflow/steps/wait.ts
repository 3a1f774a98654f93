/** `wait`: wait until a target's pods are ready / deleted / exist / in a phase, within the step's timeout. */
import { z } from "zod";
import type { StepKind } from "../types.ts";
import { describeTarget } from "../../pods/target.ts";
import { targetFlags } from "./common.ts";

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
  plan(s, ctx) {
    const spec = ctx.run.targetSpec(s.target);
    return `wait for ${s.for}: ${s.target} (${describeTarget(targetFlags(spec))})`;
  },
  async run(s, ctx) {
    const kube = await ctx.run.kube();
    const { waitForPods } = await import("../../pods/wait.ts");
    const flags = { ...targetFlags(ctx.run.targetSpec(s.target)), includeNotReady: true };
    const pods = await waitForPods(kube, flags, {
      for: s.for as "ready",
      timeoutMs: ctx.timeoutMs ?? 5 * 60_000,
      signal: ctx.signal,
    });
    if (s.for !== "deleted") ctx.run.setTargetPods(s.target, pods);
    return { ok: true, outputs: { pods: pods.map((p) => p.metadata?.name) } };
  },
};
