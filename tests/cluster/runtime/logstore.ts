/**
 * Container log files in the CRI format the kubelet reads:
 *   `<RFC3339Nano timestamp> <stdout|stderr> <F|P> <content>\n`
 * F = a full line (the newline was part of the output), P = a partial line. As containerd writes
 * them: an unterminated line is held back until its newline arrives, it reaches 16 KiB (containerd's
 * max_container_log_line_size; the piece is written as P) or the container exits (then it is P).
 */
import fs from "node:fs";
import { Buffer } from "node:buffer";

export type LogStream = "stdout" | "stderr";

export interface LogLine {
  ts: string;
  /** epoch milliseconds of ts (sub-ms precision is kept only in ts) */
  ms: number;
  stream: LogStream;
  partial: boolean;
  content: Buffer;
}

const perfBase = performance.now();
const wallBase = Date.now();
let lastNs = 0n;

/** Current time as RFC3339Nano (Go's formatting: trailing zeros trimmed), strictly increasing. */
export function nowRFC3339Nano(): string {
  const t = wallBase + (performance.now() - perfBase);
  let ns = BigInt(Math.floor(t * 1000)) * 1000n;
  if (ns <= lastNs) ns = lastNs + 1n;
  lastNs = ns;
  return formatNs(ns);
}

function formatNs(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const frac = String(ns % 1_000_000_000n).padStart(9, "0").replace(/0+$/, "");
  const base = new Date(ms).toISOString().slice(0, 19);
  return frac ? `${base}.${frac}Z` : `${base}Z`;
}

/** RFC3339 with second precision (container state timestamps). */
export function nowRFC3339(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, "Z");
}

export type LogListener = (line: LogLine) => void;

/** Appends one container run's output to its log file and fans out new lines to followers. */
export class ContainerLog {
  readonly file: string;
  private fd: number;
  private pending: Record<LogStream, Buffer | undefined> = { stdout: undefined, stderr: undefined };
  private listeners = new Set<LogListener>();
  private endListeners = new Set<() => void>();
  closed = false;

  constructor(file: string) {
    this.file = file;
    this.fd = fs.openSync(file, "a");
  }

  write(stream: LogStream, chunk: Buffer): void {
    if (this.closed) return;
    let buf = this.pending[stream] ? Buffer.concat([this.pending[stream]!, chunk]) : chunk;
    this.pending[stream] = undefined;
    let nl: number;
    while ((nl = buf.indexOf(10)) !== -1) {
      this.emit(stream, buf.subarray(0, nl), false);
      buf = buf.subarray(nl + 1);
    }
    while (buf.length >= 16384) {
      this.emit(stream, buf.subarray(0, 16384), true);
      buf = buf.subarray(16384);
    }
    if (buf.length) this.pending[stream] = Buffer.from(buf);
  }

  /** What is held back of an unterminated line goes out as a partial one (the container exited). */
  private flush(stream: LogStream): void {
    const rest = this.pending[stream];
    this.pending[stream] = undefined;
    if (rest?.length) this.emit(stream, rest, true);
  }

  private emit(stream: LogStream, content: Buffer, partial: boolean): void {
    const ts = nowRFC3339Nano();
    const head = Buffer.from(`${ts} ${stream} ${partial ? "P" : "F"} `);
    fs.writeSync(this.fd, Buffer.concat([head, content, Buffer.from("\n")]));
    const line: LogLine = { ts, ms: Date.parse(ts), stream, partial, content: Buffer.from(content) };
    for (const l of this.listeners) l(line);
  }

  /** Subscribe to lines written from now on; returns the unsubscribe function. */
  follow(onLine: LogListener, onEnd: () => void): () => void {
    if (this.closed) {
      queueMicrotask(onEnd);
      return () => {};
    }
    this.listeners.add(onLine);
    this.endListeners.add(onEnd);
    return () => {
      this.listeners.delete(onLine);
      this.endListeners.delete(onEnd);
    };
  }

  /** Flush partial lines, close the file and end every follower. */
  close(): void {
    if (this.closed) return;
    this.flush("stdout");
    this.flush("stderr");
    this.closed = true;
    try {
      fs.closeSync(this.fd);
    } catch { /* already */ }
    const ends = [...this.endListeners];
    this.listeners.clear();
    this.endListeners.clear();
    for (const e of ends) e();
  }
}

/** Parse a CRI log file's bytes into lines (malformed lines are skipped). */
export function parseLog(data: Buffer): LogLine[] {
  const out: LogLine[] = [];
  let start = 0;
  while (start < data.length) {
    let end = data.indexOf(10, start);
    if (end === -1) end = data.length;
    const line = data.subarray(start, end);
    start = end + 1;
    const s1 = line.indexOf(32);
    const s2 = s1 < 0 ? -1 : line.indexOf(32, s1 + 1);
    const s3 = s2 < 0 ? -1 : line.indexOf(32, s2 + 1);
    if (s3 < 0) continue;
    const ts = line.subarray(0, s1).toString();
    const stream = line.subarray(s1 + 1, s2).toString() as LogStream;
    const tag = line.subarray(s2 + 1, s3).toString();
    out.push({ ts, ms: Date.parse(ts), stream, partial: tag === "P", content: line.subarray(s3 + 1) });
  }
  return out;
}

export function readLog(file: string): LogLine[] {
  try {
    return parseLog(fs.readFileSync(file));
  } catch {
    return [];
  }
}

export interface LogQuery {
  timestamps?: boolean;
  tailLines?: number;
  /** only lines at or after this epoch ms */
  sinceMs?: number;
  limitBytes?: number;
}

/** Bytes of one line as `kubectl logs` shows it (P lines carry no newline). */
export function renderLine(line: LogLine, timestamps: boolean): Buffer {
  const parts: Buffer[] = [];
  if (timestamps) parts.push(Buffer.from(line.ts + " "));
  parts.push(line.content);
  if (!line.partial) parts.push(Buffer.from("\n"));
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}

/** Apply sinceTime/tailLines to stored lines (tail counts full lines, like the kubelet). */
export function selectLines(lines: LogLine[], q: LogQuery): LogLine[] {
  let sel = q.sinceMs !== undefined ? lines.filter((l) => l.ms >= q.sinceMs!) : lines;
  if (q.tailLines !== undefined && q.tailLines >= 0) {
    let full = 0;
    let i = sel.length;
    while (i > 0) {
      if (!sel[i - 1].partial) {
        if (full === q.tailLines) break;
        full++;
      }
      i--;
    }
    sel = sel.slice(i);
  }
  return sel;
}
