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

/** Deno colours stack traces; frames are read from the plain text. @param {string} s */
// deno-lint-ignore no-control-regex
const plainText = (s) => s.replace(/\x1b\[[0-9;]*m/g, "");

/** @param {unknown} e */
function fail(e) {
  if (finished) return;
  finished = true;
  const msg = plainText(
    e instanceof Error ? `${e.name === "Error" ? "" : e.name + ": "}${e.message}` : String(e),
  ).slice(0, 2000);
  const frames = e instanceof Error
    ? plainText(String(e.stack ?? "")).match(/file:\/\/[^\s)]+:\d+:\d+/g) ?? []
    : [];
  post({ type: "fail", error: msg, frames: frames.slice(0, 20) });
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

/**
 * Everything a script prints reaches the terminal only through the host, which strips control
 * sequences (unless `tty: true`) and redacts secrets: every console method, `Deno.stdout`/`stderr`
 * (a script's `Deno.stdin` is empty — the terminal's keys are not its to read), and Node's
 * `process.stdout`/`stderr` (see lockProcess). The originals are not reachable afterwards.
 */
function redirectOutput() {
  let indent = "";
  /** @param {"stdout" | "stderr"} type */
  const line = (type) => (/** @type {unknown[]} */ ...a) => {
    const text = fmt(a);
    post({ type, data: (indent ? text.replace(/^/gm, indent) : text) + "\n" });
  };
  const out = line("stdout"), err = line("stderr");
  /** @type {Map<string, number>} */
  const counts = new Map();
  /** @type {Map<string, number>} */
  const timers = new Map();
  const elapsed = (/** @type {string} */ l) =>
    `${l}: ${(performance.now() - (timers.get(l) ?? 0)).toFixed(3)}ms`;
  /** @type {Record<string, (...a: any[]) => void>} */
  const c = {
    log: out,
    info: out,
    debug: out,
    dir: (v) => out(v),
    dirxml: out,
    table: (v) => out(v),
    error: err,
    warn: err,
    trace: (...a) => err("Trace:", ...a),
    assert: (cond, ...a) => {
      if (!cond) err("Assertion failed" + (a.length ? ":" : ""), ...a);
    },
    count: (l = "default") => {
      counts.set(String(l), (counts.get(String(l)) ?? 0) + 1);
      out(`${l}: ${counts.get(String(l))}`);
    },
    countReset: (l = "default") => void counts.delete(String(l)),
    time: (l = "default") => void timers.set(String(l), performance.now()),
    timeLog: (l = "default", ...a) => timers.has(String(l)) && out(elapsed(String(l)), ...a),
    timeEnd: (l = "default") => {
      if (timers.has(String(l))) out(elapsed(String(l)));
      timers.delete(String(l));
    },
    group: (...a) => {
      if (a.length) out(...a);
      indent += "  ";
    },
    groupEnd: () => void (indent = indent.slice(2)),
    clear: () => {},
  };
  c.groupCollapsed = c.group;
  const quiet = () => {};
  for (const k of Object.keys(console)) {
    if (typeof (/** @type {any} */ (console))[k] === "function") c[k] ??= quiet;
  }
  const seal = (/** @type {object} */ o, /** @type {string} */ k, /** @type {unknown} */ value) =>
    Object.defineProperty(o, k, { value, writable: false, configurable: false, enumerable: true });
  // not frozen: Node's process binds its streams onto the console object when it starts
  seal(globalThis, "console", c);
  seal(Deno, "stdout", stdWriter("stdout"));
  seal(Deno, "stderr", stdWriter("stderr"));
  seal(Deno, "stdin", emptyReader());
}

/** `Deno.stdout`/`stderr` for a script: what it writes goes to the host. @param {"stdout" | "stderr"} type */
function stdWriter(type) {
  /** @param {Uint8Array} p */
  const send = (p) => {
    post({ type, data: new Uint8Array(p) });
    return p.length;
  };
  /** @type {WritableStream<Uint8Array> | undefined} */
  let writable;
  // streams are made on first use: creating them costs a script step's start-up time otherwise
  return Object.freeze({
    write: (/** @type {Uint8Array} */ p) => Promise.resolve(send(p)),
    writeSync: send,
    get writable() {
      return writable ??= new WritableStream({ write: (chunk) => void send(chunk) });
    },
    isTerminal: () => false,
    close: () => {},
    [Symbol.dispose]: () => {},
  });
}

/** `Deno.stdin` for a script: at its end already. */
function emptyReader() {
  /** @type {ReadableStream<Uint8Array> | undefined} */
  let readable;
  return Object.freeze({
    read: () => Promise.resolve(null),
    readSync: () => null,
    get readable() {
      return readable ??= new ReadableStream({ start: (c) => c.close() });
    },
    isTerminal: () => false,
    setRaw: () => {
      throw new Error("a script cannot set the terminal's mode");
    },
    close: () => {},
    [Symbol.dispose]: () => {},
  });
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

/**
 * A refused permission never turns into a prompt from inside a script: `Deno.permissions.request`
 * answers with the current state (kodama also runs with --no-prompt, see sandbox/host.ts).
 */
function noPermissionRequests() {
  const p = Deno.permissions;
  const query = p.query.bind(p);
  const querySync = p.querySync.bind(p);
  Object.defineProperty(p, "request", { value: (d) => query(d), configurable: false, writable: false });
  Object.defineProperty(p, "requestSync", {
    value: (d) => querySync(d),
    configurable: false,
    writable: false,
  });
}

/** @param {unknown} e */
function loadError(e) {
  const err = /** @type {Error} */ (e);
  const text = plainText(String(err?.message ?? e));
  const frames = plainText(`${text}\n${err?.stack ?? ""}`).match(/file:\/\/[^\s)]+:\d+:\d+/g) ?? [];
  return { type: "fail", load: true, error: text.split("\n")[0], frames: frames.slice(0, 20) };
}

const NO_CODE = "is disabled in kodama's sandbox: scripts cannot run code built from strings";
/** Node built-ins that run code from strings or start threads: refused however they are reached */
const BLOCKED_BUILTINS = /^(node:)?(vm|worker_threads|inspector|inspector\/promises|repl|module|wasi|tty)$/;
/** node:vm's exports that turn a string into code */
const VM_CODE = [
  "runInThisContext",
  "runInContext",
  "runInNewContext",
  "compileFunction",
  "Script",
  "createScript",
  "SourceTextModule",
  "SyntheticModule",
  "Module",
];

/**
 * Before the script loads: every way to turn a string into code, or to start code outside this
 * worker's checked graph, is removed. Without them the only `import()` calls a script can make are
 * the ones kodama read in its source (and refused when computed): no `npm:` download, no module
 * kodama did not check. What is removed: eval, the Function constructors (also reached through
 * `(async () => {}).constructor`), Worker, Deno's internal core (evalContext), node:vm and friends
 * (also through process.getBuiltinModule and require).
 */
/**
 * Replace every function of a Node module object with one that refuses the terminal's file
 * descriptors (0, 1, 2) as its first argument or as an `fd` option.
 * @param {any} mod @param {string} id
 */
function guardStdFds(mod, id) {
  if (!mod || typeof mod !== "object" || guarded.has(mod)) return;
  guarded.add(mod);
  const std = (/** @type {unknown} */ v) => v === 0 || v === 1 || v === 2;
  for (const k of Object.keys(mod)) {
    const f = mod[k];
    if (typeof f !== "function") continue;
    /** @this {unknown} @param {unknown[]} args */
    const g = function (...args) {
      if (
        std(args[0]) ||
        args.some((a) => a !== null && typeof a === "object" && std(/** @type {any} */ (a).fd))
      ) {
        throw new Error(`${id} ${k}: file descriptors 0-2 are the terminal's; print with console.log`);
      }
      return new.target ? Reflect.construct(f, args, new.target) : f.apply(this, args);
    };
    g.prototype = f.prototype;
    try {
      Object.defineProperty(mod, k, { value: g, writable: false, configurable: false, enumerable: true });
    } catch { /* a fixed property: left as it is */ }
  }
}
const guarded = new WeakSet();

/**
 * `Deno.exit()`, `process.exit()`, `self.close()` in a worker end the worker silently: the host would
 * wait for the step's timeout. They end the script instead — 0 as success, anything else as a
 * failure naming the code — and stop the code that called them.
 * @param {unknown} code
 */
function endScript(code = 0) {
  const n = Number(code) || 0;
  if (n === 0) {
    if (!finished) {
      finished = true;
      post({ type: "done", outputs: {} });
    }
  } else fail(new Error(`the script exited with code ${n}`));
  throw new Error("the script has ended");
}

const ENV_MESSAGE =
  "a script cannot change the environment: it is kodama's and every later step's (pass `env` to Deno.Command for a child)";

/** kodama's pid and its parent's, when this worker runs in a process of its own (child.ts) */
/** @type {number[]} */
let kodamaPids = [];

/**
 * A refusal for signals a script must not send: to kodama itself (which would skip the run's
 * `always()` steps and cleanups), to its parent, or to a whole process group (pid 0 or negative).
 * @param {(pid: number, sig?: any) => any} kill
 */
function guardedKill(kill) {
  return (/** @type {unknown} */ pid, /** @type {any} */ sig) => {
    const n = Number(pid);
    if (!Number.isInteger(n) || n <= 0 || n === Deno.pid || n === Deno.ppid || kodamaPids.includes(n)) {
      throw new Error(
        `a script cannot signal ${n <= 0 ? "a process group" : "kodama or its parent"} (pid ${pid})`,
      );
    }
    return kill(n, sig);
  };
}

/**
 * The process environment is kodama's own: what kodama and every later step resolves tools with
 * (PATH), loads code with (LD_PRELOAD, DYLD_*, NODE_OPTIONS, DENO_DIR) and reaches the cluster with
 * (KUBECONFIG, HOME). A script reads the variables `permissions.env` grants, and sets none of them
 * (`process.env.X = …` goes through Deno.env too). `Deno.kill` refuses kodama's own pid.
 * @param {(o: object, k: PropertyKey, v: unknown) => void} seal
 */
function lockEnvAndSignals(seal) {
  const env = Deno.env;
  const refuse = () => {
    throw new Error(ENV_MESSAGE);
  };
  seal(
    Deno,
    "env",
    Object.freeze({
      get: (/** @type {string} */ k) => env.get(k),
      has: (/** @type {string} */ k) => env.has(k),
      toObject: () => env.toObject(),
      set: refuse,
      delete: refuse,
    }),
  );
  seal(Deno, "kill", guardedKill(Deno.kill.bind(Deno)));
}

/** @param {boolean} usesNode the script's graph imports a `node:` built-in */
function lockDown(usesNode) {
  /** @param {string} what */
  const blocked = (what) =>
    function () {
      throw new EvalError(`${what} ${NO_CODE}`);
    };
  const seal = (/** @type {object} */ o, /** @type {PropertyKey} */ k, /** @type {unknown} */ value) =>
    Object.defineProperty(o, k, { value, writable: false, configurable: false, enumerable: false });
  for (
    const f of [function () {}, async function () {}, function* () {}, async function* () {}]
  ) seal(Object.getPrototypeOf(f), "constructor", blocked("Function"));
  seal(globalThis, "eval", blocked("eval"));
  seal(globalThis, "Function", blocked("Function"));
  seal(globalThis, "Worker", blocked("Worker"));
  seal(Deno, "exit", endScript);
  lockEnvAndSignals(seal);
  seal(globalThis, "close", () => endScript(0));
  try {
    delete Deno[Deno.internal];
    seal(Deno, Deno.internal, undefined);
  } catch { /* already gone */ }
  /** @param {any} proc */
  const lockProcess = (proc) => {
    if (proc && typeof proc.getBuiltinModule === "function" && !locked.has(proc)) {
      locked.add(proc);
      const get = proc.getBuiltinModule.bind(proc);
      seal(proc, "getBuiltinModule", (/** @type {string} */ id) => {
        if (BLOCKED_BUILTINS.test(String(id))) throw new Error(`${id} ${NO_CODE}`);
        return get(id);
      });
      try {
        seal(proc, "kill", guardedKill(proc.kill.bind(proc)));
      } catch { /* a fixed property */ }
      for (const k of ["exit", "reallyExit", "abort"]) {
        try {
          seal(proc, k, k === "abort" ? () => endScript(134) : endScript);
        } catch { /* a fixed property */ }
      }
      // and node:vm itself, for any other way to it: every function that compiles a string
      const vm = get("node:vm");
      for (const k of VM_CODE) if (vm && k in vm) seal(vm, k, blocked(`node:vm ${k}`));
      // Node's own ways to the terminal: process.stdout/stderr, and the file descriptors 0-2 that
      // node:fs (and net sockets) take as numbers — a script imports those modules only as a default
      // import (graph.ts), whose functions are these guarded ones
      for (const [k, type] of /** @type {const} */ ([["stdout", "stdout"], ["stderr", "stderr"]])) {
        try {
          const stream = proc[k];
          const w = stdWriter(type);
          seal(stream, "write", (/** @type {any} */ chunk, /** @type {any} */ enc, /** @type {any} */ cb) => {
            w.writeSync(typeof chunk === "string" ? new TextEncoder().encode(chunk) : chunk);
            (typeof enc === "function" ? enc : cb)?.();
            return true;
          });
        } catch { /* no such stream */ }
      }
      for (const id of ["node:fs", "node:fs/promises", "node:net"]) guardStdFds(get(id), id);
      guardStdFds(get("node:fs")?.promises, "node:fs/promises");
    }
    return proc;
  };
  const locked = new WeakSet();
  // Touching `process` starts Deno's Node compatibility layer: most of a script step's start-up when
  // the script never uses it. A graph that imports no `node:` module can reach `process` only through
  // the global, so that getter locks it down on first use instead; otherwise it is locked now.
  const d = Object.getOwnPropertyDescriptor(globalThis, "process");
  if (usesNode || !d?.get) lockProcess(/** @type {any} */ (globalThis).process);
  else {
    const getter = d.get;
    const setter = d.set;
    Object.defineProperty(globalThis, "process", {
      get: () => lockProcess(getter.call(globalThis)),
      set: (v) => setter?.call(globalThis, v),
      enumerable: d.enumerable,
      configurable: false,
    });
  }
}

/**
 * @param {string | null} entry file URL of the script's snapshot entry module (script mode)
 * @param {boolean} [usesNode] the script's graph imports a `node:` built-in
 * @param {number[]} [protect] more pids a script may not signal (kodama's, from a child process)
 */
export function boot(entry, usesNode = true, protect = []) {
  kodamaPids = protect;
  self.addEventListener("unhandledrejection", (e) => {
    e.preventDefault();
    fail(e.reason);
  });
  self.addEventListener("error", (e) => {
    e.preventDefault();
    fail(e.error ?? e.message);
  });
  noPermissionRequests();
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
      redirectOutput();
      lockDown(usesNode);
      /** @type {Record<string, any>} */
      let mod;
      try {
        // a computed specifier on purpose: Deno checks `read` for every module of the graph it loads
        // this way (a static or literal import would be loaded without any check)
        const url = String(entry);
        mod = await import(url);
      } catch (err) {
        if (!finished) {
          finished = true;
          post(loadError(err));
        }
        return;
      }
      const fn = mod?.[m.exportName ?? "default"];
      const entryFn = typeof fn === "function" ? fn : typeof fn?.run === "function" ? fn.run : undefined;
      if (!entryFn) throw new Error(`the module has no ${m.exportName ?? "default"} export function`);
      const host = {
        listPods: (/** @type {unknown} */ target) => call("listPods", target),
        exec: (/** @type {unknown} */ pod, /** @type {unknown} */ command, /** @type {unknown} */ opts) =>
          call("exec", pod, command, opts),
        execAll: (
          /** @type {unknown} */ target,
          /** @type {unknown} */ command,
          /** @type {unknown} */ opts,
        ) => call("execAll", target, command, opts),
        logs: (/** @type {unknown} */ pod, /** @type {unknown} */ opts) => call("logs", pod, opts),
        log: (/** @type {unknown[]} */ ...a) => post({ type: "stderr", data: fmt(a) + "\n" }),
      };
      const result = await entryFn({ ...m.ctx, host });
      if (!finished) {
        finished = true;
        post({ type: "done", outputs: plain(result) });
      }
    } catch (err) {
      fail(err);
    }
  };
}
