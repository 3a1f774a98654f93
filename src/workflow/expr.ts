/**
 * The workflow expression language: `${{ params.cmd }}`, `${{ steps.a.outputs.exitCode == 0 && !failure() }}`.
 *
 * A hand-written tokenizer, a Pratt parser producing a small AST, and a tree-walking evaluator.
 * Nothing here ever calls `eval`/`Function`: the only things an expression can do are read the
 * context object and call the functions in FUNCTIONS.
 */
import { suggest } from "../base/text/suggest.ts";
import { MAX_EXPR_DEPTH, MAX_RESULT_CHARS, sizeText } from "./limits.ts";

export class ExprError extends Error {
  override name = "ExprError";
  /** 0-based column inside the expression source (the text between `${{` and `}}`). */
  constructor(message: string, public readonly column: number) {
    super(message);
  }
  /** the same error, `by` characters further into the text that holds the expression */
  shifted(by: number): ExprError {
    return new (this.constructor as typeof ExprError)(this.message, this.column + by);
  }
}

/** A limit of the language was reached (nesting, size of a value): the workflow asks too much. */
export class ExprLimitError extends ExprError {
  override name = "ExprLimitError";
}

const TOO_DEEP = `the expression nests deeper than ${MAX_EXPR_DEPTH} levels`;
const tooBig = (what: string) =>
  `${what} would be over ${sizeText(MAX_RESULT_CHARS)}; an expression's value may be at most ${
    sizeText(MAX_RESULT_CHARS)
  }`;

// ---------------------------------------------------------------------------------------------
// tokenizer

type TokKind = "num" | "str" | "ident" | "op" | "punct" | "eof";
interface Token {
  kind: TokKind;
  value: string;
  pos: number;
}

const OPS = ["==", "!=", "<=", ">=", "&&", "||", "<", ">", "!"];
const PUNCT = ["(", ")", "[", "]", ".", ","];

export function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      i++;
      continue;
    }
    const start = i;
    if (c === "'" || c === '"') {
      // GitHub-style single quotes ('' escapes a quote); double quotes accept \" \\ \n \t.
      let s = "";
      i++;
      for (;;) {
        if (i >= src.length) throw new ExprError("unterminated string", start);
        const d = src[i];
        if (d === c) {
          if (c === "'" && src[i + 1] === "'") {
            s += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        if (c === '"' && d === "\\" && i + 1 < src.length) {
          const e = src[i + 1];
          s += e === "n" ? "\n" : e === "t" ? "\t" : e;
          i += 2;
          continue;
        }
        s += d;
        i++;
      }
      out.push({ kind: "str", value: s, pos: start });
      continue;
    }
    if (/[0-9]/.test(c) || (c === "-" && /[0-9]/.test(src[i + 1] ?? ""))) {
      i++;
      while (i < src.length && /[0-9._eE]/.test(src[i])) i++;
      const text = src.slice(start, i);
      if (Number.isNaN(Number(text))) throw new ExprError(`bad number ${JSON.stringify(text)}`, start);
      out.push({ kind: "num", value: text, pos: start });
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      i++;
      // hyphens are allowed inside names so `steps.my-step.outputs` works (there is no minus operator)
      while (i < src.length && /[A-Za-z0-9_-]/.test(src[i])) i++;
      out.push({ kind: "ident", value: src.slice(start, i), pos: start });
      continue;
    }
    const two = src.slice(i, i + 2);
    const op = OPS.find((o) => o === two) ?? OPS.find((o) => o === c);
    if (op) {
      out.push({ kind: "op", value: op, pos: start });
      i += op.length;
      continue;
    }
    if (PUNCT.includes(c)) {
      out.push({ kind: "punct", value: c, pos: start });
      i++;
      continue;
    }
    if (c === "=") throw new ExprError("unexpected '=' (use '==' to compare)", start);
    if (c === "&" || c === "|") throw new ExprError(`unexpected '${c}' (use '${c}${c}')`, start);
    throw new ExprError(`unexpected character ${JSON.stringify(c)}`, start);
  }
  out.push({ kind: "eof", value: "", pos: src.length });
  return out;
}

// ---------------------------------------------------------------------------------------------
// AST + parser

