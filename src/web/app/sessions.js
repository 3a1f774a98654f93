// The sessions list and the start / delete dialogs.
import { html } from "./html.js";
import { Component } from "preact";
import { useMemo, useState } from "preact/hooks";
import { age, post } from "./api.js";
import { Spacer, useWindow } from "./window.js";

export function StatusPill({ status, reason }) {
  return html`<span class=${`pill s-${(status ?? "").toLowerCase()}`} title=${reason ?? ""}>${status}</span>`;
}

export function AgentCell({ agent }) {
  if (!agent) return html`<span class="muted">—</span>`;
  return html`<span class=${`agent a-${agent.state}`}>run ${agent.run} · ${
    agent.outcome ?? agent.state
  }</span>`;
}

export function SyncCell({ sync }) {
  const cls = sync?.startsWith("Active") ? "ok" : sync?.startsWith("Error") ? "bad" : "muted";
  return html`<span class=${`sync ${cls} ${sync?.includes("conflict") ? "warn" : ""}`}>${sync}</span>`;
}

/**
 * One row, drawn again only when its session (or the clock for its age) changed. Its cells are plain elements
 * (the pill, agent and sync cells called as functions, not mounted as components): a keystroke that puts other
 * sessions in the rows in view rewrites their text and nothing else.
 */
