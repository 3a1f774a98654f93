/**
 * `wait --for jsonpath='{.status.phase}'=Running` as kubectl reads it: the expression in kubectl's relaxed
 * forms (`{.a.b}`, `.a.b`, `a.b`, with `\.` for a dot inside a name, `[0]`, `[*]`, `[?(@.type=="Ready")]`,
 * `..`), evaluated with an RFC 9535 JSONPath engine (no code evaluation); the value compared as kubectl
 * compares it (the single result printed as Go's %v would, trimmed). No value = the field exists.
 */
import { query } from "jsonpath-rfc9535";
import { usageError } from "../base/errors.ts";

export interface JsonPathCondition {
  /** the expression as the user wrote it (for messages) */
  expr: string;
  /** the RFC 9535 query (`$.status.phase`) */
  path: string;
  /** the value to wait for; undefined = any value */
  value?: string;
}

const FORMAT =
  "use --for jsonpath='{.status.phase}'=Running, or --for jsonpath='{.status.podIP}' for any value";

/** kubectl's splitJSONPathInput: split on `=` that is not part of `==`. */
export function splitJsonPathInput(input: string): string[] {
  const out: string[] = [];
  let cur = "";
  for (let i = 0; i < input.length; i++) {
    if (input[i] === "=") {
      if (input[i + 1] === "=") {
        cur += "==";
        i++;
        continue;
      }
      out.push(cur);
      cur = "";
      continue;
    }
    cur += input[i];
  }
  out.push(cur);
  return out;
}

/** kubectl's RelaxedJSONPathExpression: `{.a.b}`, `.a.b` and `a.b` all mean `.a.b`. */
function relaxed(expr: string): string {
  const m = /^\{\.?([^{}]+)\}$|^\.?([^{}]+)$/.exec(expr);
  if (!m) {
    throw usageError(
      `invalid jsonpath ${
        JSON.stringify(expr)
      }: expected a 'name1.name2' or '.name1.name2' or '{name1.name2}' or '{.name1.name2}'`,
      FORMAT,
    );
  }
  return m[1] ?? m[2];
}

/**
 * kubectl's field spec (`status.conditions[?(@.type=="Ready")].status`, `metadata.labels.app\.kubernetes\.io/name`)
 * as an RFC 9535 query. Names that are not plain identifiers become `['…']` members.
 */
export function toRfcPath(spec: string): string {
  let out = "$";
  let i = 0;
  // `..x` (recursive descent) starts with a dot the relaxed form left
  if (spec.startsWith(".")) {
    out += ".";
    i = 1;
  }
  const name = (n: string) =>
    /^[A-Za-z_][A-Za-z0-9_]*$/.test(n) ? `.${n}` : `['${n.replace(/['\\]/g, "\\$&")}']`;
  while (i < spec.length) {
    const c = spec[i];
    if (c === "[") {
      // a bracket part, copied as it is (quotes and nested brackets respected)
      let depth = 0;
      let quote = "";
      let j = i;
      for (; j < spec.length; j++) {
        const d = spec[j];
        if (quote) {
          if (d === "\\") j++;
          else if (d === quote) quote = "";
        } else if (d === "'" || d === '"') quote = d;
        else if (d === "[") depth++;
        else if (d === "]" && --depth === 0) break;
      }
      if (j >= spec.length) {
        throw usageError(`invalid jsonpath: unclosed [ in ${JSON.stringify(spec)}`, FORMAT);
      }
      out += spec.slice(i, j + 1);
      i = j + 1;
    } else if (c === ".") {
      if (spec[i + 1] === ".") {
        out += ".";
        i++;
      }
      i++;
    } else {
      let n = "";
      while (i < spec.length && spec[i] !== "." && spec[i] !== "[") {
        if (spec[i] === "\\" && i + 1 < spec.length) {
          n += spec[i + 1];
          i += 2;
        } else n += spec[i++];
      }
      out += n === "*" ? ".*" : name(n);
    }
  }
  return out;
}

/** Parse the part after `jsonpath=`: `{.status.phase}=Running` or `{.status.podIP}`. */
export function parseJsonPathCondition(input: string): JsonPathCondition {
  const parts = splitJsonPathInput(input);
  if (parts.length < 1 || parts.length > 2) {
    throw usageError(`invalid --for jsonpath=${input}`, FORMAT);
  }
  // quotes a shell would have taken off (a workflow file keeps them): `'{.status.phase}'`
  const expr = parts[0].trim().replace(/^(['"])(.*)\1$/, "$2");
  if (!expr) throw usageError("jsonpath expression cannot be empty", FORMAT);
  const path = toRfcPath(relaxed(expr));
  try {
    query({}, path);
  } catch (e) {
    throw usageError(
      `invalid jsonpath ${JSON.stringify(expr)}: ${(e as Error).message.split("\n")[0]}`,
      FORMAT,
    );
  }
  if (parts.length === 1) return { expr, path };
  const value = parts[1].replace(/^['"]+|['"]+$/g, "");
  if (!value) {
    throw usageError(
      "jsonpath wait has to have a value after equal sign, like --for=jsonpath='{.status.readyReplicas}'=3",
    );
  }
  return { expr, path, value };
}

/** Go's %v for a JSON value. */
function goString(v: unknown): string {
  if (v === null || v === undefined) return "<nil>";
  return String(v);
}

/**
 * Check one object: `met` when the expression yields one value equal to `value` (or any value when none
 * is given); `current` is what it yields now (for progress messages). More than one value, or an object
 * or list, is an error as in kubectl.
 */
export function evalJsonPath(
  obj: unknown,
  c: JsonPathCondition,
): { met: boolean; current?: string; error?: string } {
  const results = query(obj as never, c.path) as unknown[];
  if (results.length === 0) return { met: false };
  if (results.length > 1) {
    return { met: false, error: "given jsonpath expression matches more than one value" };
  }
  const v = results[0];
  if (v !== null && typeof v === "object") {
    return { met: false, error: "jsonpath leads to a nested object or list which is not supported" };
  }
  const current = goString(v);
  if (c.value === undefined) return { met: true, current };
  return { met: current.trim() === c.value.trim(), current };
}
