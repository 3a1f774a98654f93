/**
 * fzf's Latin-script normalization table (`src/algo/normalize.go` of fzf 0.38.0, MIT licence,
 * © Junegunn Choi): a letter with a diacritic matches its plain letter when the query term has none.
 * Keys are code points (hex) grouped by the letter they fold to; only 0x00C0-0x2184 can fold.
 */
const TABLE: Record<string, string> = {
  A: "c0 c1 c2 c3 c4 c5 23a 1d00 1ea4 1ea6 1ea8 1eaa 1eac 1eae 1eb0 1eb2 1eb4 1eb6",
  B: "181 243 299 1d03",
  C: "c7 23b 1d04",
  D: "189 18a 1d05",
  E: "c8 c9 ca cb 18e 190 246 1d07 1ebe 1ec0 1ec2 1ec4 1ec6",
  G: "193 262 29b",
  H: "29c",
  I: "cc cd ce cf 130 197 26a",
  J: "248 1d0a",
  K: "1d0b",
  L: "23d 29f 1d0c",
  M: "19c 1d0d",
  N: "d1 19d 220 274 1d0e",
  O: "d2 d3 d4 d5 d6 d8 186 19f 1d0f 1d10 1ed0 1ed2 1ed4 1ed6 1ed8 1eda 1edc 1ede 1ee0 1ee2",
  P: "1d18",
  Q: "24a",
  R: "24c 280 281 1d19 1d1a",
  T: "1ae 23e 1d1b",
  U: "d9 da db dc 244 1d1c 1ee8 1eea 1eec 1eee 1ef0",
  V: "1b2 245 1d20",
  W: "1d21",
  Y: "dd 178 24e 28f",
  Z: "1d22",
  a: "e0 e1 e2 e3 e4 e5 101 103 105 1ce 201 203 227 250 251 363 1e01 1e9a 1ea1 1ea3 1ea5 1ea7 1ea9 1eab 1ead 1eaf 1eb1 1eb3 1eb5 1eb7",
  b: "180 183 253 1e03 1e05 1e07",
  c: "e7 107 109 10b 10d 188 23c 255 297 368 2184",
  d: "10f 111 18c 221 256 257 369 1e0b 1e0d 1e0f 1e11 1e13",
  e: "e8 e9 ea eb 113 115 117 119 11b 1dd 205 207 229 247 258 25b 25c 25d 25e 29a 364 1d08 1e19 1e1b 1eb9 1ebb 1ebd 1ebf 1ec1 1ec3 1ec5 1ec7",
  f: "192 1e1f",
  g: "11d 11f 121 123 1e5 1e7 1f5 260 261 1e21",
  h: "125 127 21f 265 266 2ae 36a 1e23 1e25 1e27 1e29 1e2b 1e96 2095",
  i: "ec ed ee ef 129 12b 12d 12f 131 1d0 209 20b 268 365 1d09 1d62 1e2d 1ec9 1ecb 2071",
  j: "135 1f0 237 249 25f 29d",
  k: "137 199 1e9 29e 1e31 1e33 1e35 2096",
  l: "13a 13c 13e 140 142 19a 234 26b 26c 26d 1e37 1e3b 1e3d 2097",
  m: "26f 270 271 36b 1d1f 1e3f 1e41 1e43 2098",
  n: "f1 144 146 148 19e 1f9 235 272 273 1e45 1e47 1e49 1e4b 2099",
  o: "f2 f3 f4 f5 f6 f8 14d 14f 151 1a1 1d2 1eb 20d 20f 22f 254 275 366 1d11 1d12 1d13 1d16 1d17 1ecd 1ecf 1ed1 1ed3 1ed5 1ed7 1ed9 1edb 1edd 1edf 1ee1 1ee3",
  p: "1a5 1e55 1e57 209a",
  q: "24b 2a0",
  r: "155 157 159 211 213 24d 279 27a 27b 27c 27d 27e 27f 36c 1d63 1e59 1e5b 1e5f",
  s: "df 15b 15d 15f 161 17f 219 23f 282 1e61 1e63 1e9b 209b",
  t: "163 165 167 1ab 1ad 21b 236 287 288 36d 1e6b 1e6d 1e6f 1e71 1e97 209c",
  u: "f9 fa fb fc 169 16b 16d 16f 171 173 1b0 1d4 215 217 289 367 1d1d 1d1e 1d64 1e73 1e75 1e77 1ee5 1ee7 1ee9 1eeb 1eed 1eef 1ef1",
  v: "28b 28c 36e 1d65 1e7d 1e7f",
  w: "175 28d 1e81 1e83 1e85 1e87 1e89 1e98",
  x: "36f 1e8b 1e8d",
  y: "fd ff 177 1b4 233 24f 28e 1e8f 1e99 1ef3 1ef5 1ef7 1ef9",
  z: "17a 17c 17e 1b6 225 240 290 291 1e91 1e93 1e95",
};

const FOLD = new Map<number, number>();
for (const [to, keys] of Object.entries(TABLE)) {
  for (const k of keys.split(" ")) FOLD.set(parseInt(k, 16), to.charCodeAt(0));
}

/** fzf's normalizeRune: the plain letter for a Latin letter with a diacritic, else `r` itself. */
export function normalizeRune(r: number): number {
  if (r < 0xc0 || r > 0x2184) return r;
  return FOLD.get(r) ?? r;
}
