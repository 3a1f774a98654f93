/**
 * Host side of the sandbox: start a Worker holding exactly the given Deno permissions, answer its
 * host-API calls, forward its output, and enforce the time limit (terminate()) and a coarse memory
 * guard (process RSS growth; Deno has no per-Worker heap limit — see docs/workflows.md).
 */
import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import type { Sink } from "../../base/sink.ts";
import { describeDenial } from "./permissions.ts";
import { formatDuration } from "../../base/duration.ts";
import { safeLine, stripControl } from "../../ui/color.ts";
import { ExitCode, KodamaError } from "../../base/errors.ts";
import { hostPlatform, ownCommandLine, runtimeFlagGiven } from "../../base/platform.ts";
import { canRelay, childWorker, type WorkerLike } from "./child.ts";
import { kodamaHome } from "../../config/paths.ts";

export interface ScriptModule {
  /** file URL of the entry module inside the snapshot */
  entryUrl: string;
  /** the snapshot directory (the worker may read it: it holds only the checked graph) */
  dir: string;
  /** the repository the snapshot was taken from: messages name its files, not the snapshot's */
  root: string;
  /** the graph imports a `node:` built-in (false: Node's `process` is locked down only if touched) */
  usesNode?: boolean;
}

export interface SandboxOptions {
  permissions: Deno.PermissionOptionsObject;
  /** the checked, snapshotted script (script mode) */
  script?: ScriptModule;
  mode: "script" | "local";
  /** pass terminal control sequences through (the workflow says `tty: true`) */
  tty?: boolean;
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

/**
 * The worker's root module imports only kodama's own bootstrap; the script is loaded later by a
 * computed `import()` (see graph.ts), never as part of this static graph.
 */
function bootstrap(o: SandboxOptions): string {
  return [
    `import { boot } from ${JSON.stringify(WORKER_URL)};`,
    // kodama's pid and its parent's: a worker in a process of its own (child.ts) refuses to signal them too
    `boot(${JSON.stringify(o.mode === "script" ? o.script?.entryUrl ?? null : null)}, ${
      JSON.stringify(o.script?.usesNode !== false)
    }, ${JSON.stringify([Deno.pid, Deno.ppid])});`,
  ].join("\n");
}

let promptsChecked: boolean | undefined;

/**
 * Deno asks on the terminal before it refuses a permission — inside a Worker too, even though kodama
 * itself holds every permission — unless it was started with --no-prompt (or DENO_NO_PROMPT). A
 * script must never be able to ask the person to widen its sandbox, so on a terminal kodama runs no
 * sandboxed step unless prompts are known to be off. Without a terminal Deno never asks.
 */
export function promptsAreOff(): boolean {
  if (promptsChecked !== undefined) return promptsChecked;
  // a `deno compile`d kodama never prompts (and the compile task bakes in --no-prompt as well)
  let off = !(Deno.stdin.isTerminal() && Deno.stderr.isTerminal()) || !!Deno.env.get("DENO_NO_PROMPT") ||
    (Deno.build as { standalone?: boolean }).standalone === true;
  if (!off) {
    // the runtime's flags come before the main module; unreadable: unknown, so not off
    off = runtimeFlagGiven(ownCommandLine(hostPlatform()) ?? [], "--no-prompt", Deno.mainModule);
  }
  return promptsChecked = off;
}

/** The worker's permissions: the script also reads its own snapshot (only the checked graph is there). */
function workerPermissions(o: SandboxOptions): Deno.PermissionOptionsObject {
  if (o.mode !== "script" || !o.script) return o.permissions;
  const read = o.permissions.read;
  const list = Array.isArray(read) ? read : [];
  return { ...o.permissions, read: [...list.map(String), o.script.dir] };
}

/** A frame `file:///snapshot/x.ts:3:9` as the repository's file, relative to the cwd when inside it. */
function whereIn(frames: unknown, s: ScriptModule | undefined): string | undefined {
  if (!s || !Array.isArray(frames)) return undefined;
  for (const f of frames) {
    const m = /^(file:\/\/.+):(\d+):(\d+)$/.exec(String(f));
    if (!m) continue;
    let path: string;
    try {
      path = fileURLToPath(m[1]);
    } catch {
      continue;
    }
    const rel = relative(s.dir, path);
    if (rel.startsWith("..") || rel.startsWith("/") || rel.startsWith(".kodama-sdk")) continue;
    const file = `${s.root}/${rel}`;
    const shown = relative(Deno.cwd(), file);
    return `${shown.startsWith("..") ? file : shown}:${m[2]}:${m[3]}`;
  }
  return undefined;
}

/** One line from kodama for a failed script: Deno's advice and stack never reach the person. */
function describeFailure(m: { error?: unknown; frames?: unknown; load?: boolean }, s?: ScriptModule): string {
  let text = safeLine(String(m.error ?? "the script failed"));
  if (s) text = text.split(s.dir + "/").join(s.root + "/").split(`file://${s.root}/`).join(`${s.root}/`);
  text = (describeDenial(text) ?? text).replace(/,? run again with the --allow-\w+ flag/g, "")
    .replace(/\s*\(?(?:at )?file:\/\/\S+$/, "");
  if (text.length > 300) text = text.slice(0, 300) + "…";
  const where = whereIn(m.frames, s);
  const prefix = m.load ? "cannot load the script: " : "";
  return `${prefix}${text}${where ? ` (at ${where})` : ""}`;
}

/** A sink that removes terminal control sequences from what the script writes (unless `tty: true`). */
function cleanSink(next: Sink, tty: boolean | undefined): Sink {
  if (tty) return next;
  const dec = new TextDecoder();
  return {
    write(chunk) {
      const s = typeof chunk === "string" ? chunk : dec.decode(chunk, { stream: true });
      if (s) next.write(stripControl(s));
    },
  };
}

/**
 * Put back any variable a sandboxed step changed. The worker refuses Deno.env.set/delete (worker.js),
 * so this is the second wall: PATH, LD_PRELOAD, DYLD_*, KUBECONFIG, HOME, DENO_DIR, NODE_OPTIONS …
 * stay what they were when the step started.
 */
export function restoreEnv(envBefore: Record<string, string>): string[] {
  const changed: string[] = [];
  const now = Deno.env.toObject();
  for (const [k, v] of Object.entries(envBefore)) {
    if (now[k] !== v) {
      Deno.env.set(k, v);
      changed.push(k);
    }
  }
  for (const k of Object.keys(now)) {
    if (!(k in envBefore)) {
      Deno.env.delete(k);
      changed.push(k);
    }
  }
  return changed;
}

export function runSandboxed(o: SandboxOptions): Promise<SandboxResult> {
  const envBefore = Deno.env.toObject();
  if (!promptsAreOff()) {
    return Promise.reject(
      new KodamaError(
        "kodama runs sandboxed steps only with Deno's permission prompts off",
        ExitCode.USAGE,
        "start it with `deno run -A --no-prompt …` (kodama's installer and binary do), or set DENO_NO_PROMPT=1",
      ),
    );
  }
  const out = cleanSink(o.out, o.tty);
  const err = cleanSink(o.err, o.tty);
  // a script's Worker lives in a process of its own (child.ts): what Deno compiles and caches of the
  // repository's code goes under $KODAMA_HOME, never into the user's Deno cache
  const own = o.mode === "script" && canRelay();
  const url = own ? "" : URL.createObjectURL(new Blob([bootstrap(o)], { type: "application/javascript" }));
  const worker: WorkerLike = own
    ? childWorker(bootstrap(o), workerPermissions(o), {
      home: kodamaHome(),
      memoryMb: o.memoryMb,
      err: (text) => err.write(text),
    })
    : new Worker(url, { type: "module", deno: { permissions: workerPermissions(o) } });
  const rssBase = Deno.memoryUsage().rss;
  return new Promise<SandboxResult>((resolve) => {
    let done = false;
    let stopping: { message: string; code: number } | undefined;
    const timers: ReturnType<typeof setTimeout>[] = [];
    // made before anything can finish the step (a step started after Ctrl-C finishes at once)
    const memTimer = setInterval(() => {
      if (!o.memoryMb || own) return; // a script's own process guards its memory itself (relay.js)
      const grown = (Deno.memoryUsage().rss - rssBase) / (1 << 20);
      if (grown > o.memoryMb) failWith(`exceeded the memory limit of ${o.memoryMb} MB`);
    }, 250);
    const finish = (r: SandboxResult) => {
      if (done) return;
      done = true;
      timers.forEach((t) => clearTimeout(t));
      clearInterval(memTimer);
      o.signal.removeEventListener("abort", onAbort);
      worker.terminate();
      if (url) URL.revokeObjectURL(url);
      const changed = restoreEnv(envBefore);
      if (changed.length && r.ok) {
        r = {
          ok: false,
          outputs: r.outputs,
          error: `the step changed kodama's environment (${changed.join(", ")}); it was put back`,
        };
      }
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

    worker.onerror = (e) => {
      e.preventDefault();
      failWith(
        describeFailure({
          error: e.message?.replace(/^Uncaught (\(in promise\) )?/, "") ?? "the script crashed",
        }),
      );
    };
    worker.onmessageerror = () => failWith("a message from the script could not be read");
    worker.onmessage = async (e: MessageEvent) => {
      const m = e.data;
      switch (m.type) {
        case "stdout":
          out.write(m.data);
          break;
        case "stderr":
          err.write(m.data);
          break;
        case "done":
          if (stopping) failWith(stopping.message, stopping.code);
          else finish({ ok: true, outputs: m.outputs ?? {} });
          break;
        case "fail":
          failWith(describeFailure(m, o.script));
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
