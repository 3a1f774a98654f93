/**
 * The page's live data over one server-sent event stream per page (`/api/events`): the session list, pushed
 * whenever a watch (the cluster's pods and volumes, this machine's sync status files) says something
 * changed; never polled. Operations (start, stop, …) report their output and end on the same stream.
 */
import type { Kube } from "../kube/client.ts";
import type { Sink } from "../base/sink.ts";
import { stripAnsi } from "../ui/color.ts";
import type { SessionRow } from "../session/state/live.ts";
import type { SessionView } from "../session/state/status.ts";
import type { AgentRun } from "../agent/runs/agent.ts";
import { runNotes, runOutcome } from "../agent/outcome/runtruth.ts";
import { doubling, realClock } from "../base/clock.ts";
import { type GatewayFigures, usageText } from "../session/spec/gateway.ts";

interface Op {
  id: number;
  title: string;
  text: string;
  done: boolean;
  code?: number;
  error?: string;
  sink: Sink;
}

interface AgentState {
  state: string;
  run: string;
  /** the state with what it hides: `succeeded (no changes)`, `denied: 3 tool uses` (runtruth.ts) */
  outcome?: string;
  /**
   * The last known state, shown while reading the runs again fails (an API server away longer than a
   * follow's two minutes, exec refused): since when (ms). A blank cell would say less than the last read did.
   */
  stale?: number;
}

const enc = new TextEncoder();

/**
 * The wait before the `n`th read again of what a cut stream left unknown: 2 s, doubling, at most 10 s. On
 * the real cluster, after a minute without its API server, the list showed a run's end 15 s after the
 * cluster's start returned (29.5 s with a 30 s cap).
 */
const backoff = (n: number) => doubling(n, 1000, 10_000);
const MAX_OP_TEXT = 64 * 1024;

export class Hub {
  private clients = new Set<ReadableStreamDefaultController<Uint8Array>>();
  private views: SessionView[] = [];
  private rows: (SessionRow & { agent?: AgentState; gateway?: GatewayRow })[] = [];
  /** the gateway's figures of the sessions that go through one, as last read */
  private figures = new Map<string, GatewayFigures>();
  private figuresRead: "idle" | "reading" | "again" = "idle";
  private agents = new Map<string, AgentState>();
  private running = new Set<string>();
  /** the latest agent run each session's volume records, as last seen */
  private recorded = new Map<string, string | undefined>();
  private watching = false;
  private ready: Promise<void> | undefined;
  private ops = new Map<number, Op>();
  private nextOp = 1;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private error: string | undefined;
  private keepAlive: ReturnType<typeof setInterval> | undefined;

  constructor(readonly kube: Kube, readonly signal: AbortSignal) {}

  close(): void {
    clearTimeout(this.timer);
    clearInterval(this.keepAlive);
    for (const c of this.clients) {
      try {
        c.close();
      } catch { /* gone */ }
    }
    this.clients.clear();
  }

