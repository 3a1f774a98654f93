/**
 * The step engine: a short loop over named steps. For each step: decide `if`, resolve the targets
 * and expressions it uses, run its kind with a timeout, record outputs and status. The first
 * failing step (without continue-on-error) sets the run's exit code; later steps run only if their
 * `if` asks for it (`always()`, `failure()`). Targets are resolved by targets.ts; `--dry-run` walks the
 * same steps and prints the plan (plan.ts).
 */
import { ExitCode, formatError, KodamaError } from "../base/errors.ts";
import { forEachLimited } from "../base/proc/limit.ts";
import { formatDuration } from "../base/duration.ts";
import { clearTimer } from "../base/proc/timer.ts";
import {
  boundedJson,
  evaluate,
  type ExprContext,
  ExprError,
  ExprLimitError,
  hasExpression,
  interpolate,
  parseCondition,
  toStr,
  truthy,
  usesStatusFunction,
} from "./expr.ts";
import {
  durationMs,
  flattenSteps,
  hasPermissions,
  kindOf,
  type Path,
  pathText,
  scriptPath,
  type Step,
  type Target,
  untrustedSource,
} from "./model.ts";
import { stepKind } from "./steps/kinds.ts";
import type { LoadedWorkflow } from "./file.ts";
import { pathKey } from "./positions.ts";
import { MAX_STEP_CHARS, sizeText } from "./limits.ts";
import type { ScriptModule } from "./sandbox/host.ts";
import type { Display } from "./display.ts";
import type { RunHandle, StepContext, StepKind, StepResult, WorkflowCluster } from "./types.ts";
import { MAX_CALL_DEPTH, type Prepared, prepareWorkflow, reachable } from "./prepare.ts";
import { Targets } from "./targets.ts";
import type { PlanHost } from "./plan.ts";
import type { Prefetch } from "./prefetch.ts";
import { addSecret, redactingSink } from "../base/redact.ts";
import { escapeControl, quote } from "../base/text/escape.ts";
import { interpolateCode } from "./shellquote.ts";
import { CODE_VARS, commandWords, type Lang } from "./codewords.ts";
import type { Sink } from "../base/sink.ts";
import { askParam, resolveParams } from "./params.ts";

export interface RunOptions {
  params?: Record<string, string | number | boolean>;
  dryRun?: boolean;
  trust?: boolean;
  /** --trust-hash: trust only the version whose content hash is this (as `workflow show -o json` gave it) */
  trustHash?: string;
  yes?: boolean;
  /** stdin and stderr are terminals: prompts and the picker may be used */
  interactive?: boolean;
  /** the cluster (`Kube`, or in the engine's tests the in-memory one), connected on first use */
  connect: () => Promise<WorkflowCluster>;
  /** -n: overrides the namespace of every target */
  namespace?: string;
  display: Display;
  signal?: AbortSignal;
  globalFlags?: string[];
  cwd?: string;
  /** asks yes/no on the terminal (trust) */
  confirm?: (message: string) => Promise<boolean>;
  /** internal: nesting depth of `workflow` steps */
  depth?: number;
  /** internal: a child workflow whose trust the calling run already covered */
  covered?: boolean;
  /** internal: a called workflow's check, from its caller's (prepareWorkflow): the run runs what it holds */
  prepared?: Prepared;
  /**
   * internal: the repository of an untrusted caller (a repo or file workflow up the call chain). A
   * home or built-in workflow it calls runs with the caller's trust: its local paths are confined
   * to this repository and the granted paths, like the caller's.
   */
  confineRoot?: string;
  /**
   * A door (src/config/doors.ts): the run was asked for by an MCP client or a web page, whose values are
   * not the person's. Every local path a step uses must also pass it, whatever the workflow's trust.
   */
  door?: { path(p: string, what: string, base?: string): Promise<string> };
  /** the run's first list, sent while the engine loaded (prefetch.ts; `kodama run`) */
  prefetch?: Prefetch;
  /** internal: the tools the top run resolved before its first step (a called workflow uses the same) */
  tools?: Map<string, Promise<string | undefined>>;
}

