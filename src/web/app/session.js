// One session: its terminal, agent runs with live logs, the diff of the agent's work, sync and conflicts.
import { html } from "./html.js";
import { useEffect, useRef, useState } from "preact/hooks";
import { age, get, post } from "./api.js";
import { LiveLog } from "./log.js";
import { Term } from "./terminal.js";
import { AgentCell, DeleteDialog, gatewayTitle, StatusPill, SyncCell, UsageCell } from "./sessions.js";

const TABS = [["terminal", "Terminal"], ["agent", "Agent"], ["diff", "Diff"], ["sync", "Sync"]];

export function SessionPage({ name, tab, session, go, onError, now }) {
  const [deleting, setDeleting] = useState(false);
  tab = TABS.some(([t]) => t === tab) ? tab : "terminal";
  if (!session) {
    return html`
      <section class="page">
        <div class="crumbs"><a href="#/sessions">Sessions</a> / ${name}</div>
        <div class="empty">Session ${name} is not in this namespace (any more).</div>
      </section>
    `;
  }
  const act = (verb, body) => post(`/api/sessions/${name}/${verb}`, body).catch(onError);
  const running = session.status === "Running";
  return html`<section class="page session">
    <div class="crumbs"><a href="#/sessions">Sessions</a> / <span>${name}</span></div>
    <div class="session-head">
      <h1>${name}</h1>
      <${StatusPill} status=${session.status} reason=${session.reason} />
      ${session.reason && html`<span class="reason">${session.reason}</span>`}
      <span class="spacer"></span>
      ${
    session.status === "Stopped"
      ? html`<button onClick=${() => act("resume")}>Resume</button>`
      : html`<button onClick=${() => act("stop")}>Stop</button>`
  }
      <button class="danger" onClick=${() => setDeleting(true)}>Delete</button>
    </div>
    <dl class="facts">
      ${
    session.group && html`
      <div>
        <dt>Group</dt>
        <dd><a href=${`#/groups/${session.group}`}>${session.group}</a>
              <span class="muted">· replica ${session.replica}</span></dd>
      </div>
    `
  }
      <div><dt>Branch</dt><dd class="mono">${session.branch ?? "—"}</dd></div>
      <div><dt>Agent</dt><dd><${AgentCell} agent=${session.agent} /></dd></div>
      ${
    session.gateway && html`
      <div>
        <dt>Gateway</dt>
        <dd id="session-usage">
          <${UsageCell} gateway=${session.gateway} />
        </dd>
      </div>
    `
  }
      <div><dt>Sync</dt><dd><${SyncCell} sync=${session.sync} /></dd></div>
      <div><dt>Image</dt><dd class="mono">${session.image ?? "—"}</dd></div>
      <div><dt>Resources</dt><dd>${session.cpu ?? "?"} CPU · ${session.memory ?? "?"}</dd></div>
      <div><dt>Repository</dt><dd class="mono" title=${session.repo ?? ""}>${session.repo ?? "—"}</dd></div>
      <div><dt>Pod</dt><dd class="mono" title=${
    session.pod ? `${session.pod}${session.node ? ` on ${session.node}` : ""}` : ""
  }>${session.pod ?? "—"}${session.node ? ` on ${session.node}` : ""}</dd></div>
      <div><dt>Age</dt><dd>${age(session.createdAt, now)}</dd></div>
    </dl>
    <nav class="tabs">${
    TABS.map(([t, label]) =>
      html`<a key=${t} class=${
        t === tab ? "active" : ""
      } data-tab=${t} href=${`#/sessions/${name}/${t}`}>${label}${
        t === "sync" && session.sync?.includes("conflict")
          ? html`
            <span class="badge warn">!</span>
          `
          : ""
      }</a>`
    )
  }</nav>
    <div class="tab-body">
      ${
    !running && tab !== "sync"
      ? html`<div class="empty">The session is ${session.status.toLowerCase()}: ${
        session.status === "Stopped"
          ? "resume it to use its terminal, agent and diff."
          : "wait until it is running."
      }</div>`
      : tab === "terminal"
      ? html`<${Term} path=${`/api/sessions/${name}/terminal`} label=${`${name}: shell in the workspace`} />`
      : tab === "agent"
      ? html`<${AgentTab} name=${name} agent=${session.agent} gateway=${session.gateway} onError=${onError} />`
      : tab === "diff"
      ? html`<${DiffTab} name=${name} agent=${session.agent} onError=${onError} />`
      : html`<${SyncTab} name=${name} sync=${session.sync} onError=${onError} />`
  }
    </div>
    ${
    deleting && html`
      <${DeleteDialog} name=${name} close=${() => setDeleting(false)} onError=${onError}
        after=${() => go("#/sessions")} />
    `
  }
  </section>`;
}