  private send(c: ReadableStreamDefaultController<Uint8Array>, event: string, data: unknown): void {
    try {
      c.enqueue(enc.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
    } catch {
      this.clients.delete(c);
    }
  }

  private broadcast(event: string, data: unknown): void {
    for (const c of this.clients) this.send(c, event, data);
  }

  /** One page's stream: the current list at once, then every change. */
  stream(): Response {
    let me: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({
      start: (ctl) => {
        me = ctl;
        this.clients.add(ctl);
        this.ensureWatch().then(() => {
          this.send(ctl, "sessions", { items: this.rows, ...(this.error ? { error: this.error } : {}) });
          for (const op of this.ops.values()) this.send(ctl, "op", this.opData(op));
        });
      },
      cancel: () => void this.clients.delete(me),
    });
    // a page that goes away cancels the body (above): request.signal is not read, Deno.serve would warn
    // a comment now and then keeps proxies and idle timers from closing the stream (it carries no data)
    this.keepAlive ??= setInterval(() => {
      for (const c of this.clients) {
        try {
          c.enqueue(enc.encode(": keep-alive\n\n"));
        } catch {
          this.clients.delete(c);
        }
      }
    }, 15_000);
    return new Response(body, {
      headers: {
        "content-type": "text/event-stream",
        "cache-control": "no-store",
        "x-accel-buffering": "no",
      },
    });
  }

  /**
   * The watches start with the server (`kodama ui` calls this once its URL is printed, while the user opens
   * it) or else with the first page, and run until the server stops: the first page finds the list read.
   */
  start(): Promise<void> {
    return this.ensureWatch();
  }

  private ensureWatch(): Promise<void> {
    if (this.ready) return this.ready;
    this.ready = new Promise<void>((resolve) => {
      (async () => {
        const live = await import("../session/state/live.ts");
        const { watchSessionViews, watchSyncStatus } = live;
        this.sessionRow = live.sessionRow;
        this.watching = true;
        watchSyncStatus(() => this.changed(), this.signal);
        while (!this.signal.aborted) {
          try {
            await watchSessionViews(this.kube, this.kube.namespace, (views) => {
              this.error = undefined;
              this.views = views;
              this.noticeRunning(views);
              // the first list is ready for pages at once; later changes are pushed once per burst
              if (!this.rowsMade) {
                this.makeRows();
                this.refreshFigures();
              }
              this.changed();
              resolve();
            }, this.signal);
          } catch (e) {
            this.error = (e as Error).message;
            this.changed();
            resolve();
            await new Promise((r) => setTimeout(r, 2000));
          }
        }
      })();
    });
    return this.ready;
  }

  /**
   * A session that has just become Running, or whose workspace volume records a run started since (from the
   * CLI, `start --prompt`, MCP: `ANNOTATION_AGENT_RUN`): read its agent runs once (an exec, not a poll).
   */
  private noticeRunning(views: SessionView[]): void {
    const now = new Set<string>();
    for (const v of views) {
      if (v.status !== "Running") continue;
      now.add(v.name);
      if (!this.running.has(v.name) || this.recorded.get(v.name) !== v.agentRun) this.refreshAgent(v.name);
    }
    for (const n of this.running) if (!now.has(n)) this.agents.delete(n);
    this.running = now;
    this.recorded = new Map(views.map((v) => [v.name, v.agentRun]));
  }

  /** A retry's wait: `ms`, or until the API server answers again after an outage (the session watch's return). */
  private async wait(ms: number): Promise<void> {
    const { waitOrBack } = await import("../agent/runs/follow.ts");
    await waitOrBack(realClock, ms, this.signal, this.kube.reach);
  }

  /** reads of a session's runs that failed in a row (a cut exec, a pod not ready for exec yet) */
  private misses = new Map<string, number>();

  /**
   * Read a session's latest agent run (after a run starts or its log ends, and when the pod becomes ready).
   * A read that fails while the session is Running is tried again (backoff: 2 s, doubling to 10 s), so a
   * cut stream does not leave the list without the run, or showing it running, for good.
   */
  refreshAgent(name: string): void {
    (async () => {
      const { runningPod, listRuns } = await import("../agent/runs/agentrun.ts");
      try {
        this.noteRuns(
          name,
          await listRuns(this.kube, await runningPod(this.kube, this.kube.namespace, name)),
        );
        this.misses.delete(name);
      } catch {
        const last = this.agents.get(name);
        if (last && last.stale === undefined) {
          this.agents.set(name, { ...last, stale: Date.now() });
          this.changed();
        }
        const n = (this.misses.get(name) ?? 0) + 1;
        this.misses.set(name, n);
        await this.wait(backoff(n));
        // unless a read since has taken over (it succeeded, or failed and waits itself)
        if (!this.signal.aborted && this.running.has(name) && this.misses.get(name) === n) {
          this.refreshAgent(name);
        }
      }
    })();
  }

  /** What a read of a session's runs found (here, or by a page's request): the list shows its latest. */
  noteRuns(name: string, runs: { id: string; state: string; truth?: AgentRun["truth"] }[]): void {
    const last = runs.at(-1);
    const before = this.agents.get(name);
    const outcome = last ? [runOutcome(last), ...runNotes(last)].join("; ") : undefined;
    if (last) this.agents.set(name, { state: last.state, run: last.id, outcome });
    else this.agents.delete(name);
    if (last?.state === "running") this.followRun(name, last.id);
    else if (last && this.following.get(`${name}/${last.id}`) !== -1) {
      this.following.delete(`${name}/${last.id}`);
    }
    // a run started, ended or was looked at: the gateway has metered its requests
    this.refreshFigures();
    if (
      before?.state !== last?.state || before?.run !== last?.id || before?.outcome !== outcome ||
      before?.stale !== undefined
    ) {
      this.changed();
    }
  }

  /** the runs being followed now (-1), and how many follows of each ended while it still read running */
  private following = new Map<string, number>();

  /**
   * A running agent run is followed (its log, as `agent logs -f` reads it, to nothing) so the list learns
   * the moment it ends, whoever started it: an event, not a poll. A follow that ended while the run still
   * reads running (its exec was cut: a loaded cluster, a restarted API server) is taken up again after 2 s,
   * then twice as long each time up to 10 s: neither the list nor the agent tab keeps "running" for good, and
   * a log is not re-read in a loop.
   */
  private followRun(name: string, run: string): void {
    const key = `${name}/${run}`;
    const ended = this.following.get(key) ?? 0;
    if (ended === -1 || this.signal.aborted) return;
    this.following.set(key, -1);
    (async () => {
      if (ended > 0) await this.wait(backoff(ended));
      try {
        const { agentLogs } = await import("../agent/runs/agentrun.ts");
        const none = { write: () => {} };
        await agentLogs(this.kube, this.kube.namespace, name, {
          run,
          follow: true,
          signal: this.signal,
          out: none,
          err: none,
        });
      } catch { /* cut, or the pod went away: the refresh says which */ }
      this.following.set(key, ended + 1);
      if (!this.signal.aborted) this.refreshAgent(name);
    })();
  }

  /**
   * Read the gateway's figures of every session that goes through one (src/agent/gateway/figures.ts: one
   * log read per namespace, none without a gateway), one read at a time: a call during a read makes one more.
   */
  refreshFigures(): void {
    if (this.figuresRead !== "idle") {
      this.figuresRead = "again";
      return;
    }
    this.figuresRead = "reading";
    (async () => {
      try {
        const { fillGatewayFigures, withGatewayWait } = await import("../agent/gateway/figures.ts");
        this.gatewayWait = withGatewayWait;
        do {
          this.figuresRead = "reading";
          const views = this.views.map((v) => ({ ...v }));
          await fillGatewayFigures(this.kube, views);
          const next = new Map<string, GatewayFigures>();
          for (const v of views) if (v.gatewayFigures) next.set(v.name, v.gatewayFigures);
          if (JSON.stringify([...next]) !== JSON.stringify([...this.figures])) {
            this.figures = next;
            this.changed();
          }
        } while ((this.figuresRead as string) === "again" && !this.signal.aborted);
      } catch { /* no figures: the list goes on without them */ }
      this.figuresRead = "idle";
    })();
  }

  /** The sync files changed (or an operation resolved a conflict). */
  touchSync(): void {
    this.changed();
  }

  /** Push the list soon, once for a burst of events. */
  private changed(): void {
    if (!this.watching || this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.makeRows();
      this.broadcast("sessions", { items: this.rows, ...(this.error ? { error: this.error } : {}) });
    }, 25);
  }

