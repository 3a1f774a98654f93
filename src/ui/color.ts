import { terminalText } from "../base/text/escape.ts";

/** Colours: only when the stream is a TTY, NO_COLOR is unset and --no-color was not given. */
let forced: boolean | undefined;

export function setColor(enabled: boolean | undefined): void {
  forced = enabled;
}

export function colorEnabled(stream: "stdout" | "stderr" = "stderr"): boolean {
  if (forced === false) return false;
  if (Deno.env.get("NO_COLOR")) return false;
  if (forced === true) return true;
  return isTerminal(stream);
}

/** Is this standard stream a terminal (false when that cannot be asked)? */
export function isTerminal(stream: "stdin" | "stdout" | "stderr"): boolean {
  try {
    return Deno[stream].isTerminal();
  } catch {
    return false;
  }
}

const wrap = (open: number, close: number) => (s: string, on = true) =>
  on ? `\x1b[${open}m${s}\x1b[${close}m` : s;
export const bold = wrap(1, 22);
export const dim = wrap(2, 22);
export const red = wrap(31, 39);
export const green = wrap(32, 39);
export const yellow = wrap(33, 39);
export const cyan = wrap(36, 39);

/** A stable colour per name (for per-pod prefixes). 256-colour palette entries that read well on dark and light. */
const PALETTE = [33, 39, 75, 81, 114, 150, 178, 208, 170, 141, 204, 44, 106, 215, 99, 167];
export function colorFor(name: string): (s: string, on?: boolean) => string {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  const c = PALETTE[(h >>> 0) % PALETTE.length];
  return (s: string, on = true) => on ? `\x1b[38;5;${c}m${s}\x1b[39m` : s;
}

/** Remove ANSI escape sequences (for width computations and tests). */
export function stripAnsi(s: string): string {
  // deno-lint-ignore no-control-regex
  return s.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, "");
}

/**
 * Text from code kodama does not control (scripts, local commands, step names and errors) with every
 * terminal control sequence removed: no colours, no cursor moves, no window titles, no clear screen.
 * `\r\n` becomes `\n`; other carriage returns go (they would overwrite kodama's own lines); bidi and other
 * format characters are made visible (`\u{202e}`). It is src/base/text/escape.ts terminalText, the one function.
 */
export function stripControl(s: string): string {
  return terminalText(s);
}

/** stripControl for one line of kodama's own display: newlines and tabs become spaces. */
export function safeLine(s: string): string {
  return stripControl(s).replace(/[\n\t]+/g, " ");
}
