// The sessions list and the start / delete dialogs.
import { html } from "./html.js";
import { Component } from "preact";
import { useEffect, useMemo, useState } from "preact/hooks";
import { age, get, post } from "./api.js";
import { Spacer, useWindow } from "./window.js";

export function StatusPill({ status, reason }) {
  return html`<span class=${`pill s-${(status ?? "").toLowerCase()}`} title=${reason ?? ""}>${status}</span>`;
}

/**
 * A run's outcome as two parts: the state word (`failed`) and what follows it (`invalid API key; denied: 2
 * tool uses`), so the list shows the run and its state on a line of their own, whole, and the rest below.
 */
export function outcomeParts(state, outcome) {
  const text = outcome ?? state ?? "";
  if (!state || !text.startsWith(state)) return { head: state ?? text, why: text === state ? "" : text };
  return { head: state, why: text.slice(state.length).replace(/^[:;,]?\s*/, "") };
}

export function AgentCell({ agent }) {
  if (!agent) return html`<span class="muted">—</span>`;
  // the last known state while the runs cannot be read again (the cluster away): kept, and marked so
  const stale = agent.stale !== undefined;
  const whole = `run ${agent.run} · ${agent.outcome ?? agent.state}`;
  const { head, why } = outcomeParts(agent.state, agent.outcome);
  // the whole outcome on hover: the list may clamp the reason to its lines
  const title = stale
    ? `last known state: the runs could not be read again since ${
      new Date(agent.stale).toLocaleTimeString()
    }\n${whole}`
    : whole;
  return html`<span class=${`agent a-${agent.state}${stale ? " stale" : ""}`} title=${title}><span
    class="agent-state">run ${agent.run} · ${head}</span>${
    why ? html`<span class="agent-why">${why}</span>` : null
  }</span>`;
}

/** The gateway's figures in words: its count of tokens, requests and denials, and the budget left. */
export function gatewayTitle(g) {
  const money = (v) => (v === null ? "unknown" : `$${v.toFixed(v < 1 ? 4 : 2)}`);
  return [
    `metered by the gateway: ${g.input} input, ${g.output} output, ${g.cacheRead} cache read, ${g.cacheWrite} cache write tokens`,
    `cost ${money(g.costUsd)}; ${g.requests} requests, ${g.denied} denied${
      g.lastDenied ? ` (last: ${g.lastDenied})` : ""
    }`,
    ...(g.budgetUsd !== null ? [`budget ${money(g.budgetUsd)}, ${money(g.budgetLeftUsd)} left`] : []),
  ].join("\n");
}

/** USAGE: the gateway's count (`12.3k tok $0.41`), its details on hover; a dash for a session without one. */
export function UsageCell({ gateway }) {
  if (!gateway) return html`<span class="muted">—</span>`;
  return html`<span class="usage" title=${gatewayTitle(gateway)}>${gateway.text}</span>`;
}

export function SyncCell({ sync }) {
  const cls = sync?.startsWith("Active") ? "ok" : sync?.startsWith("Error") ? "bad" : "muted";
  return html`<span class=${`sync ${cls} ${
    sync?.includes("conflict") ? "warn" : ""
  }`} title=${sync}>${sync}</span>`;
}

/**
 * One row, drawn again only when its session (or the clock for its age) changed. Its cells are plain elements
 * (the pill, agent and sync cells called as functions, not mounted as components): a keystroke that puts other
 * sessions in the rows in view rewrites their text and nothing else.
 */