export type Node =
  | { type: "lit"; value: unknown; pos: number }
  | { type: "ident"; name: string; pos: number }
  | { type: "member"; object: Node; key: Node | string; pos: number }
  | { type: "call"; name: string; args: Node[]; pos: number }
  | { type: "unary"; op: "!"; arg: Node; pos: number }
  | { type: "binary"; op: string; left: Node; right: Node; pos: number };

const PREC: Record<string, number> = {
  "||": 1,
  "&&": 2,
  "==": 3,
  "!=": 3,
  "<": 4,
  "<=": 4,
  ">": 4,
  ">=": 4,
};

export function parseExpression(src: string): Node {
  const toks = tokenize(src);
  let p = 0;
  const peek = () => toks[p];
  const next = () => toks[p++];
  // nesting is bounded twice: how deep the parser recurses (parentheses count) and how deep the
  // tree is (a chain `a || b || …` is built without recursion but evaluated with it)
  let level = 0;
  const depth = new WeakMap<Node, number>();
  const made = <N extends Node>(n: N, ...kids: Node[]): N => {
    let d = 1;
    for (const k of kids) d = Math.max(d, (depth.get(k) ?? 1) + 1);
    if (d > MAX_EXPR_DEPTH) throw new ExprLimitError(TOO_DEEP, n.pos);
    depth.set(n, d);
    return n;
  };
  const expect = (value: string) => {
    const t = next();
    if (t.value !== value || (t.kind !== "punct" && t.kind !== "op")) {
      throw new ExprError(`expected '${value}' but found ${describe(t)}`, t.pos);
    }
  };

  function parse(minPrec: number): Node {
    if (++level > MAX_EXPR_DEPTH) throw new ExprLimitError(TOO_DEEP, peek().pos);
    let left = prefix();
    for (;;) {
      const t = peek();
      const prec = t.kind === "op" ? PREC[t.value] : undefined;
      if (prec === undefined || prec < minPrec) break;
      next();
      const right = parse(prec + 1);
      left = made({ type: "binary", op: t.value, left, right, pos: t.pos }, left, right);
    }
    level--;
    return left;
  }

  function prefix(): Node {
    const t = next();
    let node: Node;
    if (t.kind === "op" && t.value === "!") {
      const arg = parse(5);
      return made({ type: "unary", op: "!", arg, pos: t.pos }, arg);
    } else if (t.kind === "punct" && t.value === "(") {
      node = parse(0);
      expect(")");
    } else if (t.kind === "num") {
      node = { type: "lit", value: Number(t.value), pos: t.pos };
    } else if (t.kind === "str") {
      node = { type: "lit", value: t.value, pos: t.pos };
    } else if (t.kind === "ident") {
      if (t.value === "true" || t.value === "false") {
        node = { type: "lit", value: t.value === "true", pos: t.pos };
      } else if (t.value === "null") node = { type: "lit", value: null, pos: t.pos };
      else if (peek().kind === "punct" && peek().value === "(") {
        next();
        const fn = FUNCTIONS[t.value.toLowerCase()];
        if (!fn) {
          const hint = suggest(t.value, Object.keys(FUNCTIONS));
          throw new ExprError(
            `unknown function '${t.value}'${hint ? ` (did you mean '${hint}'?)` : ""}`,
            t.pos,
          );
        }
        const args: Node[] = [];
        if (!(peek().kind === "punct" && peek().value === ")")) {
          for (;;) {
            args.push(parse(0));
            if (peek().kind === "punct" && peek().value === ",") {
              next();
              continue;
            }
            break;
          }
        }
        expect(")");
        if (args.length < fn.min || args.length > fn.max) {
          const want = fn.min === fn.max
            ? `${fn.min}`
            : fn.max === Infinity
            ? `at least ${fn.min}`
            : `${fn.min}-${fn.max}`;
          throw new ExprError(`${t.value}() takes ${want} argument(s), got ${args.length}`, t.pos);
        }
        node = made({ type: "call", name: t.value.toLowerCase(), args, pos: t.pos }, ...args);
      } else node = { type: "ident", name: t.value, pos: t.pos };
    } else {
      throw new ExprError(
        t.kind === "eof" ? "unexpected end of expression" : `unexpected ${describe(t)}`,
        t.pos,
      );
    }
    // postfix: .name  [expr]
    for (;;) {
      const n = peek();
      if (n.kind === "punct" && n.value === ".") {
        next();
        const k = next();
        if (k.kind !== "ident") throw new ExprError(`expected a property name after '.'`, k.pos);
        node = made({ type: "member", object: node, key: k.value, pos: k.pos }, node);
      } else if (n.kind === "punct" && n.value === "[") {
        next();
        const key = parse(0);
        expect("]");
        node = made({ type: "member", object: node, key, pos: n.pos }, node, key);
      } else break;
    }
    return node;
  }

  const ast = parse(0);
  const end = peek();
  if (end.kind !== "eof") throw new ExprError(`unexpected ${describe(end)}`, end.pos);
  return ast;
}

