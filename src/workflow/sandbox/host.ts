/**
 * Host side of the sandbox: start a Worker holding exactly the given Deno permissions, answer its
 * host-API calls, forward its output, and enforce the time limit (terminate()) and a coarse memory
 * guard (process RSS growth; Deno has no per-Worker heap limit — see docs/workflows.md).
 */
import type { Sink } from "../../ui/sink.ts";
import { describeDenial } from "./permissions.ts";
import { formatDuration } from "../../ui/duration.ts";

export interface SandboxOptions {
  permissions: Deno.PermissionOptionsObject;
  /** file URL of the script module (script mode) */
  module?: string;
  mode: "script" | "local";
  start: Record<string, unknown>;
  api?: (method: string, args: unknown[]) => Promise<unknown>;
  out: Sink;
  err: Sink;
  timeoutMs?: number;
  memoryMb?: number;
  signal: AbortSignal;
}

export interface SandboxResult {
  ok: boolean;
  outputs: Record<string, unknown>;
  error?: string;
  /** KodamaError exit code for timeouts etc. */
  code?: number;
}

const WORKER_URL = new URL("./worker.js", import.meta.url).href;

function bootstrap(o: SandboxOptions): string {
  const lines = o.mode === "script"
    ? [
      `import * as mod from ${JSON.stringify(o.module)};`,
      `import { boot } from ${JSON.stringify(WORKER_URL)};`,
      `boot(mod);`,
    ]
    : [`import { boot } from ${JSON.stringify(WORKER_URL)};`, `boot(null);`];
  return lines.join("\n");
}

export function runSandboxed(o: SandboxOptions): Promise<SandboxResult> {
  const url = URL.createObjectURL(new Blob([bootstrap(o)], { type: "application/javascript" }));
  const worker = new Worker(url, { type: "module", deno: { permissions: o.permissions } });
  const rssBase = Deno.memoryUsage().rss;
  return new Promise<SandboxResult>((resolve) => {
    let done = false;
    let stopping: { message: string; code: number } | undefined;
    const timers: ReturnType<typeof setTimeout>[] = [];
    const finish = (r: SandboxResult) => {
      if (done) return;
      done = true;
      timers.forEach((t) => clearTimeout(t));
      clearInterval(memTimer);
      o.signal.removeEventListener("abort", onAbort);
      worker.terminate();
      URL.revokeObjectURL(url);
      resolve(r);
    };
    const failWith = (message: string, code?: number) =>
      finish({ ok: false, outputs: {}, error: describeDenial(message) ?? message, code });
    /** timeouts and Ctrl-C: a local command gets SIGTERM (then SIGKILL) before the worker goes */
    const stop = (message: string, code: number) => {
      if (o.mode !== "local" || done) return failWith(message, code);
      stopping = { message, code };
      worker.postMessage({ type: "kill" });
      setTimeout(() => failWith(message, code), 400);
    };
    const onAbort = () =>
      stop(o.signal.reason instanceof Error ? o.signal.reason.message : "interrupted", 130);
    if (o.signal.aborted) return onAbort();
    o.signal.addEventListener("abort", onAbort, { once: true });
    if (o.timeoutMs) {
      timers.push(setTimeout(() => stop(`timed out after ${formatDuration(o.timeoutMs!)}`, 5), o.timeoutMs));
    }
    const memTimer = setInterval(() => {
      if (!o.memoryMb) return;
      const grown = (Deno.memoryUsage().rss - rssBase) / (1 << 20);
      if (grown > o.memoryMb) failWith(`exceeded the memory limit of ${o.memoryMb} MB`);
    }, 250);

    worker.onerror = (e) => {
      e.preventDefault();
      failWith(e.message?.replace(/^Uncaught (\(in promise\) )?/, "") ?? "the script crashed");
    };
    worker.onmessageerror = () => failWith("a message from the script could not be read");
    worker.onmessage = async (e: MessageEvent) => {
      const m = e.data;
      switch (m.type) {
        case "stdout":
          o.out.write(m.data);
          break;
        case "stderr":
          o.err.write(m.data);
          break;
        case "done":
          if (stopping) failWith(stopping.message, stopping.code);
          else finish({ ok: true, outputs: m.outputs ?? {} });
          break;
        case "fail":
          failWith(String(m.error));
          break;
        case "call": {
          try {
            if (!o.api) throw new Error("no host API in this step");
            const value = await o.api(m.method, m.args ?? []);
            if (!done) worker.postMessage({ type: "reply", id: m.id, ok: true, value });
          } catch (err) {
            if (!done) {
              worker.postMessage({ type: "reply", id: m.id, ok: false, error: (err as Error).message });
            }
          }
          break;
        }
      }
    };
    worker.postMessage({ type: "start", mode: o.mode, ...o.start });
  });
}
