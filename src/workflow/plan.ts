/**
 * `kodama run --dry-run`: the plan of a run, printed instead of running it — every step with its
 * expressions resolved as far as they can be before anything runs, the pods each target matches, the
 * permissions, and each `if:` decided where it does not depend on earlier steps. It walks the same
 * steps, targets and expression context as the engine (engine.ts), through `PlanHost`.
 */
import {
  evaluate,
  type ExprContext,
  parseCondition,
  references,
  truthy,
  usesStatusFunction,
} from "./expr.ts";
import { kindOf, type Path, permSummary, type Step } from "./model.ts";
import { stepKind } from "./steps/kinds.ts";
import type { LoadedWorkflow } from "./file.ts";
import { describePods, targetFlags } from "./steps/common.ts";
import type { RunHandle, StepContext } from "./types.ts";
import type { Targets } from "./targets.ts";
import { oneLine, type StepRecord } from "./engine.ts";
import { describeTarget } from "../pods/target.ts";
import { escapeControl } from "../base/text/escape.ts";
import type { Sink } from "../base/sink.ts";

/** What the planner reads from its run (engine.ts's Run). */
export interface PlanHost {
  readonly lw: LoadedWorkflow;
  readonly params: Record<string, unknown>;
  readonly targets: Targets;
  readonly o: { namespace?: string };
  readonly steps: Record<string, StepRecord>;
  readonly signal: AbortSignal;
  out(): Sink;
  exprContext(): ExprContext;
  stepId(step: Step, kind: string): string;
  labelOf(step: Step, kind: string): string;
  pathOf(step: Step): Path;
  envFor(step: Step, ctx: ExprContext): Record<string, string>;
  resolve(v: unknown, ctx: ExprContext, path: Path, skipKeys?: string[]): unknown;
  handle(): RunHandle;
}

/** Print the plan; the run's step records are filled in as if every step succeeded. */
export async function planRun(h: PlanHost): Promise<void> {
  const out = planOut(h);
  const wf = h.lw.workflow;
  out.write(
    `workflow ${escapeControl(h.lw.name)} (${h.lw.source}: ${
      escapeControl(h.lw.file)
    }) — dry run, nothing is executed\n`,
  );
  if (Object.keys(h.params).length) {
    out.write(
      `params:\n${
        Object.entries(h.params).map(([k, v]) =>
          `  ${escapeControl(k)} = ${escapeControl(JSON.stringify(v))}\n`
        ).join("")
      }`,
    );
  }
  if (wf.targets && Object.keys(wf.targets).length) {
    out.write("targets:\n");
    for (const name of Object.keys(wf.targets)) {
      const spec = h.targets.spec(name);
      const how = `${describeTarget(targetFlags(spec, h.o.namespace))}; select: ${spec.select ?? "one"}`;
      try {
        const t = await h.targets.get(name);
        const n = h.targets.matched.get(name);
        out.write(`  ${describePods(t)}${n ? ` (first by name of ${n} matches)` : ""}   (${how})\n`);
      } catch (e) {
        out.write(`  ${name} → ${oneLine(e)}   (${how})\n`);
      }
    }
  }
  out.write(`permissions: ${permSummary(wf.permissions ?? {})}\n`);
  out.write("steps:\n");
  await planSteps(h, wf.steps, 1);
}

/** --dry-run's lines: resolved values are shown without terminal control sequences */
function planOut(h: PlanHost): Sink {
  const out = h.out();
  return {
    write: (s) =>
      out.write(escapeControl(typeof s === "string" ? s : new TextDecoder().decode(s), { newlines: true })),
  };
}

async function planSteps(h: PlanHost, steps: Step[], indent: number): Promise<void> {
  const out = planOut(h);
  const pad = "  ".repeat(indent);
  for (const [i, step] of steps.entries()) {
    const kind = kindOf(step)!;
    const id = h.stepId(step, kind);
    let line: string;
    try {
      const ctx = h.exprContext();
      const k = await stepKind(kind);
      const spec = h.resolve(step[kind], ctx, [...h.pathOf(step), kind], k.raw);
      const sctx = {
        step,
        id,
        label: id,
        env: {},
        signal: h.signal,
        out,
        err: out,
        run: h.handle(),
        expr: ctx,
      };
      line = await k.plan(spec, sctx as StepContext);
    } catch (e) {
      line = `(cannot resolve yet: ${oneLine(e)})`;
    }
    // each field from the workflow is one line: a newline in a command or a name cannot forge a step
    out.write(`${pad}${i + 1}. ${escapeControl(h.labelOf(step, kind))}: ${escapeControl(line)}\n`);
    if (step.if !== undefined) {
      out.write(
        `${pad}   if: ${escapeControl(String(step.if))}${escapeControl(conditionPreview(h, step.if))}\n`,
      );
    }
    if (step.timeout !== undefined) out.write(`${pad}   timeout: ${escapeControl(String(step.timeout))}\n`);
    if (step["continue-on-error"]) out.write(`${pad}   continue-on-error: true\n`);
    const env = { ...step.env };
    if (Object.keys(env).length) {
      out.write(
        `${pad}   env: ${
          Object.entries(h.envFor({ env } as Step, h.exprContext())).map(([k, v]) =>
            escapeControl(`${k}=${v}`)
          )
            .join(" ")
        }\n`,
      );
    }
    h.steps[id] = { outputs: {}, outcome: "success", conclusion: "success", durationMs: 0 };
    if (kind === "parallel") await planSteps(h, (step.parallel as { steps: Step[] }).steps, indent + 2);
  }
}

function conditionPreview(h: PlanHost, cond: string | boolean): string {
  if (typeof cond === "boolean") return "";
  try {
    const node = parseCondition(cond);
    if (references(node).some((r) => r.root === "steps") || usesStatusFunction(node)) {
      return "   (decided at run time)";
    }
    return `   → ${truthy(evaluate(node, h.exprContext()))}`;
  } catch (e) {
    return `   (${oneLine(e)})`;
  }
}
