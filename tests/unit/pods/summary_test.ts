import { assertEquals, assertStringIncludes } from "@kodama/test-assert";
import {
  fanoutExitCode,
  formatSummary,
  type PodResult,
  resultJson,
  tally,
} from "../../../src/pods/summary.ts";

function r(pod: string, status: PodResult["status"], extra: Partial<PodResult> = {}): PodResult {
  return {
    namespace: "load",
    pod,
    container: "main",
    exitCode: status === "ok" ? 0 : status === "failed" ? 1 : null,
    durationMs: 100,
    status,
    ...extra,
  };
}

Deno.test("summary: counts, slowest, one line per failure", () => {
  const results = [
    r("api-1", "ok"),
    r("api-7", "ok", { durationMs: 1234 }),
    r("api-3", "failed", { exitCode: 7 }),
    r("api-2", "error", { error: "stream closed before the command finished (dropped)" }),
  ];
  const s = formatSummary(tally(results));
  const lines = s.trimEnd().split("\n");
  assertEquals(lines[0], "4 pods: 2 ok, 2 failed (slowest api-7 1.2s)");
  assertEquals(lines[1], "  api-2: error: stream closed before the command finished (dropped)");
  assertEquals(lines[2], "  api-3: exit code 7");
  assertEquals(lines.length, 3);
});

Deno.test("summary: all ok", () => {
  const s = formatSummary(tally(Array.from({ length: 100 }, (_, i) => r(`load-${i}`, "ok"))));
  assertStringIncludes(s, "100 pods: 100 ok, 0 failed");
});

Deno.test("summary: cancelled pods listed last and collapsed", () => {
  const results = [
    r("a", "failed"),
    ...Array.from({ length: 15 }, (_, i) => r(`c${i}`, "cancelled", { error: "cancelled" })),
  ];
  const s = formatSummary(tally(results), { maxCancelled: 3 });
  assertStringIncludes(s, "16 pods: 0 ok, 1 failed, 15 cancelled");
  assertStringIncludes(s, "… and 12 more cancelled");
});

Deno.test("exit codes: 0, 1, 5 for only timeouts, 130 interrupted", () => {
  assertEquals(fanoutExitCode(tally([r("a", "ok")])), 0);
  assertEquals(fanoutExitCode(tally([r("a", "ok"), r("b", "failed")])), 1);
  assertEquals(fanoutExitCode(tally([r("a", "timeout"), r("b", "cancelled")])), 5);
  assertEquals(fanoutExitCode(tally([r("a", "timeout"), r("b", "error")])), 1);
  assertEquals(fanoutExitCode(tally([r("a", "ok")], true)), 130);
});

Deno.test("json line has every field", () => {
  const o = JSON.parse(resultJson(r("a", "failed", { stdout: "x\n", stderr: "", durationMs: 12.4 })));
  assertEquals(o, {
    namespace: "load",
    pod: "a",
    container: "main",
    stdout: "x\n",
    stderr: "",
    exitCode: 1,
    durationMs: 12,
    error: null,
    status: "failed",
  });
});
