/** `logs`: print recent logs of a target's pods (tail/since), or follow them until the step's timeout. */
import type { StepKind } from "../types.ts";
import { durationMs } from "../model.ts";
import { describePods, teeSink } from "./common.ts";
import { ExitCode, KodamaError } from "../../base/errors.ts";
import { compileLineFilter, patternError } from "../../pods/log_filter.ts";

export interface LogsSpec {
  target: string;
  container?: string;
  tail?: number;
  since?: string | number;
  follow?: boolean;
  timestamps?: boolean;
  prefix?: boolean;
  include?: string[];
  exclude?: string[];
}

export const logs: StepKind<LogsSpec> = {
  name: "logs",
  summary: "print logs of a target's pods: bounded by tail/since, or follow with the step's timeout",
  spec: ({ z, Duration }) =>
    z.object({
      target: z.string().describe("a key of `targets`"),
      container: z.string().optional(),
      tail: z.number().int().nonnegative().optional().describe("last N lines per pod"),
      since: Duration.optional().describe("only lines newer than this"),
      follow: z.boolean().optional().describe(
        "keep streaming until the step's timeout (required with follow)",
      ),
      timestamps: z.boolean().optional(),
      prefix: z.boolean().optional().describe("prefix lines with the pod name (default: when several pods)"),
      include: z.array(z.string()).optional().describe(
        "regular expressions: show only lines matching at least one (like `kodama logs --include`)",
      ),
      exclude: z.array(z.string()).optional().describe(
        "regular expressions: drop lines matching any; wins over include (like `kodama logs --exclude`)",
      ),
    }).strict(),
  targets: (s) => [s.target],
  check(s) {
    const problems: { message: string; path?: (string | number)[] }[] = [];
    // follow without a step timeout is reported by the loader (it sees the step's common keys)
    if (s.tail === undefined && s.since === undefined && !s.follow) {
      problems.push({ message: "logs needs `tail`, `since` or `follow` (with a step timeout) so it ends" });
    }
    for (const key of ["include", "exclude"] as const) {
      (s[key] ?? []).forEach((re, i) => {
        // one with an expression is compiled after interpolation, when the step runs
        const err = re.includes("${{") ? undefined : patternError(re);
        if (err !== undefined) {
          problems.push({
            message: `${key}[${i}] ${JSON.stringify(re)} is not a valid regular expression: ${err}`,
            path: [key, i],
          });
        }
      });
    }
    return problems;
  },
  async plan(s, ctx) {
    const t = await ctx.run.target(s.target);
    const how = [
      s.tail !== undefined && `tail ${s.tail}`,
      s.since && `since ${s.since}`,
      s.follow && "follow",
      s.include?.length && `include ${s.include.map((r) => JSON.stringify(r)).join(" ")}`,
      s.exclude?.length && `exclude ${s.exclude.map((r) => JSON.stringify(r)).join(" ")}`,
    ].filter(
      Boolean,
    ).join(", ");
    return `logs (${how}) of ${describePods(t)}`;
  },
  async run(s, ctx) {
    if (s.follow && !ctx.timeoutMs) {
      throw new KodamaError(
        "logs: `follow` needs a step timeout (it streams until then)",
        ExitCode.USAGE,
        "add `timeout: 30s` (or similar) to the step",
      );
    }
    const t = await ctx.run.target(s.target);
    const kube = await ctx.run.kube();
    const { streamLogs } = await import("../../pods/logs.ts");
    const filter = compileLineFilter(s.include, s.exclude, { include: "include", exclude: "exclude" });
    const out = teeSink(ctx.out);
    try {
      await streamLogs(kube, t.pods, {
        container: s.container ?? t.container,
        tail: s.tail,
        sinceSeconds: s.since === undefined ? undefined : Math.ceil(durationMs(s.since)! / 1000),
        follow: s.follow,
        timestamps: s.timestamps,
        prefix: s.prefix ?? t.pods.length > 1,
        filter,
        out,
        err: ctx.err,
        signal: ctx.signal,
      });
    } catch (e) {
      if (!ctx.signal.aborted) throw e;
    }
    // streamLogs returns quietly when its signal aborts: only a `follow` ended by the step's own timeout
    // is the expected end; a `tail`/`since` cut short by the timeout, or Ctrl-C, is a failure (exit 5 / 130)
    const why: unknown = ctx.signal.reason;
    const timedOut = why instanceof KodamaError && why.code === ExitCode.TIMEOUT;
    if (ctx.signal.aborted && !(s.follow && timedOut)) {
      return {
        ok: false,
        exitCode: why instanceof KodamaError ? why.code : ExitCode.INTERRUPTED,
        error: why instanceof Error ? why.message : "interrupted",
        outputs: { stdout: out.text() },
      };
    }
    return { ok: true, outputs: { stdout: out.text() } };
  },
};
