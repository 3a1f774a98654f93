import { assert, assertEquals } from "@kodama/test-assert";
import { Matcher, narrows, parseQuery } from "../../../src/picker/match.ts";
import * as fast from "../../../src/picker/ascii.ts";
import {
  type AlgoFn,
  codePoints,
  equalMatch,
  exactMatch,
  fuzzyV1,
  fuzzyV2,
  prefixMatch,
  suffixMatch,
} from "../../../src/picker/algo.ts";

const NAMES = [
  "api-7d9f8c6b5-x2k4p",
  "api-7d9f8c6b5-q8zzt",
  "web-5b7c9d-abcde",
  "weka-drive-0",
  "weka-drive-1",
  "weka-drive-2",
  "weka-compute-0",
  "spark-driver-1a2b3c",
  "payments-gateway-6f5d4-zzq9r",
  "Postgres-0",
  "redis-master-0",
  "prometheus-node-exporter-abcde",
];

function names(m: Matcher, q: string): string[] {
  return Array.from(m.match(q).indices, (i) => m.texts[i]);
}

Deno.test("match: the order fzf 0.38 gives (fzf --filter on the same lines)", () => {
  const list = [
    "db-api-7d9f8c6b5-x2k4p",
    "api-db-7d9f8c6b5-q8zzt",
    "api-drive-0",
    "drive-db-0",
    "drive-db-1",
    "web-api-1",
    "ApiGateway-0",
  ];
  const expected: Record<string, string[]> = {
    // a match at the start of the text beats one after a delimiter; ties: shorter, then input order
    "api": ["api-drive-0", "ApiGateway-0", "api-db-7d9f8c6b5-q8zzt", "web-api-1", "db-api-7d9f8c6b5-x2k4p"],
    "drv": ["drive-db-0", "drive-db-1", "api-drive-0"],
    "^api | ^web": ["web-api-1", "api-drive-0", "ApiGateway-0", "api-db-7d9f8c6b5-q8zzt"],
    "Api": ["ApiGateway-0"],
    "'db-": ["db-api-7d9f8c6b5-x2k4p", "drive-db-0", "drive-db-1", "api-db-7d9f8c6b5-q8zzt"],
  };
  for (const algo of ["v2", "v1"] as const) {
    const m = new Matcher(list.map((text) => ({ text })), { algo });
    for (const [q, want] of Object.entries(expected)) assertEquals(names(m, q), want, `${algo} ${q}`);
  }
});

Deno.test("match: extended syntax and smart case", () => {
  const m = new Matcher(NAMES.map((text) => ({ text })));
  assertEquals(names(m, "^weka-drive"), ["weka-drive-0", "weka-drive-1", "weka-drive-2"]);
  assertEquals(names(m, "'drive-2"), ["weka-drive-2"]);
  assertEquals(names(m, "weka !drive").sort(), ["weka-compute-0"]);
  assertEquals(names(m, "-0$").sort(), ["Postgres-0", "redis-master-0", "weka-compute-0", "weka-drive-0"]);
  assertEquals(names(m, "^api | ^web").length, 3);
  assertEquals(names(m, "postgres"), ["Postgres-0"]); // lower-case query: case-insensitive
  assertEquals(names(m, "Postgres"), ["Postgres-0"]);
  assertEquals(names(m, "PostgreS"), []); // upper-case letter: case-sensitive
  assertEquals(names(m, "zzzz"), []);
});

Deno.test("match: empty query keeps input order; ties broken by shorter text, then input order", () => {
  const list = ["b-long-name", "b-x", "a-x", "c"];
  const m = new Matcher(list.map((text) => ({ text })));
  assertEquals(names(m, ""), list);
  assertEquals(names(m, "   "), list);
  assertEquals(names(m, "!"), list); // a lone "!" has no term
  // "x" scores the same in b-x and a-x (after a delimiter): same length, so input order
  assertEquals(names(m, "x"), ["b-x", "a-x"]);
  // negations only: fzf does not sort, input order
  assertEquals(names(m, "!a"), ["b-x", "c"]);
  assertEquals(names(m, "!a !b"), ["c"]);
  // white space at either end does not count in the length
  const m2 = new Matcher([{ text: "pod-aa   " }, { text: "  pod-a" }, { text: "pod-aaa" }]);
  assertEquals(names(m2, "pod"), ["  pod-a", "pod-aa   ", "pod-aaa"]);
});