function describe(t: Token): string {
  if (t.kind === "eof") return "end of expression";
  if (t.kind === "str") return `string '${t.value}'`;
  return `'${t.value}'`;
}

// ---------------------------------------------------------------------------------------------
// evaluation

/** Everything an expression can see. `status` backs success()/failure(). */
export interface ExprContext {
  params?: Record<string, unknown>;
  steps?: Record<string, unknown>;
  targets?: Record<string, unknown>;
  env?: Record<string, string | undefined>;
  workflow?: Record<string, unknown>;
  status?: { failed: boolean };
}

export const CONTEXT_NAMES = ["params", "steps", "targets", "env", "workflow"] as const;

interface Fn {
  min: number;
  max: number;
  // deno-lint-ignore no-explicit-any
  call: (args: any[], ctx: ExprContext) => unknown;
}

const FUNCTIONS: Record<string, Fn> = {
  contains: {
    min: 2,
    max: 2,
    call: ([hay, needle]) =>
      Array.isArray(hay) ? hay.some((v) => looseEquals(v, needle)) : toStr(hay).includes(toStr(needle)),
  },
  startswith: { min: 2, max: 2, call: ([s, p]) => toStr(s).startsWith(toStr(p)) },
  endswith: { min: 2, max: 2, call: ([s, p]) => toStr(s).endsWith(toStr(p)) },
  format: {
    min: 1,
    max: Infinity,
    call: ([fmt, ...rest]) => {
      // built piece by piece: `format('{0}{0}…', x)` is refused before it is over the limit
      const out = new TextBuilder("format()");
      const f = toStr(fmt);
      const re = /\{\{|\}\}|\{(\d+)\}/g;
      let last = 0;
      for (let m = re.exec(f); m; m = re.exec(f)) {
        out.add(f.slice(last, m.index));
        out.add(m[0] === "{{" ? "{" : m[0] === "}}" ? "}" : toStr(rest[Number(m[1])]));
        last = m.index + m[0].length;
      }
      out.add(f.slice(last));
      return out.text();
    },
  },
  join: {
    min: 1,
    max: 2,
    call: ([arr, sep]) => {
      if (!Array.isArray(arr)) return toStr(arr);
      const s = sep === undefined ? "," : toStr(sep);
      const out = new TextBuilder("join()");
      arr.forEach((x, i) => out.add(i ? s + toStr(x) : toStr(x)));
      return out.text();
    },
  },
  trim: { min: 1, max: 1, call: ([s]) => toStr(s).trim() },
  tojson: { min: 1, max: 1, call: ([v]) => boundedJson(v ?? null, 2) },
  fromjson: {
    min: 1,
    max: 1,
    call: ([s]) => {
      const text = toStr(s);
      if (jsonDepth(text) > MAX_DATA_DEPTH) {
        throw new ExprLimitError(`fromJSON: the JSON nests deeper than ${MAX_DATA_DEPTH} levels`, 0);
      }
      try {
        return JSON.parse(text);
      } catch {
        throw new ExprError(`fromJSON: not valid JSON: ${text.slice(0, 40)}`, 0);
      }
    },
  },
  length: {
    min: 1,
    max: 1,
    call: (
      [v],
    ) => (Array.isArray(v) || typeof v === "string"
      ? v.length
      : v && typeof v === "object"
      ? Object.keys(v).length
      : 0),
  },
  success: { min: 0, max: 0, call: (_a, ctx) => !ctx.status?.failed },
  failure: { min: 0, max: 0, call: (_a, ctx) => !!ctx.status?.failed },
  always: { min: 0, max: 0, call: () => true },
};

