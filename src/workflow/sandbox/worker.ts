/**
 * Runs INSIDE a sandbox Worker (holding only the workflow's permissions). Imports nothing but
 * what the script itself imports. Protocol with the host (sandbox/host.ts), all by postMessage:
 *   host -> worker  {type:"start", mode:"script"|"local", ctx, exportName, local}
 *   worker -> host  {type:"call", id, method, args}    host -> worker {type:"reply", id, ok, value|error}
 *   worker -> host  {type:"stdout"|"stderr", data}     output of console.* or of the local command
 *   worker -> host  {type:"done", outputs} | {type:"fail", error}
 */
// deno-lint-ignore-file no-explicit-any
const post = (m: unknown, transfer: Transferable[] = []) => (self as any).postMessage(m, transfer);
const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
let nextId = 1;
let finished = false;

function fail(e: unknown) {
  if (finished) return;
  finished = true;
  const msg = e instanceof Error ? `${e.name === "Error" ? "" : e.name + ": "}${e.message}` : String(e);
  post({ type: "fail", error: msg });
}

function call(method: string, ...args: unknown[]): Promise<any> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    post({ type: "call", id, method, args });
  });
}

function fmt(args: unknown[]): string {
  return args.map((a) => (typeof a === "string" ? a : Deno.inspect(a, { colors: false, depth: 4 }))).join(" ");
}

function redirectConsole() {
  const out = (...a: unknown[]) => post({ type: "stdout", data: fmt(a) + "\n" });
  const err = (...a: unknown[]) => post({ type: "stderr", data: fmt(a) + "\n" });
  Object.assign(console, { log: out, info: out, debug: out, error: err, warn: err });
}

async function runLocal(l: { command: string[]; cwd?: string; env: Record<string, string>; stdin?: string }) {
  const child = new Deno.Command(l.command[0], {
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
  const pump = async (s: ReadableStream<Uint8Array>, type: string) => {
    for await (const chunk of s) post({ type, data: chunk }, [chunk.buffer as ArrayBuffer]);
  };
  const [status] = await Promise.all([child.status, pump(child.stdout, "stdout"), pump(child.stderr, "stderr")]);
  return { exitCode: status.code, signal: status.signal };
}

function plain(v: unknown): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  const json = JSON.parse(JSON.stringify(v));
  return json && typeof json === "object" && !Array.isArray(json) ? json : { result: json };
}

export function boot(mod: Record<string, unknown> | null): void {
  self.addEventListener("unhandledrejection", (e: any) => {
    e.preventDefault();
    fail(e.reason);
  });
  self.addEventListener("error", (e: any) => {
    e.preventDefault();
    fail(e.error ?? e.message);
  });
  (self as any).onmessage = async (e: MessageEvent) => {
    const m = e.data;
    if (m.type === "reply") {
      const p = pending.get(m.id);
      pending.delete(m.id);
      if (m.ok) p?.resolve(m.value);
      else p?.reject(new Error(m.error));
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
      const fn = (mod?.[m.exportName ?? "default"]) as any;
      const entry = typeof fn === "function" ? fn : typeof fn?.run === "function" ? fn.run : undefined;
      if (!entry) throw new Error(`the module has no ${m.exportName ?? "default"} export function`);
      const host = {
        listPods: (target: string) => call("listPods", target),
        exec: (pod: unknown, command: string[], opts?: unknown) => call("exec", pod, command, opts),
        execAll: (target: string, command: string[], opts?: unknown) => call("execAll", target, command, opts),
        logs: (pod: unknown, opts?: unknown) => call("logs", pod, opts),
        log: (...a: unknown[]) => post({ type: "stderr", data: fmt(a) + "\n" }),
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
