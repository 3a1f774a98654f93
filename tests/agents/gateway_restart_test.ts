/**
 * The gateway program (src/agent/pod/gateway.js) killed mid-run and started again on the same state directory
 * (what its StatefulSet does with the state claim): its totals are the same, a spent budget is still refused,
 * a reservation open at the crash counts as spent, and the figures `kodama gateway usage` reads from its log
 * are carried over (docs/agents.md, "The gateway's durability").
 */
import { assert, assertEquals, assertMatch } from "@kodama/test-assert";
import { type StandIn, startStandIn } from "./_standin.ts";
import { type Gateway, startGateway } from "./_gateway.ts";
import { type LogEvent, usageRows } from "../../src/agent/gateway/usage.ts";

const REAL = "sk-ant-real-key-0052";

const config = (api: StandIn) => ({
  providers: { anthropic: { upstream: api.url, keys: [{ id: "a1", header: "x-api-key", value: REAL }] } },
  prices: { "claude-*": { input: 3, output: 15 } },
});

function ask(gw: Gateway, token: string, maxTokens = 100) {
  return fetch(`${gw.url}/p/anthropic/v1/messages`, {
    method: "POST",
    headers: { "x-api-key": token, "content-type": "application/json", "anthropic-version": "2023-06-01" },
    body: JSON.stringify({
      model: "claude-sonnet-4-5",
      stream: true,
      max_tokens: maxTokens,
      tools: [{ name: "Bash", input_schema: { type: "object" } }],
      messages: [{ role: "user", content: "hi" }],
    }),
  });
}

async function usage(gw: Gateway) {
  const r = await fetch(`${gw.url}/_kodama/usage`, { headers: { authorization: `Bearer ${gw.admin()}` } });
  assertEquals(r.status, 200);
  return await r.json() as { sessions: Record<string, { costUsd: number; requests: number }> };
}

/** A stand-in, a state directory and a gateway on it; `restart` kills it (SIGKILL) and starts another there. */
async function world(
  fn: (api: StandIn, gw: () => Gateway, restart: () => Promise<Gateway>, state: string) => Promise<void>,
  extra: Record<string, string> = {},
) {
  const api = await startStandIn([], { gate: { keys: [REAL] } });
  const state = await Deno.makeTempDir({ prefix: "kodama-gw-state-" });
  const env = { KODAMA_GATEWAY_STATE: state, ...extra };
  let gw = await startGateway(config(api), env);
  const all = [gw];
  try {
    await fn(api, () => gw, async () => {
      await gw.kill("SIGKILL");
      gw = await startGateway(config(api), env, { signingKey: gw.signingKey });
      all.push(gw);
      await gw.waitLog((l) => l.ev === "config" && l.status === ("replayed" as unknown));
      return gw;
    }, state);
  } finally {
    for (const g of all) await g.close();
    await api.close();
    await Deno.remove(state, { recursive: true });
  }
}

Deno.test("gateway restart: killed and started on the same state, its totals are the same and a spent budget stays spent", async () => {
  await world(async (api, gw, restart) => {
    const first = gw();
    const spender = first.token({ s: "r1", budgetUsd: 0.00001 });
    const other = first.token({ s: "r2", g: "grp" });
    const a = await ask(first, spender);
    assertEquals(a.status, 200);
    await a.text();
    for (let i = 0; i < 2; i++) await (await ask(first, other)).text();
    await first.waitLog((l) =>
      l.ev === "usage" && l.s === "r2" && first.lines.filter((x) => x.ev === "usage").length === 3
    );
    assertEquals((await ask(first, spender)).status, 400);
    const before = await usage(first);
    const rowsBefore = usageRows(first.lines as LogEvent[], "session");
    const sent = api.mainRequests().length;

    const second = await restart();
    const after = await usage(second);
    assertEquals(after.sessions, before.sessions);
    // the budget is checked against the replayed totals: refused before it goes anywhere
    const again = await ask(second, spender);
    assertEquals(again.status, 400);
    assertMatch(
      (await again.json()).error.message,
      /^kodama-gateway: budget of \$0\.00001 for session r1 is spent/,
    );
    assertEquals(api.mainRequests().length, sent);
    // what `gateway usage` and `status` read from the new pod's log: the same figures, carried over
    assertEquals(usageRows(second.lines as LogEvent[], "session"), rowsBefore);
    // and a session without a budget goes on, adding to what it had
    await (await ask(second, other)).text();
    await second.waitLog((l) => l.ev === "usage" && l.s === "r2");
    assertEquals((await usage(second)).sessions.r2.requests, before.sessions.r2.requests + 1);
  });
});

