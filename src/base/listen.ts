/**
 * Local listen addresses (`ui --address`, `port-forward --address`), checked before anything starts.
 *
 * kubectl's rule for `port-forward --address`: an IP address or `localhost`. A literal is read strictly:
 * IPv4 as four decimal parts 0-255 without leading zeros (Go's net.ParseIP), IPv6 as the URL standard
 * reads it (optionally in brackets); no host names, so a typo never becomes a DNS lookup or a listener
 * on some other machine's address. A bad one is a usage error (exit 2) naming the flag and the value.
 */
import { usageError } from "./errors.ts";

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Is `a` an IPv6 literal (`::1`, `fe80::2`, `[::]`)? */
function isIPv6(a: string): boolean {
  const bare = a.startsWith("[") && a.endsWith("]") ? a.slice(1, -1) : a;
  if (!bare.includes(":") || !/^[0-9a-fA-F:.]+$/.test(bare)) return false;
  try {
    return new URL(`http://[${bare}]/`).hostname.length > 2;
  } catch {
    return false;
  }
}

/** Is `a` an address kodama may listen on: an IPv4 or IPv6 literal, or `localhost`? */
export function isListenAddress(a: string): boolean {
  return a === "localhost" || IPV4.test(a) || isIPv6(a);
}

/**
 * Check a listen address flag's value; `list`: a comma-separated list is allowed (port-forward). Returns
 * the addresses; throws a usage error (exit 2) naming `flag` and the value.
 */
export function checkListenAddresses(value: string, flag: string, o: { list?: boolean } = {}): string[] {
  const parts = o.list ? value.split(",").map((s) => s.trim()) : [value];
  const hint = o.list
    ? "give IP addresses or localhost, comma-separated, e.g. 127.0.0.1, ::1, 0.0.0.0, localhost"
    : "give an IP address or localhost, e.g. 127.0.0.1, ::1, 0.0.0.0";
  if (value.trim() === "") throw usageError(`invalid ${flag} "": empty`, hint);
  for (const p of parts) {
    if (!isListenAddress(p)) {
      throw usageError(
        parts.length > 1
          ? `invalid ${flag} "${value}": "${p}" is not an IP address`
          : `invalid ${flag} "${value}": not an IP address`,
        hint,
      );
    }
  }
  return parts;
}
