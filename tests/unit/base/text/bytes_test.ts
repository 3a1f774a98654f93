import { assertEquals } from "@kodama/test-assert";
import { reusedReads } from "../../../../src/base/text/bytes.ts";

/** A reader handing out `data` in pieces of at most `piece` bytes, counting its reads. */
function pieces(data: Uint8Array, piece: number) {
  let off = 0;
  const r = {
    reads: 0,
    read(p: Uint8Array): Promise<number | null> {
      r.reads++;
      if (off >= data.length) return Promise.resolve(null);
      const n = Math.min(piece, p.length, data.length - off);
      p.set(data.subarray(off, off + n));
      off += n;
      return Promise.resolve(n);
    },
  };
  return r;
}

Deno.test("reusedReads: every byte in order, each chunk in the one buffer, read only when asked for", async () => {
  const data = new Uint8Array(1000).map((_, i) => i % 251);
  const src = pieces(data, 300);
  const reader = reusedReads(src, 256).getReader();
  const got: number[] = [];
  const buffers = new Set<ArrayBufferLike>();
  assertEquals(src.reads, 0, "nothing is read before the first chunk is asked for");
  while (true) {
    const readsBefore = src.reads;
    const { value, done } = await reader.read();
    if (done) break;
    assertEquals(src.reads, readsBefore + 1, "one read per chunk asked for: no read-ahead into the buffer");
    buffers.add(value.buffer);
    got.push(...value);
  }
  assertEquals(got, [...data]);
  assertEquals(buffers.size, 1);
});

Deno.test("reusedReads: a read of 0 bytes is not a chunk, nor the end", async () => {
  const seq = [3, 0, 2, null];
  let i = 0;
  const stream = reusedReads({
    read(p) {
      const n = seq[i++];
      if (n) p.fill(7, 0, n);
      return Promise.resolve(n);
    },
  }, 8);
  const chunks: number[] = [];
  for await (const c of stream) chunks.push(c.length);
  assertEquals(chunks, [3, 2]);
});