Deno.test("gateway restart: a reservation open when the gateway died counts as spent at its reserved amount", async () => {
  await world(async (api, gw, restart) => {
    const first = gw();
    const token = first.token({ s: "h1", budgetUsd: 1 });
    // 100,000 output tokens at $15 per million: $1.50 held, more than the budget, let through alone
    const release = api.hold();
    const pending = ask(first, token, 100_000).then((r) => r.text()).catch(() => "cut");
    await waitUntil(() => api.held() === 1);
    const second = await restart();
    release();
    await pending;
    const replayed = second.lines.find((l) => l.ev === "config" && l.status === ("replayed" as unknown))!;
    assertEquals(replayed.settledAsSpent, 1);
    const spent = (await usage(second)).sessions.h1.costUsd;
    assert(spent >= 1.5, `counted ${spent}`);
    const next = await ask(second, token, 10);
    assertEquals(next.status, 400);
    assertMatch((await next.json()).error.message, /budget of \$1 for session h1 is spent \(\$1\.5/);
    assertEquals(api.mainRequests().length, 1);
  });
});

Deno.test("gateway restart: a journal torn by the crash is read up to its last whole line, and kept writing", async () => {
  await world(async (_api, gw, restart, state) => {
    const first = gw();
    const token = first.token({ s: "t1" });
    await (await ask(first, token)).text();
    await first.waitLog((l) => l.ev === "usage");
    const before = (await usage(first)).sessions.t1;
    // the crash cut the journal's last line short
    await Deno.writeTextFile(`${state}/meter.journal`, '{"n":99,"e":"use","s":"t1","c":5', { append: true });
    const second = await restart();
    assertEquals((await usage(second)).sessions.t1, before);
    await (await ask(second, second.token({ s: "t1" }))).text();
    await second.waitLog((l) => l.ev === "usage");
    const third = await restart();
    assertEquals((await usage(third)).sessions.t1.requests, before.requests + 1);
  });
});

async function waitUntil(pred: () => boolean, ms = 30_000) {
  const until = Date.now() + ms;
  for (let i = 0; !pred(); i++) {
    if (Date.now() > until) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, Math.min(200, 10 * 2 ** i)));
  }
}

Deno.test("gateway restart: a journal compacted while it ran (snapshot, then truncated) replays to the same totals", async () => {
  await world(async (_api, gw, restart, state) => {
    const first = gw();
    const tokens = ["c1", "c2", "c3"].map((s) => first.token({ s, budgetUsd: 5 }));
    for (let i = 0; i < 6; i++) await (await ask(first, tokens[i % 3])).text();
    await first.waitLog(() => first.lines.filter((x) => x.ev === "usage").length === 6);
    const before = await usage(first);
    // a snapshot was written and the journal emptied at least once
    assert((await Deno.stat(`${state}/meter.snapshot.json`)).isFile);
    assert((await Deno.stat(`${state}/meter.journal`)).size < 1024);
    const second = await restart();
    assertEquals((await usage(second)).sessions, before.sessions);
  }, { KODAMA_GATEWAY_COMPACT_BYTES: "1024" });
});

Deno.test("gateway restart: an answer the agent has whole is charged what it cost, not its reservation", async () => {
  await world(async (api, gw, restart) => {
    const first = gw();
    const token = first.token({ s: "w1", budgetUsd: 5 });
    // $1.50 reserved (100,000 output tokens at most); the stand-in's answer costs a small part of it
    const r = await ask(first, token, 100_000);
    assertEquals(r.status, 200);
    await r.text();
    // killed the moment the agent has its answer: the settlement was written before the answer's end went out
    const second = await restart();
    const replayed = second.lines.find((l) => l.ev === "config" && l.status === ("replayed" as unknown))!;
    assertEquals(replayed.settledAsSpent, undefined);
    const f = (await usage(second)).sessions.w1;
    assertEquals(f.requests, 1);
    assert(f.costUsd > 0 && f.costUsd < 0.1, `charged ${f.costUsd}`);
    assertEquals(api.mainRequests().length, 1);
  });
});
