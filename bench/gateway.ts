/**
 * kodama's gateway (issue 64; src/agent/pod/gateway.js run by Node, as its pod runs it), against the
 * Anthropic stand-in in the same run:
 *
 * - overhead: a streamed Messages request (first byte after FIRST ms, then an event every TRICKLE ms, as a
 *   model streams) through the gateway against the same request sent direct; rounds interleaved; ratios of
 *   the medians of time to first byte (goal ≤ 1.1x) and total (goal ≤ 1.05x)
 * - goodput: 16 replicas × k requests over 2 keys, the stand-in admitting R requests per window per key; each
 *   replica is a client that gives up at the first error (any 429 reaching it is a lost run); wall time
 *   against the floor: the time the last request can be admitted, (⌈16k / 2R⌉ − 1) windows (goal ≤ 1.15x)
 *
 *   deno run -A bench/gateway.ts [ROUNDS=30] [k=3] [R=6] [WINDOW_S=5]
 */
import { startStandIn } from "../tests/agents/_standin.ts";
import { startGateway } from "../tests/agents/_gateway.ts";
import { benchLine, type BenchResult, fmtMs, median, smokeFlag } from "./_util.ts";

const KEYS = ["sk-bench-key-1", "sk-bench-key-2"];

const body = (text: string) =>
  JSON.stringify({
    model: "claude-sonnet-4-5",
    stream: true,
    max_tokens: 100,
    tools: [{ name: "Bash", input_schema: { type: "object" } }],
    messages: [{ role: "user", content: text }],
  });

/** One streamed request: ms to the first body byte and to the end, and its status. */
async function timed(url: string, key: string, text: string) {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/messages`, {
    method: "POST",
    headers: { "x-api-key": key, "content-type": "application/json" },
    body: body(text),
  });
  const reader = res.body!.getReader();
  let first = 0;
  for (let r = await reader.read(); !r.done; r = await reader.read()) first ||= performance.now() - t0;
  return { status: res.status, first, total: performance.now() - t0 };
}

const providers = (url: string) => ({
  anthropic: {
    upstream: url,
    keys: KEYS.map((value, i) => ({ id: `k${i + 1}`, header: "x-api-key", value })),
  },
});

async function overhead(rounds: number, figures: Record<string, number>): Promise<string[]> {
  // a turn of text and a tool call: about 10 events
  const turns = Array.from({ length: rounds * 2 + 2 }, () => [{ text: "a step" }, { shell: "true" }]);
  const api = await startStandIn(turns, { firstByteMs: 300, trickleMs: 20 });
  const gw = await startGateway({ providers: providers(api.url) });
  const via = `${gw.url}/p/anthropic`;
  const token = gw.token({ s: "bench" });
  try {
    await timed(api.url, KEYS[0], "warm");
    await timed(via, token, "warm");
    const d = { first: [] as number[], total: [] as number[] };
    const g = { first: [] as number[], total: [] as number[] };
    for (let i = 0; i < rounds; i++) {
      for (
        const [url, key, into] of i % 2
          ? [[api.url, KEYS[0], d], [via, token, g]] as const
          : [[via, token, g], [api.url, KEYS[0], d]] as const
      ) {
        const t = await timed(url, key, `round ${i}`);
        if (t.status !== 200) throw new Error(`bench: status ${t.status}`);
        into.first.push(t.first);
        into.total.push(t.total);
      }
    }
    const r = (a: number[], b: number[]) => (median(a) / median(b)).toFixed(3);
    figures.firstByteRatio = median(g.first) / median(d.first);
    figures.totalRatio = median(g.total) / median(d.total);
    return [
      `overhead: a streamed request (first byte at 300 ms, then 20 ms an event), ${rounds} rounds each way`,
      `  first byte: direct ${fmtMs(median(d.first))}, through the gateway ${fmtMs(median(g.first))}: ${
        r(g.first, d.first)
      }x (goal ≤ 1.1x)`,
      `  total:      direct ${fmtMs(median(d.total))}, through the gateway ${fmtMs(median(g.total))}: ${
        r(g.total, d.total)
      }x (goal ≤ 1.05x)`,
    ];
  } finally {
    await gw.close();
    await api.close();
  }
}

async function goodput(
  n: number,
  k: number,
  r: number,
  windowS: number,
  problems: string[],
  figures: Record<string, number>,
): Promise<string[]> {
  const api = await startStandIn([], { rateLimit: { requests: r, windowMs: windowS * 1000, perKey: true } });
  const gw = await startGateway({ providers: providers(api.url) });
  const via = `${gw.url}/p/anthropic`;
  try {
    const t0 = performance.now();
    const runs = await Promise.all(Array.from({ length: n }, async (_, i) => {
      const token = gw.token({ s: `replica-${i}`, g: "bench" });
      for (let j = 0; j < k; j++) {
        const t = await timed(via, token, `replica ${i} step ${j}`);
        if (t.status !== 200) return false;
      }
      return true;
    }));
    const wall = (performance.now() - t0) / 1000;
    const floor = (Math.ceil((n * k) / (2 * r)) - 1) * windowS;
    const lost = runs.filter((x) => !x).length;
    Object.assign(figures, { lost, goodputWallS: wall, goodputRatio: wall / floor });
    if (lost) problems.push(`${lost} of ${n} runs lost (none may be)`);
    if (wall < floor * 0.95) {
      problems.push(`${wall.toFixed(1)}s is under the ${floor}s the rate limit allows`);
    }
    const byKey = KEYS.map((key) => api.requests.filter((q) => q.headers?.["x-api-key"] === key).length);
    return [
      `goodput: ${n} replicas × ${k} requests over 2 keys, ${r} requests per ${windowS}s window per key`,
      `  lost runs: ${lost} of ${n}; 429s answered upstream: ${api.answered(429)}; requests per key: ${
        byKey.join(", ")
      }; gateway retries ${gw.lines.filter((l) => l.ev === "retry").length}, queued ${
        gw.lines.filter((l) => l.ev === "queue").length
      }`,
      `  wall time ${wall.toFixed(1)}s against the floor ${floor.toFixed(1)}s: ${
        (wall / floor).toFixed(2)
      }x (goal ≤ 1.15x)`,
    ];
  } finally {
    await gw.close();
    await api.close();
  }
}

export async function benchGateway(rounds = 30, k = 3, r = 6, windowS = 5): Promise<BenchResult> {
  const problems: string[] = [];
  const figures: Record<string, number> = {};
  const lines = [...await overhead(rounds, figures), ...await goodput(16, k, r, windowS, problems, figures)];
  return {
    name: "gateway",
    lines,
    problems,
    figures,
    // through the gateway is never faster than direct (the first byte is 300 ms away): half is impossible
    bounds: { lost: [0, 0], firstByteRatio: [0.5, 20], totalRatio: [0.5, 20], goodputRatio: [0.5, 20] },
  };
}

/** The smoke run (tests/integration/bench_smoke_test.ts): 3 rounds; 16 replicas × 2 requests, 4 a 1 s window a key. */
export const benchGatewaySmoke = () => benchGateway(3, 2, 4, 1);

if (import.meta.main) {
  const [rounds, k, r, w] = Deno.args.filter((a) => a !== "--smoke").map(Number);
  const res = smokeFlag()
    ? await benchGatewaySmoke()
    : await benchGateway(rounds || 30, k || 3, r || 6, w || 5);
  console.log(`${res.lines.join("\n")}\n${benchLine(res, smokeFlag())}`);
}