function AgentTab({ name, agent, gateway, onError }) {
  const [runs, setRuns] = useState(null);
  const [sel, setSel] = useState(null);
  const [prompt, setPrompt] = useState("");
  const [busy, setBusy] = useState(false);
  const key = agent ? `${agent.run}:${agent.state}` : "";
  useEffect(() => {
    get(`/api/sessions/${name}/runs`).then((r) => {
      setRuns(r);
      if (r.length && (sel === null || !r.some((x) => x.id === sel))) setSel(r.at(-1).id);
    }).catch(onError);
  }, [name, key]);
  const run = async (e) => {
    e.preventDefault();
    setBusy(true);
    try {
      const r = await post(`/api/sessions/${name}/agent`, { prompt });
      setPrompt("");
      setSel(r.run);
      setRuns(await get(`/api/sessions/${name}/runs`));
    } catch (x) {
      onError(x);
    }
    setBusy(false);
  };
  const latest = runs?.at(-1);
  // a run the list still says is running is read again every 2 s until it ends: the session's agent state
  // (the key above) can change before the pod's run files do, and the table then kept "running" for good.
  // A read that fails (a cut exec on a loaded cluster) is tried again: the poll must not end with it.
  const live = latest?.state === "running";
  const [misses, setMisses] = useState(0);
  useEffect(() => {
    if (!live) return;
    let gone = false;
    const t = setTimeout(
      () =>
        get(`/api/sessions/${name}/runs`).then((r) => gone || setRuns(r)).catch(() =>
          gone || setMisses((n) => n + 1)
        ),
      2000,
    );
    return () => {
      gone = true;
      clearTimeout(t);
    };
  }, [name, live, runs, misses]);
  const reload = async (id) => {
    // a run just started (continue, retry, a message after the end) may not be listed at the first read
    // on a loaded machine: read again until it is (else the tab showed the ended run, Interrupt disabled)
    let r = await get(`/api/sessions/${name}/runs`);
    for (let i = 0; id && !r.some((x) => String(x.id) === String(id)) && i < 40; i++) {
      await new Promise((ok) => setTimeout(ok, 250));
      r = await get(`/api/sessions/${name}/runs`);
    }
    setRuns(r);
    if (id) setSel(id);
  };
  return html`
    <div class="agent-tab">
      <div class="runs">
          <form class="prompt" onSubmit=${run}>
            <textarea id="agent-prompt" rows="3" placeholder="A task for the coding agent" value=${prompt}
              onInput=${(e) => setPrompt(e.target.value)}></textarea>
            <button class="primary" id="run-agent" disabled=${busy || !prompt.trim()}>Run agent</button>
          </form>
          ${latest && html`<${Steer} name=${name} latest=${latest} onDone=${reload} onError=${onError} />`}
          ${gateway && html`<${GatewayUsage} gateway=${gateway} />`}
          <table class="grid runs-grid" id="runs-table">
            <thead><tr><th class="run-id">Run</th><th>State</th><th class="num wide">Exit</th><th class="num started">Started</th></tr></thead>
            <tbody>${(runs ?? []).slice().reverse().map((r) =>
              html`
                <tr key=${r.id} class=${r.id === sel ? "selected" : ""} onClick=${() => setSel(r.id)}>
                  <td class="run-id">${r.id}</td>
                  <td class="run-state">
                    <span class=${`agent a-${r.state}`} title=${(r.notes ?? []).join(
                      "\n",
                    )}>${r.outcome?.text ??
                      r.state}</span>${r.notes?.length
                      ? html`<div class="run-reason muted small">${r.notes.join("; ")}</div>`
                      : ""}
                  </td>
                  <td class="num wide">${r.exitCode ?? "—"}</td>
                  <td class="num muted started" title=${r.startedAt ?? ""}>${r.startedAt
                    ? age(r.startedAt) + " ago"
                    : "—"}</td>
                </tr>
              `
            )}</tbody>
          </table>
          ${runs && runs.length === 0 && html`<div class="empty small">No agent runs yet.</div>`}
        </div>
      <div class="log-pane">${sel
        ? html`<${LiveLog} key=${sel} path=${`/api/sessions/${name}/runs/${sel}/log`} title=${`Run ${sel}`} id="run-log" />`
        : ""}</div>
    </div>
  `;
}

