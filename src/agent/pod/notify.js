// kodama: the webhook of an ended agent run, sent from the pod to the namespace's gateway, which relays it
// to the user's webhook (laptop closed or not). Run by runner.sh once the run's `exit` file is written:
// `node -e NOTIFY RUNDIR`, where NOTIFY is outcome.js (its `export`s dropped: classify, factsOf, needsInput,
// outcomeText) and then this file (agent.ts's NOTIFY_JS). Environment: KODAMA_NOTIFY_RELAY (the gateway's
// /_kodama/notify), KODAMA_NOTIFY_KEY (this session's own key: it signs for this session only, and only
// the relay trusts it), KODAMA_NOTIFY_TOKEN (the session's gateway token: which session sends),
// KODAMA_NOTIFY_ON (events to send, comma-separated; empty: all), KODAMA_SESSION, KODAMA_GROUP. The pod
// never holds the webhook's URL or the user's key (docs/security.md, "Notifications"). Nothing of them is
// printed: stdout gets one line (`sent 200`, `skipped: done is not in notify.on`, `failed: timeout`),
// which runner.sh keeps in RUNDIR/notify.
//
// POSTs {event, session, group, run, outcome, reason, filesChanged, commits, text} with the headers
// X-Kodama-Timestamp (Unix seconds) and X-Kodama-Signature: sha256=HEX, the HMAC-SHA256 of
// `TIMESTAMP.BODY` under the session's key. Best effort: at most two attempts (the second only after a
// network error or a 5xx, 3 s later), 10 s each; never more.
/* global classify, factsOf, needsInput, outcomeText */
"use strict";
const fs = require("node:fs");
const crypto = require("node:crypto");

/** The most of the log read: its end (where the agent's result and last words are). */
const LOG_TAIL = 4 * 1024 * 1024;
const ATTEMPT_MS = 10_000;

function readText(p, max = 65536) {
  try {
    const st = fs.statSync(p);
    const fd = fs.openSync(p, "r");
    try {
      const len = Math.min(st.size, max);
      const buf = Buffer.alloc(len);
      fs.readSync(fd, buf, 0, len, st.size - len);
      return buf.toString("utf8");
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return undefined;
  }
}

/** The run as the laptop would read it: how it ended, what it changed, its outcome. */
function endOf(run) {
  const exit = Number((readText(`${run}/exit`) ?? "").trim());
  const stopped = (readText(`${run}/stop-seen`) ?? "").trim() === "1";
  const endedBy = (readText(`${run}/ended-by`) ?? "").trim() || undefined;
  const git = (readText(`${run}/git`) ?? "").trim().split(/\s+/).map(Number);
  const commits = Number.isFinite(git[0]) ? git[0] : undefined;
  const filesChanged = Number.isFinite(git[1]) ? git[1] : undefined;
  const state = stopped ? "stopped" : exit === 0 ? "succeeded" : "failed";
  return { state, exitCode: Number.isFinite(exit) ? exit : undefined, endedBy, commits, filesChanged };
}

const NEEDS = {
  denied: "its tool uses were denied",
  budget: "its budget is spent",
  question: "it asks you something",
};

/** Slack's mrkdwn keeps `&`, `<` and `>` for its own markup: escaped, the text reads as written. */
const slack = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const oneLine = (s, max) => {
  // deno-lint-ignore no-control-regex
  const t = String(s).replace(/[\u0000-\u001f\u007f-\u009f]/g, " ").replace(/\s+/g, " ").trim();
  return t.length > max ? t.slice(0, max - 1) + "…" : t;
};

/** The event and its body, or undefined when the run's end is not announced (a stop; not in notify.on). */
function eventOf(run, env) {
  const end = endOf(run);
  const f = factsOf(readText(`${run}/log`, LOG_TAIL) ?? "");
  const changed = end.commits === 0 && end.filesChanged === 0 ? false : undefined;
  const o = classify(f, { ...end, changed, denied: f.denied });
  if (o.class === "running" || (o.class === "interrupted" && o.message.startsWith("stopped"))) {
    return undefined;
  }
  const needs = needsInput(f, o, { state: end.state, denied: f.denied });
  const event = needs
    ? "needs-input"
    : o.class === "succeeded" || o.class === "no-changes"
    ? "done"
    : "failed";
  const id = run.replace(/\/+$/, "").split("/").pop();
  const outcome = outcomeText(o, f);
  const reason = needs ?? (o.class === "succeeded" ? undefined : oneLine(o.message, 300));
  const work = [];
  if (end.filesChanged !== undefined) {
    work.push(`${end.filesChanged} file${end.filesChanged === 1 ? "" : "s"}`);
  }
  if (end.commits !== undefined) work.push(`${end.commits} commit${end.commits === 1 ? "" : "s"}`);
  const session = env.KODAMA_SESSION || "session";
  const what = needs
    ? `needs input: ${NEEDS[needs]} (${outcome}${work.length ? `; ${work.join(", ")}` : ""})`
    : `${outcome}${outcome === "failed" && reason ? `: ${reason}` : ""}${
      work.length ? ` (${work.join(", ")})` : ""
    }`;
  return {
    event,
    body: {
      event,
      session,
      group: env.KODAMA_GROUP || null,
      run: id,
      outcome,
      reason: reason ?? null,
      filesChanged: end.filesChanged ?? null,
      commits: end.commits ?? null,
      text: slack(oneLine(`kodama: ${session} run ${id} ${what}`, 400)),
    },
  };
}

function post(url, body, secret, token) {
  const ts = String(Math.floor(Date.now() / 1000));
  const sig = crypto.createHmac("sha256", secret).update(`${ts}.${body}`).digest("hex");
  const u = new URL(url);
  const lib = require(u.protocol === "https:" ? "node:https" : "node:http");
  return new Promise((resolve) => {
    const req = lib.request(u, {
      method: "POST",
      timeout: ATTEMPT_MS,
      headers: {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(body),
        "user-agent": "kodama-notify",
        "x-kodama-timestamp": ts,
        "x-kodama-signature": `sha256=${sig}`,
        authorization: `Bearer ${token}`,
      },
    }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (e) => resolve({ error: e.code || e.message }));
    req.end(body);
  });
}

async function main() {
  const run = process.argv[1];
  const env = process.env;
  const url = env.KODAMA_NOTIFY_RELAY, secret = env.KODAMA_NOTIFY_KEY, token = env.KODAMA_NOTIFY_TOKEN;
  if (!url || !/^https?:\/\//.test(url) || !secret || !token) return "skipped: no relay";
  const e = eventOf(run, env);
  if (!e) return "skipped: the run was stopped";
  const on = (env.KODAMA_NOTIFY_ON || "").split(",").filter(Boolean);
  if (on.length && !on.includes(e.event)) return `skipped: ${e.event} is not in notify.on`;
  const body = JSON.stringify(e.body);
  let r = await post(url, body, secret, token);
  if (r.error || r.status >= 500) {
    await new Promise((res) => setTimeout(res, 3000));
    r = await post(url, body, secret, token);
  }
  return r.error
    ? `failed: ${oneLine(r.error, 80)}`
    : r.status < 300
    ? `sent ${r.status}`
    : `failed: HTTP ${r.status}`;
}

main().then((s) => console.log(`${s}`), (e) => console.log(`failed: ${oneLine(e && e.message, 80)}`));