export interface StepRecord {
  outputs: Record<string, unknown>;
  outcome: "success" | "failure" | "skipped";
  conclusion: "success" | "failure" | "skipped";
  durationMs: number;
  error?: string;
}

export interface RunResult {
  exitCode: number;
  steps: Record<string, StepRecord>;
  /** `step "x": reason` of the first failure */
  failure?: string;
  /** what to do about it, when known */
  hint?: string;
}

/** display keys are unique across nested and parallel runs */
let displayKeys = 0;

export async function runWorkflow(lw: LoadedWorkflow, o: RunOptions): Promise<RunResult> {
  if ((o.depth ?? 0) > MAX_CALL_DEPTH) {
    throw new KodamaError(
      `workflow ${lw.name}: workflow steps nest more than ${MAX_CALL_DEPTH} deep`,
      ExitCode.USAGE,
    );
  }
  // every script graph and child workflow is checked (and, when it asks for permissions, trusted)
  // before the first step runs; a child reached from here was covered by its parent's check
  const prepared = o.prepared ?? await prepareWorkflow(lw, { cwd: o.cwd });
  const reached = reachable(prepared).map((p) => p.lw);
  // a workflow without permissions grants nothing to check (and needs no grants module)
  const asking = o.covered ? [] : reached.filter((w) => hasPermissions(w.workflow.permissions));
  if (asking.length) {
    // a grant of a never-grantable path (or through a link to one) stops the run before trust is asked
    const { checkGrants } = await import("./sandbox/grants.ts");
    const { kubeconfigFlag } = await import("./steps/common.ts");
    for (const w of asking) {
      await checkGrants(w.workflow.permissions, w.baseDir, kubeconfigFlag(o.globalFlags ?? []));
    }
  }
  // trust is about repo and file workflows (trust.ts): a run that reaches none, like a built-in or home
  // workflow calling only its kind, has nothing to ask or to say (and does not load the module)
  if (reached.some(untrustedSource)) {
    const { ensureTrusted, shadowed } = await import("./trust.ts");
    // `kodama run kwekash` in a repo that has its own kwekash.yaml: say which file runs
    const shadows = await shadowed(lw);
    if (shadows) {
      o.display.note(`${lw.name}: running ${lw.file} (${lw.source} workflow), which replaces ${shadows}`);
    }
    if (!o.dryRun && !o.covered) {
      await ensureTrusted(prepared, {
        trust: o.trust,
        trustHash: o.trustHash,
        interactive: !!o.interactive,
        confirm: o.confirm,
        note: o.display.note,
      });
    }
  }
  const params = await resolveParams(lw.workflow, o.params ?? {}, {
    interactive: !!o.interactive,
    ask: askParam,
  });
  const run = new Run(lw, prepared, params, o);
  if (!o.dryRun) return await run.execute();
  const { planRun } = await import("./plan.ts"); // only a dry run prints a plan
  await planRun(run);
  return { exitCode: 0, steps: run.steps };
}

class Run implements PlanHost {
  readonly steps: Record<string, StepRecord> = {};
  readonly targets: Targets;
  private kubeP?: Promise<WorkflowCluster>;
  private failed = false;
  private exitCode = 0;
  private failure?: string;
  private hint?: string;
  private auto = 0;
  readonly signal: AbortSignal;
  private readonly depth: number;
  /**
   * `env.*` in expressions: only the variables named in `permissions.env` (a permission: trusted
   * like the others). Their values are secrets for every line kodama prints (redact.ts).
   */
  private readonly declaredEnv: Record<string, string | undefined> = {};
  /** where each step is written (run-time expression errors name file:line:col) */
  private readonly paths = new Map<Step, Path>();