export function evaluate(node: Node, ctx: ExprContext): unknown {
  switch (node.type) {
    case "lit":
      return node.value;
    case "ident": {
      if (!(CONTEXT_NAMES as readonly string[]).includes(node.name)) {
        const hint = suggest(node.name, [...CONTEXT_NAMES]);
        throw new ExprError(
          `unknown name '${node.name}'${hint ? ` (did you mean '${hint}'?)` : ""}`,
          node.pos,
        );
      }
      return (ctx as Record<string, unknown>)[node.name];
    }
    case "member": {
      const obj = evaluate(node.object, ctx);
      const key = typeof node.key === "string" ? node.key : evaluate(node.key, ctx);
      if (obj === null || obj === undefined) return undefined;
      if (typeof key !== "string" && typeof key !== "number") return undefined;
      if (typeof obj !== "object" && typeof obj !== "string") return undefined;
      // own properties only: no prototype walking (`constructor`, `__proto__`)
      if (!Object.prototype.hasOwnProperty.call(obj, key)) return undefined;
      return (obj as Record<string | number, unknown>)[key];
    }
    case "call": {
      const args = node.args.map((a) => evaluate(a, ctx));
      try {
        return FUNCTIONS[node.name].call(args, ctx);
      } catch (e) {
        // the function's own error (a bad argument, a limit) is where the call is written
        if (e instanceof ExprError) throw new (e.constructor as typeof ExprError)(e.message, node.pos);
        throw e;
      }
    }
    case "unary":
      return !truthy(evaluate(node.arg, ctx));
    case "binary": {
      if (node.op === "&&") {
        const l = evaluate(node.left, ctx);
        return truthy(l) ? evaluate(node.right, ctx) : l;
      }
      if (node.op === "||") {
        const l = evaluate(node.left, ctx);
        return truthy(l) ? l : evaluate(node.right, ctx);
      }
      const l = evaluate(node.left, ctx);
      const r = evaluate(node.right, ctx);
      switch (node.op) {
        case "==":
          return looseEquals(l, r);
        case "!=":
          return !looseEquals(l, r);
        default:
          return compare(node.op, l, r);
      }
    }
  }
}

export function truthy(v: unknown): boolean {
  return !(v === false || v === 0 || v === "" || v === null || v === undefined || Number.isNaN(v));
}

/** String form used by interpolation: objects/arrays as JSON, null/undefined as "". */
export function toStr(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "string") return v;
  if (typeof v === "object") return boundedJson(v);
  return String(v);
}

/** Data an expression reads (outputs, fromJSON) is walked at most this deep. */
export const MAX_DATA_DEPTH = 128;

/** A string built from pieces, refused as soon as it would be over MAX_RESULT_CHARS. */
class TextBuilder {
  private parts: string[] = [];
  private size = 0;
  constructor(private readonly what: string, private readonly column = 0) {}
  add(s: string) {
    this.size += s.length;
    if (this.size > MAX_RESULT_CHARS) {
      throw new ExprLimitError(tooBig(`the value of ${this.what}`), this.column);
    }
    this.parts.push(s);
  }
  text(): string {
    return this.parts.join("");
  }
}

/**
 * `JSON.stringify(v, null, indent)` (0 or 2), refused as soon as the text would be over
 * MAX_RESULT_CHARS or the data nests deeper than MAX_DATA_DEPTH — a step's outputs can be large.
 */
