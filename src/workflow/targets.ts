/**
 * A run's targets: each named target of the workflow resolved once, when a step (or an `if:`) first
 * names it — its spec interpolated, `-n` applied, its pods listed (or the pods a `pick`/`wait` step
 * found), `select` applied (one, all, or pick) — and published as `targets.NAME` for expressions. The
 * engine (engine.ts) and the dry-run planner (plan.ts) share one `Targets` per run.
 */
import type { V1Pod } from "@kubernetes/client-node";
import { ExitCode, KodamaError } from "../base/errors.ts";
import { findPods, nothingMatched } from "../pods/target.ts";
import { type Node, parseTemplate, references } from "./expr.ts";
import type { Step, Target } from "./model.ts";
import type { LoadedWorkflow } from "./file.ts";
import { targetFlags, wholeKube } from "./steps/common.ts";
import { podView, type ResolvedTarget, type StepKind, type WorkflowCluster } from "./types.ts";
import type { Prefetch } from "./prefetch.ts";
import { quote } from "../base/text/escape.ts";

/** What resolving a target needs from its run. */
export interface TargetHost {
  readonly lw: LoadedWorkflow;
  readonly o: {
    namespace?: string;
    dryRun?: boolean;
    interactive?: boolean;
    yes?: boolean;
    prefetch?: Prefetch;
  };
  kube(): Promise<WorkflowCluster>;
  /** the target's spec with its expressions resolved (errors name file:line:col) */
  resolveSpec(spec: Target, name: string): Target;
  note(line: string): void;
}

export class Targets {
  /** `targets.*` in expressions */
  readonly view: Record<string, unknown> = {};
  /** how many pods matched a `select: one` target before the first was taken */
  readonly matched = new Map<string, number>();
  private resolved = new Map<string, Promise<ResolvedTarget>>();
  private picked = new Map<string, V1Pod[]>();
  /** pods a step found for a target (`wait`), used instead of a list; `select` still applies */
  private found = new Map<string, V1Pod[]>();

  constructor(private readonly host: TargetHost) {}

  /** The target as resolved for this run: expressions interpolated, `-n` applied (steps like wait/pick read it). */
  spec(name: string): Target {
    const spec = this.host.lw.workflow.targets?.[name];
    if (!spec) throw new KodamaError(`unknown target ${quote(name)}`, ExitCode.USAGE);
    const t = this.host.resolveSpec(spec, name);
    const ns = this.host.o.namespace;
    return ns === undefined ? t : { ...t, namespace: ns };
  }

  get(name: string): Promise<ResolvedTarget> {
    let p = this.resolved.get(name);
    if (!p) {
      p = this.resolve(name);
      this.resolved.set(name, p);
    }
    return p;
  }

  /** Resolve every target a step names: in its kind's target fields and in its `${{ targets.X }}`. */
  async forStep(step: Step, k: StepKind): Promise<void> {
    const names = new Set(k.resolveTargets === false ? [] : k.targets?.(step[k.name]) ?? []);
    for (const s of stringsIn(step, k.raw ?? [], k.name)) {
      if (!s.includes("${{")) continue;
      for (const p of parseTemplate(s)) if ("expr" in p) { for (const n of targetRefs(p.expr)) names.add(n); }
    }
    for (const n of names) if (this.host.lw.workflow.targets?.[n]) await this.get(n);
  }

  /** Resolve every target an expression names (`if:`). */
  async forExpr(node: Node): Promise<void> {
    for (const n of targetRefs(node)) if (this.host.lw.workflow.targets?.[n]) await this.get(n);
  }

  /** A `pick` step chose these pods for the target. */
  setPods(name: string, pods: V1Pod[]): void {
    this.picked.set(name, pods);
    const spec = this.host.lw.workflow.targets?.[name];
    const t = this.publish({
      name,
      namespace: pods[0]?.metadata?.namespace,
      container: spec?.container,
      pods,
    });
    this.resolved.set(name, this.learnSecrets(pods).then(() => t));
  }

  /** Forget the target (resolved again when next named), or resolve it from the pods a step found. */
  reset(name: string, found?: V1Pod[]): void {
    this.resolved.delete(name);
    this.picked.delete(name);
    this.matched.delete(name);
    delete this.view[name];
    if (found?.length) this.found.set(name, found);
    else this.found.delete(name);
  }

  private async resolve(name: string): Promise<ResolvedTarget> {
    const { o, lw } = this.host;
    const spec = this.spec(name);
    const flags = targetFlags(spec, o.namespace);
    const kube = await this.host.kube();
    if (!o.dryRun) import("./podsecrets.ts").catch(() => {}); // loaded while the pods are listed
    // the run's first list may have been asked for while the engine loaded (prefetch.ts)
    let pods = this.picked.get(name) ?? this.found.get(name) ??
      await o.prefetch?.take(lw, name, flags, kube) ?? await findPods(kube, flags);
    if (pods.length === 0) {
      throw nothingMatched(flags, kube.namespace, `target ${name} of workflow ${lw.name}`);
    }
    const select = spec.select ?? "one";
    if (!this.picked.has(name) && pods.length > 1 && select !== "all") {
      if (select === "one" || o.dryRun) {
        if (select === "one") {
          this.matched.set(name, pods.length);
          pods = pods.slice(0, 1);
        }
      } else if (o.interactive) {
        const { choosePods } = await import("../pods/choose.ts");
        pods = await choosePods(await wholeKube(this.host, "a target with select: pick"), pods, flags, {
          pick: true,
          interactive: true,
        });
      } else if (o.yes) pods = pods.slice(0, 1);
      else {
        throw new KodamaError(
          `target ${name}: ${pods.length} pods match and select: pick needs a terminal`,
          ExitCode.USAGE,
          "run it on a TTY, or pass --yes to take the first match by name",
        );
      }
    }
    await this.learnSecrets(pods);
    return this.publish({ name, namespace: pods[0].metadata?.namespace, container: spec.container, pods });
  }

  /** The values of the Secrets these pods use are redacted from here on (podsecrets.ts). */
  private async learnSecrets(pods: V1Pod[]): Promise<void> {
    if (this.host.o.dryRun) return; // a dry run prints nothing that comes from a pod
    const { learnPodSecrets } = await import("./podsecrets.ts");
    await learnPodSecrets(await this.host.kube(), pods, (line) => this.host.note(line));
  }

  private publish(t: ResolvedTarget): ResolvedTarget {
    const views = t.pods.map((p) => podView(p, t.container));
    this.view[t.name] = {
      namespace: t.namespace,
      container: t.container,
      pods: views,
      pod: views[0],
      names: views.map((v) => v.name),
    };
    return t;
  }
}

function targetRefs(node: Node): string[] {
  return references(node).filter((r) => r.root === "targets" && r.key).map((r) => r.key!);
}

function stringsIn(v: unknown, skip: string[], top?: string, out: string[] = []): string[] {
  if (typeof v === "string") out.push(v);
  else if (Array.isArray(v)) v.forEach((x) => stringsIn(x, skip, undefined, out));
  else if (v && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) {
      if (top === undefined && skip.includes(k)) continue;
      stringsIn(x, skip, k === top ? undefined : top, out);
    }
  }
  return out;
}
