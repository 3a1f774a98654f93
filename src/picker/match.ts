/**
 * fzf-compatible matching for the picker, built on `npm:fzf` (fzf's own algorithms and scores).
 *
 * Query syntax is fzf's extended syntax: space-separated terms are ANDed, `|` ORs neighbouring terms,
 * `'exact`, `^prefix`, `suffix$`, `^equal$`, `!negate` (`!'x` = negated fuzzy); everything else is fuzzy.
 * Smart case: a term with an upper-case letter is case-sensitive.
 * Ranking: fzf score (descending); ties by shorter name, then name (then input order).
 *
 * Speed (50,000 items, each keystroke < 16 ms at p95) comes from four things, none of which change results:
 * 1. a cheap string prefilter (`includes`/in-order `indexOf` on pre-lowered text) that only drops items
 *    fzf could not match, so the fzf algorithms run on the survivors only;
 * 2. incremental filtering: when the new query can only narrow an earlier one (`ap` -> `api`), only that
 *    earlier query's matches are searched; recent results are cached, so Backspace is a cache hit;
 * 3. fzf's optimal v2 algorithm (called in `npm:fzf`) while at most `v2Limit` candidates survive the
 *    prefilter; above that the greedy v1 algorithm (fzf itself falls back to v1 when v2's work would be too
 *    large), run by an allocation-free ASCII port of fzf's v1 scoring (`ascii.ts`, checked against npm:fzf);
 * 4. highlight positions are computed lazily, only for the rows on screen (`positions`).
 */
import { extendedMatch, Fzf } from "fzf";
import { extendedScoreV1, NO_MATCH } from "./ascii.ts";

type Rune = number;
type AlgoResult = [{ start: number; end: number; score: number }, Set<number> | null];
type AlgoFn = (
  caseSensitive: boolean,
  normalize: boolean,
  forward: boolean,
  input: Rune[],
  pattern: Rune[],
  withPos: boolean,
  slab: { i16: Int16Array; i32: Int32Array } | null,
) => AlgoResult;

export type Algo = "v1" | "v2";

/**
 * The fzf package exports only its finders, so take its fuzzy algorithm functions from a finder.
 * Pinned to fzf@0.5.2 in deno.json; tests/unit/picker/match_test.ts checks that our results equal `Fzf.find`.
 */
function algoFn(kind: Algo): AlgoFn {
  const finder = (new Fzf([] as string[], { fuzzy: kind }) as unknown as { finder?: { algoFn?: AlgoFn } })
    .finder;
  if (typeof finder?.algoFn !== "function") throw new Error(`fzf package layout changed: no ${kind} algorithm`);
  return finder.algoFn;
}
const ALGO: Record<Algo, AlgoFn> = { v1: algoFn("v1"), v2: algoFn("v2") };
const SLAB = { i16: new Int16Array(100 * 1024), i32: new Int32Array(2048) };
const FZF_OPTS = {
  limit: Infinity,
  selector: (v: unknown) => String(v),
  casing: "smart-case" as const,
  normalize: true,
  tiebreakers: [],
  sort: true,
  forward: true,
};

// ---------------------------------------------------------------------------------------------
// Query parsing (mirrors fzf's parseTerms; used for the prefilter and to pick the fast path)

export type TermType = "fuzzy" | "exact" | "prefix" | "suffix" | "equal";
export interface Term {
  type: TermType;
  inv: boolean;
  /** lower-cased unless caseSensitive */
  text: string;
  caseSensitive: boolean;
}
/** AND of OR-sets of terms. */
export type ParsedQuery = Term[][];

/** Trim the query the way fzf does (a trailing escaped space survives). */
function trimQuery(q: string): string {
  q = q.trimStart();
  const right = q.trimEnd();
  return right.endsWith("\\") && q[right.length] === " " ? right + " " : right;
}

export function parseQuery(query: string): ParsedQuery {
  const tokens = trimQuery(query.normalize()).replace(/\\ /g, "\t").split(/ +/);
  const sets: Term[][] = [];
  let set: Term[] = [];
  let switchSet = false;
  let afterBar = false;
  for (const token of tokens) {
    let text = token.replace(/\t/g, " ");
    let type: TermType = "fuzzy";
    let inv = false;
    const lower = text.toLowerCase();
    const caseSensitive = text !== lower;
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
      set.push({ type, inv, text, caseSensitive });
      switchSet = true;
    }
  }
  if (set.length > 0) sets.push(set);
  return sets;
}

