/**
 * Values kodama must never print in clear. A workflow run registers them — the variables it declared
 * in `permissions.env` and the values of the Kubernetes Secrets its target pods use
 * (workflow/podsecrets.ts) — and everything kodama prints about the run (`--dry-run`, step names,
 * errors, notes, the step output it passes through) and every log record goes through `redact`:
 * each occurrence becomes `***`, as in GitHub Actions logs. Values shorter than 4 characters are
 * left alone (they would blank out ordinary words and numbers). A base module: it imports only
 * the Sink type.
 */
import type { Sink } from "./sink.ts";

const secrets = new Set<string>();
let pattern: RegExp | undefined;
/** the longest secret: how much of a stream may have to wait for the rest of one */
let longest = 0;

export function addSecret(value: string): void {
  // each line of a multi-line value (a key file, a certificate) may be printed on its own
  const lines = value.includes("\n") ? value.split(/\r?\n/).filter((l) => l.trim().length >= 8) : [];
  const forms = [value, ...lines];
  // a value may also appear JSON-escaped (toJSON, outputs printed as JSON)
  forms.push(JSON.stringify(value).slice(1, -1));
  let added = false;
  for (const f of forms) {
    if (f.length < 4 || secrets.has(f)) continue;
    secrets.add(f);
    longest = Math.max(longest, f.length);
    added = true;
  }
  if (!added) return;
  const alts = [...secrets].sort((a, b) => b.length - a.length).map((s) =>
    s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
  );
  pattern = new RegExp(alts.join("|"), "g");
}

export function redact(s: string): string {
  return pattern ? s.replace(pattern, "***") : s;
}

/** How many characters at the end of `s` could be the start of a secret whose rest is still to come. */
function pendingTail(s: string): number {
  for (let k = Math.min(longest - 1, s.length); k > 0; k--) {
    const tail = s.slice(s.length - k);
    for (const x of secrets) if (x.length > k && x.startsWith(tail)) return k;
  }
  return 0;
}

export interface RedactingSink extends Sink {
  /** write what is held back (the stream ended: what is held cannot become a secret any more) */
  flush(): void;
}

/**
 * A sink that redacts secrets in what passes through it, also when a secret is split across two
 * writes of a streaming command: the end of a write that could be the start of a secret is held
 * back until the next write shows whether it is one (or until `flush()`, at the end of the step).
 * Bytes pass through untouched while there are no secrets.
 */
export function redactingSink(next: Sink): RedactingSink {
  const dec = new TextDecoder();
  let held = "";
  return {
    write(chunk) {
      if (!pattern && !held) return next.write(chunk);
      const text = redact(held + (typeof chunk === "string" ? chunk : dec.decode(chunk, { stream: true })));
      const keep = pendingTail(text);
      held = text.slice(text.length - keep);
      if (text.length > keep) next.write(text.slice(0, text.length - keep));
    },
    flush() {
      const rest = held + dec.decode();
      held = "";
      if (rest) next.write(redact(rest));
    },
  };
}
