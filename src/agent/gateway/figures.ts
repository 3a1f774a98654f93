/**
 * The gateway's figures per session, for `list`, `compare`, `agent status`, the web UI and MCP: ONE read of
 * the namespace's gateway log (what `gateway usage` reads) summed for every session at once, never a read
 * per session. Failure-tolerant: no gateway, a log that cannot be read or a read slower than READ_MS →
 * no figures (null), never an error for the caller.
 */
import type { KubeStreams } from "../../kube/seam.ts";
import { type GatewayFigures, type GatewayWait, usageText } from "../../session/spec/gateway.ts";
import type { SessionView } from "../../session/state/status.ts";
import { waitingText } from "../outcome/outcome.ts";
import { gatewayLogLines } from "./cluster.ts";
import { type LogEvent, usageRows } from "./usage.ts";

/** How long the one log read may take before the command goes on without figures. */
const READ_MS = 5_000;

/** Every session's figures from the log lines (pure): tokens, cost, requests, denials, last denied host. */
export function figuresBySession(
  lines: LogEvent[],
): Map<string, Omit<GatewayFigures, "budgetUsd" | "budgetLeftUsd">> {
  const out = new Map<string, Omit<GatewayFigures, "budgetUsd" | "budgetLeftUsd">>();
  for (const r of usageRows(lines, "session")) {
    out.set(r.key, {
      requests: r.requests,
      denied: r.denied,
      input: r.input,
      output: r.output,
      cacheRead: r.cacheRead,
      cacheWrite: r.cacheWrite,
      costUsd: r.costKnown ? Math.round(r.costUsd * 1e6) / 1e6 : null,
    });
  }
  for (const l of lines) {
    if (l.ev === "deny" && l.s && l.host) {
      const f = out.get(l.s);
      if (f) f.lastDenied = l.host;
    }
  }
  const waits = gatewayWaits(lines);
  for (const [s, w] of waits.open) {
    const f = out.get(s) ??
      { requests: 0, denied: 0, input: 0, output: 0, cacheRead: 0, cacheWrite: 0, costUsd: 0 };
    out.set(s, { ...f, waiting: w });
  }
  for (const [s, why] of waits.down) {
    const f = out.get(s);
    if (f) f.unreachable = why;
  }
  for (const [s, n] of waits.rateLimits) {
    const f = out.get(s);
    if (f) f.rateLimits = n;
  }
  return out;
}

/**
 * The sessions' waits in the gateway (pure), from its log in order: a `queue` or `retry` line opens one
 * (the newest wins), the request's `waited` (its answer began) or `req` (it ended) line closes it. And each
 * session's 429s the gateway retried, each counted once.
 */
export function gatewayWaits(
  lines: LogEvent[],
): { open: Map<string, GatewayWait>; rateLimits: Map<string, number>; down: Map<string, string> } {
  const open = new Map<string, GatewayWait>();
  // a session whose last request the gateway answered 502 for an upstream it cannot reach (its `req` line's
  // `why`), until another request of it ends otherwise or an answer begins
  const down = new Map<string, string>();
  const rateLimits = new Map<string, number>();
  for (const l of lines as (LogEvent & Record<string, unknown>)[]) {
    if (!l.s) continue;
    if (l.ev === "retry") {
      const status = typeof l.status === "number" ? l.status : undefined;
      if (status === 429) rateLimits.set(l.s, (rateLimits.get(l.s) ?? 0) + 1);
      const host = typeof l.host === "string" ? l.host : undefined;
      open.set(l.s, {
        reason: l.why === "unreachable" && host
          ? `gateway cannot reach ${host} (${status ?? 502})`
          : `gateway: ${status ?? "retry"}`,
        ...(typeof l.until === "string" ? { until: l.until } : {}),
        ...(typeof l.attempt === "number" ? { attempt: l.attempt } : {}),
      });
    } else if (l.ev === "queue") {
      open.set(l.s, {
        reason: "gateway queue: the key's rate limit",
        ...(typeof l.until === "string" ? { until: l.until } : {}),
      });
    } else if (l.ev === "waited" || l.ev === "req") {
      open.delete(l.s);
      const host = typeof l.host === "string" ? l.host : undefined;
      if (l.ev === "req" && l.why === "unreachable" && host) {
        down.set(l.s, `gateway cannot reach ${host} (${typeof l.status === "number" ? l.status : 502})`);
      } else down.delete(l.s);
    }
  }
  return { open, rateLimits, down };
}

/** A session's figures with its budget (a session the gateway never saw has zeros: nothing metered yet). */
export function withBudget(
  f: Omit<GatewayFigures, "budgetUsd" | "budgetLeftUsd"> | undefined,
  budgetUsd: number | undefined | null,
): GatewayFigures {
  const base = f ?? { requests: 0, denied: 0, input: 0, output: 0, cacheRead: 0, cacheWrite: 0, costUsd: 0 };
  const budget = typeof budgetUsd === "number" ? budgetUsd : null;
  const left = budget === null || base.costUsd === null
    ? null
    : Math.max(0, Math.round((budget - base.costUsd) * 1e6) / 1e6);
  return { ...base, budgetUsd: budget, budgetLeftUsd: left };
}

