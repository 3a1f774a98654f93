/**
 * One live progress line on stderr (`⠋ 37/100 done, 2 failed (3.1s)`): redrawn in place on a terminal,
 * cut to the terminal's width; without a terminal either one plain line per change (`plain`) or nothing.
 * Output written through `wrap(sink)` clears the line first and the line comes back on the next tick,
 * so streamed output and the live line never mix on one row.
 */
import { formatDuration } from "../base/duration.ts";
import type { Sink } from "../base/sink.ts";

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

function columns(): number {
  try {
    return Deno.consoleSize().columns;
  } catch {
    return 100;
  }
}

export interface ProgressOptions {
  /** without a terminal, print each new line (default true); false = draw nothing */
  plain?: boolean;
  /** redraw period on a terminal (spinner, elapsed time) */
  intervalMs?: number;
}

export class ProgressRenderer {
  private line = "";
  private frame = 0;
  private timer?: ReturnType<typeof setInterval>;
  private drawn = false;
  private readonly plain: boolean;

  constructor(
    private err: Sink,
    private tty: boolean,
    private started = Date.now(),
    o: ProgressOptions = {},
  ) {
    this.plain = o.plain ?? true;
    if (tty) this.timer = setInterval(() => this.draw(), o.intervalMs ?? 120);
  }

  update(line: string): void {
    if (line === this.line) return;
    this.line = line;
    if (this.tty) this.draw();
    else if (this.plain) this.err.write(line + "\n");
  }

  private draw(): void {
    if (!this.line || this.timer === undefined) return;
    const text = `${SPINNER[this.frame++ % SPINNER.length]} ${this.line} (${
      formatDuration(Date.now() - this.started)
    })`;
    const max = Math.max(20, columns() - 1);
    const cut = [...text].length > max ? [...text].slice(0, max - 1).join("") + "…" : text;
    this.err.write(`\r\x1b[2K${cut}`);
    this.drawn = true;
  }

  private clear(): void {
    if (this.drawn) this.err.write("\r\x1b[2K");
    this.drawn = false;
  }

  /**
   * A sink whose writes first clear the live line (it is redrawn on the next tick). Use it for every
   * stream that shares the terminal with stderr; without a terminal it is `sink` itself.
   */
  wrap(sink: Sink): Sink {
    if (!this.tty) return sink;
    return {
      write: (chunk) => {
        this.clear();
        sink.write(chunk);
      },
    };
  }

  /** Stop animating; leave `final` (if any) as the last line. */
  done(final?: string): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    if (this.tty) {
      this.clear();
      if (final) this.err.write(final + "\n");
    } else if (final && final !== this.line && this.plain) this.err.write(final + "\n");
  }
}

/**
 * Several live lines at the bottom of a terminal (one per forwarded port), redrawn in place; `print`
 * puts a message above them. Each line is cut to the terminal's width so none wraps.
 */
export class LiveBlock {
  private lines: string[] = [];
  private drawn = 0;

  constructor(private err: Sink) {}

  private clear(): void {
    if (!this.drawn) return;
    this.err.write(`\r${this.drawn > 1 ? `\x1b[${this.drawn - 1}A` : ""}\x1b[J`);
    this.drawn = 0;
  }

  private draw(): void {
    if (!this.lines.length) return;
    const max = Math.max(20, columns() - 1);
    const cut = (l: string) => ([...l].length > max ? [...l].slice(0, max - 1).join("") + "…" : l);
    this.err.write(this.lines.map(cut).join("\n"));
    this.drawn = this.lines.length;
  }

  update(lines: string[]): void {
    if (lines.join("\n") === this.lines.join("\n") && this.drawn) return;
    this.clear();
    this.lines = lines;
    this.draw();
  }

  /** A message line above the live lines. */
  print(line: string): void {
    this.clear();
    this.err.write(line + "\n");
    this.draw();
  }

  /** Take the live lines away (the final figures are printed by the caller). */
  done(): void {
    this.clear();
    this.lines = [];
  }
}
