// A group of replicas (`kodama start NAME --replicas N`) side by side: the rows `kodama compare` prints (agent
// state and duration, commits, diffstat, check and its tail, summary), each replica's diff, Adopt (as
// `kodama adopt NAME-i`), Continue the failed replicas (as `kodama agent run NAME --continue`) and Delete
// group keeping one (as `kodama delete NAME --group --keep NAME-i`).
import { html } from "./html.js";
import { useEffect, useState } from "preact/hooks";
import { get, post } from "./api.js";
import { StatusPill } from "./sessions.js";
import { DiffView } from "./session.js";

/** `42s`, `3m 5s`, `1h 2m`: an agent's duration. */
export function duration(sec) {
  if (sec === undefined || sec === null) return "";
  const s = Math.max(0, Math.floor(sec));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

/** What changes the comparison: a replica's state or its latest run (both pushed with the session list). */
const membersKey = (members) =>
  members.map((s) => `${s.name}:${s.status}:${s.agent?.run ?? ""}:${s.agent?.state ?? ""}`).join("|");

export function GroupPage({ name, sessions, go, onError, now }) {
  const members = sessions.filter((s) => s.group === name).sort((a, b) => a.replica - b.replica);
  const [data, setData] = useState(null);
  const [at, setAt] = useState(0);
  const [gen, setGen] = useState(0);
  const [diffOf, setDiffOf] = useState(null);
  const [deleting, setDeleting] = useState(undefined);
  const key = membersKey(members);
  useEffect(() => {
    if (!members.length) return;
    let live = true;
    get(`/api/groups/${name}`).then((d) => {
      if (!live) return;
      setData(d);
      setAt(Date.now());
    }).catch((e) => live && onError(e));
    return () => (live = false);
  }, [name, key, gen]);
  if (!members.length) {
    return html`
      <section class="page">
        <div class="crumbs"><a href="#/sessions">Sessions</a> / group ${name}</div>
        <div class="empty">Group ${name} has no replicas in this namespace (any more). Start one with
              <code>kodama start ${name} --replicas N --prompt TEXT</code>.</div>
      </section>
    `;
  }
  const rows = data?.items ?? members.map((s) => ({ name: s.name, replica: s.replica, status: s.status }));
  const adopt = (n) => post(`/api/sessions/${n}/adopt`).catch(onError);
  const running = rows.filter((r) => r.agent?.state === "running" || r.agent?.state === "checking").length;
  const passed = rows.filter((r) => r.check?.state === "passed").length;
  // replicas whose latest run failed or was interrupted: Continue picks up each one's conversation
  const failed = rows.filter((r) => r.agent?.state === "failed" || r.agent?.state === "interrupted");
  const cont = () => post(`/api/groups/${name}/continue`).then(() => setGen(gen + 1)).catch(onError);
  return html`<section class="page group">
    <div class="crumbs"><a href="#/sessions">Sessions</a> / group <span>${name}</span></div>
    <div class="session-head">
      <h1>${name}</h1>
      <span class="count">${members.length} replica${members.length === 1 ? "" : "s"}</span>
      <span class="muted">${
    running ? `${running} agent${running === 1 ? "" : "s"} running` : "all agents ended"
  }${rows.some((r) => r.check) ? ` · ${passed} check${passed === 1 ? "" : "s"} passed` : ""}</span>
      <span class="spacer"></span>
      <button onClick=${() => setGen(gen + 1)} title="Read every replica again">Refresh</button>
      ${
    failed.length > 0 && html`
      <button class="primary" id="continue-group" onClick=${cont}
        title=${`kodama agent run ${name} --continue: ${
          failed.map((r) => r.name).join(", ")
        }`}>Continue ${failed.length} failed</button>
    `
  }
      <button class="danger" id="delete-group" onClick=${() => setDeleting(null)}>Delete group…</button>
    </div>
    <div class="replicas" style=${`grid-template-columns: repeat(${rows.length}, minmax(250px, 1fr))`}>
      ${
    rows.map((r) =>
      html`
        <${ReplicaCard} key=${r.name} r=${r} since=${now - at} selected=${diffOf === r.name}
          showDiff=${() => setDiffOf(diffOf === r.name ? null : r.name)} adopt=${() => adopt(r.name)}
          keep=${() => setDeleting(r.name)} />
      `
    )
  }
    </div>
    ${diffOf && html`<${ReplicaDiff} key=${diffOf + key} name=${diffOf} onError=${onError} />`}
    ${
    deleting !== undefined && html`
      <${GroupDeleteDialog} group=${name} members=${members.map((s) => s.name)}
        keep=${deleting} close=${() => setDeleting(undefined)} onError=${onError}
        after=${(kept) => go(kept ? `#/sessions/${kept}` : "#/sessions")} />
    `
  }
  </section>`;
}

function agentText(r) {
  if (!r.agent) return r.status === "Running" ? "no run" : r.status.toLowerCase();
  const a = r.agent;
  // the outcome in words (src/agent/outcome/outcome.ts): `failed: overloaded (retryable)`, `running (429, retry 3/10
  // in 15s)`, `succeeded (no changes)`, with notes (`denied: 2 tool uses`)
  const text = r.outcome?.text ?? a.state;
  if (text === "failed" && a.exitCode !== undefined) return `failed (${a.exitCode})`;
  return [text, ...(r.notes ?? [])].join("; ");
}

function ReplicaCard({ r, since, selected, showDiff, adopt, keep }) {
  const a = r.agent;
  const live = a && (a.state === "running" || a.state === "checking");
  const secs = a?.durationSeconds !== undefined ? a.durationSeconds + (live ? since / 1000 : 0) : undefined;
  const c = r.check;
  const ds = r.diffstat;
  const running = r.status === "Running";
  return html`<article class=${`replica ${
    c?.state === "passed" ? "passed" : c?.state === "failed" ? "failed" : ""
  } ${selected ? "selected" : ""}`} data-replica=${r.name}>
    <div class="replica-head">
      <a class="name mono" href=${`#/sessions/${r.name}`}>${r.name}</a>
      ${
    r.rank !== undefined && html`
      <span class="rank" data-field="rank"
        title=${r.movedSinceJudged ? "it has new commits since it was judged" : "the judge's rank"}>#${r
          .rank}${r.movedSinceJudged ? "*" : ""}</span>
    `
  }
      <${StatusPill} status=${r.status} />
    </div>
    ${r.reason && html`<div class="reason muted" data-field="reason">Judge: ${r.reason}</div>`}
    <dl class="kv">
      <dt>Agent</dt><dd data-field="agent"><span class=${`agent a-${a?.state ?? "none"}`}>${
    agentText(r)
  }</span>${secs !== undefined ? html`<span class="muted">${` · ${duration(secs)}`}</span>` : ""}</dd>
      <dt>Commits</dt><dd data-field="commits">${r.commits ?? "—"}${
    r.uncommitted
      ? html`<span class="warn" title="adopt brings commits only">${` +${r.uncommitted} uncommitted`}</span>`
      : ""
  }</dd>
      <dt>Diff</dt><dd data-field="diffstat">${
    ds
      ? html`${ds.files} file${
        ds.files === 1 ? "" : "s"
      } <span class="ins">+${ds.insertions}</span> <span class="del">−${ds.deletions}</span>`
      : "—"
  }</dd>
      <dt>Check</dt><dd data-field="check">${
    c
      ? html`<span class=${`chk c-${c.state}`}>${c.state}${
        c.state === "failed" && c.exitCode !== undefined ? ` (${c.exitCode})` : ""
      }</span>`
      : html`<span class="muted">none</span>`
  }</dd>
    </dl>
    ${
    ds && ds.paths.length > 0 && html`<ul class="paths mono">${
      ds.paths.slice(0, 6).map((p) => html`<li key=${p}>${p}</li>`)
    }${ds.paths.length > 6 ? html`<li class="muted">… ${ds.paths.length - 6} more</li>` : ""}</ul>`
  }
    ${
    c?.tail && html`
      <div class="tail-label muted">check output</div>
      <pre class="tail">${c.tail}</pre>
    `
  }
    ${
    r.summary && html`
      <div class="tail-label muted">summary</div>
      <pre class="summary">${r.summary}</pre>
    `
  }
    ${r.error && html`<div class="banner bad">${r.error}</div>`}
    <span class="spacer"></span>
    <div class="replica-actions">
      <button class=${`small ${selected ? "on" : ""}`} data-action="diff" disabled=${!running}
        onClick=${showDiff}>${selected ? "Hide diff" : "Diff"}</button>
      <button class="small primary" data-action="adopt" disabled=${!running}
        title=${`kodama adopt ${r.name}: its branch into the local repository as kodama/GROUP`} onClick=${adopt}>Adopt</button>
      <button class="small danger" data-action="keep" onClick=${keep}
        title="Delete the other replicas, keep this one">Keep only this…</button>
    </div>
  </article>`;
}

function ReplicaDiff({ name, onError }) {
  const [d, setD] = useState(null);
  useEffect(() => {
    get(`/api/sessions/${name}/diff`).then(setD).catch(onError);
  }, [name]);
  return html`<div class="replica-diff">
    <h3>Diff of <span class="mono">${name}</span> <span class="muted small">since its clone</span></h3>
    ${d === null ? html`<div class="empty small">Loading…</div>` : ""}
    ${d && !d.diff && html`<div class="empty small">${d.note ?? "No changes since the clone."}</div>`}
    <${DiffView} diff=${d?.diff} id="group-diff" />
  </div>`;
}

function GroupDeleteDialog({ group, members, keep: initial, close, onError, after }) {
  const [keep, setKeep] = useState(initial ?? "");
  const [purge, setPurge] = useState(false);
  const going = members.filter((m) => m !== keep);
  const go = async () => {
    try {
      await post(`/api/groups/${group}/delete`, { keep: keep ? [keep] : [], purge });
      close();
      after?.(keep);
    } catch (e) {
      onError(e);
    }
  };
  return html`
    <div class="modal-back" onClick=${(e) => e.target === e.currentTarget && close()}>
      <div class="modal narrow" id="group-delete-dialog">
        <h2>Delete ${going.length} session${going.length === 1 ? "" : "s"} of group ${group}?</h2>
        <p>${going.join(", ")} ${going.length === 1 ? "goes" : "go"}: pod, env Secret and ConfigMap. ${purge
          ? html`<strong class="bad">Their volumes are deleted too: their workspaces are lost.</strong>`
          : "Their volumes are kept."}</p>
        <label class="check">Keep <select name="keep" value=${keep} onChange=${(e) =>
          setKeep(e.target.value)}>
          <option value="">none (delete the whole group)</option>
          ${members.map((m) => html`<option key=${m} value=${m}>${m}</option>`)}
        </select></label>
        <label
          class="check"><input type="checkbox" name="purge" checked=${purge} onChange=${(e) =>
            setPurge(e.target.checked)} /> Also delete their volumes (purge)</label>
        <p class="muted small">As <code>kodama delete ${group} --group${keep ? ` --keep ${keep}` : ""}${purge
          ? " --purge"
          : ""}</code>.</p>
        <div class="buttons">
          <button type="button" onClick=${close}>Cancel</button>
          <button class="danger" id="confirm-group-delete"
            onClick=${go}>Delete ${going.length}${keep ? `, keep ${keep}` : ""}</button>
        </div>
      </div>
    </div>
  `;
}
