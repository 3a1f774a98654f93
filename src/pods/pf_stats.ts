/**
 * Port-forward figures (pure): a snapshot per port (active and total connections, bytes each way, rates,
 * errors, current pod), the live lines a terminal shows, and the record `--stats-json`, the state file
 * and `port-forward list` share.
 */
import { formatBytes } from "../base/text/bytes.ts";

/** Traffic counters: connections (open now and in all), bytes each way, failed connections. */
export interface Counters {
  connections: number;
  active: number;
  bytesIn: number;
  bytesOut: number;
  errors: number;
}

/** What one listener (one address) reports. */
export interface ListenerFigures extends Counters {
  address: string;
  local: number;
  remote: number;
  pod: string;
}

/** One local port (its listeners on every address summed), with rates in bytes per second. */
export interface PortSnapshot extends Counters {
  addresses: string[];
  local: number;
  remote: number;
  pod: string;
  rateIn: number;
  rateOut: number;
}

/** A forward as `--stats-json`, the state file and `port-forward list -o json` show it. */
export interface ForwardRecord {
  id: string;
  pid: number;
  /** the process's start time (/proc/PID/stat field 22), so a reused pid is not taken for it */
  procStart?: string;
  /** started with --detach */
  detached: boolean;
  /** `svc/api`, `deploy/web`, `pod/x`, or the filters (`-l app=api`) */
  target: string;
  namespace: string;
  context: string;
  /** the pod traffic goes to now */
  pod: string;
  startedAt: string;
  updatedAt: string;
  /** times the forward moved to another pod */
  reconnects: number;
  ports: PortSnapshot[];
  totals: Counters;
  /** where a background forward writes its messages */
  log?: string;
}

/**
 * Bytes per second over the last second (a sliding window over successive totals, sampled a few times a
 * second): a burst of requests shows as a rate for the second after it, then the rate falls to 0.
 */
export class RateMeter {
  private samples = new Map<string, { t: number; v: number }[]>();
  private last = new Map<string, number>();

  constructor(private windowMs = 1000) {}

  rate(key: string, total: number, now: number): number {
    const s = this.samples.get(key) ?? [];
    this.samples.set(key, s);
    const prev = s.at(-1);
    if (prev && now - prev.t < 200) return this.last.get(key) ?? 0; // sampled again too soon
    s.push({ t: now, v: total });
    // the base: the newest sample at least a window old (or the oldest there is)
    while (s.length > 2 && now - s[1].t >= this.windowMs) s.shift();
    const base = s[0];
    const dt = (now - base.t) / 1000;
    const rate = dt > 0 ? Math.max(0, (total - base.v) / dt) : 0;
    this.last.set(key, rate);
    return rate;
  }
}

/** Sum listeners by local port (127.0.0.1 and ::1 of `localhost` are one port), in the order given. */
export function portSnapshots(ls: ListenerFigures[], meter: RateMeter, now: number): PortSnapshot[] {
  const byPort = new Map<number, PortSnapshot>();
  for (const l of ls) {
    const p = byPort.get(l.local) ?? {
      addresses: [],
      local: l.local,
      remote: l.remote,
      pod: l.pod,
      connections: 0,
      active: 0,
      bytesIn: 0,
      bytesOut: 0,
      errors: 0,
      rateIn: 0,
      rateOut: 0,
    };
    byPort.set(l.local, p);
    p.addresses.push(l.address);
    p.connections += l.connections;
    p.active += l.active;
    p.bytesIn += l.bytesIn;
    p.bytesOut += l.bytesOut;
    p.errors += l.errors;
  }
  for (const p of byPort.values()) {
    p.rateIn = meter.rate(`${p.local}/in`, p.bytesIn, now);
    p.rateOut = meter.rate(`${p.local}/out`, p.bytesOut, now);
  }
  return [...byPort.values()];
}

export function totalsOf(ports: PortSnapshot[]): Counters {
  const t = { connections: 0, active: 0, bytesIn: 0, bytesOut: 0, errors: 0 };
  for (const p of ports) {
    t.connections += p.connections;
    t.active += p.active;
    t.bytesIn += p.bytesIn;
    t.bytesOut += p.bytesOut;
    t.errors += p.errors;
  }
  return t;
}

const host = (a: string) => (a.includes(":") ? `[${a}]` : a);

/** `127.0.0.1:8080` (or `localhost:8080` for both loopbacks). */
export function portAddress(p: Pick<PortSnapshot, "addresses" | "local">): string {
  const a = p.addresses.length === 2 && p.addresses.includes("127.0.0.1") && p.addresses.includes("::1")
    ? "localhost"
    : p.addresses.map(host).join(",");
  return `${a}:${p.local}`;
}

function rate(n: number): string {
  return `${formatBytes(Math.round(n))}/s`;
}

/**
 * The live line of one port:
 * `127.0.0.1:8080 -> pod/api-1:8080  1 active, 12 total, in 1.2 MiB (40 KiB/s), out 3.4 KiB (0 B/s), 0 errors`
 */
export function formatPortLine(p: PortSnapshot): string {
  return `${portAddress(p)} -> pod/${p.pod}:${p.remote}  ${p.active} active, ${p.connections} total, in ${
    formatBytes(p.bytesIn)
  } (${rate(p.rateIn)}), out ${formatBytes(p.bytesOut)} (${rate(p.rateOut)}), ${p.errors} error${
    p.errors === 1 ? "" : "s"
  }`;
}

/** `1h2m`, `3m4s`, `12s` for list's UPTIME. */
export function formatUptime(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  if (d) return `${d}d${h}h`;
  if (h) return `${h}h${m}m`;
  if (m) return `${m}m${s % 60}s`;
  return `${s}s`;
}

/** The columns of `port-forward list`. */
export function listRow(r: ForwardRecord, now: number): string[] {
  return [
    r.id,
    r.target,
    r.ports.map((p) => `${portAddress(p)}->${p.remote}`).join(","),
    r.pod,
    formatUptime(now - Date.parse(r.startedAt)),
    String(r.totals.connections),
    formatBytes(r.totals.bytesIn),
    formatBytes(r.totals.bytesOut),
    String(r.reconnects),
  ];
}

export const LIST_HEADERS = ["ID", "TARGET", "PORTS", "POD", "UPTIME", "CONNS", "IN", "OUT", "RECONNECTS"];
