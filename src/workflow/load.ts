/**
 * Loading a workflow file: YAML with a position for every node, zod validation, and the semantic
 * checks zod cannot do (duplicate ids, references to unknown steps/targets/params, expression syntax).
 * Every problem is reported as `file:line:col: message`; unknown keys get a "did you mean".
 */
import YAML, { isScalar, LineCounter } from "yaml";
import { z } from "zod";
import { stepSchemaFor, TOP_KEYS, WorkflowTop } from "./schema.ts";
import { kindSchema } from "./speckit.ts";
import {
  COMMON_KEYS,
  flattenSteps,
  isPureExpression,
  KIND_NAMES,
  type Param,
  type Path,
  pathText,
  scriptPath,
  type Step,
  type Workflow,
} from "./model.ts";
import { KINDS } from "./steps/registry.ts";
import { CONTEXT_NAMES, ExprError, type Node, parseCondition, parseTemplate, references } from "./expr.ts";
import { suggest } from "../base/text/suggest.ts";
import { childNode, linePos, nodeAt, nodeOffset, yamlErrorHint, type YNode } from "../base/text/yamlpos.ts";
import { children, exprOffsetIn, pathKey, type Positions, type PosTable, valueAt } from "./positions.ts";
import { flowTooDeep, guardYaml } from "../base/text/yamlguard.ts";
import {
  MAX_ALIAS_NODES,
  MAX_ALIASES,
  MAX_FILE_BYTES,
  MAX_PROBLEMS,
  MAX_STEPS,
  MAX_YAML_DEPTH,
} from "./limits.ts";

export { formatProblem, type Problem, WorkflowProblems } from "./problems.ts";
import { type Problem, tooBig } from "./problems.ts";

export interface Parsed extends Positions {
  workflow?: Workflow;
  problems: Problem[];
  /** what `pos` and `exprPos` answer for the workflow, as data (kept with its cached validated form) */
  table(): PosTable;
}

export interface ParseOptions {
  /** the file name without extension: `name:` must match it */
  stem?: string;
  /** check that script modules exist (needs the real file path) */
  checkFiles?: boolean;
}

