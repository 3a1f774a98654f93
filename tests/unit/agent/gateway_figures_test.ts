/**
 * The gateway's figures per session (#64 point 4), their pure parts: the log summed per session with the
 * last denied host, the budget left, the USAGE cell, and how `list`, `compare` and `agent status` show them
 * (a column only when some session has figures; `gateway: null` in JSON when they could not be read).
 */
import { assert, assertEquals, assertMatch } from "@kodama/test-assert";
import { figuresBySession, gatewayLine, withBudget } from "../../../src/agent/gateway/figures.ts";
import type { LogEvent } from "../../../src/agent/gateway/usage.ts";
import { gatewayTotal, renderComparison, type ReplicaRow } from "../../../src/agent/group/compare.ts";
import { type GatewayFigures, usageText } from "../../../src/session/spec/gateway.ts";
import { renderSessions, sessionObject } from "../../../src/session/state/list.ts";
import type { SessionView } from "../../../src/session/state/status.ts";

const LOG: LogEvent[] = [
  { t: "2026-11-26T10:00:00Z", ev: "config", status: "loaded" },
  { t: "2026-11-26T10:00:01Z", ev: "req", s: "a", g: "grp", status: 200 },
  {
    t: "2026-11-26T10:00:02Z",
    ev: "usage",
    s: "a",
    g: "grp",
    model: "claude-x",
    usage: { input: 1200, output: 300, cacheRead: 50, cacheWrite: 0 },
    costUsd: 0.0081,
  },
  { t: "2026-11-26T10:00:03Z", ev: "deny", s: "a", host: "evil.example.com:443" },
  { t: "2026-11-26T10:00:04Z", ev: "deny", s: "a", host: "pypi.org:443" },
  { t: "2026-11-26T10:00:05Z", ev: "req", s: "b", status: 200 },
  { t: "2026-11-26T10:00:06Z", ev: "usage", s: "b", model: "mystery", usage: { input: 10, output: 5 } },
];

Deno.test("figures per session: tokens, cost (unknown without a price), requests, denials, last denied", () => {
  const f = figuresBySession(LOG);
  assertEquals(f.get("a"), {
    requests: 1,
    denied: 2,
    input: 1200,
    output: 300,
    cacheRead: 50,
    cacheWrite: 0,
    costUsd: 0.0081,
    lastDenied: "pypi.org:443",
  });
  assertEquals(f.get("b")?.costUsd, null);
  assertEquals(f.get("b")?.lastDenied, undefined);
  assertEquals(f.has("c"), false);
});

Deno.test("budget left: what remains, never below zero; null without a budget or a known cost", () => {
  const a = figuresBySession(LOG).get("a");
  assertEquals(withBudget(a, 1).budgetLeftUsd, 0.9919);
  assertEquals(withBudget(a, 0.005).budgetLeftUsd, 0);
  assertEquals(withBudget(a, undefined).budgetUsd, null);
  assertEquals(withBudget(a, undefined).budgetLeftUsd, null);
  assertEquals(withBudget(figuresBySession(LOG).get("b"), 2).budgetLeftUsd, null);
  // a session the gateway has not seen yet: zeros, the whole budget left
  const none = withBudget(undefined, 3);
  assertEquals([none.requests, none.input, none.costUsd, none.budgetLeftUsd], [0, 0, 0, 3]);
});

Deno.test("USAGE cell and agent status line: input + output tokens, cost, budget", () => {
  const a = withBudget(figuresBySession(LOG).get("a"), 1);
  assertEquals(usageText(a), "1.5k tok $0.01");
  assertEquals(usageText({ ...a, costUsd: 0.0007 }), "1.5k tok <$0.01");
  assertEquals(usageText({ ...a, costUsd: 0 }), "1.5k tok $0.00");
  assertEquals(usageText({ ...a, input: 123_456, costUsd: 12.345 }), "124k tok $12.35");
  assertEquals(usageText({ ...a, input: 2_500_000, costUsd: null }), "2.5M tok $?");
  assertEquals(usageText(null), "-");
  assertEquals(
    gatewayLine(a),
    "gateway: 1.5k tok $0.01 (metered by the gateway, 1 request); budget $1.00, $0.99 left",
  );
  assertEquals(gatewayLine({ ...a, budgetUsd: null }).includes("budget"), false);
});

const view = (name: string, gatewayFigures?: GatewayFigures | null): SessionView => ({
  name,
  namespace: "dev",
  status: "Running",
  pvcs: [],
  createdAt: new Date(Date.now() - 60_000).toISOString(),
  ...(gatewayFigures !== undefined ? { gatewayFigures } : {}),
});

Deno.test("list: a USAGE column only when some session has figures; JSON says gateway: null otherwise", () => {
  const a = withBudget(figuresBySession(LOG).get("a"), 1);
  const table = renderSessions([view("a", a), view("plain", null)], "table").split("\n");
  assertMatch(table[0], /^NAME +NAMESPACE +STATUS +SYNC +BRANCH +READY +OWNER +USAGE +AGE$/);
  assertMatch(table[1], /^a .* 1\.5k tok \$0\.01 +\S+$/);
  assertMatch(table[2], /^plain .* - +\S+$/);
  // none has figures (no gateway, or it could not be read): the table as before
  const none = renderSessions([view("plain", null)], "table");
  assert(!none.includes("USAGE"), none);
  const st = (v: SessionView) => sessionObject(v).status as Record<string, unknown>;
  assertEquals(st(view("plain", null)).gateway, null);
  assertEquals((st(view("a", a)).gateway as GatewayFigures).input, 1200);
  // not read at all (`session get`): no field
  assertEquals("gateway" in st(view("x")), false);
});

Deno.test("compare: a GATEWAY column, the footer says whose count it is, and the group's total", () => {
  const a = withBudget(figuresBySession(LOG).get("a"), 1);
  const rows: ReplicaRow[] = [
    { name: "g-1", replica: 1, status: "Running", gateway: a },
    { name: "g-2", replica: 2, status: "Running", gateway: { ...a, input: 800, costUsd: 0.0019 } },
    { name: "g-3", replica: 3, status: "Running", gateway: null },
  ];
  const total = gatewayTotal(rows)!;
  assertEquals([total.input, total.output, total.requests, total.costUsd], [2000, 600, 2, 0.01]);
  assertEquals(total.budgetUsd, 2);
  const t = renderComparison(rows).split("\n");
  assertMatch(t[0], /^REPLICA +AGENT +DURATION +GATEWAY +COMMITS/);
  assertMatch(t[1], /^g-1 +no run +- +1\.5k tok \$0\.01 /);
  assertMatch(t[3], /^g-3 +no run +- +- /);
  assert(
    t.includes("GATEWAY: tokens and cost metered by the gateway, not claimed by the agent"),
    t.join("\n"),
  );
  assert(t.includes("group total (gateway): 2.6k tok $0.01, 2 requests, 4 denied"), t.join("\n"));
  // no replica with figures: the table as before
  const plain = renderComparison(rows.map((r) => ({ ...r, gateway: null })));
  assert(!plain.includes("GATEWAY"), plain);
  assertEquals(gatewayTotal([{ name: "x", replica: 1, status: "Running" }]), undefined);
});
