/** Test helpers for the WebSocket client's tests. */

/** A server frame (unmasked unless `key`), as RFC 6455 §5.2 lays it out. */
export function serverFrame(
  op: number,
  payload: Uint8Array,
  o: { fin?: boolean; rsv?: number; key?: Uint8Array } = {},
): Uint8Array {
  const n = payload.length;
  const len = n < 126 ? [n] : n < 65536 ? [126, n >> 8, n & 0xff] : [127, 0, 0, 0, 0, ...be32(n)];
  const head = [
    ((o.fin ?? true) ? 0x80 : 0) | (o.rsv ?? 0) | op,
    (o.key ? 0x80 : 0) | len[0],
    ...len.slice(1),
  ];
  const body = payload.map((b, i) => (o.key ? b ^ o.key[i & 3] : b));
  return new Uint8Array([...head, ...(o.key ?? []), ...body]);
}

const be32 = (n: number) => [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
