// kodama ui: the page. Routes are hash paths (#/sessions, #/sessions/NAME/TAB, #/pods, #/workflows).
import "@xterm/xterm/css/xterm.css";
import "diff2html/bundles/css/diff2html.min.css";
import "./app.css";
import { render } from "preact";
import { useEffect, useLayoutEffect, useState } from "preact/hooks";
import { html } from "./html.js";
import { get, listen } from "./api.js";
import { SessionsPage } from "./sessions.js";
import { SessionPage } from "./session.js";
import { GroupPage } from "./group.js";
import { PodsPage } from "./pods.js";
import { WorkflowsPage } from "./workflows.js";

function route() {
  const parts = (location.hash.replace(/^#\/?/, "") || "sessions").split("/").map(decodeURIComponent);
  return parts;
}

/**
 * The dock under the page: the operations (start, stop, a workflow run…) and the last error. It takes its
 * own strip of the window below the scrolling page instead of floating over it, so it never hides output.
 * An operation the page already shows (a workflow run's output) is left out.
 */
function Dock({ ops, inline, dismiss, toast, closeToast }) {
  const shown = ops.filter((o) => !o.dismissed && o.id !== inline).slice(-4);
  if (!shown.length && !toast) return null;
  return html`<div class="dock" id="dock">
    ${
    toast &&
    html`<div class="toast bad" role="alert" onClick=${closeToast}>${toast.message}${
      toast.hint && html`<br /><small>${toast.hint}</small>`
    }</div>`
  }${
    shown.map((o) =>
      html`<div key=${o.id} class=${`op ${
        o.done ? (o.code === 0 ? "ok" : "bad") : "busy"
      }`} data-op=${o.title}>
      <div class="op-head"><span class="op-dot"></span><strong>${o.title}</strong>
        <span class="muted">${
        o.done ? (o.code === 0 ? "done" : `failed (exit ${o.code})`) : "running…"
      }</span>
        <button class="x" title="Dismiss" onClick=${() => dismiss(o.id)}>×</button></div>
      ${o.error && html`<div class="op-error">${o.error}</div>`}
      ${o.text && html`<pre class="op-text">${o.text.split("\n").slice(-6).join("\n")}</pre>`}
    </div>`
    )
  }</div>`;
}

// The live stream and the context start with this module, before the first render: the session list's
// request is not held up by the page's first render and paint (effects run after it). What arrives before
// the page listens waits in `early`.
const early = [];
let handlers = null;
const relay = (name) => (d) => {
  // the moment the first list arrived, on the page's performance timeline (bench/_ui_open.ts reads it)
  if (name === "sessions" && !performance.getEntriesByName("kodama:list").length) {
    performance.mark("kodama:list");
  }
  return handlers ? handlers[name]?.(d) : early.push([name, d]);
};
listen("/api/events", {
  open: relay("open"),
  error: relay("error"),
  sessions: relay("sessions"),
  op: relay("op"),
});
const infoFetched = get("/api/info").catch(() => ({}));

function App() {
  const [r, setR] = useState(route());
  const [sessions, setSessions] = useState([]);
  const [listError, setListError] = useState(null);
  const [info, setInfo] = useState({});
  const [live, setLive] = useState(false);
  const [ops, setOps] = useState([]);
  const [toast, setToast] = useState(null);
  // the operation the page shows itself (a workflow run): not repeated in the dock
  const [inline, setInline] = useState(null);
  const [now, setNow] = useState(Date.now());
  // a layout effect runs before the first paint: a list that has already arrived is drawn in that paint
  useLayoutEffect(() => {
    const on = () => setR(route());
    addEventListener("hashchange", on);
    infoFetched.then(setInfo);
    handlers = {
      open: () => setLive(true),
      error: () => setLive(false),
      sessions: (d) => {
        setSessions(d.items);
        setListError(d.error ?? null);
        setLive(true);
      },
      op: (o) => {
        // a finished operation that went well leaves after a few seconds; a failed one stays until dismissed
        if (o.done && o.code === 0) {
          setTimeout(
            () => setOps((prev) => prev.map((p) => (p.id === o.id ? { ...p, dismissed: true } : p))),
            6000,
          );
        }
        setOps((prev) => {
          const i = prev.findIndex((p) => p.id === o.id);
          const next = i >= 0 ? prev.map((p) => (p.id === o.id ? { ...p, ...o } : p)) : [...prev, o];
          return next;
        });
      },
    };
    for (const [name, d] of early.splice(0)) handlers[name]?.(d);
    // ages only: the data itself is pushed by the server
    const t = setInterval(() => setNow(Date.now()), 10_000);
    return () => {
      removeEventListener("hashchange", on);
      handlers = null;
      clearInterval(t);
    };
  }, []);
  const go = (h) => (location.hash = h);
  const onError = (e) => setToast({ message: e.message, hint: e.hint, at: Date.now() });
  useEffect(() => {
    if (!toast) return;
    const t = setTimeout(() => setToast(null), 8000);
    return () => clearTimeout(t);
  }, [toast]);
  const [area, name, tab] = r;
  let body;
  if (area === "sessions" && name) {
    body = html`
      <${SessionPage} name=${name} tab=${tab} session=${sessions.find((s) => s.name === name)}
        go=${go} onError=${onError} now=${now} />
    `;
  } else if (area === "groups" && name) {
    body = html`<${GroupPage} name=${name} sessions=${sessions} go=${go} onError=${onError} now=${now} />`;
  } else if (area === "pods" || area === "workflows") {
    body = area === "pods"
      ? html`<${PodsPage} onError=${onError} />`
      : html`<${WorkflowsPage} onError=${onError} ops=${ops} showOp=${setInline} />`;
  } else {
    body =
      html`<${SessionsPage} sessions=${sessions} error=${listError} now=${now} go=${go} onError=${onError} />`;
  }
  return html`
    <div class="shell">
      <header>
        <a class="logo" href="#/sessions"><span class="mark">k</span> kodama</a>
        <nav>${[["sessions", "Sessions"], ["pods", "Pods"], ["workflows", "Workflows"]].map(([a, l]) =>
          html`<a key=${a} href=${`#/${a}`} class=${
            area === a || (a === "sessions" && (!area || area === "groups")) ? "active" : ""
          }>${l}</a>`
        )}</nav>
        <span class="spacer"></span>
        <span class="ctx" title="kubeconfig context / namespace">${info.context ?? ""}${info.namespace
          ? html`
            <span class="muted">/</span> ${info.namespace}
          `
          : ""}</span>
        <span class=${`live ${live ? "on" : "off"}`} title=${live
          ? "live: changes are pushed"
          : "reconnecting"}>${live ? "live" : "offline"}</span>
      </header>
      <div class="scroll" id="scroll">
        <main>${body}</main>
      </div>
      <${Dock} ops=${ops} inline=${inline} toast=${toast} closeToast=${() => setToast(null)}
        dismiss=${(id) => setOps(ops.map((o) => (o.id === id ? { ...o, dismissed: true } : o)))} />
    </div>
  `;
}

render(html`<${App} />`, document.getElementById("app"));
