/**
 * Line filters and output modes for `kodama logs` (stern's `--include`/`--exclude`/`--output`).
 * Pure: works on one whole decoded line at a time, no I/O. The log stream (src/pods/logs.ts) cuts
 * lines, drops the API timestamp off each, and asks `keepLine` / `renderLine` what to print.
 */
import { ExitCode, KodamaError } from "../base/errors.ts";
import { quote } from "../base/text/escape.ts";

export const LOG_OUTPUTS = ["default", "raw", "json"] as const;
export type LogOutput = typeof LOG_OUTPUTS[number];

export interface LineFilter {
  /** show only lines matching at least one (none given: every line) */
  include: RegExp[];
  /** drop lines matching any; wins over include */
  exclude: RegExp[];
}

/**
 * Compile one pattern. Unicode mode first (`.` is a whole character, so a highlight never cuts one);
 * patterns only the legacy syntax accepts (`\:`, which Go's regexp also allows) still compile.
 * Throws the legacy-mode SyntaxError when neither does.
 */
export function compilePattern(src: string): RegExp {
  try {
    return new RegExp(src, "u");
  } catch {
    return new RegExp(src);
  }
}

/** The compile error of `src` (one line, without "Invalid regular expression: /…/:"), or undefined. */
export function patternError(src: string): string | undefined {
  try {
    compilePattern(src);
    return undefined;
  } catch (e) {
    const msg = (e as Error).message;
    // "Invalid regular expression: /x(/: Unterminated group" -> "Unterminated group"
    const i = msg.lastIndexOf("/: ");
    return (i >= 0 ? msg.slice(i + 3) : msg).split("\n")[0];
  }
}

/**
 * Compile include/exclude patterns; a bad one is a usage error naming its flag (`flags` gives the
 * names, e.g. `--include`). Undefined when there is nothing to filter.
 */
export function compileLineFilter(
  include: readonly string[] = [],
  exclude: readonly string[] = [],
  flags: { include: string; exclude: string } = { include: "--include", exclude: "--exclude" },
): LineFilter | undefined {
  if (include.length === 0 && exclude.length === 0) return undefined;
  const compile = (src: string, flag: string) => {
    const err = patternError(src);
    if (err !== undefined) {
      throw new KodamaError(
        `${flag} ${JSON.stringify(src)} is not a valid regular expression: ${err}`,
        ExitCode.USAGE,
        "it is a JavaScript regular expression, e.g. 'error|warn' or '^GET /api'",
      );
    }
    return compilePattern(src);
  };
  return {
    include: include.map((s) => compile(s, flags.include)),
    exclude: exclude.map((s) => compile(s, flags.exclude)),
  };
}

/** Should this message (one line, without its line ending) be shown? */
export function keepLine(message: string, f: LineFilter | undefined): boolean {
  if (!f) return true;
  for (const re of f.exclude) if (re.test(message)) return false;
  if (f.include.length === 0) return true;
  for (const re of f.include) if (re.test(message)) return true;
  return false;
}

/** stern's highlight: bold red, closed with the matching resets so the rest of the line keeps its colours. */
export const HIGHLIGHT_ON = "\x1b[1;31m";
export const HIGHLIGHT_OFF = "\x1b[22;39m";

const globalCopies = new WeakMap<RegExp, RegExp>();
function globalCopy(re: RegExp): RegExp {
  let g = globalCopies.get(re);
  if (!g) {
    g = new RegExp(re.source, re.flags.includes("g") ? re.flags : re.flags + "g");
    globalCopies.set(re, g);
  }
  return g;
}

/** Wrap every (non-empty) match of any include pattern in the highlight; overlapping matches merge. */
export function highlight(message: string, include: readonly RegExp[]): string {
  if (include.length === 0) return message;
  const spans: [number, number][] = [];
  for (const re of include) {
    for (const m of message.matchAll(globalCopy(re))) {
      if (m[0].length > 0) spans.push([m.index, m.index + m[0].length]);
    }
  }
  if (spans.length === 0) return message;
  spans.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  let out = "";
  let pos = 0;
  let [s, e] = spans[0];
  const flush = () => {
    out += message.slice(pos, s) + HIGHLIGHT_ON + message.slice(s, e) + HIGHLIGHT_OFF;
    pos = e;
  };
  for (let i = 1; i < spans.length; i++) {
    const [ns, ne] = spans[i];
    if (ns <= e) e = Math.max(e, ne);
    else {
      flush();
      [s, e] = [ns, ne];
    }
  }
  flush();
  return out + message.slice(pos);
}

/** Where a line came from. */
export interface LineSource {
  context?: string;
  namespace: string;
  pod: string;
  container: string;
}

/** One log line, cut up: the API's timestamp (if any), the message, and its line ending. */
export interface LogLine {
  ts?: string;
  message: string;
  /** "\n", "\r\n" or "" */
  eol: string;
}

/** Split a decoded line (with its ending) into message and line ending. */
export function cutLineEnding(line: string): { message: string; eol: string } {
  if (line.endsWith("\r\n")) return { message: line.slice(0, -2), eol: "\r\n" };
  if (line.endsWith("\n")) return { message: line.slice(0, -1), eol: "\n" };
  return { message: line, eol: "" };
}

export interface RenderOptions {
  output: LogOutput;
  /** show the timestamp (text: before the message; json: a `timestamp` field) */
  timestamps: boolean;
  /** the `pod | ` prefix for default output (may carry colour); ignored by raw and json */
  prefix: string;
  /** highlight include matches (a colour terminal); never in json */
  highlight?: readonly RegExp[];
}

/** The text to print for one kept line. */
export function renderLine(src: LineSource, l: LogLine, o: RenderOptions): string {
  if (o.output === "json") {
    const obj: Record<string, string> = {
      ...(src.context !== undefined ? { context: src.context } : {}),
      namespace: src.namespace,
      pod: src.pod,
      container: src.container,
      message: l.message,
    };
    if (o.timestamps && l.ts) obj.timestamp = l.ts;
    return JSON.stringify(obj) + "\n";
  }
  const msg = o.highlight?.length ? highlight(l.message, o.highlight) : l.message;
  const ts = o.timestamps && l.ts ? `${l.ts} ` : "";
  return `${o.output === "default" ? o.prefix : ""}${ts}${msg}${l.eol || "\n"}`;
}

/**
 * Check `--output` against `--no-prefix` (an alias of raw): `-o default --no-prefix` and
 * `-o json --no-prefix` contradict each other. Returns the effective mode.
 */
export function resolveOutput(output: string | undefined, noPrefix: boolean): LogOutput {
  if (output !== undefined && !(LOG_OUTPUTS as readonly string[]).includes(output)) {
    throw new KodamaError(
      `invalid --output ${quote(output)}`,
      ExitCode.USAGE,
      `use one of ${LOG_OUTPUTS.join(", ")}`,
    );
  }
  if (noPrefix && output !== undefined && output !== "raw") {
    throw new KodamaError(
      `--no-prefix cannot be combined with --output ${output}`,
      ExitCode.USAGE,
      "--no-prefix is the same as --output raw; give one of them",
    );
  }
  return noPrefix ? "raw" : (output as LogOutput | undefined) ?? "default";
}