class SessionRowView extends Component {
  shouldComponentUpdate(n) {
    return n.s !== this.props.s || n.now !== this.props.now || n.metered !== this.props.metered;
  }
  render({ s, now, act, go, del, metered }) {
    const stopped = s.status === "Stopped";
    return html`
      <tr data-session=${s.name} class=${s.group ? "member" : ""}>
        <td class="c-name"><a class="name" href=${`#/sessions/${s.name}`} title=${s.name}>${s.name}</a></td>
        <td class="c-status">${StatusPill(s)}${s.reason
          ? html`<span class="reason">${s.reason}</span>`
          : null}</td>
        <td class="c-agent">${AgentCell(s)}</td>
        ${metered && html`<td class="num c-usage">${UsageCell(s)}</td>`}
        <td class="c-sync">${SyncCell(s)}</td>
        <td class="mono c-branch" title=${s.branch}>${s.branch ?? html`<span class="muted">—</span>`}</td>
        <td class="mono muted c-image" title=${s.image}>${s.image}</td>
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
  render({ group, members, metered }) {
    const by = (st) => members.filter((s) => s.agent?.state === st).length;
    const parts = [
      `${members.length} replica${members.length === 1 ? "" : "s"}`,
      ...["running", "succeeded", "failed"].map((st) => (by(st) ? `${by(st)} ${st}` : "")),
    ].filter(Boolean);
    return html`
      <tr class="group-row" data-group=${group}>
        <td colspan=${metered ? 8 : 7}><a class="name" href=${`#/groups/${group}`}>${group}</a>
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
  // the gateway's USAGE column, once some session goes through a gateway it could read
  const metered = sessions.some((s) => s.gateway);
  const cols = metered ? 9 : 8;
  // rows are keyed by their place in the window: a keystroke rewrites the text of the rows in view instead
  // of removing some and building others
  const body = rows.slice(win.first, win.last).map((r, i) => {
    if (r.s) {
      return html`
        <${SessionRowView} key=${i} s=${r.s} now=${now} act=${act} go=${go} del=${setDeleting}
          metered=${metered} />
      `;
    }
    const members = indexed.members.get(r.group);
    const sig = members.map((m) => `${m.name}:${m.agent?.state}`).join("|") + (metered ? "|m" : "");
    return html`<${GroupRowView} key=${i} group=${r.group} members=${members} sig=${sig} metered=${metered} />`;
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
        <table class=${`grid sessions${metered ? " metered" : ""}`}>
          <thead>
            <tr>
              <th>Name</th>
              <th>Status</th>
              <th>Agent</th>
              ${metered && html`<th class="num" title="tokens and cost metered by the gateway">Usage</th>`}
              <th>Sync</th>
              <th>Branch</th>
              <th class="c-image">Image</th>
              <th class="num">Age</th>
              <th></th>
            </tr>
          </thead>
          <tbody ref=${win.ref}><${Spacer} key="top" height=${win.top} cols=${cols} />${body}<${Spacer}
            key="bottom" height=${win.bottom} cols=${cols} /></tbody>
        </table>
      `
  }
    ${starting && html`<${StartDialog} close=${() => setStarting(false)} />`}
    ${
    deleting && html`<${DeleteDialog} name=${deleting} close=${() => setDeleting(null)} onError=${onError} />`
  }
  </section>`;
}

/** A text field of the start dialog: [key, label, placeholder, help]. */
const text = (k, label, ph, help = "") => ({ k, label, ph, help });

/**
 * The start dialog: the options of `kodama start` (the server's /api/start-options lists its templates, agent
 * presets, sync modes and defaults). The server checks every value as the CLI checks its flags, before it
 * starts anything: a bad one comes back as kodama's message and hint, shown here.
 */
export function StartDialog({ close }) {
  const [v, setV] = useState({ replicas: "1" });
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState(null);
  const [opts, setOpts] = useState(null);
  useEffect(() => {
    get("/api/start-options").then(setOpts).catch(setErr);
  }, []);
  const d = opts?.defaults ?? {};
  // a change answers the error it was about: it goes until the next Start
  const set = (k) => (e) => {
    setV({ ...v, [k]: e.target.value });
    setErr(null);
  };
  const group = !/^\s*1?\s*$/.test(v.replicas ?? "");
  const tpl = opts?.templates.find((t) => t.name === v.template);
  const from = tpl && tpl.name !== "default" ? `${tpl.name}'s, else ` : "";
  const field = ({ k, label, ph, help }, o = {}) =>
    html`
      <label key=${k}
        class=${o.cls ?? ""}><span>${label}</span><input name=${k} placeholder=${ph}
            required=${k === "name"} disabled=${o.disabled} value=${v[k] ?? ""} onInput=${set(
              k,
            )} />${(o.note ?? help) && html`<small>${o.note ?? help}</small>`}</label>
    `;
  const select = (k, label, def, items, help, o = {}) =>
    html`<label key=${k}><span>${label}</span><select name=${k} value=${v[k] ?? ""} onChange=${set(k)}
      disabled=${o.disabled}><option value="">${def}</option>${
      items.map((x) => html`<option key=${x.value} value=${x.value}>${x.label}</option>`)
    }</select><small>${help}</small></label>`;
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setErr(null);
    try {
      const { replicas, envFiles = "", sync, branch, repos = "", ...rest } = v;
      await post("/api/sessions", {
        ...rest,
        envFiles: envFiles.split(",").map((s) => s.trim()).filter(Boolean),
        // more repositories, one a line as --repo takes them: each into /workspace/NAME
        repos: repos.split("\n").map((s) => s.trim()).filter(Boolean),
        // one replica is a plain session; more (or a value the server must explain) start a group
        ...(group ? { replicas: replicas.trim() } : { sync, branch }),
      });
      close();
    } catch (x) {
      setErr(x);
      setBusy(false);
    }
  };
  const n = v.name || "NAME";
  return html`
    <div class="modal-back" onClick=${(e) => e.target === e.currentTarget && close()}>
      <form class="modal start" id="start-form" onSubmit=${submit}>
        <h2>Start a session</h2>
        <p class="muted">The same options as <code>kodama start</code>; an empty field takes its default.</p>
        <div class="form-grid">
          ${field(text("name", "Name", "my-work", "lowercase letters, digits and '-'"))}
          ${select(
            "template",
            "Template",
            "none (your config's defaults)",
            (opts?.templates ?? []).map((t) => ({ value: t.name, label: `${t.name} (${t.source})` })),
            tpl?.description ?? "kodama template list; a field set here wins",
          )}
          ${select(
            "agent",
            "Agent",
            `default (${from}${d.agent ?? "claude"})`,
            (opts?.agents ?? []).map((a) => ({ value: a, label: a })),
            "kodama agent presets; custom: agent.command",
          )}
          <label><span>Replicas</span><input name="replicas" type="number" min="1" step="1" value=${v
            .replicas}
            onInput=${set("replicas")} /><small>${group
              ? `best of N: ${n}-1 … ${n}-${v.replicas.trim()}, then compare`
              : `more than 1: a best-of-N group (at most ${opts?.maxReplicas ?? 16})`}</small></label>
          ${field(
            text(
              "repo",
              "Repository",
              "https://github.com/acme/api.git or a local path",
              "cloned into the workspace",
            ),
            { cls: "span2" },
          )}
          <label class="span2" key="repos"><span>More repositories</span><textarea name="repos" rows="2"
            placeholder=${"one a line: PATH[=NAME][:ro], e.g. ../web or ../docs:ro"}
            value=${v.repos ?? ""} onInput=${set(
              "repos",
            )}></textarea><small>with these, each repository (the one above
            too) is cloned into /workspace/NAME on its own branch; :ro only read</small></label>
          ${field(text("branch", "Branch", "default: kodama/NAME-<time>"), {
            disabled: group,
            note: group ? "each replica: its own branch" : "",
          })}
          ${field(text("baseBranch", "Base branch", "when the branch is new"))}
          ${field(text("image", "Image", `default: ${from}${d.image ?? "from config"}`), { cls: "span2" })}
          ${field(text("cpu", "CPU", "e.g. 2 or 500m"))}
          ${field(text("memory", "Memory", "e.g. 4Gi"))}
          ${field(text("storage", "Workspace size", "e.g. 20Gi"))}
          ${field(
            text("envFiles", "Env files", ".env, .env.local", "comma-separated; values stay in a Secret"),
          )}
          ${field(
            text(
              "idleStop",
              "Idle stop",
              `e.g. 30m (default: ${d.idleStop ?? "never"})`,
              "stop when idle this long; 0: never",
            ),
          )}
          ${field(
            text(
              "ttl",
              "TTL",
              `e.g. 8h, 2d${d.ttl ? ` (default: ${d.ttl})` : ""}`,
              "expiry: kodama gc deletes after",
            ),
          )}
          ${field(
            text("sync", "Sync directory", "e.g. . (empty: no sync)", "kept in sync with the workspace"),
            {
              disabled: group,
              note: group ? "not with replicas: sync the one you keep" : "",
            },
          )}
          ${select(
            "syncMode",
            "Sync mode",
            `default (${d.syncMode ?? "two-way"})`,
            (opts?.syncModes ?? []).map((m) => ({ value: m, label: m })),
            "with a sync directory",
            { disabled: group || !v.sync },
          )}
          <label class="span2"><span>Prompt</span><textarea name="prompt" rows="3"
            placeholder="optional: a task for the coding agent once the session is ready"
            value=${v.prompt ?? ""} onInput=${set("prompt")}></textarea></label>
        </div>
        ${err &&
          html`<div class="banner bad" id="start-error" role="alert">${err.message}${
            err.hint && html`<br /><small>${err.hint}</small>`
          }</div>`}
        <div class="buttons">
          <button type="button" onClick=${close}>Cancel</button>
          <button class="primary" type="submit" disabled=${busy}>${busy
            ? "Starting…"
            : group
            ? `Start ${v.replicas.trim()} replicas`
            : "Start"}</button>
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
