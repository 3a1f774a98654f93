/** `wait`: wait until a target's pods are ready / deleted / exist / in a phase, within the step's timeout. */
import type { StepKind } from "../types.ts";
import { describeTarget } from "../../pods/target.ts";
import { targetFlags } from "./common.ts";
import { parseWaitFor, PHASES, waitForPods } from "../../pods/wait.ts";

export const DEFAULT_WAIT_TIMEOUT_MS = 5 * 60_000;

export interface WaitSpec {
  target: string;
  for: string;
}

export const wait: StepKind<WaitSpec> = {
  name: "wait",
  summary:
    "wait for a target's pods to be ready, deleted, exist, reach a phase, or meet a condition or jsonpath (step timeout, default 5m)",
  spec: ({ z }) =>
    z.object({
      target: z.string().describe("a key of `targets`"),
      for: z.string().regex(/^(ready|deleted|exists|phase=[A-Za-z]+|condition=.+|jsonpath=.+)$/, {
        error:
          "expected ready, deleted, exists, phase=NAME, condition=TYPE[=STATUS] or jsonpath={EXPR}[=VALUE]",
      }),
    }).strict(),
  targets: (s) => [s.target],
  // listed by the step itself (pods that are not Running or do not exist yet): not resolved beforehand
  resolveTargets: false,
  check(s) {
    const m = /^phase=(.*)$/.exec(s.for);
    if (m && !PHASES.some((p) => p.toLowerCase() === m[1].toLowerCase())) {
      return [{ message: `unknown pod phase "${m[1]}": use one of ${PHASES.join(", ")}`, path: ["for"] }];
    }
    try {
      parseWaitFor(s.for); // a jsonpath that does not parse, an empty condition
    } catch (e) {
      return [{ message: (e as Error).message, path: ["for"] }];
    }
    return [];
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
    // with a step timeout the engine's timer aborts ctx.signal with a timeout, and waitForPods turns that
    // into its pending-pods message; without one, the step's default limit is waitForPods' own
    const pods = await waitForPods(kube, flags, {
      for: cond,
      timeoutMs: ctx.timeoutMs ? -1 : DEFAULT_WAIT_TIMEOUT_MS,
      signal: ctx.signal,
      timeoutName: "the step's timeout",
    });
    const names = pods.map((p) => p.metadata?.name ?? "");
    // later steps see the pods waited for, through the target's own `select` (one: the first by name,
    // pick: the picker, all: every one); after `deleted` the target is listed afresh
    ctx.run.resetTarget(s.target, cond === "deleted" ? undefined : pods);
    return { ok: true, outputs: { pods: names, pod: names[0] ?? "" } };
  },
};
