/**
 * The first list a run makes, asked for early: `kodama run kwekash` lists the drive pods while the
 * engine's modules load (run.ts), instead of after, and the engine's first resolve of that target
 * (targets.ts) takes the answer. Only when the list is certain to be that one and nothing before it can
 * ask or fail: a built-in or home workflow (trusted: a repo or file workflow sends no request before its
 * trust question), asking no permissions and calling no workflow (whose trust could be asked), no
 * script step (checked before the run), params complete without a prompt, and a first step with no
 * `if:` whose kind lists its literal `target:` first. A list that is not taken only costs the request.
 */
import type { V1Pod } from "@kubernetes/client-node";
import type { Kube } from "../kube/client.ts";
import type { TargetFlags } from "../pods/target.ts";
import type { LoadedWorkflow } from "./file.ts";
import type { WorkflowCluster } from "./types.ts";
import { flattenSteps, hasPermissions, kindOf } from "./model.ts";
import { targetFlags } from "./steps/common.ts";

/**
 * The step kinds whose first act is resolving (listing) the target named by their `target:` — their
 * `targets(spec)` is `[spec.target]` and they leave `resolveTargets` on (tests/unit/workflow checks it).
 */
export const LISTING_KINDS: readonly string[] = ["exec", "logs", "cp", "pick", "port-forward", "tmux"];

/** No `${{ }}` anywhere in it: what the engine resolves is the value as written. */
function literal(v: unknown): boolean {
  if (typeof v === "string") return !v.includes("${{");
  if (Array.isArray(v)) return v.every(literal);
  if (v && typeof v === "object") return Object.values(v).every(literal);
  return true;
}

/**
 * The target the run of `lw` lists first, and its flags as the engine will make them (`-n` applied),
 * when that is certain (see above). `paramsComplete`: the params resolve without a prompt or an error.
 */
export function firstList(
  lw: LoadedWorkflow,
  namespace: string | undefined,
  paramsComplete: boolean,
): { name: string; flags: TargetFlags } | undefined {
  const wf = lw.workflow;
  if (lw.source !== "builtin" && lw.source !== "home") return undefined;
  if (!paramsComplete || hasPermissions(wf.permissions)) return undefined;
  if (flattenSteps(wf.steps).some((f) => f.kind === "workflow" || f.kind === "script")) return undefined;
  const step = wf.steps[0];
  if (!step || step.if !== undefined) return undefined;
  const kind = kindOf(step);
  if (!kind || !LISTING_KINDS.includes(kind)) return undefined;
  const name = (step[kind] as { target?: unknown } | undefined)?.target;
  if (typeof name !== "string" || !literal(name)) return undefined;
  const spec = wf.targets?.[name];
  if (!spec || !literal(spec)) return undefined;
  return { name, flags: targetFlags(spec, namespace) };
}

/** One list sent early, taken once by the identical first resolve of the run it was made for. */
export class Prefetch {
  private pods?: Promise<V1Pod[]>;

  constructor(
    readonly lw: LoadedWorkflow,
    readonly name: string,
    readonly flags: TargetFlags,
    private readonly kube: Promise<Kube>,
    list: (kube: Kube, flags: TargetFlags) => Promise<V1Pod[]>,
  ) {
    this.pods = kube.then((k) => list(k, flags));
    this.pods.catch(() => {}); // its error, if any, is the taker's
  }

  /**
   * The pods, when this is the list asked for: the same workflow, target, flags and client, not taken
   * before (a workflow step's child run gets its own lists). Undefined otherwise.
   */
  async take(
    lw: LoadedWorkflow,
    name: string,
    flags: TargetFlags,
    kube: WorkflowCluster,
  ): Promise<V1Pod[] | undefined> {
    const pods = this.pods;
    if (!pods || lw !== this.lw || name !== this.name) return undefined;
    if (JSON.stringify(flags) !== JSON.stringify(this.flags)) return undefined;
    if ((await this.kube.catch(() => undefined)) !== kube) return undefined;
    if (this.pods !== pods) return undefined; // taken meanwhile
    this.pods = undefined;
    return await pods;
  }
}
