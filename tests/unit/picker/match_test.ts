import { assert, assertEquals } from "@std/assert";
import { extendedMatch, Fzf } from "fzf";
import { Matcher, narrows, parseQuery } from "../../../src/picker/match.ts";

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

/** Reference: the fzf package's own finder with our tiebreak (shorter, then name). */
function reference(list: string[], q: string, fuzzy: "v1" | "v2"): string[] {
  const f = new Fzf(list, {
    match: extendedMatch,
    fuzzy,
    tiebreakers: [
      (a, b) => a.item.length - b.item.length || (a.item < b.item ? -1 : a.item > b.item ? 1 : 0),
    ],
  });
  return f.find(q).map((r) => r.item);
}

Deno.test("match: same results and order as fzf's own finder (v2 and v1)", () => {
  const queries = [
    "dr",
    "drive",
    "wd",
    "a",
    "api",
    "'driv",
    "^weka",
    "0$",
    "^weka-drive-1$",
    "!compute weka",
    "api | web",
    "drv !1",
    "P",
    "pg",
    "wk dr 2",
    "'ka-d | ^spa",
    "!'wk weka",
  ];
  for (const v2Limit of [10_000, 0]) {
    const m = new Matcher(NAMES.map((text) => ({ text })), { v2Limit });
    for (const q of queries) {
      assertEquals(
        names(m, q),
        reference(NAMES, q, v2Limit ? "v2" : "v1"),
        `query ${JSON.stringify(q)} v2Limit=${v2Limit}`,
      );
    }
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

Deno.test("match: empty query keeps input order; ties broken by shorter name then name", () => {
  const list = ["b-long-name", "a-x", "b-x", "c"];
  const m = new Matcher(list.map((text) => ({ text })));
  assertEquals(names(m, ""), list);
  assertEquals(names(m, "   "), list);
  assertEquals(names(m, "!"), list); // a lone "!" has no term
  // "x" scores the same in a-x and b-x (after a delimiter): shorter first, then by name
  assertEquals(names(m, "x"), ["a-x", "b-x"]);
  // tiebreak by `name` when the matched text is namespace/name
  const m2 = new Matcher([
    { text: "zzz/pod-aa", name: "pod-aa" },
    { text: "a/pod-aaaa", name: "pod-aaaa" },
    { text: "b/pod-ab", name: "pod-ab" },
  ]);
  assertEquals(names(m2, "pod"), ["zzz/pod-aa", "b/pod-ab", "a/pod-aaaa"]);
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
  assertEquals(parseQuery("^a b$ !c 'd | e ^f$ !'g"), [
    [{ type: "prefix", inv: false, text: "a", caseSensitive: false }],
    [{ type: "suffix", inv: false, text: "b", caseSensitive: false }],
    [{ type: "exact", inv: true, text: "c", caseSensitive: false }],
    [{ type: "exact", inv: false, text: "d", caseSensitive: false }, {
      type: "fuzzy",
      inv: false,
      text: "e",
      caseSensitive: false,
    }],
    [{ type: "equal", inv: false, text: "f", caseSensitive: false }],
    [{ type: "fuzzy", inv: true, text: "g", caseSensitive: false }],
  ]);
});

Deno.test("match: withAdded keeps indices and re-ranks", () => {
  const m = new Matcher([{ text: "pod-bbbb" }]);
  const m2 = m.withAdded([{ text: "pod-b" }]);
  assertEquals(m.size, 1);
  assertEquals(names(m2, "pod"), ["pod-b", "pod-bbbb"]);
  assertEquals(m2.texts, ["pod-bbbb", "pod-b"]);
});

Deno.test("match: the ASCII v1 port scores exactly like npm:fzf on random names and queries", () => {
  let seed = 42;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const alphabet = "abcdeABXyz0129-._/ ";
  const word = (min: number, max: number) => {
    let w = "";
    for (let k = min + rand(max - min + 1); k > 0; k--) w += alphabet[rand(alphabet.length)];
    return w;
  };
  const list = Array.from({ length: 400 }, () => word(1, 24));
  const unique = [...new Set(list)];
  const m = new Matcher(unique.map((text) => ({ text })), { v2Limit: 0 });
  const decorate = ["", "'", "^", "!", "!'", "!^"];
  for (let k = 0; k < 300; k++) {
    const terms = Array.from({ length: 1 + rand(3) }, () => {
      let t = decorate[rand(decorate.length)] + word(1, 3).replace(/ /g, "");
      if (rand(4) === 0) t += "$";
      return t;
    });
    const q = terms.join(rand(5) === 0 ? " | " : " ");
    if (parseQuery(q).length === 0) continue; // no terms: input order (like Go fzf), npm:fzf sorts instead
    assertEquals(names(m, q), reference(unique, q, "v1"), `query ${JSON.stringify(q)}`);
  }
});

Deno.test("match: withAdded merges new items into the tie-break order like a full sort", () => {
  const base = ["pod-ccc", "pod-a", "pod-bb", "x-1"];
  const added = ["pod-b", "pod-aaaa", "pod-c", "y"];
  const merged = new Matcher(base.map((text) => ({ text }))).withAdded(added.map((text) => ({ text })));
  const fresh = new Matcher([...base, ...added].map((text) => ({ text })));
  for (const q of ["pod", "p", "-", "o c"]) assertEquals(names(merged, q), names(fresh, q), q);
});

Deno.test("match: non-ASCII items go through npm:fzf (diacritics normalized) and rank with the rest", () => {
  const list = ["Zoë-api-1", "zoe-api-2", "blessèd-web", "api-ascii", "Ünïcode-é"];
  for (const v2Limit of [10_000, 0]) {
    const m = new Matcher(list.map((text) => ({ text })), { v2Limit });
    for (const q of ["zoe", "api", "bless web", "'api !zoe", "uni", "é"]) {
      assertEquals(names(m, q), reference(list, q, v2Limit ? "v2" : "v1"), `${q} v2Limit=${v2Limit}`);
    }
  }
});

Deno.test("match: characters outside the BMP match like npm:fzf and highlight by code point", () => {
  const list = ["café-😀-1", "café-2", "cafe-3"];
  const m = new Matcher(list.map((text) => ({ text })));
  for (const q of ["😀", "é😀", "-😀-", "'😀-1"]) {
    assertEquals(names(m, q), reference(list, q, "v2"), q);
  }
  const r = m.match("é😀");
  // c a f é - 😀 - 1: é is code point 3, the emoji code point 5 (UTF-16 index 5 and 6)
  assertEquals(m.positions(r, [0]).get(0), [3, 5]);
});
