import { assert, assertEquals } from "@kodama/test-assert";
import wabt from "wabt";
import {
  HEAD_ROOM,
  keyWord,
  MASK_WASM,
  MaskArena,
  maskJs,
  maskKey,
  maskModule,
} from "../../../src/kube/ws_mask.ts";

/** The WAT text in ws_mask.ts's comment, its ` * ` prefixes taken off. */
async function watText(): Promise<string> {
  const src = await Deno.readTextFile(new URL("../../../src/kube/ws_mask.ts", import.meta.url));
  const m = /\* WAT:\n([\s\S]*?)\n \* END WAT/.exec(src);
  if (!m) throw new Error("no WAT block in ws_mask.ts");
  return m[1].split("\n").map((l) => l.replace(/^ \* ?/, "")).join("\n");
}

Deno.test("ws mask: the embedded module is exactly the WAT beside it, assembled", async () => {
  const w = await wabt();
  const mod = w.parseWat("mask.wat", await watText(), { simd: true });
  try {
    const { buffer } = mod.toBinary({});
    assertEquals(Array.from(MASK_WASM), Array.from(buffer as Uint8Array));
  } finally {
    mod.destroy();
  }
});

/** RFC 6455 §5.3, byte by byte: the reference the module is checked against. */
const reference = (b: Uint8Array, key: Uint8Array) => b.map((x, i) => x ^ key[i & 3]);

Deno.test("ws mask: the SIMD mask equals the reference for every length 0..70, odd offsets, several keys", () => {
  const { bytes, mask } = maskModule(1);
  const keys = [[0, 0, 0, 0], [1, 2, 3, 4], [0xff, 0x80, 0x7f, 0x01], [0xde, 0xad, 0xbe, 0xef], [
    ...maskKey(),
  ]]
    .map((k) => new Uint8Array(k));
  for (const key of keys) {
    for (const offset of [0, 1, 3, 16, 17, 63]) {
      for (let n = 0; n <= 70; n++) {
        const payload = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n + offset) & 0xff);
        bytes.fill(0xaa, 0, 256);
        bytes.set(payload, offset);
        mask(offset, n, keyWord(key));
        const got = bytes.slice(offset, offset + n);
        assertEquals(
          Array.from(got),
          Array.from(reference(payload, key)),
          `n ${n} offset ${offset} key ${key}`,
        );
        // nothing before or after the payload is touched
        assert(bytes.subarray(0, offset).every((b) => b === 0xaa), `before, n ${n} offset ${offset}`);
        assert(bytes.subarray(offset + n, 256).every((b) => b === 0xaa), `after, n ${n} offset ${offset}`);
        const js = payload.slice();
        maskJs(js, key);
        assertEquals(Array.from(js), Array.from(got));
      }
    }
  }
});

Deno.test("ws mask: a 4 MiB payload masked twice is itself again, and masked once differs", () => {
  const { bytes, mask } = maskModule(65);
  const n = 4 * 1024 * 1024 + 3;
  for (let i = 0; i < n; i++) bytes[7 + i] = i & 0xff;
  const key = keyWord(new Uint8Array([9, 8, 7, 6]));
  mask(7, n, key);
  assertEquals([bytes[7], bytes[8], bytes[n + 6]], [
    0 ^ 9,
    1 ^ 8,
    ((n - 1) & 0xff) ^ [9, 8, 7, 6][(n - 1) & 3],
  ]);
  mask(7, n, key);
  let same = true;
  for (let i = 0; i < n; i++) same &&= bytes[7 + i] === (i & 0xff);
  assert(same);
});

Deno.test("ws mask: keys are fresh per frame", () => {
  const seen = new Set<number>();
  for (let i = 0; i < 300; i++) seen.add(keyWord(maskKey()) >>> 0);
  // 300 draws of 32 random bits: a repeat would be a broken generator, not chance (p ~ 1e-5)
  assertEquals(seen.size, 300);
});

Deno.test("ws mask: the arena's slots are taken, given back, and waited for", async () => {
  const a = new MaskArena(100_000, 2);
  const s1 = a.take(), s2 = a.take();
  assert(s1 !== undefined && s2 !== undefined && s1 !== s2);
  assert(Math.abs(s1 - s2) >= HEAD_ROOM + 100_000, "slots do not overlap");
  assertEquals(a.take(), undefined);
  let woke = false;
  const waiting = a.wait().then(() => (woke = true));
  await Promise.resolve();
  assertEquals(woke, false);
  a.give(s1);
  await waiting;
  assertEquals(a.take(), s1);
  assert(a.bytes.length >= 2 * (HEAD_ROOM + 100_000));
});
