/** A server-sent event stream that runs `fn` until the page goes away or the server stops. */
import { formatError } from "../base/errors.ts";
import { stripAnsi } from "../ui/color.ts";

export type Send = (event: string, data: unknown) => void;

export function sse(
  _req: Request,
  server: AbortSignal,
  fn: (send: Send, signal: AbortSignal) => Promise<void>,
): Response {
  const enc = new TextEncoder();
  const abort = new AbortController();
  const stop = () => abort.abort();
  // a page that goes away cancels the body (below); request.signal is not read: Deno.serve warns on it
  server.addEventListener("abort", stop, { once: true });
  let keep: ReturnType<typeof setInterval> | undefined;
  const body = new ReadableStream<Uint8Array>({
    start: (ctl) => {
      const send: Send = (event, data) => {
        if (abort.signal.aborted) return;
        try {
          ctl.enqueue(enc.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
        } catch {
          stop();
        }
      };
      // a comment now and then keeps idle timers from closing the stream (it carries no data)
      keep = setInterval(() => {
        try {
          ctl.enqueue(enc.encode(": keep-alive\n\n"));
        } catch {
          stop();
        }
      }, 15_000);
      (async () => {
        try {
          await fn(send, abort.signal);
        } catch (e) {
          send("failed", { error: stripAnsi(formatError(e)).trim() });
        } finally {
          clearInterval(keep);
          try {
            ctl.close();
          } catch { /* closed */ }
        }
      })();
    },
    cancel: () => {
      clearInterval(keep);
      stop();
    },
  });
  return new Response(body, {
    headers: { "content-type": "text/event-stream", "cache-control": "no-store", "x-accel-buffering": "no" },
  });
}
