/**
 * fzf-compatible matching for the picker, built on `npm:fzf` (fzf's own algorithms and scores).
 *
 * Query syntax is fzf's extended syntax: space-separated terms are ANDed, `|` ORs neighbouring terms,
 * `'exact`, `^prefix`, `suffix$`, `^equal$`, `!negate` (`!'x` = negated fuzzy); everything else is fuzzy.
 * Smart case: a term with an upper-case letter is case-sensitive.
 * Ranking: fzf score (descending); ties by shorter name, then name (then input order).
 *
 * Speed (50,000 items, each keystroke < 16 ms at p95) comes from these, none of which changes results:
 * 1. ASCII text (pod names always are) is matched and scored by an allocation-free port of fzf's v1
 *    algorithm (`ascii.ts`; tests check it against npm:fzf on random input); calling npm:fzf per item
 *    costs ~0.5-1 µs in allocations alone. Other text goes through a string prefilter and npm:fzf.
 * 2. When at most `v2Limit` items match, they are re-scored with npm:fzf's optimal v2 algorithm (same
 *    match set; better ranking and highlights). fzf itself falls back to v1 when v2's work would be large.
 * 3. Incremental filtering: when the new query can only narrow an earlier one (`ap` -> `api`), only that
 *    query's matches are scanned. Results are cached by parsed query, so Backspace, a trailing space or a
 *    lone `^` being typed are cache hits.
 * 4. Highlight positions are computed by npm:fzf lazily, for the rows on screen only (`positions`).
 * 5. Per-item work arrays are reused between keystrokes; ranks are precomputed, and the final order is a
 *    counting sort by score over a rank-ordered pass (no comparison sort per keystroke).
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
  if (typeof finder?.algoFn !== "function") {
    throw new Error(`fzf package layout changed: no ${kind} algorithm`);
  }
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

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 127) return false;
  return true;
}

/** A cache key: equal for queries that parse to the same terms. */
function canonical(q: ParsedQuery): string {
  return JSON.stringify(q.map((set) => set.map((t) => [t.type, t.inv, t.caseSensitive, t.text])));
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
  /** when at most this many items match, rank them with fzf's v2 algorithm instead of v1 (default 200) */
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
    m.scratchBufs = [];
    const from = m.size;
    m.push(entries);
    m.mergeRanks(from);
    return m;
  }

  private push(entries: readonly MatchEntry[]): void {
    for (const e of entries) {
      const text = e.text.normalize();
      this.texts.push(text);
      this.names.push(e.name ?? text);
      this.lower.push(text.toLowerCase());
      this.runes.push(undefined); // only npm:fzf calls need runes: built on first use
      this.ascii.push(isAscii(text));
    }
  }

  /** Tie-break order: shorter name, then name, then text, then index. */
  private compare(a: number, b: number): number {
    const { names, texts } = this;
    return names[a].length - names[b].length || (names[a] < names[b] ? -1 : names[a] > names[b] ? 1 : 0) ||
      (texts[a] < texts[b] ? -1 : texts[a] > texts[b] ? 1 : 0) || a - b;
  }

  private computeRanks(): void {
    const n = this.texts.length;
    const order = Array.from({ length: n }, (_, i) => i);
    order.sort((a, b) => this.compare(a, b));
    this.setRanks(Int32Array.from(order));
  }

  /** Items from index `from` on are new: sort only them and merge them in (binary search + block copies). */
  private mergeRanks(from: number): void {
    const n = this.texts.length;
    const fresh = Array.from({ length: n - from }, (_, k) => from + k).sort((a, b) => this.compare(a, b));
    const old = this.byRank;
    const merged = new Int32Array(n);
    let copied = 0; // of old
    let k = 0; // in merged
    for (const f of fresh) {
      let lo = copied, hi = old.length; // first old position ranking after f
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (this.compare(old[mid], f) < 0) lo = mid + 1;
        else hi = mid;
      }
      merged.set(old.subarray(copied, lo), k);
      k += lo - copied;
      copied = lo;
      merged[k++] = f;
    }
    merged.set(old.subarray(copied), k);
    this.setRanks(merged);
  }

  private setRanks(byRank: Int32Array): void {
    this.byRank = byRank;
    this.rank = new Int32Array(byRank.length);
    for (let r = 0; r < byRank.length; r++) this.rank[byRank[r]] = r;
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
    // npm:fzf's v2 over small candidate sets, and highlight positions
    if (i === real.length) {
      const small = new Matcher(this.texts.slice(0, 300).map((text) => ({ text })), { v2Limit: 300 });
      for (
        const q of ["a", "ae", "e-", "^a e", "a !e", "'e | x$", "e-1", "ae1 !x", "s", "st", "t-", "^s !x"]
      ) {
        const r = small.match(q);
        small.positions(r, Array.from(r.indices.subarray(0, 40)));
      }
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

  /**
   * The item as npm:fzf's "runes": UTF-16 units, because that is how npm:fzf splits the query too
   * (`str.split("")`); real code points here would never match a query with an astral character.
   */
  private runesOf(i: number): Rune[] {
    const text = this.texts[i];
    return this.runes[i] ??= Array.from({ length: text.length }, (_, k) => text.charCodeAt(k));
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
        algo: "v2",
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
    // 1. ASCII items: the allocation-free port of fzf's v1 (exact match set, v1 scores);
    //    other items: the string prefilter, then npm:fzf's v1
    const others: number[] = [];
    let matched = 0;
    for (let i = 0; i < n; i++) {
      if (mask && mask[i] === 0) continue;
      if (this.ascii[i]) {
        const sc = extendedScoreV1(parsed, this.texts[i], this.lower[i]);
        scoreOf[i] = sc;
        if (sc !== NO_MATCH) matched++;
      } else {
        others.push(i);
      }
    }
    if (others.length > 0) matched += this.scoreExtended(query, Int32Array.from(others), "v1", scoreOf);
    // 2. few matches: re-score them with npm:fzf's optimal v2 (same match set, better ranking and highlights)
    let algo: Algo = "v1";
    if (matched <= this.v2Limit) {
      algo = "v2";
      const hits = new Int32Array(matched);
      let h = 0;
      for (let i = 0; i < n && h < matched; i++) if (scoreOf[i] !== NO_MATCH) hits[h++] = i;
      const t = parsed[0][0];
      if (
        parsed.length === 1 && parsed[0].length === 1 && t.type === "fuzzy" && !t.inv &&
        isAscii(t.text)
      ) {
        this.scoreSimple(t, hits, algo, scoreOf);
      } else {
        this.scoreExtended(query, hits, algo, scoreOf);
      }
    }
    return { query, indices: this.collect(scoreOf), algo, all: false, positions: new Map() };
  }

  /** One positive fuzzy term: call fzf's algorithm directly, without positions. */
  private scoreSimple(t: Term, items: Int32Array, algo: Algo, scoreOf: Int32Array): void {
    const fn = ALGO[algo];
    const pattern = Array.from(t.text, (c) => c.codePointAt(0)!);
    for (let k = 0; k < items.length; k++) {
      const i = items[k];
      const [res] = fn(t.caseSensitive, true, true, this.runesOf(i), pattern, false, SLAB);
      if (res.start >= 0) scoreOf[i] = res.score;
    }
  }

  /** Anything else: fzf's own extendedMatch over `candidates` (prefiltered first); returns the match count. */
  private scoreExtended(query: string, candidates: Int32Array, algo: Algo, scoreOf: Int32Array): number {
    const parsed = parseQuery(query);
    const items = Array.from(candidates).filter((i) =>
      !this.ascii[i] || prefilter(parsed, this.texts[i], this.lower[i])
    );
    const finder = {
      items,
      runesList: items.map((i) => this.runesOf(i)),
      opts: { ...FZF_OPTS, fuzzy: algo },
      algoFn: ALGO[algo],
    };
    const res = (extendedMatch as (this: unknown, q: string) => { item: number; score: number }[])
      .call(finder, query.normalize());
    for (const r of res) scoreOf[r.item] = r.score;
    return res.length;
  }

  /** Matched items by score (descending), ties in rank order: a rank-ordered pass, then a stable counting sort. */
  private collect(scoreOf: Int32Array): Int32Array {
    const n = this.size;
    const idx = this.scratch(1);
    const scores = this.scratch(2);
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
      for (const r of res) {
        const units = [...r.positions].sort((a, b) => a - b);
        result.positions.set(r.item, toCodePointIndices(this.texts[r.item], units));
      }
      for (const i of missing) if (!result.positions.has(i)) result.positions.set(i, []);
    }
    for (const i of items) out.set(i, result.positions.get(i)!);
    return out;
  }
}

/** npm:fzf's positions are UTF-16 indices; ours count code points (what the renderer walks). */
function toCodePointIndices(text: string, units: number[]): number[] {
  if (!/[\uD800-\uDBFF]/.test(text)) return units;
  const cp: number[] = [];
  let k = 0;
  for (const ch of text) {
    for (let u = 0; u < ch.length; u++) cp.push(k);
    k++;
  }
  return [...new Set(units.map((u) => cp[u]))];
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
