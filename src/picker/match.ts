/**
 * fzf-compatible matching for the picker and `kodama pick --filter`: same match set, same scores, same
 * order as fzf 0.38.0 (Debian bookworm's, the one the differential test runs), with kodama's own port
 * of fzf's algorithms (`algo.ts`, fast path `ascii.ts`; the constants and what later fzf versions
 * changed are written down in `algo.ts`). npm:fzf was replaced because it ports an older fzf: no
 * `bonusBoundaryWhite`/`bonusBoundaryDelimiter`, an older consecutive-run rule and another tiebreak.
 *
 * Query syntax is fzf's extended syntax: space-separated terms are ANDed, `|` ORs neighbouring terms,
 * `'exact`, `^prefix`, `suffix$`, `^equal$`, `!negate` (`!'x` = negated fuzzy); everything else is fuzzy.
 * Smart case: a term with an upper-case letter is case-sensitive. A term without diacritics matches
 * letters with them (`cafe` matches `café`).
 * Ranking (fzf's default `--tiebreak=length`): score, descending; then the shorter text (white space at
 * either end aside); then input order. A query of negations only keeps input order, as fzf does.
 * Items may name an `anchor` (the pod name in `ns/name`): `^`/`$` terms without a `/` then match from
 * there, as fzf's `--nth` would; terms with a `/` match the whole text.
 *
 * Speed (50,000 items, each keystroke < 16 ms at p95) comes from these, none of which changes results:
 * 1. ASCII text (pod names always are) is scored by `ascii.ts`, allocation-free, on native string scans.
 * 2. Incremental filtering: when the new query can only narrow an earlier one (`ap` -> `api`), only that
 *    query's matches are scanned. Results are cached by parsed query, so Backspace, a trailing space or a
 *    lone `^` being typed are cache hits.
 * 3. Highlight positions are computed lazily, for the rows on screen only (`positions`).
 * 4. Per-item work arrays are reused between keystrokes; the (length, index) order is precomputed, and
 *    the final order is a counting sort by score over a pass in that order.
 */
import {
  type AlgoFn,
  type AlgoMatch,
  codePoints,
  equalMatch,
  exactMatch,
  fuzzyV1,
  fuzzyV2,
  isSpace,
  prefixMatch,
  suffixMatch,
} from "./algo.ts";
import * as fast from "./ascii.ts";
import { normalizeRune } from "./normalize.ts";

const NO_MATCH = fast.NO_MATCH;

/** fzf's fuzzy algorithm: v2 (its default, optimal alignment) or v1 (`--algo=v1`, first occurrence). */
export type Algo = "v1" | "v2";

// ---------------------------------------------------------------------------------------------
// Query parsing (mirrors fzf's parseTerms; used for the prefilter and to pick the fast path)

export type TermType = "fuzzy" | "exact" | "prefix" | "suffix" | "equal";
export interface Term {
  type: TermType;
  inv: boolean;
  /** lower-cased unless caseSensitive (normalized when `normalize`) */
  text: string;
  caseSensitive: boolean;
  /** fzf's per-term normalization: on unless the term itself has letters with diacritics */
  normalize: boolean;
  /** the text as code points */
  runes: Int32Array;
  /** the text is ASCII (then the fast path scores ASCII items; otherwise no ASCII item can match) */
  ascii: boolean;
  /** `^`, `$` and `^…$` terms without a `/`: matched from an item's `anchor` (the pod name) */
  anchored: boolean;
}
/** AND of OR-sets of terms. */
export type ParsedQuery = Term[][];

/** Trim the query as fzf's BuildPattern does: leading spaces; trailing ones unless escaped (`\ `). */
function trimQuery(q: string): string {
  let i = 0;
  while (q[i] === " ") i++;
  q = q.substring(i);
  while (q.endsWith(" ") && !q.endsWith("\\ ")) q = q.substring(0, q.length - 1);
  return q;
}

function normalizeString(s: string): string {
  let out = "";
  for (const ch of s) out += String.fromCodePoint(normalizeRune(ch.codePointAt(0)!));
  return out;
}