export function parseWorkflowText(text: string, file: string, opts: ParseOptions = {}): Parsed {
  const lineCounter = new LineCounter();
  const problems: Problem[] = [];
  const at = (offset: number) => linePos(lineCounter, offset);
  let dropped = 0;
  const add = (offset: number | (() => number), message: string) => {
    if (problems.length >= MAX_PROBLEMS) dropped++;
    else problems.push({ file, ...at(typeof offset === "number" ? offset : offset()), message });
  };
  const size = utf8Length(text);
  if (size > MAX_FILE_BYTES) {
    const start = () => ({ line: 1, col: 1 });
    return { problems: tooBig(file, size).problems, pos: start, exprPos: start, table: emptyTable };
  }
  const deep = flowTooDeep(text, MAX_YAML_DEPTH);
  if (deep !== undefined) {
    lineCounter.addNewLine(0);
    for (let i = text.indexOf("\n"); i >= 0 && i < deep; i = text.indexOf("\n", i + 1)) {
      lineCounter.addNewLine(i + 1);
    }
    add(deep, `YAML: collections nest deeper than ${MAX_YAML_DEPTH} levels`);
    return { problems, pos: () => at(0), exprPos: () => at(0), table: emptyTable };
  }
  // uniqueKeys is checked by guardYaml: npm:yaml's own check compares every pair of keys
  const doc = YAML.parseDocument(text, { lineCounter, uniqueKeys: false, prettyErrors: false });
  const pos = (path: Path) => at(nodeOffset(doc.contents as YNode, path, false));
  const exprPos = (path: Path, column: number) => at(exprOffset(doc.contents as YNode, path, text, column));
  const result: Parsed = {
    problems,
    pos,
    exprPos,
    table: () => positionTable(doc.contents as YNode, result.workflow),
  };
  const finish = () => {
    problems.sort((a, b) => a.line - b.line || a.col - b.col);
    if (dropped || problems.length >= MAX_PROBLEMS) {
      problems.push({
        ...problems[problems.length - 1],
        message: `stopped after ${MAX_PROBLEMS} problems; fix these first`,
      });
    }
    return result;
  };

  for (const e of doc.errors) {
    const m = e.message.split("\n")[0];
    // npm:yaml recurses into nested block collections: a stack overflow is a document nested too deep
    const hint = yamlErrorHint(m, text, e.pos?.[0]);
    add(
      e.pos?.[0] ?? 0,
      `YAML: ${/call stack/i.test(m) ? "the document nests too deeply" : m}${hint ? `; ${hint}` : ""}`,
    );
  }
  if (problems.length) return finish();
  for (const p of guardYaml(doc, { maxAliases: MAX_ALIASES, maxAliasNodes: MAX_ALIAS_NODES })) {
    add(p.offset, p.message);
  }
  if (problems.length) return finish();

  // aliases were bounded above; yaml's own bound stays as a second line of defence
  const js = doc.toJS({ maxAliasCount: MAX_ALIAS_NODES });
  if (!js || typeof js !== "object" || Array.isArray(js)) {
    add(
      0,
      "a workflow file is a YAML mapping with `steps` (and optionally name, description, params, targets, env, permissions)",
    );
    return finish();
  }

  const ctx: Check = {
    js,
    problems,
    at: (path, message, which = "value") =>
      add(() => nodeOffset(doc.contents as YNode, path, which === "key"), message),
    exprAt: (path, column, message) =>
      add(() => exprOffset(doc.contents as YNode, path, text, column), message),
    full: () => problems.length >= MAX_PROBLEMS,
  };

  // before anything walks every step: a file of 30,000 steps is refused at its 1,001st
  const over = stepOverLimit(js.steps);
  if (over) {
    ctx.at(
      over,
      `more than ${MAX_STEPS} steps (counting the steps of parallel groups); split the workflow into workflows it calls`,
    );
    return finish();
  }

  reportIssues(ctx, WorkflowTop.safeParse(js).error?.issues ?? [], [], WorkflowTop, TOP_KEYS);
  if (Array.isArray(js.steps)) checkSteps(ctx, js.steps, ["steps"]);
  if (problems.length === 0) semanticChecks(ctx, js as Workflow, opts, file);
  else {
    // every problem of the file in one pass: the checks of meaning too, where the shape let them run
    // (a line the shape check already named is not named again)
    const shape = problems.splice(0);
    try {
      semanticChecks(ctx, js as Workflow, opts, file);
    } catch { /* a shape the checks of meaning cannot walk: its problems are the shape's */ }
    const lines = new Set(shape.map((p) => p.line));
    const more = problems.splice(0).filter((p) => !lines.has(p.line));
    problems.push(...shape, ...more);
  }
  if (problems.length === 0) result.workflow = js as Workflow;
  return finish();
}

function utf8Length(s: string): number {
  if (s.length > MAX_FILE_BYTES) return s.length; // every UTF-16 unit is at least one byte
  return new TextEncoder().encode(s).length;
}

/** The path of the step past MAX_STEPS (steps of parallel groups count), or undefined. */
function stepOverLimit(steps: unknown): Path | undefined {
  let n = 0;
  const walk = (list: unknown, path: Path): Path | undefined => {
    if (!Array.isArray(list)) return undefined;
    for (let i = 0; i < list.length; i++) {
      if (++n > MAX_STEPS) return [...path, i];
      // deno-lint-ignore no-explicit-any
      const nested = (list[i] as any)?.parallel?.steps;
      const r = walk(nested, [...path, i, "parallel", "steps"]);
      if (r) return r;
    }
    return undefined;
  };
  return walk(steps, ["steps"]);
}

interface Check {
  // deno-lint-ignore no-explicit-any
  js: any;
  problems: Problem[];
  at(path: Path, message: string, which?: "key" | "value"): void;
  /** a problem inside the string at `path`, `column` characters into its value */
  exprAt(path: Path, column: number, message: string): void;
  /** MAX_PROBLEMS were reported: later checks (and their "did you mean" searches) are skipped */
  full(): boolean;
}

// ---------------------------------------------------------------------------------------------
// positions

/** Offset of the `column`-th character of the string value at `path`, looked up in the source text. */
function exprOffset(root: YNode | null, path: Path, text: string, column: number): number {
  const n = nodeAt(root, path);
  if (!n || !isScalar(n) || typeof n.value !== "string" || !n.range) return nodeOffset(root, path, false);
  const quoted = n.type === "QUOTE_DOUBLE" || n.type === "QUOTE_SINGLE";
  return exprOffsetIn({ value: n.value, start: n.range[0], end: n.range[1], quoted }, text, column);
}