/**
 * Talk to the latest run (issue 65): a message (into the running conversation, its next turn, or a
 * --continue run when it has ended), Interrupt (the turn ends, the conversation is kept), Continue (the
 * same conversation goes on) and Retry (the latest run's prompt again, a new conversation).
 */
function Steer({ name, latest, onDone, onError }) {
  const [msg, setMsg] = useState("");
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState("");
  const running = latest.state === "running";
  const act = async (verb, body, words) => {
    setBusy(true);
    try {
      const r = await post(`/api/sessions/${name}/${verb}`, body);
      if (verb === "say") setMsg("");
      setNote(words(r));
      await onDone(
        r.how === "started" || verb === "continue" || verb === "retry" ? r.run ?? undefined : undefined,
      );
    } catch (x) {
      onError(x);
    }
    setBusy(false);
  };
  const say = (e) => {
    e.preventDefault();
    act("say", { message: msg }, (r) => r.message);
  };
  return html`
    <div class="steer" id="agent-steer">
      <form class="say" onSubmit=${say}>
        <textarea id="agent-say" rows="2" maxlength="65536" value=${msg} onInput=${(e) =>
          setMsg(e.target.value)}
          placeholder=${running
            ? `Say something to run ${latest.id} while it runs`
            : `A message: continues run ${latest.id}'s conversation`}></textarea>
        <button id="say-agent" disabled=${busy || !msg.trim()}>Send</button>
      </form>
      <div class="steer-buttons">
        <button id="interrupt-agent" disabled=${busy ||
          !running} title="End the current turn; the conversation is kept"
          onClick=${() =>
            act(
              "interrupt",
              {},
              (r) =>
                r.interrupted
                  ? `run ${r.run} interrupted: its conversation is kept`
                  : `run ${r.run} had already ended`,
            )}>
          Interrupt</button>
        <button id="continue-agent" disabled=${busy ||
          running} title="Go on with the latest conversation (agent run --continue)"
          onClick=${() =>
            act("continue", {}, (r) => `run ${r.run} continues run ${latest.id}'s conversation`)}>
          Continue</button>
        <button id="continue-from-pr" disabled=${busy ||
          running} title="Go on with the latest conversation, given the pull request's unresolved review threads and failed checks' logs (agent run --from-pr)"
          onClick=${() => act("continue", { fromPr: true }, (r) => r.message)}>
          From PR</button>
        <button id="retry-agent" disabled=${busy ||
          running} title="Run the latest run's prompt again, a new conversation"
          onClick=${() =>
            act("retry", {}, (r) => `run ${r.run}: run ${latest.id}'s prompt again`)}>Retry</button>
      </div>
      ${note && html`<div class="muted small" id="steer-note">${note}</div>`}
    </div>
  `;
}

function DiffTab({ name, agent, onError }) {
  const [d, setD] = useState(null);
  const [gen, setGen] = useState(0);
  const [draft, setDraft] = useState(false);
  const key = agent ? `${agent.run}:${agent.state}` : "";
  useEffect(() => {
    get(`/api/sessions/${name}/diff`).then(setD).catch(onError);
  }, [name, key, gen]);
  return html`<div class="diff-tab">
    <div class="toolbar sub">
      <span class="muted">The agent's work since the clone (<code>git diff</code> of the recorded base against HEAD).</span>
      <span class="spacer"></span>
      <button onClick=${() => setGen(gen + 1)}>Refresh</button>
      <button class="primary" id="fetch" onClick=${() => post(`/api/sessions/${name}/fetch`).catch(onError)}
        title="kodama session fetch: the pod's commits onto branch kodama/NAME of the local repository">Fetch into local repo</button>
      <button class="primary" id="land" onClick=${() => post(`/api/sessions/${name}/land`).catch(onError)}
        title="kodama session land: the session's commits onto the current branch (sync paused meanwhile; a merge is sent back to the pod)">Land on current branch</button>
      <label class="small" title="open the pull request as a draft"><input type="checkbox" id="pr-draft"
        checked=${draft} onChange=${(e) => setDraft(e.currentTarget.checked)} /> draft</label>
      <button class="primary" id="open-pr" onClick=${() =>
    post(`/api/sessions/${name}/pr`, { draft }).catch(onError)}
        title="kodama session pr: push kodama/NAME to the local repository's forge (one named in forge.hosts) and open or update its pull request">Open pull request</button>
    </div>
    ${d === null ? html`<div class="empty small">Loading…</div>` : ""}
    ${d && !d.diff && html`<div class="empty small">${d.note ?? "No changes since the clone."}</div>`}
    <${DiffView} diff=${d?.diff} id="diff" />
  </div>`;
}

/** A unified diff drawn per file with syntax highlighting (diff2html). */
export function DiffView({ diff, id }) {
  const box = useRef(null);
  useEffect(() => {
    if (!box.current) return;
    box.current.textContent = "";
    if (!diff) return;
    // diff2html and highlight.js are a chunk of their own (./diff.js), loaded when a diff is first drawn
    let gone = false;
    import("./diff.js").then(({ drawDiff }) => {
      if (!gone && box.current) drawDiff(box.current, diff);
    }).catch(() => {
      if (!gone && box.current) box.current.textContent = "The diff viewer did not load: reload the page.";
    });
    return () => {
      gone = true;
    };
  }, [diff]);
  return html`<div class="diff" ref=${box} id=${id}></div>`;
}

function SyncTab({ name, sync, onError }) {
  const [d, setD] = useState(null);
  useEffect(() => {
    get(`/api/sessions/${name}/sync`).then(setD).catch(onError);
  }, [name, sync]);
  if (!d) return html`<div class="empty small">Loading…</div>`;
  if (!d.synced) {
    return html`<div class="empty">This session is not synced from this machine. Start a sync with
      <code>kodama sync start ${name} PATH</code>, or start a session with a sync directory.</div>`;
  }
  // several repositories: each syncs on its own (docs/sync.md "Several repositories")
  if (d.repos) {
    return html`<div class="sync-repos">${
      d.repos.map((r) =>
        html`
          <section key=${r.repo} data-repo=${r.repo}>
            <h3>Repository <span class="mono">${r.repo}</span></h3>
            <${SyncUnit} name=${name} repo=${r.repo} d=${r} onError=${onError} />
          </section>
        `
      )
    }</div>`;
  }
  return html`<${SyncUnit} name=${name} d=${d} onError=${onError} />`;
}

/** One sync's facts and conflicts: the session's, or one repository's (`repo`). */
function SyncUnit({ name, repo, d, onError }) {
  const [open, setOpen] = useState(null);
  const st = d.status;
  const conflicts = st.conflicts ?? [];
  const resolve = (path, keep) =>
    post(`/api/sessions/${name}/resolve`, { paths: [path], keep, ...(repo ? { repo } : {}) })
      .then(() => setOpen(null)).catch(onError);
  return html`<div class="sync-tab">
    <dl class="facts">
      <div><dt>State</dt><dd><${SyncCell} sync=${st.column} /> ${
    st.lastError && html`<span class="bad">${st.lastError}</span>`
  }</dd></div>
      <div><dt>Local</dt><dd class="mono" title=${d.root}>${d.root}</dd></div>
      <div><dt>Pod</dt><dd class="mono" title=${d.workdir}>${d.workdir}</dd></div>
      <div><dt>Mode</dt><dd>${d.mode}</dd></div>
      <div><dt>Pending</dt><dd>${st.pendingToPod ?? st.pending ?? 0} to the pod · ${
    st.pendingToLocal ?? 0
  } from the pod</dd></div>
      <div><dt>Last sync</dt><dd>${st.lastSync ? age(st.lastSync) + " ago" : "never"}</dd></div>
    </dl>
    <h3>Conflicts <span class="count">${conflicts.length}</span></h3>
    ${
    conflicts.length === 0 ? html`<div class="empty small" id="no-conflicts">No conflicts.</div>` : html`
      <table class="grid conflicts">
        <thead>
          <tr>
            <th>Path</th>
            <th>Why</th>
            <th>Here</th>
            <th>Pod</th>
            <th></th>
          </tr>
        </thead>
        <tbody>${conflicts.map((c) =>
          html`
            <tr key=${c.path} data-conflict=${c.path}>
              <td class="mono">${c.path}</td>
              <td class="muted">${c.why}</td>
              <td>${c.local ? `${c.local.kind} ${c.local.size} B` : "deleted"}</td>
              <td>${c.pod ? `${c.pod.kind} ${c.pod.size} B` : "deleted"}</td>
              <td class="actions"><button class="small" onClick=${() =>
                setOpen(c.path)}>View both</button></td>
            </tr>
          `
        )}</tbody>
      </table>
    `
  }
    ${
    open && html`
      <${ConflictView} name=${name} repo=${repo} path=${open} close=${() => setOpen(null)} resolve=${resolve}
        onError=${onError} />
    `
  }
  </div>`;
}

function ConflictView({ name, repo, path, close, resolve, onError }) {
  const [v, setV] = useState(null);
  useEffect(() => {
    const r = repo ? `&repo=${encodeURIComponent(repo)}` : "";
    get(`/api/sessions/${name}/sync?path=${encodeURIComponent(path)}${r}`).then(setV).catch(onError);
  }, [name, repo, path]);
  return html`
    <div class="modal-back" onClick=${(e) => e.target === e.currentTarget && close()}>
      <div class="modal wide" id="conflict-view">
        <h2>Conflict: <span class="mono">${path}</span></h2>
        <div class="both">
          <div>
            <h4>Here (local)</h4>
            <pre class="version" id="local-version">${v ? v.local ?? "(deleted)" : "Loading…"}</pre>
          </div>
          <div>
            <h4>In the pod</h4>
            <pre class="version" id="pod-version">${v ? v.pod ?? "(deleted)" : "Loading…"}</pre>
          </div>
        </div>
        <div class="buttons">
          <button type="button" onClick=${close}>Cancel</button>
          <button id="keep-local" onClick=${() => resolve(path, "local")}>Keep local</button>
          <button id="keep-pod" onClick=${() => resolve(path, "pod")}>Keep pod</button>
        </div>
      </div>
    </div>
  `;
}

/** The agent tab's line of the gateway's count: tokens and cost it metered, requests, and the budget left. */
function GatewayUsage({ gateway: g }) {
  const money = (v) => (v === null ? "unknown" : `$${v.toFixed(2)}`);
  return html`<div class="gateway-usage small" id="gateway-usage" title=${gatewayTitle(g)}>
    <span class="muted">Gateway:</span> ${g.text} · ${g.requests} request${g.requests === 1 ? "" : "s"}${
    g.denied ? ` · ${g.denied} denied` : ""
  }${g.budgetUsd !== null ? ` · budget ${money(g.budgetUsd)}, ${money(g.budgetLeftUsd)} left` : ""}
  </div>`;
}
