/**
 * Kubernetes resource quantities (`2`, `500m`, `1.5`, `4Gi`, `1e3`), parsed exactly (BigInt, no float
 * rounding) with the API server's grammar, so bad values are refused before any request and the
 * derived requests are never rounded to 0. Pure.
 */
import { usageError } from "../../base/errors.ts";
import { quote } from "../../base/text/escape.ts";

/** `<number><suffix>`: a decimal number, then a binary-SI, decimal-SI or exponent suffix (or none). */
const QUANTITY_RE = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;

const BINARY: Record<string, number> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, "": 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

/** An exact rational value: `num / den`. */
export interface Exact {
  num: bigint;
  den: bigint;
}

/** Parse a quantity into an exact value, or undefined when it is not one. */
export function parseQuantity(text: string): Exact | undefined {
  const m = QUANTITY_RE.exec(text.trim());
  if (!m) return undefined;
  const [, sign, digits, suffix = ""] = m;
  const [whole, frac = ""] = digits.split(".");
  let num = BigInt((whole || "0") + frac) * (sign === "-" ? -1n : 1n);
  let den = 10n ** BigInt(frac.length);
  if (suffix in BINARY) num *= 1024n ** BigInt(BINARY[suffix]);
  else {
    const exp = suffix in DECIMAL ? DECIMAL[suffix] : Number(suffix.slice(1));
    if (Math.abs(exp) > 30) return undefined;
    if (exp >= 0) num *= 10n ** BigInt(exp);
    else den *= 10n ** BigInt(-exp);
  }
  return { num, den };
}

function ceilDiv(a: bigint, b: bigint): bigint {
  return a >= 0n ? (a + b - 1n) / b : a / b;
}

/** Millicores of a CPU quantity, rounded up (the API server's own precision is 1m). */
export function cpuMillis(q: Exact): bigint {
  return ceilDiv(q.num * 1000n, q.den);
}

/** Bytes of a size quantity, rounded up. */
export function sizeBytes(q: Exact): bigint {
  return ceilDiv(q.num, q.den);
}

/** Canonical CPU text: whole cores as `2`, anything else in millicores (`0.5` -> `500m`). */
export function formatCpu(millis: bigint): string {
  return millis % 1000n === 0n ? String(millis / 1000n) : `${millis}m`;
}

/** Canonical size text: the largest binary unit that divides it exactly (`536870912` -> `512Mi`). */
export function formatSize(bytes: bigint): string {
  for (const [unit, power] of [["Ei", 6], ["Pi", 5], ["Ti", 4], ["Gi", 3], ["Mi", 2], ["Ki", 1]] as const) {
    const size = 1024n ** BigInt(power);
    if (bytes >= size && bytes % size === 0n) return `${bytes / size}${unit}`;
  }
  return String(bytes);
}

export interface Resources {
  requests: { cpu: string; memory: string };
  limits: { cpu: string; memory: string };
}

/**
 * Requests and limits for a session pod from the user's CPU and memory limits. The limits are what the
 * user asked for; the requests are a quarter of them (so a small node can hold several idle sessions),
 * rounded up, so never 0 (at least 1m CPU, 1 byte) and never above the limit.
 */
export function sessionResources(cpu: string, memory: string): Resources {
  const c = checkedCpu(cpu, "--cpu");
  const m = checkedSize(memory, "--memory");
  const cpuReq = ceilDiv(c, 4n);
  const memReq = ceilDiv(m, 4n);
  return {
    requests: { cpu: formatCpu(cpuReq), memory: formatSize(memReq) },
    limits: { cpu: formatCpu(c), memory: formatSize(m) },
  };
}

/** Millicores of a CPU flag value; exit 2 naming the flag when it is not a positive CPU quantity. */
export function checkedCpu(text: string, flag: string): bigint {
  const q = parseQuantity(text);
  if (!q || /[KMGTPE]i$/.test(text.trim())) {
    throw usageError(
      `invalid ${flag} ${quote(text)}: not a CPU quantity`,
      "use cores or millicores, e.g. 2, 1.5, 500m",
    );
  }
  if (q.num <= 0n) throw usageError(`invalid ${flag} ${quote(text)}: must be greater than 0`);
  return cpuMillis(q);
}

/** Bytes of a size flag value; exit 2 naming the flag when it is not a positive size. */
export function checkedSize(text: string, flag: string): bigint {
  const q = parseQuantity(text);
  if (!q) {
    throw usageError(
      `invalid ${flag} ${quote(text)}: not a size quantity`,
      "use a number with a unit, e.g. 512Mi, 4Gi, 10Gi",
    );
  }
  if (q.num <= 0n) throw usageError(`invalid ${flag} ${quote(text)}: must be greater than 0`);
  const bytes = sizeBytes(q);
  return bytes;
}

/** `cpu 1 (request 250m), memory 2Gi (request 512Mi)` */
export function resourcesText(cpu: string, memory: string): string {
  const r = sessionResources(cpu, memory);
  return `cpu ${r.limits.cpu} (request ${r.requests.cpu}), memory ${r.limits.memory} (request ${r.requests.memory})`;
}