/** fzf 0.38's parseTerms (extended mode, smart case, normalization on). */
export function parseQuery(query: string): ParsedQuery {
  const tokens = trimQuery(query).replaceAll("\\ ", "\t").split(/ +/);
  const sets: Term[][] = [];
  let set: Term[] = [];
  let switchSet = false;
  let afterBar = false;
  for (const token of tokens) {
    let text = token.replaceAll("\t", " ");
    let type: TermType = "fuzzy";
    let inv = false;
    const lower = text.toLowerCase();
    const caseSensitive = text !== lower;
    const normalize = lower === normalizeString(lower);
    if (!caseSensitive) text = lower;
    if (set.length > 0 && !afterBar && text === "|") {
      switchSet = false;
      afterBar = true;
      continue;
    }
    afterBar = false;
    if (text.startsWith("!")) {
      inv = true;
      type = "exact";
      text = text.substring(1);
    }
    if (text !== "$" && text.endsWith("$")) {
      type = "suffix";
      text = text.substring(0, text.length - 1);
    }
    if (text.startsWith("'")) {
      type = inv ? "fuzzy" : "exact";
      text = text.substring(1);
    } else if (text.startsWith("^")) {
      type = type === "suffix" ? "equal" : "prefix";
      text = text.substring(1);
    }
    if (text.length > 0) {
      if (switchSet) {
        sets.push(set);
        set = [];
      }
      if (normalize) text = normalizeString(text);
      set.push({
        type,
        inv,
        text,
        caseSensitive,
        normalize,
        runes: codePoints(text),
        ascii: isAscii(text),
        anchored: type !== "fuzzy" && type !== "exact" && !text.includes("/"),
      });
      switchSet = true;
    }
  }
  if (set.length > 0) sets.push(set);
  return sets;
}

/** fzf sorts only when the query has a term that is not a negation. */
function sortable(q: ParsedQuery): boolean {
  return q.some((set) => set.some((t) => !t.inv));
}

/**
 * True when every item matching `next` also matches `prev`, so `next` may search `prev`'s matches only.
 * Conservative: any `|` or escape disables it; extending a negation or a `suffix$` term does not narrow,
 * nor does a term gaining a `/` (an anchored term then matches `ns/name` instead of the name).
 */
export function narrows(prev: string, next: string): boolean {
  if (/[|\\]/.test(prev) || /[|\\]/.test(next)) return false;
  const a = prev.trim().split(/ +/).filter(Boolean);
  const b = next.trim().split(/ +/).filter(Boolean);
  if (a.length === 0) return true;
  if (b.length < a.length) return false;
  for (let i = 0; i < a.length - 1; i++) if (a[i] !== b[i]) return false;
  const last = a[a.length - 1];
  const now = b[a.length - 1];
  if (last === now) return true;
  if (!now.startsWith(last)) return false;
  if (last.startsWith("!")) return last === "!";
  if (last.endsWith("$")) return false;
  if (now.includes("/") && !last.includes("/")) return false;
  return true;
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 127) return false;
  return true;
}

/** A cache key: equal for queries that parse to the same terms. */
function canonical(q: ParsedQuery): string {
  return JSON.stringify(
    q.map((set) => set.map((t) => [t.type, t.inv, t.caseSensitive, t.normalize, t.text])),
  );
}

/** fzf's TrimLength: length in code points without white space at either end. */
function trimLength(s: string): number {
  if (isAscii(s)) {
    let end = s.length;
    while (end > 0 && isSpace(s.charCodeAt(end - 1))) end--;
    let start = 0;
    while (start < end && isSpace(s.charCodeAt(start))) start++;
    return Math.min(end - start, 0xffff);
  }
  const cps = codePoints(s);
  let i = cps.length - 1;
  while (i >= 0 && isSpace(cps[i])) i--;
  if (i < 0) return 0;
  let j = 0;
  while (isSpace(cps[j])) j++;
  return Math.min(i - j + 1, 0xffff);
}

const GENERIC: Record<TermType, AlgoFn | undefined> = {
  fuzzy: undefined,
  exact: exactMatch,
  prefix: prefixMatch,
  suffix: suffixMatch,
  equal: equalMatch,
};

// ---------------------------------------------------------------------------------------------

export interface MatchResult {
  query: string;
  /** matched item indices, best first */
  indices: Int32Array;
  /** scores of `indices` (fzf's, clamped to 0..65535 as fzf does); empty when `all` */
  scores: Int32Array;
  /** true when the query has no terms: every item, in input order, nothing to highlight */
  all: boolean;
  /** memo of highlight positions per item index (filled lazily by `Matcher.positions`) */
  positions: Map<number, number[]>;
}

export interface MatcherOptions {
  /** fzf's fuzzy algorithm (default v2, as fzf's default) */
  algo?: Algo;
  /** how many recent results to keep for incremental filtering and Backspace (default 64) */
  cacheSize?: number;
}

/**
 * Items to match: `text` is matched; `anchor` (default 0) is where `^`/`$` terms without a `/` start
 * matching, in code points (the pod name in `ns/name`).
 */
export interface MatchEntry {
  text: string;
  anchor?: number;
}

