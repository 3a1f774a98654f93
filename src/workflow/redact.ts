/**
 * Values that came from your environment (the variables a workflow declared in `permissions.env`)
 * are secrets for everything kodama prints about a run: `--dry-run`, step names, errors, notes and
 * the step output it passes through. Each occurrence becomes `***`, as in GitHub Actions logs.
 * Values shorter than 4 characters are left alone (they would blank out ordinary words and numbers).
 */
import type { Sink } from "../ui/sink.ts";

const secrets = new Set<string>();
let pattern: RegExp | undefined;

export function addSecret(value: string): void {
  if (value.length < 4 || secrets.has(value)) return;
  secrets.add(value);
  // a value may also appear JSON-escaped (toJSON, outputs printed as JSON)
  const json = JSON.stringify(value).slice(1, -1);
  if (json !== value) secrets.add(json);
  const alts = [...secrets].sort((a, b) => b.length - a.length).map((s) =>
    s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
  );
  pattern = new RegExp(alts.join("|"), "g");
}

export function redact(s: string): string {
  return pattern ? s.replace(pattern, "***") : s;
}

/**
 * A sink that redacts secrets in each write (bytes pass through untouched while there are none).
 * Limit: a secret split across two writes of a streaming command is not caught.
 */
export function redactingSink(next: Sink): Sink {
  const dec = new TextDecoder();
  return {
    write(chunk) {
      if (!pattern) return next.write(chunk);
      next.write(redact(typeof chunk === "string" ? chunk : dec.decode(chunk, { stream: true })));
    },
  };
}
