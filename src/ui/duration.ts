/**
 * Go-style durations shared by every flag that takes one (`--timeout 30s`, `--since 5m`, `1h30m`, `500ms`).
 * A bare number is seconds (kubectl's `--request-timeout=5` habit).
 */
import { usageError } from "../errors.ts";

const UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** Parse a duration into milliseconds; throws a usage error (exit 2) naming the flag on bad input. */
export function parseDuration(text: string, flag = "duration"): number {
  const s = text.trim();
  if (s === "") {
    throw usageError(`invalid ${flag} "": empty`, "use a Go-style duration such as 30s, 5m, 1h30m or 500ms");
  }
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)/y;
  let total = 0;
  let pos = 0;
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) {
      throw usageError(
        `invalid ${flag} "${text}"`,
        "use a Go-style duration such as 30s, 5m, 1h30m or 500ms",
      );
    }
    total += Number(m[1]) * UNITS[m[2]];
    pos = re.lastIndex;
  }
  return Math.round(total);
}

/** Human form used in summaries: 850ms, 1.2s, 2m5s, 1h2m. */
export function formatDuration(ms: number): string {
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