/**
 * True when every item matching `next` also matches `prev`, so `next` may search `prev`'s matches only.
 * Conservative: any `|` or escape disables it; extending a negation or a `suffix$` term does not narrow.
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
  return true;
}

function inOrder(s: string, chars: string): boolean {
  let p = 0;
  for (let k = 0; k < chars.length; k++) {
    p = s.indexOf(chars[k], p);
    if (p < 0) return false;
    p++;
  }
  return true;
}

/** May `t` match (superset of fzf's answer; ASCII text only). */
function mayMatch(t: Term, s: string): boolean {
  switch (t.type) {
    case "fuzzy":
      return inOrder(s, t.text);
    case "prefix":
      return s.charCodeAt(0) > 32 ? s.startsWith(t.text) : s.includes(t.text);
    case "suffix":
      return s.charCodeAt(s.length - 1) > 32 ? s.endsWith(t.text) : s.includes(t.text);
    default:
      return s.includes(t.text);
  }
}
/** Does `t` certainly match (subset of fzf's answer; ASCII text only). */
function surelyMatches(t: Term, s: string): boolean {
  switch (t.type) {
    case "fuzzy":
      return inOrder(s, t.text);
    case "exact":
      return s.includes(t.text);
    case "prefix":
      return s.startsWith(t.text);
    case "suffix":
      return s.endsWith(t.text);
    case "equal":
      return s === t.text;
  }
}