const emptyTable = (): PosTable => ({ offsets: [], strings: {} });

/**
 * `pos` and `exprPos` for every node of the workflow, as data (positions.ts reads it back): the offset
 * `nodeOffset` gives each node's path, and how each string scalar is written. One walk of the value
 * beside the YAML nodes: a path that leaves the document (through an alias) keeps its ancestor's offset,
 * as `nodeOffset` answers.
 */
function positionTable(root: YNode | null, workflow: unknown): PosTable {
  const table = emptyTable();
  const visit = (v: unknown, n: YNode | undefined, offset: number) => {
    const index = table.offsets.push(offset) - 1;
    if (typeof v === "string") {
      if (n && isScalar(n) && typeof n.value === "string" && n.range) {
        const quoted = n.type === "QUOTE_DOUBLE" || n.type === "QUOTE_SINGLE";
        table.strings[index] = [n.range[1], quoted ? 1 : 0];
      }
      return;
    }
    for (const [k, x] of children(v)) {
      const c = n ? childNode(n, k) : undefined;
      visit(x, c?.value, c ? (c.value?.range?.[0] ?? c.key?.range?.[0] ?? offset) : offset);
    }
  };
  visit(workflow, root ?? undefined, root?.range?.[0] ?? 0);
  return table;
}

// ---------------------------------------------------------------------------------------------
// zod issues -> problems

function unwrap(s: z.ZodType | undefined): z.ZodType | undefined {
  // deno-lint-ignore no-explicit-any
  let cur: any = s;
  for (let i = 0; i < 10 && cur; i++) {
    if (cur instanceof z.ZodOptional || cur instanceof z.ZodNullable || cur instanceof z.ZodDefault) {
      cur = cur.unwrap();
    } else if (cur instanceof z.ZodLazy) cur = cur._zod.def.getter();
    else break;
  }
  return cur;
}

/**
 * The places in the workflow's step specs where a `${{ }}` string stands and the kind's schema takes
 * any string (pathKey of each), for the engine's run-time check (`checkSpec`): an expression that gives
 * a string there leaves the spec as valid as the one checked here. Anywhere else — a union, a string
 * with a format, a number — the engine checks the resolved spec with the schema.
 */
export function freeStringPaths(wf: Workflow): string[] {
  const out: string[] = [];
  const schemas = new Map<string, z.ZodType>();
  for (const { step, kind, path } of flattenSteps(wf.steps)) {
    let schema = schemas.get(kind);
    if (!schema) schemas.set(kind, schema = kindSchema(KINDS[kind]));
    const base = [...path, kind];
    for (const { s, path: at } of strings(step[kind], base)) {
      const rel = at.slice(base.length);
      if (KINDS[kind].raw?.includes(rel[0] as string)) continue; // not resolved by the engine
      if (s.includes("${{") && takesAnyString(schema, rel)) out.push(pathKey(at));
    }
  }
  return out;
}

/** Does `schema` take any string at `path`, whatever the rest of the value is? */
function takesAnyString(schema: z.ZodType, path: Path): boolean {
  // deno-lint-ignore no-explicit-any
  const checks = (s: any): string[] => (s?._zod?.def?.checks ?? []).map((c: any) => c._zod?.def?.check);
  // deno-lint-ignore no-explicit-any
  let s: any = unwrap(schema);
  for (const seg of path) {
    if (s instanceof z.ZodObject && checks(s).length === 0) s = s.shape[seg as string];
    else if (s instanceof z.ZodRecord && checks(s).length === 0) s = s.valueType;
    else if (
      s instanceof z.ZodArray && typeof seg === "number" &&
      checks(s).every((c) => c === "min_length" || c === "max_length" || c === "length_equals")
    ) s = s.element;
    else return false;
    s = unwrap(s);
  }
  return (s instanceof z.ZodString && checks(s).length === 0) || s instanceof z.ZodAny ||
    s instanceof z.ZodUnknown;
}

/** The keys an object schema at `path` accepts (for "did you mean"). */
function keysAt(schema: z.ZodType, path: Path): string[] {
  // deno-lint-ignore no-explicit-any
  let s: any = unwrap(schema);
  for (const seg of path) {
    if (s instanceof z.ZodObject) s = unwrap(s.shape[seg as string]);
    else if (s instanceof z.ZodRecord) s = unwrap(s.valueType as z.ZodType);
    else if (s instanceof z.ZodArray) s = unwrap(s.element as z.ZodType);
    else return [];
    if (!s) return [];
  }
  return s instanceof z.ZodObject ? Object.keys(s.shape) : [];
}

