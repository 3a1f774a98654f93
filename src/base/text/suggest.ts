/** "Did you mean": edit distance and the closest candidate, shared by config keys, workflows and params. */

export function levenshtein(a: string, b: string): number {
  if (a === b) return 0;
  if (!a.length) return b.length;
  if (!b.length) return a.length;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
    }
    prev = cur;
  }
  return prev[b.length];
}

/** Closest candidate within a small edit distance (case-insensitive), for "did you mean". */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined, bestD = Infinity;
  const limit = Math.max(2, Math.floor(word.length / 3));
  // nobody misspells a 64-character name; and the distance is at least the difference in length
  if (word.length > 64) return undefined;
  const w = word.toLowerCase();
  for (const c of candidates) {
    if (Math.abs(c.length - w.length) > limit) continue;
    const d = levenshtein(w, c.toLowerCase());
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return bestD <= limit ? best : undefined;
}
