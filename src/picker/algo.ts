/**
 * fzf's matching algorithms, written for kodama after fzf 0.38.0's `src/algo/algo.go` (the version Debian
 * bookworm ships, which `.ci/run` installs and the differential test runs against). This is the reference
 * implementation: code points in, score and highlight positions out, every character class and case rule
 * as fzf has it. `ascii.ts` is the allocation-free fast path for ASCII text (scores only); tests check
 * that both agree, and tests/unit/picker/fzf_diff_test.ts checks both against the fzf binary.
 *
 * Scoring (fzf 0.38.0, `--scheme=default`):
 * - a matched character scores 16; a gap costs 3 to open and 1 per further character;
 * - bonus by the classes of the previous and the matched character: 10 after white space or at the start
 *   of the text (`bonusBoundaryWhite`), 9 after a delimiter `/,:;|` (`bonusBoundaryDelimiter`), 8 after
 *   another non-word character (`bonusBoundary`), 8 for a non-word character itself (`bonusNonWord`),
 *   7 for camelCase and the first digit of a number (`bonusCamel123`); the first pattern character's bonus
 *   counts twice (`bonusFirstCharMultiplier`);
 * - in a run of consecutive matches each character gets at least 4 (`bonusConsecutive`) and at least the
 *   bonus of the run's first character; a boundary bonus larger than that starts a new run.
 * - v2 (fzf's default `--algo=v2`) finds the alignment with the highest score (a modified Smith-Waterman);
 *   v1 takes the first occurrence, shortened from its end. fzf itself uses v1 when text length times
 *   pattern length exceeds its 100 KiB slab.
 *
 * The constants above are still current fzf's (v0.74, checked in its source). What fzf changed after 0.38,
 * which kodama does not follow because it matches the fzf it is tested against (see README):
 * - 0.47.0: a delimiter character (`/,:;|`) itself gets `bonusNonWord` (0.38 gives it 0 after a letter);
 * - 0.55.0: a new term type, `'word'`, an exact match on word boundaries;
 * - 0.59.0: `--scheme=path` ranks by file name first (not the default scheme);
 * - 0.60.1: v1's backward scan normalizes diacritics too;
 * - 0.73.0: a non-word character right after white space or a delimiter gets the boundary bonus;
 * - and speed-only fast paths (one- and two-character patterns, a narrower matrix) with the same scores.
 */
import { normalizeRune } from "./normalize.ts";

export const SCORE_MATCH = 16;
export const SCORE_GAP_START = -3;
export const SCORE_GAP_EXTENSION = -1;
export const BONUS_BOUNDARY = SCORE_MATCH / 2;
export const BONUS_NON_WORD = SCORE_MATCH / 2;
export const BONUS_CAMEL_123 = BONUS_BOUNDARY + SCORE_GAP_EXTENSION;
export const BONUS_CONSECUTIVE = -(SCORE_GAP_START + SCORE_GAP_EXTENSION);
export const BONUS_FIRST_CHAR_MULTIPLIER = 2;
export const BONUS_BOUNDARY_WHITE = BONUS_BOUNDARY + 2;
export const BONUS_BOUNDARY_DELIMITER = BONUS_BOUNDARY + 1;
/** fzf's slab for v2's score matrix (`slab16Size`): larger problems fall back to v1 */
export const SLAB_16 = 100 * 1024;

// character classes, in fzf's order (the order matters: `class > NON_WORD` is a word character)
export const WHITE = 0;
export const NON_WORD = 1;
export const DELIMITER = 2;
export const LOWER = 3;
export const UPPER = 4;
export const LETTER = 5;
export const NUMBER = 6;
const CLASSES = 7;

function bonusFor(prev: number, cls: number): number {
  if (cls > NON_WORD) {
    if (prev === WHITE) return BONUS_BOUNDARY_WHITE;
    if (prev === DELIMITER) return BONUS_BOUNDARY_DELIMITER;
    if (prev === NON_WORD) return BONUS_BOUNDARY;
  }
  if ((prev === LOWER && cls === UPPER) || (prev !== NUMBER && cls === NUMBER)) return BONUS_CAMEL_123;
  if (cls === NON_WORD) return BONUS_NON_WORD;
  if (cls === WHITE) return BONUS_BOUNDARY_WHITE;
  return 0;
}

