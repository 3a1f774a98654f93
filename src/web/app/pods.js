// The pods page: search with the picker's fzf syntax and scoring (src/picker/match.ts, the same matcher the
// terminal picker uses), a pod's logs followed live, an exec terminal, and port-forwards with live figures.
import { html } from "./html.js";
import { Component } from "preact";
import { useEffect, useMemo, useState } from "preact/hooks";
import { Matcher } from "../../picker/match.ts";
import { age, listen, post } from "./api.js";
import { Term } from "./terminal.js";
import { LiveLog } from "./log.js";
import { Spacer, useWindow } from "./window.js";

function statusClass(s) {
  if (/^(Running|Completed|Succeeded)$/.test(s)) return "s-running";
  if (/Pending|ContainerCreating|PodInitializing|Init:|Terminating/.test(s)) return "s-pending";
  return "s-failed";
}

/** The name with the matched characters marked (positions are code points of `ns/name`). */
function Marked({ text, from, pos }) {
  if (!pos || !pos.length) return text;
  const set = new Set(pos.map((p) => p - from));
  const cps = [...text];
  const out = [];
  let run = "", marked = false;
  cps.forEach((c, i) => {
    const m = set.has(i);
    if (m !== marked && run) {
      out.push(marked ? html`<mark>${run}</mark>` : run);
      run = "";
    }
    marked = m;
    run += c;
  });
  if (run) out.push(marked ? html`<mark>${run}</mark>` : run);
  return out;
}

const idle = globalThis.requestIdleCallback ?? ((f) => setTimeout(f, 50));
const cancelIdle = globalThis.cancelIdleCallback ?? clearTimeout;

/**
 * The matcher's warm-up steps (src/picker/match.ts warmStep), one per idle period, then the marked name's
 * code once; returns the cancel for a matcher that is replaced meanwhile.
 */
function warmUp(matcher) {
  if (!matcher.size) return;
  let id = 0;
  const step = (i) => {
    id = idle(() => {
      if (matcher.warmStep(i)) return step(i + 1);
      Marked({ text: "a-b", from: 0, pos: [0, 2] });
      id = 0;
    });
  };
  step(0);
  return () => id && cancelIdle(id);
}

/** One row, drawn again only when its pod, its marks or its selection changed (a keystroke redraws few). */
class PodRowView extends Component {
  shouldComponentUpdate(n) {
    const o = this.props;
    return n.p !== o.p || n.selected !== o.selected || n.all !== o.all ||
      String(n.pos ?? "") !== String(o.pos ?? "");
  }
  render({ k, p, all, selected, pos, onSel }) {
    return html`<tr data-pod=${p.name} class=${selected ? "selected" : ""} onClick=${() => onSel(k)}>
      ${all ? html`<td class="muted">${p.namespace}</td>` : ""}
      <td class="mono name"><${Marked} text=${p.name} from=${p.namespace.length + 1} pos=${pos} /></td>
      <td>${p.ready}</td>
      <td><span class=${`st ${statusClass(p.status)}`}>${p.status}</span></td>
      <td class="num">${p.restarts}</td>
      <td class="num muted">${age(p.createdAt)}</td>
      <td class="muted c-node">${p.node ?? ""}</td>
    </tr>`;
  }
}

