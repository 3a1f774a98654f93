// kodama agent check: one request of a check plan (src/agent/credentials/check.ts's checkPlan), sent with
// given variables. One file for both places it is sent from: this machine (check.ts imports sendPlan) and a
// session's pod (credentials/checkrun.ts runs it, its `export`s dropped, before pod/checkmain.js, with the
// pod's own variables, so its key never leaves the pod). Never prints the key. Node 18 or later (its fetch).

/**
 * A stream's content and usage, from its SSE `data:` lines (the APIs' shapes).
 * @param {string} line
 * @returns {{ content?: boolean, outputTokens?: number, error?: string }}
 */
export function sseFacts(line) {
  if (!line.startsWith("data:")) return {};
  /** @type {any} */
  let d;
  try {
    d = JSON.parse(line.slice(5).trim());
  } catch {
    return {};
  }
  /** @type {{ content?: boolean, outputTokens?: number, error?: string }} */
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

/**
 * Whether a response header states a rate limit: the plan's provider's (src/agent/credentials/providers.ts,
 * by way of the plan), and retry-after.
 * @param {{ rateHeaders?: string[] }} plan
 * @returns {(header: string) => boolean}
 */
export function rateHeaders(plan) {
  const res = (Array.isArray(plan.rateHeaders) ? plan.rateHeaders : ["^retry-after$"]).map((r) =>
    new RegExp(r)
  );
  return (h) => res.some((r) => r.test(h));
}

/**
 * Send a check plan with `env`'s variables (the key never leaves this function but in the request); the
 * probe: status, rate-limit headers, time to the first token and to the end, output tokens, an error.
 * @param {{ baseVar: string, defaultBase: string, path: string, keys: { variable: string, header: string, prefix: string, extra?: Record<string, string> }[], headers: Record<string, string>, body: unknown, rateHeaders?: string[] }} plan
 * @param {Record<string, string | undefined>} env
 * @param {number} timeoutMs
 */
export async function sendPlan(plan, env, timeoutMs) {
  const rate = rateHeaders(plan);
  const baseUrl = (env[plan.baseVar] || plan.defaultBase).replace(/\/+$/, "");
  const way = plan.keys.find((k) => env[k.variable]);
  /** @type {Record<string, any>} */
  const probe = { baseUrl, headers: {} };
  if (!way) return probe;
  probe.keyVar = way.variable;
  const headers = Object.assign({}, plan.headers, way.extra || {});
  headers[way.header] = way.prefix + /** @type {string} */ (env[way.variable]);
  if (typeof fetch !== "function") {
    probe.error = "this Node has no fetch (Node 18 or later is needed)";
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
      if (rate(k)) probe.headers[k] = v;
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
        const f = sseFacts(buf.slice(0, nl).trim());
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