/** Bonus for a character of class `cls` after one of class `prev`: `BONUS[prev * 7 + cls]`. */
export const BONUS = new Int8Array(CLASSES * CLASSES);
for (let p = 0; p < CLASSES; p++) for (let c = 0; c < CLASSES; c++) BONUS[p * CLASSES + c] = bonusFor(p, c);

const DELIMITERS = "/,:;|";
/** Classes of ASCII characters. */
export const ASCII_CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  ASCII_CLASS[c] = c >= 97 && c <= 122
    ? LOWER
    : c >= 65 && c <= 90
    ? UPPER
    : c >= 48 && c <= 57
    ? NUMBER
    : c === 32 || (c >= 9 && c <= 13)
    ? WHITE
    : DELIMITERS.includes(String.fromCharCode(c))
    ? DELIMITER
    : NON_WORD;
}

const classCache = new Map<number, number>();
const lowerCache = new Map<number, number>();
const RE_LOWER = /^\p{Ll}$/u;
const RE_UPPER = /^\p{Lu}$/u;
const RE_NUMBER = /^\p{N}$/u;
const RE_LETTER = /^\p{L}$/u;

/** Go's unicode.IsSpace. */
export function isSpace(c: number): boolean {
  if (c <= 0xff) return c === 32 || (c >= 9 && c <= 13) || c === 0x85 || c === 0xa0;
  return /^\p{White_Space}$/u.test(String.fromCodePoint(c));
}

/** fzf's charClassOf (Go's unicode tables: Ll, Lu, N, L, White_Space). */
export function classOf(c: number): number {
  if (c < 128) return ASCII_CLASS[c];
  let k = classCache.get(c);
  if (k === undefined) {
    const s = String.fromCodePoint(c);
    k = RE_LOWER.test(s)
      ? LOWER
      : RE_UPPER.test(s)
      ? UPPER
      : RE_NUMBER.test(s)
      ? NUMBER
      : RE_LETTER.test(s)
      ? LETTER
      : isSpace(c)
      ? WHITE
      : NON_WORD;
    classCache.set(c, k);
  }
  return k;
}

/** Go's unicode.ToLower of one code point (JS's full mapping, first code point when it expands). */
export function lowerRune(c: number): number {
  if (c < 128) return c >= 65 && c <= 90 ? c + 32 : c;
  let l = lowerCache.get(c);
  if (l === undefined) {
    l = String.fromCodePoint(c).toLowerCase().codePointAt(0)!;
    lowerCache.set(c, l);
  }
  return l;
}

/** A match: [start, end) in code points, fzf's score, and the matched positions when asked for. */
export interface AlgoMatch {
  start: number;
  end: number;
  score: number;
  pos?: number[];
}

export type AlgoFn = (
  caseSensitive: boolean,
  normalize: boolean,
  text: Int32Array,
  pattern: Int32Array,
  withPos: boolean,
) => AlgoMatch | null;

/** The character as v1, exact and calculateScore compare it. */
function fold(c: number, caseSensitive: boolean, normalize: boolean): number {
  if (!caseSensitive) {
    if (c >= 65 && c <= 90) c += 32;
    else if (c > 127) c = lowerRune(c);
  }
  return normalize ? normalizeRune(c) : c;
}

// reused work arrays for v2
let bufH = new Int16Array(1024);
let bufC = new Int16Array(1024);
let bufH0 = new Int16Array(256);
let bufC0 = new Int16Array(256);
let bufB = new Int16Array(256);
let bufT = new Int32Array(256);
const bufF = new Int32Array(1024);

