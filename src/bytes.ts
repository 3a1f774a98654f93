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
