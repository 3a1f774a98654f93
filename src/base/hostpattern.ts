/**
 * Host patterns of an egress allow-list (`session.egress.hosts`, the gateway token's `allow`): a DNS name,
 * or `*.` and a DNS name for its subdomains (never the domain itself). Pure.
 */
const HOST = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export function isHostPattern(s: string): boolean {
  return s.length <= 253 && HOST.test(s);
}

/** Does pattern `p` (a host or `*.domain`) cover host or pattern `h`? */
export function coversHost(p: string, h: string): boolean {
  if (p === h) return true;
  if (!p.startsWith("*.")) return false;
  const domain = p.slice(1); // ".x.org"
  return h.endsWith(domain) && h.length > domain.length;
}