function calculateScore(
  caseSensitive: boolean,
  normalize: boolean,
  text: Int32Array,
  pattern: Int32Array,
  sidx: number,
  eidx: number,
  pos: number[] | undefined,
): number {
  let pidx = 0;
  let score = 0;
  let inGap = false;
  let consecutive = 0;
  let firstBonus = 0;
  let prevClass = sidx > 0 ? classOf(text[sidx - 1]) : WHITE;
  for (let idx = sidx; idx < eidx; idx++) {
    const c = text[idx];
    const cls = classOf(c);
    if (fold(c, caseSensitive, normalize) === pattern[pidx]) {
      pos?.push(idx);
      score += SCORE_MATCH;
      let bonus = BONUS[prevClass * CLASSES + cls];
      if (consecutive === 0) {
        firstBonus = bonus;
      } else {
        if (bonus >= BONUS_BOUNDARY && bonus > firstBonus) firstBonus = bonus;
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

/** fzf's FuzzyMatchV1: the first occurrence, shortened from its end. */
export const fuzzyV1: AlgoFn = (caseSensitive, normalize, text, pattern, withPos) => {
  const m = pattern.length;
  if (m === 0) return { start: 0, end: 0, score: 0, pos: withPos ? [] : undefined };
  const n = text.length;
  let pidx = 0;
  let sidx = -1;
  let eidx = -1;
  for (let i = 0; i < n; i++) {
    if (fold(text[i], caseSensitive, normalize) === pattern[pidx]) {
      if (sidx < 0) sidx = i;
      if (++pidx === m) {
        eidx = i + 1;
        break;
      }
    }
  }
  if (eidx < 0) return null;
  pidx--;
  for (let i = eidx - 1; i >= sidx; i--) {
    // 0.38's backward scan folds case but does not normalize
    if (fold(text[i], caseSensitive, false) === pattern[pidx] && --pidx < 0) {
      sidx = i;
      break;
    }
  }
  const pos = withPos ? [] : undefined;
  return {
    start: sidx,
    end: eidx,
    score: calculateScore(caseSensitive, normalize, text, pattern, sidx, eidx, pos),
    pos,
  };
};

/** fzf's FuzzyMatchV2: the highest-scoring alignment (forward; fzf's default tiebreak). */
export const fuzzyV2: AlgoFn = (caseSensitive, normalize, text, pattern, withPos) => {
  const M = pattern.length;
  if (M === 0) return { start: 0, end: 0, score: 0, pos: withPos ? [] : undefined };
  const N = text.length;
  if (N * M > SLAB_16) return fuzzyV1(caseSensitive, normalize, text, pattern, withPos);
  if (bufT.length < N) {
    bufT = new Int32Array(N * 2);
    bufB = new Int16Array(N * 2);
    bufH0 = new Int16Array(N * 2);
    bufC0 = new Int16Array(N * 2);
  }
  const T = bufT, B = bufB, H0 = bufH0, C0 = bufC0, F = M <= bufF.length ? bufF : new Int32Array(M);

  // Phase 2: bonus per position, the first row, and whether the pattern occurs at all. (fzf 0.38 starts
  // ASCII text one before the first occurrence of the first character; scores are the same from 0.)
  let maxScore = 0;
  let maxScorePos = 0;
  let pidx = 0;
  let lastIdx = 0;
  const pchar0 = pattern[0];
  let pchar = pchar0;
  let prevH0 = 0;
  let prevClass = WHITE;
  let inGap = false;
  for (let off = 0; off < N; off++) {
    let c = text[off];
    let cls: number;
    if (c < 128) {
      cls = ASCII_CLASS[c];
      if (!caseSensitive && cls === UPPER) c += 32;
    } else {
      cls = classOf(c);
      if (!caseSensitive && cls === UPPER) c = lowerRune(c);
      if (normalize) c = normalizeRune(c);
    }
    T[off] = c;
    const bonus = BONUS[prevClass * CLASSES + cls];
    B[off] = bonus;
    prevClass = cls;
    if (c === pchar) {
      if (pidx < M) {
        F[pidx] = off;
        pidx++;
        pchar = pattern[Math.min(pidx, M - 1)];
      }
      lastIdx = off;
    }
    if (c === pchar0) {
      const score = SCORE_MATCH + bonus * BONUS_FIRST_CHAR_MULTIPLIER;
      H0[off] = score;
      C0[off] = 1;
      if (M === 1 && score > maxScore) {
        maxScore = score;
        maxScorePos = off;
        if (bonus >= BONUS_BOUNDARY) break;
      }
      inGap = false;
    } else {
      H0[off] = Math.max(prevH0 + (inGap ? SCORE_GAP_EXTENSION : SCORE_GAP_START), 0);
      C0[off] = 0;
      inGap = true;
    }
    prevH0 = H0[off];
  }
  if (pidx !== M) return null;
  if (M === 1) {
    return {
      start: maxScorePos,
      end: maxScorePos + 1,
      score: maxScore,
      pos: withPos ? [maxScorePos] : undefined,
    };
  }

  // Phase 3: the score matrix H and the length of the consecutive run C, rows 1.. from F[row]
  const f0 = F[0];
  const width = lastIdx - f0 + 1;
  if (bufH.length < width * M) {
    bufH = new Int16Array(width * M * 2);
    bufC = new Int16Array(width * M * 2);
  }
  const H = bufH, C = bufC;
  C.fill(0, 0, width * M);
  H.set(H0.subarray(f0, lastIdx + 1), 0);
  C.set(C0.subarray(f0, lastIdx + 1), 0);
  for (let p = 1; p < M; p++) {
    const f = F[p];
    const pc = pattern[p];
    const row = p * width;
    let gap = false;
    H[row + f - f0 - 1] = 0;
    for (let col = f; col <= lastIdx; col++) {
      const j = row + col - f0;
      let s1 = 0;
      let consecutive = 0;
      const s2: number = H[j - 1] + (gap ? SCORE_GAP_EXTENSION : SCORE_GAP_START);
      if (pc === T[col]) {
        s1 = H[j - width - 1] + SCORE_MATCH;
        let b = B[col];
        consecutive = C[j - width - 1] + 1;
        if (consecutive > 1) {
          const fb = B[col - consecutive + 1];
          if (b >= BONUS_BOUNDARY && b > fb) consecutive = 1;
          else b = Math.max(b, BONUS_CONSECUTIVE, fb);
        }
        if (s1 + b < s2) {
          s1 += B[col];
          consecutive = 0;
        } else {
          s1 += b;
        }
      }
      C[j] = consecutive;
      gap = s1 < s2;
      const score = Math.max(s1, s2, 0);
      if (p === M - 1 && score > maxScore) {
        maxScore = score;
        maxScorePos = col;
      }
      H[j] = score;
    }
  }

  // Phase 4: backtrace for the positions
  let j = f0;
  let pos: number[] | undefined;
  if (withPos) {
    pos = [];
    let i = M - 1;
    j = maxScorePos;
    let preferMatch = true;
    const len = width * M;
    for (;;) {
      const I = i * width;
      const j0 = j - f0;
      const s = H[I + j0];
      let s1 = 0;
      let s2 = 0;
      if (i > 0 && j >= F[i]) s1 = H[I - width + j0 - 1];
      if (j > F[i]) s2 = H[I + j0 - 1];
      if (s > s1 && (s > s2 || (s === s2 && preferMatch))) {
        pos.push(j);
        if (i === 0) break;
        i--;
      }
      preferMatch = C[I + j0] > 1 || (I + width + j0 + 1 < len && C[I + width + j0 + 1] > 0);
      j--;
    }
    pos.reverse();
  }
  return { start: j, end: maxScorePos + 1, score: maxScore, pos };
};

function bonusAt(text: Int32Array, idx: number): number {
  if (idx === 0) return BONUS_BOUNDARY_WHITE;
  return BONUS[classOf(text[idx - 1]) * CLASSES + classOf(text[idx])];
}

/** fzf's ExactMatchNaive: the occurrence whose first character has the largest bonus. */
export const exactMatch: AlgoFn = (caseSensitive, normalize, text, pattern, withPos) => {
  const m = pattern.length;
  if (m === 0) return { start: 0, end: 0, score: 0, pos: withPos ? [] : undefined };
  const n = text.length;
  if (n < m) return null;
  let pidx = 0;
  let bestPos = -1;
  let bonus = 0;
  let bestBonus = -1;
  for (let i = 0; i < n; i++) {
    if (pattern[pidx] === fold(text[i], caseSensitive, normalize)) {
      if (pidx === 0) bonus = bonusAt(text, i);
      pidx++;
      if (pidx === m) {
        if (bonus > bestBonus) {
          bestPos = i;
          bestBonus = bonus;
        }
        if (bonus >= BONUS_BOUNDARY) break;
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
  if (bestPos < 0) return null;
  const sidx = bestPos - m + 1;
  const score = calculateScore(caseSensitive, normalize, text, pattern, sidx, bestPos + 1, undefined);
  return { start: sidx, end: bestPos + 1, score, pos: withPos ? range(sidx, bestPos + 1) : undefined };
};

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, k) => from + k);
}

function leadingWhite(text: Int32Array): number {
  let i = 0;
  while (i < text.length && isSpace(text[i])) i++;
  return i;
}
function trailingWhite(text: Int32Array): number {
  let i = 0;
  while (i < text.length && isSpace(text[text.length - 1 - i])) i++;
  return i;
}

/** Characters of `text` from `at` equal the pattern (unicode.ToLower when case-insensitive)? */
function sameAt(
  caseSensitive: boolean,
  normalize: boolean,
  text: Int32Array,
  at: number,
  pattern: Int32Array,
) {
  for (let k = 0; k < pattern.length; k++) {
    let c = text[at + k];
    if (!caseSensitive) c = lowerRune(c);
    if (normalize) c = normalizeRune(c);
    if (c !== pattern[k]) return false;
  }
  return true;
}

/** fzf's PrefixMatch (leading white space is skipped unless the pattern starts with some). */
export const prefixMatch: AlgoFn = (caseSensitive, normalize, text, pattern, withPos) => {
  const m = pattern.length;
  if (m === 0) return { start: 0, end: 0, score: 0, pos: withPos ? [] : undefined };
  const t = isSpace(pattern[0]) ? 0 : leadingWhite(text);
  if (text.length - t < m || !sameAt(caseSensitive, normalize, text, t, pattern)) return null;
  const score = calculateScore(caseSensitive, normalize, text, pattern, t, t + m, undefined);
  return { start: t, end: t + m, score, pos: withPos ? range(t, t + m) : undefined };
};

/** fzf's SuffixMatch (trailing white space is skipped unless the pattern ends with some). */
export const suffixMatch: AlgoFn = (caseSensitive, normalize, text, pattern, withPos) => {
  const m = pattern.length;
  let end = text.length;
  if (m === 0 || !isSpace(pattern[m - 1])) end -= trailingWhite(text);
  if (m === 0) return { start: end, end, score: 0, pos: withPos ? [] : undefined };
  const from = end - m;
  if (from < 0 || !sameAt(caseSensitive, normalize, text, from, pattern)) return null;
  const score = calculateScore(caseSensitive, normalize, text, pattern, from, end, undefined);
  return { start: from, end, score, pos: withPos ? range(from, end) : undefined };
};

/** fzf's EqualMatch: the whole text (white space at either end aside); a fixed score. */
export const equalMatch: AlgoFn = (caseSensitive, normalize, text, pattern, withPos) => {
  const m = pattern.length;
  if (m === 0) return null;
  const t = isSpace(pattern[0]) ? 0 : leadingWhite(text);
  const te = isSpace(pattern[m - 1]) ? 0 : trailingWhite(text);
  if (text.length - t - te !== m) return null;
  for (let k = 0; k < m; k++) {
    let c = text[t + k];
    if (!caseSensitive) c = lowerRune(c);
    const p = normalize ? normalizeRune(pattern[k]) : pattern[k];
    if (normalize) c = normalizeRune(c);
    if (c !== p) return null;
  }
  const score = (SCORE_MATCH + BONUS_BOUNDARY_WHITE) * m +
    (BONUS_FIRST_CHAR_MULTIPLIER - 1) * BONUS_BOUNDARY_WHITE;
  return { start: t, end: t + m, score, pos: withPos ? range(t, t + m) : undefined };
};

/** Code points of a string. */
export function codePoints(s: string): Int32Array {
  const out = new Int32Array(s.length);
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.codePointAt(i)!;
    out[n++] = c;
    if (c > 0xffff) i++;
  }
  return n === s.length ? out : out.slice(0, n);
}
