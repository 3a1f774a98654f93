/**
 * The fast path of `algo.ts` for ASCII text (pod names always are): fzf 0.38's v1, v2, exact, prefix,
 * suffix and equal scores, without allocations and without positions. The scans run on native
 * indexOf/lastIndexOf over the folded text; v2's matrix is kept as two rolling rows. Scores are identical
 * to `algo.ts` (checked on random names and queries in tests/unit/picker/match_test.ts).
 *
 * `folded` is the item, lower-cased when the term is case-insensitive; `pat` the term (ASCII).
 * `bon[off + j]` is the bonus of the item's character j, precomputed per item by `bonuses` (it depends on
 * the item only; reading one byte is cheaper than classifying two characters in every cell).
 * `base` is where the matched text starts (the pod name in `ns/name` for anchored terms in the -A
 * picker): the text before it is invisible, as for fzf's `--nth`.
 */
import {
  ASCII_CLASS,
  BONUS,
  BONUS_BOUNDARY,
  BONUS_BOUNDARY_WHITE,
  BONUS_CONSECUTIVE,
  BONUS_FIRST_CHAR_MULTIPLIER,
  SCORE_GAP_EXTENSION,
  SCORE_GAP_START,
  SCORE_MATCH,
  SLAB_16,
  WHITE,
} from "./algo.ts";

/** The bonus of each character of ASCII `text` (fzf's bonusFor of the previous and this character's class). */
export function bonuses(text: string, out: Uint8Array, off: number): void {
  let prev = WHITE;
  for (let j = 0; j < text.length; j++) {
    const cls = ASCII_CLASS[text.charCodeAt(j)];
    out[off + j] = BONUS[prev * 7 + cls];
    prev = cls;
  }
}

/** The bonus of a character at the start of the text (case does not change it). */
function startBonus(folded: string, j: number): number {
  return BONUS[WHITE * 7 + ASCII_CLASS[folded.charCodeAt(j)]];
}

export const NO_MATCH = -0x80000000;

function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