  constructor(
    readonly lw: LoadedWorkflow,
    /** what prepareWorkflow checked before the run: script graphs, child workflows, the repository root */
    private readonly prepared: Prepared,
    readonly params: Record<string, unknown>,
    readonly o: RunOptions,
  ) {
    this.signal = o.signal ?? new AbortController().signal;
    this.targets = new Targets({
      lw,
      o,
      kube: () => this.kube(),
      resolveSpec: (spec, name) => this.resolve(spec, this.exprContext(), ["targets", name]) as Target,
      note: (line) => this.note(line),
    });
    this.depth = o.depth ?? 0;
    for (const f of flattenSteps(lw.workflow.steps)) this.paths.set(f.step, f.path);
    for (const name of lw.workflow.permissions?.env ?? []) {
      const v = Deno.env.get(name);
      if (v === undefined) continue;
      this.declaredEnv[name] = v;
      addSecret(v);
    }
  }

  // ------------------------------------------------------------------ running

  async execute(): Promise<RunResult> {
    const cleanups: (() => Promise<void> | void)[] = [];
    // the programs built-in steps start are found now, with the PATH kodama started with, and run by
    // that path: no later step can put another `tmux` in front of them
    if (flattenSteps(this.lw.workflow.steps).some((f) => f.kind === "tmux")) await this.tool("tmux");
    try {
      for (const step of this.lw.workflow.steps) await this.runStep(step, this.handle(cleanups));
    } finally {
      await runCleanups(cleanups);
    }
    // Ctrl-C ends the run with 130 whatever the step it hit made of it (a fan-out counts its pods
    // "cancelled", a logs step ends quietly); always() steps have run by now
    if (this.interrupted) return { ...this.result(), exitCode: ExitCode.INTERRUPTED };
    return this.result();
  }

  private result(): RunResult {
    return { exitCode: this.exitCode, steps: this.steps, failure: this.failure, hint: this.hint };
  }

  /** The run was interrupted (Ctrl-C, a closed stdout): its signal aborted with exit 130. */
  private get interrupted(): boolean {
    const r = this.signal.reason;
    return this.signal.aborted && (!(r instanceof KodamaError) || r.code === ExitCode.INTERRUPTED);
  }

