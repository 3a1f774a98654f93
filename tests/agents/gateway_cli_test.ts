/**
 * The real Claude Code, Codex and Gemini CLIs (tests/agents/_clis.ts) through kodama's gateway (src/agent/pod/gateway.js,
 * run by Node on this machine) to the model-API stand-ins: the CLI's environment holds only a session token,
 * the stand-in gets the real key; a bad token is the CLI's auth failure; the metered tokens are the stand-in's
 * own; a budget ends the run as `budget`; 8 runs on one key under a rate limit all succeed without a 429
 * reaching them; a gateway killed mid-run fails the run as `unreachable` (the outcome classifier,
 * src/agent/pod/outcome.js, says so from the CLI's own output).
 */
import { assert, assertEquals } from "@kodama/test-assert";
import { CLAUDE, claudeCommand, CODEX, codexCommand, GEMINI, missing, PI, QWEN } from "./_clis.ts";
import { PRESETS, resolveAgent } from "../../src/agent/presets/presets.ts";
import { configSchema } from "../../src/config/schema.ts";
import { type StandIn, startStandIn, type Turn } from "./_standin.ts";
import { type Gateway, startGateway } from "./_gateway.ts";
import { classify, factsOf } from "../../src/agent/outcome/outcome.ts";

const REAL = "sk-ant-real-cli-0099";
const OPENAI = "sk-openai-real-cli-0098";
const noClaude = missing("claude", CLAUDE);
const noCodex = missing("codex", CODEX);
const noGemini = missing("gemini", GEMINI);
const GEMINI_KEY = "AIza-real-cli-0097";
const noPi = missing("pi", PI);
const noQwen = missing("qwen", QWEN);

interface Ran {
  code: number;
  out: string;
  env: Record<string, string>;
}

