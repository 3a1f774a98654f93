/**
 * Loading a workflow file: YAML with a position for every node, zod validation, and the semantic
 * checks zod cannot do (duplicate ids, references to unknown steps/targets/params, expression syntax).
 * Every problem is reported as `file:line:col: message`; unknown keys get a "did you mean".
 */
import YAML, { isScalar, LineCounter } from "yaml";
import { z } from "zod";
import { ExitCode, KodamaError } from "../errors.ts";
import {
  COMMON_KEYS,
  kindOf,
  type Param,
  type Step,
  stepSchemaFor,
  TOP_KEYS,
  type Workflow,
  WorkflowTop,
} from "./schema.ts";
import { KIND_NAMES, KINDS } from "./steps/registry.ts";
import { CONTEXT_NAMES, ExprError, type Node, parseCondition, parseTemplate, references } from "./expr.ts";
import { suggest } from "../suggest.ts";
import { scriptPath } from "./steps/script.ts";
import { linePos, nodeAt, nodeOffset, type YNode } from "../yamlpos.ts";
import { flowTooDeep, guardYaml } from "../yamlguard.ts";
import {
  MAX_ALIAS_NODES,
  MAX_ALIASES,
  MAX_FILE_BYTES,
  MAX_PROBLEMS,
  MAX_STEPS,
  MAX_YAML_DEPTH,
  sizeText,
} from "./limits.ts";

export type Path = (string | number)[];

export { formatProblem, type Problem, WorkflowProblems } from "./problems.ts";
import { type Problem, WorkflowProblems } from "./problems.ts";

function tooBig(file: string, size: number): WorkflowProblems {
  return new WorkflowProblems([{
    file,
    line: 1,
    col: 1,
    message: `the workflow file is ${sizeText(size)}; a workflow file may be at most ${
      sizeText(MAX_FILE_BYTES)
    } (split it, or call other workflows)`,
  }]);
}

export interface Parsed {
  workflow?: Workflow;
  problems: Problem[];
  /** 1-based line/column of the node at `path` (or of its nearest existing ancestor) */
  pos(path: Path): { line: number; col: number };
  /** 1-based line/column of the `column`-th character of the string at `path` */
  exprPos(path: Path, column: number): { line: number; col: number };
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
    return { problems: tooBig(file, size).problems, pos: start, exprPos: start };
  }
  const deep = flowTooDeep(text, MAX_YAML_DEPTH);
  if (deep !== undefined) {
    lineCounter.addNewLine(0);
    for (let i = text.indexOf("\n"); i >= 0 && i < deep; i = text.indexOf("\n", i + 1)) {
      lineCounter.addNewLine(i + 1);
    }
    add(deep, `YAML: collections nest deeper than ${MAX_YAML_DEPTH} levels`);
    return { problems, pos: () => at(0), exprPos: () => at(0) };
  }
  // uniqueKeys is checked by guardYaml: npm:yaml's own check compares every pair of keys
  const doc = YAML.parseDocument(text, { lineCounter, uniqueKeys: false, prettyErrors: false });
  const pos = (path: Path) => at(nodeOffset(doc.contents as YNode, path, false));
  const exprPos = (path: Path, column: number) => at(exprOffset(doc.contents as YNode, path, text, column));
  const result: Parsed = { problems, pos, exprPos };
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
    add(e.pos?.[0] ?? 0, `YAML: ${/call stack/i.test(m) ? "the document nests too deeply" : m}`);
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
  const value = n.value;
  const [start, end] = n.range;
  // align on the `${{` that precedes the column: quoting/escapes before it do not matter then
  const markIndex = value.lastIndexOf("${{", column);
  if (markIndex < 0) {
    return start + (n.type === "QUOTE_DOUBLE" || n.type === "QUOTE_SINGLE" ? 1 : 0) + column;
  }
  const nth = countOccurrences(value.slice(0, markIndex), "${{");
  let src = start;
  for (let k = 0; k <= nth; k++) {
    const f = text.indexOf("${{", k === 0 ? src : src + 3);
    if (f < 0 || f > end) return start;
    src = f;
  }
  return src + (column - markIndex);
}

