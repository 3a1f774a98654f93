/** Byte helpers shared by every layer (like errors.ts, this module imports nothing). */

/** Concatenate chunks into one Uint8Array (returns the only chunk as is). */
export function concatBytes(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** `512 B`, `1.5 KiB`, `50 MiB` (binary units, one decimal under 10). */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/**
 * A reader's bytes as a pull-driven stream of one reused buffer: the next read happens only when the
 * consumer asks for the next chunk, into the same `size` bytes, so each chunk is valid until then (for a
 * consumer that copies or sends it before asking again: ExecStreams.stdinReused). A 100 MB pipe read
 * through `Deno.stdin.readable` allocates a fresh buffer per read, whose allocation, page faults and
 * garbage cost more CPU than the bytes' way to the socket.
 */
export function reusedReads(
  r: { read(p: Uint8Array): Promise<number | null> },
  size = 256 * 1024,
): ReadableStream<Uint8Array> {
  let buf: Uint8Array | undefined;
  return new ReadableStream<Uint8Array>({
    async pull(ctrl) {
      buf ??= new Uint8Array(size);
      let n: number | null;
      do n = await r.read(buf); while (n === 0); // a pull that enqueues nothing is not called again
      if (n === null) ctrl.close();
      else ctrl.enqueue(buf.subarray(0, n));
    },
  }, { highWaterMark: 0 });
}
