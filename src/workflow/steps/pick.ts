/** `pick`: choose pods of a target interactively; later steps using the target get the chosen pods. */
import type { StepKind } from "../types.ts";
import { ExitCode, KodamaError } from "../../base/errors.ts";
import { describePods, podNames, targetFlags, wholeKube } from "./common.ts";

export interface PickSpec {
  target: string;
  multi?: boolean;
  query?: string;
}

export const pick: StepKind<PickSpec> = {
  name: "pick",
  summary: "choose pods of a target with the picker; sets the target's pods for later steps",
  spec: ({ z }) =>
    z.object({
      target: z.string().describe("a key of `targets`"),
      multi: z.boolean().optional().describe("allow choosing several pods"),
      query: z.string().optional().describe("initial filter text"),
    }).strict(),
  targets: (s) => [s.target],
  async plan(s, ctx) {
    const t = await ctx.run.target(s.target);
    return `pick ${s.multi ? "pods" : "a pod"} of ${describePods(t)}`;
  },
  async run(s, ctx) {
    const t = await ctx.run.target(s.target);
    let chosen = t.pods;
    if (t.pods.length > 1) {
      if (!ctx.run.interactive) {
        if (!ctx.run.yes) {
          throw new KodamaError(
            `choosing among ${t.pods.length} pods of target ${s.target} needs a terminal`,
            ExitCode.USAGE,
            "run it on a TTY, or pass --yes to take the first match",
          );
        }
        chosen = t.pods.slice(0, 1);
      } else {
        const { choosePods } = await import("../../pods/choose.ts");
        const kube = await wholeKube(ctx.run, "a pick step");
        const flags = targetFlags(ctx.run.targetSpec(s.target));
        chosen = await choosePods(kube, t.pods, flags, {
          pick: true,
          multi: s.multi,
          query: s.query,
          interactive: true,
        });
        if (chosen.length === 0) throw new KodamaError("nothing picked", ExitCode.INTERRUPTED);
      }
    }
    ctx.run.setTargetPods(s.target, chosen);
    const names = podNames(chosen);
    return { ok: true, outputs: { pods: names, pod: names[0] ?? "" } };
  },
};