/** A CLI in a fresh home and workspace, its environment only what is given (and PATH). */
function runCli(
  argv: string[],
  env: Record<string, string>,
  stdin = "",
  prepare?: (home: string) => Promise<void>,
): { done: Promise<Ran> } {
  const done = (async () => {
    const home = await Deno.makeTempDir({ prefix: "kodama-gwcli-" });
    await prepare?.(home);
    const full = { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: home, ...env };
    try {
      const p = new Deno.Command(argv[0], {
        args: argv.slice(1),
        cwd: home,
        env: full,
        clearEnv: true,
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const w = p.stdin.getWriter();
      await w.write(new TextEncoder().encode(stdin));
      await w.close();
      const o = await p.output();
      const dec = new TextDecoder();
      return { code: o.code, out: dec.decode(o.stdout) + dec.decode(o.stderr), env: full };
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  })();
  return { done };
}

const claude = (gw: Gateway, token: string) =>
  runCli([...claudeCommand(), "Say hello."], {
    ANTHROPIC_BASE_URL: `${gw.url}/p/anthropic`,
    ANTHROPIC_API_KEY: token,
  });

const outcome = (r: Ran) =>
  classify(factsOf(r.out), { state: r.code === 0 ? "succeeded" : "failed", exitCode: r.code });

async function world(
  turns: Turn[],
  o: Parameters<typeof startStandIn>[1],
  fn: (api: StandIn, gw: Gateway) => Promise<void>,
  prices: Record<string, unknown> = {},
) {
  const api = await startStandIn(turns, { gate: { keys: [REAL, OPENAI, GEMINI_KEY] }, ...o });
  const gw = await startGateway({
    providers: {
      anthropic: { upstream: api.url, keys: [{ id: "a1", header: "x-api-key", value: REAL }] },
      openai: { upstream: api.url, keys: [{ id: "o1", header: "authorization", value: `Bearer ${OPENAI}` }] },
      gemini: { upstream: api.url, keys: [{ id: "g1", header: "x-goog-api-key", value: GEMINI_KEY }] },
    },
    prices,
  });
  try {
    await fn(api, gw);
    assert(!gw.raw().includes(REAL) && !gw.raw().includes(OPENAI), "a key in the gateway's log");
  } finally {
    await gw.close();
    await api.close();
  }
}

/** The usage the stand-in answered with, summed over what it answered well. */
function standInUsage(api: StandIn, path: string) {
  const ok = api.requests.filter((r) => r.path.startsWith(path) && r.usage && (r.status ?? 200) === 200);
  return {
    input: ok.reduce((a, r) => a + r.usage!.input, 0),
    output: ok.reduce((a, r) => a + r.usage!.output, 0),
  };
}

function meteredUsage(gw: Gateway, provider: string) {
  const u = gw.lines.filter((l) => l.ev === "usage" && l.provider === provider);
  return {
    input: u.reduce((a, l) => a + l.usage!.input, 0),
    output: u.reduce((a, l) => a + l.usage!.output, 0),
  };
}

Deno.test({
  name:
    "gateway + Claude Code: only the token in the CLI, the real key at the API, the tokens metered exactly",
  ignore: noClaude,
  async fn() {
    await world([], {}, async (api, gw) => {
      const token = gw.token({ s: "c1" });
      const r = await claude(gw, token).done;
      assertEquals(r.code, 0, r.out);
      assertEquals(outcome(r).class, "succeeded");
      assert(!Object.values(r.env).includes(REAL) && !r.out.includes(REAL));
      const main = api.mainRequests();
      assert(main.length >= 1);
      for (const m of api.requests.filter((x) => x.method === "POST")) {
        assertEquals(m.headers?.["x-api-key"], REAL);
        assert(!JSON.stringify(m.headers).includes(token));
      }
      const want = standInUsage(api, "/v1/messages");
      assert(want.output > 0);
      assertEquals(meteredUsage(gw, "anthropic"), want);
    });
  },
});

Deno.test({
  name: "gateway + Claude Code: a bad token is the CLI's auth failure, and never reaches the API",
  ignore: noClaude,
  async fn() {
    await world([], {}, async (api, gw) => {
      const other = await startGateway({ providers: {} });
      const foreign = other.token({ s: "c1" });
      await other.close();
      const r = await claude(gw, foreign).done;
      assert(r.code !== 0, r.out);
      assertEquals(outcome(r).class, "auth", r.out);
      assertEquals(api.requests.filter((x) => x.method === "POST").length, 0);
    });
  },
});

Deno.test({
  name: "gateway + Claude Code: a budget spent ends the run with the gateway's error, outcome budget",
  ignore: noClaude,
  async fn() {
    const turns: Turn[] = [[{ text: "I'll look." }, { shell: "true" }]];
    await world(turns, {}, async (_api, gw) => {
      const r = await claude(gw, gw.token({ s: "c2", budgetUsd: 0.000001 })).done;
      assert(r.code !== 0, r.out);
      const o = outcome(r);
      assertEquals(o.class, "budget", r.out);
      assert(o.message.includes("kodama-gateway: budget"), o.message);
      await gw.waitLog((l) => l.ev === "budget" && l.s === "c2");
    }, { "claude-*": { input: 3, output: 15 } });
  },
});

Deno.test({
  name: "gateway + Claude Code: 8 runs on one key under a rate limit all succeed, no 429 reaches a CLI",
  ignore: noClaude,
  async fn() {
    await world([], { rateLimit: { requests: 1, windowMs: 4000 } }, async (api, gw) => {
      const runs = await Promise.all(
        Array.from({ length: 8 }, (_, i) => claude(gw, gw.token({ s: `r${i}`, g: "grp" })).done),
      );
      for (const r of runs) {
        assertEquals(r.code, 0, r.out);
        assertEquals(outcome(r).class, "succeeded");
        assertEquals(factsOf(r.out).apiRetries, 0, "a CLI retried: the gateway let an error through");
      }
      assert(api.mainRequests().length >= 8);
      // the limit was met, at the gateway
      assert(gw.lines.some((l) => l.ev === "queue" || l.ev === "retry"));
    });
  },
});

Deno.test({
  name:
    "gateway + Claude Code: the gateway killed mid-run fails the run as unreachable, nothing goes around it",
  ignore: noClaude,
  async fn() {
    await world([], { firstByteMs: 30_000 }, async (api, gw) => {
      const run = claude(gw, gw.token({ s: "k1" }));
      await api.waitFor(() => api.mainRequests().length >= 1);
      await gw.kill("SIGKILL");
      const r = await run.done;
      assert(r.code !== 0, r.out);
      assertEquals(outcome(r).class, "unreachable", r.out);
      assertEquals(api.mainRequests().length, 1);
    });
  },
});

Deno.test({
  name:
    "gateway + Claude Code and Codex under an ample budget: every request reserved and let through, charged",
  ignore: noClaude || noCodex,
  async fn() {
    const turns: Turn[] = [[{ text: "I'll look." }, { shell: "true" }]];
    await world(turns, {}, async (api, gw) => {
      const r = await claude(gw, gw.token({ s: "b5", budgetUsd: 5 })).done;
      assertEquals(outcome(r).class, "succeeded", r.out);
      const x = await runCli(
        codexCommand(`${gw.url}/p/openai`),
        { OPENAI_API_KEY: gw.token({ s: "b6", budgetUsd: 5 }) },
        "Say hello.\n",
      ).done;
      assertEquals(outcome(x).class, "succeeded", x.out);
      // nothing the CLIs send was refused for the budget, and what they used was charged
      assertEquals(gw.lines.filter((l) => l.ev === "budget"), []);
      const cost = (s: string) =>
        gw.lines.filter((l) => l.ev === "usage" && l.s === s).reduce((a, l) => a + (l.costUsd ?? 0), 0);
      assert(cost("b5") > 0 && cost("b6") > 0, `${cost("b5")} ${cost("b6")}`);
      assert(api.mainRequests().length >= 2);
      // Codex's default model is newer than the gateway's own prices: the user's gateway.prices name it
    }, { "gpt-6*": { input: 2, output: 12 } });
  },
});

Deno.test({
  name: "gateway + Codex: the bearer token is swapped for the key, the run succeeds, its tokens metered",
  ignore: noCodex,
  async fn() {
    await world([], {}, async (api, gw) => {
      const token = gw.token({ s: "x1" });
      const r = await runCli(codexCommand(`${gw.url}/p/openai`), { OPENAI_API_KEY: token }, "Say hello.\n")
        .done;
      assertEquals(r.code, 0, r.out);
      assertEquals(outcome(r).class, "succeeded", r.out);
      const main = api.mainRequests();
      assert(main.length >= 1);
      for (const m of main) assertEquals(m.headers?.authorization, `Bearer ${OPENAI}`);
      const want = standInUsage(api, "/v1/responses");
      assert(want.output > 0);
      assertEquals(meteredUsage(gw, "openai"), want);
      assert(!r.out.includes(OPENAI));
    });
  },
});

Deno.test({
  name: "gateway + Gemini CLI: the API key header is swapped, the run succeeds, its tokens metered",
  ignore: noGemini,
  async fn() {
    await world([], {}, async (api, gw) => {
      const token = gw.token({ s: "m1" });
      // what the gemini preset's wrapper writes: the API key's auth type, so it uses the base URL headless
      const settings = async (home: string) => {
        await Deno.mkdir(`${home}/.gemini`);
        await Deno.writeTextFile(
          `${home}/.gemini/settings.json`,
          JSON.stringify({
            security: { auth: { selectedType: "gemini-api-key" } },
            privacy: { usageStatisticsEnabled: false },
          }),
        );
      };
      const r = await runCli(
        [GEMINI!, "--yolo", "--skip-trust", "--output-format", "stream-json"],
        {
          GEMINI_API_KEY: token,
          GOOGLE_GEMINI_BASE_URL: `${gw.url}/p/gemini`,
          GEMINI_CLI_NO_RELAUNCH: "true",
          GEMINI_TELEMETRY_ENABLED: "false",
        },
        "Say hello.\n",
        settings,
      ).done;
      assertEquals(r.code, 0, r.out);
      assertEquals(outcome(r).class, "succeeded", r.out);
      const main = api.mainRequests();
      assert(main.length >= 1);
      for (const m of api.requests.filter((x) => x.method === "POST")) {
        assertEquals(m.headers?.["x-goog-api-key"], GEMINI_KEY);
      }
      const want = standInUsage(api, "/v1beta/models/");
      assert(want.output > 0);
      assertEquals(meteredUsage(gw, "gemini"), want);
      assert(!r.out.includes(GEMINI_KEY) && !gw.raw().includes(GEMINI_KEY));
    });
  },
});

Deno.test({
  name:
    "gateway + pi (its preset's wrap): only the token in the CLI, the real key at the API, the tokens metered",
  ignore: noPi,
  async fn() {
    await world([], {}, async (api, gw) => {
      const token = gw.token({ s: "p1" });
      const r = await runCli(
        ["sh", "-c", PRESETS.pi.wrap!, PI!, ...PRESETS.pi.command.slice(1)],
        { ...PRESETS.pi.env, ANTHROPIC_API_KEY: token, ANTHROPIC_BASE_URL: `${gw.url}/p/anthropic` },
        "Say hello.\n",
      ).done;
      assertEquals(r.code, 0, r.out);
      assertEquals(outcome(r).class, "succeeded", r.out);
      const main = api.mainRequests();
      assert(main.length >= 1);
      for (const m of api.requests.filter((x) => x.method === "POST")) {
        assertEquals(m.headers?.["x-api-key"], REAL);
        assert(!JSON.stringify(m.headers).includes(token));
      }
      const want = standInUsage(api, "/v1/messages");
      assert(want.output > 0);
      assertEquals(meteredUsage(gw, "anthropic"), want);
      assert(!r.out.includes(REAL));
    });
  },
});

Deno.test({
  name:
    "gateway + Qwen Code: only the token in the CLI, the real key at Chat Completions, its streams metered",
  ignore: noQwen,
  async fn() {
    await world([], {}, async (api, gw) => {
      const token = gw.token({ s: "q1" });
      // the qwen preset's own command line, its wrap and variables, pointed at the gateway's OpenAI route
      const a = resolveAgent([{ preset: "qwen" }], configSchema.parse({}));
      const r = await runCli(
        ["sh", "-c", a.wrap!, QWEN!, ...a.command.slice(1)],
        {
          ...a.env,
          OPENAI_API_KEY: token,
          OPENAI_BASE_URL: `${gw.url}/p/openai/v1`,
        },
        "Say hello.\n",
      ).done;
      assertEquals(r.code, 0, r.out);
      assertEquals(outcome(r).class, "succeeded", r.out);
      assertEquals(factsOf(r.out).agent, "qwen");
      const main = api.mainRequests();
      assert(main.length >= 1);
      for (const m of api.requests.filter((x) => x.method === "POST")) {
        assertEquals(m.path, "/v1/chat/completions");
        assertEquals(m.headers?.authorization, `Bearer ${OPENAI}`);
        assert(!JSON.stringify(m.headers).includes(token));
      }
      const want = standInUsage(api, "/v1/chat/completions");
      assert(want.output > 0);
      assertEquals(meteredUsage(gw, "openai"), want);
      assert(!r.out.includes(OPENAI) && !gw.raw().includes(OPENAI));
    });
  },
});
