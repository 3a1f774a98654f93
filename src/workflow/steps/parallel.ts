/** `parallel`: run a group of steps concurrently, at most `limit` at once; cleanups close when the group ends. */
import type { z } from "zod";
import type { Step } from "../model.ts";
import type { StepKind } from "../types.ts";

export interface ParallelSpec {
  limit?: number;
  steps: Step[];
}

export const parallel: StepKind<ParallelSpec> = {
  name: "parallel",
  summary: "run the nested steps concurrently (at most `limit` at once)",
  spec: ({ z, step }) =>
    z.object({
      limit: z.number().int().positive().optional().describe(
        "at most this many steps at once (default: all)",
      ),
      steps: z.array(step).min(1),
    }).strict() as unknown as z.ZodType<ParallelSpec>,
  raw: ["steps"],
  plan(s) {
    return `parallel group of ${s.steps.length} steps${s.limit ? `, ${s.limit} at a time` : ""}:`;
  },
  async run(s, ctx) {
    await ctx.run.runSteps(s.steps, { limit: s.limit, signal: ctx.signal });
    // aborted (the group's timeout, Ctrl-C): the engine reports why
    return ctx.signal.aborted ? { ok: false, error: "aborted", outputs: {} } : { ok: true, outputs: {} };
  },
};
