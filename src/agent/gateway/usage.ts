/**
 * The gateway's log (one JSON object per line, the contract's fields) read as figures: a session's lines
 * for `gateway log`, sums of `usage` lines for `gateway usage`, a session's last denied host for
 * `agent status`. Pure.
 */

/** One line of the gateway's log (the contract's fields; any may be missing). */
export interface LogEvent {
  t?: string;
  ev?: string;
  s?: string;
  g?: string | null;
  host?: string;
  path?: string;
  status?: number | string;
  bytesIn?: number;
  bytesOut?: number;
  ms?: number;
  provider?: string;
  key?: string;
  model?: string;
  usage?: { input?: number; output?: number; cacheRead?: number; cacheWrite?: number };
  costUsd?: number | null;
  /** a `carried` line (the figures a restarted gateway replayed from its journal): its day and counts */
  day?: string;
  requests?: number;
  denied?: number;
  unpriced?: number;
}

export interface LogRow {
  t: string;
  ev: string;
  host?: string;
  path?: string;
  status?: number | string;
  bytesIn?: number;
  bytesOut?: number;
  verdict: "allowed" | "denied" | "-";
}

const VERDICT: Record<string, LogRow["verdict"]> = { req: "allowed", conn: "allowed", deny: "denied" };

/** The lines of one session, oldest first (config, carried figures and other sessions' lines left out). */
export function logRows(lines: LogEvent[], session: string): LogRow[] {
  return lines.filter((l) => l.s === session && l.ev && l.ev !== "config" && l.ev !== "carried").map((l) => ({
    t: l.t ?? "",
    ev: l.ev!,
    ...(l.host !== undefined ? { host: l.host } : {}),
    ...(l.path !== undefined ? { path: l.path } : {}),
    ...(typeof l.status === "number" ? { status: l.status } : {}),
    ...(typeof l.bytesIn === "number" ? { bytesIn: l.bytesIn } : {}),
    ...(typeof l.bytesOut === "number" ? { bytesOut: l.bytesOut } : {}),
    verdict: VERDICT[l.ev!] ?? "-",
  }));
}

export type UsageBy = "session" | "group" | "day";

export interface UsageRow {
  key: string;
  requests: number;
  denied: number;
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  costUsd: number;
  /** every usage line of the row had a cost (a model without a price makes it unknown) */
  costKnown: boolean;
}

const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);

/**
 * Sums per session, group or day (UTC): requests and denials from req/conn/deny, tokens and cost from usage,
 * and what a restarted gateway carried over from before (its `carried` lines, one per session, group, day).
 */
export function usageRows(lines: LogEvent[], by: UsageBy): UsageRow[] {
  const rows = new Map<string, UsageRow>();
  const keyOf = (l: LogEvent) =>
    by === "session" ? l.s ?? "-" : by === "group" ? l.g ?? "-" : (l.day ?? l.t ?? "").slice(0, 10) || "-";
  for (const l of lines) {
    if (!l.ev || !["req", "conn", "deny", "usage", "carried"].includes(l.ev)) continue;
    const k = keyOf(l);
    const r = rows.get(k) ?? {
      key: k,
      requests: 0,
      denied: 0,
      input: 0,
      output: 0,
      cacheRead: 0,
      cacheWrite: 0,
      costUsd: 0,
      costKnown: true,
    };
    rows.set(k, r);
    if (l.ev === "req" || l.ev === "conn") r.requests++;
    else if (l.ev === "deny") r.denied++;
    else if (l.ev === "carried") {
      r.requests += num(l.requests);
      r.denied += num(l.denied);
      r.input += num(l.usage?.input);
      r.output += num(l.usage?.output);
      r.cacheRead += num(l.usage?.cacheRead);
      r.cacheWrite += num(l.usage?.cacheWrite);
      r.costUsd += num(l.costUsd);
      if (num(l.unpriced) > 0) r.costKnown = false;
    } else {
      r.input += num(l.usage?.input);
      r.output += num(l.usage?.output);
      r.cacheRead += num(l.usage?.cacheRead);
      r.cacheWrite += num(l.usage?.cacheWrite);
      if (typeof l.costUsd === "number") r.costUsd += l.costUsd;
      else r.costKnown = false;
    }
  }
  return [...rows.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** The last host the gateway denied this session (for `agent status`), if any. */
export function lastDenied(lines: LogEvent[], session: string): string | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    if (lines[i].s === session && lines[i].ev === "deny" && lines[i].host) return lines[i].host;
  }
  return undefined;
}
