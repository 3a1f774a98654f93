/**
 * The one duration grammar of kodama, shared by every flag that takes one (`--timeout 30s`,
 * `--since 5m`, `wait --timeout 0`), the config schema (`session.readyTimeout`) and the workflow
 * schema (`timeout:`, `logs.since`).
 *
 * Grammar (Go / kubectl style, plus kubectl's bare-seconds habit):
 * - one or more `<number><unit>` parts: `300ms`, `5s`, `2m30s`, `1h`, `1.5h`, `1d2h`;
 *   units `ns`, `us`/`µs`, `ms`, `s`, `m`, `h`, `d`; numbers may have a fraction;
 * - or a bare non-negative number, meaning seconds (`5`, `0.5`, `0`);
 * - surrounding white space is ignored. No signs, no spaces between parts.
 * Schemas additionally accept a non-negative YAML/JSON number, also meaning seconds.
 *
 * A duration that sets a timer (`--timeout`, a step's `timeout:`) is parsed with `{ timer: true }`: it is
 * clamped to MAX_TIMER_MS (about 24.8 days), the longest delay a JavaScript timer takes — a longer one
 * would fire at once (Node's TimeoutOverflowWarning), so `--timeout 1000h` would time out immediately.
 */
import { usageError } from "./errors.ts";
import { quote } from "./text/escape.ts";

const NUM = String.raw`\d+(?:\.\d+)?`;
const UNIT = "ns|us|µs|ms|s|m|h|d";

/** The whole grammar as one regular expression (also published as the JSON Schema `pattern`). */
export const DURATION_RE = new RegExp(String.raw`^\s*(?:(?:${NUM}(?:${UNIT}))+|${NUM})\s*$`);

const BARE_RE = new RegExp(`^${NUM}$`);
const PART_RE = new RegExp(`(${NUM})(${UNIT})`, "g");

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** Examples used in every message that explains the format. */
export const DURATION_EXAMPLES = ["30s", "5m", "1h30m", "500ms"] as const;
/** "30s, 5m, 1h30m or 500ms" */
export const DURATION_EXAMPLES_TEXT = `${DURATION_EXAMPLES.slice(0, -1).join(", ")} or ${
  DURATION_EXAMPLES.at(-1)
}`;

/** The longest timer delay (2^31-1 ms = 24d20h31m); longer timeouts wait this long instead. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export interface DurationOptions {
  /** it sets a timer: clamp to MAX_TIMER_MS */
  timer?: boolean;
}

/** Milliseconds of a duration string, or undefined when it does not follow the grammar. */
export function tryParseDuration(text: string): number | undefined {
  if (!DURATION_RE.test(text)) return undefined;
  const s = text.trim();
  if (BARE_RE.test(s)) return Math.round(Number(s) * 1000);
  let total = 0;
  for (const m of s.matchAll(PART_RE)) total += Number(m[1]) * UNIT_MS[m[2]];
  return Math.round(total);
}

/** Parse a duration into milliseconds; throws a usage error (exit 2) naming the flag or key on bad input. */
export function parseDuration(text: string, flag = "duration", o: DurationOptions = {}): number {
  const ms = tryParseDuration(text);
  if (ms !== undefined) return o.timer ? Math.min(ms, MAX_TIMER_MS) : ms;
  const hint = `use a Go-style duration such as ${DURATION_EXAMPLES_TEXT}`;
  if (text.trim() === "") throw usageError(`invalid ${flag} "": empty`, hint);
  throw usageError(`invalid ${flag} ${quote(text)}`, hint);
}

/** A schema-level duration (a string of the grammar, or a number of seconds) in milliseconds. */
export function durationValueMs(value: string | number, what = "duration", o: DurationOptions = {}): number {
  if (typeof value === "string") return parseDuration(value, what, o);
  return o.timer ? Math.min(value * 1000, MAX_TIMER_MS) : value * 1000;
}

/** Human form used in summaries: 850ms, 1.2s, 2m5s, 1h2m. */
export function formatDuration(ms: number): string {
  if (ms >= 86_400_000) {
    const d = Math.floor(ms / 86_400_000);
    const h = Math.floor((ms % 86_400_000) / 3_600_000);
    const m = Math.floor((ms % 3_600_000) / 60_000);
    return `${d}d${h}h${m}m`;
  }
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) {
    const s = ms / 1000;
    return `${s < 10 ? s.toFixed(1).replace(/\.0$/, "") : Math.round(s)}s`;
  }
  const totalS = Math.round(ms / 1000);
  const h = Math.floor(totalS / 3600);
  const m = Math.floor((totalS % 3600) / 60);
  const sec = totalS % 60;
  if (h > 0) return `${h}h${m}m`;
  return `${m}m${sec}s`;
}