function countOccurrences(s: string, sub: string): number {
  let n = 0, i = s.indexOf(sub);
  while (i >= 0) {
    n++;
    i = s.indexOf(sub, i + sub.length);
  }
  return n;
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

// deno-lint-ignore no-explicit-any
function getAt(js: any, path: Path): unknown {
  let v = js;
  for (const seg of path) v = v == null ? undefined : v[seg];
  return v;
}

export function pathText(path: Path): string {
  let s = "";
  for (const seg of path) s += typeof seg === "number" ? `[${seg}]` : s ? `.${seg}` : seg;
  return s;
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
    const value = getAt(c.js, path);
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

export function isPureExpression(s: string): boolean {
  return /^\s*\$\{\{[\s\S]*\}\}\s*$/.test(s) && s.indexOf("${{", s.indexOf("${{") + 3) < 0;
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

// ---------------------------------------------------------------------------------------------
// files

export type Source = "repo" | "home" | "builtin" | "file";

export interface LoadedWorkflow {
  name: string;
  /** file path (or URL for built-ins outside the file system) */
  file: string;
  source: Source;
  text: string;
  workflow: Workflow;
  /** directory relative paths (cwd, permissions) resolve against */
  baseDir: string;
  /** 1-based line/column of the node at a path of the workflow (for run-time messages) */
  pos?: Parsed["pos"];
  /** 1-based line/column of the `column`-th character of the string at a path */
  exprPos?: Parsed["exprPos"];
}

export function stemOf(file: string): string {
  return file.replace(/^.*[\\/]/, "").replace(/\.ya?ml$/, "");
}

/** The directory holding `.kodama/` for repo workflows, else the current directory. */
export function baseDirOf(file: string, source: Source): string {
  const m = /^(.*)[\\/]\.kodama[\\/]workflows[\\/][^\\/]+$/.exec(file);
  if (m && source === "repo") return m[1] || "/";
  if (source === "file") return file.replace(/[\\/][^\\/]*$/, "") || ".";
  return Deno.cwd();
}

/** The text of a workflow file, read only up to MAX_FILE_BYTES (a bigger file is refused unread). */
export async function readWorkflowText(file: string): Promise<string> {
  if (/^(https?|data):/.test(file)) {
    const r = await fetch(file);
    if (!r.ok) throw new KodamaError(`cannot read ${file}: HTTP ${r.status}`, ExitCode.NOT_FOUND);
    return await readBounded(file, r.body);
  }
  const path = file.startsWith("file:") ? new URL(file).pathname : file;
  let f: Deno.FsFile | undefined;
  try {
    f = await Deno.open(path);
    const st = await f.stat();
    if (st.isDirectory) throw new KodamaError(`${file} is a directory, not a workflow file`, ExitCode.USAGE);
    if (st.size > MAX_FILE_BYTES) throw tooBig(path, st.size);
    return await readBounded(path, f.readable);
  } catch (e) {
    if (e instanceof KodamaError) throw e;
    if (e instanceof Deno.errors.NotFound) {
      throw new KodamaError(`workflow file not found: ${file}`, ExitCode.NOT_FOUND);
    }
    throw new KodamaError(`cannot read ${file}: ${(e as Error).message}`, ExitCode.FAILED);
  } finally {
    try {
      f?.close();
    } catch { /* closed by its stream */ }
  }
}

/** Read a stream as UTF-8 text, refusing it (unread past the limit) once it is over MAX_FILE_BYTES. */
async function readBounded(file: string, body: ReadableStream<Uint8Array> | null): Promise<string> {
  if (!body) return "";
  const parts: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > MAX_FILE_BYTES) throw tooBig(file, size);
      parts.push(value);
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return new TextDecoder().decode(all);
}

/**
 * Read, parse and validate; throws a usage error (exit 2) listing every problem as file:line:col. `home`
 * (default: kodamaHome()) holds the validated-form cache; tests give their own.
 */
export async function loadWorkflowFile(file: string, source: Source, home?: string): Promise<LoadedWorkflow> {
  const path = file.startsWith("file:") ? new URL(file).pathname : file;
  const text = await readWorkflowText(file);
  const opts = { stem: stemOf(path), checkFiles: source !== "builtin" };
  // a file that passed every check before is not checked again (./cache.ts)
  const { cacheKey, cachedWorkflow, rememberWorkflow } = await import("./cache.ts");
  const key = await cacheKey({ path, ...opts, text });
  const hit = await cachedWorkflow(key, home);
  if (hit) {
    // positions, for run-time messages, come from a parse made only if one is needed
    let again: Parsed | undefined;
    const parsedAgain = () => (again ??= parseWorkflowText(text, path, opts));
    return {
      name: stemOf(path),
      file: path,
      source,
      text,
      workflow: hit,
      baseDir: baseDirOf(path, source),
      pos: (p) => parsedAgain().pos(p),
      exprPos: (p, column) => parsedAgain().exprPos(p, column),
    };
  }
  const parsed = parseWorkflowText(text, path, opts);
  if (
    parsed.workflow &&
    !(opts.checkFiles && flattenSteps(parsed.workflow.steps).some((s) => s.kind === "script"))
  ) {
    await rememberWorkflow(key, parsed.workflow, home); // script modules are checked on disk: never cached
  }
  if (!parsed.workflow) throw new WorkflowProblems(parsed.problems, fixHint(parsed.problems, path));
  return {
    name: stemOf(path),
    file: path,
    source,
    text,
    workflow: parsed.workflow,
    baseDir: baseDirOf(path, source),
    pos: parsed.pos,
    exprPos: parsed.exprPos,
  };
}

function fixHint(problems: Problem[], path: string): string {
  return `fix the workflow file (${problems.length} problem${
    problems.length === 1 ? "" : "s"
  }); check it with: kodama workflow validate ${path}`;
}