export class Matcher {
  /** matched text per item index (treat as read-only) */
  texts: string[];
  private anchors: number[];
  private lower: string[];
  private runes: (Int32Array | undefined)[];
  private ascii: boolean[];
  private lengths: number[];
  /** per-character bonuses of ASCII items (`ascii.ts`), item i's at `bonusAt[i]` */
  private bonusBuf = new Uint8Array(0);
  private bonusAt: number[];
  private bonusUsed = 0;
  /** flat copies of the ASCII texts for case-sensitive terms (built on the first such query) */
  private flat: string[] | undefined;
  /** item index for each rank by (trimmed length, index): fzf's tiebreak */
  private byRank!: Int32Array;
  private cache = new Map<string, MatchResult>();
  readonly algo: Algo;
  private cacheSize: number;

  constructor(entries: readonly MatchEntry[], opts: MatcherOptions = {}) {
    this.algo = opts.algo ?? "v2";
    this.cacheSize = opts.cacheSize ?? 64;
    this.texts = [];
    this.anchors = [];
    this.lower = [];
    this.runes = [];
    this.ascii = [];
    this.lengths = [];
    this.bonusAt = [];
    this.push(entries);
    this.byRank = this.rankOrder();
  }

  get size(): number {
    return this.texts.length;
  }

  /** A new matcher with `entries` appended (indices of existing items are unchanged). */
  withAdded(entries: readonly MatchEntry[]): Matcher {
    const m = Object.create(Matcher.prototype) as Matcher;
    Object.assign(m, this);
    m.texts = this.texts.slice();
    m.anchors = this.anchors.slice();
    m.lower = this.lower.slice();
    m.runes = this.runes.slice();
    m.ascii = this.ascii.slice();
    m.lengths = this.lengths.slice();
    m.bonusAt = this.bonusAt.slice();
    // its own bonus buffer: two matchers derived from this one must not write into the same free space
    m.bonusBuf = this.bonusBuf.slice(0, this.bonusUsed);
    m.flat = undefined;
    m.cache = new Map();
    m.scratchBufs = [];
    m.push(entries);
    m.byRank = m.rankOrder();
    return m;
  }

  private push(entries: readonly MatchEntry[]): void {
    let need = this.bonusUsed;
    for (const e of entries) need += e.text.length;
    if (need > this.bonusBuf.length) {
      // grow by copying
      const grown = new Uint8Array(need + (need >> 2));
      grown.set(this.bonusBuf.subarray(0, this.bonusUsed));
      this.bonusBuf = grown;
    }
    for (const e of entries) {
      const ascii = isAscii(e.text);
      this.bonusAt.push(this.bonusUsed);
      if (ascii) {
        fast.bonuses(e.text, this.bonusBuf, this.bonusUsed);
        this.bonusUsed += e.text.length;
      }
      this.texts.push(e.text);
      this.anchors.push(e.anchor ?? 0);
      this.lower.push(ascii ? e.text.toLowerCase() : "");
      this.runes.push(undefined); // built on first use (non-ASCII items, highlights)
      this.ascii.push(ascii);
      this.lengths.push(trimLength(e.text));
    }
  }

  /** Items by (trimmed length, index): a counting sort by length, which keeps index order within a length. */
  private rankOrder(): Int32Array {
    const n = this.size;
    const lengths = this.lengths;
    let max = 0;
    for (let i = 0; i < n; i++) if (lengths[i] > max) max = lengths[i];
    const counts = new Int32Array(max + 2);
    for (let i = 0; i < n; i++) counts[lengths[i] + 1]++;
    for (let l = 1; l <= max + 1; l++) counts[l] += counts[l - 1];
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[counts[lengths[i]]++] = i;
    return out;
  }

  /**
   * Run the hot paths once so the JIT has compiled them before the first keystroke (the picker does this
   * right after its first draw, one step per timer tick so keys typed meanwhile are not held up).
   * Leaves no trace in the cache.
   */
  warm(): void {
    for (let i = 0; this.warmStep(i); i++) { /* all steps */ }
  }

  /** Warm-up step `i` (0, 1, …); false once there are no more steps. */
  warmStep(i: number): boolean {
    // the real item set, so the scans run with the shapes and sizes they will see
    const real = ["e", "e-", "e-s", "^e", "^e !x", "s | t$", "t", "t-", "'t-"];
    if (i < real.length) {
      const r = this.match(real[i]);
      this.positions(r, Array.from(r.indices.subarray(0, 40)));
      // keep results between steps (the narrowing path gets warm too); forget them after the last one
      if (i === real.length - 1) this.cache.clear();
      return true;
    }
    return false;
  }

