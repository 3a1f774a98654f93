/** Coercion of command-line strings to a key's type (for `config set`). Imports yaml for `[a, b]` lists. */
import { parse as yamlParse } from "yaml";
import { usageError } from "../base/errors.ts";
import { expectedHint, type KeyInfo, validateValue } from "./keys.ts";
import { splitWords } from "../base/text/words.ts";

function show(v: string): string {
  return JSON.stringify(v);
}

/**
 * Turn a command-line string into the value stored for `info` (before zod's own transforms),
 * then validate it. Returns the value to write into the YAML file. Throws a usage error that names
 * the key path and the expected format.
 */
export function coerceValue(info: KeyInfo, raw: string): unknown {
  let value: unknown = raw;
  const s = raw.trim();
  switch (info.kind) {
    case "integer":
    case "number":
      if (/^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(s)) value = Number(s);
      break;
    case "boolean": {
      const l = s.toLowerCase();
      if (["true", "yes", "on", "1"].includes(l)) value = true;
      else if (["false", "no", "off", "0"].includes(l)) value = false;
      break;
    }
    case "list":
      value = parseList(info, s);
      break;
    case "string":
    case "enum":
      value = raw;
      break;
  }
  validateValue(info, value, raw);
  return value;
}

function parseList(info: KeyInfo, s: string): string[] {
  if (s === "" || s === "[]") return [];
  if (s.startsWith("[")) {
    let parsed: unknown;
    try {
      parsed = yamlParse(s);
    } catch (e) {
      const msg = String((e as Error).message ?? e).split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
      throw usageError(
        `invalid value for ${info.key}: ${show(s)} is not a list (${msg})`,
        expectedHint(info),
      );
    }
    if (!Array.isArray(parsed)) {
      throw usageError(`invalid value for ${info.key}: ${show(s)} is not a list`, expectedHint(info));
    }
    return parsed.map((x) => typeof x === "string" ? x : JSON.stringify(x));
  }
  // a command's words: split as a POSIX shell does ("claude -p --model opus" is three words)
  if (info.commandArgs) return splitWords(s);
  if (s.includes(",")) {
    const items = s.split(",").map((x) => x.trim()).filter(Boolean).join(", ");
    throw usageError(
      `invalid value for ${info.key}: ${show(s)} has a comma; a list is written [a, b]`,
      `for a list: kodama config set ${info.key} "[${items}]"; for one item with a comma: "['${s}']"`,
    );
  }
  return [s];
}
