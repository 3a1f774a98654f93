// kodama agent check SESSION: one request of a check plan (src/agent/credentials/check.ts's checkPlan, JSON on stdin),
// sent from the session's pod with the pod's own variables, so its key never leaves the pod. Prints the
// probe (status, rate-limit headers, time to first token, output tokens) as one JSON line; never the key.
// Node 18 or later (its fetch). Usage: node check.js TIMEOUT_MS < plan.json
"use strict";

function facts(line) {
  if (!line.startsWith("data:")) return {};
  let d;
  try {
    d = JSON.parse(line.slice(5).trim());
  } catch {
    return {};
  }
  const out = {};
  if (d.type === "content_block_delta" || d.type === "response.output_text.delta") out.content = true;
  if (Array.isArray(d.candidates)) out.content = true;
  // Chat Completions: a chunk whose delta has text
  if (
    Array.isArray(d.choices) &&
    d.choices.some((c) => c && c.delta && typeof c.delta.content === "string" && c.delta.content)
  ) {
    out.content = true;
  }
  const usage = d.usage || (d.response && d.response.usage) || d.usageMetadata;
  const n = usage && (usage.output_tokens ?? usage.candidatesTokenCount ?? usage.completion_tokens);
  if (typeof n === "number" && n > 0) out.outputTokens = n;
  if (d.type === "error" || d.type === "response.failed") {
    const e = d.error || (d.response && d.response.error) || {};
    out.error = String(e.message || e.type || "error");
  }
  return out;
}

async function main() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  const plan = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  const timeoutMs = Number(process.argv[2]) || 30000;
  const env = process.env;
  // the provider's rate-limit headers (src/agent/credentials/providers.ts, by way of the plan)
  const rate = (Array.isArray(plan.rateHeaders) ? plan.rateHeaders : ["^retry-after$"]).map((r) =>
    new RegExp(r)
  );
  const baseUrl = (env[plan.baseVar] || plan.defaultBase).replace(/\/+$/, "");
  const way = plan.keys.find((k) => env[k.variable]);
  const probe = { baseUrl, headers: {} };
  if (!way) return probe;
  probe.keyVar = way.variable;
  const headers = Object.assign({}, plan.headers, way.extra || {});
  headers[way.header] = way.prefix + env[way.variable];
  if (typeof fetch !== "function") {
    probe.error = `node ${process.version} has no fetch (Node 18 or later is needed)`;
    return probe;
  }
  const t0 = performance.now();
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const res = await fetch(baseUrl + plan.path, {
      method: "POST",
      headers,
      body: JSON.stringify(plan.body),
      signal,
    });
    probe.status = res.status;
    res.headers.forEach((v, k) => {
      if (rate.some((r) => r.test(k))) probe.headers[k] = v;
    });
    if (!res.ok || !res.body) {
      probe.body = (await res.text()).slice(0, 2000);
      return probe;
    }
    let buf = "";
    const dec = new TextDecoder();
    for await (const chunk of res.body) {
      buf += dec.decode(chunk, { stream: true });
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const f = facts(buf.slice(0, nl).trim());
        buf = buf.slice(nl + 1);
        if (f.content && probe.firstTokenMs === undefined) probe.firstTokenMs = performance.now() - t0;
        if (f.outputTokens !== undefined) probe.outputTokens = f.outputTokens;
        if (f.error) probe.streamError = f.error;
      }
    }
    probe.doneMs = performance.now() - t0;
  } catch (e) {
    probe.error = signal.aborted ? `no answer in ${Math.round(timeoutMs / 1000)}s` : String(e && e.message);
  }
  return probe;
}

main().then(
  (p) => process.stdout.write(JSON.stringify(p) + "\n"),
  (e) => {
    process.stderr.write(`kodama check: ${e && e.message}\n`);
    process.exit(2);
  },
);
