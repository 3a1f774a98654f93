import { assert, assertEquals } from "@kodama/test-assert";
import {
  formatPrefix,
  LineBuffer,
  PrefixedWriter,
  prefixLines,
  prefixShape,
} from "../../../src/pods/lines.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

Deno.test("LineBuffer returns whole lines only, across chunk boundaries", () => {
  const b = new LineBuffer();
  assertEquals(b.push(enc.encode("hel")), null);
  assertEquals(dec.decode(b.push(enc.encode("lo\nwor")!)!), "hello\n");
  assertEquals(dec.decode(b.push(enc.encode("ld\na\nb")!)!), "world\na\n");
  assertEquals(dec.decode(b.end()!), "b\n");
  assertEquals(b.end(), null);
});

Deno.test("LineBuffer keeps a UTF-8 character split across chunks intact", () => {
  const b = new LineBuffer();
  const bytes = enc.encode("héllo\n");
  assertEquals(b.push(bytes.subarray(0, 2)), null); // "h" + first byte of é
  assertEquals(dec.decode(b.push(bytes.subarray(2))!), "héllo\n");
});

Deno.test("LineBuffer cuts a line longer than the limit", () => {
  const b = new LineBuffer(8);
  assertEquals(b.push(enc.encode("abcd")), null);
  assertEquals(dec.decode(b.push(enc.encode("efghij"))!), "abcdefghij\n");
});

Deno.test("prefixLines prefixes every line of a block", () => {
  const out = prefixLines(enc.encode("a\nbb\n\n"), enc.encode("p | "));
  assertEquals(dec.decode(out), "p | a\np | bb\np | \n");
});

Deno.test("PrefixedWriter: interleaved pods never mix inside a line", () => {
  const writes: string[] = [];
  const a = new PrefixedWriter("a | ", (b) => writes.push(dec.decode(b)));
  const b = new PrefixedWriter("b | ", (x) => writes.push(dec.decode(x)));
  a.push(enc.encode("one "));
  b.push(enc.encode("uno "));
  a.push(enc.encode("two\nthree"));
  b.push(enc.encode("dos\n"));
  a.end();
  b.end();
  assertEquals(writes, ["a | one two\n", "b | uno dos\n", "a | three\n"]);
});

Deno.test("PrefixedWriter passes 20 MB through intact in few writes", () => {
  const line = "x".repeat(99) + "\n";
  const chunk = enc.encode(line.repeat(655)); // ~64 KiB, lines straddle chunk ends below
  let total = 0;
  let writes = 0;
  const w = new PrefixedWriter("", (b) => {
    total += b.length;
    writes++;
  });
  let fed = 0;
  while (fed < 20e6) {
    w.push(chunk.subarray(0, 30_001));
    w.push(chunk.subarray(30_001));
    fed += chunk.length;
  }
  w.end();
  assertEquals(total, fed);
  assert(writes < fed / 20_000, `too many writes: ${writes}`);
});

Deno.test("prefixShape shows the container only when it tells pods apart or was asked for", () => {
  const t = [
    { namespace: "prod", pod: "api-1", container: "app" },
    { namespace: "prod", pod: "api-22", container: "app" },
  ];
  assertEquals(prefixShape(t, {}), { namespace: false, container: false, width: 6 });
  assertEquals(prefixShape(t, { containerGiven: true }).container, true);
  assertEquals(prefixShape(t, { allNamespaces: true }), { namespace: true, container: false, width: 11 });
  const mixed = [t[0], { namespace: "prod", pod: "api-1", container: "sidecar" }];
  assertEquals(prefixShape(mixed, {}).container, true);
});

Deno.test("formatPrefix pads, and colours only when asked, stably per pod", () => {
  const t = { namespace: "prod", pod: "api-1", container: "app" };
  assertEquals(
    formatPrefix(t, { namespace: false, container: false, width: 8, color: false }),
    "api-1    | ",
  );
  assertEquals(formatPrefix(t, { namespace: true, container: true, color: false }), "prod/api-1/app | ");
  const c1 = formatPrefix(t, { namespace: false, container: false, color: true });
  const c2 = formatPrefix(t, { namespace: false, container: false, color: true });
  assert(c1.includes("\x1b["));
  assertEquals(c1, c2);
});
