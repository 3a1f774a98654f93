// A terminal component: xterm.js with the fit addon over the server's exec WebSocket (src/web/terminal.ts),
// loaded on demand (./xterm.js).
import { html } from "./html.js";
import { useEffect, useRef, useState } from "preact/hooks";

export function Term({ path, label }) {
  const box = useRef(null);
  const [state, setState] = useState("connecting");
  const [gen, setGen] = useState(0);
  useEffect(() => {
    // xterm.js is a chunk of its own (./xterm.js), fetched and compiled when a terminal first opens
    let gone = false, stop = () => {};
    import("./xterm.js").then(({ connect }) => {
      if (!gone && box.current) stop = connect(box.current, path, setState);
    }).catch(() => {
      // the chunk did not load (the server went away): Reconnect tries again
      if (!gone) setState("closed");
    });
    return () => {
      gone = true;
      stop();
    };
  }, [path, gen]);
  return html`
    <div class="term-wrap">
      <div class="term-bar">
          <span class=${`dot ${state}`}></span><span>${label}</span><span class="muted">${state}</span>
          ${state === "closed" &&
            html`<button class="small" onClick=${() => setGen(gen + 1)}>Reconnect</button>`}
        </div>
      <div class="term" ref=${box} data-state=${state}></div>
    </div>
  `;
}
