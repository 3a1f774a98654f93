/** Where output goes. Features write to sinks so the CLI can print and workflows can capture. */
import { concatBytes } from "../bytes.ts";
export interface Sink {
  write(chunk: Uint8Array | string): void;
}

const enc = new TextEncoder();

function writeAllSync(f: { writeSync(p: Uint8Array): number }, data: Uint8Array): void {
  let off = 0;
  while (off < data.length) off += f.writeSync(data.subarray(off));
}

function fileSink(f: { writeSync(p: Uint8Array): number }, onBrokenPipe: () => void): Sink {
  return {
    write(chunk) {
      try {
        writeAllSync(f, typeof chunk === "string" ? enc.encode(chunk) : chunk);
      } catch (e) {
        if (e instanceof Deno.errors.BrokenPipe) onBrokenPipe();
        else throw e;
      }
    },
  };
}

/**
 * A closed stdout (`kodama logs … | head`) ends kodama quietly with exit 0, as a Unix filter ends on
 * SIGPIPE (but without kubectl's 141, which breaks `set -o pipefail` scripts for no gain).
 */
export const stdoutSink: Sink = fileSink(Deno.stdout, () => Deno.exit(0));
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
