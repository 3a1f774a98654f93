// A log that streams as it is written: server-sent `log` chunks, then `end` (or `failed`). The sessions' agent
// runs and the pods' logs both show one.
import { html } from "./html.js";
import { useEffect, useRef, useState } from "preact/hooks";
import { listen } from "./api.js";

/** The last this many characters stay on the page. */
const KEEP = 400_000;

export function LiveLog({ path, title, id }) {
  const [text, setText] = useState("");
  const [state, setState] = useState("following");
  const pre = useRef(null);
  const stick = useRef(true);
  useEffect(() => {
    let acc = "";
    setText("");
    setState("following");
    const stop = listen(path, {
      log: (t) => {
        acc += t;
        if (acc.length > KEEP) acc = acc.slice(acc.indexOf("\n", acc.length - KEEP) + 1);
        const el = pre.current;
        // follow the end unless the reader scrolled up to read
        stick.current = !el || el.scrollHeight - el.scrollTop - el.clientHeight < 80;
        setText(acc);
      },
      end: () => {
        setState("ended");
        stop();
      },
      failed: (e) => {
        setState(`failed: ${e.error}`);
        stop();
      },
    });
    return stop;
  }, [path]);
  useEffect(() => {
    const el = pre.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [text]);
  return html`
    <div class="log">
      <div class="log-head">${title} <span class="muted">${state}</span></div>
      <pre ref=${pre} id=${id}>${text}</pre>
    </div>
  `;
}
