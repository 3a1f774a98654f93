/**
 * The YAML kubectl writes, read without a YAML library. Every kodama command that reaches the cluster
 * reads the kubeconfig first; importing a full YAML parser and its first, cold parse cost ~20 ms of CPU per process,
 * a fifth of a one-pod `exec`. Kubeconfigs are nearly always the plain block style `kubectl config`
 * writes: maps, lists of maps, plain or quoted one-line strings, true/false — and one-line flow maps and
 * lists of such strings (`context: {cluster: c, user: u}`, as kubeadm-style tooling writes). This reader
 * takes exactly that and answers undefined for anything else — nested or multi-line flow collections,
 * anchors, tags, block or multi-line scalars, numbers, YAML 1.1 words such as `yes`, duplicate keys,
 * tabs, several documents — and then
 * src/kube/kubeconfig.ts reads the file with the yaml package. tests/unit/kube/kubeyaml_test.ts checks
 * that whatever this reader accepts, the yaml package (with kubeconfig.ts's schema) reads to the same value.
 */

interface Line {
  indent: number;
  text: string;
}

/** Not in the subset: give the file to the yaml package. */
class Unsure extends Error {}

const KEY = "[A-Za-z_][A-Za-z0-9_./-]*";
const PLAIN_KEY = new RegExp(`^${KEY}$`);
/** `key: value`, one entry of a flow map */
const FLOW_ENTRY = new RegExp(`^\\s*(${KEY}): (.*)$`);
/** `- key: value`: a list item that opens a map */
const ITEM_MAP = new RegExp(`^${KEY}:( |$)`);