  /** `parent` aborts the step: the run's signal, or a parallel group's (its timeout). */
  private async runStep(step: Step, handle: RunHandle, parent: AbortSignal = this.signal): Promise<void> {
    const kind = kindOf(step)!;
    const id = this.stepId(step, kind);
    const key = `${id}#${++displayKeys}`;
    let label = this.labelOf(step, kind);
    const display = this.o.display;
    const started = Date.now();
    // a step that starts after Ctrl-C (an always() step) runs on its own terms
    const interruptedBefore = this.interrupted;

    let result: StepResult;
    let timeoutMs: number | undefined;
    let continueOnError = step["continue-on-error"] === true;
    let timedOut = false;
    let shown = false;
    try {
      if (!(await this.shouldRun(step))) {
        this.steps[id] = { outputs: {}, outcome: "skipped", conclusion: "skipped", durationMs: 0 };
        display.start(key, label, this.depth);
        display.end(key, "skipped", 0);
        return;
      }
      const k = await stepKind(kind);
      if (!this.o.dryRun) k.preload?.(this);
      await this.targets.forStep(step, k);
      label = this.labelOf(step, kind);
      const ctx = this.exprContext();
      const env = this.envFor(step, ctx);
      const expr = { ...ctx, env: { ...ctx.env, ...env } };
      const specPath = [...this.pathOf(step), kind];
      const given: { path: Path; value: unknown }[] = [];
      const spec = await this.checkSpec(
        k,
        this.resolve(
          step[kind],
          expr,
          specPath,
          k.raw,
          undefined,
          given,
          codeSlots(kind, step[kind], specPath),
        ),
        given,
      );
      // `timeout:` and `continue-on-error:` written as `${{ }}` are accepted by the loader and resolved here
      timeoutMs = durationMs(
        typeof step.timeout === "string"
          ? toStr(this.resolve(step.timeout, ctx, [...this.pathOf(step), "timeout"]))
          : step.timeout,
        "timeout",
        { timer: true },
      );
      const coe: unknown = step["continue-on-error"];
      if (typeof coe === "string") {
        continueOnError = truthy(this.resolve(coe, ctx, [...this.pathOf(step), "continue-on-error"]));
      }
      const ac = new AbortController();
      const onParent = () => ac.abort(parent.reason);
      parent.addEventListener("abort", onParent, { once: true });
      const timer = timeoutMs
        ? setTimeout(() => {
          timedOut = true;
          ac.abort(new KodamaError(`timed out after ${formatDuration(timeoutMs!)}`, ExitCode.TIMEOUT));
        }, timeoutMs)
        : undefined;
      display.start(key, label, this.depth);
      shown = true;
      // one redactor per step and stream: a secret split across two writes of this step is still
      // caught, and what is held back waiting for the rest of one is written when the step ends
      const out = redactingSink(display.out);
      const err = redactingSink(display.err);
      try {
        const sctx: StepContext = {
          step,
          id,
          label,
          env,
          signal: ac.signal,
          timeoutMs,
          out,
          err,
          run: handle,
          expr,
        };
        result = await raceAbort(k.run(spec, sctx), ac.signal, kind);
      } finally {
        out.flush();
        err.flush();
        clearTimer(timer);
        parent.removeEventListener("abort", onParent);
      }
    } catch (e) {
      if (!shown) display.start(key, label, this.depth);
      result = {
        ok: false,
        exitCode: e instanceof KodamaError ? e.code : ExitCode.FAILED,
        error: oneLine(e),
        hint: e instanceof KodamaError ? e.hint : undefined,
        outputs: {},
      };
    }
    if (!result.ok && timedOut && result.exitCode !== ExitCode.TIMEOUT) {
      // the step ended some other way when its timer fired; a step's own timeout error is more precise
      result = {
        ...result,
        exitCode: ExitCode.TIMEOUT,
        error: `timed out after ${formatDuration(timeoutMs!)}`,
      };
    }
    if (!interruptedBefore && this.interrupted) {
      // interrupted while it ran: not a success, whatever the kind reported, and not ignorable
      result = { ...result, ok: false, exitCode: ExitCode.INTERRUPTED, error: "interrupted" };
      continueOnError = false;
    } else if (!result.ok && this.signal.aborted && !interruptedBefore) {
      result = { ...result, exitCode: ExitCode.INTERRUPTED, error: "interrupted" };
    }
    this.record(id, key, result, continueOnError, Date.now() - started);
  }

  private record(id: string, key: string, r: StepResult, continueOnError: boolean, ms: number) {
    const ignored = !r.ok && continueOnError;
    if (r.error) r = { ...r, error: escapeControl(r.error) };
    this.steps[id] = {
      outputs: r.outputs,
      outcome: r.ok ? "success" : "failure",
      conclusion: r.ok || ignored ? "success" : "failure",
      durationMs: ms,
      error: r.error,
    };
    this.o.display.end(key, r.ok ? "ok" : ignored ? "ignored" : "failed", ms, r.error);
    if (!r.ok && !ignored && !this.failed) {
      this.failed = true;
      this.exitCode = r.exitCode || ExitCode.FAILED;
      this.failure = `step "${id}": ${r.error ?? "failed"}`;
      this.hint = r.hint;
    } else if (!r.ok && !ignored) this.failed = true;
  }

  /** `if:` — without success()/failure()/always() it means `success() && (expr)`. */
  private async shouldRun(step: Step): Promise<boolean> {
    if (step.if === undefined) return !this.failed;
    if (typeof step.if === "boolean") return step.if && !this.failed;
    const node = parseCondition(step.if);
    await this.targets.forExpr(node);
    let value: boolean;
    try {
      value = truthy(evaluate(node, this.exprContext()));
    } catch (e) {
      const cond = step.if;
      const lead = cond.trim().startsWith("${{") ? cond.indexOf("${{") + 3 : 0;
      throw this.exprFailure(e, [...this.pathOf(step), "if"], lead);
    }
    return usesStatusFunction(node) ? value : value && !this.failed;
  }

