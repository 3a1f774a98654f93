/**
 * The main module of a script step's own process (sandbox/child.ts): it holds the sandbox Worker and relays
 * its messages over stdin/stdout, one JSON line each. The process runs with `--no-code-cache` and a
 * DENO_DIR under $KODAMA_HOME, so what Deno makes of the repository's code (the JavaScript it emits from
 * the snapshot's TypeScript) is written under kodama's own state, never into the user's Deno cache.
 *   host -> relay  {type:"$init", bootstrap, permissions, memoryMb}, then the worker's protocol (worker.js)
 *   relay -> host  the worker's messages; {type:"$error", message} for an uncaught error;
 *                  {type:"$messageerror"}; a failure of the memory guard as {type:"fail", error}
 */
// Plain JavaScript for the same reason as worker.js: nothing here is type-checked again per process.

// The same codec as child.ts: bytes as base64 in 32 KiB pieces, Infinity and NaN kept (JSON would write null).
/** @param {unknown} v */
const encode = (v) =>
  JSON.stringify(
    v,
    (_k, x) =>
      x instanceof Uint8Array
        ? { $u8: base64(x) }
        : typeof x === "number" && !Number.isFinite(x)
        ? { $num: String(x) }
        : x,
  );
/** @param {string} s */
const decode = (s) =>
  JSON.parse(
    s,
    (_k, x) =>
      x && typeof x === "object" && typeof x.$u8 === "string"
        ? Uint8Array.from(atob(x.$u8), (c) => c.charCodeAt(0))
        : x && typeof x === "object" && typeof x.$num === "string"
        ? Number(x.$num)
        : x,
  );
/** @param {Uint8Array} u8 */
function base64(u8) {
  let s = "";
  for (let i = 0; i < u8.length; i += 0x8000) s += String.fromCharCode(...u8.subarray(i, i + 0x8000));
  return btoa(s);
}

const out = Deno.stdout.writable.getWriter();
/** @param {unknown} m */
const send = (m) => out.write(new TextEncoder().encode(encode(m) + "\n"));

/** @type {Worker | undefined} */
let worker;
const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream());
let buf = "";
for await (const chunk of lines) {
  buf += chunk;
  let nl;
  while ((nl = buf.indexOf("\n")) >= 0) {
    const line = buf.slice(0, nl);
    buf = buf.slice(nl + 1);
    if (!line) continue;
    const m = decode(line);
    if (m.type !== "$init") {
      worker?.postMessage(m);
      continue;
    }
    const url = URL.createObjectURL(new Blob([m.bootstrap], { type: "application/javascript" }));
    worker = new Worker(url, { type: "module", deno: { permissions: m.permissions } });
    worker.onmessage = (e) => send(e.data);
    worker.onerror = (e) => {
      e.preventDefault();
      send({ type: "$error", message: e.message });
    };
    worker.onmessageerror = () => send({ type: "$messageerror" });
    if (m.memoryMb) {
      // Deno has no per-Worker heap limit: this process holds only the worker, so its growth is the script's
      const base = Deno.memoryUsage().rss;
      const guard = setInterval(() => {
        if ((Deno.memoryUsage().rss - base) / (1 << 20) > m.memoryMb) {
          clearInterval(guard);
          worker?.terminate();
          send({ type: "fail", error: `exceeded the memory limit of ${m.memoryMb} MB` });
        }
      }, 250);
    }
  }
}
// the host closed stdin: it is done with this step
Deno.exit(0);
