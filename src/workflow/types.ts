/** Types shared by the engine and the step kinds (no runtime code, no heavy imports). */
import type { z } from "zod";
import type { V1Pod } from "@kubernetes/client-node";
import type { KubeIdentity, KubeReachEvents, KubeStreams, KubeTargets } from "../kube/seam.ts";
import type { Sink } from "../base/sink.ts";
import type { ExprContext } from "./expr.ts";
import type { Permissions, Step, Target, Workflow } from "./schema.ts";
import type { Pod } from "./sdk.ts";
import type { ScriptModule } from "./sandbox/host.ts";

export type { Sink };

/**
 * The cluster a run works on, as the seam (src/kube/seam.ts) narrows it: targets listed and watched, a
 * command in a pod, a container's log, the server's reachability, and the cluster's name. `Kube` is one; so
 * is the in-memory cluster the engine's tests run on. Steps the seam does not cover yet (port-forward, pick,
 * tmux, session) take the whole client through `wholeKube` (steps/common.ts).
 */
export type WorkflowCluster = KubeTargets & KubeStreams & KubeReachEvents & KubeIdentity;

/** What a step returns; `outputs` become `steps.<id>.outputs`. */
export interface StepResult {
  ok: boolean;
  /** exit code to use for the run when this step fails (default 1) */
  exitCode?: number;
  outputs: Record<string, unknown>;
  /** one-line reason shown next to the step when it failed */
  error?: string;
  /** what to do about it (shown once, after the run) */
  hint?: string;
}

/** A resolved target: the pods it matched (or a `pick` step chose) and its container. */
export interface ResolvedTarget {
  name: string;
  namespace?: string;
  container?: string;
  pods: V1Pod[];
}

/**
 * The pod shape expressions and scripts see (`targets.drive.pods[0].name`): the script SDK's `Pod`,
 * so the engine cannot drift from what scripts are promised (sdk.ts stays import-free for scripts).
 */
export type PodView = Pod;

export interface StepContext {
  /** the step as written, for id/name/common fields */
  step: Step;
  id: string;
  label: string;
  env: Record<string, string>;
  signal: AbortSignal;
  timeoutMs?: number;
  /** stdout passthrough (data) and stderr (progress) */
  out: Sink;
  err: Sink;
  run: RunHandle;
  expr: ExprContext;
}

/** What the engine offers to step kinds. */
export interface RunHandle {
  workflow: Workflow;
  file: string;
  /** directory relative paths in the workflow are resolved against */
  baseDir: string;
  /** the workflow lets scripts and local commands write terminal control sequences (`tty: true`) */
  tty: boolean;
  /** the checked module graph of a script step, snapshotted: what its worker loads */
  script(module: string): Promise<ScriptModule>;
  permissions: Permissions;
  dryRun: boolean;
  interactive: boolean;
  yes: boolean;
  kube(): Promise<WorkflowCluster>;
  target(name: string): Promise<ResolvedTarget>;
  /** the target's pods, final (a `pick` step chose them) */
  setTargetPods(name: string, pods: V1Pod[]): void;
  /**
   * A step found the target's pods (`wait`): what was resolved is forgotten and the target's `select`
   * applies to `found` when it is next used; without `found` the target is listed again then.
   */
  resetTarget(name: string, found?: V1Pod[]): void;
  targetSpec(name: string): Target;
  /** run nested steps (parallel groups) with the engine's own logic */
  runSteps(steps: Step[], o: { limit?: number; signal: AbortSignal }): Promise<void>;
  /**
   * A local path a step uses, as an absolute path, if this workflow may use it for `access`
   * (sandbox/confine.ts); else throws naming `what` and the path.
   */
  confine(path: string, access: "read" | "write", what: string): Promise<string>;
  /** the grants and repo files the run was trusted with are unchanged (sandbox/pins.ts), else throws */
  checkPins(): Promise<void>;
  /** checkPins, and the pinned repo files held against kodama's writes until the returned release */
  holdPins(): Promise<() => void>;
  /** a local tool's absolute path, found on PATH when the run started (tools.ts) */
  tool(name: string): Promise<string | undefined>;
  /** call another workflow by name */
  callWorkflow(name: string, params: Record<string, unknown>, signal: AbortSignal): Promise<StepResult>;
  /** cleanups (port-forwards) are run when the enclosing scope ends */
  onCleanup(fn: () => Promise<void> | void): void;
  /** a line on stderr that does not fight the live display */
  note(line: string): void;
  /** global flags to hand to re-invoked kodama processes (tmux panes) */
  globalFlags: string[];
}

/** What a step kind builds its spec schema from (schema.ts `specKit`). */
export interface SpecKit {
  z: typeof z;
  /** the (recursive) Step schema, for kinds that hold steps */
  step: z.ZodType;
  /** a duration: "30s", "5m", or a number of seconds */
  Duration: z.ZodType<string | number>;
}

// deno-lint-ignore no-explicit-any
export interface StepKind<S = any> {
  name: string;
  summary: string;
  /**
   * zod schema of the value under the kind key, built from the kit: the kinds do not import zod
   * themselves, so a run of a workflow checked before loads none of it (model.ts)
   */
  spec(kit: SpecKit): z.ZodType<S>;
  /** keys of the spec the engine must not interpolate before run (nested steps) */
  raw?: string[];
  /** target names this spec refers to (validated to exist) */
  targets?(spec: S): string[];
  /**
   * false: the engine does not resolve (list) those targets before the step runs — the step reads
   * them itself (`wait`: its pods may not exist or run yet). Default true.
   */
  resolveTargets?: boolean;
  /** static checks beyond the schema; return messages with an optional key path inside the spec */
  check?(spec: S, wf: Workflow): { message: string; path?: (string | number)[] }[];
  /**
   * start loading what `run` will import, and preparing what it will need (called while the engine reads
   * the step's targets: the main thread waits for the cluster there anyway); `run` still imports it itself
   */
  preload?(run: Pick<RunHandle, "kube">): void;
  /** one line for --dry-run */
  plan(spec: S, ctx: StepContext): Promise<string> | string;
  run(spec: S, ctx: StepContext): Promise<StepResult>;
}

export function podView(p: V1Pod, container?: string): PodView {
  return {
    name: p.metadata?.name ?? "",
    namespace: p.metadata?.namespace ?? "",
    container: container ?? p.spec?.containers?.[0]?.name,
    phase: p.status?.phase,
    ip: p.status?.podIP,
    node: p.spec?.nodeName,
    labels: { ...(p.metadata?.labels ?? {}) },
  };
}
