/**
 * Text kodama shows that came from somewhere it does not control (a workflow's names, descriptions,
 * params and permission values; file names; what a pod or the API server said), with every character
 * that could move the cursor, erase or recolour a line, or reorder what is shown made visible instead:
 * C0 controls (ESC, CR, backspace, …), DEL, the C1 range (8-bit CSI/OSC on some terminals), Unicode
 * bidirectional overrides and isolates, zero-width marks and the line/paragraph separators. A forged
 * prompt then shows as `\x1b[1A\x1b[2K…` instead of erasing the line above it.
 */
const BIDI = "\\u061c\\u200b-\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069\\ufeff";
const UNSAFE = new RegExp(`[\\x00-\\x08\\x0a-\\x1f\\x7f-\\x9f${BIDI}]`, "g");
const UNSAFE_KEEP_NL = new RegExp(`[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f${BIDI}]`, "g");

function visible(c: string): string {
  const n = c.codePointAt(0)!;
  if (c === "\n") return "\\n";
  if (c === "\r") return "\\r";
  return n <= 0xff ? `\\x${n.toString(16).padStart(2, "0")}` : `\\u{${n.toString(16)}}`;
}

/**
 * `s` with unsafe characters written as escapes (`\x1b`, `\r`, `\u{202e}`). `newlines: true` keeps
 * `\n` (and a `\r` right before one) for multi-line text such as a file shown whole.
 */
export function escapeControl(s: string, o: { newlines?: boolean } = {}): string {
  if (o.newlines) return s.replace(/\r\n/g, "\n").replace(UNSAFE_KEEP_NL, visible);
  return s.replace(UNSAFE, visible);
}
