// xterm.js and its fit addon over the server's exec WebSocket (src/web/terminal.ts). A chunk of its own,
// loaded when a terminal first opens (terminal.js): the list pages never parse it.
import { Terminal } from "@xterm/xterm";
import { FitAddon } from "@xterm/addon-fit";
import { wsUrl } from "./api.js";

/** A terminal in `box` connected to `path`; `setState` hears connected/closed. Returns its cleanup. */
export function connect(box, path, setState) {
  const dark = matchMedia("(prefers-color-scheme: dark)").matches;
  const term = new Terminal({
    cursorBlink: true,
    fontFamily: '"DejaVu Sans Mono", Menlo, Consolas, monospace',
    fontSize: 13,
    theme: dark
      ? { background: "#0d1117", foreground: "#e6edf3", cursor: "#58a6ff" }
      : { background: "#ffffff", foreground: "#1f2328", cursor: "#0969da", selectionBackground: "#b6d7ff" },
  });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(box);
  fit.fit();
  const sep = path.includes("?") ? "&" : "?";
  let ws;
  let disposed = false;
  const send = (m) => ws?.readyState === WebSocket.OPEN && ws.send(JSON.stringify(m));
  wsUrl(`${path}${sep}cols=${term.cols}&rows=${term.rows}`).then((url) => {
    if (disposed) return;
    ws = new WebSocket(url);
    ws.binaryType = "arraybuffer";
    ws.onopen = () => {
      setState("connected");
      term.focus();
    };
    ws.onmessage = (ev) => {
      if (typeof ev.data === "string") {
        const m = JSON.parse(ev.data);
        if (m.error) term.write(`\r\n\x1b[31m${m.error}\x1b[0m\r\n`);
        if (m.exit !== undefined) term.write(`\r\n\x1b[2m[exited with code ${m.exit}]\x1b[0m\r\n`);
        return;
      }
      term.write(new Uint8Array(ev.data));
    };
    ws.onclose = () => setState("closed");
  }, (e) => {
    term.write(`\r\n\x1b[31m${e.message}\x1b[0m\r\n`);
    setState("closed");
  });
  const d1 = term.onData((i) => send({ i }));
  const d2 = term.onResize(({ cols, rows }) => send({ r: [cols, rows] }));
  const ro = new ResizeObserver(() => {
    try {
      fit.fit();
    } catch { /* hidden */ }
  });
  ro.observe(box);
  return () => {
    disposed = true;
    ro.disconnect();
    d1.dispose();
    d2.dispose();
    ws?.close();
    term.dispose();
  };
}