Deno.test("match: anchored terms match from the anchor (the pod name in ns/name), `/` terms the whole text", () => {
  const entries = ["prod/api-1", "api/web-1", "staging/api-2", "prod/web-api"].map((text) => ({
    text,
    anchor: text.indexOf("/") + 1,
  }));
  const m = new Matcher(entries);
  assertEquals(names(m, "^api"), ["prod/api-1", "staging/api-2"]);
  assertEquals(names(m, "^api | ^web").sort(), ["api/web-1", "prod/api-1", "prod/web-api", "staging/api-2"]);
  assertEquals(names(m, "^api/"), ["api/web-1"]);
  assertEquals(names(m, "^prod/"), ["prod/api-1", "prod/web-api"]);
  assertEquals(names(m, "^web-api$"), ["prod/web-api"]);
  assertEquals(names(m, "^prod/web-api$"), ["prod/web-api"]);
  assertEquals(names(m, "!^api web"), ["api/web-1", "prod/web-api"]);
  assertEquals(names(m, "prod api").sort(), ["prod/api-1", "prod/web-api"]); // fuzzy: whole text
  const r = m.match("^api");
  assertEquals(m.positions(r, [0]).get(0), [5, 6, 7]);
  // typing a `/` into an anchored term changes what it matches: not a narrowing
  assertEquals(names(m, "^ap"), ["prod/api-1", "staging/api-2"]);
  assertEquals(names(m, "^api/"), ["api/web-1"]);
});

Deno.test("match: highlight positions for visible rows", () => {
  const m = new Matcher(NAMES.map((text) => ({ text })));
  const r = m.match("wkd2");
  const i = NAMES.indexOf("weka-drive-2");
  assertEquals(m.positions(r, [i]).get(i), [0, 2, 5, 11]);
  const r2 = m.match("^weka 'drive");
  assertEquals(m.positions(r2, [i]).get(i), [0, 1, 2, 3, 5, 6, 7, 8, 9]);
  const r3 = m.match("");
  assertEquals(m.positions(r3, [i]).get(i), []);
});

Deno.test("match: incremental narrowing gives the same answer as a fresh search", () => {
  const m = new Matcher(NAMES.map((text) => ({ text })));
  const fresh = (q: string) => names(new Matcher(NAMES.map((text) => ({ text }))), q);
  for (
    const seq of [["w", "we", "wek", "weka", "weka ", "weka d", "weka dr", "weka dr !", "weka dr !1"], [
      "d",
      "dr",
      "dr$",
      "dr",
    ], ["!", "!w", "!we"]]
  ) {
    for (const q of seq) assertEquals(names(m, q), fresh(q), `after typing ${JSON.stringify(q)}`);
  }
});

Deno.test("match: narrows() is conservative", () => {
  assert(narrows("ap", "api"));
  assert(narrows("api", "api web"));
  assert(narrows("", "x"));
  assert(narrows("!", "!x"));
  assert(narrows("ap", "ap$"));
  assert(!narrows("!ap", "!api"));
  assert(!narrows("ap$", "ap$x"));
  assert(!narrows("api |", "api | web"));
  assert(!narrows("api", "ap"));
  assert(!narrows("api web", "api wb"));
});

Deno.test("match: parseQuery", () => {
  const brief = (q: string) =>
    parseQuery(q).map((set) =>
      set.map((t) => [t.type, t.inv, t.text, t.caseSensitive, t.normalize].join(" "))
    );
  assertEquals(brief("^a b$ !c 'd | e ^f$ !'g"), [
    ["prefix false a false true"],
    ["suffix false b false true"],
    ["exact true c false true"],
    ["exact false d false true", "fuzzy false e false true"],
    ["equal false f false true"],
    ["fuzzy true g false true"],
  ]);
  // smart case; a term with a diacritic is not normalized; escaped spaces; fzf's trimming
  assertEquals(brief("  Api café a\\ b  "), [
    ["fuzzy false Api true true"],
    ["fuzzy false café false false"],
    [
      "fuzzy false a b false true",
    ],
  ]);
  assertEquals(brief("a\\ "), [["fuzzy false a  false true"]]);
  assertEquals(parseQuery("^a b/ ^c/d")[0][0].anchored, true);
  assertEquals(parseQuery("^a b/ ^c/d")[2][0].anchored, false);
});

Deno.test("match: withAdded keeps indices and re-ranks", () => {
  const m = new Matcher([{ text: "pod-bbbb" }]);
  const m2 = m.withAdded([{ text: "pod-b" }]);
  assertEquals(m.size, 1);
  assertEquals(names(m2, "pod"), ["pod-b", "pod-bbbb"]);
  assertEquals(m2.texts, ["pod-bbbb", "pod-b"]);
});

