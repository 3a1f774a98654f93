/**
 * Is the API server reachable? One shared record per client, fed by every request, watch and stream:
 * the first connection failure makes it "down" (one `lost` event, however many streams noticed), the next
 * answer makes it "up" again (one `back` event). Long-running commands (`logs -f`, `pods -w`, `wait`) retry
 * while it is down and give up with exit 1 once it has been down for `giveUpMs` (`--reconnect-timeout`).
 */
import { ExitCode, KodamaError } from "../base/errors.ts";
import { formatDuration } from "../base/duration.ts";

export type ReachEvent =
  | { type: "lost"; error: KodamaError; giveUpMs: number }
  | { type: "back"; downMs: number };

/** How long a command keeps retrying an unreachable server before giving up (`--reconnect-timeout`). */
export const DEFAULT_GIVE_UP_MS = 5 * 60_000;

export class Reachability {
  private downSince?: number;
  private lastError?: KodamaError;
  private listeners = new Set<(e: ReachEvent) => void>();
  /** the server has answered at least once */
  private answered = false;
  /** listeners were told it is lost (so they are told when it is back) */
  private announced = false;
  /** 0 = never give up */
  giveUpMs = DEFAULT_GIVE_UP_MS;

  constructor(private readonly where: string, private readonly now: () => number = Date.now) {}

  get down(): boolean {
    return this.downSince !== undefined;
  }

  /** How long it has been down (0 when up). */
  downFor(): number {
    return this.downSince === undefined ? 0 : this.now() - this.downSince;
  }

  /** The failure that made it down. */
  get error(): KodamaError | undefined {
    return this.lastError;
  }

  /** Listen for lost/back; returns the unsubscribe function. */
  subscribe(fn: (e: ReachEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * A request or stream could not reach the server. Only a server that answered before is "lost" to
   * listeners: a command whose first request fails just fails.
   */
  lost(error: KodamaError): void {
    this.lastError = error;
    if (this.downSince !== undefined) return;
    this.downSince = this.now();
    if (!this.answered) return;
    this.announced = true;
    for (const l of this.listeners) l({ type: "lost", error, giveUpMs: this.giveUpMs });
  }

  /** The server answered (any HTTP status). */
  reached(): void {
    this.answered = true;
    if (this.downSince === undefined) return;
    const downMs = this.now() - this.downSince;
    this.downSince = undefined;
    if (!this.announced) return;
    this.announced = false;
    for (const l of this.listeners) l({ type: "back", downMs });
  }

  /** Throws the give-up error (exit 1) once it has been down for longer than `giveUpMs`. */
  check(): void {
    const e = this.gaveUp();
    if (e) throw e;
  }

  gaveUp(): KodamaError | undefined {
    if (this.downSince === undefined || this.giveUpMs <= 0 || this.downFor() < this.giveUpMs) {
      return undefined;
    }
    // a server that never answered in time (a dial or handshake that did not finish): a timeout, exit 5
    return new KodamaError(
      `gave up: ${this.describe()}`,
      this.lastError?.code === ExitCode.TIMEOUT ? ExitCode.TIMEOUT : ExitCode.FAILED,
      "is the cluster running? raise --reconnect-timeout to wait longer (0 waits forever)",
    );
  }

  /** `the API server https://… (context x) has been unreachable for 12s (connection refused)` */
  describe(): string {
    const why = this.lastError?.message.replace(
      /^(?:cannot reach|TLS handshake with) .*? \(context [^)]*\)(?:: | failed: )/,
      "",
    );
    return `${this.where} has been unreachable for ${formatDuration(this.downFor())} (${why ?? "no answer"})`;
  }
}

/** The one-line stderr notes for a reachability event (what `logs -f`, `pods -w` and `wait` print). */
export function describeReachEvent(e: ReachEvent): string {
  if (e.type === "lost") {
    return `warning: ${e.error.message}; retrying${
      e.giveUpMs > 0 ? ` for up to ${formatDuration(e.giveUpMs)}` : ""
    }\n`;
  }
  return `reconnected after ${formatDuration(e.downMs)}; resuming\n`;
}
