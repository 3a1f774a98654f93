/** Splitting a command line into its words, as a POSIX shell does (without expansions). */
import { usageError } from "../errors.ts";
import { quote } from "./escape.ts";

/** Split a command line into words: whitespace separates, '…' and "…" quote, \ escapes. */
export function splitWords(s: string): string[] {
  const out: string[] = [];
  let cur = "";
  let has = false;
  let q: string | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (q) {
      if (c === q) q = undefined;
      else if (c === "\\" && q === '"' && i + 1 < s.length) cur += s[++i];
      else cur += c;
    } else if (c === "'" || c === '"') {
      q = c;
      has = true;
    } else if (c === "\\" && i + 1 < s.length) {
      cur += s[++i];
      has = true;
    } else if (/\s/.test(c)) {
      if (has) out.push(cur);
      cur = "";
      has = false;
    } else {
      cur += c;
      has = true;
    }
  }
  if (q) throw usageError(`unterminated ${q} in ${quote(s)}`);
  if (has) out.push(cur);
  return out;
}
