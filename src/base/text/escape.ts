/**
 * Text kodama shows that came from somewhere it does not control (a workflow's names, descriptions,
 * params and permission values; file names; what a pod or the API server said), with every character
 * that could move the cursor, erase or recolour a line, or reorder what is shown made visible instead:
 * C0 controls (ESC, CR, backspace, …), DEL, the C1 range (8-bit CSI/OSC on some terminals), Unicode
 * bidirectional overrides and isolates, zero-width marks and the line/paragraph separators. A forged
 * prompt then shows as `\x1b[1A\x1b[2K…` instead of erasing the line above it.
 *
 * And the one POSIX shell quoting (shellQuote, shellJoin): a word made safe for a command line a shell reads.
 */
/**
 * Invisible and look-alike-blank characters, as a class: every format character (Unicode category Cf:
 * bidi controls, zero-width joiners and spaces, U+2060 word joiner, U+FEFF, tag characters, soft hyphen),
 * line and paragraph separators, surrogates and private use, every space but U+0020 (category Zs: NBSP,
 * U+3000 …), Hangul fillers (U+115F, U+1160, U+3164, U+FFA0), the braille blank, the combining grapheme
 * joiner, Khmer and Mongolian invisible marks, and variation selectors.
 */
const INVISIBLE = "\\p{Cf}\\p{Zl}\\p{Zp}\\p{Cs}\\p{Co}\\u00a0\\u1680\\u2000-\\u200a\\u202f\\u205f\\u3000" +
  "\\u115f\\u1160\\u3164\\uffa0\\u2800\\u034f\\u17b4\\u17b5\\u180b-\\u180f\\ufe00-\\ufe0f\\u{e0100}-\\u{e01ef}";
const UNSAFE = new RegExp(`[\\x00-\\x08\\x0a-\\x1f\\x7f-\\x9f${INVISIBLE}]`, "gu");
const UNSAFE_KEEP_NL = new RegExp(`[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f${INVISIBLE}]`, "gu");

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

/**
 * A value the user (or a file) gave, inside a one-line message: in double quotes, with `"` and `\`
 * escaped by a backslash and every control or invisible character written as escapeControl writes it, a
 * newline too (`"bad\nname"`, `"a\x1b[2K"`). Error messages interpolate names, keys and params through it, so what someone typed
 * can never break the message over two lines or pass for kodama's own text; a plain name reads as
 * `"name"`.
 */
export function quote(s: unknown): string {
  return `"${escapeControl(String(s).replace(/["\\]/g, "\\$&"))}"`;
}

/**
 * POSIX shell quoting of one word, the one copy kodama has: as is when it is not empty and every character
 * is one no shell (sh, bash, dash, busybox, zsh) treats specially anywhere in a word — letters, digits and
 * `_ . / : = @ % + -` — else in single quotes, a `'` inside as `'\''`. `always`: single quotes even then
 * (scripts whose text reads the same whatever the value). The safe set is the strictest of the copies it
 * replaced (no `,`: brace expansion's separator in bash and zsh).
 */
export function shellQuote(s: string, o: { always?: boolean } = {}): string {
  if (!o.always && /^[A-Za-z0-9_./:=@%+-]+$/.test(s)) return s;
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** Words quoted by shellQuote, joined by spaces: a command line a POSIX shell reads back as `argv`. */
export function shellJoin(argv: string[]): string {
  return argv.map((a) => shellQuote(a)).join(" ");
}

// ESC sequences: CSI (ESC [ … final), OSC/DCS/SOS/PM/APC (ESC ] P X ^ _ … up to BEL or ST), and
// two-character escapes; then every C0 control but \n and \t, DEL and the C1 range (U+0080–U+009F,
// which some terminals read as 8-bit CSI/OSC).
const CONTROL_RE =
  // deno-lint-ignore no-control-regex
  /\x1b\[[0-?]*[ -/]*[@-~]?|\x1b[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[^[\]PX^_]?|\r(?!\n)|[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]/g;
/** Format characters (Cf: bidi overrides and isolates, zero-width marks, U+FEFF, tags) and U+2028/U+2029. */
const FORMAT_RE = /[\p{Cf}\p{Zl}\p{Zp}]/gu;

/**
 * Text from somewhere kodama does not control — a pod's log, an agent's output, a script's — as it is
 * printed to a terminal: every terminal control sequence and C0/C1 control but `\n` and `\t` removed (no
 * colours, cursor moves, window titles; `\r\n` becomes `\n`, another `\r` goes), and every format
 * character made visible (`\u{202e}`), so a right-to-left override or a zero-width space cannot reorder or
 * hide what is shown. The one function for everything kodama prints from a pod (`stripControl` in
 * src/ui/color.ts is it).
 */
export function terminalText(s: string): string {
  return s.replace(CONTROL_RE, "").replace(/\r\n/g, "\n").replace(FORMAT_RE, visible);
}

/**
 * JSON text with the format characters JSON.stringify leaves as they are written as `\uXXXX` escapes: the
 * same JSON value, safe on a terminal.
 */
export function terminalJson(json: string): string {
  return json.replace(
    FORMAT_RE,
    (c) =>
      [...c].length === 1 && c.length === 2
        ? c.split("").map((u) => `\\u${u.charCodeAt(0).toString(16).padStart(4, "0")}`).join("")
        : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
