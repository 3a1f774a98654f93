import { assertEquals } from "@kodama/test-assert";
import { agentWithGatewayWait } from "../../../src/web/live.ts";
import { withGatewayWait } from "../../../src/agent/gateway/figures.ts";
import type { GatewayFigures } from "../../../src/session/spec/gateway.ts";

const figures = (waiting?: GatewayFigures["waiting"]) =>
  ({
    requests: 3,
    denied: 0,
    input: 0,
    output: 0,
    cacheRead: 0,
    cacheWrite: 0,
    costUsd: 0,
    budgetUsd: null,
    budgetLeftUsd: null,
    ...(waiting ? { waiting } : {}),
  }) as GatewayFigures;

Deno.test("web rows: a running run that waits in the gateway says so, as list does; others stay", () => {
  const until = new Date(Date.now() + 56_000).toISOString();
  const wait = (t: string, f: GatewayFigures) => withGatewayWait(t, f);
  const waiting = figures({ reason: "gateway: 429", until, attempt: 1 });
  const running = { state: "running", run: "1", outcome: "running; branch kodama/x" };
  const shown = agentWithGatewayWait(running, waiting, wait)!;
  assertEquals(shown.outcome.split("; ")[0], withGatewayWait("running", waiting));
  assertEquals(shown.outcome.startsWith("running (gateway: 429"), true, shown.outcome);
  assertEquals(shown.outcome.endsWith("; branch kodama/x"), true, shown.outcome);
  // no wait, an ended run, figures not read yet: as it was
  assertEquals(agentWithGatewayWait(running, figures(), wait), running);
  const ended = { state: "succeeded", run: "1", outcome: "succeeded" };
  assertEquals(agentWithGatewayWait(ended, waiting, wait), ended);
  assertEquals(agentWithGatewayWait(running, waiting, undefined), running);
  assertEquals(agentWithGatewayWait(undefined, waiting, wait), undefined);
});