  /** the step's id, or one made up from its kind (`exec-2`) */
  stepId(step: Step, kind: string): string {
    return step.id ?? `${kind}-${++this.auto}`;
  }

  labelOf(step: Step, kind: string): string {
    // a label is kodama's own display line: no control sequences from params or outputs
    if (step.name) {
      try {
        return label(toStr(interpolate(step.name, this.exprContext())));
      } catch {
        return label(step.name);
      }
    }
    return label(step.id ?? `${kind} ${shortSpec(step[kind])}`.trim());
  }

  envFor(step: Step, ctx: ExprContext): Record<string, string> {
    const out: Record<string, string> = {};
    const budget = { left: MAX_STEP_CHARS };
    for (const [k, v] of Object.entries({ ...this.lw.workflow.env, ...step.env })) {
      const path = step.env && k in step.env ? [...this.pathOf(step), "env", k] : ["env", k];
      // a variable whose value a shell or a loader runs (PATH, LD_PRELOAD, BASH_ENV …) is never set from
      // an expression for a step that runs on this machine: the value would be code
      const code = kindOf(step) === "local" && CODE_VARS.test(k) ? () => "code" as const : undefined;
      out[k] = typeof v === "string"
        ? toStr(this.resolve(v, { ...ctx, env: { ...ctx.env, ...out } }, path, [], budget, undefined, code))
        : String(v);
    }
    return out;
  }

  pathOf(step: Step): Path {
    return this.paths.get(step) ?? ["steps"];
  }

  /**
   * `interpolateDeep` of the value written at `path`: an expression that fails (or asks for more
   * than kodama computes) is reported at its file:line:col.
   */
  resolve(
    v: unknown,
    ctx: ExprContext,
    path: Path,
    skipKeys: string[] = [],
    budget = { left: MAX_STEP_CHARS },
    given?: { path: Path; value: unknown }[],
    code?: (path: Path) => Lang | undefined,
  ): unknown {
    return interpolateDeep(v, ctx, skipKeys, false, {
      path,
      budget,
      code,
      fail: (e, at) => this.exprFailure(e, at),
      resolved: given && ((at, value) => given.push({ path: at, value })),
    });
  }

  /**
   * Fields written as `${{ }}` are type-checked here, once their values are known (`given`: what each
   * expression gave, where). Where each gave a string in a place the kind's schema takes any string
   * (the loader's `freeStrings`), the spec is as valid as the one the loader checked: no zod needed.
   */
  private async checkSpec(
    k: StepKind,
    spec: unknown,
    given: { path: Path; value: unknown }[],
  ): Promise<unknown> {
    const free = this.lw.freeStrings;
    if (free && given.every((g) => typeof g.value === "string" && free.has(pathKey(g.path)))) return spec;
    const { kindSchema } = await import("./speckit.ts");
    const r = kindSchema(k).safeParse(spec);
    if (r.success) return r.data;
    const i = r.error.issues[0];
    throw new KodamaError(
      `${k.name}.${i.path.join(".")}: ${i.message.replace(/^Invalid input: /, "")}`,
      ExitCode.USAGE,
    );
  }

  /** An expression error at run time, as `file:line:col: path: message` (a limit is exit 2). */
  private exprFailure(e: unknown, path: Path, lead = 0): unknown {
    if (!(e instanceof ExprError)) return e;
    const where = this.lw.exprPos?.(path, lead + e.column) ?? this.lw.pos?.(path);
    const message = `${where ? `${this.lw.file}:${where.line}:${where.col}: ` : ""}${
      pathText(path)
    }: ${e.message}`;
    return new KodamaError(message, e instanceof ExprLimitError ? ExitCode.USAGE : ExitCode.FAILED);
  }

