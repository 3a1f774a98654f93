/**
 * IPv4/IPv6 CIDRs as the API server reads them (Go's net.ParseCIDR): parse, normalise to the network
 * address, and the "strict subset" test NetworkPolicy's ipBlock.except is held to. Pure.
 */

export interface Cidr {
  v: 4 | 6;
  /** the network address (host bits cleared) */
  addr: bigint;
  prefix: number;
}

const bitsOf = (v: 4 | 6) => (v === 4 ? 32 : 128);

function parseV4(s: string): bigint | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  let n = 0n;
  for (const p of parts) {
    // Go (1.17+) refuses leading zeros: 010.0.0.1 is not an address
    if (!/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255) return undefined;
    n = (n << 8n) | BigInt(p);
  }
  return n;
}

function parseV6(s: string): bigint | undefined {
  if (!/^[0-9a-fA-F:]+$/.test(s) || s.includes(":::")) return undefined;
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const groups = (h: string) => (h === "" ? [] : h.split(":"));
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? head.length !== 8 : missing < 1) return undefined;
  const all = [...head, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  let n = 0n;
  for (const g of all) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    n = (n << 16n) | BigInt(parseInt(g, 16));
  }
  return n;
}

/** The CIDR, normalised to its network address; undefined when it is not one. */
export function parseCidr(s: string): Cidr | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(s.trim());
  if (!m) return undefined;
  const v: 4 | 6 = m[1].includes(":") ? 6 : 4;
  const addr = v === 4 ? parseV4(m[1]) : parseV6(m[1]);
  const prefix = Number(m[2]);
  if (addr === undefined || prefix > bitsOf(v) || (m[2].length > 1 && m[2].startsWith("0"))) return undefined;
  const host = bitsOf(v) - prefix;
  return { v, addr: (addr >> BigInt(host)) << BigInt(host), prefix };
}

/** RFC 5952 text: dotted IPv4, IPv6 with the longest run of zero groups as `::`. */
export function formatCidr(c: Cidr): string {
  if (c.v === 4) {
    const o = [24n, 16n, 8n, 0n].map((s) => String((c.addr >> s) & 255n));
    return `${o.join(".")}/${c.prefix}`;
  }
  const g = Array.from({ length: 8 }, (_, i) => Number((c.addr >> BigInt(112 - 16 * i)) & 0xffffn));
  let best = { at: -1, len: 0 };
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > best.len && j - i >= 2) best = { at: i, len: j - i };
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(":");
  const text = best.at < 0 ? hex(g) : `${hex(g.slice(0, best.at))}::${hex(g.slice(best.at + best.len))}`;
  return `${text}/${c.prefix}`;
}

/** `inner` lies inside `outer` (same family), equal included. */
export function within(inner: Cidr, outer: Cidr): boolean {
  if (inner.v !== outer.v || inner.prefix < outer.prefix) return false;
  const host = BigInt(bitsOf(outer.v) - outer.prefix);
  return inner.addr >> host === outer.addr >> host;
}

/** `inner` is a strict subset of `outer`: what the API server asks of every `except` entry. */
export function strictlyWithin(inner: Cidr, outer: Cidr): boolean {
  return within(inner, outer) && inner.prefix > outer.prefix;
}
