/**
 * Allocation-free ports of fzf's v1 fuzzy, exact, prefix, suffix and equal matchers, with fzf's
 * `calculateScore`, for ASCII text only (pod names always are). They exist because calling the `npm:fzf`
 * algorithms costs ~0.5-1 µs per item (array slices, iterators, result objects), too slow for tens of
 * thousands of candidates per keystroke. Scores are identical to `npm:fzf`'s; this is checked against
 * the package in tests/unit/picker/match_test.ts on random names and queries.
 * Non-ASCII items and small candidate sets (fzf's v2 algorithm) still go through `npm:fzf` itself.
 */
import type { ParsedQuery, Term } from "./match.ts";

export const NO_MATCH = -0x80000000;

const SCORE_MATCH = 16;
const SCORE_GAP_START = -3;
const SCORE_GAP_EXTENSION = -1;
const BONUS_BOUNDARY = SCORE_MATCH / 2;
const BONUS_NON_WORD = SCORE_MATCH / 2;
const BONUS_CAMEL_123 = BONUS_BOUNDARY + SCORE_GAP_EXTENSION;
const BONUS_CONSECUTIVE = -(SCORE_GAP_START + SCORE_GAP_EXTENSION);
const BONUS_FIRST_CHAR_MULTIPLIER = 2;

// char classes as in fzf: 0 non-word, 1 lower, 2 upper, 4 number (a table: this runs per character)
const CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  CLASS[c] = c >= 97 && c <= 122 ? 1 : c >= 65 && c <= 90 ? 2 : c >= 48 && c <= 57 ? 4 : 0;
}
function charClass(c: number): number {
  return CLASS[c];
}
function bonusFor(prev: number, cur: number): number {
  if (prev === 0 && cur !== 0) return BONUS_BOUNDARY;
  if ((prev === 1 && cur === 2) || (prev !== 4 && cur === 4)) return BONUS_CAMEL_123;
  if (cur === 0) return BONUS_NON_WORD;
  return 0;
}
function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

/** fzf's calculateScore; `folded` is `text` lower-cased unless case-sensitive (same length, ASCII). */
function calculateScore(text: string, folded: string, pat: string, sidx: number, eidx: number): number {
  let pidx = 0;
  let score = 0;
  let inGap = false;
  let consecutive = 0;
  let firstBonus = 0;
  let prevClass = sidx > 0 ? charClass(text.charCodeAt(sidx - 1)) : 0;
  for (let idx = sidx; idx < eidx; idx++) {
    const cls = charClass(text.charCodeAt(idx));
    if (folded.charCodeAt(idx) === pat.charCodeAt(pidx)) {
      score += SCORE_MATCH;
      let bonus = bonusFor(prevClass, cls);
      if (consecutive === 0) {
        firstBonus = bonus;
      } else {
        if (bonus === BONUS_BOUNDARY) firstBonus = bonus;
        if (firstBonus > bonus) bonus = firstBonus;
        if (BONUS_CONSECUTIVE > bonus) bonus = BONUS_CONSECUTIVE;
      }
      score += pidx === 0 ? bonus * BONUS_FIRST_CHAR_MULTIPLIER : bonus;
      inGap = false;
      consecutive++;
      pidx++;
    } else {
      score += inGap ? SCORE_GAP_EXTENSION : SCORE_GAP_START;
      inGap = true;
      consecutive = 0;
      firstBonus = 0;
    }
    prevClass = cls;
  }
  return score;
}

/**
 * fzf's fuzzyMatchV1 (forward) score, or NO_MATCH. `folded` is `text` lower-cased unless the pattern is
 * case-sensitive; the scans use native indexOf/lastIndexOf on it.
 */
export function fuzzyV1(text: string, folded: string, pat: string): number {
  const m = pat.length;
  let p = folded.indexOf(pat[0]);
  if (p < 0) return NO_MATCH;
  let sidx = p;
  for (let k = 1; k < m; k++) {
    p = folded.indexOf(pat[k], p + 1);
    if (p < 0) return NO_MATCH;
  }
  const eidx = p + 1;
  // backward: the shortest window ending at eidx
  for (let k = m - 2; k >= 0; k--) p = folded.lastIndexOf(pat[k], p - 1);
  sidx = p;
  return calculateScore(text, folded, pat, sidx, eidx);
}