function prefilter(q: ParsedQuery, orig: string, lower: string): boolean {
  for (const set of q) {
    let ok = false;
    for (const t of set) {
      const s = t.caseSensitive ? orig : lower;
      if (t.inv ? !surelyMatches(t, s) : mayMatch(t, s)) {
        ok = true;
        break;
      }
    }
    if (!ok) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------

export interface MatchResult {
  query: string;
  /** matched item indices, best first */
  indices: Int32Array;
  /** the fuzzy algorithm used (positions must be computed with the same one) */
  algo: Algo;
  /** true when the query has no terms: every item, in input order, nothing to highlight */
  all: boolean;
  /** memo of highlight positions per item index (filled lazily by `Matcher.positions`) */
  positions: Map<number, number[]>;
}

export interface MatcherOptions {
  /** above this many prefilter survivors use fzf's v1 algorithm instead of v2 (default 200) */
  v2Limit?: number;
  /** how many recent results to keep for incremental filtering and Backspace (default 64) */
  cacheSize?: number;
}

/** Items to match: `text` is matched; `name` (default: text) breaks score ties: shorter first, then by name. */
export interface MatchEntry {
  text: string;
  name?: string;
}


export class Matcher {
  /** matched text per item index (treat as read-only) */
  texts: string[];
  private names: string[];
  private lower: string[];
  private runes: (Rune[] | undefined)[];
  private ascii: boolean[];
  /** rank of each item index by (name length, name, text, index) */
  private rank!: Int32Array;
  /** item index for each rank */
  private byRank!: Int32Array;
  private cache = new Map<string, MatchResult>();
  readonly v2Limit: number;
  private cacheSize: number;

  constructor(entries: readonly MatchEntry[], opts: MatcherOptions = {}) {
    this.v2Limit = opts.v2Limit ?? 200;
    this.cacheSize = opts.cacheSize ?? 64;
    this.texts = [];
    this.names = [];
    this.lower = [];
    this.runes = [];
    this.ascii = [];
    this.push(entries);
    this.computeRanks();
  }

  get size(): number {
    return this.texts.length;
  }

  /** A new matcher with `entries` appended (indices of existing items are unchanged). */
  withAdded(entries: readonly MatchEntry[]): Matcher {
    const m = Object.create(Matcher.prototype) as Matcher;
    Object.assign(m, this);
    m.texts = this.texts.slice();
    m.names = this.names.slice();
    m.lower = this.lower.slice();
    m.runes = this.runes.slice();
    m.ascii = this.ascii.slice();
    m.cache = new Map();
    m.push(entries);
    m.computeRanks();
    return m;
  }

  private push(entries: readonly MatchEntry[]): void {
    for (const e of entries) {
      const text = e.text.normalize();
      this.texts.push(text);
      this.names.push(e.name ?? text);
      this.lower.push(text.toLowerCase());
      this.runes.push(undefined); // only npm:fzf calls need runes: built on first use
      // deno-lint-ignore no-control-regex
      this.ascii.push(/^[\x00-\x7f]*$/.test(text));
    }
  }

  private computeRanks(): void {
    const n = this.texts.length;
    const order = Array.from({ length: n }, (_, i) => i);
    const { names, texts } = this;
    order.sort((a, b) =>
      names[a].length - names[b].length || (names[a] < names[b] ? -1 : names[a] > names[b] ? 1 : 0) ||
      (texts[a] < texts[b] ? -1 : texts[a] > texts[b] ? 1 : 0) || a - b
    );
    this.byRank = Int32Array.from(order);
    this.rank = new Int32Array(n);
    for (let r = 0; r < n; r++) this.rank[this.byRank[r]] = r;
  }

  /**
   * Run the hot paths once on a slice of the items so the JIT has compiled them before the first keystroke
   * (the picker calls this right after its first draw). Leaves no trace in the cache.
   */
  warm(): void {
    const sample = new Matcher(this.texts.slice(0, 4000).map((text) => ({ text })), { v2Limit: 400 });
    for (const q of ["a", "ae", "e-", "^a", "a !e", "'e | x$", "e-1", "ae1 !x", "e-1", "ae1 !x"]) {
      const r = sample.match(q);
      sample.positions(r, Array.from(r.indices.subarray(0, 20)));
    }
  }

  private runesOf(i: number): Rune[] {
    return this.runes[i] ??= Array.from(this.texts[i], (c) => c.codePointAt(0)!);
  }

  /** Match `query` against all items. Results are cached per query. */
  match(query: string): MatchResult {
    const cached = this.cache.get(query);
    if (cached) {
      // refresh LRU position
      this.cache.delete(query);
      this.cache.set(query, cached);
      return cached;
    }
    const result = this.compute(query);
    this.cache.set(query, result);
    if (this.cache.size > this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
    return result;
  }

  private compute(query: string): MatchResult {
    const parsed = parseQuery(query);
    if (parsed.length === 0) {
      return {
        query,
        indices: Int32Array.from({ length: this.size }, (_, i) => i),
        algo: "v2",
        all: true,
        positions: new Map(),
      };
    }
    // Candidates in index order (sequential memory access matters at 50,000 items): all items, or the
    // matches of the smallest earlier result that this query narrows.
    let base: MatchResult | undefined;
    for (const r of this.cache.values()) {
      if (!r.all && r.query !== query && narrows(r.query, query) && (!base || r.indices.length < base.indices.length)) {
        base = r;
      }
    }
    const n = this.size;
    const cands = base ? base.indices.slice().sort() : null;
    const count = cands ? cands.length : n;
    // prefilter
    const surv = new Int32Array(count);
    let ns = 0;
    for (let k = 0; k < count; k++) {
      const i = cands ? cands[k] : k;
      if (!this.ascii[i] || prefilter(parsed, this.texts[i], this.lower[i])) surv[ns++] = i;
    }
    const survivors = surv.subarray(0, ns);
    const algo: Algo = ns <= this.v2Limit ? "v2" : "v1";
    const scoreOf = new Int32Array(n).fill(NO_MATCH);
    if (algo === "v1") {
      // many candidates: the allocation-free ASCII port of fzf's v1 scoring; npm:fzf for the rest
      const others: number[] = [];
      for (let k = 0; k < ns; k++) {
        const i = survivors[k];
        if (this.ascii[i]) scoreOf[i] = extendedScoreV1(parsed, this.texts[i]);
        else others.push(i);
      }
      if (others.length > 0) this.scoreExtended(query, Int32Array.from(others), algo, scoreOf);
    } else {
      const t = parsed[0][0];
      // deno-lint-ignore no-control-regex
      if (parsed.length === 1 && parsed[0].length === 1 && t.type === "fuzzy" && !t.inv && /^[\x00-\x7f]*$/.test(t.text)) {
        this.scoreSimple(t, survivors, algo, scoreOf);
      } else {
        this.scoreExtended(query, survivors, algo, scoreOf);
      }
    }
    return { query, indices: this.collect(scoreOf), algo, all: false, positions: new Map() };
  }

  /** One positive fuzzy term: call fzf's algorithm directly, without positions. */
  private scoreSimple(t: Term, survivors: Int32Array, algo: Algo, scoreOf: Int32Array): void {
    const fn = ALGO[algo];
    const pattern = Array.from(t.text, (c) => c.codePointAt(0)!);
    for (let k = 0; k < survivors.length; k++) {
      const i = survivors[k];
      const [res] = fn(t.caseSensitive, true, true, this.runesOf(i), pattern, false, SLAB);
      if (res.start >= 0) scoreOf[i] = res.score;
    }
  }

  /** Anything else: fzf's own extendedMatch over the survivors. */
  private scoreExtended(query: string, survivors: Int32Array, algo: Algo, scoreOf: Int32Array): void {
    const items = Array.from(survivors);
    const finder = {
      items,
      runesList: items.map((i) => this.runesOf(i)),
      opts: { ...FZF_OPTS, fuzzy: algo },
      algoFn: ALGO[algo],
    };
    const res = (extendedMatch as (this: unknown, q: string) => { item: number; score: number }[])
      .call(finder, query.normalize());
    for (const r of res) scoreOf[r.item] = r.score;
  }

  /** Matched items by score (descending), ties in rank order: a rank-ordered pass, then a stable counting sort. */
  private collect(scoreOf: Int32Array): Int32Array {
    const n = this.size;
    const idx = new Int32Array(n);
    const scores = new Int32Array(n);
    let m = 0;
    let max = -Infinity;
    let min = Infinity;
    for (let r = 0; r < n; r++) {
      const i = this.byRank[r];
      const s = scoreOf[i];
      if (s === NO_MATCH) continue;
      idx[m] = i;
      scores[m++] = s;
      if (s > max) max = s;
      if (s < min) min = s;
    }
    return stableSortByScoreDesc(idx.subarray(0, m), scores.subarray(0, m), min, max);
  }

  /** Highlight positions (indices into `texts[i]`, by code point) for the given items of a result. */
  positions(result: MatchResult, items: readonly number[]): Map<number, number[]> {
    const out = new Map<number, number[]>();
    if (result.all) {
      for (const i of items) out.set(i, []);
      return out;
    }
    const missing = items.filter((i) => !result.positions.has(i));
    if (missing.length > 0) {
      const finder = {
        items: missing,
        runesList: missing.map((i) => this.runesOf(i)),
        opts: { ...FZF_OPTS, fuzzy: result.algo },
        algoFn: ALGO[result.algo],
      };
      const res = (extendedMatch as (this: unknown, q: string) => { item: number; positions: Set<number> }[])
        .call(finder, result.query.normalize());
      for (const r of res) result.positions.set(r.item, [...r.positions].sort((a, b) => a - b));
      for (const i of missing) if (!result.positions.has(i)) result.positions.set(i, []);
    }
    for (const i of items) out.set(i, result.positions.get(i)!);
    return out;
  }
}

/** Counting sort by score, descending, keeping the input order within a score. */
function stableSortByScoreDesc(idx: Int32Array, scores: Int32Array, min: number, max: number): Int32Array {
  const n = idx.length;
  if (n === 0) return new Int32Array(0);
  const range = max - min + 1;
  if (range > 1 << 16) {
    // unexpected score spread: fall back to a comparison sort on (score, position)
    const order = Array.from({ length: n }, (_, k) => k).sort((a, b) => scores[b] - scores[a] || a - b);
    return Int32Array.from(order, (k) => idx[k]);
  }
  const counts = new Int32Array(range + 1);
  for (let k = 0; k < n; k++) counts[max - scores[k] + 1]++;
  for (let b = 1; b <= range; b++) counts[b] += counts[b - 1];
  const out = new Int32Array(n);
  for (let k = 0; k < n; k++) out[counts[max - scores[k]]++] = idx[k];
  return out;
}