  exprContext(): ExprContext {
    return {
      params: this.params,
      steps: this.o.dryRun ? placeholderSteps(this.steps) : this.steps,
      targets: this.targets.view,
      env: this.declaredEnv,
      workflow: { name: this.lw.name, file: this.lw.file, source: this.lw.source },
      status: { failed: this.failed },
    };
  }

  kube(): Promise<WorkflowCluster> {
    return this.kubeP ??= this.o.connect();
  }

  // ------------------------------------------------------------------ handle for step kinds

  handle(cleanups: (() => Promise<void> | void)[] = []): RunHandle {
    return {
      workflow: this.lw.workflow,
      file: this.lw.file,
      baseDir: this.lw.baseDir,
      tty: this.lw.workflow.tty === true,
      script: (module) => this.scriptModule(module),
      permissions: this.lw.workflow.permissions ?? {},
      dryRun: !!this.o.dryRun,
      interactive: !!this.o.interactive,
      yes: !!this.o.yes,
      globalFlags: this.o.globalFlags ?? [],
      kube: () => this.kube(),
      target: (n) => this.targets.get(n),
      setTargetPods: (n, p) => this.targets.setPods(n, p),
      resetTarget: (n, p) => this.targets.reset(n, p),
      targetSpec: (n) => this.targets.spec(n),
      runSteps: (steps, opt) => this.runGroup(steps, opt.signal, opt.limit),
      confine: (path, access, what) => this.confine(path, access, what),
      tool: (name) => this.tool(name),
      checkPins: async () => (await import("./sandbox/pins.ts")).checkPins(this.lw),
      holdPins: async () => (await import("./sandbox/pins.ts")).holdPins(this.lw),
      callWorkflow: (n, p, s) => this.callWorkflow(n, p, s),
      onCleanup: (fn) => cleanups.push(fn),
      note: (line) => this.note(line),
    };
  }

  /** tools the steps start, resolved on PATH before the first step (see execute) */
  private get tools(): Map<string, Promise<string | undefined>> {
    return this.o.tools ??= new Map();
  }

  tool(name: string): Promise<string | undefined> {
    let t = this.tools.get(name);
    if (!t) {
      t = import("./tools.ts").then((m) => m.resolveTool(name));
      this.tools.set(name, t);
    }
    return t;
  }

  /** Is this run confined to its repository (sandbox/confine.ts)? */
  private get untrusted(): boolean {
    return this.o.confineRoot !== undefined || this.lw.source === "repo" || this.lw.source === "file";
  }

  private async confine(path: string, access: "read" | "write", what: string): Promise<string> {
    const { confine } = await import("./sandbox/confine.ts");
    const { kubeconfigFlag } = await import("./steps/common.ts");
    const root = this.o.confineRoot ?? this.prepared.root ?? this.lw.baseDir;
    const abs = await confine(path, access, {
      confined: this.untrusted,
      root,
      permissions: this.lw.workflow.permissions ?? {},
      baseDir: this.lw.baseDir,
      kubeconfig: kubeconfigFlag(this.o.globalFlags ?? []),
    }, what);
    // through a door: the project or a path the person granted on the server's command line, too
    if (this.o.door) await this.o.door.path(abs, what);
    return abs;
  }

  /** parallel group: at most `limit` steps at once; its port-forwards close when the group ends */
  private async runGroup(steps: Step[], signal: AbortSignal, limit = steps.length): Promise<void> {
    const cleanups: (() => Promise<void> | void)[] = [];
    const handle = this.handle(cleanups);
    try {
      await forEachLimited(steps.length, limit, (i) => this.runStep(steps[i], handle, signal));
    } finally {
      await runCleanups(cleanups);
    }
  }