  /** Reused per-item work arrays (fresh arrays per keystroke cost GC time at 50,000 items). */
  private scratchBufs: Int32Array[] = [];
  private scratch(k: number): Int32Array {
    const b = this.scratchBufs[k];
    if (b && b.length === this.size) return b;
    return this.scratchBufs[k] = new Int32Array(this.size);
  }

  /** The text as a flat string (texts built by concatenation are slow to index). */
  private flatText(i: number): string {
    this.flat ??= JSON.parse(JSON.stringify(this.texts)) as string[];
    return this.flat[i];
  }

  private runesOf(i: number): Int32Array {
    return this.runes[i] ??= codePoints(this.texts[i]);
  }

  /**
   * Match `query` against all items. Results are cached by the parsed query, so queries that differ only
   * in ignored characters (a trailing space, a lone `^` or `!` being typed) are cache hits.
   */
  match(query: string): MatchResult {
    const key = canonical(parseQuery(query));
    const cached = this.cache.get(key);
    if (cached) {
      // refresh LRU position
      this.cache.delete(key);
      this.cache.set(key, cached);
      return cached;
    }
    const result = this.compute(query);
    this.cache.set(key, result);
    if (this.cache.size > this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
    return result;
  }

  private compute(query: string): MatchResult {
    const parsed = parseQuery(query);
    if (parsed.length === 0) {
      return {
        query,
        indices: Int32Array.from({ length: this.size }, (_, i) => i),
        scores: new Int32Array(0),
        all: true,
        positions: new Map(),
      };
    }
    // Candidates in index order (sequential memory access matters at 50,000 items): all items, or the
    // matches of the smallest earlier result that this query narrows.
    let base: MatchResult | undefined;
    for (const r of this.cache.values()) {
      if (
        !r.all && r.query !== query && narrows(r.query, query) &&
        (!base || r.indices.length < base.indices.length)
      ) {
        base = r;
      }
    }
    const n = this.size;
    // candidates as a mask, so the scan below runs in index order without sorting them
    let mask: Int32Array | null = null;
    if (base) {
      mask = this.scratch(3).fill(0);
      const b = base.indices;
      for (let k = 0; k < b.length; k++) mask[b[k]] = 1;
    }
    const scoreOf = this.scratch(0).fill(NO_MATCH);
    const one = parsed.length === 1 && parsed[0].length === 1 ? parsed[0][0] : undefined;
    if (one && one.type === "fuzzy" && !one.inv && one.ascii && !one.caseSensitive) {
      // the common case (one word being typed): the fast path without the extended-match loop
      const fn = this.algo === "v2" ? fast.fuzzyV2 : fast.fuzzyV1;
      const { lower, ascii, bonusBuf, bonusAt } = this;
      const pat = one.text;
      for (let i = 0; i < n; i++) {
        if (mask && mask[i] === 0) continue;
        if (!ascii[i]) {
          scoreOf[i] = this.scoreGeneric(parsed, i);
          continue;
        }
        const s = fn(lower[i], bonusBuf, bonusAt[i], pat, 0);
        scoreOf[i] = s === NO_MATCH || s >= 0 ? s : 0;
      }
      return { query, ...this.collect(scoreOf, true), all: false, positions: new Map() };
    }
    for (let i = 0; i < n; i++) {
      if (mask && mask[i] === 0) continue;
      scoreOf[i] = this.ascii[i] ? this.scoreFast(parsed, i) : this.scoreGeneric(parsed, i);
    }
    return { query, ...this.collect(scoreOf, sortable(parsed)), all: false, positions: new Map() };
  }

  /** fzf's extendedMatch total for an ASCII item (the fast path), or NO_MATCH. */
  private scoreFast(q: ParsedQuery, i: number): number {
    const lower = this.lower[i];
    const anchor = this.anchors[i];
    const v2 = this.algo === "v2";
    const bon = this.bonusBuf;
    const off = this.bonusAt[i];
    let total = 0;
    for (let k = 0; k < q.length; k++) {
      const set = q[k];
      let matched = false;
      let score = 0;
      for (let t = 0; t < set.length; t++) {
        const term = set[t];
        let s = NO_MATCH;
        if (term.ascii) {
          const folded = term.caseSensitive ? this.flatText(i) : lower;
          const from = term.anchored ? anchor : 0;
          switch (term.type) {
            case "fuzzy":
              s = v2
                ? fast.fuzzyV2(folded, bon, off, term.text, from)
                : fast.fuzzyV1(folded, bon, off, term.text, from);
              break;
            case "exact":
              s = fast.exact(folded, bon, off, term.text, from);
              break;
            case "prefix":
              s = fast.prefix(folded, bon, off, term.text, from);
              break;
            case "suffix":
              s = fast.suffix(folded, bon, off, term.text, from);
              break;
            case "equal":
              s = fast.equal(folded, bon, off, term.text, from);
              break;
          }
        }
        if (s !== NO_MATCH) {
          if (term.inv) continue;
          score = s;
          matched = true;
          break;
        } else if (term.inv) {
          score = 0;
          matched = true;
        }
      }
      if (!matched) return NO_MATCH;
      total += score;
    }
    return total < 0 ? 0 : total > 0xffff ? 0xffff : total;
  }

  /** One term against item `i` with the reference algorithms (any text), positions when asked. */
  private termMatch(term: Term, i: number, withPos: boolean): AlgoMatch | null {
    const all = this.runesOf(i);
    const from = term.anchored ? this.anchors[i] : 0;
    const input = from > 0 ? all.subarray(from) : all;
    const fn = GENERIC[term.type] ?? (this.algo === "v2" ? fuzzyV2 : fuzzyV1);
    const m = fn(term.caseSensitive, term.normalize, input, term.runes, withPos);
    if (m && from > 0) {
      m.start += from;
      m.end += from;
      if (m.pos) m.pos = m.pos.map((p) => p + from);
    }
    return m;
  }

  /** fzf's extendedMatch over item `i` with the reference algorithms: score (or NO_MATCH) and positions. */
  private extended(q: ParsedQuery, i: number, withPos: boolean): { score: number; pos: number[] } {
    let total = 0;
    const pos: number[] = [];
    for (const set of q) {
      let matched = false;
      let score = 0;
      for (const term of set) {
        const m = this.termMatch(term, i, withPos && !term.inv);
        if (m) {
          if (term.inv) continue;
          score = m.score;
          matched = true;
          if (m.pos) pos.push(...m.pos);
          break;
        } else if (term.inv) {
          score = 0;
          matched = true;
        }
      }
      if (!matched) return { score: NO_MATCH, pos: [] };
      total += score;
    }
    return { score: total < 0 ? 0 : total > 0xffff ? 0xffff : total, pos };
  }

  private scoreGeneric(q: ParsedQuery, i: number): number {
    return this.extended(q, i, false).score;
  }

  /**
   * Matched items by score (descending), ties by (trimmed length, index): a pass in that order, then a
   * stable counting sort by score. Unsortable queries (negations only) keep input order, as in fzf.
   */
  private collect(scoreOf: Int32Array, sort: boolean): { indices: Int32Array; scores: Int32Array } {
    const n = this.size;
    const idx = this.scratch(1);
    const scores = this.scratch(2);
    let m = 0;
    let max = -Infinity;
    let min = Infinity;
    for (let r = 0; r < n; r++) {
      const i = sort ? this.byRank[r] : r;
      const s = scoreOf[i];
      if (s === NO_MATCH) continue;
      idx[m] = i;
      scores[m++] = s;
      if (s > max) max = s;
      if (s < min) min = s;
    }
    if (!sort) return { indices: idx.slice(0, m), scores: scores.slice(0, m) };
    return stableSortByScoreDesc(idx.subarray(0, m), scores.subarray(0, m), min, max);
  }

  /** Highlight positions (indices into `texts[i]`, by code point) for the given items of a result. */
  positions(result: MatchResult, items: readonly number[]): Map<number, number[]> {
    const out = new Map<number, number[]>();
    if (result.all) {
      for (const i of items) out.set(i, []);
      return out;
    }
    const q = parseQuery(result.query);
    for (const i of items) {
      let p = result.positions.get(i);
      if (!p) {
        p = [...new Set(this.extended(q, i, true).pos)].sort((a, b) => a - b);
        result.positions.set(i, p);
      }
      out.set(i, p);
    }
    return out;
  }
}

/** Counting sort by score, descending, keeping the input order within a score. */
function stableSortByScoreDesc(
  idx: Int32Array,
  scores: Int32Array,
  min: number,
  max: number,
): { indices: Int32Array; scores: Int32Array } {
  const n = idx.length;
  if (n === 0) return { indices: new Int32Array(0), scores: new Int32Array(0) };
  const range = max - min + 1;
  const counts = new Int32Array(range + 1);
  for (let k = 0; k < n; k++) counts[max - scores[k] + 1]++;
  for (let b = 1; b <= range; b++) counts[b] += counts[b - 1];
  const out = new Int32Array(n);
  const outScores = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    const at = counts[max - scores[k]]++;
    out[at] = idx[k];
    outScores[at] = scores[k];
  }
  return { indices: out, scores: outScores };
}
