/** `--replicas N` (best of N): how many, read once for the CLI's option table, the web UI and `agent run`. */
import { usageError } from "../../base/errors.ts";
import { quote } from "../../base/text/escape.ts";

export const MAX_REPLICAS = 16;

/** `--replicas N` as given (a string from a flag or a form, a number from JSON) -> N; exit 2 when not 1 … 16. */
export function parseReplicas(v: string | number): number {
  const n = typeof v === "number" ? v : /^\d+$/.test(v.trim()) ? Number(v.trim()) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_REPLICAS) {
    throw usageError(
      `--replicas must be a whole number from 1 to ${MAX_REPLICAS}, got ${quote(v)}`,
      "e.g. --replicas 3: sessions NAME-1 … NAME-3 on the same task (best of N)",
    );
  }
  return n;
}
