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

// char classes as in fzf: 0 non-word, 1 lower, 2 upper, 4 number
function charClass(c: number): number {
  if (c >= 97 && c <= 122) return 1;
  if (c >= 65 && c <= 90) return 2;
  if (c >= 48 && c <= 57) return 4;
  return 0;
}
function bonusFor(prev: number, cur: number): number {
  if (prev === 0 && cur !== 0) return BONUS_BOUNDARY;
  if ((prev === 1 && cur === 2) || (prev !== 4 && cur === 4)) return BONUS_CAMEL_123;
  if (cur === 0) return BONUS_NON_WORD;
  return 0;
}
function fold(c: number, caseSensitive: boolean): number {
  return !caseSensitive && c >= 65 && c <= 90 ? c + 32 : c;
}
function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

function calculateScore(cs: boolean, text: string, pat: string, sidx: number, eidx: number): number {
  let pidx = 0;
  let score = 0;
  let inGap = false;
  let consecutive = 0;
  let firstBonus = 0;
  let prevClass = sidx > 0 ? charClass(text.charCodeAt(sidx - 1)) : 0;
  for (let idx = sidx; idx < eidx; idx++) {
    const raw = text.charCodeAt(idx);
    const cls = charClass(raw);
    const c = fold(raw, cs);
    if (c === pat.charCodeAt(pidx)) {
      score += SCORE_MATCH;
      let bonus = bonusFor(prevClass, cls);
      if (consecutive === 0) {
        firstBonus = bonus;
      } else {
        if (bonus === BONUS_BOUNDARY) firstBonus = bonus;
        bonus = Math.max(bonus, firstBonus, BONUS_CONSECUTIVE);
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

/** fzf's fuzzyMatchV1 (forward) score, or NO_MATCH. */
export function fuzzyV1(cs: boolean, text: string, pat: string): number {
  const n = text.length;
  const m = pat.length;
  let pidx = 0;
  let sidx = -1;
  let eidx = -1;
  for (let i = 0; i < n; i++) {
    if (fold(text.charCodeAt(i), cs) === pat.charCodeAt(pidx)) {
      if (sidx < 0) sidx = i;
      if (++pidx === m) {
        eidx = i + 1;
        break;
      }
    }
  }
  if (eidx < 0) return NO_MATCH;
  pidx = m - 1;
  for (let i = eidx - 1; i >= sidx; i--) {
    if (fold(text.charCodeAt(i), cs) === pat.charCodeAt(pidx)) {
      if (--pidx < 0) {
        sidx = i;
        break;
      }
    }
  }
  return calculateScore(cs, text, pat, sidx, eidx);
}

/** fzf's exactMatchNaive (forward) score, or NO_MATCH. */
export function exact(cs: boolean, text: string, pat: string): number {
  const n = text.length;
  const m = pat.length;
  if (n < m) return NO_MATCH;
  let pidx = 0;
  let bestPos = -1;
  let bonus = 0;
  let bestBonus = -1;
  for (let i = 0; i < n; i++) {
    if (fold(text.charCodeAt(i), cs) === pat.charCodeAt(pidx)) {
      if (pidx === 0) bonus = i === 0 ? BONUS_BOUNDARY : bonusFor(charClass(text.charCodeAt(i - 1)), charClass(text.charCodeAt(i)));
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
  return calculateScore(cs, text, pat, bestPos - m + 1, bestPos + 1);
}

function same(cs: boolean, text: string, from: number, pat: string): boolean {
  for (let k = 0; k < pat.length; k++) if (fold(text.charCodeAt(from + k), cs) !== pat.charCodeAt(k)) return false;
  return true;
}

export function prefix(cs: boolean, text: string, pat: string): number {
  let t = 0;
  if (!isSpace(pat.charCodeAt(0))) while (t < text.length && isSpace(text.charCodeAt(t))) t++;
  if (text.length - t < pat.length || !same(cs, text, t, pat)) return NO_MATCH;
  return calculateScore(cs, text, pat, t, t + pat.length);
}

export function suffix(cs: boolean, text: string, pat: string): number {
  let end = text.length;
  if (!isSpace(pat.charCodeAt(pat.length - 1))) while (end > 0 && isSpace(text.charCodeAt(end - 1))) end--;
  const from = end - pat.length;
  if (from < 0 || !same(cs, text, from, pat)) return NO_MATCH;
  return calculateScore(cs, text, pat, from, end);
}

export function equal(cs: boolean, text: string, pat: string): number {
  let t = 0;
  let end = text.length;
  if (!isSpace(pat.charCodeAt(0))) while (t < end && isSpace(text.charCodeAt(t))) t++;
  if (!isSpace(pat.charCodeAt(pat.length - 1))) while (end > t && isSpace(text.charCodeAt(end - 1))) end--;
  if (end - t !== pat.length || !same(cs, text, t, pat)) return NO_MATCH;
  return (SCORE_MATCH + BONUS_BOUNDARY) * pat.length + (BONUS_FIRST_CHAR_MULTIPLIER - 1) * BONUS_BOUNDARY;
}

function termScore(t: Term, text: string): number {
  switch (t.type) {
    case "fuzzy":
      return fuzzyV1(t.caseSensitive, text, t.text);
    case "exact":
      return exact(t.caseSensitive, text, t.text);
    case "prefix":
      return prefix(t.caseSensitive, text, t.text);
    case "suffix":
      return suffix(t.caseSensitive, text, t.text);
    case "equal":
      return equal(t.caseSensitive, text, t.text);
  }
}

/** fzf's extended-match total score with the v1 fuzzy algorithm (computeExtendedMatch), or NO_MATCH. */
export function extendedScoreV1(q: ParsedQuery, text: string): number {
  let total = 0;
  for (const set of q) {
    let matched = false;
    let score = 0;
    for (const t of set) {
      const s = termScore(t, text);
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
