/**
 * A terminal in the browser: one WebSocket carried onto the same exec stream `kodama attach` opens (the
 * session's shell, with a TTY). The page sends `{"i": TEXT}` for keystrokes and `{"r": [COLS, ROWS]}` when
 * its size changes; the server sends the pod's output as binary frames and, at the end, `{"exit": CODE}`.
 */
import type { Kube } from "../kube/client.ts";
import type { TermSize } from "../kube/exec.ts";
import { formatError } from "../base/errors.ts";
import { stripAnsi } from "../ui/color.ts";

/** An async queue of sizes the exec stream sends as resize messages. */
function sizeQueue(signal: AbortSignal) {
  const queue: TermSize[] = [];
  let wake: (() => void) | undefined;
  signal.addEventListener("abort", () => wake?.(), { once: true });
  return {
    push(s: TermSize) {
      queue.push(s);
      wake?.();
    },
    async *[Symbol.asyncIterator]() {
      while (!signal.aborted) {
        const s = queue.shift();
        if (s) {
          yield s;
          continue;
        }
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
    },
  };
}

/** What a page's WebSocket runs: the session's shell (`attachArgv`), or `command` in a pod's container. */
export interface TerminalTarget {
  namespace: string;
  pod: string;
  container: string;
  command: string[];
}

export function terminalResponse(req: Request, kube: Kube, target: () => Promise<TerminalTarget>): Response {
  const { socket, response } = Deno.upgradeWebSocket(req);
  socket.binaryType = "arraybuffer";
  const abort = new AbortController();
  const enc = new TextEncoder();
  let input: ReadableStreamDefaultController<Uint8Array> | undefined;
  const stdin = new ReadableStream<Uint8Array>({ start: (c) => void (input = c) });
  const sizes = sizeQueue(abort.signal);
  const url = new URL(req.url);
  const cols = Number(url.searchParams.get("cols")), rows = Number(url.searchParams.get("rows"));
  if (cols > 0 && rows > 0) sizes.push({ cols, rows });
  socket.onmessage = (ev) => {
    if (typeof ev.data !== "string") return;
    let m: { i?: unknown; r?: unknown };
    try {
      m = JSON.parse(ev.data);
    } catch {
      return;
    }
    if (typeof m.i === "string") input?.enqueue(enc.encode(m.i));
    if (Array.isArray(m.r) && m.r.length === 2) {
      const [c, r] = m.r.map(Number);
      if (c > 0 && r > 0 && c < 10000 && r < 10000) sizes.push({ cols: Math.floor(c), rows: Math.floor(r) });
    }
  };
  socket.onclose = () => abort.abort();
  socket.onopen = async () => {
    const send = (c: Uint8Array) => {
      if (socket.readyState === WebSocket.OPEN) socket.send(c);
    };
    try {
      const t = await target();
      const { execInPod } = await import("../kube/exec.ts");
      const res = await execInPod(kube, t.namespace, t.pod, t.container, t.command, {
        stdin,
        stdout: send,
        stderr: send,
        tty: true,
        resize: sizes,
        signal: abort.signal,
      });
      if (socket.readyState === WebSocket.OPEN) {
        socket.send(JSON.stringify(res.error ? { error: res.error } : { exit: res.exitCode }));
      }
    } catch (e) {
      if (socket.readyState === WebSocket.OPEN) {
        socket.send(JSON.stringify({ error: stripAnsi(formatError(e)).trim() }));
      }
    } finally {
      try {
        input?.close();
      } catch { /* closed */ }
      if (socket.readyState === WebSocket.OPEN) socket.close(1000);
    }
  };
  return response;
}

/** The session's shell, as `kodama attach NAME` runs it. */
export function terminalSocket(req: Request, kube: Kube, name: string, shell: string): Response {
  return terminalResponse(req, kube, async () => {
    const [{ requireSession }, { attachArgv, notAttachable }, { CONTAINER }] = await Promise.all([
      import("../session/state/cluster.ts"),
      import("../session/access/attach.ts"),
      import("../session/spec/spec.ts"),
    ]);
    const v = await requireSession(kube, kube.namespace, name);
    const why = notAttachable(v);
    if (why) throw why;
    return {
      namespace: v.namespace,
      pod: v.pod!.metadata!.name!,
      container: CONTAINER,
      command: attachArgv({ shell }),
    };
  });
}