function describeValue(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  if (typeof v === "string") return `a string ${JSON.stringify(v.length > 30 ? v.slice(0, 30) + "…" : v)}`;
  return `${typeof v} ${String(v)}`;
}

function reportIssues(
  c: Check,
  issues: z.core.$ZodIssue[],
  base: Path,
  schema: z.ZodType,
  extraKeys: string[] = [],
) {
  // `tagret: x` reports "unknown key tagret (did you mean target?)"; "missing target" would only repeat it
  const meant = new Set<string>();
  for (const issue of issues.slice(0, MAX_PROBLEMS)) {
    if (issue.code !== "unrecognized_keys") continue;
    const known = issue.path.length === 0 && extraKeys.length
      ? extraKeys
      : keysAt(schema, issue.path as Path);
    for (const k of issue.keys.slice(0, MAX_PROBLEMS)) {
      const hint = suggest(k, known);
      if (hint) meant.add(pathText([...issue.path as Path, hint]));
    }
  }
  for (const issue of issues) {
    if (c.full()) return;
    if (issue.code === "invalid_type" && meant.has(pathText(issue.path as Path))) continue;
    const rel = issue.path as Path;
    const path = [...base, ...rel];
    if (base.length === 0 && rel[0] === "steps" && rel.length > 1) continue; // steps are checked one by one
    const where = path.length ? `${pathText(path)}: ` : "";
    const value = valueAt(c.js, path);
    // a field written as one `${{ expr }}` is type-checked after interpolation, at run time
    if (typeof value === "string" && isPureExpression(value) && issue.code !== "unrecognized_keys") continue;
    switch (issue.code) {
      case "unrecognized_keys": {
        const known = rel.length === 0 && extraKeys.length ? extraKeys : keysAt(schema, rel);
        for (const k of issue.keys.slice(0, MAX_PROBLEMS)) {
          const hint = suggest(k, known);
          c.at(
            [...path, k],
            `${where}unknown key "${k}"${
              hint
                ? ` (did you mean "${hint}"?)`
                : known.length
                ? ` (expected one of: ${known.join(", ")})`
                : ""
            }`,
            "key",
          );
        }
        break;
      }
      case "invalid_type":
        if (value === undefined) {
          c.at(
            path.slice(0, -1),
            `${pathText(path.slice(0, -1)) || "workflow"}: missing required key "${path.at(-1)}"`,
          );
        } else c.at(path, `${where}expected ${article(issue.expected)}, got ${describeValue(value)}`);
        break;
      case "invalid_union": {
        const nested = issue.errors.flat();
        const types = [
          ...new Set(
            nested.filter((n) => n.code === "invalid_type").map((n) => (n as { expected: string }).expected),
          ),
        ];
        const other = nested.find((n) => n.code !== "invalid_type");
        if (other && typeof value === "string") c.at(path, `${where}${other.message}`);
        else {c.at(
            path,
            `${where}expected ${types.map(article).join(" or ") || "another value"}, got ${
              describeValue(value)
            }`,
          );}
        break;
      }
      case "invalid_value": {
        const values = issue.values.map(String);
        const hint = typeof value === "string" ? suggest(value, values) : undefined;
        c.at(
          path,
          `${where}${JSON.stringify(value)} is not one of ${values.join(", ")}${
            hint ? ` (did you mean "${hint}"?)` : ""
          }`,
        );
        break;
      }
      case "too_small":
        c.at(
          path,
          `${where}${
            issue.origin === "array"
              ? `needs at least ${issue.minimum} item(s)`
              : issue.message.replace(/^Too small: /, "")
          }`,
        );
        break;
      default:
        c.at(path, `${where}${issue.message.replace(/^Invalid input: /, "")}`);
    }
  }
}

