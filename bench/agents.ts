/**
 * Goodput under a shared rate limit (issue 62): N replicas of a task needing k model requests each, against
 * the Anthropic stand-in admitting R requests per window (a real sliding window shared by every caller).
 * Each replica is started as `kodama agent run` starts a run of the claude preset, here as local processes:
 * the same command line (presets.ts runArgv, agentrun.ts resumeOf, agent.ts startArgv: the start program,
 * which starts the detached runner, pod/runner.sh + pod/runner.js), the prompt on stdin, a home and a
 * workspace of its own. Its `claude` is a small stand-in on the PATH that behaves like a CLI with a small
 * retry budget: it keeps its conversation (the requests answered so far) in its workspace, retries a 429
 * once after `retry-after`, and then ends with Claude Code's error result (`api_error_status: 429`, "try
 * again in Ns"). The runner waits that out and continues the conversation (`--continue`). Prints lost runs
 * (must be 0) and the group's wall time against the floor N·k/R windows.
 *
 * The command line is the product's own, not a copy: when the runner's arguments change, this changes with
 * them (a copy of them lost 8 runs of 8 unnoticed: `kodama-run: -e: not found`, issue 83).
 *
 *   deno run -A bench/agents.ts [N=8] [k=3] [R=6] [WINDOW_S=10]   (--smoke: 3 replicas × 2 requests, 2 a 1 s window)
 */
import { startArgv } from "../src/agent/runs/agent.ts";
import { resumeOf } from "../src/agent/runs/agentrun.ts";
import { resolveAgent, runArgv } from "../src/agent/presets/presets.ts";
import { configSchema } from "../src/config/schema.ts";
import { startStandIn } from "../tests/agents/_standin.ts";
import { benchLine, type BenchResult, smokeFlag } from "./_util.ts";

/**
 * The `claude` on the replicas' PATH (node; any arguments): the stand-in's URL and k in BENCH_API_URL and
 * BENCH_K, its conversation in `conversation` in the workspace (its working directory).
 */
const CLAUDE = `#!/usr/bin/env node
const fs = require("fs");
const [url, k] = [process.env.BENCH_API_URL, Number(process.env.BENCH_K)];
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
  process.exit(0);
})();
`;

/** A run's exit code once its runner wrote it (`exit` is written last), waiting on the run folder's events. */
async function runExit(run: string, ms: number): Promise<string | undefined> {
  const read = async () => (await Deno.readTextFile(`${run}/exit`).catch(() => "")).trim() || undefined;
  const watcher = Deno.watchFs(run, { recursive: false });
  const timer = setTimeout(() => watcher.close(), ms);
  try {
    let code = await read();
    if (code) return code;
    for await (const _ of watcher) if ((code = await read())) return code;
    return await read();
  } finally {
    clearTimeout(timer);
    try {
      watcher.close();
    } catch { /* closed */ }
  }
}

/** One replica, started as `kodama agent run` starts the claude preset's run; whether it ended 0, its continuations. */
async function replica(root: string, bin: string, env: Record<string, string>, timeoutMs: number) {
  const ws = `${root}/ws`, home = `${root}/home`;
  await Deno.mkdir(ws, { recursive: true });
  await Deno.mkdir(home, { recursive: true });
  const agent = resolveAgent([{ preset: "claude" }], configSchema.parse({}));
  const prompt = new TextEncoder().encode("the task\n");
  const argv = startArgv(
    runArgv(agent, false).argv,
    prompt.length,
    0,
    false,
    agent.preset,
    0,
    resumeOf(agent),
  );
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    cwd: ws,
    env: { ...env, HOME: home, KODAMA_WORKSPACE: ws, PATH: `${bin}:${Deno.env.get("PATH") ?? ""}` },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(prompt);
  await w.close();
  const out = await child.output();
  const id = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1) ?? "";
  if (!out.success || !/^\d+$/.test(id)) {
    return {
      ok: false,
      continuations: 0,
      why: `start exited ${out.code}: ${new TextDecoder().decode(out.stderr)}`,
    };
  }
  const run = `${home}/.kodama/runs/${id}`;
  const exit = await runExit(run, timeoutMs);
  const state = JSON.parse(await Deno.readTextFile(`${run}/state.json`).catch(() => "{}"));
  const log = await Deno.readTextFile(`${run}/log`).catch(() => "");
  return {
    ok: exit === "0",
    continuations: Number(state.continuations ?? 0),
    why: `exit ${exit ?? "none"}: ${log.trim().split("\n").at(-1) ?? ""}`,
  };
}

export async function benchAgents(n = 8, k = 3, r = 6, windowS = 10): Promise<BenchResult> {
  const api = await startStandIn([], { rateLimit: { requests: r, windowMs: windowS * 1000 } });
  const root = await Deno.makeTempDir({ prefix: "kodama-bench-agents-" });
  const bin = `${root}/bin`;
  await Deno.mkdir(bin);
  await Deno.writeTextFile(`${bin}/claude`, CLAUDE, { mode: 0o755 });
  const env = { BENCH_API_URL: api.url, BENCH_K: String(k), KODAMA_RETRY_ATTEMPTS: "100" };
  // a run cannot take longer than its k requests at one request a window, each with the runner's waits
  const timeoutMs = (n * k / r + 2) * windowS * 1000 * 3 + 60_000;
  const t0 = performance.now();
  try {
    const runs = await Promise.all(
      Array.from({ length: n }, (_, i) => replica(`${root}/${i}`, bin, env, timeoutMs)),
    );
    const wall = (performance.now() - t0) / 1000;
    const floor = (n * k / r) * windowS;
    // the last request cannot be admitted before (⌈N·k/R⌉ − 1) windows have passed
    const least = (Math.ceil((n * k) / r) - 1) * windowS;
    const lost = runs.filter((x) => !x.ok);
    const cont = runs.reduce((a, x) => a + x.continuations, 0);
    const ratio = wall / floor;
    return {
      name: "agents",
      figures: { lost: lost.length, wallS: wall, floorS: floor, ratio, continuations: cont },
      bounds: { lost: [0, 0], continuations: [0, Infinity], ratio: [0.5, 20] },
      problems: [
        ...(lost.length ? [`${lost.length} of ${n} runs lost (none may be): ${lost[0].why}`] : []),
        ...(wall < least * 0.95 ? [`${wall.toFixed(1)}s is under the ${least}s the rate limit allows`] : []),
      ],
      lines: [
        `goodput under a shared rate limit: ${n} replicas × ${k} requests, ${r} requests per ${windowS}s window`,
        `  lost runs: ${lost.length} of ${n}; continuations: ${cont}; 429s answered: ${api.answered(429)}`,
        `  group wall time ${wall.toFixed(1)}s against the floor ${floor.toFixed(1)}s: ${
          ratio.toFixed(2)
        }x (goal ≤ 1.2x)`,
      ],
    };
  } finally {
    await api.close();
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}

/** The smoke run (tests/integration/bench_smoke_test.ts): 3 replicas × 2 requests at 2 a 1 s window, 429s met. */
export const benchAgentsSmoke = () => benchAgents(3, 2, 2, 1);

if (import.meta.main) {
  const args = Deno.args.filter((a) => a !== "--smoke");
  const [n, k, r, w] = args.map(Number);
  const res = smokeFlag() ? await benchAgentsSmoke() : await benchAgents(n || 8, k || 3, r || 6, w || 10);
  console.log(`${res.lines.join("\n")}\n${benchLine(res, smokeFlag())}`);
}