Deno.test("match: the ASCII fast path scores exactly like the reference algorithms on random input", () => {
  let seed = 42;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return (seed >>> 8) % n; // the low bits of this generator repeat with a short period
  };
  const alphabet = "aabbcdeABXyz0129-._/: \t";
  const word = (min: number, max: number, from = alphabet) => {
    let w = "";
    for (let k = min + rand(max - min + 1); k > 0; k--) w += from[rand(from.length)];
    return w;
  };
  const REF: Record<string, AlgoFn> = {
    v1: fuzzyV1,
    v2: fuzzyV2,
    exact: exactMatch,
    prefix: prefixMatch,
    suffix: suffixMatch,
    equal: equalMatch,
  };
  const FAST = {
    v1: fast.fuzzyV1,
    v2: fast.fuzzyV2,
    exact: fast.exact,
    prefix: fast.prefix,
    suffix: fast.suffix,
    equal: fast.equal,
  };
  let matched = 0;
  for (let k = 0; k < 40000; k++) {
    const text = word(1, 30);
    const base = rand(3) === 0 ? rand(text.length) : 0;
    const caseSensitive = rand(3) === 0;
    const pat = word(1, 4, caseSensitive ? "abAB-/ 0" : "ab-/ 0c");
    const folded = caseSensitive ? text : text.toLowerCase();
    const bon = new Uint8Array(text.length + 3);
    fast.bonuses(text, bon, 3);
    for (const kind of Object.keys(FAST) as (keyof typeof FAST)[]) {
      const got = FAST[kind](folded, bon, 3, pat, base);
      const ref = REF[kind](caseSensitive, true, codePoints(text).subarray(base), codePoints(pat), false);
      const want = ref ? ref.score : fast.NO_MATCH;
      if (ref) matched++;
      assertEquals(got, want, `${kind} ${JSON.stringify(pat)} in ${JSON.stringify(text)} from ${base}`);
    }
  }
  assert(matched > 16000, `only ${matched} matches: the input does not exercise the scoring`);
});

Deno.test("match: withAdded merges new items into the tie-break order like a full sort", () => {
  const base = ["pod-ccc", "pod-a", "pod-bb", "x-1"];
  const added = ["pod-b", "pod-aaaa", "pod-c", "y"];
  const merged = new Matcher(base.map((text) => ({ text }))).withAdded(added.map((text) => ({ text })));
  const fresh = new Matcher([...base, ...added].map((text) => ({ text })));
  for (const q of ["pod", "p", "-", "o c"]) assertEquals(names(merged, q), names(fresh, q), q);
});

Deno.test("match: non-ASCII items: diacritics normalized, unicode classes, ranked with the rest", () => {
  const list = ["Zoë-api-1", "zoe-api-2", "blessèd-web", "api-ascii", "Ünïcode-é"];
  const m = new Matcher(list.map((text) => ({ text })));
  assertEquals(names(m, "zoe"), ["Zoë-api-1", "zoe-api-2"]); // same score and length: input order
  assertEquals(names(m, "zoë"), ["Zoë-api-1"]); // a term with a diacritic matches it exactly
  assertEquals(names(m, "uni"), ["Ünïcode-é"]);
  assertEquals(names(m, "Üni"), []); // case-sensitive, and with a diacritic: not normalized, ï is not i
  assertEquals(names(m, "Ünï"), ["Ünïcode-é"]);
  assertEquals(names(m, "bless web"), ["blessèd-web"]);
  assertEquals(names(m, "'api !zoe"), ["api-ascii"]);
  assertEquals(names(m, "é"), ["Ünïcode-é"]);
});

Deno.test("match: characters outside the BMP match and highlight by code point", () => {
  const list = ["café-😀-1", "café-2", "cafe-3"];
  const m = new Matcher(list.map((text) => ({ text })));
  assertEquals(names(m, "😀"), ["café-😀-1"]);
  assertEquals(names(m, "-😀-"), ["café-😀-1"]);
  assertEquals(names(m, "'😀-1"), ["café-😀-1"]);
  const r = m.match("é😀");
  // c a f é - 😀 - 1: é is code point 3, the emoji code point 5 (UTF-16 index 5 and 6)
  assertEquals(m.positions(r, [0]).get(0), [3, 5]);
});

Deno.test("match: two matchers derived from one keep their own items", () => {
  // (40 characters leave room in the matcher's buffers for a short item or two)
  const m = new Matcher([{ text: "pod-a".padEnd(40, "a") }]);
  const a = m.withAdded([{ text: "x-api-1" }]);
  const b = m.withAdded([{ text: "Zzzzzzz" }]);
  assertEquals(names(a, "api"), ["x-api-1"]);
  assertEquals(names(b, "zz"), ["Zzzzzzz"]);
  assertEquals(names(m, "pod").length, 1);
  // and their own scores (the bonuses of b's item must not land on a's)
  const fresh = new Matcher([{ text: "pod-a".padEnd(40, "a") }, { text: "x-api-1" }]);
  assertEquals(Array.from(a.match("i-1").scores), Array.from(fresh.match("i-1").scores));
});