function calculateScore(
  folded: string,
  bon: Uint8Array,
  off: number,
  pat: string,
  base: number,
  sidx: number,
  eidx: number,
) {
  let pidx = 0;
  let score = 0;
  let inGap = false;
  let consecutive = 0;
  let firstBonus = 0;
  for (let idx = sidx; idx < eidx; idx++) {
    if (folded.charCodeAt(idx) === pat.charCodeAt(pidx)) {
      score += SCORE_MATCH;
      let bonus = idx === base ? startBonus(folded, idx) : bon[off + idx];
      if (consecutive === 0) {
        firstBonus = bonus;
      } else {
        if (bonus >= BONUS_BOUNDARY && bonus > firstBonus) firstBonus = bonus;
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
  }
  return score;
}

/** fzf's FuzzyMatchV1 score, or NO_MATCH. */
export function fuzzyV1(folded: string, bon: Uint8Array, off: number, pat: string, base = 0): number {
  const m = pat.length;
  let p = folded.indexOf(pat[0], base);
  if (p < 0) return NO_MATCH;
  for (let k = 1; k < m; k++) {
    p = folded.indexOf(pat[k], p + 1);
    if (p < 0) return NO_MATCH;
  }
  const eidx = p + 1;
  // backward: the shortest window ending at eidx
  for (let k = m - 2; k >= 0; k--) p = folded.lastIndexOf(pat[k], p - 1);
  return calculateScore(folded, bon, off, pat, base, p, eidx);
}

// v2's cells at the occurrences of a pattern character (one row of fzf's matrix): column, score, in-gap
// flag and consecutive-run length, for the previous and the current row
let E_POS = new Int32Array(64);
let E_VAL = new Int32Array(64);
let E_GAP = new Uint8Array(64);
let E_RUN = new Int32Array(64);
let F_POS = new Int32Array(64);
let F_VAL = new Int32Array(64);
let F_GAP = new Uint8Array(64);
let F_RUN = new Int32Array(64);
let ROW_START = new Int32Array(16);

/**
 * fzf's FuzzyMatchV2 score (forward), or NO_MATCH.
 *
 * fzf fills a matrix: a row per pattern character, a column per text character from the first match.
 * Only the cells where a row's own character occurs can gain; between them a row decays in closed form
 * (the last value minus 3, then 1 per column, down to 0, where a row that reached 0 is out of its gap).
 * So this computes the cells at the occurrences only (found with indexOf), each with fzf's exact step,
 * which costs the occurrences instead of (text length × pattern length).
 */
export function fuzzyV2(folded: string, bon: Uint8Array, off: number, pat: string, base = 0): number {
  const M = pat.length;
  const f0 = folded.indexOf(pat[0], base);
  if (f0 < 0) return NO_MATCH;
  if ((folded.length - base) * M > SLAB_16) return fuzzyV1(folded, bon, off, pat, base);
  if (M === 1) {
    // the best first-character bonus; fzf stops at the first one at a word boundary
    let best = 0;
    for (let p = f0; p >= 0; p = folded.indexOf(pat[0], p + 1)) {
      const bonus = p === base ? startBonus(folded, p) : bon[off + p];
      const score = SCORE_MATCH + bonus * BONUS_FIRST_CHAR_MULTIPLIER;
      if (score > best) {
        best = score;
        if (bonus >= BONUS_BOUNDARY) break;
      }
    }
    return best;
  }
  // the greedy occurrence decides that there is a match, and where each row starts (fzf's F)
  if (ROW_START.length < M) ROW_START = new Int32Array(M * 2);
  const F = ROW_START;
  let p = f0;
  for (let k = 1; k < M; k++) {
    p = folded.indexOf(pat[k], p + 1);
    if (p < 0) return NO_MATCH;
    F[k] = p;
  }
  const lastIdx = folded.lastIndexOf(pat[M - 1]);
  if (E_POS.length <= lastIdx) {
    const size = (lastIdx + 1) * 2;
    E_POS = new Int32Array(size);
    E_VAL = new Int32Array(size);
    E_GAP = new Uint8Array(size);
    E_RUN = new Int32Array(size);
    F_POS = new Int32Array(size);
    F_VAL = new Int32Array(size);
    F_GAP = new Uint8Array(size);
    F_RUN = new Int32Array(size);
  }
  let pPos = E_POS, pVal = E_VAL, pGap = E_GAP, pRun = E_RUN;
  let cPos = F_POS, cVal = F_VAL, cGap = F_GAP, cRun = F_RUN;
  // row 0: 16 + 2·bonus at each occurrence of the first character
  let nPrev = 0;
  for (let q = f0; q >= 0 && q < lastIdx; q = folded.indexOf(pat[0], q + 1)) {
    pPos[nPrev] = q;
    pVal[nPrev] = SCORE_MATCH +
      (q === base ? startBonus(folded, q) : bon[off + q]) * BONUS_FIRST_CHAR_MULTIPLIER;
    pGap[nPrev] = 0;
    pRun[nPrev++] = 1;
  }
  let maxScore = 0;
  for (let r = 1; r < M; r++) {
    const ch = pat[r];
    const last = r === M - 1;
    const f = F[r]; // the row starts here, with 0 on its left, not in a gap
    // the cells that matter: the next row reads this one up to the column before its last
    const end = last ? lastIdx : lastIdx - 1;
    let lastPos = f - 1;
    let lastVal = 0;
    let lastGap = false;
    let ptr = 0;
    let n = 0;
    for (let q = f; q >= 0 && q <= end; q = q < end ? folded.indexOf(ch, q + 1) : -1) {
      // this row left of q
      let left = lastVal;
      let gapLeft = lastGap;
      if (q - lastPos > 1) {
        left = lastVal + (lastGap ? SCORE_GAP_EXTENSION : SCORE_GAP_START) +
          (q - lastPos - 2) * SCORE_GAP_EXTENSION;
        gapLeft = left > 0;
        if (left < 0) left = 0;
      }
      // the previous row at q - 1 (its last cell at or before q - 1, decayed)
      while (ptr + 1 < nPrev && pPos[ptr + 1] < q) ptr++;
      const d = q - 1 - pPos[ptr];
      let diag = pVal[ptr];
      let run = 0;
      if (d === 0) {
        run = pRun[ptr];
      } else {
        diag += (pGap[ptr] ? SCORE_GAP_EXTENSION : SCORE_GAP_START) + (d - 1) * SCORE_GAP_EXTENSION;
        if (diag < 0) diag = 0;
      }
      const s2: number = left + (gapLeft ? SCORE_GAP_EXTENSION : SCORE_GAP_START);
      let s1 = diag + SCORE_MATCH;
      const bq = q === base ? startBonus(folded, q) : bon[off + q];
      let b = bq;
      let consecutive = run + 1;
      if (consecutive > 1) {
        const start = q - consecutive + 1;
        const fb = start === base ? startBonus(folded, start) : bon[off + start];
        if (b >= BONUS_BOUNDARY && b > fb) {
          consecutive = 1;
        } else {
          if (BONUS_CONSECUTIVE > b) b = BONUS_CONSECUTIVE;
          if (fb > b) b = fb;
        }
      }
      if (s1 + b < s2) {
        s1 += bq;
        consecutive = 0;
      } else {
        s1 += b;
      }
      let score = s1 > s2 ? s1 : s2;
      if (score < 0) score = 0;
      if (last && score > maxScore) maxScore = score;
      cPos[n] = q;
      cVal[n] = score;
      cGap[n] = s1 < s2 ? 1 : 0;
      cRun[n++] = consecutive;
      lastPos = q;
      lastVal = score;
      lastGap = s1 < s2;
    }
    const tPos = pPos, tVal = pVal, tGap = pGap, tRun = pRun;
    pPos = cPos;
    pVal = cVal;
    pGap = cGap;
    pRun = cRun;
    cPos = tPos;
    cVal = tVal;
    cGap = tGap;
    cRun = tRun;
    nPrev = n;
  }
  return maxScore;
}

/** fzf's ExactMatchNaive score, or NO_MATCH: the occurrence with the best bonus at its start. */
export function exact(folded: string, bon: Uint8Array, off: number, pat: string, base = 0): number {
  const m = pat.length;
  let bestPos = -1;
  let bestBonus = -1;
  // occurrences left to right (fzf's naive scan visits them in this order too)
  for (let i = folded.indexOf(pat, base); i >= 0; i = folded.indexOf(pat, i + 1)) {
    const bonus = i === base ? BONUS_BOUNDARY_WHITE : bon[off + i];
    if (bonus > bestBonus) {
      bestPos = i;
      bestBonus = bonus;
    }
    if (bonus >= BONUS_BOUNDARY) break;
  }
  if (bestPos < 0) return NO_MATCH;
  return calculateScore(folded, bon, off, pat, base, bestPos, bestPos + m);
}

export function prefix(folded: string, bon: Uint8Array, off: number, pat: string, base = 0): number {
  let t = base;
  if (!isSpace(pat.charCodeAt(0))) { while (t < folded.length && isSpace(folded.charCodeAt(t))) t++; }
  if (folded.length - t < pat.length || !folded.startsWith(pat, t)) return NO_MATCH;
  return calculateScore(folded, bon, off, pat, base, t, t + pat.length);
}

export function suffix(folded: string, bon: Uint8Array, off: number, pat: string, base = 0): number {
  let end = folded.length;
  if (!isSpace(pat.charCodeAt(pat.length - 1))) {
    while (end > base && isSpace(folded.charCodeAt(end - 1))) end--;
  }
  const from = end - pat.length;
  if (from < base || !folded.startsWith(pat, from)) return NO_MATCH;
  return calculateScore(folded, bon, off, pat, base, from, end);
}

export function equal(folded: string, _bon: Uint8Array, _off: number, pat: string, base = 0): number {
  let t = base;
  let end = folded.length;
  if (!isSpace(pat.charCodeAt(0))) { while (t < end && isSpace(folded.charCodeAt(t))) t++; }
  if (!isSpace(pat.charCodeAt(pat.length - 1))) {
    while (end > t && isSpace(folded.charCodeAt(end - 1))) end--;
  }
  if (end - t !== pat.length || !folded.startsWith(pat, t)) return NO_MATCH;
  return (SCORE_MATCH + BONUS_BOUNDARY_WHITE) * pat.length +
    (BONUS_FIRST_CHAR_MULTIPLIER - 1) * BONUS_BOUNDARY_WHITE;
}
