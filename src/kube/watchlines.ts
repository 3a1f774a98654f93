/**
 * A watch stream's framing: newline-delimited JSON events, each line bounded by KUBE_LIMITS.event (./bounds.ts).
 * `Kube.watchObjects` (./client.ts) reads its streams through these.
 */
import type { ApiWhat } from "./errors.ts";
import { KodamaError } from "../base/errors.ts";
import { KUBE_LIMITS, tooLarge } from "./bounds.ts";
import type { NativeStream } from "./transport.ts";

/**
 * A watch's lines, read until its stream ends, fails or is closed (the caller's signal closes it). Returns
 * the error of a line over KUBE_LIMITS.event (the stream is closed then).
 */
export async function readLines(
  s: NativeStream,
  onLine: (line: string) => void,
  what: ApiWhat,
): Promise<KodamaError | undefined> {
  const reader = s.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buf = eachLine(buf, value, onLine, what);
    }
  } catch (e) {
    // reset, or closed by the caller: the watch loop decides whether to go on
    if (e instanceof KodamaError) return e;
  } finally {
    s.close();
    reader.cancel().catch(() => {});
  }
  return undefined;
}

/**
 * Hands each whole line of `buf` (trimmed) to `onLine`; returns the unfinished rest, which may not grow
 * past KUBE_LIMITS.event (one event; throws tooLarge). A watch stream's framing.
 */
export function eachLine(rest: string, chunk: string, onLine: (line: string) => void, what: ApiWhat): string {
  // only the new chunk is searched: a long line is not scanned again with every chunk
  if (!chunk.includes("\n")) {
    // characters, not bytes: a UTF-8 character is 1 to 4 bytes, so the bound is loose by that much
    if (rest.length + chunk.length > KUBE_LIMITS.event) throw tooLarge("event", what);
    return rest + chunk;
  }
  let buf = rest + chunk;
  let nl;
  while ((nl = buf.indexOf("\n")) >= 0) {
    const line = buf.slice(0, nl).trim();
    buf = buf.slice(nl + 1);
    onLine(line);
  }
  if (buf.length > KUBE_LIMITS.event) throw tooLarge("event", what);
  return buf;
}