/** The namespace's gateway log read once; null when there is none, it cannot be read, or it is too slow. */
export async function readGatewayLog(
  kube: KubeStreams,
  ns: string,
  ms = READ_MS,
): Promise<LogEvent[] | null> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), ms);
  try {
    const lines = await gatewayLogLines(kube, ns, ac.signal);
    return ac.signal.aborted ? null : lines as LogEvent[];
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The figures of the given sessions of one namespace (name → figures), from one log read; null when the
 * gateway could not be read. Budgets come from the caller (each session's recorded `--max-cost`).
 */
export async function gatewayFigures(
  kube: KubeStreams,
  ns: string,
  sessions: { name: string; budgetUsd?: number | null }[],
  ms = READ_MS,
): Promise<Map<string, GatewayFigures> | null> {
  const lines = await readGatewayLog(kube, ns, ms);
  if (!lines) return null;
  const all = figuresBySession(lines);
  return new Map(sessions.map((s) => [s.name, withBudget(all.get(s.name), s.budgetUsd)]));
}

/**
 * Fill `gatewayFigures` of every view: figures for a session that goes through a gateway, null for the
 * rest and for every session of a namespace whose gateway could not be read. One read per namespace that
 * has such a session (`list -A` may span several), all at once.
 */
export async function fillGatewayFigures(
  kube: KubeStreams,
  views: SessionView[],
  ms = READ_MS,
): Promise<void> {
  const byNs = new Map<string, SessionView[]>();
  for (const v of views) {
    v.gatewayFigures = null;
    if (!v.spec?.gateway) continue;
    byNs.set(v.namespace, [...byNs.get(v.namespace) ?? [], v]);
  }
  await Promise.all([...byNs].map(async ([ns, vs]) => {
    const figures = await gatewayFigures(
      kube,
      ns,
      vs.map((v) => ({ name: v.name, budgetUsd: v.spec?.agent?.settings?.maxCostUsd })),
      ms,
    );
    for (const v of vs) v.gatewayFigures = figures?.get(v.name) ?? null;
  }));
}

/** `gateway: 12.3k tok $0.41 (metered by the gateway, 14 requests); budget $1.00, $0.59 left` */
export function gatewayLine(f: GatewayFigures): string {
  const budget = f.budgetUsd === null
    ? ""
    : `; budget $${f.budgetUsd.toFixed(2)}, ${
      f.budgetLeftUsd === null ? "? left" : `$${f.budgetLeftUsd.toFixed(2)} left`
    }`;
  const limits = f.rateLimits ? `; ${f.rateLimits} rate limit${f.rateLimits === 1 ? "" : "s"} retried` : "";
  return `gateway: ${usageText(f)} (metered by the gateway, ${f.requests} request${
    f.requests === 1 ? "" : "s"
  })${budget}${limits}`;
}

/**
 * A running run's words with the gateway's wait of its session: the run's own wait first (the agent's
 * retry, kodama's continuation), else the gateway's: `running (gateway: 429, retry 1 in 56s)`,
 * `running (gateway cannot reach api.example.com (502), retrying 2)`.
 */
export function withGatewayWait(
  text: string,
  f: { waiting?: GatewayWait; unreachable?: string } | null | undefined,
  now = Date.now(),
): string {
  // the agent's own retry of the gateway's 502 (or kodama's continuation after it): named by the gateway's
  // words when its last answer was that it cannot reach the upstream
  const own = /^running \((502|network|unreachable|overloaded), (.+)\)$/.exec(text);
  const named = unreachableOf(f);
  if (own && named) return `running (${named}, ${own[2]})`;
  if (text !== "running" || !f?.waiting) return text;
  return waitingText(f.waiting, now);
}

/**
 * A run's own wait (the agent's retry of a 502 or a network error, kodama's continuation after it) named by
 * the gateway's words when its last answer to the session was that it cannot reach the upstream (pure).
 */
export function namedWait<W extends { reason: string; via?: string }>(
  w: W | undefined,
  f: { waiting?: GatewayWait; unreachable?: string } | null | undefined,
): W | undefined {
  const named = unreachableOf(f);
  if (!w || w.via || !named) return w;
  return /^(502|network|unreachable|overloaded)$/.test(w.reason) ? { ...w, via: named } : w;
}

/** The gateway's words for an upstream it cannot reach: retrying it now, else its last answer's. */
function unreachableOf(
  f: { waiting?: GatewayWait; unreachable?: string } | null | undefined,
): string | undefined {
  return f?.waiting?.reason.startsWith("gateway cannot reach") ? f.waiting.reason : f?.unreachable;
}

/** `list`'s AGENT words of every view whose running run waits in the gateway (after both were filled). */
export function fillGatewayWaits(views: SessionView[], now = Date.now()): void {
  for (const v of views) {
    if (v.agentOutcome) v.agentOutcome = withGatewayWait(v.agentOutcome, v.gatewayFigures, now);
  }
}
