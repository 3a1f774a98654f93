/**
 * What a run looks like. On a TTY (stderr): the running steps at the bottom with a spinner and a
 * clock, finished steps as permanent lines with status and duration. Without a TTY: one plain line
 * when a step starts and one when it ends. Always on stderr; step stdout passes through to stdout.
 */
import type { Sink } from "../base/sink.ts";
import { bold, dim, green, red, yellow } from "../ui/color.ts";
import { formatDuration } from "../base/duration.ts";
import { escapeControl } from "../base/text/escape.ts";

/** A note as shown: one or more lines of kodama's, with what came from a workflow or pod made visible. */
const noteText = (line: string) => escapeControl(line.replace(/\n$/, ""), { newlines: true }) + "\n";

export type StepStatus = "ok" | "failed" | "skipped" | "ignored";

export interface Display {
  start(key: string, label: string, depth: number): void;
  end(key: string, status: StepStatus, ms: number, detail?: string): void;
  note(line: string): void;
  /** step output meant for stdout / stderr */
  out: Sink;
  err: Sink;
  close(): void;
}

export interface DisplayOptions {
  out: Sink;
  err: Sink;
  /** live spinner mode (stderr is a TTY) */
  live: boolean;
  color: boolean;
  /** stdout and stderr share the terminal (stdout is a TTY too) */
  stdoutIsTty?: boolean;
  /** no step lines at all (nested workflow calls use the parent's display) */
  quiet?: boolean;
}

const SPIN = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const dec = new TextDecoder();

function mark(status: StepStatus, color: boolean): string {
  switch (status) {
    case "ok":
      return green("✓", color);
    case "failed":
      return red("✗", color);
    case "ignored":
      return yellow("!", color);
    default:
      return dim("-", color);
  }
}

export function endLine(
  label: string,
  status: StepStatus,
  ms: number,
  detail: string | undefined,
  color: boolean,
  depth = 0,
): string {
  const indent = "  ".repeat(depth);
  const time = status === "skipped" ? dim("skipped", color) : dim(formatDuration(ms), color);
  const why = detail ? `: ${status === "failed" ? red(detail, color) : detail}` : "";
  return `${indent}${mark(status, color)} ${label} ${time}${why}\n`;
}

export function createDisplay(o: DisplayOptions): Display {
  return o.live ? liveDisplay(o) : plainDisplay(o);
}

function plainDisplay(o: DisplayOptions): Display {
  const labels = new Map<string, { label: string; depth: number }>();
  return {
    start(key, label, depth) {
      labels.set(key, { label, depth });
      if (!o.quiet) o.err.write(`${"  ".repeat(depth)}${dim("▶", o.color)} ${bold(label, o.color)}\n`);
    },
    end(key, status, ms, detail) {
      const l = labels.get(key) ?? { label: key, depth: 0 };
      if (!o.quiet || status === "failed") {
        o.err.write(endLine(l.label, status, ms, detail, o.color, l.depth));
      }
    },
    note: (line) => o.err.write(noteText(line)),
    out: o.out,
    err: o.err,
    close() {},
  };
}

function liveDisplay(o: DisplayOptions): Display {
  const active = new Map<string, { label: string; depth: number; started: number }>();
  const labels = new Map<string, { label: string; depth: number }>();
  let drawn = 0;
  let frame = 0;
  let outPartial = "";
  let errPartial = "";
  const clear = () => {
    if (drawn) o.err.write(`\x1b[${drawn}F\x1b[J`);
    drawn = 0;
  };
  const draw = () => {
    if (active.size === 0) return;
    const lines: string[] = [];
    const now = Date.now();
    for (const a of active.values()) {
      lines.push(
        `${"  ".repeat(a.depth)}${SPIN[frame % SPIN.length]} ${a.label} ${
          dim(formatDuration(now - a.started), o.color)
        }`,
      );
    }
    o.err.write(lines.join("\n") + "\n");
    drawn = lines.length;
  };
  const above = (fn: () => void) => {
    clear();
    fn();
    draw();
  };
  const timer = setInterval(() => {
    frame++;
    above(() => {});
  }, 100);
  Deno.unrefTimer(timer);
  // whole lines only, so the spinner never lands in the middle of step output
  const lineSink = (target: Sink, shared: boolean, which: "out" | "err"): Sink => ({
    write(chunk) {
      if (!shared) return target.write(chunk);
      const s = (which === "out" ? outPartial : errPartial) +
        (typeof chunk === "string" ? chunk : dec.decode(chunk));
      const cut = s.lastIndexOf("\n") + 1;
      if (which === "out") outPartial = s.slice(cut);
      else errPartial = s.slice(cut);
      if (cut > 0) above(() => target.write(s.slice(0, cut)));
    },
  });
  const flush = () => {
    if (outPartial) above(() => o.out.write(outPartial + "\n"));
    if (errPartial) above(() => o.err.write(errPartial + "\n"));
    outPartial = errPartial = "";
  };
  return {
    start(key, label, depth) {
      labels.set(key, { label, depth });
      above(() => active.set(key, { label, depth, started: Date.now() }));
    },
    end(key, status, ms, detail) {
      const l = labels.get(key) ?? { label: key, depth: 0 };
      flush();
      above(() => {
        active.delete(key);
        o.err.write(endLine(l.label, status, ms, detail, o.color, l.depth));
      });
    },
    note: (line) => above(() => o.err.write(noteText(line))),
    out: lineSink(o.out, o.stdoutIsTty ?? true, "out"),
    err: lineSink(o.err, true, "err"),
    close() {
      clearInterval(timer);
      flush();
      clear();
    },
  };
}
