/**
 * Goodput under a shared rate limit (issue 62): N replicas of a task needing k model requests each, against
 * the Anthropic stand-in admitting R requests per window (a real sliding window shared by every caller).
 * Each replica is kodama's real pod runner (pod/runner.sh + pod/runner.js, as a pod runs them, here as local
 * processes) driving a small agent that behaves like a CLI with a small retry budget: it keeps its
 * conversation (the requests answered so far) in its workspace, retries a 429 once after `retry-after`, and
 * then ends with Claude Code's error result (`api_error_status: 429`, "try again in Ns"). The runner waits
 * that out and continues the conversation. Prints lost runs (must be 0) and the group's wall time against
 * the floor N·k/R windows.
 *
 *   deno run -A bench/agents.ts [N=8] [k=3] [R=6] [WINDOW_S=10]
 */
import { NOTIFY_JS, RUNNER_JS, RUNNER_SCRIPT } from "../src/agent/agent.ts";
import { startStandIn } from "../tests/agents/_standin.ts";
import type { BenchResult } from "./_util.ts";

/** The agent: `node -e AGENT URL K` in its workspace. */
const AGENT = `
const fs = require("fs");
const [url, k] = [process.argv[1], Number(process.argv[2])];
let done = 0; try { done = Number(fs.readFileSync("conversation", "utf8")) || 0; } catch {}
const say = (o) => console.log(JSON.stringify(o));
say({ type: "system", subtype: "init", model: "claude-bench", session_id: "b" });
const ask = () => fetch(url + "/v1/messages", { method: "POST", headers: { "content-type": "application/json" },
  body: JSON.stringify({ model: "claude-bench", max_tokens: 10, stream: false, tools: [{ name: "x" }],
    messages: [{ role: "user", content: "step " + done }] }) });
(async () => {
  while (done < k) {
    let r = await ask();
    if (r.status === 429) {
      const s = Number(r.headers.get("retry-after") || 1);
      await r.body?.cancel();
      await new Promise((res) => setTimeout(res, s * 1000));
      r = await ask();
    }
    if (r.status === 429) {
      const s = Number(r.headers.get("retry-after") || 1);
      say({ type: "result", subtype: "success", is_error: true, api_error_status: 429,
        result: "API Error: 429 rate_limit_error, try again in " + s + "s" });
      process.exit(1);
    }
    await r.json();
    done++;
    fs.writeFileSync("conversation", String(done));
    say({ type: "assistant", message: { id: "m" + done, model: "claude-bench", content: [{ type: "text", text: "step " + done }] } });
  }
  say({ type: "result", subtype: "success", is_error: false, result: "done" });
})();
`;

export async function benchAgents(n = 8, k = 3, r = 6, windowS = 10): Promise<BenchResult> {
  const api = await startStandIn([], { rateLimit: { requests: r, windowMs: windowS * 1000 } });
  const t0 = performance.now();
  const dirs: string[] = [];
  try {
    const runs = await Promise.all(Array.from({ length: n }, async () => {
      const ws = await Deno.makeTempDir({ prefix: "kodama-bench-agents-" });
      dirs.push(ws);
      const run = `${ws}/.kodama/runs/1`;
      await Deno.mkdir(run, { recursive: true });
      await Deno.writeTextFile(`${run}/prompt`, "the task\n");
      const argv = ["node", "-e", AGENT, api.url, String(k)];
      const resume = { argv: [...argv, "--continue"], modelAt: argv.length, switchModels: false };
      const out = await new Deno.Command("sh", {
        args: ["-c", RUNNER_SCRIPT, "kodama-run", run, RUNNER_JS, NOTIFY_JS, ...argv],
        cwd: ws,
        env: {
          KODAMA_WORKSPACE: ws,
          KODAMA_RESUME: btoa(JSON.stringify(resume)),
          KODAMA_RETRY_ATTEMPTS: "100",
        },
        stdout: "null",
        stderr: "null",
      }).output();
      const exit = (await Deno.readTextFile(`${run}/exit`).catch(() => "")).trim();
      const state = JSON.parse(await Deno.readTextFile(`${run}/state.json`).catch(() => "{}"));
      return { ok: out.code === 0 && exit === "0", continuations: state.continuations ?? 0 };
    }));
    const wall = (performance.now() - t0) / 1000;
    const floor = (n * k / r) * windowS;
    // the last request cannot be admitted before (⌈N·k/R⌉ − 1) windows have passed
    const least = (Math.ceil((n * k) / r) - 1) * windowS;
    const lost = runs.filter((x) => !x.ok).length;
    const cont = runs.reduce((a, x) => a + x.continuations, 0);
    return {
      name: "agents",
      problems: [
        ...(lost ? [`${lost} of ${n} runs lost (none may be)`] : []),
        ...(wall < least * 0.95 ? [`${wall.toFixed(1)}s is under the ${least}s the rate limit allows`] : []),
      ],
      lines: [
        `goodput under a shared rate limit: ${n} replicas × ${k} requests, ${r} requests per ${windowS}s window`,
        `  lost runs: ${lost} of ${n}; continuations: ${cont}; 429s answered: ${api.answered(429)}`,
        `  group wall time ${wall.toFixed(1)}s against the floor ${floor.toFixed(1)}s: ${
          (wall / floor).toFixed(2)
        }x (goal ≤ 1.2x)`,
      ],
    };
  } finally {
    await api.close();
    for (const d of dirs) await Deno.remove(d, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  const [n, k, r, w] = Deno.args.map(Number);
  const res = await benchAgents(n || 8, k || 3, r || 6, w || 10);
  console.log(res.lines.join("\n"));
}