/** A key this reader takes in `out`: plain, new, and not a word go-yaml reads as null or a boolean. */
function checkKey(out: Record<string, unknown>, key: string): void {
  if (!PLAIN_KEY.test(key) || Object.hasOwn(out, key) || key === "__proto__") throw new Unsure();
  // keys are scalars too: `yes:` is the key "true" to go-yaml
  if (NULLS.has(key) || Object.hasOwn(BOOLS, key) || OTHER_BOOLS.test(key)) throw new Unsure();
}
/** first characters a plain scalar may not start with (YAML indicators), or that may make it a number */
const RISKY_START = /^([?:,[\]{}#&*!|>'"%@`0-9+.~]|-$|-[^A-Za-z-])/;
const NULLS = new Set(["", "~", "null", "Null", "NULL"]);
const BOOLS: Record<string, boolean> = {
  true: true,
  True: true,
  TRUE: true,
  false: false,
  False: false,
  FALSE: false,
};
/** YAML 1.1 booleans other than true/false: kubeconfig.ts's schema reads these; leave them to it */
const OTHER_BOOLS = /^(y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$/;

function scalar(text: string): unknown {
  if (text.startsWith('"')) return doubleQuoted(text);
  if (text.startsWith("'")) return singleQuoted(text);
  if (text === "{}") return {};
  if (text === "[]") return [];
  if (text.startsWith("{") || text.startsWith("[")) return flow(text);
  // a comment after the value
  const hash = text.indexOf(" #");
  const plain = (hash >= 0 ? text.slice(0, hash) : text).trimEnd();
  if (NULLS.has(plain)) return null;
  if (Object.hasOwn(BOOLS, plain)) return BOOLS[plain];
  if (RISKY_START.test(plain) || OTHER_BOOLS.test(plain)) throw new Unsure();
  if (plain.includes(": ") || plain.endsWith(":") || plain.includes("\t")) throw new Unsure();
  return plain;
}

/**
 * A one-line flow map of plain keys (`{a: b, c: "d"}`) or flow list (`[a, 'b']`) whose values are
 * strings, null or booleans, optionally followed by a comment; nothing nested, no empty entries.
 */
function flow(text: string): unknown {
  const close = text[0] === "{" ? "}" : "]";
  const parts: string[] = [];
  let start = 1, end = -1, quote = "", tokenStart = true;
  for (let i = 1; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (quote === '"' && c === "\\") i++;
      else if (c === quote) quote = "";
      continue;
    }
    if (c === " ") continue;
    if (c === '"' || c === "'") {
      if (!tokenStart) throw new Unsure(); // a quote inside a plain scalar, or after a quoted one
      quote = c;
      tokenStart = false;
      continue;
    }
    if (c === ",") {
      parts.push(text.slice(start, i));
      start = i + 1;
      tokenStart = true;
      continue;
    }
    if (c === close) {
      parts.push(text.slice(start, i));
      end = i;
      break;
    }
    if ("{}[]#".includes(c)) throw new Unsure(); // nested, mismatched, or a comment inside
    tokenStart = c === ":" && text[i + 1] === " ";
  }
  if (end < 0 || quote) throw new Unsure();
  const rest = text.slice(end + 1);
  if (rest.trim() !== "" && !/^\s+#/.test(rest)) throw new Unsure();
  if (close === "]") return parts.map((p) => flowScalar(p.trim()));
  const out: Record<string, unknown> = {};
  for (const part of parts) {
    const m = FLOW_ENTRY.exec(part);
    if (!m) throw new Unsure();
    const key = m[1];
    checkKey(out, key);
    out[key] = flowScalar(m[2].trim());
  }
  return out;
}

/** A value inside a flow collection: a quoted string, or a plain string, null or boolean. */
function flowScalar(text: string): unknown {
  if (text === "") throw new Unsure(); // an empty entry, or a key without a value
  if (text.startsWith('"') || text.startsWith("'")) {
    if (!/^("(?:[^"\\]|\\["\\/nt])*"|'(?:[^']|'')*')$/.test(text)) throw new Unsure();
    return text.startsWith('"') ? doubleQuoted(text) : singleQuoted(text);
  }
  if (/[:'"#,[\]{}]/.test(text) || text.includes(" ")) throw new Unsure();
  return scalar(text);
}

function doubleQuoted(text: string): string {
  const m = /^"((?:[^"\\]|\\["\\/nt])*)"(\s+#.*)?$/.exec(text);
  if (!m) throw new Unsure();
  return m[1].replace(/\\(["\\/nt])/g, (_, c) => (c === "n" ? "\n" : c === "t" ? "\t" : c));
}

function singleQuoted(text: string): string {
  const m = /^'((?:[^']|'')*)'(\s+#.*)?$/.exec(text);
  if (!m) throw new Unsure();
  return m[1].replaceAll("''", "'");
}

/** The lines that carry content, with their indentation; comments and blank lines dropped. */
function linesOf(text: string): Line[] {
  if (text.includes("\t") || text.includes("\r") || text.charCodeAt(0) === 0xfeff) throw new Unsure();
  const out: Line[] = [];
  for (const raw of text.split("\n")) {
    const body = raw.trimEnd();
    const trimmed = body.trimStart();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    if (body.startsWith("---") || body.startsWith("...") || body.startsWith("%")) throw new Unsure();
    out.push({ indent: body.length - trimmed.length, text: trimmed });
  }
  return out;
}

class Reader {
  i = 0;
  constructor(readonly lines: Line[]) {}

  peek(): Line | undefined {
    return this.lines[this.i];
  }

  /** The block that starts at the next line, at its indentation (deeper than `parent`). */
  block(parent: number): unknown {
    const l = this.peek();
    if (!l || l.indent <= parent) return null;
    return isItem(l.text) ? this.sequence(l.indent) : this.mapping(l.indent);
  }

  mapping(indent: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (let l = this.peek(); l && l.indent >= indent; l = this.peek()) {
      if (l.indent > indent || isItem(l.text)) throw new Unsure();
      const colon = l.text.indexOf(":");
      if (colon <= 0 || (l.text.length > colon + 1 && l.text[colon + 1] !== " ")) throw new Unsure();
      const key = l.text.slice(0, colon);
      checkKey(out, key);
      const rest = l.text.slice(colon + 1).trim();
      this.i++;
      if (rest === "" || rest.startsWith("#")) {
        const next = this.peek();
        // kubectl writes a list under its key at the key's own indentation
        out[key] = next && next.indent === indent && isItem(next.text)
          ? this.sequence(indent)
          : this.block(indent);
      } else {
        out[key] = scalar(rest);
        const next = this.peek();
        if (next && next.indent > indent) throw new Unsure(); // a multi-line plain scalar, or worse
      }
    }
    return out;
  }

  sequence(indent: number): unknown[] {
    const out: unknown[] = [];
    for (let l = this.peek(); l && l.indent >= indent; l = this.peek()) {
      if (l.indent > indent) throw new Unsure();
      if (!isItem(l.text)) break; // the next key of the map this list belongs to
      const after = l.text.slice(1);
      const body = after.trimStart();
      if (body === "" || body.startsWith("#")) {
        this.i++;
        out.push(this.block(indent));
        continue;
      }
      if (isItem(body)) throw new Unsure();
      const at = indent + 1 + (after.length - body.length);
      if (ITEM_MAP.test(body)) {
        // `- key: value` opens a map whose keys line up with `key`
        this.lines[this.i] = { indent: at, text: body };
        out.push(this.mapping(at));
      } else {
        this.i++;
        out.push(scalar(body));
        const next = this.peek();
        if (next && next.indent > indent) throw new Unsure();
      }
    }
    return out;
  }
}

const isItem = (text: string) => text === "-" || text.startsWith("- ");

/**
 * `{ value }` when the text is in the subset this reader knows (value undefined for a file with no
 * content), else undefined: read it with the yaml package.
 */
export function readSimpleYaml(text: string): { value: unknown } | undefined {
  try {
    const lines = linesOf(text);
    if (lines.length === 0) return { value: undefined };
    const r = new Reader(lines);
    if (lines[0].indent !== 0 || isItem(lines[0].text)) return undefined;
    const value = r.mapping(0);
    return r.i === lines.length ? { value } : undefined;
  } catch (e) {
    if (e instanceof Unsure) return undefined;
    throw e;
  }
}
