/**
 * How much a workflow file may make kodama load, expand and compute. A workflow can come from a
 * repository someone else controls, so every one of these is refused with a clear message and the
 * file:line:col it applies to — before the work it would cost is done (docs/workflows.md#limits).
 */

/** A workflow file's size in bytes (checked before it is parsed). */
export const MAX_FILE_BYTES = 1 << 20;
/** Steps in one file, counting the steps nested in `parallel` groups. */
export const MAX_STEPS = 1000;
/** Flow collections (`[`, `{`) nested in a workflow file (checked before the YAML is parsed). */
export const MAX_YAML_DEPTH = 64;
/** YAML aliases (`*name`) in one file. */
export const MAX_ALIASES = 100;
/** Nodes that aliases add to the document when expanded (an alias bomb doubles them per level). */
export const MAX_ALIAS_NODES = 10_000;
/** Nesting of one `${{ }}` expression: parentheses, calls, operators, property accesses. */
export const MAX_EXPR_DEPTH = 64;
/** Characters of one expression's value, and of one resolved string (a template). */
export const MAX_RESULT_CHARS = 1 << 20;
/** Characters of everything one step's fields (or its env) resolve to, together. */
export const MAX_STEP_CHARS = 8 << 20;
/** Workflow calls nest at most this deep (the run itself is depth 0). */
export const MAX_CALL_DEPTH = 8;
/** Problems reported per file: enough to fix, not enough to be a denial of service in themselves. */
export const MAX_PROBLEMS = 100;

/** `1.5 MiB`, `900 KiB`, `12 bytes` */
export function sizeText(n: number): string {
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1).replace(/\.0$/, "")} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1).replace(/\.0$/, "")} KiB`;
  return `${n} bytes`;
}