  private async callWorkflow(
    name: string,
    params: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<StepResult> {
    // the child resolved, loaded and checked before the run started: the very file trust covered
    const prep = this.prepared;
    const missing = prep.missing.get(name);
    if (missing) throw missing;
    const child = prep.children.get(name);
    if (!child) {
      throw new KodamaError(
        `workflow ${this.lw.name}: no checked child workflow ${quote(name)}`,
        ExitCode.USAGE,
      );
    }
    const r = await runWorkflow(child.lw, {
      ...this.o,
      prepared: child,
      params: params as Record<string, string>,
      connect: () => this.kube(),
      signal,
      depth: this.depth + 1,
      covered: true,
      tools: this.tools,
      confineRoot: this.untrusted ? this.o.confineRoot ?? prep.root ?? this.lw.baseDir : undefined,
    });
    const outputs = Object.fromEntries(Object.entries(r.steps).map(([k, v]) => [k, v.outputs]));
    return {
      ok: r.exitCode === 0,
      exitCode: r.exitCode,
      error: r.failure,
      outputs: { steps: outputs, exitCode: r.exitCode },
    };
  }

  note(line: string) {
    this.o.display.note(`${"  ".repeat(this.depth)}${line}`);
  }

  /** The checked graph of a script step, as a snapshot in kodama's cache (what the worker loads). */
  private async scriptModule(module: string): Promise<ScriptModule> {
    const path = scriptPath(this.lw.file, module);
    const g = this.prepared.graphs.get(path);
    if (!g) throw new KodamaError(`script ${module}: its module graph was not checked`, ExitCode.USAGE);
    const { snapshot } = await import("./sandbox/graph.ts");
    const s = await snapshot(g);
    return { entryUrl: s.entryUrl, dir: s.dir, root: g.root, usesNode: g.usesNode };
  }

  /** where --dry-run prints the plan */
  out(): Sink {
    return this.o.display.out;
  }
}

// ---------------------------------------------------------------------------------------------

const ABORT_GRACE_MS = 100;

async function runCleanups(fns: (() => Promise<void> | void)[]) {
  for (const fn of fns.reverse()) {
    try {
      await fn();
    } catch { /* closing is best effort */ }
  }
}

/**
 * A step kind that ignores its signal still ends when the step is aborted (timeout, Ctrl-C) — after a
 * short grace, so a kind that does listen can end with its own, more precise error (`wait` names the
 * pods still pending).
 */
function raceAbort<T>(p: Promise<T>, signal: AbortSignal, kind: string): Promise<T> {
  if (kind === "parallel" || kind === "workflow" || kind === "logs") return p; // these end on their own
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      const reason = signal.reason ?? new KodamaError("aborted", ExitCode.INTERRUPTED);
      setTimeout(() => reject(reason), ABORT_GRACE_MS);
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** A step's display label: one line, no control sequences, not longer than a line of a terminal or two. */
function label(s: string): string {
  const line = escapeControl(s);
  return line.length > 160 ? line.slice(0, 159) + "…" : line;
}

export function oneLine(e: unknown): string {
  return formatError(e).split("\n")[0];
}

export interface ResolveOptions {
  /** where `v` is written in the workflow */
  path: Path;
  /** characters all the values resolved together may still take (MAX_STEP_CHARS for one step) */
  budget: { left: number };
  /** turns an expression error at `path` into the error thrown */
  fail: (e: unknown, path: Path) => unknown;
  /** told what each string with `${{ }}` resolved to, and where */
  resolved?: (path: Path, value: unknown) => void;
  /** the strings at these paths are code run on this machine: their values are quoted or refused */
  code?: (path: Path) => Lang | undefined;
}

/**
 * The words of a `local` step that are code (codewords.ts), by their path under `specPath`: a code
 * string (`sh -c`, stdin read by a shell) in its language; a program or a file that runs, and a code
 * variable of its env, as "code" (an expression there is refused: it would choose what runs).
 */
export function codeSlots(
  kind: string,
  spec: unknown,
  specPath: Path,
): ((p: Path) => Lang | undefined) | undefined {
  if (kind !== "local" || !spec || typeof spec !== "object") return undefined;
  const { command, stdin } = spec as { command?: unknown; stdin?: unknown };
  if (!Array.isArray(command)) return undefined;
  const argv = command.map((w) => (typeof w === "string" ? w : ""));
  const words = commandWords(argv);
  const slots = new Map<string, Lang>();
  for (const i of words.files) slots.set(`command\0${i}`, "code");
  for (const c of words.code) slots.set(`command\0${c.index}`, c.lang);
  if (typeof stdin === "string" && words.stdin) slots.set("stdin", words.stdin);
  return (p) => slots.get(p.slice(specPath.length).join("\0"));
}

/**
 * Resolve every `${{ }}` inside a spec. Inside lists (e.g. `command:`) each element stays exactly
 * one string — a value is never split into several arguments. With `o`, errors name where the
 * expression is written, and everything resolved counts against one budget: a step whose values
 * together would be over MAX_STEP_CHARS (a big value used a thousand times) is refused.
 */
export function interpolateDeep(
  v: unknown,
  ctx: ExprContext,
  skipKeys: string[],
  inList = false,
  o?: ResolveOptions,
): unknown {
  const at = (k: string | number) => (o ? { ...o, path: [...o.path, k] } : undefined);
  if (typeof v === "string") {
    try {
      const lang = o?.code?.(o.path);
      const r = lang && hasExpression(v) ? interpolateCode(v, lang, ctx) : interpolate(v, ctx);
      const out = inList ? toStr(r) : r;
      if (o && v.includes("${{")) {
        o.resolved?.(o.path, out);
        o.budget.left -= typeof out === "string" ? out.length : boundedJson(out).length;
        if (o.budget.left < 0) {
          throw new ExprLimitError(
            `the step's resolved values would be over ${sizeText(MAX_STEP_CHARS)} together`,
            v.indexOf("${{") + 3,
          );
        }
      }
      return out;
    } catch (e) {
      if (o) throw o.fail(e, o.path);
      throw e;
    }
  }
  if (Array.isArray(v)) return v.map((x, i) => interpolateDeep(x, ctx, [], true, at(i)));
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      out[k] = skipKeys.includes(k) ? x : interpolateDeep(x, ctx, [], false, at(k));
    }
    return out;
  }
  return v;
}