  private sessionRow: ((v: SessionView) => SessionRow) | undefined;
  /** agent/gateway/figures.ts's withGatewayWait, once the figures were read (they hold the waits) */
  private gatewayWait: ((text: string, f: GatewayFigures) => string) | undefined;
  private rowsMade = false;

  /** The rows pages are sent, from the views and agent runs as now known. */
  private makeRows(): void {
    const row = this.sessionRow!;
    this.rowsMade = true;
    this.rows = this.views.map((v) => {
      const f = this.figures.get(v.name);
      const a = agentWithGatewayWait(this.agents.get(v.name), f, this.gatewayWait);
      return { ...row(v), ...(a ? { agent: a } : {}), ...(f ? { gateway: gatewayRow(f) } : {}) };
    });
  }

  private opData(op: Op) {
    return {
      id: op.id,
      title: op.title,
      text: op.text,
      done: op.done,
      ...(op.code !== undefined ? { code: op.code } : {}),
      ...(op.error ? { error: op.error } : {}),
    };
  }

  newOp(title: string): Op {
    const id = this.nextOp++;
    const dec = new TextDecoder();
    const op: Op = {
      id,
      title,
      text: "",
      done: false,
      sink: {
        write: (c) => {
          const t = stripAnsi(typeof c === "string" ? c : dec.decode(c, { stream: true }));
          op.text = (op.text + t).slice(-MAX_OP_TEXT);
          this.broadcast("op", this.opData(op));
        },
      },
    };
    this.ops.set(id, op);
    // the last 20 operations are kept for pages opened later
    for (const k of this.ops.keys()) if (this.ops.size > 20) this.ops.delete(k);
    this.broadcast("op", this.opData(op));
    return op;
  }

  endOp(id: number, code: number, error?: string): void {
    const op = this.ops.get(id);
    if (!op) return;
    op.done = true;
    op.code = code;
    op.error = error;
    this.broadcast("op", this.opData(op));
  }
}

/** What a page is sent of the gateway's figures: the counts, the list's cell and the agent tab's line. */
export interface GatewayRow extends GatewayFigures {
  /** `12.3k tok $0.41` */
  text: string;
}

function gatewayRow(f: GatewayFigures): GatewayRow {
  return { ...f, text: usageText(f) };
}

/**
 * A row's agent cell whose running run waits in the gateway says so, as `list` does (`running (gateway:
 * 429, retry 1 in 56s)`); its notes after `; ` stay. `wait` is agent/gateway/figures.ts's withGatewayWait.
 */
export function agentWithGatewayWait<A extends { outcome?: string }>(
  a: A | undefined,
  f: GatewayFigures | undefined,
  wait: ((text: string, f: GatewayFigures) => string) | undefined,
): A | undefined {
  if (!a?.outcome || !f?.waiting || !wait) return a;
  const [first, ...notes] = a.outcome.split("; ");
  return { ...a, outcome: [wait(first, f), ...notes].join("; ") };
}
