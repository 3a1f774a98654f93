// A log that streams as it is written: server-sent `log` chunks, then `end` (or `failed`). The sessions' agent
// runs and the pods' logs both show one.
import { html } from "./html.js";
import { useEffect, useRef, useState } from "preact/hooks";
import { listen } from "./api.js";

/** The last this many characters stay on the page. */
const KEEP = 400_000;

/**
 * A follow that failed (a cut stream: a loaded cluster, a restarted API server) is opened again: 2 s later,
 * then twice as long each time up to 10 s, this many times in a row at most (about two minutes).
 */
const RETRIES = 14;

export function LiveLog({ path, title, id }) {
  const [text, setText] = useState("");
  const [state, setState] = useState("following");
  // a failed follow is opened again from the start (the text is read whole again, so nothing is shown
  // twice; what was shown stays until it comes), RETRIES times in a row at most: text that arrives resets it
  const [attempt, setAttempt] = useState({ n: 0, misses: 0 });
  const pre = useRef(null);
  const stick = useRef(true);
  useEffect(() => {
    let acc = "";
    let gone = false;
    let timer;
    if (!attempt.n) setText("");
    setState(attempt.n ? "following again" : "following");
    const stop = listen(path, {
      log: (t) => {
        if (!acc) setText("");
        acc += t;
        if (acc.length > KEEP) acc = acc.slice(acc.indexOf("\n", acc.length - KEEP) + 1);
        const el = pre.current;
        // follow the end unless the reader scrolled up to read
        stick.current = !el || el.scrollHeight - el.scrollTop - el.clientHeight < 80;
        setText(acc);
      },
      // the cluster replaced the session's pod: the follow went on on the new one (said once)
      note: (e) => setState(`following (${String(e.text ?? e)})`),
      end: () => {
        setState("ended");
        stop();
      },
      failed: (e) => {
        stop();
        if (gone) return;
        const misses = acc ? 1 : attempt.misses + 1;
        if (misses > RETRIES) return setState(`failed: ${e.error}`);
        setState(`cut (${String(e.error).split("\n")[0]}): following again`);
        const wait = Math.min(10_000, 2000 * 2 ** (misses - 1));
        timer = setTimeout(() => gone || setAttempt({ n: attempt.n + 1, misses }), wait);
      },
    });
    return () => {
      gone = true;
      clearTimeout(timer);
      stop();
    };
  }, [path, attempt]);
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