export function boundedJson(v: unknown, indent: 0 | 2 = 0): string {
  const out = new TextBuilder("the JSON text");
  const nl = (depth: number) => (indent ? "\n" + " ".repeat(indent * depth) : "");
  const walk = (x: unknown, depth: number): void => {
    if (depth > MAX_DATA_DEPTH) {
      throw new ExprLimitError(`the data nests deeper than ${MAX_DATA_DEPTH} levels`, 0);
    }
    if (x && typeof x === "object" && typeof (x as { toJSON?: unknown }).toJSON === "function") {
      x = (x as { toJSON: () => unknown }).toJSON();
    }
    if (x === null || typeof x === "number" || typeof x === "boolean" || typeof x === "string") {
      out.add(JSON.stringify(x) ?? "null");
    } else if (Array.isArray(x)) {
      if (!x.length) return out.add("[]");
      out.add("[");
      x.forEach((item, i) => {
        out.add((i ? "," : "") + nl(depth + 1));
        if (item === undefined || typeof item === "function" || typeof item === "symbol") out.add("null");
        else walk(item, depth + 1);
      });
      out.add(nl(depth) + "]");
    } else if (typeof x === "object") {
      const keys = Object.keys(x).filter((k) => {
        const t = typeof (x as Record<string, unknown>)[k];
        return t !== "undefined" && t !== "function" && t !== "symbol";
      });
      if (!keys.length) return out.add("{}");
      out.add("{");
      keys.forEach((k, i) => {
        out.add((i ? "," : "") + nl(depth + 1) + JSON.stringify(k) + (indent ? ": " : ":"));
        walk((x as Record<string, unknown>)[k], depth + 1);
      });
      out.add(nl(depth) + "}");
    } else out.add("null"); // bigint cannot come from JSON or YAML data; undefined at the top
  };
  walk(v, 0);
  return out.text();
}

/** How deep the brackets of a JSON text nest (outside strings): checked before parsing it. */
function jsonDepth(text: string): number {
  let depth = 0, max = 0, inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 || c === 123) max = Math.max(max, ++depth);
    else if (c === 93 || c === 125) depth--;
  }
  return max;
}

/** Structural equality of data (what `==` means for lists and maps), bounded like boundedJson. */
function sameData(a: unknown, b: unknown, depth = 0): boolean {
  if (depth > MAX_DATA_DEPTH) {
    throw new ExprLimitError(`the data nests deeper than ${MAX_DATA_DEPTH} levels`, 0);
  }
  if (a === b) return true;
  if (!a || !b || typeof a !== "object" || typeof b !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const y = b as unknown[];
    return a.length === y.length && a.every((x, i) => sameData(x, y[i], depth + 1));
  }
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  return ka.length === kb.length &&
    ka.every((k, i) =>
      k === kb[i] && sameData((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], depth + 1)
    );
}

function toNum(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "boolean") return v ? 1 : 0;
  if (v === null || v === undefined) return 0;
  if (typeof v === "string") return v.trim() === "" ? 0 : Number(v);
  return NaN;
}

/** `==`: same-type values compare directly; a number against a string/boolean compares as numbers. */
export function looseEquals(a: unknown, b: unknown): boolean {
  if (a === undefined) a = null;
  if (b === undefined) b = null;
  if (typeof a === typeof b) {
    if (a !== null && typeof a === "object") return sameData(a, b);
    return a === b;
  }
  if (a === null || b === null) return false;
  if (typeof a === "number" || typeof b === "number" || typeof a === "boolean" || typeof b === "boolean") {
    return toNum(a) === toNum(b);
  }
  return false;
}

function compare(op: string, a: unknown, b: unknown): boolean {
  let x: number | string, y: number | string;
  if (typeof a === "string" && typeof b === "string") {
    x = a;
    y = b;
  } else {
    x = toNum(a);
    y = toNum(b);
    if (Number.isNaN(x) || Number.isNaN(y)) return false;
  }
  switch (op) {
    case "<":
      return x < y;
    case "<=":
      return x <= y;
    case ">":
      return x > y;
    default:
      return x >= y;
  }
}

// ---------------------------------------------------------------------------------------------
// templates: "text ${{ expr }} more"

export type TemplatePart = { text: string } | { expr: Node; src: string; offset: number };

/** Offsets in errors are relative to the start of the template string. */
export function parseTemplate(s: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let i = 0;
  while (i < s.length) {
    const open = s.indexOf("${{", i);
    if (open < 0) {
      parts.push({ text: s.slice(i) });
      break;
    }
    if (open > i) parts.push({ text: s.slice(i, open) });
    const close = findClose(s, open + 3);
    if (close < 0) throw new ExprError("missing '}}' to close '${{'", open);
    const src = s.slice(open + 3, close);
    if (src.trim() === "") throw new ExprError("empty expression", open);
    try {
      parts.push({ expr: parseExpression(src), src: src.trim(), offset: open + 3 });
    } catch (e) {
      if (e instanceof ExprError) throw new ExprError(e.message, open + 3 + e.column);
      throw e;
    }
    i = close + 2;
  }
  return parts;
}

