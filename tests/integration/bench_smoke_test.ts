/**
 * Benchmarks cannot rot (issue 83): each runs here in a small size, and fails when it errs or when its own
 * figures are impossible (BenchResult.problems: a run lost where none may be, a wall time under what a rate
 * limit allows, a throughput of 0). `bench/agents.ts` lost 8 runs of 8 for weeks because the pod runner's
 * arguments changed under it, and `bench/portforward.ts` waited on an image the test node does not have;
 * nothing noticed. The figures themselves are not judged here (timing goals live in bench/, as ratios).
 */
import { assertEquals } from "@kodama/test-assert";
import type { BenchResult } from "../../bench/_util.ts";

const quiet = () => {};

async function smoke(name: string, run: () => Promise<BenchResult>) {
  const r = await run();
  assertEquals(r.problems ?? [], [], `${name}:\n${r.lines.join("\n")}`);
  return r;
}

Deno.test("bench smoke: agents (the real pod runner under a shared rate limit) loses no run", async () => {
  const { benchAgents } = await import("../../bench/agents.ts");
  // 3 replicas × 2 requests at 2 a 1 s window: the last one waits 2 windows, so 429s are met and waited out
  const r = await smoke("agents", () => benchAgents(3, 2, 2, 1));
  assertEquals(r.lines.some((l) => /lost runs: 0 of 3/.test(l)), true, r.lines.join("\n"));
});

Deno.test("bench smoke: gateway overhead and goodput", async () => {
  const { benchGateway } = await import("../../bench/gateway.ts");
  await smoke("gateway", () => benchGateway(3, 2, 4, 1));
});

Deno.test("bench smoke: port-forward against kubectl's, on the test server", async () => {
  const { benchPortforwardForRun } = await import("../../bench/portforward.ts");
  await smoke("portforward", () => benchPortforwardForRun({ runs: 1, mb: 4, requests: 20, log: quiet }));
});

Deno.test("bench smoke: fan-out over 10 pods against kubectl's and a bare loop", async () => {
  const { benchFanoutForRun } = await import("../../bench/fanout.ts");
  await smoke("fanout", () => benchFanoutForRun({ pods: 10, runs: 1, log: quiet }));
});
