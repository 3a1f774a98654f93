/**
 * Issue 84 point 4, the gateway's part: a session's request that waits in the gateway (an upstream 429 it
 * retries, an upstream it cannot reach, its key's queue) is a wait the run shows, as its own 429 waits are
 * (`running (gateway: 429, retry 1 in 2s)`, `running (gateway cannot reach 127.0.0.1 (502), …)`); each 429
 * the gateway meets is counted once; the wait ends when the answer begins. The real gateway program against
 * the stand-in, its own log read by the same code `list`, `compare` and `agent status` use.
 */
import { assert, assertEquals, assertMatch } from "@kodama/test-assert";
import { startStandIn } from "./_standin.ts";
import { startGateway } from "./_gateway.ts";
import { figuresBySession, gatewayWaits, withGatewayWait } from "../../src/agent/gateway/figures.ts";
import { classify, factsOf, waitingText } from "../../src/agent/outcome/outcome.ts";

const REAL = "sk-ant-real-key-waits-0042";

const ask = (url: string, token: string) =>
  fetch(`${url}/p/anthropic/v1/messages`, {
    method: "POST",
    headers: { "x-api-key": token, "content-type": "application/json", "anthropic-version": "2023-06-01" },
    body: JSON.stringify({
      model: "claude-sonnet-4-5",
      max_tokens: 10,
      tools: [{ name: "Bash", input_schema: { type: "object" } }],
      messages: [{ role: "user", content: "hi" }],
    }),
  });

Deno.test("gateway waits: a 429 it retries is the session's wait while it lasts, counted once", async () => {
  const api = await startStandIn([], {
    gate: { keys: [REAL] },
    faults: [{ status: 429, times: 1, retryAfterMs: 1500 }],
  });
  const gw = await startGateway({
    providers: { anthropic: { upstream: api.url, keys: [{ id: "a1", header: "x-api-key", value: REAL }] } },
  });
  try {
    const answer = ask(gw.url, gw.token({ s: "w1" }));
    await gw.waitLog((l) => l.ev === "retry" && l.s === "w1");
    // while it waits: the session's wait, in the words a run's own wait has
    const during = figuresBySession(gw.lines).get("w1");
    assertEquals(during?.waiting?.reason, "gateway: 429");
    assertEquals(during?.rateLimits, 1);
    assertMatch(withGatewayWait("running", during), /^running \(gateway: 429, retry 1 in [12]s\)$/);
    // the run's own wait (the agent's retry, kodama's continuation) is not replaced, nor an ended run's words
    assertEquals(
      withGatewayWait("running (529, retry 2/10 in 5s)", during),
      "running (529, retry 2/10 in 5s)",
    );
    assertEquals(withGatewayWait("succeeded", during), "succeeded");
    const r = await answer;
    assertEquals(r.status, 200);
    await r.text();
    await gw.waitLog((l) => l.ev === "req" && l.s === "w1", 10_000).catch((e) => {
      throw new Error(`${e.message}: ${JSON.stringify(gw.lines)}`);
    });
    const after = figuresBySession(gw.lines).get("w1");
    assertEquals(after?.waiting, undefined, "the wait outlived the answer");
    assertEquals(withGatewayWait("running", after), "running");
    // one 429 at the API, one retry line, one rate limit: never three
    assertEquals(api.answered(429), 1);
    assertEquals(gw.lines.filter((l) => l.ev === "retry").length, 1);
    assertEquals(after?.rateLimits, 1);
  } finally {
    await gw.close();
    await api.close();
  }
});

