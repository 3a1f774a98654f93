// The workflows page: discovered workflows with their parameters, a run with live step output, and the
// trust question as a dialog that lists what the workflow may touch (nothing runs until it is confirmed).
import { html } from "./html.js";
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, call, get } from "./api.js";

/** A description as its author wrote it: `code` spans drawn as code, the rest as text. */
function Prose({ text }) {
  return (text ?? "").split("`").map((part, i) => (i % 2 ? html`<code>${part}</code>` : part));
}

export function WorkflowsPage({ onError, ops, showOp }) {
  const [list, setList] = useState(null);
  const [sel, setSel] = useState(null);
  useEffect(() => {
    get("/api/workflows").then((l) => {
      setList(l);
      setSel((s) => s ?? l.find((w) => !w.shadowedBy)?.name ?? null);
    }).catch(onError);
  }, []);
  if (!list) {
    return html`
      <section class="page">
        <h1>Workflows</h1>
        <div class="empty small">Loading…</div>
      </section>
    `;
  }
  const wf = list.find((w) => w.name === sel && !w.shadowedBy);
  return html`
    <section class="page workflows">
      <div class="toolbar">
        <h1>Workflows <span class="count">${list.length}</span></h1>
      </div>
      <div class="wf-grid">
          <div class="wf-list">${list.map((w) =>
            html`
              <button key=${w.name + w.source} class=${`wf-item ${
                w.name === sel && !w.shadowedBy ? "selected" : ""
              }`}
                data-workflow=${w.name} disabled=${!!w.shadowedBy} onClick=${() => setSel(w.name)}>
                      <strong>${w.name}</strong><span class="tag">${w.source}</span>${w.asksPermissions
                        ? html`<span class="tag warn">permissions</span>`
                        : ""}${w.shadowedBy ? html`<span class="tag">shadowed by ${w.shadowedBy}</span>` : ""}
                      <div class="desc">${w.error
                        ? html`<span class="bad">${w.error}</span>`
                        : html`<${Prose} text=${w.description} />`}</div>
                    </button>
            `
          )}</div>
          ${wf
            ? html`<${WorkflowRun} key=${wf.name} wf=${wf} onError=${onError} ops=${ops} showOp=${showOp} />`
            : html`<div></div>`}
        </div>
    </section>
  `;
}

function WorkflowRun({ wf, onError, ops, showOp }) {
  const [params, setParams] = useState({});
  const [opId, setOpId] = useState(null);
  const [trust, setTrust] = useState(null);
  const out = useRef(null);
  const op = ops.find((o) => o.id === opId);
  const run = async (trustedSha) => {
    setTrust(null);
    try {
      const r = await call("POST", `/api/workflows/${encodeURIComponent(wf.name)}/run`, {
        params,
        trustedSha,
      });
      setOpId(r.op);
    } catch (e) {
      if (e instanceof ApiError && e.status === 409 && e.data?.trust) setTrust(e.data.trust);
      else onError(e);
    }
  };
  // its output is here: the dock leaves it out
  useEffect(() => {
    showOp?.(opId);
    return () => showOp?.(null);
  }, [opId]);
  useEffect(() => {
    if (out.current) out.current.scrollTop = out.current.scrollHeight;
  }, [op?.text]);
  return html`<div class="wf-detail" id="workflow-detail">
    <h2>${wf.name}</h2>
    <div class="muted"><${Prose} text=${wf.description} /></div>
    <div class="muted small mono">${wf.file}</div>
    ${
    wf.params.length > 0 && html`<div class="params">${
      wf.params.map((p) =>
        html`<label key=${p.name}><span>${p.name}${p.required ? " *" : ""}</span>${
          p.values
            ? html`<select name=${p.name} value=${params[p.name] ?? String(p.default ?? "")} onChange=${(e) =>
              setParams({ ...params, [p.name]: e.target.value })}>${
              p.values.map((v) => html`<option value=${v}>${v}</option>`)
            }</select>`
            : html`
              <input name=${p.name} placeholder=${p.default !== undefined ? String(p.default) : ""}
                value=${params[p.name] ?? ""} onInput=${(e) =>
                  setParams({ ...params, [p.name]: e.target.value })} />
            `
        }${p.description && html`<small>${p.description}</small>`}</label>`
      )
    }</div>`
  }
    <div class="muted small">Steps: ${wf.steps.map((s) => `${s.id || s.name} (${s.kind})`).join(" → ")}</div>
    <div class="buttons"><button class="primary" id="run-workflow" onClick=${() => run()}
      disabled=${op && !op.done}>${op && !op.done ? "Running…" : "Run"}</button></div>
    ${
    op && html`
      <div class="log run-out">
        <div class="log-head">Run <span class="muted">${op.done
          ? (op.code === 0 ? "succeeded" : `failed (exit ${op.code})`)
          : "running…"}</span></div>
        <pre ref=${out} id="workflow-output">${op.text}${op.error ? `\n${op.error}` : ""}</pre>
      </div>
    `
  }
    ${
    trust && html`<${TrustDialog} name=${wf.name} q=${trust} cancel=${() =>
      setTrust(null)} accept=${() =>
      run(trust.sha256)} />`
  }
  </div>`;
}

function TrustDialog({ name, q, cancel, accept }) {
  return html`
    <div class="modal-back" onClick=${(e) => e.target === e.currentTarget && cancel()}>
      <div class="modal trust" id="trust-dialog" role="alertdialog">
        <h2>Trust workflow ${name}?</h2>
        <p>It is not trusted in this version. Before it runs, read what it may touch on this machine:</p>
        <pre id="trust-lines">${q.lines.join("\n")}</pre>
        <p class="muted small">${`Trusting pins this exact content (sha256 ${
          q.sha256.slice(0, 12)
        }…), as `}<code
        >kodama run ${name} --trust</code>${" would; a changed file asks again."}</p>
        <div class="buttons">
          <button id="trust-cancel" onClick=${cancel}>Cancel</button>
          <button class="danger" id="trust-accept" onClick=${accept}>${q.question.replace(/\?$/, "")}</button>
        </div>
      </div>
    </div>
  `;
}
