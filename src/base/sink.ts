/** Where output goes. Features write to sinks so the CLI can print and workflows can capture. */
import { concatBytes } from "./text/bytes.ts";
export interface Sink {
  write(chunk: Uint8Array | string): void;
}

const enc = new TextEncoder();

function writeAllSync(f: { writeSync(p: Uint8Array): number }, data: Uint8Array): void {
  let off = 0;
  while (off < data.length) off += f.writeSync(data.subarray(off));
}

/** A sink on a file; after EPIPE (the reader went away) it calls `onBrokenPipe` once and drops writes. */
function fileSink(f: { writeSync(p: Uint8Array): number }, onBrokenPipe: () => void): Sink {
  let closed = false;
  return {
    write(chunk) {
      if (closed) return;
      try {
        writeAllSync(f, typeof chunk === "string" ? enc.encode(chunk) : chunk);
      } catch (e) {
        if (!(e instanceof Deno.errors.BrokenPipe)) throw e;
        closed = true;
        onBrokenPipe();
      }
    },
  };
}

const closedHandlers = new Set<() => void>();
let stdoutGone = false;

/**
 * Run `fn` when the reader of stdout goes away, instead of exiting at once: for commands with cleanup
 * to do (a workflow run unwinds like Ctrl-C and runs its always() steps). Returns the unsubscribe.
 */
export function onStdoutClosed(fn: () => void): () => void {
  closedHandlers.add(fn);
  return () => closedHandlers.delete(fn);
}

/** True once a write to stdout found its reader gone. */
export function stdoutClosed(): boolean {
  return stdoutGone;
}

/**
 * A closed stdout (`kodama logs … | head`) ends kodama quietly with exit 0, as a Unix filter ends on
 * SIGPIPE (but without kubectl's 141, which breaks `set -o pipefail` scripts for no gain) — at once,
 * unless a command registered `onStdoutClosed` to unwind first.
 */
export const stdoutSink: Sink = fileSink(Deno.stdout, () => {
  stdoutGone = true;
  if (closedHandlers.size === 0) Deno.exit(0);
  for (const fn of [...closedHandlers]) fn();
});
/** A closed stderr: nobody is left to tell; keep going. */
export const stderrSink: Sink = fileSink(Deno.stderr, () => {});

export function memorySink(): Sink & { text(): string; bytes(): Uint8Array } {
  const parts: Uint8Array[] = [];
  return {
    write(chunk) {
      parts.push(typeof chunk === "string" ? enc.encode(chunk) : chunk.slice());
    },
    bytes() {
      return concatBytes(parts);
    },
    text() {
      return new TextDecoder().decode(this.bytes());
    },
  };
}
