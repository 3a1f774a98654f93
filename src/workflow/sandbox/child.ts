/**
 * A script step's sandbox Worker, held by a process of its own (relay.js) instead of kodama's: Deno
 * writes the JavaScript it emits from TypeScript, and V8's code cache, into its DENO_DIR for every
 * module a Worker loads — a repository's code would make kodama write into the user's Deno cache. The
 * child runs with `--no-code-cache` and DENO_DIR under `$KODAMA_HOME/cache/deno`, and nothing else
 * changes: the same Worker, the same permissions, the same messages (one JSON line each way).
 * Used when kodama runs from source or an install (`deno run`); a `deno compile`d kodama has no `deno`
 * to start, and keeps the Worker in its own process (its code cache is its own, outside DENO_DIR).
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const RELAY_URL = new URL("./relay.js", import.meta.url);

/** The part of a Worker that sandbox/host.ts uses. */
export interface WorkerLike {
  onmessage: ((e: MessageEvent) => void) | null;
  onerror: ((e: ErrorEvent) => void) | null;
  onmessageerror: ((e: MessageEvent) => void) | null;
  postMessage(m: unknown): void;
  terminate(): void;
}

/** Can this kodama start the relay? (`deno run` of kodama's files, not a compiled binary) */
export function canRelay(): boolean {
  return RELAY_URL.protocol === "file:" && (Deno.build as { standalone?: boolean }).standalone !== true;
}

/** Where the child's Deno writes its cache: kodama's own state. */
export function childDenoDir(home: string): string {
  return join(home, "cache", "deno");
}

// What postMessage's structured clone keeps and JSON would not: bytes (base64 in 32 KiB pieces: one spread
// of a large array overflows the stack) and the numbers JSON writes as null (Infinity, NaN: a host API check
// must see them as they were sent, not as "not given"). relay.js holds the same two functions.
const encode = (v: unknown) =>
  JSON.stringify(
    v,
    (_k, x) =>
      x instanceof Uint8Array
        ? { $u8: base64(x) }
        : typeof x === "number" && !Number.isFinite(x)
        ? { $num: String(x) }
        : x,
  );
const decode = (s: string) =>
  JSON.parse(
    s,
    (_k, x) =>
      x && typeof x === "object" && typeof x.$u8 === "string"
        ? Uint8Array.from(atob(x.$u8), (c) => c.charCodeAt(0))
        : x && typeof x === "object" && typeof x.$num === "string"
        ? Number(x.$num)
        : x,
  );
function base64(u8: Uint8Array): string {
  let s = "";
  for (let i = 0; i < u8.length; i += 0x8000) s += String.fromCharCode(...u8.subarray(i, i + 0x8000));
  return btoa(s);
}

/**
 * Start the relay holding a Worker of `bootstrap` with `permissions`; `err` gets what the child's Deno
 * itself prints (never the script's output, which comes as messages).
 */
export function childWorker(
  bootstrap: string,
  permissions: Deno.PermissionOptionsObject,
  o: { home: string; memoryMb?: number; err: (text: string) => void },
): WorkerLike {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-code-cache",
      "--no-config",
      "--no-lock",
      "--no-prompt",
      "--unstable-worker-options",
      "-A",
      fileURLToPath(RELAY_URL),
    ],
    env: { DENO_DIR: childDenoDir(o.home), DENO_NO_UPDATE_CHECK: "1" },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w: WorkerLike = {
    onmessage: null,
    onerror: null,
    onmessageerror: null,
    postMessage(m) {
      writer.write(new TextEncoder().encode(encode(m) + "\n")).catch(() => {});
    },
    terminate() {
      ended = true;
      writer.close().catch(() => {});
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
    },
  };
  let ended = false;
  const writer = child.stdin.getWriter();
  writer.write(
    new TextEncoder().encode(encode({ type: "$init", bootstrap, permissions, memoryMb: o.memoryMb }) + "\n"),
  )
    .catch(() => {});
  (async () => {
    let buf = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!line) continue;
        let m: { type?: string; message?: string };
        try {
          m = decode(line);
        } catch {
          continue;
        }
        if (m.type === "$error") {
          w.onerror?.({ message: m.message, preventDefault() {} } as ErrorEvent);
        } else if (m.type === "$messageerror") w.onmessageerror?.(new MessageEvent("messageerror"));
        else w.onmessage?.(new MessageEvent("message", { data: m }));
      }
    }
  })().catch(() => {});
  (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) o.err(chunk);
  })().catch(() => {});
  child.status.then((s) => {
    if (!ended) {
      w.onerror?.({
        message: `the script's process ended (${s.signal ? `signal ${s.signal}` : `exit ${s.code}`})`,
        preventDefault() {},
      } as ErrorEvent);
    }
  });
  return w;
}