function shortSpec(spec: unknown): string {
  if (spec && typeof spec === "object") {
    const s = spec as Record<string, unknown>;
    if (Array.isArray(s.command)) {
      return (s.command as string[]).map((a) => (a.includes("${{") ? "…" : a)).join(" ").slice(0, 50);
    }
    if (typeof s.module === "string") return s.module;
    if (typeof s.target === "string") return s.target;
    if (typeof s.name === "string") return s.name;
  }
  return "";
}

/** In a dry run later steps have not run: their outputs read as `<steps.id.outputs.key>`. */
function placeholderSteps(real: Record<string, StepRecord>): Record<string, unknown> {
  const ph = (path: string): unknown =>
    new Proxy({}, {
      get: (_t, k) => typeof k === "string" ? (k === "toJSON" ? undefined : `<${path}.${k}>`) : undefined,
      has: () => true,
      getOwnPropertyDescriptor: (_t, k) => ({
        value: `<${path}.${String(k)}>`,
        configurable: true,
        enumerable: true,
      }),
    });
  return new Proxy(real, {
    get: (_t, id) =>
      typeof id === "string"
        ? { outputs: ph(`steps.${id}.outputs`), outcome: "success", conclusion: "success" }
        : undefined,
    has: () => true,
    getOwnPropertyDescriptor: (_t, id) => ({
      value: { outputs: ph(`steps.${String(id)}.outputs`), outcome: "success", conclusion: "success" },
      configurable: true,
      enumerable: true,
    }),
  });
}