export function PodsPage({ onError }) {
  const [all, setAll] = useState(false);
  const [pods, setPods] = useState(new Map());
  const [version, setVersion] = useState(0);
  const [query, setQuery] = useState("");
  const [sel, setSel] = useState(null);
  const [err, setErr] = useState(null);
  const [forwards, setForwards] = useState([]);
  useEffect(() => {
    const m = new Map();
    const key = (r) => `${r.namespace}/${r.name}`;
    setPods(new Map());
    // a burst of pod events (2,000 pods starting) is drawn once per frame, not once per event
    let frame = 0, named = false;
    const flush = () => {
      frame = 0;
      setPods(new Map(m));
      // the matcher is rebuilt only when the set of names changes, not for a status change
      if (named) setVersion((v) => v + 1);
      named = false;
    };
    const soon = () => {
      frame ||= requestAnimationFrame(flush);
    };
    const stop = listen(`/api/pods/events${all ? "?all=1" : ""}`, {
      pods: (d) => {
        m.clear();
        for (const r of d.items) m.set(key(r), r);
        named = true;
        setErr(null);
        soon();
      },
      pod: ({ type, row }) => {
        const had = m.has(key(row));
        if (type === "DELETED") m.delete(key(row));
        else m.set(key(row), row);
        if (had !== (type !== "DELETED")) named = true;
        soon();
      },
      failed: (e) => setErr(e.error),
    });
    return () => {
      stop();
      cancelAnimationFrame(frame);
    };
  }, [all]);
  useEffect(() => listen("/api/forwards/events", { forwards: (d) => setForwards(d.items) }), []);
  const keys = useMemo(() => [...pods.keys()].sort(), [version]);
  const matcher = useMemo(
    () => new Matcher(keys.map((k) => ({ text: k, anchor: k.indexOf("/") + 1 }))),
    [keys],
  );
  // warmed in idle time, a step at a time, as the terminal picker warms its own: the first keystroke then
  // runs code already compiled (it took 25-41 ms, twice a later one's)
  useEffect(() => warmUp(matcher), [matcher]);
  const result = useMemo(() => matcher.match(query), [matcher, query]);
  const total = result.indices.length;
  // every match, best first, in a table that draws only the rows in view (./window.js)
  const win = useWindow(total);
  const shownIdx = [...result.indices.subarray(win.first, win.last)];
  const positions = result.all ? new Map() : matcher.positions(result, shownIdx);
  const cols = all ? 7 : 6;
  const selected = sel ? pods.get(sel) : undefined;
  return html`<section class="page pods">
    <div class="toolbar">
      <h1>Pods <span class="count">${
    total === keys.length ? keys.length : `${total} / ${keys.length}`
  }</span></h1>
      <input class="filter wide" id="pod-search" autofocus placeholder="Search: fzf syntax ('exact ^prefix suffix$ !not a | b)"
        value=${query} onInput=${(e) => setQuery(e.target.value)} />
      <label class="check inline"><input type="checkbox" checked=${all} onChange=${(e) =>
    setAll(e.target.checked)} /> All namespaces</label>
    </div>
    ${err && html`<div class="banner bad">${err}</div>`}
    <div class=${`split ${selected ? "with-panel" : ""}`}>
      <div class="list">
        <table class=${`grid pods-table${all ? " all" : ""}`}>
          <thead><tr>${
    all ? html`<th class="c-ns">Namespace</th>` : ""
  }<th class="c-name">Name</th><th class="c-ready">Ready</th><th class="c-status">Status</th><th class="num c-restarts">Restarts</th><th class="num c-age">Age</th><th class="c-node">Node</th></tr></thead>
          <tbody ref=${win.ref}><${Spacer} key="top" height=${win.top} cols=${cols} />${
    // keyed by place in the window: a keystroke rewrites the rows in view rather than rebuilding them
    shownIdx.map((i, j) => {
      const k = keys[i];
      const p = pods.get(k);
      return p
        ? html`
          <${PodRowView} key=${j} k=${k} p=${p} all=${all} selected=${sel === k} pos=${positions.get(i)}
            onSel=${setSel} />
        `
        : "";
    })}<${Spacer} key="bottom" height=${win.bottom} cols=${cols} /></tbody>
        </table>
        ${
    total === 0 && html`<div class="empty small">${keys.length ? "Nothing matches." : "No pods."}</div>`
  }
      </div>
      ${
    selected &&
    html`<${PodPanel} key=${sel} pod=${selected} close=${() => setSel(null)} onError=${onError} />`
  }
    </div>
    <${Forwards} items=${forwards} onError=${onError} />
  </section>`;
}