Deno.test("gateway waits: an upstream it cannot reach is named in the session's wait", async () => {
  // a port nothing listens on (taken, then freed)
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  for (const host of ["127.0.0.1", "localhost"]) {
    const gw = await startGateway({
      providers: {
        anthropic: {
          upstream: `http://${host}:${port}`,
          keys: [{ id: "a1", header: "x-api-key", value: REAL }],
        },
      },
    });
    try {
      const answer = ask(gw.url, gw.token({ s: "w2" }));
      await gw.waitLog((x) => x.ev === "retry" && x.s === "w2");
      const w = gatewayWaits(gw.lines).open.get("w2");
      assertEquals(w?.reason, `gateway cannot reach ${host} (502)`);
      assertMatch(
        withGatewayWait("running", figuresBySession(gw.lines).get("w2")),
        new RegExp(`^running \\(gateway cannot reach ${host.replaceAll(".", "\\.")} \\(502\\), retr`),
      );
      const r = await answer;
      assertEquals(r.status, 502);
      const body = await r.text();
      await gw.waitLog((x) => x.ev === "req" && x.s === "w2");
      assertEquals(gatewayWaits(gw.lines).open.get("w2"), undefined);
      // the gateway gave up: the agent's own retry of its 502 (and kodama's continuation) is named by it
      const down = figuresBySession(gw.lines).get("w2");
      assertEquals(down?.unreachable, `gateway cannot reach ${host} (502)`);
      assertEquals(
        withGatewayWait("running (502, retry 2/10 in 5s)", down),
        `running (gateway cannot reach ${host} (502), retry 2/10 in 5s)`,
      );
      assertEquals(
        withGatewayWait("running (unreachable, retry 1/10 in 30s)", down),
        `running (gateway cannot reach ${host} (502), retry 1/10 in 30s)`,
      );
      assertEquals(
        withGatewayWait("running (429, retry 1/10 in 5s)", down),
        "running (429, retry 1/10 in 5s)",
      );
      // the answer's own words reach the run's wait: Codex prints them in its retry, Claude Code at its end
      const codex = factsOf(JSON.stringify({
        type: "error",
        message: `Reconnecting... 2/5 (unexpected status 502 Bad Gateway: ${body})`,
      }));
      assertEquals(codex.waiting?.via, `gateway cannot reach ${host} (ECONNREFUSED)`);
      assertMatch(waitingText(codex.waiting), new RegExp(`^running \\(gateway cannot reach ${host}`));
      const claude = factsOf(
        JSON.stringify({
          type: "result",
          subtype: "success",
          is_error: true,
          result: `API Error: 502 ${body}`,
        }),
      );
      assertEquals(claude.gatewayDown, { host, error: "ECONNREFUSED" });
      assertEquals(classify(claude, { state: "failed", exitCode: 1 }).class, "unreachable");
      // a 502 is not a rate limit
      assertEquals(gatewayWaits(gw.lines).rateLimits.get("w2"), undefined);
      assert(!gw.raw().includes(REAL), "the key is in the log");
    } finally {
      await gw.close();
    }
  }
});

Deno.test("gateway waits: the newest line wins; another session's end does not end this one's wait", () => {
  const lines = [
    { ev: "queue", s: "a", until: "2030-01-01T00:00:10.000Z" },
    { ev: "retry", s: "b", status: 529, attempt: 1, until: "2030-01-01T00:00:05.000Z" },
    { ev: "req", s: "b", status: 200 },
    { ev: "retry", s: "c", status: 429, attempt: 1 },
    { ev: "waited", s: "c", status: 200 },
    { ev: "retry", s: "c", status: 429, attempt: 1 },
  ];
  const w = gatewayWaits(lines);
  assertEquals(w.open.get("a")?.reason, "gateway queue: the key's rate limit");
  assertEquals(w.open.has("b"), false);
  assertEquals(w.open.get("c")?.reason, "gateway: 429");
  assertEquals(w.rateLimits.get("c"), 2);
  assertEquals(w.rateLimits.get("b"), undefined);
  assertEquals(
    withGatewayWait(
      "running",
      { ...figuresBySession(lines).get("a")! },
      Date.parse("2030-01-01T00:00:04.000Z"),
    ),
    "running (gateway queue: the key's rate limit, retry in 6s)",
  );
});
