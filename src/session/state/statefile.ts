/**
 * The session state file's YAML, written and read without the yaml package: that package is CommonJS, so
 * loading it brings Deno's Node loader and layer (~0.1 s of CPU at load), which `start` and `resume` paid
 * for a dozen flat fields. `stateYaml` writes block YAML as the package did (plain scalars where they read
 * back as the same string, else JSON's double-quoted form, which YAML reads alike); `parseStateYaml` reads
 * exactly that subset and answers `undefined` for anything else (a file edited by hand, an older layout),
 * which the caller then reads with the yaml package. Pure.
 */

/** A plain scalar that YAML reads back as this string: no indicator first, no `: ` or ` #`, no spaces. */
const PLAIN = /^[A-Za-z0-9_./][A-Za-z0-9_./@+:=-]*$/;
/** …that is not read as something else: null, a boolean (YAML 1.1's too), a number, a sexagesimal. */
const NOT_A_STRING =
  /^(?:~|null|true|false|yes|no|on|off|y|n|[-+]?\.(?:inf|nan)|[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?(?:e[-+]?[0-9]+)?|[-+]?\.[0-9_]+(?:e[-+]?[0-9]+)?|0x[0-9a-f_]+|0o[0-7_]+|0b[01_]+|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?)$/i;
const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** JSON's double-quoted string, with the characters YAML 1.1 reads as line breaks (and a BOM) escaped. */
const quoted = (v: string) =>
  JSON.stringify(v).replace(
    /[\u0085\u2028\u2029\ufeff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );

function scalar(v: unknown): string {
  if (typeof v === "string") {
    // ':' ends a plain scalar only before a space or at its end; a trailing one is quoted
    return PLAIN.test(v) && !NOT_A_STRING.test(v) && !v.endsWith(":") ? v : quoted(v);
  }
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : quoted(String(v));
  if (typeof v === "boolean") return String(v);
  return "null";
}

const isScalar = (v: unknown) => v === null || ["string", "number", "boolean"].includes(typeof v);

function lines(o: Record<string, unknown>, indent: string, out: string[]): void {
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined) continue;
    const key = `${indent}${KEY.test(k) ? k : quoted(k)}:`;
    if (Array.isArray(v)) {
      if (!v.length) out.push(`${key} []`);
      else if (v.every(isScalar)) out.push(key, ...v.map((x) => `${indent}  - ${scalar(x)}`));
      else out.push(`${key} ${JSON.stringify(v)}`); // JSON is YAML's flow style
    } else if (v !== null && typeof v === "object") {
      if (!Object.keys(v).length) out.push(`${key} {}`);
      else {
        out.push(key);
        lines(v as Record<string, unknown>, `${indent}  `, out);
      }
    } else out.push(`${key} ${scalar(v)}`);
  }
}

/** `o` as block YAML (top-level mapping), one `key: value` a line. */
export function stateYaml(o: Record<string, unknown>): string {
  const out: string[] = [];
  lines(o, "", out);
  return out.join("\n") + "\n";
}

const FAIL = Symbol("not in the subset");

function value(s: string): unknown {
  if (s.startsWith('"') || s.startsWith("[") || s.startsWith("{")) {
    try {
      return JSON.parse(s);
    } catch {
      return FAIL;
    }
  }
  if (!PLAIN.test(s) || s.endsWith(":")) return FAIL;
  if (s === "true" || s === "false") return s === "true";
  if (s === "null" || s === "~") return null;
  if (/^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:e[-+]?[0-9]+)?$/i.test(s)) return Number(s);
  if (NOT_A_STRING.test(s)) return FAIL; // a form YAML reads its own way: left to the yaml package
  return s;
}

/** Read what `stateYaml` writes; `undefined` for any other YAML (the caller reads it with the yaml package). */
export function parseStateYaml(text: string): Record<string, unknown> | undefined {
  const rows = text.split("\n").filter((l) => !/^\s*(?:#.*)?$/.test(l));
  let i = 0;
  const indentOf = (l: string) => l.length - l.trimStart().length;
  const mapping = (indent: number): Record<string, unknown> | typeof FAIL => {
    const out: Record<string, unknown> = {};
    while (i < rows.length) {
      const row = rows[i];
      const ind = indentOf(row);
      if (ind < indent) break;
      if (ind > indent || row.includes("\t")) return FAIL;
      const m = /^([A-Za-z_][A-Za-z0-9_]*|"(?:[^"\\]|\\.)*"):(?: (.+))?$/.exec(row.slice(ind));
      if (!m) return FAIL;
      let key: string;
      try {
        key = m[1].startsWith('"') ? JSON.parse(m[1]) : m[1];
      } catch {
        return FAIL;
      }
      i++;
      if (m[2] !== undefined) {
        const v = value(m[2]);
        if (v === FAIL) return FAIL;
        out[key] = v;
        continue;
      }
      const next = rows[i];
      if (
        next === undefined || indentOf(next) < indent || (indentOf(next) === indent && !/^\s*- /.test(next))
      ) {
        out[key] = null;
        continue;
      }
      if (/^\s*- /.test(next)) {
        const at = indentOf(next);
        const items: unknown[] = [];
        while (i < rows.length && indentOf(rows[i]) === at && /^\s*- /.test(rows[i])) {
          const v = value(rows[i].slice(at + 2));
          if (v === FAIL) return FAIL;
          items.push(v);
          i++;
        }
        out[key] = items;
        continue;
      }
      const sub = mapping(indentOf(next));
      if (sub === FAIL) return FAIL;
      out[key] = sub;
    }
    return out;
  };
  const o = mapping(0);
  return o === FAIL || i < rows.length ? undefined : o;
}
