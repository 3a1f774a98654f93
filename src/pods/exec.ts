/**
 * Exec in one pod, interactively: `-i` streams local stdin (binary-safe, EOF reaches the remote
 * over v5), `-t` puts the local terminal in raw mode and forwards window-size changes. The
 * terminal is restored on every exit path (remote exit, error, SIGTERM/SIGHUP); in raw mode
 * Ctrl-C is a byte for the remote program, otherwise SIGINT cancels the stream (exit 130).
 */
import type { V1Pod } from "@kubernetes/client-node";
import type { Kube } from "../kube/client.ts";
import { execInPod, type ExecResult, type StdinReader, type TermSize } from "../kube/exec.ts";
import { hostPlatform, stdinIsFile } from "../base/platform.ts";
import { KodamaError } from "../base/errors.ts";
import type { Sink } from "../base/sink.ts";
import { chooseContainer } from "./target.ts";
import { mark } from "../base/timing.ts";
import { withInterrupt } from "../base/proc/proc.ts";

export interface ExecOneOptions {
  command: string[];
  container?: string;
  /** -i: stream local stdin */
  stdin?: boolean;
  /** -t: allocate a TTY */
  tty?: boolean;
  out: Sink;
  err: Sink;
  signal?: AbortSignal;
  /** local input (default Deno.stdin) */
  input?: {
    readable: ReadableStream<Uint8Array>;
    /** when there: -i without a TTY is read by the transport, into its frames (src/kube/exec.ts StdinReader) */
    read?(p: Uint8Array): Promise<number | null>;
    isTerminal(): boolean;
    setRaw?(mode: boolean, o?: { cbreak: boolean }): void;
  };
  /** after a cut-off run: whether the command was ended in the pod (see ExecResult.remote) */
  onRemote?: (remote: ExecResult["remote"]) => void;
}

/** A tiny async queue of terminal sizes fed by SIGWINCH. */
export function terminalSizes(signal: AbortSignal): AsyncIterable<TermSize> {
  const size = (): TermSize | undefined => {
    try {
      const s = Deno.consoleSize();
      return { cols: s.columns, rows: s.rows };
    } catch {
      return undefined;
    }
  };
  return {
    async *[Symbol.asyncIterator]() {
      let wake: (() => void) | undefined;
      let pending = true;
      const onWinch = () => {
        pending = true;
        wake?.();
      };
      try {
        Deno.addSignalListener("SIGWINCH", onWinch);
      } catch { /* not supported on this platform */ }
      const onAbort = () => wake?.();
      signal.addEventListener("abort", onAbort, { once: true });
      try {
        while (!signal.aborted) {
          if (pending) {
            pending = false;
            const s = size();
            if (s) yield s;
            continue;
          }
          await new Promise<void>((r) => (wake = r));
          wake = undefined;
        }
      } finally {
        try {
          Deno.removeSignalListener("SIGWINCH", onWinch);
        } catch { /* ignore */ }
        signal.removeEventListener("abort", onAbort);
      }
    },
  };
}

/** Run in one pod; resolves with the remote exit code (130 when interrupted). */
export async function execOne(kube: Kube, pod: V1Pod, o: ExecOneOptions): Promise<number> {
  const ns = pod.metadata?.namespace ?? kube.namespace;
  const name = pod.metadata?.name ?? "?";
  const container = chooseContainer(pod, o.container);
  const all = pod.spec?.containers?.map((c) => c.name) ?? [];
  if (
    !o.container && all.length > 1 && !pod.metadata?.annotations?.["kubectl.kubernetes.io/default-container"]
  ) {
    // kubectl's note, so a surprise container choice is visible
    o.err.write(`Defaulted container "${container}" out of: ${all.join(", ")}\n`);
  }
  const input = o.input ?? Deno.stdin;
  let tty = !!o.tty;
  if (tty && !input.isTerminal()) {
    o.err.write("Unable to use a TTY - input is not a terminal or the right kind of file\n");
    tty = false;
  }
  let raw = false;
  const restore = () => {
    if (raw) {
      raw = false;
      try {
        input.setRaw?.(false);
      } catch { /* terminal gone */ }
    }
  };
  // SIGTERM/SIGHUP end the stream and leave the terminal as it was; without a TTY, Ctrl-C cancels the
  // stream too (with one, it is a byte for the remote)
  const signals: Deno.Signal[] = tty ? ["SIGTERM", "SIGHUP"] : ["SIGTERM", "SIGHUP", "SIGINT"];
  return await withInterrupt(async (signal, done) => {
    try {
      if (tty) {
        input.setRaw?.(true);
        raw = true;
      }
      // a pipe's bytes (exec -i < file) read straight into the frames; a terminal's keystrokes as Deno reads them
      const reuse = o.stdin && !tty && input.read !== undefined;
      // a regular file never makes a read wait on another process: read it synchronously (no thread hop)
      const sync = reuse && input === Deno.stdin && stdinIsFile(hostPlatform());
      const reader: StdinReader = sync
        ? { read: (p) => Promise.resolve(Deno.stdin.readSync(p)) }
        : { read: (p) => input.read!(p) };
      const res = await execInPod(kube, ns, name, container, o.command, {
        stdin: !o.stdin ? undefined : reuse ? reader : input.readable,
        stdout: (c) => o.out.write(c),
        stderr: (c) => o.err.write(c),
        tty,
        resize: tty ? terminalSizes(signal) : undefined,
        signal,
        onOpen: () => mark("exec stream open"),
      });
      mark("exec finished");
      restore();
      if (res.remote === "unknown") {
        o.err.write(`the command may still run in pod ${name}: it could not be ended (${res.endError})\n`);
      }
      o.onRemote?.(res.remote);
      if (res.errorKind === "aborted") return 130;
      if (res.error) {
        const note = res.remote === "ended" ? "; the command was ended in the pod" : "";
        throw new KodamaError(`exec in pod ${name} (namespace ${ns}): ${res.error}${note}`, 1);
      }
      return res.exitCode;
    } finally {
      restore();
      done.abort();
    }
  }, { signal: o.signal, signals, onSignal: restore });
}