function PodPanel({ pod, close, onError }) {
  const [tab, setTab] = useState("logs");
  const [container, setContainer] = useState(pod.defaultContainer);
  const base = `/api/pods/${pod.namespace}/${pod.name}`;
  return html`<aside class="panel" id="pod-panel">
    <div class="panel-head">
      <div><div class="mono strong">${pod.name}</div><div class="muted small">${pod.namespace} · ${pod.status} · ${
    pod.ip ?? "no IP"
  }</div></div>
      <span class="spacer"></span>
      ${
    pod.containers.length > 1 &&
    html`<select id="container" value=${container} onChange=${(e) => setContainer(e.target.value)}>${
      pod.containers.map((c) => html`<option value=${c}>${c}</option>`)
    }</select>`
  }
      <button class="x" title="Close" onClick=${close}>×</button>
    </div>
    <nav class="tabs">${
    [["logs", "Logs"], ["exec", "Exec"], ["forward", "Port-forward"]].map(([t, l]) =>
      html`<a href="#/pods" data-tab=${t} class=${tab === t ? "active" : ""} onClick=${(e) => {
        e.preventDefault();
        setTab(t);
      }}>${l}</a>`
    )
  }</nav>
    ${
    tab === "logs"
      ? html`<${LiveLog} key=${container} path=${`${base}/logs?container=${container}`} title="Logs" id="pod-log" />`
      : tab === "exec"
      ? html`<${Term} key=${container} path=${`${base}/exec?container=${container}`} label=${`${pod.name} (${container})`} />`
      : html`<${StartForward} pod=${pod} onError=${onError} />`
  }
  </aside>`;
}

function StartForward({ pod, onError }) {
  const [ports, setPorts] = useState("");
  const [msg, setMsg] = useState(null);
  const go = async (e) => {
    e.preventDefault();
    try {
      const r = await post("/api/forwards", { namespace: pod.namespace, pod: pod.name, ports });
      setMsg(r.text);
    } catch (x) {
      onError(x);
    }
  };
  return html`<form class="forward-form" onSubmit=${go}>
    <p class="muted">A background forward, as <code>kodama port-forward pod/${pod.name} PORTS --detach</code>: it keeps
      running when this page closes; stop it below.</p>
    <div class="row"><input id="pf-ports" placeholder="LOCAL:REMOTE, REMOTE or :REMOTE (e.g. 8080:80)" value=${ports}
      onInput=${(e) => setPorts(e.target.value)} /><button class="primary" disabled=${!ports
    .trim()}>Forward</button></div>
    ${msg && html`<pre class="op-text">${msg}</pre>`}
  </form>`;
}

function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

function Forwards({ items, onError }) {
  return html`<div class="forwards">
    <h3>Port-forwards <span class="count">${items.length}</span></h3>
    ${
    items.length === 0
      ? html`
        <div
          class="empty small">No port-forwards on this machine. Start one from a pod's Port-forward tab, or with <code>kodama pf … --detach</code>.</div>
      `
      : html`
        <table class="grid" id="forwards">
          <thead>
            <tr>
              <th>ID</th>
              <th>Target</th>
              <th>Ports</th>
              <th>Pod</th>
              <th class="num">Uptime</th>
              <th class="num">Conns</th>
              <th class="num">In</th>
              <th class="num">Out</th>
              <th class="num">Rate</th>
              <th></th>
            </tr>
          </thead>
          <tbody>${items.map((f) =>
            html`
              <tr key=${f.id} data-forward=${f.id}>
                <td class="mono">${f.id}</td>
                <td class="mono">${f.target}</td>
                <td class="mono">${f.ports.map((p) =>
                  `${p.addresses[0] ?? "127.0.0.1"}:${p.local}→${p.remote}`
                ).join(", ")}</td>
                <td class="mono muted">${f.pod}</td>
                <td class="num">${f.uptimeSeconds}s</td>
                <td class="num">${f.totals.connections}${f.totals.active
                  ? ` (${f.totals.active} open)`
                  : ""}</td>
                <td class="num">${bytes(f.totals.bytesIn)}</td>
                <td class="num">${bytes(f.totals.bytesOut)}</td>
                <td class="num muted">${bytes(f.ports.reduce((a, p) => a + p.rateIn + p.rateOut, 0))}/s</td>
                <td class="actions"><button class="small danger" onClick=${() =>
                  post(`/api/forwards/${f.id}/stop`).catch(onError)}>Stop</button></td>
              </tr>
            `
          )}</tbody>
        </table>
      `
  }
  </div>`;
}
