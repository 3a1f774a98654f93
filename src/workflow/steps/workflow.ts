/** `workflow`: call another workflow by name with params; its steps' outputs become this step's outputs. */
import type { StepKind } from "../types.ts";

export interface WorkflowSpec {
  name: string;
  params?: Record<string, string | number | boolean>;
}

export const workflow: StepKind<WorkflowSpec> = {
  name: "workflow",
  summary: "run another workflow (found like `kodama run NAME`) with params",
  spec: ({ z }) =>
    z.object({
      name: z.string().describe("the workflow to call"),
      params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
    }).strict(),
  check(s) {
    // trust pins every workflow a run can reach, so the callee must be known before the run starts
    return s.name.includes("${{")
      ? [{
        message: "write the workflow name literally (trust covers every workflow a run can reach)",
        path: ["name"],
      }]
      : [];
  },
  plan(s) {
    const p = Object.entries(s.params ?? {}).map(([k, v]) => ` --param ${k}=${v}`).join("");
    return `run workflow ${s.name}${p}`;
  },
  async run(s, ctx) {
    return await ctx.run.callWorkflow(s.name, s.params ?? {}, ctx.signal);
  },
};