function article(t: string): string {
  return t === "array" ? "a list" : t === "object" ? "a mapping" : /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`;
}

// ---------------------------------------------------------------------------------------------
// steps

function checkSteps(c: Check, steps: unknown[], path: Path) {
  steps.forEach((step, i) => {
    if (c.full()) return;
    const p = [...path, i];
    if (!step || typeof step !== "object" || Array.isArray(step)) {
      c.at(p, `${pathText(p)}: a step is a mapping with one kind key (${KIND_NAMES.join(", ")})`);
      return;
    }
    const keys = Object.keys(step);
    const kinds = keys.filter((k) => k in KINDS);
    if (kinds.length === 0) {
      const unknown = keys.filter((k) => !(COMMON_KEYS as readonly string[]).includes(k));
      if (unknown.length) {
        const hint = suggest(unknown[0], KIND_NAMES);
        c.at(
          [...p, unknown[0]],
          `${pathText(p)}: unknown step kind "${unknown[0]}"${
            hint ? ` (did you mean "${hint}"?)` : ` (kinds: ${KIND_NAMES.join(", ")})`
          }`,
          "key",
        );
      } else c.at(p, `${pathText(p)}: the step has no kind; add one of ${KIND_NAMES.join(", ")}`);
      return;
    }
    if (kinds.length > 1) {
      c.at(
        [...p, kinds[1]],
        `${pathText(p)}: a step has one kind, this one has ${kinds.join(" and ")}; split it`,
        "key",
      );
      return;
    }
    const kind = kinds[0];
    const schema = stepSchemaFor(kind, z.any());
    const r = schema.safeParse(step);
    reportIssues(c, r.error?.issues ?? [], p, schema);
    if (r.success) {
      for (const m of KINDS[kind].check?.((step as Step)[kind], c.js) ?? []) {
        c.at([...p, kind, ...(m.path ?? [])], `${pathText([...p, kind])}: ${m.message}`);
      }
      // deno-lint-ignore no-explicit-any
      const nested = (step as any).parallel?.steps;
      if (kind === "parallel" && Array.isArray(nested)) checkSteps(c, nested, [...p, "parallel", "steps"]);
    }
  });
}

/** Every string inside `v` with its path (skipping nested steps of parallel groups). */
function strings(
  v: unknown,
  path: Path,
  out: { s: string; path: Path }[] = [],
  skip?: Path,
): { s: string; path: Path }[] {
  if (skip && path.length === skip.length && path.every((x, i) => x === skip[i])) return out;
  if (typeof v === "string") out.push({ s: v, path });
  else if (Array.isArray(v)) v.forEach((x, i) => strings(x, [...path, i], out, skip));
  else if (v && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) strings(x, [...path, k], out, skip);
  }
  return out;
}

function semanticChecks(c: Check, wf: Workflow, opts: ParseOptions, file: string) {
  if (wf.name && opts.stem && wf.name !== opts.stem) {
    c.at(
      ["name"],
      `name "${wf.name}" does not match the file name "${opts.stem}" (kodama run uses the file name; rename one)`,
    );
  }
  for (const [name, p] of Object.entries(wf.params ?? {})) if (!c.full()) checkParam(c, name, p);

  const params = Object.keys(wf.params ?? {});
  const targets = Object.keys(wf.targets ?? {});
  const flat = flattenSteps(wf.steps);
  const allIds = flat.map((f) => f.step.id).filter((x): x is string => !!x);
  const seen = new Map<string, Path>();
  const checkExprs = (
    items: { s: string; path: Path }[],
    earlier: Set<string> | undefined,
    condPath?: Path,
  ) => {
    for (const { s, path } of items) {
      if (c.full()) return;
      const isCond = condPath && path.length === condPath.length && path.every((x, i) => x === condPath[i]);
      let nodes: { node: Node; offset: number }[];
      try {
        nodes = isCond
          ? [{ node: parseCondition(s), offset: 0 }]
          : parseTemplate(s).flatMap((p) => ("expr" in p ? [{ node: p.expr, offset: p.offset }] : []));
      } catch (e) {
        if (e instanceof ExprError) {
          c.exprAt(path, e.column, `${pathText(path)}: bad expression: ${e.message}`);
          continue;
        }
        throw e;
      }
      for (const { node, offset } of nodes) {
        const condLead = isCond ? (s.trim().startsWith("${{") ? s.indexOf("${{") + 3 : 0) : 0;
        for (const ref of references(node)) {
          const col = (isCond ? condLead : offset) + ref.pos;
          const fail = (m: string) => c.exprAt(path, col, `${pathText(path)}: ${m}`);
          if (!(CONTEXT_NAMES as readonly string[]).includes(ref.root)) {
            const hint = suggest(ref.root, [...CONTEXT_NAMES]);
            fail(
              `unknown name "${ref.root}"${
                hint ? ` (did you mean "${hint}"?)` : ` (use ${CONTEXT_NAMES.join(", ")})`
              }`,
            );
          } else if (ref.key === undefined) continue;
          else if (ref.root === "params" && !params.includes(ref.key)) {
            const hint = suggest(ref.key, params);
            fail(
              `unknown param "${ref.key}"${
                hint ? ` (did you mean "${hint}"?)` : ""
              }; declare it under params:`,
            );
          } else if (ref.root === "targets" && !targets.includes(ref.key)) {
            const hint = suggest(ref.key, targets);
            fail(`unknown target "${ref.key}"${hint ? ` (did you mean "${hint}"?)` : ""}`);
          } else if (ref.root === "steps" && earlier && !earlier.has(ref.key)) {
            if (allIds.includes(ref.key)) {
              fail(`step "${ref.key}" runs after this one; its outputs are not available here`);
            } else {
              const hint = suggest(ref.key, allIds);
              fail(`unknown step "${ref.key}"${hint ? ` (did you mean "${hint}"?)` : ""}`);
            }
          }
        }
      }
    }
  };

  checkExprs(strings(wf.env, ["env"]), new Set());
  checkExprs(strings(wf.targets, ["targets"]), new Set());

  const earlier = new Set<string>();
  for (const { step, path, kind } of flat) {
    if (c.full()) return;
    if (step.id) {
      const first = seen.get(step.id);
      if (first) c.at([...path, "id"], `duplicate step id "${step.id}" (first used at ${pathText(first)})`);
      else seen.set(step.id, path);
    }
    const spec = step[kind];
    for (const t of KINDS[kind].targets?.(spec) ?? []) {
      if (!targets.includes(t) && !t.includes("${{")) {
        const hint = suggest(t, targets);
        c.at(
          [...path, kind, "target"],
          `${pathText([...path, kind, "target"])}: unknown target "${t}"${
            hint
              ? ` (did you mean "${hint}"?)`
              : targets.length
              ? ` (targets: ${targets.join(", ")})`
              : "; declare it under targets:"
          }`,
        );
      }
    }
    if (kind === "logs" && (spec as { follow?: boolean }).follow && step.timeout === undefined) {
      c.at(
        [...path, kind, "follow"],
        `${pathText([...path, kind, "follow"])}: following logs needs a step \`timeout\` to end`,
      );
    }
    if (kind === "script" && opts.checkFiles) {
      const m = (spec as { module: string }).module;
      try {
        Deno.statSync(scriptPath(file, m));
      } catch {
        c.at(
          [...path, kind, "module"],
          `${pathText([...path, kind, "module"])}: module "${m}" not found (relative to the workflow file)`,
        );
      }
    }
    const skip = kind === "parallel" ? [...path, kind, "steps"] : undefined;
    const items = strings(step, path, [], skip);
    if (typeof step.if === "string") checkExprs(items, earlier, [...path, "if"]);
    else checkExprs(items, earlier);
    if (step.id) earlier.add(step.id);
  }
}

function checkParam(c: Check, name: string, p: Param) {
  const path = ["params", name];
  const type = p.type ?? "string";
  if (type === "enum" && !p.values) c.at(path, `params.${name}: an enum param needs \`values\``);
  if (type !== "enum" && p.values) {
    c.at([...path, "values"], `params.${name}: \`values\` is only for type: enum`);
  }
  if (p.default === undefined && !p.required) {
    c.at(path, `params.${name}: give it a \`default\`, or mark it \`required: true\``);
  }
  if (p.default !== undefined && p.required) {
    c.at([...path, "required"], `params.${name}: a param with a default is not required; drop one of them`);
  }
  if (p.default !== undefined) {
    const d = p.default;
    const ok = type === "number"
      ? typeof d === "number"
      : type === "boolean"
      ? typeof d === "boolean"
      : type === "enum"
      ? typeof d === "string" && (p.values ?? []).includes(d)
      : typeof d === "string";
    if (!ok) {
      c.at(
        [...path, "default"],
        `params.${name}.default: ${JSON.stringify(d)} is not a valid ${type}${
          type === "enum" && p.values ? ` (one of ${p.values.join(", ")})` : ""
        }`,
      );
    }
  }
}