/** find `}}` that is not inside a quoted string */
function findClose(s: string, from: number): number {
  let q: string | null = null;
  for (let i = from; i < s.length; i++) {
    const c = s[i];
    if (q) {
      if (c === q) q = null;
      else if (c === "\\" && q === '"') i++;
    } else if (c === "'" || c === '"') q = c;
    else if (c === "}" && s[i + 1] === "}") return i;
  }
  return -1;
}

export function hasExpression(s: string): boolean {
  return s.includes("${{");
}

/**
 * Interpolate a template. A string that is exactly one `${{ expr }}` yields the raw value
 * (so `${{ steps.a.outputs.pods }}` stays an array); anything else yields a string.
 */
export function interpolate(s: string, ctx: ExprContext): unknown {
  if (!hasExpression(s)) return s;
  const parts = parseTemplate(s);
  if (parts.length === 1 && "expr" in parts[0]) return evaluateAt(parts[0], ctx);
  const out = new TextBuilder("the string");
  for (const p of parts) {
    if ("text" in p) out.add(p.text);
    else {
      try {
        out.add(toStr(evaluateAt(p, ctx)));
      } catch (e) {
        // the whole string is over the limit: the expression that took it there is named
        if (e instanceof ExprLimitError && e.column === 0) throw e.shifted(p.offset);
        throw e;
      }
    }
  }
  return out.text();
}

/** Evaluate one part of a template; errors carry their column in the whole string. */
function evaluateAt(p: { expr: Node; offset: number }, ctx: ExprContext): unknown {
  let v: unknown;
  try {
    v = evaluate(p.expr, ctx);
  } catch (e) {
    if (e instanceof ExprError) throw e.shifted(p.offset);
    throw e;
  }
  if (typeof v === "string" && v.length > MAX_RESULT_CHARS) {
    // a value read from the context (a step's output) — not built here, but not passed on either
    throw new ExprLimitError(tooBig("the value"), p.offset + p.expr.pos);
  }
  return v;
}

/** `if:` conditions may be written with or without `${{ }}`. */
export function parseCondition(s: string): Node {
  const t = s.trim();
  if (t.startsWith("${{") && t.endsWith("}}") && findClose(t, 3) === t.length - 2) {
    const lead = s.indexOf("${{") + 3;
    try {
      return parseExpression(t.slice(3, -2));
    } catch (e) {
      if (e instanceof ExprError) throw new ExprError(e.message, lead + e.column);
      throw e;
    }
  }
  if (hasExpression(s)) {
    throw new ExprError(
      "write an `if:` either as a bare expression or as one '${{ ... }}'",
      s.indexOf("${{"),
    );
  }
  return parseExpression(s);
}

/** Does the condition call success()/failure()/always()? If not, the engine adds an implicit success(). */
export function usesStatusFunction(node: Node): boolean {
  let found = false;
  walk(node, (n) => {
    if (n.type === "call" && (n.name === "success" || n.name === "failure" || n.name === "always")) {
      found = true;
    }
  });
  return found;
}

export function walk(node: Node, fn: (n: Node) => void): void {
  fn(node);
  switch (node.type) {
    case "member":
      walk(node.object, fn);
      if (typeof node.key !== "string") walk(node.key, fn);
      break;
    case "call":
      node.args.forEach((a) => walk(a, fn));
      break;
    case "unary":
      walk(node.arg, fn);
      break;
    case "binary":
      walk(node.left, fn);
      walk(node.right, fn);
      break;
  }
}

/** References like `params.cmd`, `steps.a`, `targets.drive`: [root, firstKey, pos of key]. */
export function references(node: Node): { root: string; key?: string; pos: number }[] {
  const out: { root: string; key?: string; pos: number }[] = [];
  const objects = new Set<Node>();
  walk(node, (n) => {
    if (n.type === "member" && n.object.type === "ident") {
      objects.add(n.object);
      const key = typeof n.key === "string" ? n.key : n.key.type === "lit" ? String(n.key.value) : undefined;
      out.push({ root: n.object.name, key, pos: n.pos });
    }
  });
  walk(node, (n) => {
    if (n.type === "ident" && !objects.has(n)) out.push({ root: n.name, pos: n.pos });
  });
  return out;
}
