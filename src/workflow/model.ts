/**
 * The workflow model as `kodama run` needs it: names, step kinds, paths and small helpers, with no
 * zod and no YAML. The engine, the file loader's cache-hit path and discovery import this module
 * instead of schema.ts/load.ts, so a run of a workflow checked before loads neither parser nor
 * schema library (~95 ms of CPU: bench/README.md). schema.ts holds the zod schemas these mirror.
 */
import { resolve } from "../base/fs/fspath.ts";
import { type DurationOptions, durationValueMs } from "../base/duration.ts";
import type { Permissions, Step } from "./schema.ts";
import { escapeControl } from "../base/text/escape.ts";

export type { Param, Permissions, Step, StepCommon, Target, Workflow } from "./schema.ts";

/** A path into a workflow: map keys and sequence indexes from the top. */
export type Path = (string | number)[];

/** Where a workflow file comes from (discovery.ts). */
export type Source = "repo" | "home" | "builtin" | "file";

/** Repo and file workflows are not trusted by where they come from (trust.ts); home and built-in ones are. */
export function untrustedSource(w: { source: Source }): boolean {
  return w.source === "repo" || w.source === "file";
}

export const NAME_RE = /^[a-z0-9][a-z0-9._-]*$/;
export const ID_RE = /^[A-Za-z_][A-Za-z0-9_-]*$/;

// the kinds' names come from their loaders (steps/kinds.ts imports nothing until a kind is loaded)
import { KIND_NAMES } from "./steps/kinds.ts";
export { KIND_NAMES };

/** Fields every step has, whatever its kind. */
export const COMMON_KEYS = ["id", "name", "if", "env", "timeout", "continue-on-error"] as const;

export function kindOf(step: Step): string | undefined {
  return Object.keys(step).find((k) => KIND_NAMES.includes(k));
}

/** A `Duration` value in milliseconds (a number is seconds); a bad string is a usage error naming `what`. */
export function durationMs(
  d: string | number | undefined,
  what = "duration",
  o: DurationOptions = {},
): number | undefined {
  if (d === undefined) return undefined;
  return durationValueMs(d, what, o);
}

export function hasPermissions(p: Permissions | undefined): boolean {
  return !!p && Object.values(p).some((v) => Array.isArray(v) && v.length > 0);
}

export function pathText(path: Path): string {
  let s = "";
  for (const seg of path) s += typeof seg === "number" ? `[${seg}]` : s ? `.${seg}` : seg;
  return s;
}

/** Steps in execution order with their paths (parallel groups flattened). */
export function flattenSteps(
  steps: Step[],
  path: Path = ["steps"],
): { step: Step; path: Path; kind: string }[] {
  const out: { step: Step; path: Path; kind: string }[] = [];
  steps.forEach((step, i) => {
    const kind = kindOf(step)!;
    out.push({ step, path: [...path, i], kind });
    if (kind === "parallel") {
      out.push(
        ...flattenSteps((step.parallel as { steps: Step[] }).steps, [...path, i, "parallel", "steps"]),
      );
    }
  });
  return out;
}

/** A field written as one `${{ expr }}`: its type is checked once its value is known, at run time. */
export function isPureExpression(s: string): boolean {
  return /^\s*\$\{\{[\s\S]*\}\}\s*$/.test(s) && s.indexOf("${{", s.indexOf("${{") + 3) < 0;
}

export function stemOf(file: string): string {
  return file.replace(/^.*[\\/]/, "").replace(/\.ya?ml$/, "");
}

/** The directory holding `.kodama/` for repo workflows, else the current directory. */
export function baseDirOf(file: string, source: Source): string {
  const m = /^(.*)[\\/]\.kodama[\\/]workflows[\\/][^\\/]+$/.exec(file);
  if (m && source === "repo") return m[1] || "/";
  // a file run by path, or a repo workflow from a `workflows.paths` directory: beside the file
  if (source === "file" || source === "repo") return file.replace(/[\\/][^\\/]*$/, "") || ".";
  return Deno.cwd();
}

/** The script path: relative to the workflow file's directory. */
export function scriptPath(workflowFile: string, module: string): string {
  return resolve(workflowFile.replace(/[\\/][^\\/]*$/, "") || ".", module);
}

export function permSummary(p: Record<string, string[] | undefined>): string {
  // the values come from the workflow file: one field each, a newline in one cannot start a forged line
  const parts = Object.entries(p).filter(([, v]) => v && v.length).map(([k, v]) =>
    `${k}: ${v!.map((x) => escapeControl(String(x))).join(", ")}`
  );
  return parts.length ? parts.join("; ") : "none";
}