class SessionRowView extends Component {
  shouldComponentUpdate(n) {
    return n.s !== this.props.s || n.now !== this.props.now;
  }
  render({ s, now, act, go, del }) {
    const stopped = s.status === "Stopped";
    return html`
      <tr data-session=${s.name} class=${s.group ? "member" : ""}>
        <td><a class="name" href=${`#/sessions/${s.name}`}>${s.name}</a></td>
        <td>${StatusPill(s)}${s.reason ? html`<span class="reason">${s.reason}</span>` : null}</td>
        <td>${AgentCell(s)}</td>
        <td>${SyncCell(s)}</td>
        <td class="mono">${s.branch ?? html`<span class="muted">—</span>`}</td>
        <td class="mono muted">${s.image}</td>
        <td class="num muted">${age(s.createdAt, now)}</td>
        <td class="actions">
          <button class="small" onClick=${() => act(s.name, stopped ? "resume" : "stop")}>${stopped
            ? "Resume"
            : "Stop"}</button>
          <button class="small" onClick=${() => go(`#/sessions/${s.name}/terminal`)} disabled=${s.status !==
            "Running"}>Terminal</button>
          <button class="small danger" data-action="delete" onClick=${() => del(s.name)}>Delete</button>
        </td>
      </tr>
    `;
  }
}

/** Replicas of a group together under the group's name, in replica order; the rest by name (as `kodama list`). */
export function groupedOrder(sessions) {
  const key = (s) => s.group ?? s.name;
  const cmp = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
  return [...sessions].sort((a, b) =>
    cmp(key(a), key(b)) || (a.group ? 1 : 0) - (b.group ? 1 : 0) || (a.replica ?? 0) - (b.replica ?? 0) ||
    cmp(a.name, b.name)
  );
}

/** A group's heading row in the list: its name, how its replicas stand, the way to compare them. */
class GroupRowView extends Component {
  shouldComponentUpdate(n) {
    return n.sig !== this.props.sig;
  }
  render({ group, members }) {
    const by = (st) => members.filter((s) => s.agent?.state === st).length;
    const parts = [
      `${members.length} replica${members.length === 1 ? "" : "s"}`,
      ...["running", "succeeded", "failed"].map((st) => (by(st) ? `${by(st)} ${st}` : "")),
    ].filter(Boolean);
    return html`
      <tr class="group-row" data-group=${group}>
        <td colspan="7"><a class="name" href=${`#/groups/${group}`}>${group}</a>
              <span class="tag">group</span> <span class="muted">${parts.join(" · ")}</span></td>
        <td class="group-actions"><a class="button small" href=${`#/groups/${group}`}>Compare</a></td>
      </tr>
    `;
  }
}

export function SessionsPage({ sessions, error, now, go, onError }) {
  const [filter, setFilter] = useState("");
  const [starting, setStarting] = useState(false);
  const [deleting, setDeleting] = useState(null);
  // sorted and lowercased once per list, not once per keystroke
  const indexed = useMemo(() => {
    const members = new Map();
    for (const s of sessions) if (s.group) members.set(s.group, [...(members.get(s.group) ?? []), s]);
    return {
      members,
      rows: groupedOrder(sessions).map((s) => ({
        s,
        hay: [s.name, s.status, s.branch, s.image, s.group].filter(Boolean).join("\n").toLowerCase(),
      })),
    };
  }, [sessions]);
  const f = filter.trim().toLowerCase();
  const shown = f ? indexed.rows.filter((r) => r.hay.includes(f)) : indexed.rows;
  const act = (name, verb) => post(`/api/sessions/${name}/${verb}`).catch(onError);
  // the rows (a group's heading before its replicas); only those in view are drawn (./window.js)
  const rows = [];
  let lastGroup;
  for (const { s } of shown) {
    if (s.group && s.group !== lastGroup) rows.push({ group: s.group });
    lastGroup = s.group;
    rows.push({ s });
  }
  const win = useWindow(rows.length);
  // rows are keyed by their place in the window: a keystroke rewrites the text of the rows in view instead
  // of removing some and building others
  const body = rows.slice(win.first, win.last).map((r, i) => {
    if (r.s) {
      return html`<${SessionRowView} key=${i} s=${r.s} now=${now} act=${act} go=${go} del=${setDeleting} />`;
    }
    const members = indexed.members.get(r.group);
    const sig = members.map((m) => `${m.name}:${m.agent?.state}`).join("|");
    return html`<${GroupRowView} key=${i} group=${r.group} members=${members} sig=${sig} />`;
  });
  return html`<section class="page">
    <div class="toolbar">
      <h1>Sessions <span class="count">${sessions.length}</span></h1>
      <input class="filter" placeholder="Filter sessions" value=${filter} onInput=${(e) =>
    setFilter(e.target.value)} />
      <button class="primary" id="new-session" onClick=${() => setStarting(true)}>New session</button>
    </div>
    ${error && html`<div class="banner bad">${error}</div>`}
    ${
    sessions.length === 0
      ? html`<div class="empty">No sessions in this namespace yet. <a href="#" onClick=${(e) => {
        e.preventDefault();
        setStarting(true);
      }}>Start one</a>.</div>`
      : html`
        <table class="grid sessions">
          <thead>
            <tr>
              <th>Name</th>
              <th>Status</th>
              <th>Agent</th>
              <th>Sync</th>
              <th>Branch</th>
              <th>Image</th>
              <th class="num">Age</th>
              <th></th>
            </tr>
          </thead>
          <tbody ref=${win.ref}><${Spacer} key="top" height=${win.top} cols=${8} />${body}<${Spacer}
            key="bottom" height=${win.bottom} cols=${8} /></tbody>
        </table>
      `
  }
    ${starting && html`<${StartDialog} close=${() => setStarting(false)} />`}
    ${
    deleting && html`<${DeleteDialog} name=${deleting} close=${() => setDeleting(null)} onError=${onError} />`
  }
  </section>`;
}

const FIELDS = [
  ["name", "Name", "my-work", "lowercase letters, digits and '-'"],
  ["repo", "Repository", "https://github.com/acme/api.git or a local path", "cloned into the workspace"],
  ["branch", "Branch", "default: a new kodama/NAME-<time> branch", ""],
  ["baseBranch", "Base branch", "when the branch is new", ""],
  ["image", "Image", "default from config", ""],
  ["cpu", "CPU", "e.g. 2 or 500m", ""],
  ["memory", "Memory", "e.g. 4Gi", ""],
  ["storage", "Workspace size", "e.g. 20Gi", ""],
  [
    "envFiles",
    "Env files",
    ".env, .env.local (values stay in a Secret)",
    "comma-separated, relative to where kodama ui runs",
  ],
  [
    "sync",
    "Sync directory",
    "e.g. . (leave empty: no sync)",
    "a local directory kept in sync with the workspace",
  ],
];

export function StartDialog({ close }) {
  const [v, setV] = useState({});
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setErr(null);
    try {
      const envFiles = (v.envFiles ?? "").split(",").map((s) => s.trim()).filter(Boolean);
      await post("/api/sessions", { ...v, envFiles });
      close();
    } catch (x) {
      setErr(x);
      setBusy(false);
    }
  };
  return html`
    <div class="modal-back" onClick=${(e) => e.target === e.currentTarget && close()}>
      <form class="modal" id="start-form" onSubmit=${submit}>
          <h2>Start a session</h2>
          <p class="muted">The same options as <code>kodama start</code>.</p>
          <div class="form-grid">
            ${FIELDS.map(([k, label, ph, help]) =>
              html`
                <label
                  key=${k}><span>${label}</span><input name=${k} placeholder=${ph} required=${k === "name"}
                          value=${v[k] ?? ""} onInput=${(e) =>
                            setV({ ...v, [k]: e.target.value })} />${help &&
                            html`<small>${help}</small>`}</label>
              `
            )}
            <label class="wide"><span>Prompt</span><textarea name="prompt" rows="3" placeholder="optional: a task for the coding agent once the session is ready"
              value=${v.prompt ?? ""} onInput=${(e) =>
                setV({ ...v, prompt: e.target.value })}></textarea></label>
          </div>
          ${err &&
            html`<div class="banner bad">${err.message}${
              err.hint && html`<br /><small>${err.hint}</small>`
            }</div>`}
          <div class="buttons">
            <button type="button" onClick=${close}>Cancel</button>
            <button class="primary" type="submit" disabled=${busy}>${busy ? "Starting…" : "Start"}</button>
          </div>
        </form>
    </div>
  `;
}

export function DeleteDialog({ name, close, onError, after }) {
  const [purge, setPurge] = useState(false);
  const go = async () => {
    try {
      await post(`/api/sessions/${name}/delete`, { purge });
      close();
      after?.();
    } catch (e) {
      onError(e);
    }
  };
  return html`
    <div class="modal-back" onClick=${(e) => e.target === e.currentTarget && close()}>
      <div class="modal narrow" id="delete-dialog">
        <h2>Delete session ${name}?</h2>
        <p>Its pod, env Secret and ConfigMap are deleted. ${purge
          ? html`<strong class="bad">Its volumes are deleted too: the workspace and home data are lost.</strong>`
          : "Its volumes are kept: starting a session of the same name reuses them."}</p>
        <label
          class="check"><input type="checkbox" name="purge" checked=${purge} onChange=${(e) =>
            setPurge(e.target.checked)} /> Also delete its volumes (purge)</label>
        <div class="buttons">
          <button type="button" onClick=${close}>Cancel</button>
          <button class="danger" id="confirm-delete" onClick=${go}>Delete${purge
            ? " with volumes"
            : ""}</button>
        </div>
      </div>
    </div>
  `;
}
