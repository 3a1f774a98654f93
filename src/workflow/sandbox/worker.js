/**
 * Runs INSIDE a sandbox Worker (holding only the workflow's permissions). Imports nothing but
 * what the script itself imports. Protocol with the host (sandbox/host.ts), all by postMessage:
 *   host -> worker  {type:"start", mode:"script"|"local", ctx, exportName, local}
 *   worker -> host  {type:"call", id, method, args}    host -> worker {type:"reply", id, ok, value|error}
 *   worker -> host  {type:"stdout"|"stderr", data}     output of console.* or of the local command
 *   worker -> host  {type:"done", outputs} | {type:"fail", error}
 */
// Plain JavaScript on purpose: under `deno test` every TypeScript module a Worker loads is
// type-checked again (per blob root), which costs seconds and hundreds of MB per script step.

/** @param {unknown} m @param {Transferable[]} [transfer] */
const post = (m, transfer = []) => self.postMessage(m, transfer);
/** @type {Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>} */
const pending = new Map();
let nextId = 1;
let finished = false;

/** @param {unknown} e */
function fail(e) {
  if (finished) return;
  finished = true;
  const msg = e instanceof Error ? `${e.name === "Error" ? "" : e.name + ": "}${e.message}` : String(e);
  post({ type: "fail", error: msg });
}

/** @param {string} method @param {unknown[]} args @returns {Promise<any>} */
function call(method, ...args) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    post({ type: "call", id, method, args });
  });
}

/** @param {unknown[]} args */
function fmt(args) {
  return args.map((a) => (typeof a === "string" ? a : Deno.inspect(a, { colors: false, depth: 4 }))).join(
    " ",
  );
}

function redirectConsole() {
  const out = (/** @type {unknown[]} */ ...a) => post({ type: "stdout", data: fmt(a) + "\n" });
  const err = (/** @type {unknown[]} */ ...a) => post({ type: "stderr", data: fmt(a) + "\n" });
  Object.assign(console, { log: out, info: out, debug: out, error: err, warn: err });
}

/** @type {Deno.ChildProcess | undefined} */
let running;

/** @param {{ command: string[]; cwd?: string; env: Record<string, string>; stdin?: string }} l */
async function runLocal(l) {
  const child = running = new Deno.Command(l.command[0], {
    args: l.command.slice(1),
    cwd: l.cwd,
    env: l.env,
    clearEnv: true,
    stdin: l.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (l.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(l.stdin));
    await w.close();
  }
  /** @param {ReadableStream<Uint8Array>} s @param {string} type */
  const pump = async (s, type) => {
    for await (const chunk of s) post({ type, data: chunk }, [chunk.buffer]);
  };
  const [status] = await Promise.all([
    child.status,
    pump(child.stdout, "stdout"),
    pump(child.stderr, "stderr"),
  ]);
  return { exitCode: status.code, signal: status.signal };
}

/** @param {unknown} v @returns {Record<string, unknown>} */
function plain(v) {
  if (v === undefined || v === null) return {};
  const json = JSON.parse(JSON.stringify(v));
  return json && typeof json === "object" && !Array.isArray(json) ? json : { result: json };
}

/** @param {Record<string, unknown> | null} mod */
export function boot(mod) {
  self.addEventListener("unhandledrejection", (e) => {
    e.preventDefault();
    fail(e.reason);
  });
  self.addEventListener("error", (e) => {
    e.preventDefault();
    fail(e.error ?? e.message);
  });
  self.onmessage = async (e) => {
    const m = e.data;
    if (m.type === "reply") {
      const p = pending.get(m.id);
      pending.delete(m.id);
      if (m.ok) p?.resolve(m.value);
      else p?.reject(new Error(m.error));
      return;
    }
    if (m.type === "kill") {
      // the host is about to terminate this worker (timeout, Ctrl-C): do not leave the process behind
      try {
        running?.kill("SIGTERM");
        setTimeout(() => {
          try {
            running?.kill("SIGKILL");
          } catch { /* already gone */ }
        }, 300);
      } catch { /* already gone */ }
      return;
    }
    if (m.type !== "start") return;
    try {
      if (m.mode === "local") {
        const r = await runLocal(m.local);
        finished = true;
        post({ type: "done", outputs: r });
        return;
      }
      redirectConsole();
      const fn = mod?.[m.exportName ?? "default"];
      const entry = typeof fn === "function" ? fn : typeof fn?.run === "function" ? fn.run : undefined;
      if (!entry) throw new Error(`the module has no ${m.exportName ?? "default"} export function`);
      const host = {
        listPods: (target) => call("listPods", target),
        exec: (pod, command, opts) => call("exec", pod, command, opts),
        execAll: (target, command, opts) => call("execAll", target, command, opts),
        logs: (pod, opts) => call("logs", pod, opts),
        log: (...a) => post({ type: "stderr", data: fmt(a) + "\n" }),
      };
      const result = await entry({ ...m.ctx, host });
      if (!finished) {
        finished = true;
        post({ type: "done", outputs: plain(result) });
      }
    } catch (err) {
      fail(err);
    }
  };
}
