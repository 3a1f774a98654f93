/**
 * Where a followed log stream resumes after it ended (EOF, a dropped connection, an API-server outage),
 * so the user sees every line exactly once.
 *
 * The stream is re-opened with `sinceTime` at the start of the second of the last line shown: the API
 * (and kubelet) take `sinceTime` with second precision at best, and some runtimes stamp lines with whole
 * seconds, so a resumed stream repeats part of that second. Lines of earlier seconds are dropped; within
 * the boundary second, the lines already shown are dropped once each (by timestamp and text, counted: a
 * line printed three times in that second and shown twice is shown once more). Lines after it are new.
 */
export class ResumePoint {
  /** the second of the last line shown, `2026-11-21T08:00:05` (UTC, as kubelet stamps lines) */
  private second?: string;
  /** lines shown within `second`: `ts\0text` -> how many times */
  private seen = new Map<string, number>();
  /** while replaying the boundary second after a resume: what is still to be skipped */
  private replay?: Map<string, number>;

  /** Anything shown yet (a stream that never showed a line starts over with the user's --since/--tail). */
  get started(): boolean {
    return this.second !== undefined;
  }

  /** Before re-opening: the `sinceTime` to ask for (undefined when nothing was shown yet). */
  resume(): string | undefined {
    if (this.second === undefined) return undefined;
    this.replay = new Map(this.seen);
    return `${this.second}Z`;
  }

  /** Should this line (RFC3339 timestamp and the rest) be shown? Records it when it is. */
  accept(ts: string | undefined, text: string): boolean {
    if (ts === undefined) return true;
    const sec = utcSecond(ts);
    if (this.second !== undefined && sec < this.second) return false;
    const key = `${ts}\0${text}`;
    if (sec === this.second && this.replay) {
      const n = this.replay.get(key) ?? 0;
      if (n > 0) {
        this.replay.set(key, n - 1);
        return false;
      }
    }
    if (sec !== this.second) {
      this.second = sec;
      this.seen.clear();
      this.replay = undefined;
    }
    this.seen.set(key, (this.seen.get(key) ?? 0) + 1);
    return true;
  }
}

/** `2026-11-21T08:00:05` for any RFC3339 timestamp (offsets converted to UTC). */
function utcSecond(ts: string): string {
  if (ts.endsWith("Z") || ts.length < 20) return ts.slice(0, 19);
  const ms = Date.parse(ts);
  return Number.isNaN(ms) ? ts.slice(0, 19) : new Date(ms).toISOString().slice(0, 19);
}