/** fzf's exactMatchNaive (forward) score, or NO_MATCH. */
export function exact(text: string, folded: string, pat: string): number {
  const n = text.length;
  const m = pat.length;
  if (n < m) return NO_MATCH;
  let pidx = 0;
  let bestPos = -1;
  let bonus = 0;
  let bestBonus = -1;
  for (let i = 0; i < n; i++) {
    if (folded.charCodeAt(i) === pat.charCodeAt(pidx)) {
      if (pidx === 0) {
        bonus = i === 0
          ? BONUS_BOUNDARY
          : bonusFor(charClass(text.charCodeAt(i - 1)), charClass(text.charCodeAt(i)));
      }
      pidx++;
      if (pidx === m) {
        if (bonus > bestBonus) {
          bestPos = i;
          bestBonus = bonus;
        }
        if (bonus === BONUS_BOUNDARY) break;
        i -= pidx - 1;
        pidx = 0;
        bonus = 0;
      }
    } else {
      i -= pidx;
      pidx = 0;
      bonus = 0;
    }
  }
  if (bestPos < 0) return NO_MATCH;
  return calculateScore(text, folded, pat, bestPos - m + 1, bestPos + 1);
}

function same(folded: string, from: number, pat: string): boolean {
  return folded.startsWith(pat, from);
}

export function prefix(text: string, folded: string, pat: string): number {
  let t = 0;
  if (!isSpace(pat.charCodeAt(0))) { while (t < text.length && isSpace(text.charCodeAt(t))) t++; }
  if (text.length - t < pat.length || !same(folded, t, pat)) return NO_MATCH;
  return calculateScore(text, folded, pat, t, t + pat.length);
}

export function suffix(text: string, folded: string, pat: string): number {
  let end = text.length;
  if (!isSpace(pat.charCodeAt(pat.length - 1))) {
    while (end > 0 && isSpace(text.charCodeAt(end - 1))) {
      end--;
    }
  }
  const from = end - pat.length;
  if (from < 0 || !same(folded, from, pat)) return NO_MATCH;
  return calculateScore(text, folded, pat, from, end);
}

export function equal(text: string, folded: string, pat: string): number {
  let t = 0;
  let end = text.length;
  if (!isSpace(pat.charCodeAt(0))) { while (t < end && isSpace(text.charCodeAt(t))) t++; }
  if (!isSpace(pat.charCodeAt(pat.length - 1))) {
    while (end > t && isSpace(text.charCodeAt(end - 1))) {
      end--;
    }
  }
  if (end - t !== pat.length || !same(folded, t, pat)) return NO_MATCH;
  return (SCORE_MATCH + BONUS_BOUNDARY) * pat.length + (BONUS_FIRST_CHAR_MULTIPLIER - 1) * BONUS_BOUNDARY;
}

function termScore(t: Term, text: string, lower: string): number {
  const folded = t.caseSensitive ? text : lower;
  switch (t.type) {
    case "fuzzy":
      return fuzzyV1(text, folded, t.text);
    case "exact":
      return exact(text, folded, t.text);
    case "prefix":
      return prefix(text, folded, t.text);
    case "suffix":
      return suffix(text, folded, t.text);
    case "equal":
      return equal(text, folded, t.text);
  }
}

/** fzf's extended-match total score with the v1 fuzzy algorithm (computeExtendedMatch), or NO_MATCH. */
export function extendedScoreV1(q: ParsedQuery, text: string, lower: string): number {
  let total = 0;
  for (const set of q) {
    let matched = false;
    let score = 0;
    for (const t of set) {
      const s = termScore(t, text, lower);
      if (s !== NO_MATCH) {
        if (t.inv) continue;
        score = s;
        matched = true;
        break;
      } else if (t.inv) {
        score = 0;
        matched = true;
      }
    }
    if (!matched) return NO_MATCH;
    total += score;
  }
  return total;
}
